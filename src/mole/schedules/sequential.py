"""The sequential schedule (the paper's).

Module 1 trains for its whole budget, is frozen, and its outputs over the training set are
computed *once* and cached; module 2 then trains on the cache, and so on. A frozen module never
runs again during training, so the cost of module k's epochs is that of module k alone.
"""
from __future__ import annotations

import time

import torch

from ..callbacks import CallbackList
from ..memory import ActivationMemory
from ..stage import Stage
from ..adapters import TrainData
from .base import EpochMeter, Schedule


class SequentialSchedule(Schedule):
    name = "sequential"

    def run(self, stages: list[Stage], data: TrainData, *, epochs: int, batch_size: int,
            generator: torch.Generator, callbacks: CallbackList, memory: ActivationMemory,
            start: int = 0) -> None:
        t = data.x  # T_0 = X; replaced by the cached T_k after module k
        n_batches = data.n_batches(batch_size)
        for stage in stages:
            if stage.index >= start:
                callbacks.on_stage_begin(stage=stage, epochs=epochs, batches_per_epoch=n_batches)
                for epoch in range(epochs):
                    tic, meter = time.perf_counter(), EpochMeter()
                    for batch in data.batches(t, batch_size, generator):
                        with memory.step():
                            loss, terms = stage.step(batch)
                        meter.add(stage.index, loss, terms)
                        callbacks.on_batch_end(stage=stage, loss=loss)
                    callbacks.on_epoch_end(record=meter.record(stage.index, epoch, time.perf_counter() - tic),
                                           stage=stage)
                callbacks.on_stage_end(stage=stage)
            stage.freeze()
            if not stage.is_head:
                t = data.transform(stage.module, t, batch_size)  # cache T_k once
