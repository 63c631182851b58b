r"""Separable critics for the parametric MI bounds (InfoNCE, Jensen-Shannon).

A separable critic scores every pair of a batch at once:

.. math:: s_{ij} = \langle g(a_i),\, h(b_j) \rangle / \tau

with small learnable projections ``g`` and ``h`` (lazily sized on first use) onto unit vectors.
When ``b`` is class labels the critic is label-aware and needs no label-side parameters: it scores
samples against each other, :math:`s_{ij} = \langle g(a_i), g(a_j) \rangle / \tau`, and the
estimator treats same-class pairs as positives (so any label set works, seen or not). The critic's parameters belong to the local objective
that owns the estimator, so they train with the module and never see any other module's gradient.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .kernels import flatten_rows, is_labels


def as_rows(v: torch.Tensor) -> torch.Tensor:
    """(n, ...) float -> (n, d) float."""
    return flatten_rows(v).float()


class SeparableCritic(nn.Module):
    """Args:
        dim (int): projection dimension. (default: 64)
        temperature (float): τ. (default: 0.1)
        hidden (int): width of the one hidden layer of g and h, 0 for linear projections. (default: 0)
    """

    def __init__(self, dim: int = 64, temperature: float = 0.1, hidden: int = 0):
        super().__init__()
        self.temperature = temperature
        make = lambda: (nn.Sequential(nn.LazyLinear(hidden), nn.ReLU(), nn.Linear(hidden, dim))  # noqa: E731
                        if hidden else nn.LazyLinear(dim))
        self.g, self.h = make(), make()

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores (n, n): row i, column j scores the pair (a_i, b_j) (or (a_i, a_j) for labels b)."""
        ga = F.normalize(self.g(as_rows(a)), dim=1)
        hb = ga if is_labels(b) else F.normalize(self.h(as_rows(b)), dim=1)
        return ga @ hb.T / self.temperature  # (n, n)
