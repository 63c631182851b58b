"""The asynchronous schedule: worker processes on torch.distributed (gloo), and its failures."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from sklearn.datasets import load_digits

import mole
from mole.errors import ConfigError
from mole.models import MLP
from mole.distributed.launcher import hung_worker
from mole.schedules.asynchronous import balanced_groups


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    x = torch.tensor(X, dtype=torch.float32) / 16
    return x[:1200], torch.tensor(y[:1200]), x[1200:], torch.tensor(y[1200:])


def _fit(digits, schedule, epochs=20, method="mole", callbacks=(), **kw):
    x, y, _, _ = digits
    torch.manual_seed(0)
    net = MLP(64, 10, hidden=(32, 16), batch_norm=True)
    return mole.fit(net, x, y, method=method, callbacks=callbacks, config=mole.TrainConfig(epochs=epochs, lr=3e-3, batch_size=128,
                                                                        schedule=schedule, **kw))


def _one_thread(fn):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


class Events(mole.Callback):
    """Counts every callback event per module."""

    def __init__(self):
        self.counts = {}
        for name in ("on_stage_begin", "on_batch_end", "on_epoch_end", "on_stage_end"):
            setattr(self, name, self._counter(name))

    def _counter(self, name):
        def count(stage=None, **kwargs):
            key = (stage.index, name)
            self.counts[key] = self.counts.get(key, 0) + 1
        return count


@pytest.mark.process
@pytest.mark.parametrize("rule", ["dgl", "predsim", "hsic-bottleneck", "infopro"])
def test_every_local_rule_runs_async_as_it_runs_simultaneously(digits, rule):
    """The rule's auxiliary parameters travel with their module into its worker and learn there: the
    asynchronous run makes the simultaneous schedule's updates, and the same events reach callbacks."""
    events = {"async": Events(), "simultaneous": Events()}
    res = _fit(digits, "async", epochs=3, method=rule, workers=2, callbacks=[events["async"]])
    ref = _one_thread(lambda: _fit(digits, "simultaneous", epochs=3, method=rule, callbacks=[events["simultaneous"]]))
    a, b = res.network.state_dict(), ref.network.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-4) for k in a)
    assert events["async"].counts == events["simultaneous"].counts  # per module: begin, batches, epochs, end
    assert events["async"].counts[(0, "on_batch_end")] == 3 * 10  # 1200 samples, batches of 128


@pytest.mark.process
def test_a_pipeline_staggered_by_the_whole_budget_is_the_sequential_schedule(digits):
    """stagger = epochs: module k starts when module k-1 has finished, on its frozen outputs, drawing the batches
    the sequential schedule draws next, so the two workers compute exactly the sequential schedule."""
    res = _fit(digits, "async", epochs=3, workers=2, stagger=3)
    ref = _one_thread(lambda: _fit(digits, "sequential", epochs=3, cache="recompute"))
    a, b = res.network.state_dict(), ref.network.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-4) for k in a)
    assert [(r["module"], r["epoch"]) for r in res.history.records] == \
        [(r["module"], r["epoch"]) for r in ref.history.records]  # each module's own epochs 0..2
    assert res.schedule["stagger"] == 3


@pytest.mark.process
def test_a_staggered_pipeline_trains_every_module_its_epochs_and_overlaps_them(digits):
    _, _, xt, yt = digits
    res = _fit(digits, "async", epochs=4, workers=2, stagger=1)
    for module in range(3):
        assert [r["epoch"] for r in res.history.for_module(module)] == [0, 1, 2, 3]
    assert res.score(xt, yt) > 0.8
    # 4 + 2 pipeline epochs instead of the sequential 3 x 4: the loop processed (4 + 2) epochs of batches
    assert res.schedule["loop_seconds"] > 0


@pytest.mark.parametrize("bad, words", [(-1, "integer >= 0"), (1.5, "integer >= 0"), (True, "integer >= 0")])
def test_bad_stagger_is_a_config_error(bad, words):
    with pytest.raises(ConfigError, match=words):
        mole.TrainConfig(schedule="async", stagger=bad).validate()
    with pytest.raises(ConfigError, match="--schedule async"):
        mole.TrainConfig(schedule="simultaneous", stagger=2).validate()


