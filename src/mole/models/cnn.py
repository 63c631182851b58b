"""Convolutional network for grid data (1-D signals or 2-D images), one block per layer.

``CNN((1, 28, 28), 10, channels=(32, 64))`` is::

    Sequential(
      Sequential(Conv2d(1, 32, 3, padding=1), [BatchNorm2d(32)], ReLU, MaxPool2d(2)),   # module 1
      Sequential(Conv2d(32, 64, 3, padding=1), [BatchNorm2d(64)], ReLU, MaxPool2d(2)),  # module 2
      Sequential(Flatten, Linear(64·7·7, 10)),                                           # head
    )

Inputs of shape (C, L) get Conv1d/BatchNorm1d/MaxPool1d, inputs of shape (C, H, W) the 2-D layers.
A block pools only while its maps are at least 2 wide, so small inputs (digits, 8×8) stay valid.
"""
from __future__ import annotations

from collections.abc import Sequence
from math import prod

from torch import nn

from ..errors import ConfigError
from .mlp import activation_resolver

LAYERS = {1: (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d), 2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d)}


def CNN(input_shape: Sequence[int], n_classes: int, channels: Sequence[int] = (32, 64), kernel_size: int = 3,
        batch_norm: bool = True, pool: bool = True, activation: str = "relu") -> nn.Sequential:
    """
    Args:
        input_shape: (C, L) for signals or (C, H, W) for images, without the batch dimension.
        n_classes (int): number of classes C (head outputs C logits).
        channels (sequence of int): output channels of the conv layers, one module each.
        kernel_size (int): odd kernel size; padding keeps the map size. (default: 3)
        batch_norm (bool): BatchNorm after each conv. pool (bool): 2× max pooling after each block.
        activation (str): see :func:`mole.models.mlp.activation_resolver`.

    Shapes:
        input ``(n, *input_shape)``; output ``(n, n_classes)``.
    """
    input_shape = tuple(int(s) for s in input_shape)
    dim = len(input_shape) - 1
    if dim not in LAYERS:
        raise ConfigError(f"CNN needs inputs shaped (C, L) or (C, H, W); got {input_shape}. "
                          "Use --model mlp for vector data.")
    if not channels or any(int(c) < 1 for c in channels):
        raise ConfigError(f"channels must list at least one positive width; got {list(channels)}")
    Conv, Norm, Pool = LAYERS[dim]
    blocks, c_in, spatial = [], input_shape[0], list(input_shape[1:])
    for c in channels:
        layers: list[nn.Module] = [Conv(c_in, c, kernel_size, padding=kernel_size // 2)]
        if batch_norm:
            layers.append(Norm(c))
        layers.append(activation_resolver(activation))
        if pool and min(spatial) >= 2:
            layers.append(Pool(2))
            spatial = [s // 2 for s in spatial]
        blocks.append(nn.Sequential(*layers))
        c_in = c
    blocks.append(nn.Sequential(nn.Flatten(), nn.Linear(c_in * prod(spatial), n_classes)))
    return nn.Sequential(*blocks)
