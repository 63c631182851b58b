"""Faults in the paths that read data on demand: a DataLoader worker that dies, a disk that fills, a folder of images
that changes, a run killed while loader workers read. Each stops the run with one line, loses nothing (the last
checkpoint stays valid), and resuming ends bit for bit as the uninterrupted run."""
import csv
import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, get_worker_info

import mole
from mole import TrainConfig
from mole.cli import main
from mole.data.images import ImageFiles, load_image_folder
from mole.models import CNN
from interrupt import KILL_AT_STEP, losses

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: as fast on one thread, and no stalls on a busy core
QUIET = ["-q", "--no-plots", "--no-probes", "--monitor-every", "0", "--checkpoint-every", "0"]
full_disk = pytest.mark.skipif(not os.path.exists("/dev/full"), reason="/dev/full: a device that is always full")


def _same_weights(a, b) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.network.state_dict().values(), b.network.state_dict().values()))


def _images(root, per_class=8, size=8):
    """Three classes of tiny RGB images (a bright disc, square, rows) in ImageFolder's layout."""
    from PIL import Image
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:size, :size]
    for c, name in enumerate(["disc", "square", "stripes"]):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            a = rng.random((size, size, 3)) * 0.3
            if c == 0:
                a[(yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 3) ** 2] += 0.7
            elif c == 1:
                a[size // 4: 3 * size // 4, size // 4: 3 * size // 4] += 0.7
            else:
                a[::3] += 0.7
            Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8)).save(root / name / f"{i}.png")
    return root


def _path(reader, i):
    """The file of item ``i`` of an image folder's reader (mole's ImageFiles, or torchvision's ImageFolder)."""
    from pathlib import Path
    return Path(reader.paths[i] if isinstance(reader, ImageFiles) else reader.samples[i][0])


class At(mole.Callback):
    """Calls ``act()`` at the end of epoch ``epoch`` of module ``module`` (before the checkpoint of that epoch)."""

    def __init__(self, module, epoch, act):
        self.module, self.epoch, self.act = module, epoch, act

    def on_epoch_end(self, record, stage=None, **kwargs):
        if stage is not None and stage.index == self.module and record["epoch"] == self.epoch:
            self.act()


# -- a DataLoader worker process that dies -------------------------------------------------------------------------
class Dies(Dataset):
    """(x, y) items; once ``die_at`` is set, the worker process reading that item exits at once (a crash)."""

    def __init__(self, x, y):
        self.x, self.y, self.die_at = x, y, None

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        if i == self.die_at:
            os._exit(3)
        return self.x[i], int(self.y[i])


def test_a_loader_worker_that_dies_is_one_line_naming_its_batch_and_resume_is_exact(tiny_mlp, blobs, tmp_path):
    x, y = blobs
    data = Dies(x, y)
    loader = lambda: DataLoader(data, batch_size=32, shuffle=True, num_workers=1)  # noqa: E731
    cfg = TrainConfig(epochs=2, batch_size=32, lr=1e-2, seed=5, checkpoint_every=0)
    full = mole.fit(tiny_mlp(), loader(), config=cfg)
    ckpt = tmp_path / "c.pt"
    arm = At(module=0, epoch=0, act=lambda: setattr(data, "die_at", 7))  # module 1's second epoch dies at item 7
    with pytest.raises(mole.WorkerFailure) as info:
        mole.fit(tiny_mlp(), loader(), config=cfg, checkpoint=ckpt, callbacks=[arm])
    message = str(info.value)
    assert "\n" not in message and message.startswith("a DataLoader worker process died while reading batch "), message
    assert "exit code 3" in message and "resume" in message and message.count("worker process died") == 1
    assert 7 in info.value.details["items"]  # the batch the worker was reading, not one it read ahead
    assert torch.load(ckpt, weights_only=True)["position"] == [0, 1]  # the epoch before: intact
    data.die_at = None
    resumed = mole.fit(tiny_mlp(), loader(), config=cfg, checkpoint=ckpt, resume=True)
    assert losses(resumed.history) == losses(full.history)
    assert _same_weights(full, resumed)