@pytest.mark.process
def test_two_workers_learn_and_match_the_simultaneous_schedule(digits):
    _, _, xt, yt = digits
    res = _fit(digits, "async", workers=2)
    assert res.score(xt, yt) > 0.8  # chance: 0.1
    assert res.schedule["workers"] == 2 and sorted(sum(res.schedule["groups"], [])) == [1, 2, 3]
    assert res.samples_per_second > 0 and res.schedule["loop_seconds"] > 0
    # where each worker's loop went: computing, blocked on the previous worker, blocked on the next one
    first, last = res.schedule["worker_seconds"]
    assert first["receive_wait"] == 0 and last["send_wait"] == 0  # nothing before the first, nothing after the last
    assert all(w["compute"] > 0 and w["receive_wait"] >= 0 and w["send_wait"] >= 0 for w in (first, last))
    assert res.schedule["balance"] == "model" and len(res.schedule["stage_costs_ms"]) == 3
    assert {r["module"] for r in res.history.records} == {0, 1, 2}
    assert len(res.history.for_module(0)) == 20
    # the activation a worker sends is the one its module computed in its step: the same updates as
    # the simultaneous schedule, which runs them one after another (1 thread, as each worker)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = _fit(digits, "simultaneous")
    finally:
        torch.set_num_threads(before)
    a, b = res.network.state_dict(), ref.network.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-4) for k in a)


@pytest.mark.process
def test_augmented_batches_are_the_same_in_every_worker(digits):
    x, y, _, _ = digits
    images = (x.reshape(-1, 1, 8, 8), y, None, None)  # digits as 8x8 images, shifted by up to 1 pixel
    res = _fit(images, "async", epochs=3, workers=2, augment="shift", augment_pixels=1)
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = _fit(images, "simultaneous", epochs=3, augment="shift", augment_pixels=1)
    finally:
        torch.set_num_threads(before)
    a, b = res.network.state_dict(), ref.network.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-4) for k in a)  # same shifts, same updates


def test_the_watchdog_blames_the_worker_the_others_wait_on():
    w, r, s = b"w", b"r", b"s"
    # worker 1 stopped while computing; worker 0 had filled its send buffer earlier (its beat is older)
    assert hung_worker([0, 1], {0: 10.0, 1: 12.0}, {0: s, 1: w}) == 1
    # worker 1 stopped mid-pipeline: 0 waits to send to it, 2 waits to receive from it
    assert hung_worker([0, 1, 2], {0: 11.0, 1: 12.0, 2: 10.0}, {0: s, 1: w, 2: r}) == 1
    # two workers waiting on each other: the one whose progress stopped first
    assert hung_worker([0, 1], {0: 12.0, 1: 10.0}, {0: s, 1: r}) == 1
    assert hung_worker([0, 1], {0: 10.0, 1: 12.0}, {0: s, 1: r}) == 0
    # a lone stale worker, or one whose peer has exited: itself
    assert hung_worker([1], {0: 20.0, 1: 10.0}, {0: w, 1: w}) == 1
    assert hung_worker([1], {1: 10.0}, {1: s}) == 1
    # a stopped process (SIGSTOP, a debugger) is the one, whatever the others wait on
    assert hung_worker([0, 1], {0: 10.0, 1: 12.0}, {0: s, 1: r}, stopped=(1,)) == 1


@pytest.mark.process
def test_one_worker_and_one_module_per_worker(digits):
    _, _, xt, yt = digits
    for workers in (1, 3):
        res = _fit(digits, "async", epochs=6, workers=workers)
        assert len(res.schedule["groups"]) == workers and res.score(xt, yt) > 0.5


def test_bad_worker_counts_are_clear_errors(digits):
    with pytest.raises(ConfigError, match="workers must be an integer >= 1"):
        mole.TrainConfig(schedule="async", workers=0).validate()
    with pytest.raises(ConfigError, match="4 workers but the network has only 3 modules"):
        _fit(digits, "async", epochs=1, workers=4)


@pytest.mark.process
def test_cli_records_schedule_workers_and_throughput(tmp_path, capsys):
    from mole.cli import main
    out = tmp_path / "run"
    assert main(["run", "--dataset", "wine", "--schedule", "async", "--workers", "2", "--epochs", "3", "-q",
                 "--no-plots", "--out", str(out)]) == 0
    assert "mole (renyi, async, 2 workers)" in capsys.readouterr().out
    runs = json.loads((out / "results.json").read_text())["runs"]
    assert runs[0]["schedule"] == "async" and runs[0]["workers"] == 2 and runs[0]["samples_per_second"] > 0
    assert runs[1]["samples_per_second"] > 0  # backprop too
    assert main(["run", "--dataset", "wine", "--workers", "2", "--out", str(tmp_path / "r2")]) == 2
    assert "--workers applies to --schedule async" in capsys.readouterr().err
    assert main(["run", "--dataset", "wine", "--schedule", "async", "--workers", "0",
                 "--out", str(tmp_path / "r3")]) == 2
    assert "workers must be an integer >= 1" in capsys.readouterr().err


def test_balanced_groups_minimize_the_slowest_worker():
    assert balanced_groups([3, 1, 1, 1], 2) == [[0], [1, 2, 3]]
    assert balanced_groups([1, 1, 1, 1], 2) == [[0, 1], [2, 3]]
    assert balanced_groups([1, 5, 1], 3) == [[0], [1], [2]]
    assert balanced_groups([2, 2, 1], 1) == [[0, 1, 2]]


