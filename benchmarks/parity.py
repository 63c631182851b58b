"""MOLE against backprop at backprop's cost: accuracy and time side by side, one process.

    python benchmarks/parity.py                       # all parts (MNIST needs $MOLE_DATA)
    python benchmarks/parity.py --parts mnist --seeds 1
    python benchmarks/parity.py --parts shared        # the time ratio with a busy neighbour process

Parts:

* ``mnist``: the PredSim setting (Nøkland & Eidnes 2019): MNIST, MLP 3×1024 with BatchNorm, 3 epochs,
  batch 128, Adam lr 5e-4, inputs shifted by up to 2 pixels. Every method trains the same network from
  the same initial weights with the same batches and shifts (one seed drives both).
* ``digits``: the default ``mole run`` (digits, MLP 256-128, 30 epochs, batch 256, Adam 1e-3), train seconds.
* ``shared``: one epoch of the MNIST setting on a 12,000-sample subset, first on a quiet machine, then
  with one CPU-bound process (a busy loop started by this script) on one of the cores; the MOLE ÷ backprop
  time ratio in both conditions.

Times are wall seconds of ``mole.fit`` (training only); the ratio is what to read, not the seconds.
"""
from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, mean_std, write_section  # noqa: E402

import mole  # noqa: E402
from mole.config import EstimatorConfig, TrainConfig  # noqa: E402
from mole.data import load_dataset  # noqa: E402
from mole.cli import _config, build_parser  # noqa: E402
from mole.experiment import run_experiment  # noqa: E402

#: the runs of the MNIST part: (label, method, estimator, schedule); None: the library's default estimator
MNIST_RUNS = [
    ("backprop", "bp", None, "sequential"),
    ("MOLE (Rényi, defaults, sequential)", "mole", None, "sequential"),
    ("MOLE (Rényi, defaults, simultaneous)", "mole", None, "simultaneous"),
    ("MOLE (InfoNCE / SupCon, sequential)", "mole", EstimatorConfig("infonce"), "sequential"),
    ("MOLE (InfoNCE / SupCon, simultaneous)", "mole", EstimatorConfig("infonce"), "simultaneous"),
    # fewer epochs per module than backprop's 3: MOLE's time to backprop's accuracy (`mole run ... --epochs 2`)
    ("MOLE (InfoNCE / SupCon, sequential, 2 epochs per module)", "mole", EstimatorConfig("infonce"), "sequential", 2),
    ("backprop, 2 epochs", "bp", None, "sequential", 2),
]


def _mnist_fit(x, y, net0, method, estimator, schedule, *, epochs, seed, augment="shift"):
    cfg = TrainConfig(epochs=epochs, batch_size=128, lr=5e-4, schedule=schedule, augment=augment, seed=seed,
                      estimator=estimator or EstimatorConfig())
    net = copy.deepcopy(net0)
    tic = time.perf_counter()
    res = mole.fit(net, x, y, method=method, config=cfg)
    return res, time.perf_counter() - tic


def _mnist_net(seed: int):
    torch.manual_seed(seed)
    return mole.models.MLP(784, 10, hidden=(1024, 1024, 1024), batch_norm=True)


def part_mnist(seeds: int, root, runs=MNIST_RUNS) -> str:
    ds = load_dataset("mnist", root)
    results: dict = {label: {"acc": [], "sec": []} for label, *_ in runs}
    for seed in range(seeds):
        net0 = _mnist_net(seed)
        for label, method, estimator, schedule, *epochs in runs:
            res, sec = _mnist_fit(ds.x_train, ds.y_train, net0, method, estimator, schedule,
                                  epochs=epochs[0] if epochs else 3, seed=seed)
            results[label]["acc"].append(res.score(ds.x_test, ds.y_test))
            results[label]["sec"].append(sec)
            print("mnist", seed, label, round(100 * results[label]["acc"][-1], 2), round(sec, 1), flush=True)
    bp = results["backprop"]
    rows = []
    for label, *_ in runs:
        r = results[label]
        gap = 100 * (statistics.mean(r["acc"]) - statistics.mean(bp["acc"]))
        ratio = statistics.mean(s / b for s, b in zip(r["sec"], bp["sec"]))
        rows.append(f"| {label} | {mean_std(r['acc'], 100)} | {'' if label == 'backprop' else f'{gap:+.2f}'} | "
                    f"{mean_std(r['sec'], 1, 1)} | {ratio:.2f}× |")
    return "\n".join([
        "### MNIST, MLP 3×1024 (the PredSim setting)",
        "",
        f"MNIST 60,000 / 10,000, MLP 784-1024-1024-1024-10 with BatchNorm and ReLU, 3 epochs (per module for "
        f"MOLE) unless a row says otherwise, batch 128, Adam lr 5e-4, inputs shifted by up to 2 pixels (`augment='shift'`); mean ± std over "
        f"{seeds} seed(s); same initial weights, batches and shifts for every method. Time: wall seconds of `mole.fit`.",
        "",
        "| method | test accuracy % | vs backprop (points) | train seconds | time ÷ backprop |",
        "|---|---|---|---|---|",
        *rows,
    ])


