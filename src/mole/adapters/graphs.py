r"""Graph-level data (MUTAG-style): many small graphs, MI over pooled graph embeddings.

All graphs are held as one disjoint union: node features x (N, F), edge_index (2, E) and the graph
id of every node, ``batch`` (N,). A module is a node-wise map (message passing never crosses graphs),
so a frozen module runs once over the whole union to cache its output. A training step draws
``batch_size`` graphs, cuts their nodes and edges out of the union (``torch_geometric.utils.subgraph``)
and reads out one row per graph by global pooling,

.. math:: h_G = \frac{1}{|V_G|}\sum_{v \in G} T_k(v) \quad(\text{mean})\qquad\text{or}\qquad \sum_{v \in G} T_k(v) \quad(\text{sum}),

which is what the MI estimator and the head's cross-entropy see. The raw input X of a graph, for
I(T;X), is its pooled node features.
"""
from __future__ import annotations

import copy

import torch
from torch_geometric.nn import global_add_pool, global_mean_pool
from torch_geometric.utils import subgraph

from ..errors import ConfigError
from ..batch import LocalBatch
from .base import TrainData, minibatches
from .labels import keep_labels

POOLS = {"mean": global_mean_pool, "sum": global_add_pool}


class GraphData(TrainData):
    """Args:
        x: node features of all graphs (N, F); edge_index: (2, E) over the union;
        batch: graph id of every node (N,), ids 0..G-1; y: graph labels (G,);
        pool: ``"mean"`` or ``"sum"`` read-out.
    """

    def __init__(self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor, y: torch.Tensor,
                 pool: str = "mean"):
        if pool not in POOLS:
            raise ConfigError(f"unknown pool {pool!r}; choose one of {', '.join(POOLS)}")
        self.x, self.edge_index, self.batch, self.y, self.pool = x, edge_index, batch, y, pool
        self.x_pooled = POOLS[pool](x, batch, size=len(y))  # (G, F): X of each graph, for I(T;X)

    def _readout(self, batch: torch.Tensor, size: int):
        return lambda out: POOLS[self.pool](out, batch, size=size)

    def _cut(self, graph_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Sorted ids, their node mask (N,), relabelled edges and per-node graph ids 0..B-1."""
        ids = torch.as_tensor(graph_ids, device=self.batch.device).sort().values
        keep = torch.zeros(len(self), dtype=torch.bool, device=self.batch.device)
        keep[ids] = True
        nodes = keep[self.batch]  # (N,) nodes of the chosen graphs
        edges, _ = subgraph(nodes, self.edge_index, relabel_nodes=True, num_nodes=self.x.shape[0])
        return ids, nodes, edges, torch.searchsorted(ids, self.batch[nodes])

    def batches(self, t, batch_size, generator, hops=1):
        for chosen in minibatches(len(self), batch_size, generator):
            ids, nodes, edges, local = self._cut(chosen)
            yield LocalBatch(t[nodes], self.x_pooled[ids], self.y[ids], (edges,),
                             readout=self._readout(local, len(ids)))

    @torch.no_grad()
    def transform(self, module, t, batch_size):
        module.eval()
        return module(t, self.edge_index)  # (N, ...) over the whole union, once

    def rows(self, out):
        return POOLS[self.pool](out, self.batch, size=len(self))

    def take(self, positions):
        return self.subset(positions)

    def with_labels(self, positions):
        """Only the graphs at ``positions`` keep their labels; the others stay as unlabelled graphs (label −1)."""
        data = copy.copy(self)  # the same union and pooled inputs, other labels
        data.y = keep_labels(self.y, positions)
        return data

    def subset(self, graph_ids: torch.Tensor) -> "GraphData":
        """The graphs ``graph_ids`` as a new union (for cross-validation folds)."""
        ids, nodes, edges, local = self._cut(graph_ids)
        return GraphData(self.x[nodes], edges, local, self.y[ids], self.pool)
