"""The schedule interface: in what order the stages take their local steps.

A schedule owns only the orchestration. Objectives, estimators and the step live in the stages,
batching and read-out in the data adapter, so a new schedule (simultaneous, asynchronous) is a new
``run`` and nothing else.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

import torch

from ..adapters import TrainData
from ..callbacks import CallbackList
from ..memory import ActivationMemory
from ..stage import Stage


class Schedule(ABC):
    name: ClassVar[str] = ""
    #: wall seconds of the training loop proper, if the schedule measures it apart from start-up
    loop_seconds: float | None = None
    #: what the schedule wants recorded (e.g. workers and their modules)
    info: dict = {}

    @classmethod
    def from_config(cls, config) -> "Schedule":
        """Build from a :class:`~mole.config.TrainConfig` (schedules with settings read them here)."""
        return cls()

    @abstractmethod
    def run(self, stages: list[Stage], data: TrainData, *, epochs: int, batch_size: int,
            generator: torch.Generator, callbacks: CallbackList, memory: ActivationMemory,
            start: int = 0) -> None:
        """Train ``stages`` on ``data``; stages with index < ``start`` are already trained."""
