"""The same asynchronous command gives the same results.json whatever the machine's load: the module groups
come from the deterministic cost model, not from timings, and each worker's updates do not depend on when the
other workers' batches arrive. Only measured times may differ."""
import pytest
import json
import subprocess
import sys

from mole.cli import main

ARGS = ["run", "--schedule", "async", "--workers", "2", "--epochs", "2", "--methods", "mole", "--hidden", "32,32",
        "-q", "--no-plots", "--no-probes", "--monitor-every", "0"]
#: keys whose values are measurements of this machine, not results
MEASURED = ("second", "wall", "memory", "_mb", "timings", "run_dir", "throughput")


def without_measurements(value):
    """``value`` (a results.json tree) without the entries that measure time, speed or memory."""
    if isinstance(value, dict):
        return {k: without_measurements(v) for k, v in value.items() if not any(m in k for m in MEASURED)}
    if isinstance(value, list):
        return [without_measurements(v) for v in value]
    return value


@pytest.mark.process
def test_an_asynchronous_run_beside_a_busy_core_writes_the_same_results(tmp_path):
    assert main([*ARGS, "--out", str(tmp_path / "quiet")]) == 0
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])  # takes one of the cores throughout
    try:
        assert main([*ARGS, "--out", str(tmp_path / "busy")]) == 0
    finally:
        hog.kill()
        hog.wait()
    quiet, busy = (json.loads((tmp_path / name / "results.json").read_text()) for name in ("quiet", "busy"))
    assert quiet["runs"][0]["schedule_info"]["groups"] == busy["runs"][0]["schedule_info"]["groups"]
    assert without_measurements(quiet) == without_measurements(busy)
    assert quiet["runs"][0]["train_seconds"] != busy["runs"][0]["train_seconds"]  # the filter left results only
