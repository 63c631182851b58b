"""Node-level graph data (Cora-style): one graph, MI over its labelled nodes.

Every step runs the module over the whole graph (full-batch message passing, as in Kipf & Welling)
and reads out the rows of a subset of the labelled nodes: all of them when they fit in a batch
(Cora: 140 ≤ 256), otherwise a fresh random subset of ``batch_size`` nodes per step, so the Gram
matrices stay small on large graphs. Label-free terms see every node: the batch's ``corrupt`` shuffles
the nodes' input rows (Deep Graph Infomax's corrupted graph).
"""
from __future__ import annotations

import torch

from ..batch import LocalBatch
from .base import TrainData, minibatches


def shuffled_rows(generator: torch.Generator):
    """Deep Graph Infomax's corruption: ``t`` with its rows (nodes) permuted, the graph left as it is."""
    def corrupt(t: torch.Tensor) -> torch.Tensor:
        return t[torch.randperm(t.shape[0], generator=generator).to(t.device)]
    return corrupt


class NodeData(TrainData):
    """
    Args:
        x: node features (N, F); edge_index: (2, E); y: labels of all nodes (N,);
        index: the nodes whose labels are used here (training nodes, or test nodes for evaluation).
    """

    reads_out_unlabelled = False  # its rows are the labelled nodes; the others are in the graph only

    def __init__(self, x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor, index: torch.Tensor):
        self.x, self.edge_index, self.y_all, self.index = x, edge_index, y, index
        self.y = y[index]

    def batches(self, t, batch_size, generator, hops=1):
        for idx in minibatches(len(self), batch_size, generator):
            nodes = self.index[idx]
            yield LocalBatch(t, self.x[nodes], self.y_all[nodes], (self.edge_index,),
                             readout=lambda out, nodes=nodes: out[nodes], corrupt=shuffled_rows(generator))

    @torch.no_grad()
    def transform(self, module, t, batch_size):
        module.eval()
        return module(t, self.edge_index)  # (N, ...) over the whole graph, once

    def rows(self, out):
        return out[self.index]

    def take(self, positions):
        return self.subset(self.index[positions])

    def with_views(self, views):
        """A node's other view is a neighbour (the objective reads the whole graph's output): no copies needed."""
        return self

    def with_labels(self, positions):
        """Only the nodes at ``positions`` of the labelled ones keep their labels; every node stays in the graph."""
        return self.take(positions)

    def subset(self, index: torch.Tensor) -> "NodeData":
        """The same graph with other labelled nodes (e.g. the test split)."""
        return NodeData(self.x, self.edge_index, self.y_all, index)
