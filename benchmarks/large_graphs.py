"""Large graphs: mini-batched node-level training against full-graph training, measured.

    python benchmarks/large_graphs.py                       # both parts (planetoid needs Cora/CiteSeer under $MOLE_DATA)
    python benchmarks/large_graphs.py --parts scaling --sizes 10000,100000

Parts:

* ``scaling``: ``sbm-N`` planted-partition graphs (10 communities, ~10 average degree, 10 % of the nodes labelled
  for training, 20 % for test) of 10⁴, 10⁵ and 10⁶ nodes; a 2-layer GCN (64 hidden units, so MOLE has 2 modules),
  Adam, lr 0.01. Rows:

  - ``mole, sampled``: batches of 256 target nodes with a 1-hop neighbourhood of fanout 10 per module, frozen
    outputs cached over the whole graph (chunked, exact); epochs per module enough for 1,000 steps, at least 2
    (10⁴ nodes: 256 epochs of 4 steps; 10⁵: 26 of 40; 10⁶: 3 of 391);
  - ``bp, sampled``: the same sampler, 2 hops (its two layers), batch 256, the same epochs;
  - ``bp, full graph``: Kipf & Welling's full-batch training, every epoch one step over the whole graph with all
    training nodes, 50 epochs;
  - ``mole, full graph``: the whole graph in every step, batch 256, the same epochs as the sampled rows (10⁴ and
    10⁵ only: at 10⁶ an epoch is 3,900 full-graph steps).

  Every row runs in a fresh process. *Peak activations*: the largest step's saved-for-backward bytes
  (:class:`mole.memory.ActivationMemory`). *Peak RSS in training*: the process's resident high-water mark during
  training (reset once the data is loaded, ``/proc/self/clear_refs``), which includes the graph itself, the cached
  frozen outputs and the chunked full-graph forwards; *above data*: that minus the resident size with the data loaded.
  *s / epoch*: training seconds ÷ epochs (for MOLE ÷ epochs per module: one epoch of every module). Before the
  reset the loader's garbage is collected and ``malloc_trim`` returns freed memory to the system, so the baseline is
  the graph (features, edges, the sampler's index) rather than what generating it left behind.
* ``planetoid``: Cora and CiteSeer, the default GCN and epochs, MOLE and bp, full-graph against mini-batched
  (``--neighbor-sampling``, fanout 10), seeds 0-4.
"""
from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, write_section  # noqa: E402

ROWS = {  # name: (method, sampled, batch_size or None for full batch, epochs or None for mini-batch epochs)
    "mole, sampled": ("mole", True, 256, None),
    "bp, sampled": ("bp", True, 256, None),
    "bp, full graph": ("bp", False, None, 50),
    "mole, full graph": ("mole", False, 256, None),
}
MIN_STEPS = 1000  # mini-batch rows: epochs enough for this many steps (per module), and at least 2
FULL_GRAPH_MOLE_LIMIT = 100_000  # larger graphs: an epoch of full-graph steps per 256 nodes takes too long


