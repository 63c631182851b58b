"""Depth: the memory advantage of local training, and accuracy on a deep network.

    python benchmarks/depth.py                          # both parts (the accuracy part needs MNIST under $MOLE_DATA)
    python benchmarks/depth.py --parts memory

Parts:

* ``memory``: peak activation memory of one training step (the bytes autograd saves for backward,
  :class:`mole.memory.ActivationMemory`; on CUDA the allocator's peak) for every rule, on CIFAR-shaped
  batches (128 × 3 × 32 × 32) through ResNet-32/56/110 (one residual block per module) and on batches of
  128 × 784 through MLPs of 4, 8 and 16 hidden layers of 1024 units. A local rule's peak is its most
  expensive module's step (on that module's cached input); backprop's is the whole network's.
* ``accuracy``: ResNet-20 on the first 10,000 MNIST training images padded to 32 × 32, 2 epochs (per module for
  local rules), batch 128, Adam 1e-3; test accuracy on the 10,000 test images and wall seconds, same initial
  weights and batches for every rule.
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, write_section  # noqa: E402

import mole  # noqa: E402
from mole.adapters import TensorData  # noqa: E402
from mole.batch import LocalBatch  # noqa: E402
from mole.memory import ActivationMemory  # noqa: E402
from mole.models import MLP, ResNet  # noqa: E402

RULES = ("bp", "mole", "dgl", "predsim", "hsic-bottleneck")


def step_peak(net_layers, x, y, rule: str) -> float:
    """MB of the largest single training step of ``rule`` on batch (x, y)."""
    network = mole.ModularNetwork(copy.deepcopy(net_layers))
    data = TensorData(x, y)
    stages = mole.build_stages(network, mole.TrainConfig(), rule, data=data)
    memory = ActivationMemory("cpu")
    t = x
    for stage in stages:
        with memory.step():
            stage.step(LocalBatch(t, x, y), keep_output=True)
        t = stage.output
    return memory.peak_mb


def part_memory() -> str:
    g = torch.Generator().manual_seed(0)
    rows = []
    images, labels = torch.randn(128, 3, 32, 32, generator=g), torch.arange(128) % 10
    vectors = torch.randn(128, 784, generator=g)
    nets = [(f"ResNet-{d} ({(d - 2) // 2 + 2} modules)", ResNet((3, 32, 32), 10, depth=d), images) for d in (32, 56, 110)]
    nets += [(f"MLP {k}×1024 ({k + 1} modules)", MLP(784, 10, hidden=(1024,) * k, batch_norm=True), vectors)
             for k in (4, 8, 16)]
    for name, layers, x in nets:
        peaks = {}
        for rule in RULES:
            tic = time.perf_counter()
            peaks[rule] = step_peak(layers, x, labels, rule)
            print(name, rule, round(peaks[rule], 1), f"{time.perf_counter() - tic:.1f}s", flush=True)
        cells = " | ".join(f"{peaks[r]:.1f}" + ("" if r == "bp" else f" ({peaks[r] / peaks['bp']:.2f})") for r in RULES)
        rows.append(f"| {name} | {cells} |")
    return "\n".join([
        "### Peak activation memory of one training step (MB; in brackets: ÷ backprop)",
        "",
        "Batch 128; ResNets on 3×32×32 inputs, MLPs (BatchNorm) on 784 features. A local rule's peak is its largest "
        "module's step; its auxiliary heads (DGL, PredSim) count. Cached frozen outputs are not activations: "
        "they live in memory, on disk or nowhere (`--cache`).",
        "",
        "| network | " + " | ".join(RULES) + " |",
        "|---|" + "---|" * len(RULES),
        *rows,
    ])


def part_accuracy(root) -> str:
    from mole.data import load_dataset
    ds = load_dataset("mnist", root)
    pad = lambda t: F.pad(t, (2, 2, 2, 2), value=float(t.min()))  # noqa: E731 - 28×28 -> 32×32, background value
    x, y, xt, yt = pad(ds.x_train[:10000]), ds.y_train[:10000], pad(ds.x_test), ds.y_test
    torch.manual_seed(0)
    net0 = ResNet((1, 32, 32), 10, depth=20)
    rows, bp_seconds = [], None
    for rule in ("bp", "mole", "dgl", "predsim"):
        cfg = mole.TrainConfig(epochs=2, batch_size=128, lr=1e-3, seed=0)
        tic = time.perf_counter()
        res = mole.fit(copy.deepcopy(net0), x, y, method=rule, config=cfg)
        seconds = time.perf_counter() - tic
        bp_seconds = bp_seconds or seconds
        acc = res.score(xt, yt)
        print("accuracy", rule, round(100 * acc, 2), round(seconds, 1), flush=True)
        rows.append(f"| {rule} | {100 * acc:.2f} | {seconds:.0f} | {seconds / bp_seconds:.2f}× | {res.peak_memory_mb:.0f} |")
    return "\n".join([
        "### ResNet-20 on MNIST (10,000 training images padded to 32×32, 2 epochs)",
        "",
        "Same initial weights and batches; 11 modules (stem, 9 residual blocks, head) for the local rules, 2 epochs "
        "each; Adam 1e-3, batch 128; test accuracy on the 10,000 test images.",
        "",
        "| rule | test accuracy % | train seconds | time ÷ bp | peak activation MB |",
        "|---|---|---|---|---|",
        *rows,
    ])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parts", default="memory,accuracy")
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    sections = []
    if "memory" in args.parts:
        sections.append(part_memory())
    if "accuracy" in args.parts:
        sections.append(part_accuracy(args.data_root))
    write_section(f"depth-{args.parts.replace(',', '-')}", "\n\n".join([
        "## Depth: memory of local training, accuracy on a deep network",
        f"Command: `python benchmarks/depth.py --parts {args.parts}` (MOLE_DATA pointing at the data root). "
        f"Machine: {machine()}, CPU only (no GPU was lent to this session).",
        *sections,
    ]))


if __name__ == "__main__":
    main()
