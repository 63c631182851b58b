r"""Graph-level data (MUTAG-style): many small graphs, MI over pooled graph embeddings.

All graphs are held as one disjoint union: node features x (N, F), edge_index (2, E) and the graph
id of every node, ``batch`` (N,). A module is a node-wise map (message passing never crosses graphs),
so a frozen module runs once over the whole union to cache its output. A training step draws
``batch_size`` graphs, cuts their nodes and edges out of the union (``torch_geometric.utils.subgraph``)
and reads out one row per graph by global pooling,

.. math:: h_G = \frac{1}{|V_G|}\sum_{v \in G} T_k(v) \quad(\text{mean})\qquad\text{or}\qquad \sum_{v \in G} T_k(v) \quad(\text{sum}),

which is what the MI estimator and the head's cross-entropy see. The raw input X of a graph, for
I(T;X), is its pooled node features.

With an augmentation (:class:`~mole.adapters.graph_masking.GraphMasking`, ``augment="mask"``) every training
batch is a masked copy of its graphs, and with ``views`` > 1 it holds that many masked copies, stacked as one
union (:attr:`~mole.batch.LocalBatch.views`): the other view of a graph for the label-free term
:math:`I(T;T')`. Frozen modules then run per batch, on the masked input.
"""
from __future__ import annotations

import copy

import torch
from torch_geometric.nn import global_add_pool, global_mean_pool
from torch_geometric.utils import subgraph

from ..errors import ConfigError
from ..batch import LocalBatch
from .base import TrainData, count_batches, labelled_positions, labelled_stream, minibatches
from .augment import no_weak_view_of_graphs
from .labels import keep_labels

POOLS = {"mean": global_mean_pool, "sum": global_add_pool}


class GraphData(TrainData):
    """
    Args:
        x: node features of all graphs (N, F); edge_index: (2, E) over the union;
        batch: graph id of every node (N,), ids 0..G-1; y: graph labels (G,);
        pool: ``"mean"`` or ``"sum"`` read-out.
    """

    augmentation = None  # a GraphMasking perturbs every training batch (augmented); None: batches as they are
    views = 1  # masked views of each graph a batch holds (with_views), for label-free terms between views

    def __init__(self, x: torch.Tensor, edge_index: torch.Tensor, batch: torch.Tensor, y: torch.Tensor,
                 pool: str = "mean"):
        if pool not in POOLS:
            raise ConfigError(f"unknown pool {pool!r}; choose one of {', '.join(POOLS)}")
        self.x, self.edge_index, self.batch, self.y, self.pool = x, edge_index, batch, y, pool
        self.x_pooled = POOLS[pool](x, batch, size=len(y))  # (G, F): X of each graph, for I(T;X)

    @property
    def augments(self) -> bool:
        return self.augmentation is not None

    def augmented(self, augmentation, first_view=None):
        if not getattr(augmentation, "graphs", False):
            return super().augmented(augmentation, first_view)
        if first_view is not None:
            raise no_weak_view_of_graphs(first_view.name)
        data = copy.copy(self)
        data.augmentation = augmentation
        return data

    def with_views(self, views: int) -> "GraphData":
        if views > 1 and not self.augments:
            raise ConfigError(f"{views} views of a graph need an augmentation to make them differ; add --augment mask, "
                              "or set lambda_view and pseudo_labels to 0")
        data = copy.copy(self)
        data.views = views
        return data

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
        if self.augments and t is not self.x:
            raise ValueError("augmented graphs batch the raw input only; run frozen modules per batch instead")
        for chosen in self._chosen(batch_size, generator):
            ids, nodes, edges, local = self._cut(chosen)
            if self.augments:
                yield self._views(t[nodes], edges, local, ids, generator)
            else:
                yield LocalBatch(t[nodes], self.x_pooled[ids], self.y[ids], (edges,),
                                 readout=self._readout(local, len(ids)))

    def n_batches(self, batch_size: int) -> int:
        unlabelled = int((self.y < 0).sum())
        return count_batches(unlabelled if unlabelled else len(self), batch_size)

    def _chosen(self, batch_size, generator):
        """The graph ids of each batch: one pass over every graph; with a label budget, a pass over the unlabelled
        graphs, each batch joined by up to ``batch_size`` labelled ones drawn in turn (as in :class:`TensorData`)."""
        labelled = labelled_positions(self.y)
        if len(labelled) == len(self.y):
            yield from minibatches(len(self), batch_size, generator)
            return
        unlabelled = (self.y < 0).nonzero().flatten()
        stream = labelled_stream(labelled, min(batch_size, len(labelled)), generator)
        for idx in minibatches(len(unlabelled), batch_size, generator):
            yield torch.cat([next(stream), unlabelled[idx.to(unlabelled.device)]])

    def _views(self, x, edges, local, ids, generator) -> LocalBatch:
        """``views`` masked copies of the chosen graphs as one disjoint union: view v's nodes follow view v-1's,
        its graphs are read out as rows v·B .. (v+1)·B − 1."""
        n, size = x.shape[0], len(ids)
        xs, edge_sets = [], []
        for v in range(self.views):
            xv, ev = self.augmentation(x, edges, generator)
            xs.append(xv)
            edge_sets.append(ev + v * n)
        graph_of = torch.cat([local + v * size for v in range(self.views)])
        return LocalBatch(torch.cat(xs), self.x_pooled[ids].repeat(self.views, 1), self.y[ids].repeat(self.views),
                          (torch.cat(edge_sets, dim=1),), readout=self._readout(graph_of, self.views * size),
                          views=self.views)

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
        data = GraphData(self.x[nodes], edges, local, self.y[ids], self.pool)
        data.augmentation, data.views = self.augmentation, self.views
        return data
