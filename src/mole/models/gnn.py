"""Graph neural networks from PyG layers, one message-passing layer per module.

``GNN(1433, 7, hidden=(64,), conv="gcn")`` is

    [ Sequential('x, edge_index', [GCNConv(1433, 64), ReLU, Dropout(0.5)]),   # module 1
      Sequential('x, edge_index', [GCNConv(64, 7)]) ]                          # head (node-level)

Every block maps node features to node features and takes ``(x, edge_index)`` (GCN and GIN on sampled
subgraphs: ``(x, edge_index, edge_weight)``, see :mod:`mole.adapters.sampling`); graph-level read-out
(pooling) belongs to the data adapter (:class:`mole.adapters.GraphData`), so the graph-level head is
a node-wise Linear whose pooled output is the graph's logits (mean pooling commutes with it).

Convs: ``gcn`` (Kipf & Welling 2017), ``gin`` (GIN-0 with a 2-layer MLP, Xu et al. 2019),
``sage`` (GraphSAGE mean, Hamilton et al. 2017).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch_geometric.nn import GCNConv, GINConv, SAGEConv
from torch_geometric.nn import Sequential as GraphSequential

from ..errors import ConfigError

CONVS = ("gcn", "gin", "sage")
#: the edge weights each conv takes on sampled subgraphs (:class:`mole.adapters.sampling.InEdges`)
EDGE_WEIGHTED = {"gcn": "gcn", "gin": "sum"}


class WeightedGINConv(GINConv):
    r"""GIN with weighted neighbours: :math:`h_i = \mathrm{MLP}((1 + \epsilon) x_i + \sum_j w_{ji} x_j)`
    (``edge_weight`` None: every :math:`w_{ji} = 1`, PyG's ``GINConv``; same parameters). On a sampled
    neighbourhood, :math:`w_{ji} = d_i / \text{kept}_i` keeps the sum unbiased."""

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor, edge_weight: torch.Tensor | None = None,
                size=None) -> torch.Tensor:
        x = (x, x) if isinstance(x, torch.Tensor) else x
        # propagate_type: (x: OptPairTensor, edge_weight: OptTensor)
        out = self.propagate(edge_index, x=x, edge_weight=edge_weight, size=size)
        if x[1] is not None:
            out = out + (1 + self.eps) * x[1]
        return self.nn(out)

    def message(self, x_j: torch.Tensor, edge_weight: torch.Tensor | None) -> torch.Tensor:
        return x_j if edge_weight is None else edge_weight.view(-1, 1) * x_j


def make_conv(kind: str, c_in: int, c_out: int, edge_weights: bool = False) -> nn.Module:
    """One message-passing layer from ``c_in`` to ``c_out`` node features: ``"gcn"``, ``"sage"`` or ``"gin"`` (GIN-0
    with a 2-layer MLP). With ``edge_weights`` it takes sampled subgraphs' edge weights (GCN: without normalizing by
    the subgraph's degrees; GIN: :class:`~mole.models.gnn.WeightedGINConv`)."""
    if kind == "gcn":
        return GCNConv(c_in, c_out, normalize=not edge_weights)
    if kind == "sage":
        return SAGEConv(c_in, c_out)
    if kind == "gin":
        return (WeightedGINConv if edge_weights else GINConv)(
            nn.Sequential(nn.Linear(c_in, c_out), nn.BatchNorm1d(c_out), nn.ReLU(), nn.Linear(c_out, c_out)),
            train_eps=False)
    raise ConfigError(f"unknown conv {kind!r}; choose one of {', '.join(CONVS)}")


def GNN(in_channels: int, n_classes: int, hidden: Sequence[int] = (64,), conv: str = "gcn", dropout: float = 0.5,
        task: str = "node", edge_weights: bool = False) -> nn.Sequential:
    """
    Args:
        in_channels (int): node feature size F. n_classes (int): classes C.
        hidden (sequence of int): widths of the hidden message-passing layers, one module each.
        conv (str): ``gcn``, ``gin`` or ``sage``.
        dropout (float): dropout after each hidden layer's activation.
        task (str): ``"node"`` (head = a conv to C, as in the GCN paper) or ``"graph"``
            (head = node-wise Linear to C, pooled per graph by the adapter).
        edge_weights (bool): blocks take the graph's ``edge_weight`` (sampled subgraphs, see
            :class:`~mole.adapters.SampledNodeData`): GCN's full-graph normalization (the conv then does not
            normalize by the subgraph's degrees) or GIN's sampling weights; SAGE's mean needs none.
            False: GCN normalizes by the degrees of the graph it is given.

    Shapes:
        input x (N, F), edge_index (2, E) [, edge_weight (E,) with ``edge_weights``]; output (N, C) node logits.
    """
    if not hidden or any(int(h) < 1 for h in hidden):
        raise ConfigError(f"hidden must list at least one positive layer width; got {list(hidden)}")
    blocks, width = [], in_channels
    weighted = edge_weights and conv in EDGE_WEIGHTED  # the graph brings weights: blocks take edge_weight
    signature = "x, edge_index, edge_weight" if weighted else "x, edge_index"
    takes = f"{signature} -> x"
    for h in hidden:
        layers = [(make_conv(conv, width, h, edge_weights), takes), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        blocks.append(GraphSequential(signature, layers))
        width = h
    if task == "node":
        head = (make_conv(conv, width, n_classes, edge_weights), takes)
    else:
        head = (nn.Linear(width, n_classes), "x -> x")
    blocks.append(GraphSequential(signature, [head]))
    return nn.Sequential(*blocks)
