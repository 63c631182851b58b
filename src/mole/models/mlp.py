"""Multi-layer perceptron for vector data, built as one block per layer.

``MLP(in_features, n_classes, hidden=(256, 128))`` is::

    Sequential(
      Sequential(Linear(in, 256), [BatchNorm1d(256)], ReLU),   # module 1
      Sequential(Linear(256, 128), [BatchNorm1d(128)], ReLU),  # module 2
      Linear(128, n_classes),                                  # head
    )

so :class:`mole.ModularNetwork` cuts it into one module per layer.
"""
from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from ..errors import ConfigError

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "elu": nn.ELU, "leaky_relu": nn.LeakyReLU}


def activation_resolver(name: str) -> nn.Module:
    """A new activation module by name: ``relu``, ``gelu``, ``tanh``, ``elu`` or ``leaky_relu`` (another name is a
    :class:`~mole.errors.ConfigError` suggesting the nearest)."""
    from ..validation import choose
    return ACTIVATIONS[choose("activation", name, ACTIVATIONS)]()


def MLP(in_features: int, n_classes: int, hidden: Sequence[int] = (256, 128), activation: str = "relu",
        batch_norm: bool = False, dropout: float = 0.0) -> nn.Sequential:
    """
    Args:
        in_features (int): input dimension d.
        n_classes (int): number of classes C (head outputs C logits).
        hidden (sequence of int): widths of the hidden layers, one module each.
        activation (str): ``relu``, ``gelu``, ``tanh``, ``elu`` or ``leaky_relu``.
        batch_norm (bool): BatchNorm1d after each hidden Linear.
        dropout (float): dropout after each hidden activation.

    Shapes:
        input (n, d) (or (n, ...) flattened by a leading Flatten); output (n, C).
    """
    if not hidden or any(int(h) < 1 for h in hidden):
        raise ConfigError(f"hidden must list at least one positive layer width; got {list(hidden)}")
    blocks, width = [], in_features
    for i, h in enumerate(hidden):
        layers: list[nn.Module] = [nn.Flatten()] if i == 0 else []
        layers.append(nn.Linear(width, h))
        if batch_norm:
            layers.append(nn.BatchNorm1d(h))
        layers.append(activation_resolver(activation))
        if dropout:
            layers.append(nn.Dropout(dropout))
        blocks.append(nn.Sequential(*layers))
        width = h
    blocks.append(nn.Linear(width, n_classes))
    return nn.Sequential(*blocks)
