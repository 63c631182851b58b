"""Estimator cost (forward + backward) against the Gram-matrix floor, and accuracy per estimator on digits.

    python benchmarks/estimators.py                  # both parts (about 5 minutes on 2 cores)
    python benchmarks/estimators.py --part timing --sizes 128,256,512,1024,2048
    python benchmarks/estimators.py --part accuracy --seeds 3

Timing: a batch of n samples with d = 128 features (a typical hidden layer), each quantity computed
and back-propagated to the features, median of repeated runs (torch.utils.benchmark). "Gram floor" is
building one Gaussian Gram matrix (fixed width) and back-propagating through it: no estimator that
uses a Gram matrix can be cheaper (its fixed width is the batch's median distance, so the kernel values are on
the data's scale). All rows are measured in the same process, side by side.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from torch.utils.benchmark import Timer

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, mean_std, write_section  # noqa: E402

from mole.estimators import estimator_resolver  # noqa: E402
from mole.estimators.kernels import gaussian_gram, kernel_width, normalize_rows, squared_distances  # noqa: E402

D = 128


def cases(n: int):
    g = torch.Generator().manual_seed(n)
    z = torch.randn(n, D, generator=g, requires_grad=True)
    y = torch.randint(0, 10, (n,), generator=g)
    x = torch.randn(n, 64, generator=g)
    r2, r2eig = estimator_resolver("renyi", alpha=2.0), estimator_resolver("renyi", alpha=2.0, method="eig")
    r101, r3 = estimator_resolver("renyi", alpha=1.01), estimator_resolver("renyi", alpha=3.0)
    others = {name: estimator_resolver(name) for name in ("hsic", "infonce", "jsd")}
    for est in others.values():
        est.mutual_information(z.detach(), y)  # materialize lazy critics outside the timing
    # the floor's fixed width is the batch's median distance, found once outside the timing (a width far
    # off the data's scale underflows exp() to subnormals, which is slow and not a fair floor)
    zs = normalize_rows(z.detach(), "standard")
    sigma0 = kernel_width(zs, squared_distances(zs), "median")
    return z, {
        "Gram floor (fixed σ)": lambda: gaussian_gram(z, sigma=sigma0, symmetric_grad=True).sum(),
        "Gram, median width": lambda: gaussian_gram(z, symmetric_grad=True).sum(),
        "S_2, closed form": lambda: r2.entropy(z),
        "S_2, eigenvalues": lambda: r2eig.entropy(z),
        "S_1.01, eigenvalues": lambda: r101.entropy(z),
        "S_3, matrix power": lambda: r3.entropy(z),
        "I_2(T;Y), closed form": lambda: r2.mutual_information(z, y),
        "I_2(T;X), closed form": lambda: r2.mutual_information(z, x),
        "I_1.01(T;Y), eigenvalues": lambda: r101.mutual_information(z, y),
        "nHSIC(T;Y)": lambda: others["hsic"].mutual_information(z, y),
        "InfoNCE(T;Y)": lambda: others["infonce"].mutual_information(z, y),
        "JSD(T;Y)": lambda: others["jsd"].mutual_information(z, y),
    }


def time_ms(z: torch.Tensor, f) -> float:
    def step():
        z.grad = None
        f().backward()
    step()  # warm-up
    return Timer("step()", globals={"step": step}).blocked_autorange(min_run_time=0.4).median * 1e3


def timing(sizes: list[int]) -> str:
    table: dict[str, dict[int, float]] = {}
    for n in sizes:
        z, fs = cases(n)
        for name, f in fs.items():
            table.setdefault(name, {})[n] = time_ms(z, f)
        print(n, {k: round(v[n], 2) for k, v in table.items()}, flush=True)
    head = "| quantity (forward + backward) | " + " | ".join(f"n = {n}" for n in sizes) + " |"
    lines = [head, "|---" * (len(sizes) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(f"{row[n]:.2f} ms" for n in sizes) + " |" for name, row in table.items()]
    ratio = lambda a, b: " | ".join(f"{table[a][n] / table[b][n]:.1f}×" for n in sizes)  # noqa: E731
    lines += [f"| **eigenvalue path ÷ closed form (S_2)** | {ratio('S_2, eigenvalues', 'S_2, closed form')} |",
              f"| **closed form ÷ Gram floor (S_2)** | {ratio('S_2, closed form', 'Gram floor (fixed σ)')} |",
              f"| closed form ÷ Gram with the same (median) width | {ratio('S_2, closed form', 'Gram, median width')} |"]
    return "\n".join(lines)


def accuracy(seeds: int) -> str:
    from mole.experiment import ExperimentConfig, make_train_config, run_experiment
    rows = []
    for name in ("renyi", "hsic", "infonce", "jsd"):
        accs, secs = [], []
        for seed in range(seeds):
            with tempfile.TemporaryDirectory() as out:
                cfg = ExperimentConfig(dataset="digits", seed=seed, methods=("mole",), out=out,
                                       train=make_train_config(epochs=30, estimator=name))
                run = run_experiment(cfg, argv=["benchmarks/estimators.py"])["runs"][0]
            accs.append(run["test_accuracy"])
            secs.append(run["train_seconds"])
        print(name, accs, flush=True)
        rows.append(f"| {name} | {mean_std(accs, 100)} | {mean_std(secs, 1, 1)} |")
    with tempfile.TemporaryDirectory() as out:
        accs = []
        for seed in range(seeds):
            cfg = ExperimentConfig(dataset="digits", seed=seed, methods=("bp",), out=f"{out}/{seed}",
                                   train=make_train_config(epochs=30))
            accs.append(run_experiment(cfg, argv=["benchmarks/estimators.py"])["runs"][0]["test_accuracy"])
    rows.append(f"| (backprop, same MLP) | {mean_std(accs, 100)} | |")
    return "\n".join(["| estimator | test accuracy % | train seconds |", "|---|---|---|", *rows])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("timing", "accuracy", "both"), default="both")
    p.add_argument("--sizes", default="128,256,512,1024,2048")
    p.add_argument("--seeds", type=int, default=3)
    args = p.parse_args()
    if args.part in ("timing", "both"):
        sizes = [int(s) for s in args.sizes.split(",")]
        write_section("estimator-timing", "\n".join([
            "## Estimator cost against the Gram-matrix floor",
            "",
            f"Command: `python benchmarks/estimators.py --part timing --sizes {args.sizes}`. Machine: {machine()}.",
            f"A batch of n samples × {D} features; each quantity is computed and back-propagated to the features; "
            "median of repeated runs, all rows in one process. Labels Y have 10 classes; X has 64 features. "
            "InfoNCE/JSD include their critic (64-d projections).",
            "",
            timing(sizes)]))
    if args.part in ("accuracy", "both"):
        write_section("estimator-accuracy", "\n".join([
            "## Test accuracy per estimator on digits, MLP 256-128",
            "",
            f"Command: `python benchmarks/estimators.py --part accuracy --seeds {args.seeds}`. Machine: {machine()}. "
            f"Mean ± std over {args.seeds} seeds; 30 epochs per module, batch 256, Adam 1e-3, each estimator "
            "with its default options, λ_Y = 1 (hidden modules maximize the estimator's I(T;Y)).",
            "",
            accuracy(args.seeds)]))


if __name__ == "__main__":
    main()
