"""Graph neural networks from PyG layers, one message-passing layer per module.

``GNN(1433, 7, hidden=(64,), conv="gcn")`` is

    [ Sequential('x, edge_index', [GCNConv(1433, 64), ReLU, Dropout(0.5)]),   # module 1
      Sequential('x, edge_index', [GCNConv(64, 7)]) ]                          # head (node-level)

Every block maps node features to node features and takes ``(x, edge_index)`` (GCN on sampled subgraphs:
``(x, edge_index, edge_weight)``, the full graph's normalization); graph-level read-out
(pooling) belongs to the data adapter (:class:`mole.adapters.GraphData`), so the graph-level head is
a node-wise Linear whose pooled output is the graph's logits (mean pooling commutes with it).

Convs: ``gcn`` (Kipf & Welling 2017), ``gin`` (GIN-0 with a 2-layer MLP, Xu et al. 2019),
``sage`` (GraphSAGE mean, Hamilton et al. 2017).
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import nn
from torch_geometric.nn import GCNConv, GINConv, SAGEConv
from torch_geometric.nn import Sequential as GraphSequential

from ..errors import ConfigError

CONVS = ("gcn", "gin", "sage")


def make_conv(kind: str, c_in: int, c_out: int, gcn_normalize: bool = True) -> nn.Module:
    if kind == "gcn":
        return GCNConv(c_in, c_out, normalize=gcn_normalize)
    if kind == "sage":
        return SAGEConv(c_in, c_out)
    if kind == "gin":
        return GINConv(nn.Sequential(nn.Linear(c_in, c_out), nn.BatchNorm1d(c_out), nn.ReLU(),
                                     nn.Linear(c_out, c_out)), train_eps=False)
    raise ConfigError(f"unknown conv {kind!r}; choose one of {', '.join(CONVS)}")


def GNN(in_channels: int, n_classes: int, hidden: Sequence[int] = (64,), conv: str = "gcn", dropout: float = 0.5,
        task: str = "node", gcn_normalize: bool = True) -> nn.Sequential:
    """Args:
        in_channels (int): node feature size F. n_classes (int): classes C.
        hidden (sequence of int): widths of the hidden message-passing layers, one module each.
        conv (str): ``gcn``, ``gin`` or ``sage``.
        dropout (float): dropout after each hidden layer's activation.
        task (str): ``"node"`` (head = a conv to C, as in the GCN paper) or ``"graph"``
            (head = node-wise Linear to C, pooled per graph by the adapter).
        gcn_normalize (bool): GCN layers normalize by the degrees of the graph they are given (True), or take
            precomputed weights as ``edge_weight`` (False: sampled subgraphs, see
            :class:`~mole.adapters.SampledNodeData`).

    Shapes:
        input x (N, F), edge_index (2, E) [, edge_weight (E,) with ``gcn_normalize=False``]; output (N, C) node logits.
    """
    if not hidden or any(int(h) < 1 for h in hidden):
        raise ConfigError(f"hidden must list at least one positive layer width; got {list(hidden)}")
    blocks, width = [], in_channels
    weighted = conv == "gcn" and not gcn_normalize  # the graph brings GCN's weights: blocks take edge_weight
    signature = "x, edge_index, edge_weight" if weighted else "x, edge_index"
    takes = f"{signature} -> x"
    for h in hidden:
        layers = [(make_conv(conv, width, h, gcn_normalize), takes), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        blocks.append(GraphSequential(signature, layers))
        width = h
    if task == "node":
        head = (make_conv(conv, width, n_classes, gcn_normalize), takes)
    else:
        head = (nn.Linear(width, n_classes), "x -> x")
    blocks.append(GraphSequential(signature, [head]))
    return nn.Sequential(*blocks)
