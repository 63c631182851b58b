"""The local-objective interface and the batch a module learns from.

A local objective scores one module's output on a mini-batch and returns a loss to minimize.
Objectives may own parameters (a critic, a classifier): they are optimized together with the
module, and gradients still never leave the module.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LocalBatch:
    """What module k sees in one step.

    Attributes:
        t_in: the module's input T_{k-1}, detached (n, ...).
        x: the network's raw input X for the same samples (n, ...).
        y: class labels (n,).
    """

    t_in: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor


class LocalObjective(nn.Module, ABC):
    """Base class: ``forward(out, batch)`` returns ``(loss, terms)``; ``terms`` are floats to log."""

    @abstractmethod
    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, float]]:
        ...
