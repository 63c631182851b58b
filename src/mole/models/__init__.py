"""Model builders: each returns an ``nn.Sequential`` of per-layer blocks."""
from __future__ import annotations

from math import prod

from torch import nn

from ..validation import choose
from .mlp import MLP

MODELS = {"mlp": MLP}


def build_model(name: str, input_shape: tuple, n_classes: int, **options) -> nn.Sequential:
    """Build a registered model for inputs of shape ``input_shape`` (without the batch dim)."""
    name = choose("model", name, MODELS)
    if name == "mlp":
        return MLP(prod(input_shape), n_classes, **options)
    raise AssertionError(name)  # registry and builder list agree


__all__ = ["MLP", "MODELS", "build_model"]