def test_a_loader_worker_that_dies_under_the_cli_exits_1_with_one_line(tmp_path, capsys, monkeypatch):
    """Not bad input: a process died at run time, as an asynchronous worker that dies (exit status 1, failure.json)."""
    import mole.data.images as reading
    images = _images(tmp_path / "images", per_class=5)
    data = load_image_folder(images)
    victim, read = _path(data.train.dataset, data.train.indices[0]), reading.open_rgb  # a training image

    def dying(path, listed_at):
        if get_worker_info() is not None and str(path) == str(victim):  # in a loader worker only (the statistics too)
            os._exit(9)
        return read(path, listed_at)
    monkeypatch.setattr(reading, "open_rgb", dying)
    out = tmp_path / "run"
    argv = ["run", "--dataset", str(images), "--channels", "4,6", "--epochs", "1", "--batch-size", "4",
            "--methods", "mole", "--loader-workers", "1", "--out", str(out), *QUIET]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("mole: error: a DataLoader worker process died while "
                                                         "reading batch "), err
    assert "exit code 9" in err and "--resume" in err and "failure.json" in err
    assert json.loads((out / "failure.json").read_text())["kind"] == "loader worker"
    monkeypatch.undo()
    assert main([*argv, "--resume"]) == 0


# -- a disk that fills -------------------------------------------------------------------------------------------------
@full_disk
def test_a_full_disk_while_writing_the_disk_cache_is_one_line_and_resume_is_exact(tiny_mlp, blobs, tmp_path):
    """A memory-mapped X, frozen outputs on disk: module 2's outputs meet a full disk (their file is /dev/full)."""
    x, y = blobs
    np.save(tmp_path / "x.npy", x.numpy())
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    cache = tmp_path / "cache"
    cfg = TrainConfig(epochs=2, batch_size=32, lr=1e-2, seed=5, checkpoint_every=0, cache="disk", cache_dir=str(cache))
    full = mole.fit(tiny_mlp(), mapped, y, config=cfg)
    cache.mkdir()
    (cache / "T2.npy").symlink_to("/dev/full")
    ckpt = tmp_path / "c.pt"
    with pytest.raises(mole.DiskFullError) as info:
        mole.fit(tiny_mlp(), mapped, y, config=cfg, checkpoint=ckpt)
    message = str(info.value)
    assert "\n" not in message and message.startswith("no space left on device while writing the disk cache")
    assert str(cache / "T2.npy") in message and "--cache memory" in message and "--resume" in message
    assert not os.path.lexists(cache / "T2.npy")  # the torn file is gone (its space back)
    assert torch.load(ckpt, weights_only=True)["position"] == [2, 0]  # written when module 2 finished: intact
    resumed = mole.fit(tiny_mlp(), mapped, y, config=cfg, checkpoint=ckpt, resume=True)
    assert resumed.schedule["cache"] == ["disk", "disk"]
    assert losses(resumed.history) == losses(full.history)
    assert _same_weights(full, resumed)


@full_disk
def test_a_full_disk_while_writing_a_checkpoint_keeps_the_previous_one_and_resume_is_exact(tiny_mlp, blobs, tmp_path):
    x, y = blobs
    cfg = TrainConfig(epochs=2, batch_size=32, lr=1e-2, seed=5, checkpoint_every=0)
    full = mole.fit(tiny_mlp(), x, y, config=cfg)
    ckpt, tmp = tmp_path / "c.pt", tmp_path / "c.pt.tmp"
    before = {}

    def fill():  # the next write, module 1's second epoch's checkpoint, meets a full disk
        before["bytes"] = ckpt.read_bytes()
        tmp.symlink_to("/dev/full")
    with pytest.raises(mole.DiskFullError) as info:
        mole.fit(tiny_mlp(), x, y, config=cfg, checkpoint=ckpt, callbacks=[At(0, 1, fill)])
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"no space left on device while writing checkpoint {ckpt}")
    assert "previous one is intact" in message
    assert ckpt.read_bytes() == before["bytes"] and not os.path.lexists(tmp)
    resumed = mole.fit(tiny_mlp(), x, y, config=cfg, checkpoint=ckpt, resume=True)
    assert losses(resumed.history) == losses(full.history)
    assert _same_weights(full, resumed)


