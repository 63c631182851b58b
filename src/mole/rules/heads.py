r"""Auxiliary classifier heads of the rules that train a module through a local classifier
(DGL, PredSim's prediction loss): pooling of feature maps to a small size, then a linear layer or an MLP.

For a module output of shape ``(C, *spatial)`` per sample (``shape``; vectors and graph rows are (d,)):

* :func:`pooled_size`: average pooling that halves (rounding up) the spatial sizes in turn, first
  dimension first, until :math:`C \prod_i s_i` is at most ``limit`` (PredSim's rule, 4096 by default);
* :func:`auxiliary_classifier`: adaptive average pooling to ``grid`` per spatial dimension, flatten,
  ``hidden_layers`` × [Linear(m, m), BatchNorm, ReLU], then Linear(m, C_out) (DGL's auxiliary net).
"""
from __future__ import annotations

import math

from torch import nn

_POOL = {1: nn.AdaptiveAvgPool1d, 2: nn.AdaptiveAvgPool2d, 3: nn.AdaptiveAvgPool3d}


def _pool(spatial: tuple) -> nn.Module:
    if not spatial:
        return nn.Identity()
    if len(spatial) not in _POOL:
        raise ValueError(f"cannot pool feature maps with {len(spatial)} spatial dimensions")
    return _POOL[len(spatial)](spatial if len(spatial) > 1 else spatial[0])


def pooled_size(shape: tuple, limit: int = 4096) -> tuple[nn.Module, int]:
    """(pooling module, features after pooling and flattening) for outputs of ``shape`` per sample."""
    channels, spatial = shape[0], list(shape[1:])
    i = 0
    while spatial and channels * math.prod(spatial) > limit and any(s > 1 for s in spatial):
        if spatial[i % len(spatial)] > 1:
            spatial[i % len(spatial)] = math.ceil(spatial[i % len(spatial)] / 2)
        i += 1
    if tuple(spatial) == tuple(shape[1:]):
        return nn.Flatten(), math.prod(shape)
    return nn.Sequential(_pool(tuple(spatial)), nn.Flatten()), channels * math.prod(spatial)


def auxiliary_classifier(shape: tuple, n_classes: int, grid: int = 2, hidden_layers: int = 0) -> nn.Module:
    """Pool feature maps to ``grid`` per spatial dimension, then an MLP with ``hidden_layers`` hidden layers."""
    spatial = tuple(min(grid, s) for s in shape[1:])
    width = shape[0] * math.prod(spatial)
    layers: list[nn.Module] = [_pool(spatial), nn.Flatten()] if spatial else [nn.Flatten()]
    for _ in range(hidden_layers):
        layers += [nn.Linear(width, width), nn.BatchNorm1d(width), nn.ReLU()]
    layers.append(nn.Linear(width, n_classes))
    return nn.Sequential(*layers)
