r"""InfoNCE (CPC) and its label-aware, supervised-contrastive form.

Oord, Li & Vinyals, *Representation Learning with Contrastive Predictive Coding* (2018), the signal
of Greedy InfoMax (Löwe et al., 2019); Khosla et al., *Supervised Contrastive Learning* (2020).

For two representations, with critic scores :math:`s_{ij}` (:mod:`mole.estimators.critics`):

.. math:: I_{NCE}(A; B) = \log n + \frac{1}{n}\sum_i \Big(s_{ii} - \log\sum_j e^{s_{ij}}\Big) \le I(A; B),

a lower bound that is at most :math:`\log n` (in nats; reported in bits here).
When one side is class labels, positives are all same-class pairs (label-aware, as in supervised
contrastive learning) and no critic is needed on the label side: with cosine similarities
:math:`s_{ij} = \langle \hat g(t_i), \hat g(t_j) \rangle / \tau` over :math:`j \ne i`,

.. math:: I_{SupCon}(T; Y) = \frac{1}{n}\sum_i \Big(\log\frac{\sum_{j \in P(i)} e^{s_{ij}}}
          {\sum_{j \ne i} e^{s_{ij}}} - \log\frac{|P(i)|}{n-1}\Big),

which is 0 when T carries no label information (the positive share of the mass equals the positive
share of the samples) and at most :math:`-\frac1n\sum_i \log(|P(i)|/(n-1)) \approx H(Y)`.
"""
from __future__ import annotations

import math

import torch

from ..errors import ConfigError
from .base import Variable, as_tuple
from .critics import CriticEstimator
from .kernels import is_labels
from .supcon import LOG2, supervised_contrastive

#: the widest spread of scores (nats) one shifted float32 exp holds without underflow (e^-80 > 1.2e-38)
EXP_RANGE = 80.0


def _single(v: Variable, who: str) -> torch.Tensor:
    v = as_tuple(v)
    if len(v) != 1:
        raise ConfigError(f"{who} takes one variable per side; joint variables need estimator='renyi' or 'hsic'")
    return v[0]


class InfoNCEEstimator(CriticEstimator):
    r"""
    Args:
        dim (int): critic projection dimension. (default: 64)
        temperature (float): τ. (default: 0.1)
        hidden (int): hidden width of the critic projections (0: linear). (default: 0)

    Shapes:
        a: (n, ...) float; b: (n, ...) float or (n,) labels; output: scalar (bits).
    """

    name = "infonce"

    def __init__(self, dim: int = 64, temperature: float = 0.1, hidden: int = 0):
        super().__init__(dim, temperature, hidden)

    def _mutual_information(self, a: Variable, b: Variable) -> torch.Tensor:
        a, b = _single(a, "InfoNCE"), _single(b, "InfoNCE")
        if is_labels(a) and not is_labels(b):
            a, b = b, a
        if is_labels(b):
            return self._supervised(a, b)
        s = self.critic(a, b)  # (n, n)
        n = s.shape[0]
        return (math.log(n) + (s.diagonal() - s.logsumexp(1)).mean()) / LOG2

    def _supervised(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if 2 / self.temperature <= EXP_RANGE:
            # scores lie in [-1/τ, 1/τ]: one exp, shifted by the row's largest off-diagonal score, cannot
            # underflow, so both sums over j != i come from it (the positives' by a mask product) and the shift
            # cancels in their ratio; one pass, its gradient in closed form (mole.estimators.supcon)
            return supervised_contrastive(self.critic.project(t), y, self.temperature)
        # a small τ: each sum in the log domain, through autograd
        raw = self.critic(t, y)  # (n, n) cosine similarities / τ
        n = raw.shape[0]
        eye = torch.eye(n, dtype=torch.bool, device=raw.device)
        same = y[:, None] == y[None, :]
        n_pos = same.sum(1) - 1  # |P(i)|: the other samples of i's class
        has_pos = n_pos > 0
        if not has_pos.any():
            return raw.sum() * 0.0  # no positive pair in this batch: no signal, but still a graph
        s = raw.masked_fill(eye, float("-inf"))  # never contrast a sample with itself
        log_ratio = s.masked_fill(~same, float("-inf")).logsumexp(1) - s.logsumexp(1)
        chance = torch.log(n_pos.clamp_min(1).to(raw.dtype) / (n - 1))
        return (log_ratio - chance)[has_pos].mean() / LOG2
