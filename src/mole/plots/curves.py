"""``curves.png``: how training went, every method side by side.

Panels: the test accuracy of every method after each epoch of its last stage, on one axis (local rules under
the sequential schedule: the epochs of the head, the network as trained so far); for each local rule, the local
loss of every module over its epochs; backprop's end-to-end loss; and the linear-probe test accuracy of the
input and each module, one line per method.
"""
from __future__ import annotations

from .style import end_to_end, method_name, module_colors, module_label

#: what each rule's hidden modules minimize, for the panel titles (other rules: "local loss")
LOCAL_LOSS = {"mole": "−J_k", "dgl": "auxiliary CE", "predsim": "(1−β)·pred + β·sim",
              "hsic-bottleneck": "nHSIC(T;X) − β·nHSIC(T;Y)", "infopro": "λ1·reconstruction + λ2·aux CE",
              "forward-forward": "softplus of goodness vs θ"}


def _loss_panel(ax, run: dict) -> None:
    n, whole = len(run["modules"]), end_to_end(run)
    colors = module_colors(n)
    by_module: dict[int, list] = {}
    for rec in run.get("history", []):
        by_module.setdefault(rec["module"], []).append(rec)
    for k, recs in sorted(by_module.items()):
        label = "whole network" if whole else module_label(k, n)
        ax.plot([r["epoch"] + 1 for r in recs], [r["loss"] for r in recs], color="tab:red" if whole else colors[k],
                label=label, linewidth=1.4)
    head = "" if run["method"] == "forward-forward" else " (head: cross-entropy)"
    local = LOCAL_LOSS.get(run["method"], "local loss") + " per module" + head
    ax.set_title(f"{method_name(run)}: {'cross-entropy loss' if whole else local}", fontsize=10)
    ax.set_xlabel("epoch" if whole else "epoch (of the module)")
    ax.set_ylabel("loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _accuracy_panel(ax, runs: list[dict]) -> None:
    for run, marker in zip(runs, "os^vD<>"):
        points = run["accuracy_curve"]
        ax.plot([p["epoch"] for p in points], [100 * p["test_accuracy"] for p in points], label=method_name(run),
                marker=marker if len(points) < 30 else None, markersize=3, linewidth=1.4)
    ax.set_title("test accuracy per epoch", fontsize=10)
    ax.set_xlabel("epoch (local rules: of the last module)")
    ax.set_ylabel("test accuracy [%]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def plot_curves(results: dict):
    """``curves.png``'s figure for a run's ``results`` (see the module docstring); None when it holds no runs."""
    runs = results["runs"]
    if not runs:
        return None
    from matplotlib.figure import Figure
    probed = [r for r in runs if r.get("input_probe_accuracy") is not None]
    curves = [r for r in runs if r.get("accuracy_curve")]
    n_panels = bool(curves) + len(runs) + bool(probed)
    fig = Figure(figsize=(4.8 * n_panels, 3.9))
    axes = list(fig.subplots(1, n_panels, squeeze=False)[0])
    if curves:
        _accuracy_panel(axes.pop(0), curves)
    for ax, run in zip(axes, runs):
        _loss_panel(ax, run)
    if probed:
        ax = axes[-1]
        n = max(len(r["modules"]) for r in probed)
        ticks = ["input"] + [f"m{k + 1}" for k in range(n)]
        for run, marker in zip(probed, "os^v"):
            accs = [run["input_probe_accuracy"]] + [m.get("probe_accuracy") for m in run["modules"]]
            ax.plot(range(len(accs)), [100 * a if a is not None else float("nan") for a in accs], marker=marker,
                    label=method_name(run), linewidth=1.4)
        ax.set_xticks(range(len(ticks)), ticks)
        ax.set_xlabel("layer (module output)")
        ax.set_ylabel("linear-probe test accuracy [%]")
        ax.set_title("linear probe per layer", fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(f"Training curves and probes: {results['dataset']}, {results['model']}", fontsize=11)
    fig.tight_layout()
    return fig
