"""MOLE's levers on a graph collection against backprop and DGL: one change per variant, k-fold CV.

    python benchmarks/graph_levers.py mutag 3 mole dgl bp b32 lx jsd sum a2 proj   # dataset, seeds, variants

Prints one JSON line per variant (mean test accuracy % over the folds, per seed; mean train seconds), appended to
docs/benchmarks-graph-levers.jsonl. Variants: ``VARIANTS`` below; the data root is $MOLE_DATA.
"""
import json
import statistics
import sys
import tempfile
from pathlib import Path

from mole.config import ObjectiveConfig
from mole.data import dataset_defaults
from mole.experiment import AnalysisConfig, ExperimentConfig, make_train_config, run_experiment

OUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks-graph-levers.jsonl"
#: one change per variant: the rules to run, TrainConfig and ExperimentConfig changes
VARIANTS = {
    "bp": dict(methods=("bp",)), "dgl": dict(methods=("dgl",)), "mole": dict(methods=("mole",)),
    "jsd": dict(methods=("mole",), train=dict(estimator="jsd")),
    "infonce": dict(methods=("mole",), train=dict(estimator="infonce")),
    "b32": dict(methods=("mole",), train=dict(batch_size=32)),
    "b64": dict(methods=("mole",), train=dict(batch_size=64)),
    "lx": dict(methods=("mole",), train=dict(objective=ObjectiveConfig(lambda_x=0.5))),
    "sum": dict(methods=("mole",), exp=dict(pool="sum")),
    "sum-bp": dict(methods=("bp",), exp=dict(pool="sum")),
    "sum-dgl": dict(methods=("dgl",), exp=dict(pool="sum")),
    "a2": dict(methods=("mole",), train=dict(estimator_options={"alpha": 2.0})),
    "proj": dict(methods=("mole",), train=dict(estimator_options={"project": 32})),
    "e50": dict(methods=("mole",), train=dict(epochs=50)),
    "lr3": dict(methods=("mole",), train=dict(lr=0.003)),
    "wd": dict(methods=("mole",), train=dict(weight_decay=5e-4)),
    "b16": dict(methods=("mole",), train=dict(batch_size=16)),
    "b32-jsd": dict(methods=("mole",), train=dict(batch_size=32, estimator="jsd")),
    "b32-lx": dict(methods=("mole",), train=dict(batch_size=32, objective=ObjectiveConfig(lambda_x=0.5))),
    "b32-lr3": dict(methods=("mole",), train=dict(batch_size=32, lr=0.003)),
    "b32-bp": dict(methods=("bp",), train=dict(batch_size=32)),
    "b32-dgl": dict(methods=("dgl",), train=dict(batch_size=32)),
    "sil": dict(methods=("mole",), train=dict(estimator_options={"sigma": "silverman"})),
}


def main() -> None:
    ds, seeds, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown or not names:
        raise SystemExit(f"usage: graph_levers.py DATASET SEEDS VARIANT...; variants: {', '.join(VARIANTS)}")
    d = dataset_defaults(ds)
    base = {k: v for k, v in d.items() if k in ("epochs", "batch_size", "lr", "weight_decay")}
    for name in names:
        v, accs, secs = VARIANTS[name], [], []
        for seed in range(seeds):
            with tempfile.TemporaryDirectory() as out:
                cfg = ExperimentConfig(dataset=ds, model=d["model"], hidden=d.get("hidden", (64, 64)), seed=seed,
                                       methods=v["methods"], out=out,
                                       train=make_train_config(**{**base, **v.get("train", {})}),
                                       analysis=AnalysisConfig(monitor_every=0, probes=False, plots=False),
                                       **v.get("exp", {}))
                r = run_experiment(cfg, argv=["benchmarks/graph_levers.py"])["runs"][0]
            accs.append(100 * statistics.mean(r.get("fold_accuracies", [r["test_accuracy"]])))
            secs.append(r["train_seconds"])
        line = json.dumps({"ds": ds, "variant": name, "mean": round(statistics.mean(accs), 2),
                           "accs": [round(a, 2) for a in accs], "sec": round(statistics.mean(secs), 1)})
        print(line, flush=True)
        with OUT.open("a") as f:
            f.write(line + "\n")


if __name__ == "__main__":
    main()
