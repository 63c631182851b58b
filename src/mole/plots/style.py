"""Shared figure conventions: method names and a colour per module."""
from __future__ import annotations

METHOD_NAMES = {"mole": "MOLE", "bp": "backprop", "dgl": "DGL", "predsim": "PredSim", "hsic-bottleneck": "HSIC bottleneck",
                "infopro": "InfoPro", "forward-forward": "Forward-Forward"}


def method_name(run: dict) -> str:
    """A run's method as figures name it (``"mole"`` is ``"MOLE"``), with what trained its modules in parentheses when
    the run used an estimator (e.g. ``"MOLE (renyi)"``)."""
    name = METHOD_NAMES.get(run["method"], run["method"])
    if run.get("estimator"):  # what trained the modules: "renyi + graph infomax" (older results: the estimator)
        name += f" ({run.get('signal', run['estimator']['name'])})"
    return name


def end_to_end(run: dict) -> bool:
    """One stage trained the whole network (backprop); results from before rules were recorded: method bp."""
    return run.get("end_to_end", run["method"] == "bp")


def module_label(k: int, n_modules: int) -> str:
    """The label of module ``k`` (0-based) of ``n_modules``: ``"module 1"``, …, ``"module K (head)"`` for the last."""
    return f"module {k + 1}" + (" (head)" if k == n_modules - 1 else "")


def module_colors(n_modules: int) -> list:
    """One colour per module, light (first) to dark (last)."""
    import matplotlib
    cmap = matplotlib.colormaps["viridis"]
    return [cmap(0.85 * (1 - k / max(1, n_modules - 1))) for k in range(n_modules)]
