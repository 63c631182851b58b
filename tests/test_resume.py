"""Exact resume: a run interrupted anywhere and resumed ends bit for bit as the uninterrupted run."""
import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
import zlib

import pytest
import torch

import mole
from mole import TrainConfig
from mole.cli import main
from interrupt import KILL_AT_STEP, StopAt, losses, steps_per_method


CASES = {
    "sequential": dict(schedule="sequential"),
    "simultaneous": dict(schedule="simultaneous"),
    "sequential-augmented": dict(schedule="sequential", augment="shift", augment_pixels=1),
    "simultaneous-augmented": dict(schedule="simultaneous", augment="shift", augment_pixels=1),
    # lazily sized critics: checkpoints taken before a module's critic first ran (and its unused label-side half)
    "sequential-infonce": dict(schedule="sequential", estimator=mole.EstimatorConfig("infonce")),
    "simultaneous-infonce": dict(schedule="simultaneous", estimator=mole.EstimatorConfig("infonce")),
    # a convergence budget: stages stop early (after 2 epochs: a 50 % improvement is never reached), its state resumes
    "sequential-convergence": dict(schedule="sequential", patience=1, min_delta=0.5),
    "simultaneous-convergence": dict(schedule="simultaneous", patience=1, min_delta=0.5),
    "sequential-augmented-convergence": dict(schedule="sequential", augment="shift", augment_pixels=1, patience=1,
                                             min_delta=0.5),
    # checks within an epoch: stages stop mid-epoch (after 4 of its 6 steps)
    "sequential-checks": dict(schedule="sequential", patience=1, min_delta=0.5, checks_per_epoch=3),
    "simultaneous-checks": dict(schedule="simultaneous", patience=1, min_delta=0.5, checks_per_epoch=3),
    "sequential-augmented-checks": dict(schedule="sequential", augment="shift", augment_pixels=1, patience=1,
                                        min_delta=0.5, checks_per_epoch=3),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("method", ["mole", "predsim", "bp"])
def test_interrupted_anywhere_and_resumed_equals_uninterrupted(tiny_mlp, blobs, tmp_path, case, method):
    x, y = blobs
    x = x.unsqueeze(1)  # (n, 1, 8) signals, so that shifts apply
    cfg = TrainConfig(epochs=3, batch_size=32, lr=1e-2, seed=5, checkpoint_every=0, **CASES[case])
    net = lambda: tiny_mlp(dropout=0.2)  # noqa: E731 - dropout draws from torch's global RNG
    torch.manual_seed(123)
    full = mole.fit(net(), x, y, method=method, config=cfg)
    # 6 batches per epoch (180 samples, batch 32; 162 with a convergence budget's held-out samples), fewer in an
    # epoch a convergence budget cut short
    steps = sum(round(6 * r.get("fraction", 1)) for r in full.history.records)
    for cut in random.Random(zlib.crc32(f"{case}/{method}".encode())).sample(range(1, steps), 2):
        ckpt = tmp_path / f"{cut}.pt"
        torch.manual_seed(123)
        with pytest.raises(KeyboardInterrupt):
            mole.fit(net(), x, y, method=method, config=cfg, checkpoint=ckpt, callbacks=[StopAt(cut)])
        torch.manual_seed(999)  # a fresh process: the global RNG elsewhere; the checkpoint restores it
        resumed = mole.fit(net(), x, y, method=method, config=cfg, checkpoint=ckpt, resume=True)
        assert losses(resumed.history) == losses(full.history), f"cut after {cut} steps"
        for a, b in zip(full.network.state_dict().values(), resumed.network.state_dict().values()):
            assert torch.equal(a, b), f"cut after {cut} steps"


def test_checkpoints_are_written_at_epoch_ends_once_the_interval_has_passed(tiny_mlp, blobs, tmp_path, monkeypatch):
    """``checkpoint_every``: an epoch end writes once that many seconds passed since the last write; a stage end
    always writes. The clock is the test's, so the positions written do not depend on the machine's speed."""
    import mole.checkpoint as checkpoint
    clock = iter(range(0, 10_000, 10))  # every reading of the clock: 10 s later
    monkeypatch.setattr(checkpoint, "clock", lambda: next(clock))
    written = []

    def save(self, stage, epoch):
        written.append((stage, epoch))
        self.last_write = checkpoint.clock()
    monkeypatch.setattr(checkpoint.Checkpoint, "save", save)
    for every, expected in [(0, [(0, 1), (0, 2), (0, 3), (1, 0)]), (15, [(0, 2), (1, 0)]), (10**6, [(1, 0)])]:
        written.clear()
        mole.fit(tiny_mlp(hidden=(8,)), *blobs, config=TrainConfig(epochs=3, checkpoint_every=every),
                 checkpoint=tmp_path / "c.pt")
        assert written[:len(expected)] == expected, every


def test_checkpoint_is_read_without_unpickling(tiny_mlp, blobs, tmp_path):
    ckpt = tmp_path / "c.pt"
    mole.fit(tiny_mlp(), *blobs, config=TrainConfig(epochs=1), checkpoint=ckpt)
    torch.load(ckpt, weights_only=True)  # only tensors and plain containers inside
    ckpt.write_bytes(b"not a checkpoint")
    with pytest.raises(mole.CheckpointError, match="cannot read checkpoint"):
        mole.fit(tiny_mlp(), *blobs, config=TrainConfig(epochs=1), checkpoint=ckpt, resume=True)


def test_resume_of_a_finished_run_changes_nothing_and_says_so(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "--dataset", "wine", "--epochs", "2", "-q", "--no-plots", "--out", str(out)]
    assert main(argv) == 0
    before = (out / "results.json").read_bytes()
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 0
    assert "nothing to resume" in capsys.readouterr().out
    assert (out / "results.json").read_bytes() == before
    # what does not change the run may differ (where data and caches live, what is measured)
    assert main([*argv, "--resume", "--checkpoint-every", "0", "--no-probes"]) == 0
    assert "nothing to resume" in capsys.readouterr().out


def test_resume_of_a_folder_that_holds_no_run_says_so_and_writes_nothing(tmp_path, capsys):
    """A typo, another tool's folder: --resume refuses it rather than starting a fresh run inside it."""
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("another tool's output")
    for folder in (theirs, tmp_path / "empty"):
        folder.mkdir(exist_ok=True)
        assert main(["run", "--dataset", "wine", "--epochs", "1", "-q", "--no-plots", "--resume", "--out",
                     str(folder)]) == 2
        err = capsys.readouterr().err.strip()
        assert "holds no mole run" in err and "nothing there can be resumed" in err and len(err.splitlines()) == 1
    assert sorted(p.name for p in theirs.iterdir()) == ["notes.txt"] and not any((tmp_path / "empty").iterdir())


def test_resume_of_a_finished_run_with_other_settings_names_them_and_refuses(tmp_path, capsys):
    out = tmp_path / "run"
    argv = lambda epochs: ["run", "--dataset", "wine", "--epochs", epochs, "-q", "--no-plots", "--out", str(out)]  # noqa: E731
    assert main(argv("2")) == 0
    before = (out / "results.json").read_bytes()
    capsys.readouterr()
    assert main([*argv("3"), "--lr", "0.01", "--resume"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "train.epochs: 2 -> 3" in err and "train.lr: 0.001 -> 0.01" in err, err
    assert "fresh --out" in err and "each later module learned from the earlier modules' outputs" in err
    assert (out / "results.json").read_bytes() == before  # nothing changed
    assert main([*argv("2"), "--lr", "0.01", "--resume"]) == 2  # no epochs changed: no word about them
    assert "later module" not in capsys.readouterr().err


def test_resume_of_an_interrupted_run_with_other_settings_names_them(tiny_mlp, blobs, tmp_path):
    ckpt = tmp_path / "c.pt"
    with pytest.raises(KeyboardInterrupt):
        mole.fit(tiny_mlp(), *blobs, config=TrainConfig(epochs=3, checkpoint_every=0), checkpoint=ckpt,
                 callbacks=[StopAt(8)])
    with pytest.raises(mole.CheckpointError, match=r"config.epochs: 3 -> 4.*resume with the settings"):
        mole.fit(tiny_mlp(), *blobs, config=TrainConfig(epochs=4, checkpoint_every=0), checkpoint=ckpt, resume=True)


def _comparable(results):
    keep = ("method", "test_accuracy", "train_accuracy", "modules")
    runs = [{k: r[k] for k in keep} for r in results["runs"]]
    history = [[{k: v for k, v in h.items() if k != "seconds"} for h in r["history"]] for r in results["runs"]]
    return runs, history


@pytest.mark.process
@pytest.mark.parametrize("schedule", ["sequential", "simultaneous"])
def test_sigkilled_run_resumes_to_identical_results(tmp_path, monkeypatch, schedule):
    """A real kill: the process dies by SIGKILL halfway through its second method (the first finished and kept, the
    second checkpointed mid-way), then `--resume`."""
    argv = ["run", "--dataset", "wine", "--epochs", "6", "--batch-size", "32", "--methods", "mole,dgl", "-q",
            "--no-plots", "--no-probes", "--monitor-every", "2", "--schedule", schedule, "--checkpoint-every", "0"]
    counts = steps_per_method(monkeypatch)
    assert main([*argv, "--out", str(tmp_path / "full")]) == 0
    monkeypatch.undo()
    killed = tmp_path / "killed"
    at = counts["mole.pt"] + counts["dgl.pt"] // 2 + 3  # not at an epoch's end
    child = subprocess.run([sys.executable, "-c", KILL_AT_STEP, *argv, "--out", str(killed)], capture_output=True,
                           text=True, env={**os.environ, "KILL_AT_STEP": str(at)}, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]
    assert not (killed / "results.json").exists() and (killed / "checkpoints" / "dgl.pt").exists()
    assert main([*argv, "--out", str(killed), "--resume"]) == 0
    full = json.loads((tmp_path / "full" / "results.json").read_text())
    resumed = json.loads((killed / "results.json").read_text())
    assert _comparable(resumed) == _comparable(full)
    # the live log too: every epoch once, the same values (only wall times differ)
    assert _metrics(killed) == _metrics(tmp_path / "full")
    curve = lambda res: [[(p["epoch"], p["test_accuracy"]) for p in r["accuracy_curve"]] for r in res["runs"]]  # noqa: E731
    assert curve(resumed) == curve(full)  # (not their seconds: wall time)


def _metrics(folder):
    with open(folder / "metrics.csv", newline="") as f:
        return sorted((r["method"], r["module"], int(r["epoch"]), r["metric"], r["value"]) for r in csv.DictReader(f)
                      if r["metric"] != "seconds")


@pytest.mark.process
@pytest.mark.parametrize("stagger", [0, 5])
def test_sigkilled_async_run_resumes_from_its_workers_snapshots(tmp_path, stagger):
    """The asynchronous schedule: each worker snapshots its modules after each epoch; a run killed mid-way
    (workers die with their parent) resumes from the last epoch every worker finished, bit for bit. Staggered
    too: a worker waiting for its modules' start still draws, and snapshots, every epoch."""
    argv = ["run", "--dataset", "digits", "--epochs", "30", "--batch-size", "32", "--methods", "mole",
            "--schedule", "async", "--workers", "2", "-q", "--no-plots", "--stagger", str(stagger)]
    assert main([*argv, "--out", str(tmp_path / "full")]) == 0
    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "mole.cli", *argv, "--out", str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    snapshots = killed / "checkpoints" / "mole.workers"
    deadline = time.time() + 120
    # both workers have a snapshot before the kill: a staggered worker 1 that waits for its start draws its epochs
    # ahead of worker 0, and on a busy machine its first snapshot could otherwise come before any of worker 0's
    while not all(list(snapshots.glob(f"worker{r}-epoch*.pt")) for r in (0, 1)) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(random.uniform(0.0, 1.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "results.json").exists(), "the run finished before the kill; make it longer"
    assert list(snapshots.glob("worker*-epoch*.pt"))
    assert main([*argv, "--out", str(killed), "--resume"]) == 0
    full = json.loads((tmp_path / "full" / "results.json").read_text())
    resumed = json.loads((killed / "results.json").read_text())
    assert _comparable(resumed) == _comparable(full)
    assert resumed["runs"][0]["schedule_info"]["resumed_from_epoch"] >= 1
    assert full["runs"][0]["schedule_info"]["resumed_from_epoch"] == 0
    assert not snapshots.exists()  # the finished run's checkpoint took over
