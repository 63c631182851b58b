r"""Neighbourhood sampling for node-level graphs too large for a full-graph step.

For a batch of target nodes B, :meth:`InEdges.subgraph` returns the nodes and edges an L-layer
message-passing module needs to compute its outputs at B: hop by hop, each node of the current frontier
keeps its in-edges (all of them, or ``fanout`` drawn uniformly without replacement), and the new source
nodes form the next frontier. As in PyG's ``NeighborLoader``, the targets come first in the returned node
list, so a module's output at B is its first ``|B|`` rows.

With ``fanout=-1`` every in-edge is kept and the outputs at B are *exact*: a node's output after one
message-passing layer depends only on its in-edges and their sources. That is how frozen modules are
computed over a whole graph in chunks. GCN's symmetric normalization also depends on the degrees of the
sources, which a subgraph does not see, so for GCN the graph carries its full-graph weights
:math:`w_{ji} = (\hat d_j \hat d_i)^{-1/2}` (self-loops included, :func:`torch_geometric.nn.conv.gcn_conv.gcn_norm`)
and the convolution runs with ``normalize=False``. When ``fanout`` drops some of node i's ``d_i``
in-edges, the kept weights are scaled by :math:`d_i / \text{kept}_i`, which keeps the aggregation unbiased.
GIN sums its neighbours: its edges carry :math:`w_{ji} = d_i / \text{kept}_i` alone (``weights="sum"``,
1 for every edge when all are kept). SAGE averages, and the mean of a uniform sample needs no weight.

PyG's ``NeighborLoader`` does the same sampling but needs ``pyg-lib`` or ``torch-sparse``, neither of which
installs from PyPI for this torch; the one-hop case MOLE needs is a few vectorized torch operations.
"""
from __future__ import annotations

import torch
from torch import nn
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from ..errors import ConfigError

WEIGHTS = (None, "gcn", "sum")


def message_passing_depth(modules) -> int:
    """How many message-passing layers a chain of modules applies (the hops its outputs depend on)."""
    if isinstance(modules, nn.Module):
        modules = [modules]
    return sum(isinstance(m, MessagePassing) for module in modules for m in module.modules())


class InEdges:
    """The graph's in-edges grouped by target node (compressed, as CSC).

    Args:
        edge_index: (2, E) source → target; num_nodes: N.
        weights: what the edges carry (see the module docstring): ``None``, ``"gcn"`` (GCN's full-graph
            normalization; self-loops are then kept apart, one per node, and added for every node of a
            subgraph) or ``"sum"`` (the sampling weights of a sum aggregation, GIN's).
    """

    def __init__(self, edge_index: torch.Tensor, num_nodes: int, weights: str | None = None):
        if weights not in WEIGHTS:
            raise ConfigError(f"unknown edge weights {weights!r}; choose one of {WEIGHTS}")
        self.num_nodes, self.weight, self.self_weight = num_nodes, None, None
        src, dst = edge_index
        if weights == "sum":
            weight = torch.ones(src.numel())
        elif weights == "gcn":
            full, weight = gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
            loop = full[0] == full[1]
            self.self_weight = torch.zeros(num_nodes, dtype=weight.dtype)
            self.self_weight[full[0, loop]] = weight[loop]
            (src, dst), weight = full[:, ~loop], weight[~loop]
        order = torch.argsort(dst, stable=True)
        self.src = src[order]
        if weights is not None:
            self.weight = weight[order]
        self.deg = torch.bincount(dst, minlength=num_nodes)
        self.ptr = torch.zeros(num_nodes + 1, dtype=torch.long)
        self.ptr[1:] = self.deg.cumsum(0)

    def _sample(self, targets: torch.Tensor, fanout: int, generator: torch.Generator | None):
        """Positions of the kept in-edges of ``targets`` and, for each, its target's position in ``targets``."""
        deg = self.deg[targets]
        seg = torch.repeat_interleave(torch.arange(len(targets)), deg)
        offset = torch.arange(seg.numel()) - torch.repeat_interleave(deg.cumsum(0) - deg, deg)
        pos = self.ptr[targets][seg] + offset
        if fanout >= 0 and deg.numel() and fanout < int(deg.max()):
            # a random order inside each target's segment: sort by (segment, uniform key)
            key = seg.to(torch.float64) + torch.rand(seg.numel(), generator=generator, dtype=torch.float64)
            rank = torch.empty_like(offset)
            rank[torch.argsort(key)] = offset
            keep = rank < fanout
            pos, seg = pos[keep], seg[keep]
        return pos, seg

    def subgraph(self, targets: torch.Tensor, hops: int = 1, fanout: int = -1,
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, tuple]:
        """Nodes ``n_id`` (targets first) and the module context: ``(edge_index,)`` or ``(edge_index, weight)``
        in the subgraph's own numbering."""
        local = torch.full((self.num_nodes,), -1, dtype=torch.long)
        local[targets] = torch.arange(len(targets))
        parts, frontier, count = [targets], targets, len(targets)
        sources, dests, weights = [], [], []
        for _ in range(hops):
            pos, seg = self._sample(frontier, fanout, generator)
            src = self.src[pos]
            new = torch.unique(src[local[src] < 0])
            local[new] = torch.arange(count, count + len(new))
            count += len(new)
            sources.append(local[src])
            dests.append(local[frontier][seg])
            if self.weight is not None:
                kept = torch.bincount(seg, minlength=len(frontier)).clamp(min=1)
                weights.append(self.weight[pos] * (self.deg[frontier] / kept)[seg])
            parts.append(new)
            frontier = new
        n_id = torch.cat(parts)
        edge_index = torch.stack([torch.cat(sources), torch.cat(dests)])
        if self.weight is None:
            return n_id, (edge_index,)
        if self.self_weight is None:
            return n_id, (edge_index, torch.cat(weights))
        loops = torch.arange(len(n_id))
        edge_index = torch.cat([edge_index, torch.stack([loops, loops])], 1)
        return n_id, (edge_index, torch.cat([*weights, self.self_weight[n_id]]))
