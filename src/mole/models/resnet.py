r"""Deep networks for images and signals: CIFAR-style ResNets and a VGG-style plain CNN, one block per module.

``ResNet(depth)`` is He et al.'s CIFAR ResNet (*Deep residual learning*, 2016, section 4.2): depth = 6n + 2
(20, 32, 44, 56, 110), a 3×3 stem convolution with 16 channels, three stages of n basic blocks with 16, 32
and 64 channels (the first block of stages 2 and 3 halves the map with stride 2; its shortcut is a 1×1
strided convolution with BatchNorm, "option B"), then global average pooling and a linear head:

.. math:: \mathrm{block}(x) = \mathrm{ReLU}\big(\mathrm{BN}(W_2 * \mathrm{ReLU}(\mathrm{BN}(W_1 * x)))
          + \mathrm{shortcut}(x)\big)

``VGG(depth)`` stacks ``depth`` Conv–BN–ReLU blocks of 3×3 convolutions in stages of doubling width
(64, 128, 256, 512), max-pooling between stages while the map is at least 2 wide, then pooling and a
linear head. Both return an ``nn.Sequential`` whose top-level children are the stem, every block and the
head, so :class:`mole.ModularNetwork` makes each block a module (``module_size`` groups consecutive blocks).
Inputs of shape (C, L) get the 1-D layers, (C, H, W) the 2-D ones.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ..errors import ConfigError

_LAYERS = {1: (nn.Conv1d, nn.BatchNorm1d, nn.MaxPool1d, nn.AdaptiveAvgPool1d),
           2: (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d)}


def _layers(input_shape: Sequence[int], model: str):
    dim = len(input_shape) - 1
    if dim not in _LAYERS:
        raise ConfigError(f"{model} needs inputs shaped (C, L) or (C, H, W); got {tuple(input_shape)}. "
                          "Use --model mlp for vector data.")
    return _LAYERS[dim]


class BasicBlock(nn.Module):
    """Two 3×3 Conv–BN layers with a residual connection (a 1×1 Conv–BN shortcut where the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int, dim: int):
        super().__init__()
        Conv, Norm, _, _ = _LAYERS[dim]
        self.conv1, self.bn1 = Conv(c_in, c_out, 3, stride=stride, padding=1, bias=False), Norm(c_out)
        self.conv2, self.bn2 = Conv(c_out, c_out, 3, padding=1, bias=False), Norm(c_out)
        self.shortcut = (nn.Sequential(Conv(c_in, c_out, 1, stride=stride, bias=False), Norm(c_out))
                         if stride != 1 or c_in != c_out else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def ResNet(input_shape: Sequence[int], n_classes: int, depth: int = 20, width: int = 16) -> nn.Sequential:
    """CIFAR ResNet-``depth`` (6n + 2) for inputs ``input_shape``; ``width``: channels of the first stage."""
    if not (isinstance(depth, int) and depth >= 8 and (depth - 2) % 6 == 0):
        raise ConfigError(f"ResNet depth must be 6n + 2 with n >= 1 (8, 20, 32, 44, 56, 110); got {depth!r}")
    Conv, Norm, _, Avg = _layers(input_shape, "resnet")
    dim, n = len(input_shape) - 1, (depth - 2) // 6
    layers: list[nn.Module] = [nn.Sequential(Conv(input_shape[0], width, 3, padding=1, bias=False), Norm(width),
                                             nn.ReLU())]
    c_in = width
    for stage in range(3):
        c_out = width * 2 ** stage
        for i in range(n):
            layers.append(BasicBlock(c_in, c_out, 2 if (i == 0 and stage > 0) else 1, dim))
            c_in = c_out
    layers.append(nn.Sequential(Avg(1), nn.Flatten(), nn.Linear(c_in, n_classes)))
    return nn.Sequential(*layers)


def VGG(input_shape: Sequence[int], n_classes: int, depth: int = 11, widths: Sequence[int] = (64, 128, 256, 512)
        ) -> nn.Sequential:
    """A plain deep CNN of ``depth`` Conv–BN–ReLU blocks in len(widths) stages, pooling between stages."""
    if not (isinstance(depth, int) and depth >= len(widths)):
        raise ConfigError(f"VGG depth must be an integer >= {len(widths)} (one block per stage at least); got {depth!r}")
    Conv, Norm, Pool, Avg = _layers(input_shape, "vgg")
    per_stage = [depth // len(widths) + (1 if s < depth % len(widths) else 0) for s in range(len(widths))]
    layers: list[nn.Module] = []
    c_in, size = input_shape[0], min(input_shape[1:])
    for stage, (count, c_out) in enumerate(zip(per_stage, widths)):
        for i in range(count):
            block: list[nn.Module] = [Conv(c_in, c_out, 3, padding=1, bias=False), Norm(c_out), nn.ReLU()]
            if i == count - 1 and stage < len(widths) - 1 and size >= 2:
                block.append(Pool(2))
                size //= 2
            layers.append(nn.Sequential(*block))
            c_in = c_out
    layers.append(nn.Sequential(Avg(1), nn.Flatten(), nn.Linear(c_in, n_classes)))
    return nn.Sequential(*layers)
