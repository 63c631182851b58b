"""The schedule interface: in what order the stages take their local steps.

A schedule owns only the orchestration. Objectives, estimators and the step itself live in the
stages, so a new schedule (simultaneous, asynchronous) is a new ``run`` and nothing else.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

import torch

from ..callbacks import CallbackList
from ..memory import ActivationMemory
from ..stage import Stage


@dataclass
class TrainData:
    """The training set: raw inputs x (n, ...) and labels y (n,), on the training device."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]


def minibatches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches covering 0..n-1; a trailing batch of one sample is dropped
    (a one-sample Gram matrix carries no information)."""
    perm = torch.randperm(n, generator=generator)
    batches = list(perm.split(batch_size))
    if len(batches) > 1 and batches[-1].numel() < 2:
        batches.pop()
    return batches


def count_batches(n: int, batch_size: int) -> int:
    """Number of batches :func:`minibatches` yields for n samples."""
    full, rest = divmod(n, batch_size)
    return full + (rest >= 2 or (rest == 1 and full == 0))


class Schedule(ABC):
    name: ClassVar[str] = ""

    @abstractmethod
    def run(self, stages: list[Stage], data: TrainData, *, epochs: int, batch_size: int,
            generator: torch.Generator, callbacks: CallbackList, memory: ActivationMemory,
            start: int = 0) -> None:
        """Train ``stages`` on ``data``; stages with index < ``start`` are already trained."""
