"""The figure of each benchmark page (docs/benchmarks/*.md), drawn from the raw numbers the benchmarks kept.

    python benchmarks/figures.py            # every figure into docs/images/bench_<page>.png

Nothing is measured here: each figure reads what its benchmark script wrote (``docs/benchmarks-rules.json``,
``docs/benchmarks-labels.jsonl``, ``docs/benchmarks-large-graphs-scaling.json``, and the memory table of
``docs/benchmarks/memory.md`` that ``benchmarks/depth.py`` wrote). Time to accuracy draws its own figure
(``benchmarks/time_to_accuracy.py``).
"""
from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import DOC, PAGES  # noqa: E402

DOCS = DOC.parent
IMAGES = DOCS / "images"
RULES = ("bp", "mole", "dgl", "predsim", "hsic-bottleneck", "infopro", "forward-forward")


def _mean(rs) -> float:
    return 100 * statistics.mean(a for r in rs for a in r["accuracies"])


def accuracy() -> None:
    """Every rule's test accuracy minus backprop's, per setting of the rules benchmark."""
    raw = json.loads((DOCS / "benchmarks-rules.json").read_text())
    keys = list(raw)
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(keys) + 1.2))
    for i, rule in enumerate(r for r in RULES if r != "bp"):
        xs, ys = [], []
        for row, key in enumerate(keys):
            runs = raw[key]["runs"]
            if rule in runs:
                xs.append(_mean(runs[rule]) - _mean(runs["bp"]))
                ys.append(row + (i - 2.5) * 0.11)
        ax.scatter(xs, ys, s=28 if rule == "mole" else 14, label=rule, zorder=3,
                   marker="D" if rule == "mole" else "o", color=f"C{i}")
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(keys)), [raw[k]["label"] for k in keys], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(-8, 6)
    ax.set_xlabel("test accuracy − backprop's (points; points beyond −8 are clipped)")
    ax.legend(fontsize=7, loc="lower left")
    ax.set_title("Every rule against backprop on the same network (python benchmarks/rules.py)", fontsize=9)
    _save(fig, "accuracy")


def signals() -> None:
    """MOLE's test accuracy per MI signal and setting, minus backprop's."""
    raw = json.loads((DOCS / "benchmarks-rules.json").read_text())
    names = ("renyi", "infonce", "jsd", "hsic")
    keys = [k for k in raw if any(f"mole ({n})" in raw[k]["runs"] for n in names) or "signal" in raw[k]["runs"]["mole"][0]]
    grid = []
    for k in keys:
        runs, row = raw[k]["runs"], []
        for n in names:
            rs = runs.get(f"mole ({n})") or (runs["mole"] if runs["mole"][0].get("signal") == n else None)
            row.append(_mean(rs) - _mean(runs["bp"]) if rs else float("nan"))
        grid.append(row)
    fig, ax = plt.subplots(figsize=(6.5, 0.42 * len(keys) + 1.4))
    image = ax.imshow(grid, cmap="RdBu", vmin=-5, vmax=5, aspect="auto")
    for r, row in enumerate(grid):
        for c, v in enumerate(row):
            if v == v:
                ax.text(c, r, f"{v:+.1f}", ha="center", va="center", fontsize=7)
    ax.set_xticks(range(len(names)), names)
    ax.set_yticks(range(len(keys)), [raw[k]["label"] for k in keys], fontsize=7)
    fig.colorbar(image, label="MOLE − backprop (points)")
    ax.set_title("MOLE's signal against backprop (python benchmarks/rules.py --signals ...)", fontsize=8)
    _save(fig, "signals")


def few_labels() -> None:
    """Backprop, semi-supervised backprop and MOLE per few-label setting (mean over seeds, latest runs)."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from labels import SETTINGS
    latest: dict = {}
    for line in (DOCS / "benchmarks-labels.jsonl").read_text().splitlines():
        r = json.loads(line)
        if r["setting"] in SETTINGS:
            latest[(r["setting"], r["seed"], r["method"])] = r["acc"]
    methods = ("bp", "bp-semi", "mole")
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for i, method in enumerate(methods):
        values = [100 * statistics.mean(v for (s, _, m), v in latest.items() if s == key and m == method)
                  for key in SETTINGS]
        ax.bar([j + (i - 1) * 0.27 for j in range(len(SETTINGS))], values, width=0.27, label=method)
    ax.set_xticks(range(len(SETTINGS)), [SETTINGS[k][0].split(",")[0] + ": " + SETTINGS[k][1].split("--labels ")[1]
                                         for k in SETTINGS], fontsize=8)
    ax.set_ylim(50, 100)
    ax.set_ylabel("test accuracy %")
    ax.legend(fontsize=8)
    ax.set_title("Few labels (python benchmarks/labels.py)", fontsize=9)
    _save(fig, "few_labels")


def large_graphs() -> None:
    """Seconds per epoch and peak activation memory against the graph's size (sbm-N, 2-layer GCN)."""
    rows = json.loads((DOCS / "benchmarks-large-graphs-scaling.json").read_text())
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for name in dict.fromkeys(r["row"] for r in rows):
        mine = sorted((r for r in rows if r["row"] == name), key=lambda r: r["size"])
        for ax, key in zip(axes, ("seconds_per_epoch", "peak_activations_mb")):
            ax.plot([r["size"] for r in mine], [r[key] for r in mine], marker="o", label=name)
    for ax, label in zip(axes, ("seconds per epoch", "peak activation MB")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("nodes")
        ax.set_ylabel(label)
    axes[0].legend(fontsize=7)
    fig.suptitle("Mini-batched node-level training (python benchmarks/large_graphs.py --parts scaling)", fontsize=9)
    _save(fig, "large_graphs")


def memory() -> None:
    """Peak activation memory of one step against depth, from the table benchmarks/depth.py wrote."""
    text = (PAGES / "memory.md").read_text()
    table = re.search(r"\| network \| bp \|.*?\n((?:\|.*\n)+)", text)
    head = [c.strip() for c in re.search(r"\| network \|.*", text).group(0).strip("|").split("|")]
    series: dict = {}
    for line in table.group(1).splitlines()[1:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        for rule, cell in zip(head[1:], cells[1:]):
            series.setdefault((cells[0].split(" (")[0].rsplit("-", 1)[0] if "ResNet" in cells[0] else "MLP", rule),
                              []).append((cells[0], float(cell.split()[0])))
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, family in zip(axes, ("ResNet", "MLP")):
        for (fam, rule), points in series.items():
            if fam == family:
                ax.plot([p[0].split(" (")[0] for p in points], [p[1] for p in points], marker="o", label=rule)
        ax.set_yscale("log")
        ax.set_ylabel("peak activation MB")
        ax.tick_params(axis="x", labelsize=7)
    axes[0].legend(fontsize=7)
    fig.suptitle("One training step's peak activation memory (python benchmarks/depth.py --parts memory)", fontsize=9)
    _save(fig, "memory")


def _save(fig, page: str) -> None:
    IMAGES.mkdir(exist_ok=True)
    fig.tight_layout()
    fig.savefig(IMAGES / f"bench_{page}.png", dpi=110)
    plt.close(fig)


def main() -> None:
    for draw in (accuracy, signals, few_labels, large_graphs, memory):
        draw()


if __name__ == "__main__":
    main()
