"""DistributedDataParallel over mole.LocalModel: two torchrun processes, each with half of every global batch,
against one process with the whole batch (gloo, CPU)."""
import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ddp_worker import GUIDE, gradients  # noqa: E402

TORCHRUN = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")


def relative_error(a: dict, b: dict) -> float:
    """Largest difference of two sets of tensors, relative to the largest entry of the second."""
    return max(float((a[k] - b[k]).abs().max()) / float(b[k].abs().max()) for k in b if b[k].abs().max() > 0)


def torchrun(*args):
    """``torchrun ARGS`` (a script or ``-m module`` and its arguments) as two processes, one thread each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    run = subprocess.run([TORCHRUN, "--standalone", "--nproc-per-node", "2", *map(str, args)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]


def weights(path: Path) -> dict:
    return torch.load(path, weights_only=True)["state_dict"]


def largest_difference(a: dict, b: dict) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a if a[k].is_floating_point())


@pytest.mark.process
@pytest.mark.skipif(not os.path.exists(TORCHRUN), reason="needs torchrun")
def test_two_processes_with_half_batches_compute_the_gradient_of_one_with_the_whole_batch(tmp_path):
    torchrun(Path(__file__).parent / "ddp_worker.py", tmp_path)
    found = torch.load(tmp_path / "gradients.pt")
    for method in ("mole", "dgl"):  # a batch-level estimator (Gram matrices) and a mean over samples
        assert relative_error(found[f"{method}-auto"], gradients(method)) < 1e-5, method
    # MOLE's loss of two half batches is another objective: the gather is what makes N x B/N equal 1 x B
    assert relative_error(found["mole-False"], gradients("mole")) > 1e-2


@pytest.mark.process
@pytest.mark.skipif(not os.path.exists(TORCHRUN), reason="needs torchrun")
def test_an_epoch_of_the_guides_ddp_script_equals_one_process(tmp_path, monkeypatch):
    torchrun(GUIDE, "--methods", "dgl", "mole", "--out", tmp_path / "two")
    monkeypatch.setattr(sys, "argv", [str(GUIDE), "--methods", "dgl", "mole", "--out", str(tmp_path / "one")])
    runpy.run_path(str(GUIDE), run_name="__main__")  # one process: the same global batches
    two = torch.load(tmp_path / "two" / "dgl.pt")
    one = torch.load(tmp_path / "one" / "dgl.pt")
    assert max(float((one[k] - two[k]).abs().max()) for k in one) < 1e-5
    # MOLE's weights after an epoch carry float32 rounding forward: the matrix Rényi estimator computes in float32,
    # and one process whose inputs differ by 1e-7 (relative) ends an epoch ~1e-2 away (docs/guides/your_loop.md)
    two, one = torch.load(tmp_path / "two" / "mole.pt"), torch.load(tmp_path / "one" / "mole.pt")
    assert max(float((one[k] - two[k]).abs().max()) for k in one) < 0.1


@pytest.mark.process
@pytest.mark.skipif(not os.path.exists(TORCHRUN), reason="needs torchrun")
@pytest.mark.parametrize("schedule", ["simultaneous", "sequential"])
def test_mole_run_under_torchrun_trains_data_parallel(tmp_path, schedule):
    """Two processes, each with its rows of every batch (the last batch of 37 splits 19 + 18), train as one process:
    backprop and DGL within 1e-5 after two epochs, MOLE within its float32 floor; rank 0 writes the run folder."""
    from mole.cli import main
    args = ["run", "--dataset", "digits", "--methods", "dgl,bp,mole", "--schedule", schedule, "--epochs", "2",
            "--batch-size", "100", "--no-batch-norm", "-q", "--no-plots", "--monitor-every", "0", "--no-probes"]
    torchrun("-m", "mole.cli", *args, "--out", tmp_path / "two")
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    for method in ("dgl", "bp"):
        assert largest_difference(weights(tmp_path / "one" / f"model-{method}.pt"),
                                  weights(tmp_path / "two" / f"model-{method}.pt")) < 1e-5, method
    assert largest_difference(weights(tmp_path / "one" / "model-mole.pt"),
                              weights(tmp_path / "two" / "model-mole.pt")) < 0.1
    results = json.loads((tmp_path / "two" / "results.json").read_text())
    assert [r["method"] for r in results["runs"]] == ["dgl", "bp", "mole"]


def test_data_parallel_refuses_what_it_cannot_shard_in_one_line(monkeypatch):
    """Started as one of several processes, a rule whose rows are not one per sample is refused before any join."""
    import mole
    monkeypatch.setenv("WORLD_SIZE", "2")
    X, y = torch.randn(40, 12), torch.arange(40) % 2
    with pytest.raises(mole.ConfigError) as info:
        mole.fit(mole.models.MLP(12, 2, hidden=(8,)), X, y, method="forward-forward",
                 config=mole.TrainConfig(epochs=1, schedule="simultaneous"))
    assert "\n" not in str(info.value) and "--schedule async" in str(info.value)
