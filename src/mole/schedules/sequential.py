"""The sequential schedule (the paper's).

Module 1 trains for its whole budget (or, with a convergence budget, until it stops improving on held-out
data: :mod:`mole.convergence`), is frozen, and its outputs over the training set are
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
    """
    Args:
        cache: how frozen outputs are held: ``auto``, ``memory``, ``disk`` or ``recompute``
            (see :class:`~mole.schedules.base.FrozenInput`).
        cache_limit_mb: the in-memory budget of ``auto`` (None: an eighth of the memory, at most 3 GiB).
        cache_dir: folder of the disk cache (None: a temporary folder); keep_cache: leave its files there.
    """

    name = "sequential"

    def __init__(self, cache: str = "auto", cache_limit_mb: float | None = None, cache_dir: str | None = None,
                 keep_cache: bool = False):
        self.cache, self.cache_limit_mb, self.cache_dir, self.keep_cache = cache, cache_limit_mb, cache_dir, keep_cache
        self.info: dict = {}

    @classmethod
    def from_config(cls, config) -> "SequentialSchedule":
        return cls(config.cache, config.cache_limit_mb, config.cache_dir, config.keep_cache)

    def run(self, stages: list[Stage], data: TrainData, *, epochs: int, batch_size: int,
            generator: torch.Generator, callbacks: CallbackList, memory: ActivationMemory,
            start: int = 0, start_epoch: int = 0, restore=None, snapshots=None, resume=False) -> None:
        limit = None if self.cache_limit_mb is None else int(self.cache_limit_mb * 2**20)
        # T_{k-1}: cached over the data (memory, disk or recomputed), or over the kept augmented epochs
        frozen = FrozenInput(data, batch_size, mode=self.cache, limit_bytes=limit, folder=self.cache_dir,
                             keep=self.keep_cache)
        if data.augments and (start or start_epoch) and start < len(stages):
            # the kept epochs drawn so far: module 1's, and any a later module drew beyond them (a convergence budget)
            frozen.replay(max(s.epochs_done for s in stages[:start + 1]), generator)
        n_batches = data.n_batches(batch_size)
        try:
            for stage in stages:
                if stage.index >= start:
                    first = start_epoch if stage.index == start else 0
                    if stage.index == start and restore is not None:
                        restore()
                    frozen.skip_to(first)
                    callbacks.on_stage_begin(stage=stage, epochs=epochs, batches_per_epoch=n_batches,
                                             first_epoch=first)
                    for epoch in range(first, epochs if not stage.converged else first):
                        train_epoch([stage], frozen.batches(generator, [stage.module]), epoch, callbacks=callbacks,
                                    memory=memory, augments=data.augments)
                        if stage.converged:  # a convergence budget: it stopped learning (mole.convergence)
                            break
                    callbacks.on_stage_end(stage=stage, epochs=epochs)
                stage.freeze()
                if not stage.is_head:
                    frozen.add(stage.module, stage.output)
        finally:
            frozen.close()
        self.info = {"cache": frozen.held}
