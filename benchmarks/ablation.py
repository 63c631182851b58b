"""Where MOLE's time goes and what its accuracy depends on: two tables in docs/benchmarks.md.

    python benchmarks/ablation.py --part cost          # per-step cost of each piece, MNIST MLP 3x1024 shapes
    python benchmarks/ablation.py --part accuracy      # one knob at a time, MNIST MLP 3x1024, 1 epoch

``cost``: median wall milliseconds of one training step's pieces at batch n (forward + backward where
it applies), measured in this process on synthetic tensors of the MNIST MLP 3×1024 shapes, with torch's
default threads. ``accuracy``: every variant changes one setting of the reference (Rényi α = 1.01,
median width, standardized rows, joint conditional, sequential, batch 128, Adam 5e-4, BatchNorm, no
augmentation) and trains MNIST MLP 3×1024 for one epoch per module, seed 0; backprop rows for scale.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, write_section  # noqa: E402

import mole  # noqa: E402
from mole.config import EstimatorConfig, TrainConfig  # noqa: E402
from mole.data import load_dataset  # noqa: E402
from mole.estimators import RenyiEstimator  # noqa: E402
from mole.estimators.kernels import gaussian_gram  # noqa: E402
from mole.estimators.renyi import eigvalsh, label_entropy  # noqa: E402

#: (label, method, TrainConfig overrides, estimator options)
VARIANTS = [
    ("reference: MOLE, Rényi α=1.01, median width", "mole", {}, {}),
    ("width: Scott's rule", "mole", {}, {"sigma": "scott"}),
    ("width: k-NN (7th neighbour)", "mole", {}, {"sigma": "knn"}),
    ("width: Silverman's rule", "mole", {}, {"sigma": "silverman"}),
    ("normalization: none", "mole", {}, {"normalize": "none"}),
    ("normalization: unit rows", "mole", {}, {"normalize": "unit"}),
    ("α = 2 (closed form)", "mole", {}, {"alpha": 2.0}),
    ("α = 2, class-averaged conditional", "mole", {}, {"alpha": 2.0, "conditional": "average"}),
    ("α = 1.5", "mole", {}, {"alpha": 1.5}),
    ("α = 0.7", "mole", {}, {"alpha": 0.7}),
    ("class-averaged conditional (α=1.01)", "mole", {}, {"conditional": "average"}),
    ("schedule: simultaneous", "mole", {"schedule": "simultaneous"}, {}),
    ("lr 1e-3", "mole", {"lr": 1e-3}, {}),
    ("lr 2e-3", "mole", {"lr": 2e-3}, {}),
    ("batch 256 (n of the Gram matrix)", "mole", {"batch_size": 256}, {}),
    ("λ_X = 0.1 (adds I(T;X))", "mole", {"objective": mole.ObjectiveConfig(lambda_x=0.1)}, {}),
    ("estimator: InfoNCE (SupCon)", "mole", {"estimator": EstimatorConfig("infonce")}, {}),
    ("backprop, lr 5e-4", "bp", {}, {}),
    ("backprop, lr 1e-3", "bp", {"lr": 1e-3}, {}),
    ("backprop, lr 2e-3", "bp", {"lr": 2e-3}, {}),
]


def _median_ms(fn, reps: int = 30) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        tic = time.perf_counter()
        fn()
        times.append(time.perf_counter() - tic)
    return 1e3 * statistics.median(times)


def part_cost(n: int) -> str:
    torch.manual_seed(0)
    x = torch.randn(n, 784)
    z = torch.randn(n, 1024, requires_grad=True)
    y = torch.randint(0, 10, (n,))
    first = nn.Sequential(nn.Linear(784, 1024), nn.BatchNorm1d(1024), nn.ReLU())
    hidden = nn.Sequential(nn.Linear(1024, 1024), nn.BatchNorm1d(1024), nn.ReLU())
    net = nn.Sequential(first, hidden, nn.Sequential(nn.Linear(1024, 1024), nn.BatchNorm1d(1024), nn.ReLU()),
                        nn.Linear(1024, 10))
    K = gaussian_gram(z.detach()).double()
    K.requires_grad_(True)
    est = RenyiEstimator()
    rows = [
        ("module 1 (784→1024, BN, ReLU), forward + backward", lambda: first(x).sum().backward()),
        ("module 2 (1024→1024, BN, ReLU), forward + backward", lambda: hidden(z.detach()).sum().backward()),
        ("module 2, forward only (a frozen module run again)", lambda: torch.no_grad()(hidden)(z.detach())),
        ("backprop: whole network, forward + backward (one step)",
         lambda: nn.functional.cross_entropy(net(x), y).backward()),
        ("Gram matrix of T (standardize, median width, Gaussian), forward + backward",
         lambda: gaussian_gram(z, symmetric_grad=True).sum().backward()),
        ("eigenvalues of A_T (n×n, float64), forward + backward",
         lambda: (eigvalsh(K / n) * torch.arange(n, dtype=torch.float64)).sum().backward()),
        ("S(Y), delta kernel, closed form", lambda: label_entropy(y, 1.01)),
        ("I_1.01(T;Y), all of it (Gram, S(T), class-block joint), forward + backward",
         lambda: est.mutual_information(z, y).backward()),
        ("I_2(T;Y), closed form, forward + backward",
         lambda: RenyiEstimator(alpha=2.0).mutual_information(z, y).backward()),
    ]
    lines = [f"| {label} | {_median_ms(fn):.2f} |" for label, fn in rows]
    return "\n".join([
        "## Where MOLE's time goes: one step's pieces",
        "",
        f"Command: `python benchmarks/ablation.py --part cost --n {n}`. Machine: {machine()}. Median wall ms over 30 "
        f"repetitions, batch n = {n}, shapes of the MNIST MLP 3×1024. A MOLE step of hidden module k costs its module's "
        "forward + backward plus one I(T;Y); the sequential schedule runs each module's epochs once, so per epoch of "
        "every module MOLE pays the modules' forward + backward (as backprop does) plus one I(T;Y) per hidden module "
        "and step, and, only with augmentation, the forward passes of the frozen modules before it.",
        "",
        "| piece | ms |",
        "|---|---|",
        *lines,
    ])


def part_accuracy(root, epochs: int) -> str:
    ds = load_dataset("mnist", root)
    rows = []
    for label, method, overrides, options in VARIANTS:
        torch.manual_seed(0)
        net = mole.models.MLP(784, 10, hidden=(1024, 1024, 1024), batch_norm=True)
        settings = {"epochs": epochs, "batch_size": 128, "lr": 5e-4, "seed": 0, **overrides}
        settings.setdefault("estimator", EstimatorConfig("renyi", dict(options)))
        tic = time.perf_counter()
        res = mole.fit(net, ds.x_train, ds.y_train, method=method, config=TrainConfig(**settings))
        sec = time.perf_counter() - tic
        acc = 100 * res.score(ds.x_test, ds.y_test)
        print(label, round(acc, 2), round(sec, 1), flush=True)
        rows.append(f"| {label} | {acc:.2f} | {sec:.0f} |")
    return "\n".join([
        "## What MOLE's accuracy depends on: one knob at a time",
        "",
        f"Command: `python benchmarks/ablation.py --part accuracy --epochs {epochs}` (MOLE_DATA pointing at the data "
        f"root). Machine: {machine()}. MNIST MLP 784-1024-1024-1024-10 with BatchNorm, {epochs} epoch(s) per module "
        "(MOLE) or for the network (backprop), seed 0, no augmentation; each row changes one setting of the reference. "
        "Seconds are wall seconds of `mole.fit`, indicative only (one run each).",
        "",
        "| variant | test accuracy % | seconds |",
        "|---|---|---|",
        *rows,
    ])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("cost", "accuracy"), required=True)
    p.add_argument("--n", type=int, default=128, help="batch size of the cost part")
    p.add_argument("--epochs", type=int, default=1, help="epochs of the accuracy part")
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    if args.part == "cost":
        write_section("ablation-cost", part_cost(args.n))
    else:
        write_section("ablation-accuracy", part_accuracy(args.data_root, args.epochs))


if __name__ == "__main__":
    main()
