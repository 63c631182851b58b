"""Model builders: each returns an ``nn.Sequential`` of per-layer blocks."""
from __future__ import annotations

from math import prod

from torch import nn

from ..validation import choose
from .cnn import CNN
from .mlp import MLP

MODELS = ("mlp", "cnn")
DEFAULT_MODEL = {"vector": "mlp", "grid": "cnn"}  # per data kind


def build_model(name: str, input_shape: tuple, n_classes: int, *, hidden: tuple = (256, 128),
                channels: tuple = (32, 64), batch_norm: bool = True) -> nn.Sequential:
    """Build a registered model for inputs of shape ``input_shape`` (without the batch dim).

    ``hidden`` sets the MLP's widths, ``channels`` the CNN's; each builder ignores the other.
    """
    name = choose("model", name, MODELS)
    if name == "mlp":
        return MLP(prod(input_shape), n_classes, hidden=hidden, batch_norm=batch_norm)
    return CNN(input_shape, n_classes, channels=channels, batch_norm=batch_norm)


__all__ = ["MLP", "CNN", "MODELS", "DEFAULT_MODEL", "build_model"]
