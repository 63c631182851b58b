"""Throughput of the schedules, side by side in one run: sequential, simultaneous, asynchronous.

    python benchmarks/schedules.py                     # MNIST (needs $MOLE_DATA), MLP 512-256-128, 5 epochs
    python benchmarks/schedules.py --dataset digits --epochs 10

A 4-module MLP (three hidden modules with MI objectives + the cross-entropy head), the same initial
weights and batch order for every schedule. Throughput is training samples per second:
epochs x training samples / seconds of the training loop (for the asynchronous schedule, from the
first worker's first batch to the last worker's last batch; process start-up is reported apart).
Ratios are to the simultaneous schedule of the same run. The machine's cores are shared by
everything in the run, so nothing else should run alongside.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, write_section  # noqa: E402

import mole  # noqa: E402
from mole.data import load_dataset  # noqa: E402


def run(ds, hidden, schedule: str, epochs: int, batch_size: int, workers: int | str, threads: int | None,
        stagger: int = 0) -> dict:
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = mole.models.MLP(int(torch.tensor(ds.input_shape).prod()), ds.n_classes, hidden=hidden,
                                  batch_norm=True)
        config = mole.TrainConfig(epochs=epochs, batch_size=batch_size, schedule=schedule, workers=workers, seed=0,
                                    stagger=stagger)
        tic = time.perf_counter()
        res = mole.fit(net, ds.x_train, ds.y_train, config=config)
        wall = time.perf_counter() - tic
        return {"acc": res.score(ds.x_test, ds.y_test), "rate": res.samples_per_second, "wall": wall,
                "startup": res.schedule.get("startup_seconds"), "groups": res.schedule.get("groups"),
                "seconds": res.schedule.get("worker_seconds"), "auto": res.schedule.get("auto")}
    finally:
        torch.set_num_threads(before)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="mnist")
    p.add_argument("--hidden", default="512,256,128")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--workers", type=lambda v: [int(w) for w in v.split(",")], default=[2, 3],
                   help="worker counts of the asynchronous rows")
    p.add_argument("--stagger", type=lambda v: [int(s) for s in v.split(",") if s], default=[1, 2],
                   help="stagger (epochs) of the staggered 2-worker rows")
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    hidden = tuple(int(h) for h in args.hidden.split(","))
    ds = load_dataset(args.dataset, args.data_root, seed=0)
    cases = [("sequential", "sequential", None, 1, 0), ("simultaneous", "simultaneous", None, 1, 0),
             ("simultaneous, 1 thread", "simultaneous", 1, 1, 0),
             ("async, auto workers", "async", None, "auto", 0),
             *((f"async, {w} workers", "async", None, w, 0) for w in args.workers),
             *((f"async, 2 workers, stagger {s}", "async", None, 2, s) for s in args.stagger)]
    results = {}
    for label, schedule, threads, workers, stagger in cases:
        results[label] = run(ds, hidden, schedule, args.epochs, args.batch_size, workers, threads, stagger)
        print(label, {k: v for k, v in results[label].items()}, flush=True)
    base, seq = results["simultaneous"]["rate"], results["sequential"]
    rows = []
    for label, r in results.items():
        extra = (f"start-up {r['startup']:.1f} s; modules per worker {r['groups']}; per worker seconds computing / "
                 "blocked receiving / blocked sending: " + "; ".join(
                     f"{w['compute']:.1f} / {w['receive_wait']:.1f} / {w['send_wait']:.1f}" for w in r["seconds"])
                 if r["startup"] is not None else "")
        if r.get("auto"):  # --workers auto: the cost model's prediction per candidate
            extra = (f"auto chose {r['auto']['chosen']}; predicted seconds / samples/s per worker count: " + ", ".join(
                f"{w}: {c['seconds']:.1f} / {c['samples_per_second']:.0f}" for w, c in r["auto"]["candidates"].items())
                + ("; " + extra if extra else " (in the training process)"))
        rows.append(f"| {label} | {r['rate']:.0f} | {r['rate'] / base:.2f}× | {r['rate'] / seq['rate']:.2f}× | "
                    f"{100 * r['acc']:.2f} ({100 * (r['acc'] - seq['acc']):+.2f}) | "
                    f"{r['wall']:.1f} | {extra} |")
    cmd = "python benchmarks/schedules.py" + ("" if args.dataset == "mnist" else f" --dataset {args.dataset}") + \
        ("" if args.epochs == 5 else f" --epochs {args.epochs}")
    body = "\n".join([
        "## Schedules: sequential, simultaneous, asynchronous, staggered",
        "",
        f"Command: `{cmd}` (MOLE_DATA pointing at the data root). Machine: {machine()}, "
        f"{os.cpu_count()} cores, nothing else running. {args.dataset}, MLP {'-'.join(map(str, hidden))} + head "
        f"(4 modules), BatchNorm, {args.epochs} epochs per module, batch {args.batch_size}, default estimator "
        "(Rényi α = 1.01), seed 0, one run per schedule in one process, same initial weights and batch order.",
        "samples/s = epochs × training samples / seconds of the training loop; the asynchronous schedule's "
        "process start-up (spawning Python, importing torch, the gloo rendezvous) is listed apart and is part of "
        "wall seconds. Each asynchronous worker runs torch with cores / workers threads; the other schedules use "
        "torch's default (all cores) except the 1-thread row. Staggered rows: module k starts once module k-1 has "
        "trained `stagger` epochs (`--stagger`); samples/s counts each module's epochs, over the whole pipeline's "
        "loop.",
        "",
        "| schedule | samples/s | vs simultaneous | vs sequential | test accuracy % (vs sequential) | wall seconds "
        "| notes |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])
    write_section("schedules", body)
    print(body)


if __name__ == "__main__":
    main()
