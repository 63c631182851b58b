"""The wall-clock race: MOLE's asynchronous pipeline against backprop on the same cores.

    python benchmarks/race.py                 # MNIST (needs $MOLE_DATA), PredSim setting, seed 0
    python benchmarks/race.py --seeds 3

The PredSim setting (MNIST, MLP 3×1024 with BatchNorm, 3 epochs, batch 128, Adam 5e-4, inputs shifted by up
to 2 pixels), MOLE with its MNIST signal (InfoNCE / SupCon). Backprop uses all cores in one process; the
pipeline runs one worker process per core (2 workers, stagger 0 and 1). Wall seconds of ``mole.fit``,
including the workers' start-up. A second table splits one step's work: milliseconds per batch of
backprop and of MOLE's simultaneous schedule (the same work as the pipeline's, in one process) on one
thread and on all cores, and of two one-thread processes running at once (what each pipeline worker sees).
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parity import _mnist_net  # noqa: E402
from report import machine, mean_std, write_section  # noqa: E402

import mole  # noqa: E402
from mole.config import EstimatorConfig, TrainConfig  # noqa: E402
from mole.data import load_dataset  # noqa: E402

RUNS = [("backprop (all cores, one process)", "bp", "sequential", 1, 0),
        ("MOLE, sequential (all cores, one process)", "mole", "sequential", 1, 0),
        ("MOLE, async, 2 workers", "mole", "async", 2, 0),
        ("MOLE, async, 2 workers, stagger 1", "mole", "async", 2, 1)]


def fit(ds, net0, method, schedule, workers, stagger, seed, epochs=3, n=None):
    cfg = TrainConfig(epochs=epochs, batch_size=128, lr=5e-4, schedule=schedule, workers=workers, stagger=stagger,
                      augment="shift", seed=seed, estimator=EstimatorConfig("infonce"))
    x, y = (ds.x_train, ds.y_train) if n is None else (ds.x_train[:n], ds.y_train[:n])
    tic = time.perf_counter()
    res = mole.fit(copy.deepcopy(net0), x, y, method=method, config=cfg)
    return res, time.perf_counter() - tic


def step_ms(ds, method: str, threads: int, n: int = 20000) -> float:
    """ms per batch of one epoch on ``n`` samples (simultaneous schedule for MOLE: every module each batch)."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        _, sec = fit(ds, _mnist_net(0), method, "simultaneous", 1, 0, 0, epochs=1, n=n)
    finally:
        torch.set_num_threads(before)
    return 1e3 * sec / (n / 128)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--data-root", default=None)
    p.add_argument("--one-step", action="store_true", help=argparse.SUPPRESS)  # the co-running child
    args = p.parse_args()
    ds = load_dataset("mnist", args.data_root)
    if args.one_step:  # loaded: say so, wait for the go, then run the epoch beside the parent's
        print("ready", flush=True)
        sys.stdin.readline()
        print(step_ms(ds, "mole", 1), flush=True)
        return
    res = {label: {"acc": [], "sec": []} for label, *_ in RUNS}
    for seed in range(args.seeds):
        net0 = _mnist_net(seed)
        for label, method, schedule, workers, stagger in RUNS:
            r, sec = fit(ds, net0, method, schedule, workers, stagger, seed)
            res[label]["acc"].append(r.score(ds.x_test, ds.y_test))
            res[label]["sec"].append(sec)
            print(seed, label, round(100 * res[label]["acc"][-1], 2), round(sec, 1), r.schedule.get("groups"),
                  r.schedule.get("worker_seconds"), flush=True)
    bp = res[RUNS[0][0]]
    rows = [f"| {label} | {mean_std(r['acc'], 100)} | "
            f"{100 * (statistics.mean(r['acc']) - statistics.mean(bp['acc'])):+.2f} | {mean_std(r['sec'], 1, 1)} | "
            f"{statistics.mean(s / b for s, b in zip(r['sec'], bp['sec'])):.2f}× |" for label, r in res.items()]
    cores = os.cpu_count() or 1
    steps = {("bp", 1): step_ms(ds, "bp", 1), ("mole", 1): step_ms(ds, "mole", 1),
             ("bp", cores): step_ms(ds, "bp", cores), ("mole", cores): step_ms(ds, "mole", cores)}
    child = subprocess.Popen([sys.executable, __file__, "--one-step"] +
                             (["--data-root", args.data_root] if args.data_root else []),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    while child.stdout.readline().strip() != "ready":  # its import and data load
        pass
    child.stdin.write("go\n")
    child.stdin.flush()
    together = step_ms(ds, "mole", 1)
    other = float(child.communicate()[0].strip().splitlines()[-1])
    body = "\n".join([
        "## The race: the asynchronous pipeline against backprop on the clock",
        "",
        f"Command: `python benchmarks/race.py --seeds {args.seeds}` (MOLE_DATA pointing at the data root). Machine: "
        f"{machine()}, {cores} cores, nothing else running. MNIST, MLP 784-1024-1024-1024-10 with BatchNorm, 3 epochs "
        "(per module for MOLE), batch 128, Adam 5e-4, inputs shifted by up to 2 pixels; MOLE with InfoNCE / SupCon; "
        f"mean ± std over {args.seeds} seed(s). Wall seconds of `mole.fit`, the workers' start-up included.",
        "",
        "| run | test accuracy % | vs backprop (points) | wall seconds | ÷ backprop |",
        "|---|---|---|---|---|",
        *rows,
        "",
        "One step's work, ms per batch of 128 (one epoch on 20,000 samples; MOLE: the simultaneous schedule, every "
        "module each batch, i.e. the pipeline's work in one process):",
        "",
        "| threads | backprop | MOLE |",
        "|---|---|---|",
        f"| 1 | {steps[('bp', 1)]:.1f} | {steps[('mole', 1)]:.1f} |",
        f"| {cores} | {steps[('bp', cores)]:.1f} | {steps[('mole', cores)]:.1f} |",
        f"| 1, two processes at once (each) | | {together:.1f} / {other:.1f} |",
    ])
    write_section("race", body)
    print(body)


if __name__ == "__main__":
    main()
