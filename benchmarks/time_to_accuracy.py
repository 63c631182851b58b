"""Time to accuracy: every rule of benchmarks/rules.py, with today's fixed budget and with convergence budgets.

    python benchmarks/time_to_accuracy.py                                  # every setting (MNIST, Cora, MUTAG need $MOLE_DATA)
    python benchmarks/time_to_accuracy.py --settings mnist-mlp-256 --methods mole,bp --seeds 2
    python benchmarks/time_to_accuracy.py --rebuild                         # table and figure from the raw numbers

For each setting of ``benchmarks/rules.py`` (same network, data, epochs, batch and lr) every method trains three
times: with the fixed budget (``epochs`` per module, as the rules table) and with two convergence budgets
(``--patience P``: each module, and backprop, stops once its local loss on a held-out slice of the training data
has not improved for P checks, at most ``epochs``; ``--converge-on probe``: the same on a ridge probe's error of
its outputs; :mod:`mole.convergence`). All methods of one budget and seed train in one process, one after
another, from the same initial weights.

The curve of each run is the test accuracy of the network after every epoch of its last stage (the head; backprop:
the network) against the training seconds spent until then (start-up included, the accuracy measurements not).
Test accuracy is only read for the curve, never to decide when to stop. The target is backprop's final accuracy
with the fixed budget (per seed; graph collections: the curve of fold 0, as ``mole run`` records it); each run's
time to accuracy is the first point of its curve at or above the target. Raw numbers: ``docs/benchmarks-time.json``;
the section in docs/benchmarks.md and the figure ``docs/images/time_to_accuracy.png`` are rebuilt from all of them.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import DOC, machine, write_section  # noqa: E402
from rules import SETTINGS  # noqa: E402

from mole.config import ObjectiveConfig, TrainConfig  # noqa: E402
from mole.convergence import patience_for  # noqa: E402
from mole.experiment import AnalysisConfig, ExperimentConfig, make_train_config, run_experiment  # noqa: E402
from mole.rules import RULES  # noqa: E402

RAW = DOC.parent / "benchmarks-time.json"
FIGURE = DOC.parent / "images" / "time_to_accuracy.png"


#: budget name -> TrainConfig fields over the setting's (the convergence ones get the patience too)
BUDGETS = {"fixed": {}, "convergence": {"converge_on": "loss"}, "probe": {"converge_on": "probe"}}


def run_setting(key: str, seeds: int, root, methods, patience: int, budgets=tuple(BUDGETS)) -> dict:
    """Every method of ``methods`` on setting ``key``, with each of ``budgets``, ``seeds`` seeds."""
    label, dataset, model, exp, train, _ = SETTINGS[key]
    from mole.data import dataset_defaults
    defaults = dataset_defaults(dataset)
    train = {"epochs": TrainConfig.epochs,
             **{k: v for k, v in defaults.items() if k in ("epochs", "batch_size", "lr", "weight_decay")}, **train}
    patience = patience if patience is not None else patience_for(train["epochs"])
    signal = {"estimator": defaults.get("estimator", "renyi"), "estimator_options": defaults.get("estimator_options", {}),
              "objective": ObjectiveConfig(lambda_graph=defaults.get("lambda_graph", 0.0))}  # mole's default
    runs: dict[str, list] = {}
    for seed in range(seeds):
        for budget in budgets:
            extra = {**BUDGETS[budget], **({"patience": patience} if budget != "fixed" else {})}
            with tempfile.TemporaryDirectory() as out:
                cfg = ExperimentConfig(dataset=dataset, model=model, seed=seed, methods=tuple(methods), out=out,
                                       data_root=root, train=make_train_config(**train, **extra, **signal), **exp,
                                       analysis=AnalysisConfig(monitor_every=0, probes=False, plots=False,
                                                               accuracy_every=1))
                res = run_experiment(cfg, argv=["benchmarks/time_to_accuracy.py"])
            for r in res["runs"]:
                runs.setdefault(f"{r['method']}|{budget}", []).append({
                    "seed": seed, "accuracy": r["test_accuracy"], "seconds": r["train_seconds"],
                    "module_epochs": r["module_epochs"], "curve": [(p["seconds"], p["test_accuracy"])
                                                                  for p in r["accuracy_curve"]],
                    "first_fold_accuracy": r.get("fold_accuracies", [r["test_accuracy"]])[0]})
            print(key, seed, budget, {r["method"]: (round(100 * r["test_accuracy"], 2), round(r["train_seconds"], 1),
                                                    r["module_epochs"]) for r in res["runs"]}, flush=True)
    return {"label": label, "seeds": seeds, "patience": patience, "epochs": train["epochs"], "runs": runs,
            "machine": machine()}


def reach(curve, target: float):
    """Seconds of the first point of ``curve`` at or above ``target`` (None: never)."""
    return next((s for s, a in curve if a >= target - 1e-9), None)


def times(entry: dict, name: str) -> list:
    """Per seed, ``name``'s seconds to reach backprop's fixed-budget final accuracy of that seed's curve."""
    targets = {r["seed"]: r["curve"][-1][1] for r in entry["runs"]["bp|fixed"]}
    return [reach(r["curve"], targets[r["seed"]]) for r in entry["runs"][name]]


