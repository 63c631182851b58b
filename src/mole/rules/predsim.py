r"""PredSim: local prediction and similarity matching (Nøkland & Eidnes, ICML 2019).

Each hidden module k minimizes

.. math:: \mathcal{L}_k = (1-\beta)\,\mathrm{CE}\big(W_k\,\mathrm{pool}(T_k),\, Y\big)
          + \beta\,\frac{1}{n^2}\big\|S(g_k(T_k)) - S(\mathrm{onehot}(Y))\big\|_F^2,
          \qquad \beta = 0.99,

where :math:`S(Z)` is the n×n correlation matrix between samples: each row of Z centred over its
features and scaled to unit length, then :math:`S = \hat Z \hat Z^\top`, clamped to [−1, 1]. For feature
maps each channel is first summarized by its standard deviation over space (when there are more than 3
channels and more than one row). :math:`g_k` is a learned bias-free linear map (width → width) for
vectors and graph rows, a bias-free 3×3 convolution (channels → channels) for feature maps; :math:`W_k`
is a linear classifier (zero-initialized weights) on the output average-pooled to at most ``pool_limit``
features. Both belong to the objective. As in the authors' code (``anokland/local-loss``), the losses
take the module's output after its nonlinearity and before dropout: mole's modules end with their
nonlinearity, and dropout, if any, is part of the next module's input path. Their head (the output layer)
also starts from zero weights; here the network's own head trains with cross-entropy like every rule's.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..batch import LocalBatch
from ..objectives import LocalObjective
from .base import Rule
from .heads import pooled_size


def similarity_matrix(z: torch.Tensor) -> torch.Tensor:
    """S(z): (n, ...) -> (n, n) cosine similarities of the per-sample centred rows, clamped to [-1, 1].

    Feature maps ``(n, C, *spatial)`` with C > 3 and a first spatial size > 1 are summarized per channel by
    their standard deviation over space first."""
    if z.dim() > 2 and z.shape[1] > 3 and z.shape[2] > 1:
        z = z.flatten(2).std(dim=2)
    z = z.flatten(1)
    zc = z - z.mean(dim=1, keepdim=True)
    # the authors' 1e-8 + ||zc||; the norm floored at 1e-8 inside the sqrt as well, so that a constant row (all
    # units dead) gets a zero gradient instead of sqrt'(0) · 0 = NaN (seen on Cora after 16 epochs)
    zn = zc / (1e-8 + zc.square().sum(dim=1, keepdim=True).clamp_min(1e-16).sqrt())
    return (zn @ zn.T).clamp(-1, 1)


class PredSimObjective(LocalObjective):
    """(1 − β)·pred + β·sim for a module with output ``shape`` per sample (see the module docstring). Logs ``pred`` and
    ``sim``.

    It owns the similarity projection (a bias-free Linear for vectors, a bias-free convolution of width 3 for signals
    and images) and the zero-initialized classifier on the output pooled to at most ``pool_limit`` features.
    """

    batch_level = True  # a loss over the whole batch, not a mean over samples

    def __init__(self, shape: tuple, n_classes: int, beta: float, pool_limit: int):
        super().__init__()
        self.beta, self.n_classes = beta, n_classes
        channels = shape[0]
        if len(shape) == 3:
            self.project = nn.Conv2d(channels, channels, 3, padding=1, bias=False)
        elif len(shape) == 2:
            self.project = nn.Conv1d(channels, channels, 3, padding=1, bias=False)
        else:
            self.project = nn.Linear(channels, channels, bias=False)
        pool, width = pooled_size(shape, pool_limit)
        self.classifier = nn.Sequential(pool, nn.Linear(width, n_classes))
        nn.init.zeros_(self.classifier[-1].weight)

    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        pred = F.cross_entropy(self.classifier(out), batch.y)
        target = similarity_matrix(F.one_hot(batch.y, self.n_classes).to(out.dtype))
        sim = F.mse_loss(similarity_matrix(self.project(out)), target)
        loss = (1 - self.beta) * pred + self.beta * sim
        return loss, {"pred": pred.detach(), "sim": sim.detach()}


class PredSim(Rule):
    """
    Args:
        beta (float): weight of the similarity loss, 1 − beta that of the prediction loss. (default: 0.99)
        pool_limit (int): largest input of the prediction classifier (feature maps are pooled). (default: 4096)
    """

    name = "predsim"
    summary = "local prediction + similarity-matching loss, (1-β)·pred + β·sim (Nøkland & Eidnes 2019)"

    def __init__(self, beta: float = 0.99, pool_limit: int = 4096):
        self.beta, self.pool_limit = beta, pool_limit

    def check(self) -> list[str]:
        problems = []
        if not (isinstance(self.beta, (int, float)) and 0 <= self.beta <= 1):
            problems.append(f"predsim beta must be in [0, 1]; got {self.beta!r}")
        if not (isinstance(self.pool_limit, int) and self.pool_limit >= 1):
            problems.append(f"predsim pool_limit must be a positive integer; got {self.pool_limit!r}")
        return problems

    def hidden_objective(self, k: int, shape: tuple, n_classes: int, config) -> LocalObjective:
        return PredSimObjective(shape, n_classes, float(self.beta), self.pool_limit)
