"""The local-objective interface.

A local objective scores one module's output on a mini-batch and returns a loss to minimize.
Objectives may own parameters (a critic, a classifier): they are optimized together with the
module, and gradients still never leave the module.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from ..batch import LocalBatch


class LocalObjective(nn.Module, ABC):
    """Base class: ``forward(out, batch)`` returns ``(loss, terms)``; ``terms`` are floats to log.

    ``out`` is the module's output already read out to one row per sample (n, ...).
    """

    #: True when the objective needs the module's output on a corrupted input (``batch.corrupted_output``):
    #: the stage then runs the module a second time, on ``batch.corrupt(t_in)``
    needs_corrupted_view: bool = False
    #: True when the objective reads the module's whole output (``batch.output``: every node of a graph)
    needs_output: bool = False

    @abstractmethod
    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, float]]:
        ...
