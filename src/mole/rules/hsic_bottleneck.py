r"""The HSIC bottleneck (Ma, Lewis & Kleijn, AAAI 2020).

Each hidden module k minimizes

.. math:: \mathcal{L}_k = \mathrm{nHSIC}(T_k; X) - \beta\, \mathrm{nHSIC}(T_k; Y), \qquad \beta = 50,

keeping as little of the input as it can while keeping the labels; then the head alone trains with
cross-entropy on the frozen representation (the paper's "post-training": the sequential schedule).
The normalized HSIC is the authors' (``choasma/HSIC-bottleneck``, ``hsic_normalized_cca``):

.. math:: \mathrm{nHSIC}(A; B) = \mathrm{tr}(R_A R_B), \qquad
          R = \tilde K (\tilde K + \varepsilon n I)^{-1}, \quad \tilde K = K H, \quad
          H = I - \tfrac{1}{n}\mathbf{1}\mathbf{1}^\top, \quad \varepsilon = 10^{-5},

with Gaussian kernels :math:`K_{ij} = \exp(-\|a_i - a_j\|^2 / (2\sigma^2 d))` whose width is scaled by
the dimension d of the rows (flattened :math:`T_k`, flattened X, one-hot Y), one σ = 5 for all of them.
The arithmetic runs in float64 (one n×n solve per term).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..batch import LocalBatch
from ..objectives import LocalObjective
from .base import Rule

EPSILON = 1e-5


def scaled_gaussian_gram(z: torch.Tensor, sigma: float) -> torch.Tensor:
    """exp(-||z_i - z_j||² / (2 σ² d)) for rows z (n, d), in float64."""
    z = z.flatten(1).double()
    sq = (z * z).sum(1)
    d2 = (sq[:, None] + sq[None, :] - 2.0 * z @ z.T).clamp_min(0.0)
    return torch.exp(-d2 / (2.0 * sigma ** 2 * z.shape[1]))


def normalized_hsic_cca(Ka: torch.Tensor, Kb: torch.Tensor, epsilon: float = EPSILON) -> torch.Tensor:
    """tr(R_a R_b) with R = K H (K H + ε n I)^{-1}, for Gram matrices (n, n)."""
    n = Ka.shape[0]
    eye = torch.eye(n, dtype=Ka.dtype, device=Ka.device)

    def resolvent(K):
        Kc = K - K.mean(1, keepdim=True)  # K H: each row minus its mean
        return torch.linalg.solve(Kc + epsilon * n * eye, Kc, left=False)  # Kc (Kc + εnI)^{-1}

    return (resolvent(Ka) * resolvent(Kb).T).sum()


class HSICBottleneckObjective(LocalObjective):
    """nHSIC(T; X) − β·nHSIC(T; Y) for a module's output ``out`` (n, ...), with the batch's X and one-hot Y, Gaussian
    kernels of width ``sigma`` (see the module docstring). Logs ``nHSIC_TX`` and ``nHSIC_TY``."""

    batch_level = True  # a loss over the whole batch, not a mean over samples

    def __init__(self, n_classes: int, beta: float, sigma: float):
        super().__init__()
        self.n_classes, self.beta, self.sigma = n_classes, beta, sigma

    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        Kt = scaled_gaussian_gram(out, self.sigma)
        hx = normalized_hsic_cca(Kt, scaled_gaussian_gram(batch.x, self.sigma))
        hy = normalized_hsic_cca(Kt, scaled_gaussian_gram(F.one_hot(batch.y, self.n_classes), self.sigma))
        return hx - self.beta * hy, {"nHSIC_TX": hx.detach(), "nHSIC_TY": hy.detach()}


class HSICBottleneck(Rule):
    """
    Args:
        beta (float): weight of nHSIC(T; Y) against nHSIC(T; X). (default: 50, the authors' general setting)
        sigma (float): Gaussian kernel width (scaled by each variable's dimension). (default: 5)
    """

    name = "hsic-bottleneck"
    summary = "nHSIC(T;X) − β·nHSIC(T;Y) per module, then the head on the frozen features (Ma et al. 2020)"

    def __init__(self, beta: float = 50.0, sigma: float = 5.0):
        self.beta, self.sigma = beta, sigma

    def check(self) -> list[str]:
        problems = []
        if not (isinstance(self.beta, (int, float)) and self.beta >= 0 and self.beta < float("inf")):
            problems.append(f"hsic-bottleneck beta must be a finite number >= 0; got {self.beta!r}")
        if not (isinstance(self.sigma, (int, float)) and 0 < self.sigma < float("inf")):
            problems.append(f"hsic-bottleneck sigma must be a positive finite number; got {self.sigma!r}")
        return problems

    def needs_shapes(self, config) -> bool:
        return False

    def hidden_objective(self, k: int, shape: tuple, n_classes: int, config) -> LocalObjective:
        return HSICBottleneckObjective(n_classes, float(self.beta), float(self.sigma))