def _status_mb(field: str) -> float:
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(size: int, row: str) -> dict:
    """One row, in this (fresh) process."""
    import torch
    import mole
    from mole.adapters import SampledNodeData
    from mole.data import load_dataset
    from mole.models import build_model

    method, sampled, batch, epochs = ROWS[row]
    ds = load_dataset(f"sbm-{size}")
    epochs = epochs or max(2, -(-MIN_STEPS * batch // len(ds.train)))
    train, test = ds.train, ds.test
    if sampled:
        train = SampledNodeData.of(train, fanout=10, weights="gcn")
        test = train.subset(test.index)
    torch.manual_seed(0)
    net = build_model("gcn", ds.input_shape, ds.n_classes, hidden=(64,), task="node", edge_weights=sampled)
    gc.collect()
    try:  # hand the loader's freed memory back to the system, so the baseline is the data itself
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass
    rss_data = _status_mb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the resident high-water mark: what follows is training
    res = mole.fit(net, train, method=method, config=mole.TrainConfig(epochs=epochs, lr=0.01,
                                                                      batch_size=batch or len(train)))
    peak = _status_mb("VmHWM")
    return {"size": size, "row": row, "accuracy": res.score(test), "train_seconds": res.train_seconds,
            "seconds_per_epoch": res.train_seconds / epochs, "epochs": epochs,
            "peak_activations_mb": res.peak_memory_mb, "peak_rss_mb": peak, "rss_data_mb": rss_data,
            "n_edges": int(ds.train.edge_index.shape[1]), "n_train": len(ds.train)}


def run_child(size: int, row: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", str(size), row], capture_output=True, text=True,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if out.returncode:
        raise SystemExit(f"{row} at {size} nodes failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def part_scaling(sizes: list[int]) -> tuple[str, list[dict]]:
    results = []
    for size in sizes:
        for row in ROWS:
            if row == "mole, full graph" and size > FULL_GRAPH_MOLE_LIMIT:
                continue
            results.append(run_child(size, row))
            print(json.dumps(results[-1]), file=sys.stderr)
    lines = ["| nodes | edges | rule, training | epochs | test acc | s / epoch | peak activations MB | "
             "peak RSS in training MB | above data MB |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['size']:,} | {r['n_edges']:,} | {r['row']} | {r['epochs']} | {100 * r['accuracy']:.2f} | "
                     f"{r['seconds_per_epoch']:.2f} | {r['peak_activations_mb']:.1f} | {r['peak_rss_mb']:.0f} | "
                     f"{max(0.0, r['peak_rss_mb'] - r['rss_data_mb']):.0f} |")
    return "\n".join(lines), results


def part_planetoid(seeds: int) -> tuple[str, list[dict]]:
    import contextlib
    import io

    from mole.cli import main as mole_main

    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("cora", "citeseer"):
            for mode in ("off", "on"):
                for seed in range(seeds):
                    out = f"{tmp}/{name}-{mode}-{seed}"
                    with contextlib.redirect_stdout(io.StringIO()):  # the dataset's default epochs and lr
                        mole_main(["run", "--dataset", name, "--seed", str(seed), "--neighbor-sampling", mode, "--out",
                                   out, "--quiet", "--no-plots", "--monitor-every", "0"])
                    for run in json.loads(Path(out, "results.json").read_text())["runs"]:
                        results.append({"dataset": name, "sampled": mode == "on", "seed": seed, "method": run["method"],
                                        "accuracy": run["test_accuracy"], "train_seconds": run["train_seconds"]})
    lines = ["| dataset | rule | full graph | mini-batched (fanout 10) | difference | s full / mini-batched |",
             "|---|---|---|---|---|---|"]
    for name in ("cora", "citeseer"):
        for method in ("mole", "bp"):
            pick = lambda sampled, key: [r[key] for r in results if r["dataset"] == name and r["method"] == method  # noqa: E731
                                         and r["sampled"] == sampled]
            full, mini = pick(False, "accuracy"), pick(True, "accuracy")
            t_full, t_mini = statistics.mean(pick(False, "train_seconds")), statistics.mean(pick(True, "train_seconds"))
            lines.append(f"| {name} | {method} | {100 * statistics.mean(full):.2f} ± {100 * statistics.pstdev(full):.2f} | "
                         f"{100 * statistics.mean(mini):.2f} ± {100 * statistics.pstdev(mini):.2f} | "
                         f"{100 * (statistics.mean(mini) - statistics.mean(full)):+.2f} | {t_full:.2f} / {t_mini:.2f} |")
    return "\n".join(lines), results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="scaling,planetoid")
    p.add_argument("--sizes", default="10000,100000,1000000")
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--child", nargs=2, metavar=("SIZE", "ROW"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(int(args.child[0]), args.child[1])))
        return
    docs = Path(__file__).resolve().parent.parent / "docs"
    for part in args.parts.split(","):
        if part == "scaling":
            table, raw = part_scaling([int(s) for s in args.sizes.split(",")])
            title, command = "scaling with the graph: sbm-N, 2-layer GCN", f"--parts scaling --sizes {args.sizes}"
        elif part == "planetoid":
            table, raw = part_planetoid(args.seeds)
            title = f"mini-batched against full-graph training on Cora and CiteSeer ({args.seeds} seeds)"
            command = f"--parts planetoid --seeds {args.seeds}"
        else:
            raise SystemExit(f"unknown part {part!r}; choose scaling or planetoid")
        docs.joinpath(f"benchmarks-large-graphs-{part}.json").write_text(json.dumps(raw, indent=1))
        write_section(f"large-graphs-{part}", "\n\n".join([
            f"## Large graphs: {title}",
            f"Command: `python benchmarks/large_graphs.py {command}` (MOLE_DATA pointing at the data root). "
            f"Machine: {machine()}, CPU only. Rows and columns are explained in the script's docstring.",
            table,
        ]))


if __name__ == "__main__":
    main()
