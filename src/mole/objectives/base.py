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
    """Base class: ``forward(out, batch)`` returns ``(loss, terms)``; ``terms`` are values to log, as detached 0-d
    tensors (reading them to the host is the caller's choice: on a GPU each read waits for the device).

    ``out`` is the module's output already read out to one row per sample (n, ...).
    """

    #: True when the objective needs the module's output on a corrupted input (``batch.corrupted_output``):
    #: the stage then runs the module a second time, on ``batch.corrupt(t_in)``
    needs_corrupted_view: bool = False
    #: True when the objective reads the module's whole output (``batch.output``: every node of a graph)
    needs_output: bool = False
    #: True when the loss of a batch is not a mean of per-sample losses (a Gram matrix, similarities or contrastive
    #: scores over the batch): data-parallel training then gathers the read-out rows of every process before it
    #: (:mod:`mole.distributed.gather`), so that N processes with B/N samples each compute the loss of B
    batch_level: bool = False
    #: False when a batch-level loss reads more than the read-out rows, X, Y and T_{k-1} (a graph's whole output,
    #: hidden modules' outputs): data-parallel training refuses it instead of computing a different loss
    gatherable: bool = True

    @abstractmethod
    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        ...
