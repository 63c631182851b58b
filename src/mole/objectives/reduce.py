r"""Reduce a module's output to the rows the MI estimator compares.

Grid modules output feature maps ``(n, C, *spatial)``; the kernel needs rows (n, m). Options:

* ``"flatten"``: all C·H·W values (exact; the Gram matrix then costs O(n² C H W));
* ``"gap"``: global average pooling over space, m = C (cheap; drops spatial layout);
* ``"tokens"``: a batch-first sequence ``(n, L, d)`` averaged over its L tokens, m = d (a transformer's or
  recurrent layer's output; ``"gap"`` averages the axes after the second, which for a sequence is the feature axis);
* ``"last"``: a sequence's last step ``t[:, -1]``, m = d (a recurrent layer's summary of the whole sequence);
* ``"project"``: a fixed Gaussian random projection :math:`z = \mathrm{vec}(T)\, R / \sqrt{m}`,
  :math:`R_{ij} \sim \mathcal N(0, 1)`, m = ``dim`` (Johnson-Lindenstrauss: pairwise distances, hence the
  Gaussian Gram matrix, are kept up to a factor 1 ± ε with m = O(log n / ε²)). R is drawn once from a
  seeded generator and never trained.

Vector outputs (n, d) pass through unchanged.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ConfigError

REDUCTIONS = ("flatten", "gap", "tokens", "last", "project")


class Reduce(nn.Module):
    """Reduces a module's output (n, ...) to the rows (n, m) the MI estimator compares (see the module docstring).

    ``how``: ``"flatten"``, ``"gap"``, ``"tokens"``, ``"last"`` or ``"project"`` (a fixed Gaussian random projection
    to ``dim`` columns drawn from ``seed``; outputs of at most ``dim`` values are only flattened). Vectors (n, d) pass
    through unchanged.
    """

    def __init__(self, how: str = "flatten", dim: int = 1024, seed: int = 0):
        super().__init__()
        if how not in REDUCTIONS:
            raise ConfigError(f"unknown reduce {how!r}; choose one of {', '.join(REDUCTIONS)}")
        self.how, self.dim, self.seed = how, dim, seed
        self.register_buffer("projection", None, persistent=False)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        if t.dim() <= 2 or self.how == "flatten":
            return t.flatten(1)  # (n, d)
        if self.how == "gap":
            return t.flatten(2).mean(2)  # (n, C)
        if self.how == "tokens":
            return t.flatten(2).mean(1)  # (n, L, d) -> (n, d)
        if self.how == "last":
            return t[:, -1].flatten(1)  # (n, L, d) -> (n, d)
        flat = t.flatten(1)  # (n, C·spatial)
        if flat.shape[1] <= self.dim:
            return flat
        if self.projection is None or self.projection.shape[0] != flat.shape[1]:
            g = torch.Generator().manual_seed(self.seed)
            self.projection = (torch.randn(flat.shape[1], self.dim, generator=g) / self.dim ** 0.5).to(flat)
        return flat @ self.projection  # (n, dim)