def _mean(values) -> float:
    return statistics.mean(values)


def _epochs(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def table(raw: dict) -> tuple[str, list[str]]:
    """The table and one verdict line per setting where backprop trains >= 5 s."""
    rows, verdicts = [], []
    for key in SETTINGS:
        if key not in raw:
            continue
        entry = raw[key]
        bp_time = times(entry, "bp|fixed")
        bp_seconds = _mean(r["seconds"] for r in entry["runs"]["bp|fixed"])
        methods = list(dict.fromkeys(name.split("|")[0] for name in entry["runs"]))
        for method in methods:
            fixed = entry["runs"].get(f"{method}|fixed")
            for budget in BUDGETS:
                rs = entry["runs"].get(f"{method}|{budget}")
                if not rs:
                    continue
                reached = times(entry, f"{method}|{budget}")
                got = [t for t in reached if t is not None]
                when = (f"{_mean(got):.1f} s" + (f" ({len(got)} of {len(reached)} seeds)" if len(got) < len(reached)
                                                  else "")) if got else "not reached"
                ratio = f"{_mean(got) / _mean(bp_time):.2f}×" if got and len(got) == len(reached) else ""
                acc = 100 * _mean(r["accuracy"] for r in rs)
                gap = "" if budget == "fixed" or not fixed else f"{acc - 100 * _mean(r['accuracy'] for r in fixed):+.2f}"
                epochs = "/".join(_epochs(_mean(r["module_epochs"][k] for r in rs)) for k in range(len(rs[0]["module_epochs"])))
                how = {"fixed": "fixed", "convergence": f"patience {entry['patience']}",
                       "probe": f"patience {entry['patience']}, probe"}[budget]
                rows.append(f"| {entry['label']} | {method} | {how} | {acc:.2f} | {gap} | {epochs} | "
                            f"{_mean(r['seconds'] for r in rs):.1f} | {when} | {ratio} |")
        for budget, name in (("convergence", "convergence budget"), ("probe", "convergence budget, probe")):
            if f"mole|{budget}" not in entry["runs"] or bp_seconds < 5:
                continue
            mole = times(entry, f"mole|{budget}")
            faster = all(t is not None for t in mole) and _mean(mole) < _mean(bp_time)
            verdicts.append(f"{entry['label']}: MOLE ({name}) reaches bp's final accuracy "
                            + (f"in {_mean(mole):.1f} s against bp's {_mean(bp_time):.1f} s "
                               f"{'✓' if faster else '✗'}" if all(t is not None for t in mole) else "on "
                               f"{sum(t is not None for t in mole)} of {len(mole)} seeds ✗"))
    head = ["| setting | method | budget | test accuracy % | vs fixed budget | epochs per stage | train seconds | "
            "time to bp's final accuracy | ÷ bp's |", "|---|---|---|---|---|---|---|---|---|"]
    return "\n".join(head + rows), verdicts


def figure(raw: dict) -> None:
    """The curves: one panel per setting, test accuracy over training seconds, fixed (dashed) and convergence."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = [k for k in SETTINGS if k in raw]
    cols = min(3, len(keys))
    rows = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(5 * cols, 3.6 * rows), squeeze=False)
    colors = {m: f"C{i}" for i, m in enumerate(RULES)}
    for ax, key in zip(axes.flat, keys):
        entry = raw[key]
        target = _mean(r["curve"][-1][1] for r in entry["runs"]["bp|fixed"])
        for name, rs in entry["runs"].items():
            method, budget = name.split("|")
            curve = rs[0]["curve"]  # the first seed's
            if curve:
                ax.plot([s for s, _ in curve], [100 * a for _, a in curve], color=colors.get(method, "k"),
                        linestyle={"fixed": "--", "probe": ":"}.get(budget, "-"), marker=".", markersize=3,
                        label=f"{method} ({budget})")
        ax.axhline(100 * target, color="grey", linewidth=0.8)
        gap = min(15.0, max(2.0, 1.5 * (100 - 100 * target)))  # MNIST's curves fill a few points, not fifteen
        ax.set_ylim(max(0, 100 * target - gap), 100)
        ax.set_title(entry["label"], fontsize=9)
        ax.set_xlabel("training seconds")
        ax.set_ylabel("test accuracy %")
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    handles, labels = {}, {}
    for ax in axes.flat:  # one legend for the figure, below the panels: every method and budget drawn anywhere
        for h, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, h)
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=6, fontsize=7)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(FIGURE, dpi=110)
    plt.close(fig)


def write(raw: dict) -> None:
    text, verdicts = table(raw)
    write_section("time-to-accuracy", "\n\n".join([
        "## Time to accuracy: fixed and convergence budgets",
        f"Command: `python benchmarks/time_to_accuracy.py` (MOLE_DATA pointing at the data root; `--settings` and "
        f"`--methods` refresh some rows, the raw numbers are in `docs/benchmarks-time.json`). Machine: {machine()}, "
        f"nothing else running. Each setting as in the rules table; `fixed`: every stage trains the setting's epochs; "
        "`patience P`: a convergence budget, P a tenth of the setting's epochs, at least 3 (`mole run --epochs auto`); each stage "
        "(backprop: the network) stops once its local loss on a held-out 10 % of each class's training samples "
        "(Planetoid: the validation nodes) has not improved for that many checks (one per ~100 steps, at least one "
        "per epoch), at most the setting's epochs; `patience P, probe`: the same with the error of a ridge probe of "
        "its outputs on those samples instead of its loss (`--converge-on probe`). "
        "Time to bp's final accuracy: training seconds (start-up included, test measurements not) until the head's "
        "test accuracy after an epoch first reaches backprop's fixed-budget final accuracy, mean over seeds "
        "(graph collections: fold 0's curve); ÷ bp's: against backprop's own time to it.",
        "\n".join(f"- {v}" for v in verdicts),
        text,
        f"![test accuracy over training seconds](images/{FIGURE.name})\n\n"
        "Test accuracy over training seconds (first seed), dashed: fixed budget; solid: convergence budget on the "
        "local loss; dotted: on a ridge probe's error; the grey line: backprop's final "
        "accuracy.",
    ]))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", default=",".join(SETTINGS), help=f"comma-separated: {', '.join(SETTINGS)}")
    p.add_argument("--seeds", type=int, default=None, help="seeds per setting (default: the setting's own)")
    p.add_argument("--methods", default=",".join(m for m in RULES if m != "bp-semi"),
                   help="comma-separated rules (bp is always run: it sets the target)")
    p.add_argument("--patience", type=int, default=None, help="default: `mole run --epochs auto`'s, a tenth of the "
                   "setting's epochs, at least 3 (mole.convergence.patience_for)")
    p.add_argument("--budgets", default=",".join(BUDGETS), help=f"comma-separated: {', '.join(BUDGETS)} (fixed: the "
                   "setting's epochs; convergence: patience on the local loss; probe: patience on a ridge probe's error)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--rebuild", action="store_true", help="rebuild the table and figure from the raw numbers")
    args = p.parse_args()
    raw = json.loads(RAW.read_text()) if RAW.exists() else {}
    methods = list(dict.fromkeys(["bp", *args.methods.split(",")]))
    for key in ([] if args.rebuild else args.settings.split(",")):
        if key not in SETTINGS:
            raise SystemExit(f"unknown setting {key!r}; choose from {', '.join(SETTINGS)}")
        fresh = run_setting(key, args.seeds or SETTINGS[key][5], args.data_root, methods, args.patience,
                            args.budgets.split(","))
        if key in raw and raw[key].get("patience") == fresh["patience"] and raw[key].get("seeds") == fresh["seeds"]:
            fresh["runs"] = {**raw[key]["runs"], **fresh["runs"]}  # refresh these methods, keep the others
        raw[key] = fresh
        RAW.write_text(json.dumps(raw, indent=1))
        write(raw)
        figure(raw)
    if args.rebuild:
        write(raw)
        figure(raw)


if __name__ == "__main__":
    main()
