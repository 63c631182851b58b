"""A transformer cut at its blocks on digits read as a sequence (8 rows of 8 pixels): how the rows MOLE's estimator
reads from a block's (n, L, d) output change its accuracy, next to backprop on the same network and budget.

    python benchmarks/sequences.py                 # 3 seeds, 15 epochs

The network is the one people write: a Linear(8, 32) token embedding, 3 pre-norm ``nn.TransformerEncoderLayer``
blocks in an ``nn.ModuleList``, the mean over tokens and a linear head; ``cuts=["blocks.0", "blocks.1", "blocks.2"]``.
MOLE reads each block's output as ``flatten`` (all L x d values of a sample, the default) or ``tokens`` (the mean over
the L tokens, d values). mole.fit's defaults otherwise (sequential schedule, batch 256, Adam 1e-3).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, write_section  # noqa: E402

import mole  # noqa: E402

ROWS = [("bp", "flatten"), ("mole", "flatten"), ("mole", "tokens")]


class Transformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(8, 32)
        self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(32, 4, 64, batch_first=True, norm_first=True,
                                                               dropout=0.0) for _ in range(3))
        self.head = nn.Linear(32, 10)

    def forward(self, x):
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return self.head(h.mean(1))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    X, y = load_digits(return_X_y=True)
    X = torch.tensor(X / 16, dtype=torch.float32).view(-1, 8, 8)  # 8 steps of 8 pixels
    Xtr, Xte, ytr, yte = train_test_split(X, torch.tensor(y), test_size=0.25, random_state=0, stratify=y)
    found = {row: ([], []) for row in ROWS}
    for seed in args.seeds:
        for method, reduce in ROWS:
            torch.manual_seed(seed)
            config = mole.TrainConfig(epochs=args.epochs, seed=seed, objective=mole.ObjectiveConfig(reduce=reduce))
            tic = time.perf_counter()
            fitted = mole.fit(Transformer(), Xtr, ytr, method=method, cuts=["blocks.0", "blocks.1", "blocks.2"],
                              config=config)
            found[(method, reduce)][0].append(100 * fitted.score(Xte, yte))
            found[(method, reduce)][1].append(time.perf_counter() - tic)
    lines = ["| rule | rows read from a block | test accuracy % | per seed | train s |", "|---|---|---|---|---|"]
    for (method, reduce), (accuracy, seconds) in found.items():
        rows = "—" if method == "bp" else reduce
        lines.append(f"| {method} | {rows} | {statistics.mean(accuracy):.1f} | "
                     f"{', '.join(f'{a:.1f}' for a in accuracy)} | {statistics.mean(seconds):.1f} |")
    command = "python benchmarks/sequences.py" + ("" if argv is None else " " + " ".join(argv))
    body = (f"## A transformer cut at its blocks, digits as a sequence\n\n`{command}` ({machine()}): digits read as 8 "
            f"steps of 8 pixels, 3 pre-norm transformer blocks (width 32), {args.epochs} epochs, seeds "
            f"{', '.join(map(str, args.seeds))}, test split 25 %.\n\n" + "\n".join(lines))
    print(body)
    if not args.no_write:
        write_section("sequences-transformer", body)


if __name__ == "__main__":
    main()
