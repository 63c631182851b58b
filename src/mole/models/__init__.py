"""Model builders: each returns an ``nn.Sequential`` of per-layer blocks."""
from __future__ import annotations

from math import prod

from torch import nn

from ..validation import choose
from .cnn import CNN
from .gnn import CONVS, GNN
from .mlp import MLP

MODELS = ("mlp", "cnn", *CONVS)


def build_model(name: str, input_shape: tuple, n_classes: int, *, hidden: tuple = (256, 128),
                channels: tuple = (32, 64), batch_norm: bool = True, task: str = "node",
                dropout: float = 0.5) -> nn.Sequential:
    """Build a registered model for inputs of shape ``input_shape`` (without the batch dim).

    ``hidden`` sets the MLP's and GNNs' widths, ``channels`` the CNN's; ``task`` (node/graph) and
    ``dropout`` apply to GNNs.
    """
    name = choose("model", name, MODELS)
    if name == "mlp":
        return MLP(prod(input_shape), n_classes, hidden=hidden, batch_norm=batch_norm)
    if name == "cnn":
        return CNN(input_shape, n_classes, channels=channels, batch_norm=batch_norm)
    return GNN(prod(input_shape), n_classes, hidden=hidden, conv=name, dropout=dropout, task=task)


__all__ = ["MLP", "CNN", "GNN", "MODELS", "build_model"]