# --- faults: a real `mole run` in a subprocess, one of its workers killed or frozen -------------------

def _workers_of(pid: int) -> dict[int, int]:
    """{rank: pid} of the worker processes started by process ``pid``."""
    found = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"mole.distributed.process" in cmd:
            rank = next(int(e[5:]) for e in env if e.startswith(b"RANK="))
            found[rank] = int(proc.name)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _start_run(tmp_path, *extra):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "mole.cli", "run", "--dataset", "digits", "--methods", "mole", "--schedule", "async",
           "--workers", "2", "--epochs", "300", "--no-plots", "--monitor-every", "0", "-q", "--out", str(out), *extra]
    tmp = tmp_path / "tmp"  # the launcher's folder (spec, heartbeats) goes here
    tmp.mkdir()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(tmp)})
    deadline = time.time() + 120

    def training() -> bool:  # a worker's heartbeat file holds a byte once its first batch is done
        beats = list(tmp.glob("mole-async-*/worker*.alive"))
        return len(beats) == 2 and all(b.stat().st_size for b in beats)

    while len(workers := _workers_of(proc.pid)) < 2 or not training():
        assert proc.poll() is None and time.time() < deadline, "workers did not start training"
        time.sleep(0.2)
    time.sleep(1)
    assert proc.poll() is None
    return proc, workers, out


@pytest.mark.process
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killed_worker_fails_the_run_cleanly_and_names_it(tmp_path):
    proc, workers, out = _start_run(tmp_path)
    os.kill(workers[1], signal.SIGKILL)
    tic = time.time()
    _, err = proc.communicate(timeout=30)
    assert time.time() - tic < 30 and proc.returncode == 1
    line = err.strip().splitlines()[-1]
    assert line.startswith("mole: error: worker 1 (module") and "SIGKILL" in line, err
    failure = json.loads((out / "failure.json").read_text())
    assert failure["worker"] == 1 and failure["method"] == "mole" and not (out / "results.json").exists()
    time.sleep(0.5)
    assert not any(_alive(pid) for pid in workers.values())  # no survivors, no zombies


@pytest.mark.process
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_hung_worker_is_detected_and_named(tmp_path):
    proc, workers, out = _start_run(tmp_path, "--worker-timeout", "5")
    os.kill(workers[1], signal.SIGSTOP)  # frozen: alive but making no progress
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        for pid in workers.values():
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    assert proc.returncode == 1
    assert "worker 1 (module" in err and "hung: no progress" in err, err
    assert json.loads((out / "failure.json").read_text())["worker"] == 1
    time.sleep(0.5)
    assert not any(_alive(pid) for pid in workers.values())


@pytest.mark.process
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc; PR_SET_PDEATHSIG")
def test_sigkilled_parent_leaves_no_workers_and_no_temporary_folder(tmp_path):
    proc, workers, _ = _start_run(tmp_path)
    assert list((tmp_path / "tmp").glob("mole-async-*"))
    proc.kill()  # SIGKILL: no finally block runs in the parent
    proc.communicate()
    deadline = time.time() + 15
    while (any(_alive(pid) for pid in workers.values()) or list((tmp_path / "tmp").glob("mole-async-*"))) \
            and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers.values())
    assert not list((tmp_path / "tmp").glob("mole-async-*")), "the temporary folder outlived its run"


@pytest.mark.process
def test_a_waiting_worker_running_ahead_keeps_a_snapshot_every_worker_shares(tmp_path):
    """Staggered: a worker whose stages have not started only draws batches, so it can be at its start epoch
    while worker 0 has finished one epoch. A kill then must still find an epoch both have snapshots of (the
    SIGKILL resume test failed so in CI); snapshots older than every worker's possible lag still go."""
    from mole.distributed.worker import WorkerSpec, _save_snapshot
    from mole.schedules.asynchronous import _saved_epochs
    spec = WorkerSpec(stages=[], groups=[[0], [1, 2]], data=None, epochs=30, batch_size=32,
                      generator_state=torch.Generator().get_state(), snapshots=str(tmp_path), keep_epochs=3,
                      stagger=5)
    assert spec.waiting_lead == 5
    save = lambda rank, epoch: _save_snapshot(spec, rank, epoch, [], torch.Generator(), [])  # noqa: E731
    for epoch in range(1, 6):  # worker 1 reaches its start epoch (5) and waits there for activations
        save(1, epoch)
    save(0, 1)
    assert _saved_epochs(tmp_path, 0) & _saved_epochs(tmp_path, 1) == {1}
    for epoch in range(6, 12):
        save(1, epoch)
    assert min(_saved_epochs(tmp_path, 1)) == 11 - 3 - 5 + 1  # keep_epochs + waiting_lead snapshots, no more
