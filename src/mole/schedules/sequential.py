"""The sequential schedule (the paper's).

Module 1 trains for its whole budget, is frozen, and its outputs over the training set are
computed *once* and cached; module 2 then trains on the cache, and so on. A frozen module never
runs again during training, so the cost of module k's epochs is that of module k alone. With data
augmentation, module 1's augmented epochs are kept and every later module trains on the same ones, each
frozen module running once over them (see :class:`~mole.schedules.base.FrozenInput`).
"""
from __future__ import annotations

import torch

from ..adapters import TrainData
from ..callbacks import CallbackList
from ..loop import train_epoch
from ..memory import ActivationMemory
from ..stage import Stage
from .base import FrozenInput, Schedule


class SequentialSchedule(Schedule):
    name = "sequential"

    def run(self, stages: list[Stage], data: TrainData, *, epochs: int, batch_size: int,
            generator: torch.Generator, callbacks: CallbackList, memory: ActivationMemory,
            start: int = 0) -> None:
        frozen = FrozenInput(data, batch_size)  # T_{k-1}: cached over the data, or over the kept augmented epochs
        n_batches = data.n_batches(batch_size)
        for stage in stages:
            if stage.index >= start:
                callbacks.on_stage_begin(stage=stage, epochs=epochs, batches_per_epoch=n_batches)
                for epoch in range(epochs):
                    train_epoch([stage], frozen.batches(generator), epoch, callbacks=callbacks, memory=memory)
                callbacks.on_stage_end(stage=stage, epochs=epochs)
            stage.freeze()
            if not stage.is_head:
                frozen.add(stage.module)