def part_digits(seeds: int) -> str:
    rows, acc, sec = [], {"mole": [], "bp": []}, {"mole": [], "bp": []}
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as out:
            cfg = _config(build_parser().parse_args(["run", "--seed", str(seed), "--out", out]))  # `mole run`'s own
            cfg.analysis.plots = cfg.analysis.probes = False
            cfg.analysis.monitor_every = 0
            res = run_experiment(cfg, argv=["benchmarks/parity.py"])
        for r in res["runs"]:
            acc[r["method"]].append(r["test_accuracy"])
            sec[r["method"]].append(r["train_seconds"])
        print("digits", seed, {m: round(100 * a[-1], 2) for m, a in acc.items()}, flush=True)
    ratio = statistics.mean(m / b for m, b in zip(sec["mole"], sec["bp"]))
    gap = 100 * (statistics.mean(acc["mole"]) - statistics.mean(acc["bp"]))
    for m, label in (("bp", "backprop"), ("mole", "MOLE (defaults)")):
        rows.append(f"| {label} | {mean_std(acc[m], 100)} | {f'{gap:+.2f}' if m == 'mole' else ''} | "
                    f"{mean_std(sec[m], 1, 2)} | {f'{ratio:.2f}×' if m == 'mole' else ''} |")
    return "\n".join([
        "### Default `mole run` (digits)",
        "",
        f"digits 1437 / 360, `mole run`'s configuration (MLP 64-256-128-10 with BatchNorm, 30 epochs, "
        f"batch {cfg.train.batch_size}, Adam {cfg.train.lr:g}); "
        f"mean ± std over {seeds} seed(s) (split, initialization, batch order); train seconds as `mole run` reports them.",
        "",
        "| method | test accuracy % | vs backprop (points) | train seconds | time ÷ backprop |",
        "|---|---|---|---|---|",
        *rows,
    ])


def part_shared(root) -> str:
    ds = load_dataset("mnist", root)
    x, y = ds.x_train[:12000], ds.y_train[:12000]
    net0 = _mnist_net(0)

    def ratio() -> tuple:
        _, bp = _mnist_fit(x, y, net0, "bp", None, "sequential", epochs=1, seed=0)
        _, ml = _mnist_fit(x, y, net0, "mole", None, "sequential", epochs=1, seed=0)
        return bp, ml

    quiet = ratio()
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        shared = ratio()
    finally:
        busy.kill()
        busy.wait()
    print("shared", quiet, shared, flush=True)
    q, s = quiet[1] / quiet[0], shared[1] / shared[0]
    return "\n".join([
        "### Shared cores",
        "",
        "One epoch of the MNIST setting on the first 12,000 training samples (MOLE: one epoch per module), quiet, "
        f"then with one busy-loop process beside it (torch uses {torch.get_num_threads()} threads).",
        "",
        "| condition | backprop seconds | MOLE seconds | MOLE ÷ backprop |",
        "|---|---|---|---|",
        f"| quiet | {quiet[0]:.1f} | {quiet[1]:.1f} | {q:.2f}× |",
        f"| one busy neighbour | {shared[0]:.1f} | {shared[1]:.1f} | {s:.2f}× |",
        "",
        f"Ratio with the neighbour ÷ quiet ratio: **{s / q:.2f}×** (target ≤ 1.5×).",
    ])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="mnist,digits,shared")
    p.add_argument("--seeds", type=int, default=1, help="seeds of the mnist part")
    p.add_argument("--digits-seeds", type=int, default=3)
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    parts = args.parts.split(",")
    sections = []
    if "mnist" in parts:
        sections.append(part_mnist(args.seeds, args.data_root))
    if "digits" in parts:
        sections.append(part_digits(args.digits_seeds))
    if "shared" in parts:
        sections.append(part_shared(args.data_root))
    body = "\n\n".join([
        "## Parity: MOLE against backprop at backprop's cost",
        f"Command: `python benchmarks/parity.py --parts {args.parts} --seeds {args.seeds}` (MOLE_DATA pointing at "
        f"the data root). Machine: {machine()}, nothing else running except where a part says so.",
        *sections,
    ])
    write_section(f"parity-{'-'.join(parts)}", body)


if __name__ == "__main__":
    main()
