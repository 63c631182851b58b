"""Two machines, for real: the asynchronous schedule as two torchrun nodes on this machine (rendezvous on
127.0.0.1) gives the single-launch result."""
import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from mole.distributed import free_port

ARGS = ["-m", "mole.cli", "run", "--dataset", "digits", "--schedule", "async", "--workers", "2", "--epochs", "3",
        "--methods", "mole", "-q", "--no-plots", "--monitor-every", "0"]


@pytest.mark.skipif(shutil.which("torchrun") is None and not os.path.exists(os.path.join(
    os.path.dirname(sys.executable), "torchrun")), reason="needs torchrun")
def test_two_torchrun_nodes_equal_one_launch(tmp_path):
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    port = str(free_port())
    out = tmp_path / "two"
    nodes = [subprocess.Popen([torchrun, "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(rank),
                               "--master-addr", "127.0.0.1", "--master-port", port, *ARGS, "--out", str(out)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for rank in (0, 1)]
    logs = [p.communicate(timeout=240)[0] for p in nodes]
    assert nodes[0].returncode == 0, logs[0][-2000:]
    # node 1's worker must succeed too; its torchrun agent may then complain that node 0's agent (which hosts
    # the rendezvous store) left the exit barrier first, a torchrun quirk after every worker has finished
    assert "mole: error" not in logs[1] and "ChildFailedError" not in logs[1], logs[1][-2000:]
    single = tmp_path / "one"
    assert subprocess.run([sys.executable, *ARGS, "--out", str(single)], capture_output=True).returncode == 0
    two = json.loads((out / "results.json").read_text())["runs"][0]
    one = json.loads((single / "results.json").read_text())["runs"][0]
    assert two["test_accuracy"] == one["test_accuracy"] and two["workers"] == one["workers"] == 2
    # each torchrun node's worker has both cores, each local worker one: the same updates, other summation orders
    for a, b in zip(two["modules"], one["modules"]):
        assert a["final_loss"] == pytest.approx(b["final_loss"], rel=1e-4)
    # the saved network is rank 0's assembled one (node 1 shares the folder and writes nothing to it)
    saved, reference = (torch.load(d / "model-mole.pt", weights_only=True)["state_dict"] for d in (out, single))
    assert saved.keys() == reference.keys()
    for key in saved:
        assert torch.allclose(saved[key], reference[key], atol=3e-3), key  # an untrained module moves by ~3e-2


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups")
def test_a_lost_node_fails_the_run_within_30_s_with_one_line(tmp_path):
    import signal
    import time
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    port = str(free_port())
    args = [a if a != "3" else "400" for a in ARGS] + ["--worker-timeout", "15"]  # long enough to be killed mid-run
    nodes = [subprocess.Popen([torchrun, "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(rank),
                               "--master-addr", "127.0.0.1", "--master-port", port, *args, "--out",
                               str(tmp_path / "run")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True) for rank in (0, 1)]
    # both workers training: each has written an end-of-epoch snapshot
    snapshots, deadline = tmp_path / "run" / "checkpoints" / "mole.workers", time.time() + 120
    while not all(list(snapshots.glob(f"worker{r}-epoch*.pt")) for r in (0, 1)) and time.time() < deadline:
        assert nodes[0].poll() is None and nodes[1].poll() is None, [p.communicate()[0][-2000:] for p in nodes]
        time.sleep(0.2)
    assert nodes[0].poll() is None and nodes[1].poll() is None, [p.communicate()[0][-2000:] for p in nodes]
    # node 1 is gone: its torchrun agent and its worker (which torchrun starts in a process group of its own)
    workers = [int(pid) for pid in subprocess.run(["ps", "-o", "pid=", "--ppid", str(nodes[1].pid)],
                                                  capture_output=True, text=True).stdout.split()]
    os.killpg(nodes[1].pid, signal.SIGKILL)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    tic = time.time()
    log = nodes[0].communicate(timeout=60)[0]
    nodes[1].communicate()
    assert time.time() - tic < 30 and nodes[0].returncode != 0
    errors = [line for line in log.splitlines() if line.startswith("mole: error:")]
    assert len(errors) == 1 and "lost contact with worker 1" in errors[0], log[-3000:]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups")
def test_killed_torchrun_nodes_resume_from_their_snapshots_each_in_its_own_folder(tmp_path):
    """Two hosts without a shared disk: each node keeps its worker's snapshots in its own --out; both killed
    mid-run and restarted with --resume, they agree on the last epoch both workers finished and end exactly
    where an uninterrupted two-node run ends."""
    import signal
    import time
    torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
    args = [a if a != "3" else "12" for a in ARGS] + ["--batch-size", "32"]

    def launch(name, *extra):
        port = str(free_port())
        return [subprocess.Popen([torchrun, "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(rank),
                                  "--master-addr", "127.0.0.1", "--master-port", port, *args, "--out",
                                  str(tmp_path / f"{name}{rank}"), *extra], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True, start_new_session=True) for rank in (0, 1)]

    def finish(nodes):
        logs = [p.communicate(timeout=240)[0] for p in nodes]
        assert nodes[0].returncode == 0, logs[0][-2000:]

    nodes = launch("node")
    folders = [tmp_path / f"node{rank}" / "checkpoints" / "mole.workers" for rank in (0, 1)]
    deadline = time.time() + 120
    while not all(list(folders[r].glob(f"worker{r}-epoch*.pt")) for r in (0, 1)) and time.time() < deadline:
        time.sleep(0.05)
    for node in nodes:  # both hosts go down: torchrun agents and their workers
        workers = [int(pid) for pid in subprocess.run(["ps", "-o", "pid=", "--ppid", str(node.pid)],
                                                      capture_output=True, text=True).stdout.split()]
        os.killpg(node.pid, signal.SIGKILL)
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        node.communicate()
    assert not (tmp_path / "node0" / "results.json").exists(), "the run finished before the kill; make it longer"
    assert not list(folders[0].glob("worker1-*")) and not list(folders[1].glob("worker0-*"))  # no shared disk
    finish(launch("node", "--resume"))
    finish(launch("whole"))
    resumed, whole = (json.loads((tmp_path / f"{name}0" / "results.json").read_text())["runs"][0]
                      for name in ("node", "whole"))
    assert resumed["schedule_info"]["resumed_from_epoch"] >= 1
    assert resumed["test_accuracy"] == whole["test_accuracy"]
    assert [m["final_loss"] for m in resumed["modules"]] == [m["final_loss"] for m in whole["modules"]]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in resumed["history"]] == \
        [{k: v for k, v in h.items() if k != "seconds"} for h in whole["history"]]
    assert not (tmp_path / "node1" / "results.json").exists()  # rank 0 reports
