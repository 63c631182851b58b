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

from ..errors import ConfigError
from ..validation import MAX_WIDTH
from .base import Estimator, draw_seed, seeded, unsized
from .kernels import flatten_rows, is_labels


def as_rows(v: torch.Tensor) -> torch.Tensor:
    """(n, ...) float -> (n, d) float."""
    return flatten_rows(v).float()


class SeparableCritic(nn.Module):
    """
    Args:
        dim (int): projection dimension; 0: no projection, the scores are cosines of the rows themselves
            (both sides then need the same width). (default: 64)
        temperature (float): τ. (default: 0.1)
        hidden (int): width of the one hidden layer of g and h, 0 for linear projections. (default: 0)
    """

    def __init__(self, dim: int = 64, temperature: float = 0.1, hidden: int = 0):
        super().__init__()
        self.temperature = temperature
        make = lambda: (nn.Identity() if dim == 0  # noqa: E731 - no projection: cosine scores on T itself
                        else nn.Sequential(nn.LazyLinear(hidden), nn.ReLU(), nn.Linear(hidden, dim))
                        if hidden else nn.LazyLinear(dim))
        self.g, self.h = make(), make()
        self.init_seed = draw_seed()  # the projections are sized, and drawn, on first use (see draw_seed)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """Scores (n, n): row i, column j scores the pair (a_i, b_j) (or (a_i, a_j) for labels b)."""
        used = (self.g,) if is_labels(b) else (self.g, self.h)  # labels never run h: it may stay unsized
        if any(unsized(m) for m in used):
            with seeded(self.init_seed, a.device):
                return self._scores(a, b)
        return self._scores(a, b)

    def project(self, a: torch.Tensor) -> torch.Tensor:
        """g(a) (n, m) before normalization: the rows a label-aware bound scores against each other."""
        if unsized(self.g):
            with seeded(self.init_seed, a.device):
                return self.g(as_rows(a))
        return self.g(as_rows(a))

    def _scores(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        ga = F.normalize(self.g(as_rows(a)), dim=1)
        hb = ga if is_labels(b) else F.normalize(self.h(as_rows(b)), dim=1)
        return ga @ hb.T / self.temperature  # (n, n)


class CriticEstimator(Estimator):
    """Base of the critic-based bounds: validates the critic settings and owns the critic.

    Args:
        dim (int): critic projection dimension.
        temperature (float): τ of the critic scores.
        hidden (int): hidden width of the critic projections (0: linear).
    """

    def __init__(self, dim: int, temperature: float, hidden: int):
        super().__init__()
        problems = []
        if not (isinstance(temperature, (int, float)) and 0 < temperature < float("inf")):
            problems.append(f"temperature must be a positive finite number; got {temperature!r}")
        if not (isinstance(dim, int) and not isinstance(dim, bool) and 0 <= dim <= MAX_WIDTH):
            problems.append(f"dim must be an integer in 0..{MAX_WIDTH} (0: no projection); got {dim!r}")
        if not (isinstance(hidden, int) and 0 <= hidden <= MAX_WIDTH):
            problems.append(f"hidden must be an integer in 0..{MAX_WIDTH}; got {hidden!r}")
        if problems:
            raise ConfigError(f"{type(self).__name__}: " + "; ".join(problems))
        self.dim, self.temperature, self.hidden = dim, float(temperature), hidden
        self.critic = SeparableCritic(dim, self.temperature, hidden)

    def options(self) -> dict:
        return {"dim": self.dim, "temperature": self.temperature, "hidden": self.hidden}
