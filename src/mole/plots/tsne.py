"""``tsne.png``: the paper's figure, raw data -> each module's output, coloured by class.

One row per method, one column for the input and one per module; every panel shows the same
samples, embedded by t-SNE (see :func:`mole.analysis.tsne_panels`).
"""
from __future__ import annotations

import numpy as np

from .style import method_name, module_label


def plot_tsne(results: dict):
    """``tsne.png``'s figure for a run's ``results`` (see the module docstring), one row per method with an embedding;
    None when no method has one."""
    runs = [r for r in results["runs"] if r.get("embedding")]
    if not runs:
        return None
    from matplotlib.figure import Figure
    n_cols = max(len(r["embedding"]["panels"]) for r in runs)
    fig = Figure(figsize=(2.6 * n_cols + 1.2, 2.7 * len(runs) + 0.6))
    axes = fig.subplots(len(runs), n_cols, squeeze=False)
    classes = sorted({c for r in runs for c in r["embedding"]["labels"]})
    from matplotlib import colormaps
    cmap = colormaps["tab10" if len(classes) <= 10 else "tab20"]
    for row, run in zip(axes, runs):
        emb = run["embedding"]
        labels = np.asarray(emb["labels"])
        n_modules = len(run["modules"])
        shown = emb.get("modules", list(range(len(emb["panels"]) - 1)))  # deep networks: a selection of modules
        for j, ax in enumerate(row):
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(emb["panels"]):
                ax.axis("off")
                continue
            pts = np.asarray(emb["panels"][j]).reshape(-1, 2)
            for i, c in enumerate(classes):
                sel = labels == c
                ax.scatter(pts[sel, 0], pts[sel, 1], s=4, color=cmap(i % cmap.N), label=str(c), linewidths=0)
            k = shown[j - 1] if j else None
            probe = (run.get("input_probe_accuracy") if j == 0
                     else run["modules"][k].get("probe_accuracy") if k < len(run["modules"]) else None)
            title = "input" if j == 0 else module_label(k, n_modules)
            ax.set_title(title + (f"\nprobe {100 * probe:.1f} %" if probe is not None else ""), fontsize=9)
        row[0].set_ylabel(method_name(run), fontsize=10)
    handles, names = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, names, title="class", loc="center right", markerscale=3, fontsize=8, frameon=False)
    split = runs[0]["embedding"]["split"]
    fig.suptitle(f"t-SNE of each module's output: {results['dataset']}, {results['model']} "
                 f"({len(runs[0]['embedding']['labels'])} {split} samples, coloured by class)", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1 - 0.9 / fig.get_figwidth(), 1))
    return fig
