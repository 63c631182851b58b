r"""The MOLE local objective for hidden modules.

Module k with output :math:`T_k` maximizes

.. math::
    J_k = \lambda_Y I(T_k; Y) + \lambda_X I(T_k; X) + \lambda_{XY} I(T_k; X, Y)
          - \beta I(T_k; T_{k-1})

and the loss is :math:`-J_k`. Defaults (:math:`\lambda_Y = 1`, the rest 0) give the
"decoder-like" module of the paper, which pulls same-class samples together; :math:`\lambda_X > 0`
alone gives an "encoder-like", label-free module; :math:`\beta > 0` is the information-bottleneck
variant. Terms with weight 0 are not computed. Feature maps are first reduced to rows by
:class:`mole.objectives.reduce.Reduce` (flatten, global average pooling or a random projection).
"""
from __future__ import annotations

import torch

from ..estimators import Estimator
from .base import LocalBatch, LocalObjective
from .reduce import Reduce


class MutualInformationObjective(LocalObjective):
    """Args:
        estimator (Estimator): the MI estimator (owned: parametric critics train with the module).
        lambda_y, lambda_x, lambda_xy, beta (float): weights of the terms above.
        reduce (Reduce): how T_k and T_{k-1} become rows for the estimator. (default: flatten)
    """

    def __init__(self, estimator: Estimator, lambda_y: float = 1.0, lambda_x: float = 0.0,
                 lambda_xy: float = 0.0, beta: float = 0.0, reduce: Reduce | None = None):
        super().__init__()
        self.estimator = estimator
        self.reduce = reduce or Reduce()
        self.weights = {"I_TY": lambda_y, "I_TX": lambda_x, "I_TXY": lambda_xy, "I_Tprev": beta}

    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, float]]:
        mi = self.estimator.mutual_information
        out = self.reduce(out)  # (n, m)
        partner = {"I_TY": lambda: batch.y, "I_TX": lambda: batch.x.flatten(1),
                   "I_TXY": lambda: (batch.x.flatten(1), batch.y), "I_Tprev": lambda: self.reduce(batch.readout(batch.t_in))}
        sign = {"I_TY": 1.0, "I_TX": 1.0, "I_TXY": 1.0, "I_Tprev": -1.0}
        objective, terms = out.new_zeros((), dtype=torch.float64), {}
        for key, w in self.weights.items():
            if w:
                value = mi(out, partner[key]())
                objective = objective + sign[key] * w * value
                terms[key] = float(value.detach())
        return -objective, terms
