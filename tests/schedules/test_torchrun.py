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
