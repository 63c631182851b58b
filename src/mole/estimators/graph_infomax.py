r"""Deep Graph Infomax's bound: the MI between each node's representation and its graph's summary.

Veličković et al., *Deep Graph Infomax* (ICLR 2019). For node representations :math:`t_1..t_n` of a graph,
the summary :math:`s = \sigma(\frac1n \sum_i t_i)` and representations :math:`\tilde t_1..\tilde t_m` of a
*corrupted* graph (the same graph with its nodes' inputs shuffled, so that every node keeps its
neighbourhood's shape and loses its content), a bilinear critic :math:`D(t, s) = t^\top W s` scores

.. math:: \hat I_{DGI}(T; S) = \Big(2\log 2 - \frac1n\sum_i \mathrm{sp}(-D(t_i, s))
          - \frac1m\sum_j \mathrm{sp}(D(\tilde t_j, s))\Big) / \log 2,

the Jensen-Shannon bound of the Deep InfoMax family (:mod:`mole.estimators.jsd`) with the corrupted graph's
nodes as the product-of-marginals samples, in bits (:math:`\mathrm{sp}(x) = \log(1 + e^x)`; at most 2, and
below 0 for a critic that scores the corrupted graph higher).
It needs no labels: every node of the graph contributes, labelled or not, which is what a module of a
graph with few labelled nodes (Cora: 140 of 2,708) learns from besides :math:`I(T; Y)`.

The bound sees tensors only (positive rows, negative rows); which graph was corrupted how is the data
adapter's business (:attr:`mole.batch.LocalBatch.corrupt`).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..errors import DataError
from .base import check_variables
from .critics import as_rows
from .jsd import jsd_bits


class GraphInfomaxBound(nn.Module):
    """The bilinear critic W (d × d) and the bound above.

    Any critic gives a lower bound; DGI learns W together with the encoder. With few labelled nodes, a
    learned critic competes with :math:`I(T; Y)` for the module's features (Cora, 3 seeds: 78.9–79.3 % with a
    learned W, 81.5–82.3 % with a fixed one, 79.2 % with no label-free term; docs/benchmarks.md), so by
    default W is a fixed random draw (PyTorch's ``nn.Linear`` initialization, from ``seed``): the encoder
    alone tightens the bound.

    Args:
        dim (int): feature size d of the rows.
        learn_critic (bool): train W with the module (DGI's choice) instead of keeping the fixed draw.
            (default: False)
        seed (int): seed of the draw of W.

    Shapes:
        positive: (n, ...) float, the graph's node representations; negative: (m, ...) float, the corrupted
        graph's (d features per row); output: scalar (bits).
    """

    def __init__(self, dim: int, learn_critic: bool = False, seed: int = 0):
        super().__init__()
        bound = 1.0 / math.sqrt(dim)
        generator = torch.Generator().manual_seed(seed)
        weight = (torch.rand(dim, dim, generator=generator) * 2 - 1) * bound
        if learn_critic:
            self.weight = nn.Parameter(weight)
        else:
            self.register_buffer("weight", weight)

    def forward(self, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        positive, negative = check_variables(positive), check_variables(negative)
        pos, neg = as_rows(positive[0]), as_rows(negative[0])
        d = self.weight.shape[0]
        if pos.shape[1] != d or neg.shape[1] != d:
            raise DataError(f"the graph infomax critic takes rows of {d} features; got {pos.shape[1]} (graph) and "
                            f"{neg.shape[1]} (corrupted graph)")
        ws = self.weight @ torch.sigmoid(pos.mean(0))  # W s, s the graph's summary (d,)
        return jsd_bits(pos @ ws, neg @ ws)
