"""MOLE vs backprop on grid data with the same CNN: digits 8×8, MNIST-1D, MNIST; mean ± std over seeds.

    python benchmarks/grid.py                                   # all three, 3 seeds (MNIST needs $MOLE_DATA)
    python benchmarks/grid.py --datasets mnist1d --seeds 1

CNN: Conv(32)-BN-ReLU-MaxPool → Conv(64)-BN-ReLU-MaxPool → Linear head, the same initial weights for
every method. MOLE is run with the default Rényi estimator (the paper's) and with InfoNCE/SupCon; each
module trains for `epochs`, backprop trains the whole network for `epochs` (same updates per weight).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, mean_std, write_section  # noqa: E402

from mole.experiment import ExperimentConfig, make_train_config, run_experiment  # noqa: E402

EPOCHS = {"digits": 30, "mnist1d": 30, "mnist": 3}
LABELS = {"digits": "digits 1×8×8", "mnist1d": "MNIST-1D (4000/1000)", "mnist": "MNIST 1×28×28"}
VARIANTS = [("MOLE (Rényi α=1.01)", "renyi", ("mole", "bp")), ("MOLE (InfoNCE/SupCon)", "infonce", ("mole",))]


def _ratio(runs: list, bp_seconds: float, key: str) -> str:
    """Summed train seconds of ``runs`` ÷ backprop's, as '2.1×' (empty for the backprop row)."""
    return "" if key == "backprop" else f"{sum(r['train_seconds'] for r in runs) / bp_seconds:.1f}×"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", default="digits,mnist1d,mnist")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    rows = []
    for name in args.datasets.split(","):
        results: dict[str, list] = {}
        for seed in range(args.seeds):
            for label, estimator, methods in VARIANTS:
                with tempfile.TemporaryDirectory() as out:
                    cfg = ExperimentConfig(dataset=name, model="cnn", seed=seed, methods=methods, out=out,
                                           data_root=args.data_root,
                                           train=make_train_config(epochs=EPOCHS[name], estimator=estimator))
                    res = run_experiment(cfg, argv=["benchmarks/grid.py"])
                for r in res["runs"]:
                    key = label if r["method"] == "mole" else "backprop"
                    results.setdefault(key, []).append(r)
                print(name, seed, label, {r["method"]: round(r["test_accuracy"], 4) for r in res["runs"]}, flush=True)
        bp = statistics.mean(r["test_accuracy"] for r in results["backprop"])
        bp_seconds = sum(r["train_seconds"] for r in results["backprop"])
        for key in ("backprop", *(v[0] for v in VARIANTS)):
            rs = results[key]
            acc = [r["test_accuracy"] for r in rs]
            gap = "" if key == "backprop" else f"{(statistics.mean(acc) - bp) * 100:+.2f}"
            rows.append(f"| {LABELS[name]} | {key} | {mean_std(acc, 100)} | {gap} | {rs[0]['epochs']} | "
                        f"{mean_std([r['train_seconds'] for r in rs], 1, 1)} | "
                        f"{mean_std([r['peak_memory_mb'] for r in rs], 1, 1)} | {_ratio(rs, bp_seconds, key)} |")
    write_section("grid", "\n".join([
        "## Grid data: MOLE vs backprop with the same CNN",
        "",
        f"Command: `python benchmarks/grid.py --seeds {args.seeds}` (MOLE_DATA pointing at the data root for MNIST). "
        f"Machine: {machine()}. Mean ± std over {args.seeds} seeds (initialization and batch order; digits also its split).",
        "CNN Conv(32)-BN-ReLU-MaxPool → Conv(64)-BN-ReLU-MaxPool → Linear; batch 256, Adam 1e-3; MI on the "
        "flattened feature maps, Gaussian kernel, median width, per-feature standardized; `epochs` per module "
        "for MOLE, for the whole network for backprop. Peak memory: autograd activation memory of the largest step.",
        "",
        "| data | method | test accuracy % | vs backprop (points) | epochs | train seconds | peak memory MB | time ÷ backprop |",
        "|---|---|---|---|---|---|---|---|",
        *rows]))


if __name__ == "__main__":
    main()
