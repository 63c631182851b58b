r"""A label budget: which training samples keep their labels.

Few-label learning keeps a stratified, seeded subset :math:`L` of the training labels and leaves the other
training samples as unlabelled data. A budget is written

* ``"N"`` (an integer, e.g. ``"10"``): N labels per class, :math:`|L| = C \cdot N` (a class with fewer samples
  keeps them all);
* ``"P%"`` (e.g. ``"10%"``): P percent of every class, rounded, at least one sample per class.

Within each class the kept samples are the first of a permutation drawn from ``seed``, so the same budget and
seed give every method the same labelled subset, and a smaller budget's subset lies inside a larger one's.

Unlabelled samples carry the label :data:`UNLABELLED` (−1), scikit-learn's convention for semi-supervised
data: a sample whose label is −1 feeds label-free terms only. Node-level graphs need no marker: the labelled
nodes are the adapter's index, and every other node stays in the graph.
"""
from __future__ import annotations

import re

import torch

from ..errors import ConfigError, DataError

#: the label of an unlabelled sample
UNLABELLED = -1
_BUDGET = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$")


def parse_budget(budget) -> tuple[str, float]:
    """``"10"`` / ``10`` -> ("per_class", 10); ``"10%"`` -> ("percent", 10.0); anything else raises ConfigError."""
    match = _BUDGET.match(str(budget)) if not isinstance(budget, bool) else None
    if match is None:
        raise ConfigError(f"labels must be a count per class (e.g. 10) or a percentage (e.g. 10%); got {budget!r}")
    value, percent = float(match.group(1)), bool(match.group(2))
    if percent:
        if not 0 < value <= 100:
            raise ConfigError(f"labels percentage must be in (0, 100]; got {budget!r}")
        return "percent", value
    if value != int(value) or value < 1:
        raise ConfigError(f"labels per class must be a whole number >= 1 (or a percentage like 10%); got {budget!r}")
    return "per_class", value


def budget_positions(y: torch.Tensor, budget, seed: int = 0) -> torch.Tensor:
    """Sorted positions of ``y`` (labels 0..C-1; −1 entries are never chosen) that keep their label under
    ``budget`` (see the module docstring)."""
    kind, value = parse_budget(budget)
    y = y.detach().cpu()
    generator = torch.Generator().manual_seed(seed)
    kept = []
    for c in torch.unique(y[y >= 0]).tolist():
        members = (y == c).nonzero().flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        take = int(value) if kind == "per_class" else max(1, round(len(members) * value / 100))
        kept.append(members[:take])
    if not kept:
        raise DataError("the training split holds no labelled samples to keep")
    return torch.cat(kept).sort().values


def keep_labels(y: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """A copy of ``y`` with every label but those at ``positions`` replaced by :data:`UNLABELLED`."""
    kept = torch.full_like(y, UNLABELLED)
    kept[positions] = y[positions]
    return kept


def describe_budget(budget, positions: torch.Tensor, n: int) -> dict:
    """What results.json records about a budget: the request, how many of how many kept their label, and
    which (positions in the training split)."""
    return {"budget": str(budget), "labelled": int(len(positions)), "of": int(n),
            "positions": positions.tolist()}
