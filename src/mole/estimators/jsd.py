r"""Jensen-Shannon mutual information with a critic (Deep InfoMax / Deep Graph Infomax).

Hjelm et al., *Learning deep representations by mutual information estimation and maximization*
(ICLR 2019); Nowozin et al., *f-GAN* (2016) for the bound.

With critic scores :math:`s_{ij}` (:mod:`mole.estimators.critics`), positive pairs P (the diagonal;
when one side is labels, label-aware, all distinct same-class pairs) and negative pairs N (the
off-diagonal pairs, i.e. samples of the product of marginals drawn within the batch; for labels, the
different-class pairs):

.. math:: \hat I_{JSD}(A; B) = \mathbb{E}_{P}[-\mathrm{sp}(-s_{ij})] - \mathbb{E}_{N}[\mathrm{sp}(s_{ij})]
          + 2\log 2,

with :math:`\mathrm{sp}(x) = \log(1 + e^x)`. Shifted by :math:`2\log 2` this estimates
:math:`2\,\mathrm{JS}(p_{AB} \,\|\, p_A p_B) \in [0, 2\log 2]` (nats; reported in bits, so in [0, 2]); it is
monotone in the dependence but, unlike InfoNCE, not a bound on I in bits.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .base import Variable
from .critics import CriticEstimator
from .infonce import _single
from .kernels import is_labels

LOG2 = math.log(2.0)


def jsd_bits(positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
    """The bound above from critic scores of positive pairs and of negative pairs, in bits."""
    return (2 * LOG2 - F.softplus(-positive).mean() - F.softplus(negative).mean()) / LOG2


class JSDEstimator(CriticEstimator):
    r"""
    Args:
        dim (int): critic projection dimension. (default: 64)
        temperature (float): τ of the critic scores. (default: 0.1)
        hidden (int): hidden width of the critic projections (0: linear). (default: 64)

    Shapes:
        a: (n, ...) float; b: (n, ...) float or (n,) labels; output: scalar (bits).
    """

    name = "jsd"

    def __init__(self, dim: int = 64, temperature: float = 0.1, hidden: int = 64):
        super().__init__(dim, temperature, hidden)

    def _mutual_information(self, a: Variable, b: Variable) -> torch.Tensor:
        a, b = _single(a, "JSD"), _single(b, "JSD")
        if is_labels(a) and not is_labels(b):
            a, b = b, a
        s = self.critic(a, b)  # (n, n)
        n = s.shape[0]
        eye = torch.eye(n, dtype=torch.bool, device=s.device)
        if is_labels(b):  # label-aware: same-class pairs are positives, a sample is never its own pair
            same = b[:, None] == b[None, :]
            pos, neg = same & ~eye, ~same
        else:
            pos, neg = eye, ~eye
        if not pos.any() or not neg.any():
            return s.sum() * 0.0  # no positive (or negative) pair in this batch: no signal, but a graph
        return jsd_bits(s[pos], s[neg])
