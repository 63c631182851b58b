"""The sequential schedule (the paper's).

Module 1 trains for its whole budget, is frozen, and its outputs over the training set are
computed *once* and cached; module 2 then trains on the cache, and so on. A frozen module never
runs again during training, so the cost of module k's epochs is that of module k alone. With data
augmentation, module 1's augmented epochs are kept and every later module trains on the same ones, each
frozen module running once over them (see :class:`~mole.schedules.base.FrozenInput`).
"""
from __future__ import annotations

import time

import torch

from ..callbacks import CallbackList
from ..memory import ActivationMemory
from ..stage import Stage
from ..adapters import TrainData
from .base import EpochMeter, FrozenInput, Schedule


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
                    tic, meter = time.perf_counter(), EpochMeter()
                    for batch in frozen.batches(generator):
                        with memory.step():
                            loss, terms = stage.step(batch)
                        meter.add(stage.index, loss, terms)
                        callbacks.on_batch_end(stage=stage, loss=loss)
                    callbacks.on_epoch_end(record=meter.record(stage.index, epoch, time.perf_counter() - tic),
                                           stage=stage)
                callbacks.on_stage_end(stage=stage)
            stage.freeze()
            if not stage.is_head:
                frozen.add(stage.module)
