r"""The MOLE local objective for hidden modules.

Module k with output :math:`T_k` maximizes

.. math::
    J_k = \lambda_Y I(T_k; Y) + \lambda_X I(T_k; X) + \lambda_{XY} I(T_k; X, Y)
          - \beta I(T_k; T_{k-1}) + \lambda_G I(T_k; S)

and the loss is :math:`-J_k`. The last term is label-free and runs over *every* node of a graph, labelled or
not: :math:`I(T_k; S)` between each node's output and the graph's summary, Deep Graph Infomax's bound with the
module's output on a corrupted graph as negatives (:class:`~mole.estimators.graph_infomax.GraphInfomaxBound`);
the other terms use the run's estimator on the read-out rows (the labelled nodes). Defaults
(:math:`\lambda_Y = 1`, the rest 0) give the "decoder-like" module of the paper, which pulls same-class samples together; :math:`\lambda_X > 0`
alone gives an "encoder-like", label-free module; :math:`\beta > 0` is the information-bottleneck
variant. Terms with weight 0 are not computed. Feature maps are first reduced to rows by
:class:`mole.objectives.reduce.Reduce` (flatten, global average pooling or a random projection).
"""
from __future__ import annotations

import torch

from ..errors import ConfigError
from ..estimators import Estimator
from ..estimators.graph_infomax import GraphInfomaxBound
from .base import LocalBatch, LocalObjective
from .reduce import Reduce


class MutualInformationObjective(LocalObjective):
    """Args:
        estimator (Estimator): the MI estimator (owned: parametric critics train with the module).
        lambda_y, lambda_x, lambda_xy, beta, lambda_graph (float): weights of the terms above.
        reduce (Reduce): how T_k and T_{k-1} become rows for the estimator. (default: flatten)
        infomax (GraphInfomaxBound): the bound of :math:`I(T_k; S)`; needed when ``lambda_graph > 0``.
    """

    def __init__(self, estimator: Estimator, lambda_y: float = 1.0, lambda_x: float = 0.0,
                 lambda_xy: float = 0.0, beta: float = 0.0, reduce: Reduce | None = None, lambda_graph: float = 0.0,
                 infomax: GraphInfomaxBound | None = None):
        super().__init__()
        self.estimator = estimator
        self.reduce = reduce or Reduce()
        self.weights = {"I_TY": lambda_y, "I_TX": lambda_x, "I_TXY": lambda_xy, "I_Tprev": beta, "I_TS": lambda_graph}
        if lambda_graph and infomax is None:
            raise ConfigError("lambda_graph > 0 needs the bound of I(T;S): pass infomax=GraphInfomaxBound(dim)")
        self.infomax = infomax if lambda_graph else None
        self.needs_corrupted_view = bool(lambda_graph)

    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, float]]:
        mi = self.estimator.mutual_information
        out = self.reduce(out)  # (n, m)
        partner = {"I_TY": lambda: batch.y, "I_TX": lambda: batch.x.flatten(1),
                   "I_TXY": lambda: (batch.x.flatten(1), batch.y), "I_Tprev": lambda: self.reduce(batch.readout(batch.t_in))}
        sign = {"I_TY": 1.0, "I_TX": 1.0, "I_TXY": 1.0, "I_Tprev": -1.0, "I_TS": 1.0}
        objective, terms = out.new_zeros((), dtype=torch.float64), {}
        for key, w in self.weights.items():
            if w:
                value = (self.infomax(batch.output, batch.corrupted_output) if key == "I_TS"
                         else mi(out, partner[key]()))
                objective = objective + sign[key] * w * value
                terms[key] = float(value.detach())
        return -objective, terms
