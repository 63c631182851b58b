"""Figures of a run, drawn from its ``results.json`` alone (matplotlib, no display needed).

``draw_run(results, run_dir)`` writes

* ``tsne.png``: t-SNE of the input and of every module's output, one row per method;
* ``information_plane.png``: ``I(T_k;X)`` against ``I(T_k;Y)`` over training, one colour per module;
* ``curves.png``: local losses per module (MOLE), backprop's loss, and linear-probe accuracy per layer.

A figure whose data the run did not record (e.g. ``--no-plots`` skips the t-SNE embedding) is
skipped. ``mole plot RUN_DIR`` calls this on a finished run without retraining.
"""
from __future__ import annotations

import logging
from pathlib import Path

from .curves import plot_curves
from .information_plane import plot_information_plane
from .tsne import plot_tsne

logger = logging.getLogger("mole")

FIGURES = {"tsne.png": plot_tsne, "information_plane.png": plot_information_plane, "curves.png": plot_curves}


def draw_run(results: dict, run_dir: str | Path, dpi: int = 110) -> list[Path]:
    """Write the run's figures into ``run_dir``; returns the files written."""
    written = []
    for name, draw in FIGURES.items():
        fig = draw(results)
        if fig is None:
            logger.info("%s skipped: the run did not record its data", name)
            continue
        path = Path(run_dir) / name
        fig.savefig(path, dpi=dpi, metadata={"Software": None})  # Figure without pyplot: no backend, no display
        written.append(path)
    return written


__all__ = ["draw_run", "plot_tsne", "plot_information_plane", "plot_curves", "FIGURES"]
