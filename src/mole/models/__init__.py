"""Model builders: each returns an ``nn.Sequential`` of per-layer blocks."""
from __future__ import annotations

from math import prod

from torch import nn

from ..validation import choose
from .cnn import CNN
from .factory import build_from_factory, is_factory
from .gnn import CONVS, GNN
from .mlp import MLP
from .resnet import VGG, ResNet

MODELS = ("mlp", "cnn", "resnet", "vgg", *CONVS)
DEPTHS = {"resnet": 20, "vgg": 11}  # default depth of the deep builders


def build_model(name: str, input_shape: tuple, n_classes: int, *, hidden: tuple = (256, 128),
                channels: tuple = (32, 64), batch_norm: bool = True, task: str = "node",
                dropout: float = 0.5, depth: int | None = None, edge_weights: bool = False) -> nn.Sequential:
    """Build a registered model for inputs of shape ``input_shape`` (without the batch dim), or a user's model by
    its factory's name, ``pkg.module:function`` / ``path/to/file.py:function`` (:mod:`mole.models.factory`).

    ``hidden`` sets the MLP's and GNNs' widths, ``channels`` the CNN's, ``depth`` the ResNet's (6n + 2) and
    VGG's; ``task`` (node/graph), ``dropout`` and ``edge_weights`` apply to GNNs.
    """
    if is_factory(name):  # a user's factory, pkg.module:function or file.py:function
        return build_from_factory(name, input_shape, n_classes)
    name = choose("model", name, MODELS)
    if name == "mlp":
        return MLP(prod(input_shape), n_classes, hidden=hidden, batch_norm=batch_norm)
    if name == "cnn":
        return CNN(input_shape, n_classes, channels=channels, batch_norm=batch_norm)
    if name == "resnet":
        return ResNet(input_shape, n_classes, depth=depth or DEPTHS["resnet"])
    if name == "vgg":
        return VGG(input_shape, n_classes, depth=depth or DEPTHS["vgg"])
    return GNN(prod(input_shape), n_classes, hidden=hidden, conv=name, dropout=dropout, task=task,
               edge_weights=edge_weights)


__all__ = ["MLP", "CNN", "GNN", "ResNet", "VGG", "MODELS", "build_model"]
