r"""Mini-batched node-level training: each step sees a batch of target nodes and their sampled neighbourhoods.

:class:`~mole.adapters.nodes.NodeData` runs every step over the whole graph; beyond a few hundred thousand
nodes one such step no longer fits. :class:`SampledNodeData` batches the labelled nodes instead: a step on
module k (``h`` message-passing layers) draws ``batch_size`` target nodes, their ``h``-hop neighbourhood with
at most ``fanout`` in-edges per node and hop (:class:`~mole.adapters.sampling.InEdges`), runs the module on
that subgraph and reads out the targets' rows; the MI estimate is over the batch's labelled targets. Layer-local
training needs one hop per module where backprop through L layers needs L (the neighbourhood explosion),
because the input of module k is the *cached* output of the frozen modules before it.

That cache is computed once per frozen module, layer by layer over the whole graph, in chunks of ``chunk``
target nodes with their complete in-neighbourhoods, so it is exact (the same values as a full-graph forward)
at a memory cost bounded by the chunk. Evaluation, probes and the information plane use the same chunked
forward.
"""
from __future__ import annotations

import torch
from torch import nn

from ..batch import LocalBatch
from ..modular import Chain, takes_context
from .base import labelled_stream, minibatches
from .nodes import NodeData, shuffled_rows
from .sampling import InEdges, message_passing_depth


def _layers(module: nn.Module) -> list[nn.Module]:
    """A network or grouped module as the blocks it chains (each run over the graph in turn)."""
    blocks = getattr(module, "blocks", None)
    if isinstance(blocks, nn.ModuleList):
        return list(blocks)
    if type(module) in (nn.Sequential, Chain):  # a module of several layers: layer by layer
        return list(module.children())
    return [module]


class SampledNodeData(NodeData):
    """
    Args:
        x, edge_index, y, index: as :class:`~mole.adapters.nodes.NodeData`.
        fanout: in-edges kept per node and hop in training steps (-1: all of them).
        weights: what the edges carry, ``"gcn"`` (GCN's full-graph normalization), ``"sum"`` (GIN's sampling
            weights) or None (SAGE); the model must then take them: ``GNN(..., edge_weights=True)``.
            ``mole.models.gnn.EDGE_WEIGHTED[conv]`` names the weights of each conv.
        chunk: target nodes per chunk when a module runs over the whole graph.
        in_edges: a prepared :class:`InEdges` of this graph (shared between splits).
    """

    def __init__(self, x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor, index: torch.Tensor,
                 fanout: int = 10, weights: str | None = None, chunk: int = 8192, in_edges: InEdges | None = None):
        super().__init__(x, edge_index, y, index)
        self.fanout, self.weights, self.chunk = int(fanout), weights, int(chunk)
        self.label_free = 0  # target nodes per step drawn from every node for label-free terms
        self.in_edges = in_edges or InEdges(edge_index.cpu(), x.shape[0], weights)

    @classmethod
    def of(cls, data: NodeData, **options) -> "SampledNodeData":
        """``data`` (a full-graph :class:`NodeData`) trained in mini-batches instead."""
        return cls(data.x, data.edge_index, data.y_all, data.index, **options)

    def hops(self, modules) -> int:
        return message_passing_depth(modules)

    def _on_device(self, context: tuple, device: torch.device) -> tuple:
        return tuple(c.to(device) for c in context)

    def with_label_free_targets(self, size: int) -> "SampledNodeData":
        """The same data, each step drawing ``size`` more target nodes from a pass over *every* node, for the
        label-free graph term (Deep Graph Infomax's I(T;S)): on the whole graph it reads every node, and a subgraph
        around the labelled targets alone holds few of them (Cora: 140 of 2,708) and many with cut
        neighbourhoods."""
        data = self.subset(self.index)
        data.label_free = int(size)
        return data

    def batches(self, t, batch_size, generator, hops=1):
        order = self._label_free_order(generator)
        for idx in minibatches(len(self), batch_size, generator):
            nodes = self.index[idx]
            extra = next(order)
            extra = extra[~torch.isin(extra, nodes.cpu())]  # targets once each: the labelled ones stay first
            targets = torch.cat([nodes.cpu(), extra])
            n_id, context = self.in_edges.subgraph(targets, max(hops, 1), self.fanout, generator)
            yield LocalBatch(t[n_id.to(t.device)], self.x[nodes], self.y_all[nodes], self._on_device(context, t.device),
                             readout=lambda out, b=len(nodes): out[:b], corrupt=shuffled_rows(generator),
                             scope=lambda out, m=len(targets): out[:m])

    def _label_free_order(self, generator: torch.Generator):
        """Endless chunks of :attr:`label_free` nodes, a fresh permutation of all nodes each pass (none: empty)."""
        if not self.label_free:
            while True:
                yield torch.empty(0, dtype=torch.long)
        yield from labelled_stream(torch.arange(self.x.shape[0]), self.label_free, generator)

    @torch.no_grad()
    def transform(self, module, t, batch_size):
        module.eval()
        for layer in _layers(module):  # node-wise layers (an activation in a group) need no graph
            t = self._over_graph(layer, t) if takes_context(layer) else layer(t)
        return t

    def _over_graph(self, layer: nn.Module, t: torch.Tensor) -> torch.Tensor:
        """``layer``'s output at every node, chunk by chunk (exact: complete in-neighbourhoods)."""
        hops, n, out = message_passing_depth(layer), t.shape[0], None
        for start in range(0, n, self.chunk):
            targets = torch.arange(start, min(start + self.chunk, n))
            n_id, context = self.in_edges.subgraph(targets, hops, -1)
            rows = layer(t[n_id.to(t.device)], *self._on_device(context, t.device))[:len(targets)]
            if out is None:
                out = rows.new_empty((n, *rows.shape[1:]))
            out[start:start + len(targets)] = rows
        return out

    def subset(self, index: torch.Tensor) -> "SampledNodeData":
        data = SampledNodeData(self.x, self.edge_index, self.y_all, index, self.fanout, self.weights, self.chunk,
                               self.in_edges)
        data.label_free = self.label_free
        return data
