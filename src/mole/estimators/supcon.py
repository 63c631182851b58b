r"""The supervised-contrastive bound in one pass, with its gradient in closed form.

:class:`~mole.estimators.infonce.InfoNCEEstimator` with labels (see its docstring for the bound) spends most of a
small module's step in autograd's bookkeeping: two dozen small kernels forward, twice as many backward. Here the
forward keeps what the gradient needs and the backward is five matrix expressions. With projected rows
:math:`p_i`, :math:`z_i = p_i / \lVert p_i \rVert`, :math:`s_{ij} = \langle z_i, z_j\rangle / \tau`, the shifted
:math:`e_{ij} = e^{s_{ij} - m_i}` (:math:`e_{ii} = 0`), :math:`P_i = \sum_{j \in P(i)} e_{ij}`,
:math:`A_i = \sum_{j} e_{ij}`, and :math:`w_i = 1 / (|H| \ln 2)` for the rows :math:`H` that have a positive (0 for
the others),

.. math:: I = \sum_i w_i \Big(\log \frac{P_i}{A_i} - \log\frac{|P(i)|}{n-1}\Big), \qquad
          \frac{\partial I}{\partial s_{ij}} = w_i\, e_{ij} \Big(\frac{[j \in P(i)]}{P_i} - \frac{1}{A_i}\Big) =: G_{ij},

.. math:: \frac{\partial I}{\partial z} = \frac{(G + G^\top) z}{\tau}, \qquad
          \frac{\partial I}{\partial p_i} = \frac{1}{\lVert p_i \rVert}
          \Big(\frac{\partial I}{\partial z_i} - z_i \big\langle z_i, \tfrac{\partial I}{\partial z_i}\big\rangle\Big).

The shift :math:`m_i` (the row's largest off-diagonal score) cancels in :math:`P_i / A_i`; one exp cannot underflow
while the scores span at most ``EXP_RANGE`` nats (:math:`2/\tau \le 80`), which the caller checks. Equal to the
autograd computation to float rounding (tests: the definition, the log-domain path and ``gradcheck``).
"""
from __future__ import annotations

import math

import torch

LOG2 = math.log(2.0)
#: F.normalize's floor on a row's norm
EPS = 1e-12


class SupervisedContrastive(torch.autograd.Function):
    """``SupervisedContrastive.apply(p, y, tau)``: I_SupCon (bits) of projected rows ``p`` (n, m) and labels ``y``
    (n,), every row's cosine scores divided by ``tau``. Rows with no other sample of their class are left out."""

    @staticmethod
    def forward(ctx, p: torch.Tensor, y: torch.Tensor, tau: float) -> torch.Tensor:
        """I (bits) of rows ``p`` with labels ``y``; keeps z, the norms, e, the positive mask and the sums."""
        n = p.shape[0]
        norm = p.norm(dim=1, keepdim=True).clamp_min(EPS)
        z = p / norm
        e = (z @ z.T).div_(tau)
        e.diagonal().fill_(-math.inf)  # never contrast a sample with itself: e_ii = exp(-inf) = 0
        e = e.sub_(e.amax(1, keepdim=True)).exp_()
        same = y[:, None] == y[None, :]
        same.diagonal().fill_(False)
        n_pos = same.sum(1)
        has = n_pos > 0
        positive, total = (e * same).sum(1), e.sum(1)
        w = has.to(p.dtype) / (has.sum().clamp_min(1).to(p.dtype) * LOG2)
        ratio = torch.where(has, positive / total, 1.0)
        chance = n_pos.clamp_min(1).to(p.dtype) / (n - 1)
        ctx.save_for_backward(z, norm, e, same, positive, total, w)
        ctx.tau = tau
        return ((ratio.log() - chance.log()) * w).sum()

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        """∂I/∂p from the kept tensors (the module docstring's three expressions); no gradient for y and τ."""
        z, norm, e, same, positive, total, w = ctx.saved_tensors
        inv_positive = torch.where(positive > 0, positive, 1.0).reciprocal()
        g = e * (same * inv_positive[:, None] - total.reciprocal()[:, None]) * (w * grad)[:, None]
        dz = ((g + g.T) @ z).div_(ctx.tau)
        dp = (dz - z * (z * dz).sum(1, keepdim=True)) / norm
        return dp, None, None


def supervised_contrastive(p: torch.Tensor, y: torch.Tensor, tau: float) -> torch.Tensor:
    """I_SupCon in bits (see the module docstring); ``p``: projected rows (n, m), ``y``: labels (n,)."""
    return SupervisedContrastive.apply(p, y, tau)
