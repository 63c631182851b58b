"""The schedule interface: in what order the stages take their local steps.

A schedule owns only the orchestration. Objectives, estimators and the step live in the stages,
batching and read-out in the data adapter, so a new schedule (simultaneous, asynchronous) is a new
``run`` and nothing else.
"""
from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar

import torch
from torch import nn

from ..adapters import TrainData
from ..callbacks import CallbackList
from ..memory import ActivationMemory
from ..objectives import LocalBatch
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


class EpochMeter:
    """Mean local loss and logged terms of each stage over one epoch's batches.

    Every schedule (and every asynchronous worker) builds its per-epoch records with it, so the
    records look the same whatever the schedule: ``{"module", "epoch", "loss", "seconds", <terms>}``.
    """

    def __init__(self):
        self.sums: dict[int, dict[str, float]] = {}
        self.counts: dict[int, int] = {}

    def add(self, index: int, loss: float, terms: dict[str, float]) -> None:
        sums = self.sums.setdefault(index, {"loss": 0.0})
        sums["loss"] += loss
        for key, value in terms.items():
            sums[key] = sums.get(key, 0.0) + value
        self.counts[index] = self.counts.get(index, 0) + 1

    def record(self, index: int, epoch: int, seconds: float) -> dict | None:
        """The epoch's record of stage ``index`` (None if it took no step)."""
        n = self.counts.get(index, 0)
        if not n:
            return None
        sums = self.sums[index]
        return {"module": index, "epoch": epoch, "loss": sums["loss"] / n, "seconds": seconds,
                **{k: v / n for k, v in sums.items() if k != "loss"}}


class FrozenInput:
    """The input T_{k-1} of the first module still training, when the modules before it are frozen.

    Frozen outputs are computed once over the whole training set and cached (a frozen module never
    runs again). When the data augments, each batch's input is new, so the frozen modules run on
    every batch instead (evaluation mode, no graph): ``batches`` hides which of the two happens.
    """

    def __init__(self, data: TrainData, batch_size: int):
        self.data, self.batch_size = data, batch_size
        self.t = data.x  # T_0 = X, replaced by the cached T_k after each frozen module k
        self.prefix: list[nn.Module] = []  # frozen modules run per batch (augmented data only)

    def add(self, module: nn.Module) -> None:
        """Module ``module`` is frozen and feeds the next one."""
        if self.data.augments:
            self.prefix.append(module)
        else:
            self.t = self.data.transform(module, self.t, self.batch_size)

    def batches(self, generator: torch.Generator) -> Iterator[LocalBatch]:
        for batch in self.data.batches(self.t, self.batch_size, generator):
            if self.prefix:
                with torch.no_grad():
                    t = batch.t_in
                    for module in self.prefix:
                        t = module(t, *batch.context)
                batch = dataclasses.replace(batch, t_in=t)
            yield batch
