"""The local-objective interface and the batch a module learns from.

A local objective scores one module's output on a mini-batch and returns a loss to minimize.
Objectives may own parameters (a critic, a classifier): they are optimized together with the
module, and gradients still never leave the module.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn


def _identity(t: torch.Tensor) -> torch.Tensor:
    return t


@dataclass
class LocalBatch:
    """What module k sees in one step.

    Attributes:
        t_in: the module's input T_{k-1} (n_in, ...); the stage detaches it.
        x: the network's raw input X, one row per read-out sample (n, ...).
        y: class labels, one per read-out sample (n,).
        context: extra module arguments, e.g. ``(edge_index,)`` for graph layers.
        readout: maps a full module output to one row per sample (identity for plain tensors;
            the selected nodes, or per-graph pooling, for graphs).
    """

    t_in: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    context: tuple = ()
    readout: Callable[[torch.Tensor], torch.Tensor] = field(default=_identity)


class LocalObjective(nn.Module, ABC):
    """Base class: ``forward(out, batch)`` returns ``(loss, terms)``; ``terms`` are floats to log.

    ``out`` is the module's output already read out to one row per sample (n, ...).
    """

    @abstractmethod
    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, float]]:
        ...
