"""Why one MI signal trains MOLE better than another: one knob at a time, MOLE only.

    python benchmarks/signals.py                                 # digits MLP and MNIST-1D CNN, every variant
    python benchmarks/signals.py --settings digits-mlp --variants renyi,renyi-proj

Each variant changes one thing of the signal against the two estimators that trained MOLE best: the Rényi
estimate (no parameters) and the supervised-contrastive InfoNCE bound (a learned linear projection g and a
temperature τ). Separating the estimator from the projection: ``renyi-proj`` gives the Rényi estimate a learned
projection I(g(T);Y), ``infonce-noproj`` takes it away from InfoNCE (cosine scores on T itself); then τ and the n
of the estimate (the batch). Same network, initial weights and batches as ``benchmarks/rules.py`` (its SETTINGS);
mean over seeds. Writes the ``signals`` section of docs/benchmarks.md and ``docs/benchmarks-signals.json``.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import DOC, machine, mean_std, write_section  # noqa: E402
from rules import SETTINGS  # noqa: E402

from mole.experiment import AnalysisConfig, ExperimentConfig, make_train_config, run_experiment  # noqa: E402

RAW = DOC.parent / "benchmarks-signals.json"
#: variant -> (what it isolates, estimator, estimator options, TrainConfig overrides)
VARIANTS = {
    "renyi": ("Rényi α = 1.01 (no parameters)", "renyi", {}, {}),
    "renyi-proj": ("Rényi on a learned linear projection g(T) to 64", "renyi", {"project": 64}, {}),
    "infonce": ("SupCon InfoNCE, linear projection to 64, τ = 0.1", "infonce", {}, {}),
    "infonce-noproj": ("SupCon InfoNCE without projection (cosines of T), τ = 0.1", "infonce", {"dim": 0}, {}),
    "infonce-t0.5": ("SupCon InfoNCE, τ = 0.5", "infonce", {"temperature": 0.5}, {}),
    "renyi-b64": ("Rényi, batch 64 (n of the estimate)", "renyi", {}, {"batch_size": 64}),
    "infonce-b64": ("SupCon InfoNCE, batch 64", "infonce", {}, {"batch_size": 64}),
}
DEFAULT_SETTINGS = ("digits-mlp", "mnist1d-cnn")


def run(key: str, variant: str, seeds: int, root) -> dict:
    label, dataset, model, exp, train, _ = SETTINGS[key]
    from mole.data import dataset_defaults
    defaults = dataset_defaults(dataset)
    train = {**{k: v for k, v in defaults.items() if k in ("epochs", "batch_size", "lr", "weight_decay")}, **train}
    _, estimator, options, overrides = VARIANTS[variant]
    accs, seconds = [], []
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as out:
            cfg = ExperimentConfig(dataset=dataset, model=model, seed=seed, methods=("mole",), out=out, data_root=root,
                                   train=make_train_config(**{**train, **overrides}, estimator=estimator,
                                                           estimator_options=options),
                                   **exp, analysis=AnalysisConfig(monitor_every=0, probes=False, plots=False))
            r = run_experiment(cfg, argv=["benchmarks/signals.py"])["runs"][0]
        accs += r.get("fold_accuracies", [r["test_accuracy"]])
        seconds.append(r["train_seconds"])
        print(key, variant, seed, round(100 * r["test_accuracy"], 2), flush=True)
    return {"accuracies": accs, "seconds": seconds}


def write(raw: dict) -> None:
    keys = [k for k in SETTINGS if k in raw]
    head = "| variant | what changes | " + " | ".join(SETTINGS[k][0] for k in keys) + " |"
    rows = []
    for v, (what, *_) in VARIANTS.items():
        cells = [mean_std(raw[k][v]["accuracies"], 100) if v in raw[k] else "" for k in keys]
        rows.append(f"| `{v}` | {what} | " + " | ".join(cells) + " |")
    seeds = {k: len(next(iter(raw[k].values()))["seconds"]) for k in keys}
    write_section("signals", "\n\n".join([
        "## Why a signal wins: one knob at a time",
        "Command: `python benchmarks/signals.py` (raw numbers in `docs/benchmarks-signals.json`). Machine: "
        f"{machine()}. MOLE only, the settings of `benchmarks/rules.py`; test accuracy %, mean ± std over seeds "
        f"({', '.join(f'{SETTINGS[k][0]}: {n}' for k, n in seeds.items())}).",
        "\n".join([head, "|---|---|" + "---|" * len(keys), *rows]),
    ]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", default=",".join(DEFAULT_SETTINGS))
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    raw = json.loads(RAW.read_text()) if RAW.exists() else {}
    for key in args.settings.split(","):
        for variant in args.variants.split(","):
            if key not in SETTINGS or variant not in VARIANTS:
                raise SystemExit(f"unknown setting {key!r} or variant {variant!r}")
            raw.setdefault(key, {})[variant] = run(key, variant, args.seeds, args.data_root)
            RAW.write_text(json.dumps(raw, indent=1))
            write(raw)


if __name__ == "__main__":
    main()
