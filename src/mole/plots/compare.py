"""``compare.png`` of ``mole compare``: accuracy per method with its spread, and learning curves overlaid."""
from __future__ import annotations


def plot_compare(table: dict[str, dict], title: str):
    """``compare.png``'s figure under ``title``: each method's test accuracy over its runs with mean ± std (left) and
    every run's test-accuracy curve, one colour per method (right). ``table``: from :func:`mole.compare.aggregate`."""
    from matplotlib.figure import Figure
    fig = Figure(figsize=(10, 3.9))
    left, right = fig.subplots(1, 2)
    colors = {m: f"C{i}" for i, m in enumerate(table)}
    for i, (method, t) in enumerate(table.items()):
        accs = [100 * r["test_accuracy"] for r in t["runs"]]
        left.scatter([i] * len(accs), accs, color=colors[method], alpha=0.5, s=18)
        left.errorbar([i + 0.15], [100 * t["accuracy_mean"]], yerr=[100 * t["accuracy_std"]], fmt="D",
                      color=colors[method], capsize=4)
        for k, run in enumerate(t["runs"]):
            points = run.get("accuracy_curve") or []
            if points:
                right.plot([p["epoch"] for p in points], [100 * p["test_accuracy"] for p in points],
                           color=colors[method], alpha=0.6, linewidth=1.2, label=method if k == 0 else None)
    left.set_xticks(range(len(table)), list(table), rotation=20, fontsize=8)
    left.set_ylabel("test accuracy [%]")
    left.set_title("every run (dots), mean ± std (diamond)", fontsize=10)
    left.grid(alpha=0.3)
    right.set_xlabel("epoch (local rules: of the last module)")
    right.set_ylabel("test accuracy [%]")
    right.set_title("test accuracy per epoch, every run", fontsize=10)
    right.grid(alpha=0.3)
    if right.lines:
        right.legend(fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig
