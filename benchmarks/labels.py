"""Few labels: MOLE against backprop and semi-supervised backprop, each setting one `mole run --labels` command.

    python benchmarks/labels.py                          # every setting, 3 seeds (MNIST and Cora need $MOLE_DATA)
    python benchmarks/labels.py --settings cora-gcn-5 --seeds 1
    python benchmarks/labels.py --settings mnist1d-cnn-10% --variants "mole+views:--lambda-view 1"   # explore

Each setting is the command a user types, ``mole run --dataset D --labels N`` with at most the network's size as a
flag: the few-label settings measured to help on its kind of data are the defaults (:mod:`mole.data.few_labels`),
and ``--labels`` runs ``mole``, ``bp`` and ``bp-semi`` side by side on the same labelled subset, network, initial
weights, augmentation and test split. Backprop trains on the labelled samples alone, with the epochs that take as
many optimizer steps as MOLE's modules take over every sample (node-level graphs: one full-graph step per epoch for
both); semi-supervised backprop (``bp-semi``) trains end to end on every sample with MOLE's unlabelled-data terms
(the same weights, views and pseudo-labels), so the gap between it and MOLE is what local training adds beyond the
use of unlabelled data.
"""
from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, mean_std, write_section  # noqa: E402

from mole.cli import _config, build_parser  # noqa: E402
from mole.experiment import run_experiment  # noqa: E402

QUIET = ["-q", "--no-plots", "--no-probes", "--monitor-every", "0", "--accuracy-every", "0"]
#: setting -> (what it is, the `mole run` arguments, the target set for it: MOLE - backprop in points; None: none set)
SETTINGS = {
    "mnist-mlp-10": ("MNIST, MLP 256-128, 10 labels per class (100 of 60,000)",
                     "--dataset mnist --model mlp --hidden 256,128 --labels 10", 10.0),
    "mnist1d-cnn-10%": ("MNIST-1D, CNN 32-64, 10 % of the labels (400 of 4,000)", "--dataset mnist1d --labels 10%", 3.0),
    "cora-gcn-5": ("Cora, GCN 256, 5 labels per class (35 of 2,708 nodes)", "--dataset cora --labels 5 --hidden 256",
                   5.0),
    "mutag-gin-10%": ("MUTAG, GIN 64-64, 10-fold CV, 10 % of each fold's training labels (about 17 of 169 graphs)",
                      "--dataset mutag --labels 10%", None),
}
NAMES = {"mole": "MOLE", "bp": "backprop (labelled samples)", "bp-semi": "semi-supervised backprop (bp-semi)"}


def run(args: str, seed: int, methods: str | None = None) -> dict:
    """One `mole run` of ``args`` at ``seed``: per method its accuracy, seconds, epochs and signal."""
    with tempfile.TemporaryDirectory() as out:
        argv = ["run", *shlex.split(args), "--seed", str(seed), "--out", f"{out}/run", *QUIET,
                *(["--methods", methods] if methods else [])]
        cfg = _config(build_parser().parse_args(argv))
        res = run_experiment(cfg, argv=["benchmarks/labels.py"])
        return {"runs": {r["method"]: {"acc": r["test_accuracy"], "sec": r["train_seconds"], "epochs": r["epochs"],
                                       "signal": r.get("signal", "")} for r in res["runs"]},
                "labels": res.get("labels", {})}


def table(results: dict[str, list], target) -> list[str]:
    bp = statistics.mean(r["acc"] for r in results["bp"])
    semi = statistics.mean(r["acc"] for r in results["bp-semi"]) if "bp-semi" in results else None
    rows = []
    for method, rs in results.items():
        acc = statistics.mean(r["acc"] for r in rs)
        gap = "" if method == "bp" else f"{100 * (acc - bp):+.2f}" + (
            "" if target is None or method != "mole" else " ✓" if 100 * (acc - bp) >= target else " ✗")
        vs_semi = "" if semi is None or method in ("bp", "bp-semi") else f"{100 * (acc - semi):+.2f}"
        name = NAMES.get(method, method) + (f" ({rs[0]['signal']})" if rs[0]["signal"] else "")
        rows.append(f"| {name} | {mean_std([r['acc'] for r in rs], 100)} | {gap} | {vs_semi} | {rs[0]['epochs']} | "
                    f"{statistics.mean(r['sec'] for r in rs):.1f} |")
    return ["| method | test accuracy % | vs backprop (points) | vs bp-semi (points) | epochs | seconds per run |",
            "|---|---|---|---|---|---|", *rows]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--settings", default=",".join(SETTINGS))
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--variants", default=None, help="label:extra args;... MOLE variants to run beside (exploration: "
                   "printed, not written)")
    p.add_argument("--data-root", default=None)
    a = p.parse_args()
    raw = []
    for name in a.settings.split(","):
        title, args, target = SETTINGS[name]
        root = f" --data-root {a.data_root}" if a.data_root else ""
        variants = dict(v.split(":", 1) for v in a.variants.split(";")) if a.variants else {}
        results: dict[str, list] = {}
        defaults = {}
        for seed in range(a.seeds):
            one = run(args + root, seed)
            defaults = one["labels"].get("defaults", {})
            runs = dict(one["runs"])
            for label, extra in variants.items():
                runs[label] = run(f"{args}{root} {extra}", seed, "mole")["runs"]["mole"]
            for method, r in runs.items():
                results.setdefault(method, []).append(r)
                raw.append({"setting": name, "seed": seed, "method": method, **r,
                            "labelled": one["labels"].get("labelled")})
                print(name, seed, method, round(100 * r["acc"], 2), round(r["sec"], 1), flush=True)
        cmd = f"python benchmarks/labels.py --settings {name}" + ("" if a.seeds == 3 else f" --seeds {a.seeds}")
        turned_on = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in defaults.items()) or "nothing"
        body = "\n".join([
            f"### {title}", "",
            f"`mole run {args}` ({a.seeds} seeds: labelled subset, initialization, batch order). Command: `{cmd}` "
            f"(MOLE_DATA pointing at the data root). Machine: {machine()}, nothing else running. What `--labels` "
            f"turned on for this kind of data: {turned_on}."
            + ("" if target is None else f" Target: MOLE ≥ backprop + {target:g} points."), "",
            *table(results, target)])
        print(body, flush=True)
        if not a.variants:  # an exploration prints; the table of record is the command's own methods
            write_section(f"labels-{name}", body)
    if not a.variants:
        Path(__file__).resolve().parent.parent.joinpath("docs", "benchmarks-labels.jsonl").open("a").write(
            "".join(json.dumps(r) + "\n" for r in raw))


if __name__ == "__main__":
    main()
