"""``information_plane.png``: each module's path through (I(T;X), I(T;Y)) during training.

One panel per method. A path starts at the module's initialization (hollow marker) and ends after
its last epoch (filled marker); points in between are the measurements every few epochs
(see :class:`mole.analysis.InformationMonitor`).
"""
from __future__ import annotations

from .style import method_name, module_colors, module_label


def plot_information_plane(results: dict):
    """``information_plane.png``'s figure for a run's ``results``, one panel per method with measured modules; None when
    no module was measured."""
    runs = [r for r in results["runs"] if any(m.get("information") for m in r["modules"])]
    if not runs:
        return None
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5.0 * len(runs), 4.2))
    axes = fig.subplots(1, len(runs), squeeze=False, sharex=True, sharey=True)
    for ax, run in zip(axes[0], runs):
        n = len(run["modules"])
        colors = module_colors(n)
        for k, module in enumerate(run["modules"]):
            path = module.get("information") or []
            if not path:
                continue
            xs, ys = [p["I_TX"] for p in path], [p["I_TY"] for p in path]
            ax.plot(xs, ys, "-o", color=colors[k], markersize=3, linewidth=1.2, label=module_label(k, n))
            ax.plot(xs[0], ys[0], "o", markersize=7, markerfacecolor="none", color=colors[k])
            ax.plot(xs[-1], ys[-1], "o", markersize=7, color=colors[k])
        monitor = run.get("monitor", {})
        est = monitor.get("estimator", {}).get("name", "")
        unit = " [bits]" if est == "renyi" else f" [{est}]" if est else ""
        ax.set_xlabel(f"I(T; X){unit}")
        ax.set_ylabel(f"I(T; Y){unit}")
        ax.set_title(f"{method_name(run)}: every {monitor.get('every', '?')} epoch(s), "
                     f"{monitor.get('samples', '?')} samples", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(f"Information plane: {results['dataset']}, {results['model']} (hollow: start, filled: end)",
                 fontsize=11)
    fig.tight_layout()
    return fig
