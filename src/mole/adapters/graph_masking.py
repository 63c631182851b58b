r"""Training-time augmentation of graph collections: attribute masking and edge dropping (GraphCL).

Each view of a graph (You et al. 2020, "Graph Contrastive Learning with Augmentations") zeroes every entry of
the node feature matrix with probability :math:`r` and removes every (directed) edge with probability :math:`r`,
independently per view:

.. math:: \tilde x_{vf} = m_{vf}\, x_{vf},\quad m_{vf} \sim \mathrm{Bernoulli}(1 - r);\qquad
          \tilde E = \{ e \in E : d_e = 1 \},\quad d_e \sim \mathrm{Bernoulli}(1 - r),

with GraphCL's default ratio :math:`r = 0.2`. Node and graph identities stay as they are, so the read-out of a
view still has one row per graph. The randomness is drawn from the run's generator, like the signal and image
augmentations of :mod:`mole.adapters.augment`, so every method and every asynchronous worker sees the same
perturbed batches.

Shapes: x (n, F), edge_index (2, E) -> x (n, F), edge_index (2, E') with E' <= E.
"""
from __future__ import annotations

import torch

from ..errors import ConfigError

#: GraphCL's augmentation ratio: the share of feature entries masked and of edges dropped
RATE = 0.2


class GraphMasking:
    """``masking(x, edge_index, generator)`` returns a masked copy of a batch of graphs."""

    name = "mask"
    graphs = True  # applies to graph collections, not to signals or images

    def __init__(self, rate: float = RATE):
        if not 0.0 <= rate < 1.0:
            raise ConfigError(f"the masking rate must lie in [0, 1); got {rate!r}")
        self.rate = rate

    def __call__(self, x: torch.Tensor, edge_index: torch.Tensor,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        keep = torch.rand(x.shape, generator=generator) >= self.rate
        kept_edges = torch.rand(edge_index.shape[1], generator=generator) >= self.rate
        return x * keep.to(x.device, x.dtype), edge_index[:, kept_edges.to(edge_index.device)]

    def __repr__(self) -> str:
        return f"GraphMasking(rate={self.rate})"
