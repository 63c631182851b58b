"""Two machines, for real: the asynchronous schedule as two torchrun nodes on this machine (rendezvous on
127.0.0.1) gives the single-launch result, fails with one line when a node is lost, and resumes when both were."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from mole.distributed import free_port

# the Rényi signal (no parameters), pinned: the weights of one launch and of two nodes must agree to float noise
# (atol 3e-3), which the sharper SupCon signal amplifies past that bound within 3 epochs (its accuracy still agrees;
# its critic's initialization is seeded, see mole.estimators.critics)
ARGS = ["-m", "mole.cli", "run", "--dataset", "digits", "--schedule", "async", "--workers", "2", "--epochs", "3",
        "--methods", "mole", "--estimator", "renyi", "-q", "--no-plots", "--monitor-every", "0"]
TORCHRUN = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
pytestmark = [pytest.mark.process, pytest.mark.skipif(not os.path.exists(TORCHRUN), reason="needs torchrun"),
              pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups")]


def with_epochs(epochs: int) -> list:
    return [str(epochs) if a == "3" else a for a in ARGS]


def launch(args: list, outs: list) -> list:
    """Two torchrun nodes (ranks 0 and 1), each in a process group of its own, node r writing to ``outs[r]``."""
    port = str(free_port())
    return [subprocess.Popen([TORCHRUN, "--nnodes", "2", "--nproc-per-node", "1", "--node-rank", str(rank),
                              "--master-addr", "127.0.0.1", "--master-port", port, *args, "--out", str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
            for rank, out in enumerate(outs)]


def finish(nodes: list) -> list:
    logs = [p.communicate(timeout=240)[0] for p in nodes]
    assert nodes[0].returncode == 0, logs[0][-2000:]
    return logs


def wait_for_snapshots(nodes: list, folders: list) -> None:
    """Until both workers are training: each has written an end-of-epoch snapshot (worker r into folders[r])."""
    deadline = time.time() + 120
    while not all(list(folders[r].glob(f"worker{r}-epoch*.pt")) for r in (0, 1)) and time.time() < deadline:
        assert all(p.poll() is None for p in nodes), [p.communicate()[0][-2000:] for p in nodes]
        time.sleep(0.05)
    assert all(p.poll() is None for p in nodes), [p.communicate()[0][-2000:] for p in nodes]


def kill_node(node: subprocess.Popen) -> None:
    """The host is gone: its torchrun agent and its worker (which torchrun starts in a process group of its own)."""
    workers = [int(pid) for pid in subprocess.run(["ps", "-o", "pid=", "--ppid", str(node.pid)],
                                                  capture_output=True, text=True).stdout.split()]
    os.killpg(node.pid, signal.SIGKILL)
    for pid in workers:
        os.kill(pid, signal.SIGKILL)


def run_record(folder) -> dict:
    return json.loads((folder / "results.json").read_text())["runs"][0]


def test_two_torchrun_nodes_equal_one_launch(tmp_path):
    out = tmp_path / "two"
    logs = finish(launch(ARGS, [out, out]))  # one shared folder
    # node 1's worker must succeed too; its torchrun agent may then complain that node 0's agent (which hosts
    # the rendezvous store) left the exit barrier first, a torchrun quirk after every worker has finished
    assert "mole: error" not in logs[1] and "ChildFailedError" not in logs[1], logs[1][-2000:]
    single = tmp_path / "one"
    assert subprocess.run([sys.executable, *ARGS, "--out", str(single)], capture_output=True).returncode == 0
    two, one = run_record(out), run_record(single)
    assert two["test_accuracy"] == one["test_accuracy"] and two["workers"] == one["workers"] == 2
    # each torchrun node's worker has both cores, each local worker one: the same updates, other summation orders
    for a, b in zip(two["modules"], one["modules"]):
        assert a["final_loss"] == pytest.approx(b["final_loss"], rel=1e-4)
    # the saved network is rank 0's assembled one (node 1 shares the folder and writes nothing to it)
    saved, reference = (torch.load(d / "model-mole.pt", weights_only=True)["state_dict"] for d in (out, single))
    assert saved.keys() == reference.keys()
    for key in saved:
        assert torch.allclose(saved[key], reference[key], atol=3e-3), key  # an untrained module moves by ~3e-2


def test_a_lost_node_fails_the_run_within_30_s_with_one_line(tmp_path):
    out = tmp_path / "run"
    # long enough to be killed mid-run
    nodes = launch(with_epochs(400) + ["--worker-timeout", "15"], [out, out])
    wait_for_snapshots(nodes, [out / "checkpoints" / "mole.workers"] * 2)
    kill_node(nodes[1])
    tic = time.time()
    log = nodes[0].communicate(timeout=60)[0]
    nodes[1].communicate()
    assert time.time() - tic < 30 and nodes[0].returncode != 0
    errors = [line for line in log.splitlines() if line.startswith("mole: error:")]
    assert len(errors) == 1 and "lost contact with worker 1" in errors[0], log[-3000:]


def test_killed_torchrun_nodes_resume_from_their_snapshots_each_in_its_own_folder(tmp_path):
    """Two hosts without a shared disk: each node keeps its worker's snapshots in its own --out; both killed
    mid-run and restarted with --resume, they agree on the last epoch both workers finished and end exactly
    where an uninterrupted two-node run ends."""
    args = with_epochs(12) + ["--batch-size", "32"]
    outs = [tmp_path / "node0", tmp_path / "node1"]
    nodes = launch(args, outs)
    folders = [out / "checkpoints" / "mole.workers" for out in outs]
    wait_for_snapshots(nodes, folders)
    for node in nodes:  # both hosts go down
        kill_node(node)
        node.communicate()
    assert not (outs[0] / "results.json").exists(), "the run finished before the kill; make it longer"
    assert not list(folders[0].glob("worker1-*")) and not list(folders[1].glob("worker0-*"))  # no shared disk
    finish(launch(args + ["--resume"], outs))
    finish(launch(args, [tmp_path / "whole0", tmp_path / "whole1"]))
    resumed, whole = run_record(outs[0]), run_record(tmp_path / "whole0")
    assert resumed["schedule_info"]["resumed_from_epoch"] >= 1
    assert resumed["test_accuracy"] == whole["test_accuracy"]
    assert [m["final_loss"] for m in resumed["modules"]] == [m["final_loss"] for m in whole["modules"]]
    assert [{k: v for k, v in h.items() if k != "seconds"} for h in resumed["history"]] == \
        [{k: v for k, v in h.items() if k != "seconds"} for h in whole["history"]]
    assert not (outs[1] / "results.json").exists()  # rank 0 reports
