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
            start: int = 0, start_epoch: int = 0, restore=None, snapshots=None, resume=False) -> None:
        frozen = FrozenInput(data, batch_size)  # T_{k-1}: cached over the data, or over the kept augmented epochs
        if data.augments and (start or start_epoch) and start < len(stages):
            frozen.replay(start_epoch if start == 0 else epochs, generator)  # module 1's kept epochs
        n_batches = data.n_batches(batch_size)
        for stage in stages:
            if stage.index >= start:
                first = start_epoch if stage.index == start else 0
                if stage.index == start and restore is not None:
                    restore()
                frozen.skip_to(first)
                callbacks.on_stage_begin(stage=stage, epochs=epochs, batches_per_epoch=n_batches, first_epoch=first)
                for epoch in range(first, epochs):
                    train_epoch([stage], frozen.batches(generator), epoch, callbacks=callbacks, memory=memory)
                callbacks.on_stage_end(stage=stage, epochs=epochs)
            stage.freeze()
            if not stage.is_head:
                frozen.add(stage.module)