@full_disk
def test_a_full_disk_under_the_cli_exits_2_with_one_line_and_resume_gives_the_same_results(tmp_path, capsys):
    argv = ["run", "--dataset", "wine", "--epochs", "2", "--methods", "mole", "--cache", "disk", *QUIET]
    assert main([*argv, "--out", str(tmp_path / "full")]) == 0
    out = tmp_path / "run"
    (out / "cache").mkdir(parents=True)
    (out / "cache" / "T1.npy").symlink_to("/dev/full")
    capsys.readouterr()
    assert main([*argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no space left on device while writing the disk cache" in err, err
    assert str(out / "cache" / "T1.npy") in err and "--cache memory" in err and "--resume" in err
    assert main([*argv, "--out", str(out), "--resume"]) == 0
    assert _comparable(out) == _comparable(tmp_path / "full")


def _comparable(folder):
    results = json.loads((folder / "results.json").read_text())
    runs = [{k: r[k] for k in ("method", "test_accuracy", "train_accuracy", "modules")} for r in results["runs"]]
    history = [[{k: v for k, v in h.items() if k != "seconds"} for h in r["history"]] for r in results["runs"]]
    with open(folder / "metrics.csv", newline="") as f:
        metrics = sorted((r["method"], r["module"], int(r["epoch"]), r["metric"], r["value"])
                         for r in csv.DictReader(f) if r["metric"] != "seconds")
    return runs, history, metrics


def test_a_memory_mapped_array_cut_short_during_a_run_is_one_line_and_resume_is_exact_once_restored(tiny_mlp, blobs,
                                                                                                     tmp_path):
    x, y = blobs
    path = tmp_path / "x.npy"
    np.save(path, x.numpy())
    original = path.read_bytes()
    cfg = TrainConfig(epochs=2, batch_size=32, lr=1e-2, seed=5, checkpoint_every=0, cache="recompute")
    full = mole.fit(tiny_mlp(), np.load(path, mmap_mode="r"), y, config=cfg)
    ckpt = tmp_path / "c.pt"
    with pytest.raises(mole.DataError) as info:  # a copy over it stops half-way, say
        mole.fit(tiny_mlp(), np.load(path, mmap_mode="r"), y, config=cfg, checkpoint=ckpt,
                 callbacks=[At(0, 0, lambda: path.write_bytes(original[:len(original) // 2]))])
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{path} ends before row ") and "cut short" in message
    path.write_bytes(original)
    resumed = mole.fit(tiny_mlp(), np.load(path, mmap_mode="r"), y, config=cfg, checkpoint=ckpt, resume=True)
    assert losses(resumed.history) == losses(full.history)
    assert _same_weights(full, resumed)


# -- a folder of images that changes ----------------------------------------------------------------------------------
@pytest.mark.parametrize("change", ["deleted", "truncated"])
def test_an_image_changed_during_a_run_is_one_line_naming_it_and_resume_is_exact_once_restored(tmp_path, change):
    data = load_image_folder(_images(tmp_path / "images"))
    victim = _path(data.train.dataset, data.train.indices[3])
    original = victim.read_bytes()
    loader = lambda: DataLoader(data.train, batch_size=8, shuffle=True, num_workers=1)  # noqa: E731
    cfg = TrainConfig(epochs=2, batch_size=8, lr=1e-2, seed=5, checkpoint_every=0)
    net = lambda: CNN((3, 8, 8), 3, channels=(4, 6))  # noqa: E731
    torch.manual_seed(0)
    full = mole.fit(net(), loader(), config=cfg)
    act = victim.unlink if change == "deleted" else lambda: victim.write_bytes(original[:len(original) // 2])
    ckpt = tmp_path / "c.pt"
    torch.manual_seed(0)
    with pytest.raises(mole.DataError) as info:
        mole.fit(net(), loader(), config=cfg, checkpoint=ckpt, callbacks=[At(0, 0, act)])
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{victim} was {'deleted' if change == 'deleted' else 'rewritten'}")
    assert "the folder changed since the run started" in message
    victim.write_bytes(original)
    torch.manual_seed(0)
    resumed = mole.fit(net(), loader(), config=cfg, checkpoint=ckpt, resume=True)
    assert losses(resumed.history) == losses(full.history)
    assert _same_weights(full, resumed)


def test_resume_refuses_an_image_folder_that_changed_since_the_run_started(tmp_path, capsys, monkeypatch):
    from PIL import Image
    import mole.checkpoint
    images = _images(tmp_path / "images", per_class=5)
    out = tmp_path / "run"
    argv = ["run", "--dataset", str(images), "--channels", "4,6", "--epochs", "2", "--batch-size", "4",
            "--methods", "mole", "--out", str(out), *QUIET]
    save = mole.checkpoint.Checkpoint.save

    def interrupted(self, *args):  # Ctrl-C right after the first checkpoint
        save(self, *args)
        raise KeyboardInterrupt
    monkeypatch.setattr(mole.checkpoint.Checkpoint, "save", interrupted)
    assert main(argv) == 130
    monkeypatch.undo()
    image = images / "square" / "2.png"
    original = image.read_bytes()
    changes = {  # how the folder changes, how it is put back, what the one line says
        "new class": (lambda: (images / "zebra").mkdir() or Image.new("RGB", (8, 8)).save(images / "zebra" / "0.png"),
                      lambda: [p.unlink() for p in (images / "zebra").iterdir()] and (images / "zebra").rmdir(),
                      "a new class folder 'zebra'"),
        "image added": (lambda: Image.new("RGB", (8, 8)).save(images / "disc" / "9.png"),
                        lambda: (images / "disc" / "9.png").unlink(), "'disc' holds 6 images, 5 when the run started"),
        "image rewritten": (lambda: Image.new("RGB", (8, 8)).save(image), lambda: image.write_bytes(original),
                            "images of 'square' were renamed or rewritten"),
    }
    capsys.readouterr()
    for name, (change, restore, words) in changes.items():
        change()
        assert main([*argv, "--resume"]) == 2, name
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "changed since the run started" in err and words in err, err
        restore()
    assert main([*argv, "--resume"]) == 0  # the folder as it was: the run continues
    assert (out / "results.json").exists()


# -- SIGKILL while loader workers read -----------------------------------------------------------------------------


@pytest.mark.process
def test_a_run_sigkilled_while_loader_workers_read_resumes_to_identical_results(tmp_path):
    """A folder of 45 tiny 8x8 images read by one loader worker, killed in module 2's second epoch (module 1's outputs
    in the disk cache, the loader mid-read), then --resume (both runs on one thread, as the child)."""
    images = _images(tmp_path / "images", per_class=15)
    argv = ["run", "--dataset", str(images), "--channels", "4,6", "--epochs", "2", "--batch-size", "12",
            "--methods", "mole", "--loader-workers", "1", *QUIET]
    assert main([*argv, "--out", str(tmp_path / "full")]) == 0
    assert json.loads((tmp_path / "full" / "results.json").read_text())["data"]["n_train"] == 36  # 3 steps an epoch
    killed = tmp_path / "killed"
    steps = 3 + 3 + 3 + 2  # module 2's second epoch, its second batch
    child = subprocess.run([sys.executable, "-c", KILL_AT_STEP, *argv, "--out", str(killed)], capture_output=True, text=True,
                           env={**os.environ, "KILL_AT_STEP": str(steps), "OMP_NUM_THREADS": "1"}, timeout=300)
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert not (killed / "results.json").exists()
    assert main([*argv, "--out", str(killed), "--resume"]) == 0
    assert _comparable(killed) == _comparable(tmp_path / "full")
