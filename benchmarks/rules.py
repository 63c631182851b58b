"""Every training rule on the same networks (issue 12): one table, every rule × dataset, measured in one process.

    python benchmarks/rules.py                                  # every setting (MNIST, Cora, MUTAG need $MOLE_DATA)
    python benchmarks/rules.py --settings digits,cora --seeds 2

For each setting, every rule trains the same network from the same initial weights on the same batches
(``mole run --methods mole,bp,dgl,predsim,hsic-bottleneck`` with the analysis off), each with its defaults.
Test accuracy is the mean ± std over seeds (graph collections: over the folds of one seed's 10-fold CV);
time is ``train_seconds`` (wall seconds of training, summed over folds) and memory the autograd activation peak.
The raw numbers of every setting run so far are kept in ``docs/benchmarks-rules.json``; the table in
``docs/benchmarks.md`` is rebuilt from all of them, so settings can be refreshed one at a time.

The ``mnist-mlp`` setting is PredSim's own (Nøkland & Eidnes 2019): MLP 3×1024 with BatchNorm, 3 epochs,
batch 128, Adam 5e-4, inputs shifted by up to 2 pixels; the authors' code reached 98.16 % and 98.24 % here.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import DOC, machine, mean_std, write_section  # noqa: E402

from mole.experiment import AnalysisConfig, ExperimentConfig, make_train_config, run_experiment  # noqa: E402
from mole.rules import RULES  # noqa: E402

RAW = DOC.parent / "benchmarks-rules.json"
PREDSIM_AUTHORS = (98.16, 98.24)  # the authors' code, this setting, two runs on a 2-core CPU (RULES.md)

#: extra runs per setting besides every rule under the sequential schedule: (row name, method, schedule)
EXTRA = {"mnist-mlp": [("predsim (simultaneous)", "predsim", "simultaneous")]}  # the authors' code trains so

#: setting -> (label, dataset, model, ExperimentConfig overrides, TrainConfig overrides, default seeds)
SETTINGS = {
    "digits-mlp": ("digits, MLP 256-128", "digits", "mlp", {}, {}, 3),
    "mnist-mlp": ("MNIST, MLP 3×1024 (PredSim's setting)", "mnist", "mlp", {"hidden": (1024, 1024, 1024)},
                  {"epochs": 3, "batch_size": 128, "lr": 5e-4, "augment": "shift"}, 2),
    "mnist1d-cnn": ("MNIST-1D, CNN 32-64", "mnist1d", "cnn", {}, {}, 2),
    "mnist-cnn": ("MNIST, CNN 32-64", "mnist", "cnn", {}, {"epochs": 3}, 1),
    "cora-gcn": ("Cora, GCN 64", "cora", "gcn", {}, {}, 5),
    "mutag-gin": ("MUTAG, GIN 64-64 (10-fold CV)", "mutag", "gin", {}, {}, 1),
}


def run_setting(key: str, seeds: int, root) -> dict:
    label, dataset, model, exp, train, _ = SETTINGS[key]
    from mole.data import dataset_defaults
    defaults = dataset_defaults(dataset)
    train = {**{k: v for k, v in defaults.items() if k in ("epochs", "batch_size", "lr", "weight_decay")}, **train}
    runs: dict[str, list] = {}
    variants = [(None, tuple(RULES), "sequential"), *((name, (m,), sched) for name, m, sched in EXTRA.get(key, []))]
    for seed in range(seeds):
        for name, methods, schedule in variants:
            with tempfile.TemporaryDirectory() as out:
                cfg = ExperimentConfig(dataset=dataset, model=model, seed=seed, methods=methods, out=out,
                                       data_root=root, train=make_train_config(**train, schedule=schedule), **exp,
                                       analysis=AnalysisConfig(monitor_every=0, probes=False, plots=False))
                res = run_experiment(cfg, argv=["benchmarks/rules.py"])
            for r in res["runs"]:
                accs = r.get("fold_accuracies", [r["test_accuracy"]])
                runs.setdefault(name or r["method"], []).append({"accuracies": accs, "seconds": r["train_seconds"],
                                                                 "memory_mb": r["peak_memory_mb"]})
            print(key, seed, {name or r["method"]: round(100 * r["test_accuracy"], 2) for r in res["runs"]}, flush=True)
    return {"label": label, "seeds": seeds, "settings": {**exp, **train, "model": model}, "runs": runs,
            "machine": machine()}


def table(raw: dict) -> str:
    rows = []
    for key in SETTINGS:
        if key not in raw:
            continue
        entry = raw[key]
        bp_acc = statistics.mean(a for r in entry["runs"]["bp"] for a in r["accuracies"])  # noqa: E501
        bp_sec = sum(r["seconds"] for r in entry["runs"]["bp"])
        for method, rs in entry["runs"].items():
            accs = [a for r in rs for a in r["accuracies"]]
            gap = "" if method == "bp" else f"{round(100 * (statistics.mean(accs) - bp_acc), 2) + 0.0:+.2f}"
            ratio = "" if method == "bp" else f"{sum(r['seconds'] for r in rs) / bp_sec:.2f}×"
            rows.append(f"| {entry['label']} | {method} | {mean_std(accs, 100)} | {gap} | "
                        f"{mean_std([r['seconds'] for r in rs], 1, 1)} | {ratio} | "
                        f"{max(r['memory_mb'] for r in rs):.1f} |")
    return "\n".join(["| setting | rule | test accuracy % | vs bp (points) | train seconds | time ÷ bp | "
                      "peak activation MB |", "|---|---|---|---|---|---|---|", *rows])


def predsim_reproduction(raw: dict) -> str:
    if "mnist-mlp" not in raw:
        return ""
    target, lines = statistics.mean(PREDSIM_AUTHORS), []
    for name in ("predsim (simultaneous)", "predsim"):
        if name in raw["mnist-mlp"]["runs"]:
            accs = [100 * a for r in raw["mnist-mlp"]["runs"][name] for a in r["accuracies"]]
            gap = statistics.mean(accs) - target
            lines.append(f"- `{name}`{' (sequential)' if name == 'predsim' else ''}: "
                         f"{', '.join(f'{a:.2f} %' for a in accs)}; mean {statistics.mean(accs):.2f} %, "
                         f"{gap:+.2f} points from {target:.1f} % ({'within' if abs(gap) <= 0.3 else 'outside'} 0.3)")
    return "\n".join([
        "### PredSim reproduction",
        "",
        f"PredSim's own setting (MNIST, MLP 3×1024 with BatchNorm, 3 epochs, batch 128, Adam 5e-4, 2-pixel shifts): "
        f"the authors' code (which trains every layer on every batch: mole's simultaneous schedule) reached "
        f"{PREDSIM_AUTHORS[0]} % and {PREDSIM_AUTHORS[1]} % on a 2-core CPU. mole's `predsim`:",
        "",
        *lines,
    ])


def write(raw: dict) -> None:
    """The section in docs/benchmarks.md, from the raw numbers of every setting run so far."""
    write_section("rules", "\n\n".join(filter(None, [
        "## Every rule on the same networks (issue 12)",
        "Command: `python benchmarks/rules.py` (MOLE_DATA pointing at the data root; `--settings` refreshes some "
        f"settings only, the raw numbers are in `docs/benchmarks-rules.json`). Machine: {machine()}, nothing else "
        "running. Every rule with its defaults (mole: Rényi α = 1.01; dgl: linear auxiliary head on vectors and "
        "graphs, pooled 2×2 + 3-layer MLP on feature maps; predsim: β = 0.99; hsic-bottleneck: β = 50, σ = 5), "
        "the same network, initial weights and batches; the dataset's default epochs, batch and lr unless the "
        "setting names its own; epochs per module for local rules. Mean ± std over seeds (MUTAG: over 10 folds).",
        table(raw),
        predsim_reproduction(raw),
    ])))



def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated: {', '.join(SETTINGS)}")
    p.add_argument("--seeds", type=int, default=None, help="seeds per setting (default: the setting's own)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--rebuild", action="store_true", help="rebuild the table from the raw numbers; run nothing")
    args = p.parse_args()
    raw = json.loads(RAW.read_text()) if RAW.exists() else {}
    for key in ([] if args.rebuild else args.settings.split(",")):
        if key not in SETTINGS:
            raise SystemExit(f"unknown setting {key!r}; choose from {', '.join(SETTINGS)}")
        raw[key] = run_setting(key, args.seeds or SETTINGS[key][5], args.data_root)
        RAW.write_text(json.dumps(raw, indent=1))
        write(raw)
    if args.rebuild:
        write(raw)

if __name__ == "__main__":
    main()
