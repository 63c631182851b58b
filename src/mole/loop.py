r"""The one training loop: an epoch of local steps over a chain of stages.

Every schedule, the asynchronous worker and end-to-end backprop run their epochs through
:func:`train_epoch`. Per batch, the chain's stages take their steps in order, each on the detached
output of the one before,

.. math:: T_0 = X_B,\qquad T_k = M_k(\operatorname{sg}[T_{k-1}]),\qquad
          \theta_k \leftarrow \theta_k - \eta\,\nabla_{\theta_k} \mathcal{L}_k(T_k),

so the sequential schedule passes a chain of one stage (its input cached), the simultaneous one every
training stage, and an asynchronous worker its own group (its input received from the previous worker,
its output sent on by ``after_batch``). End-to-end backprop is a chain of one stage that holds the
whole network. A frozen stage in the chain (resumed, already trained) only runs forward.

Events, the same under every schedule: ``on_batch_end(stage, loss)`` after each step and
``on_epoch_end(record, stage)`` once per trained stage and epoch, with the record of
:class:`EpochMeter`.
"""
from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable

import torch

from .batch import LocalBatch
from .callbacks import Callback
from .errors import DivergenceError
from .memory import ActivationMemory
from .stage import Stage


class EpochMeter:
    """Mean local loss and logged terms of each stage over one epoch's batches.

    Records look the same whatever the schedule: ``{"module", "epoch", "loss", "seconds", <terms>}``.
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


def train_epoch(stages: list[Stage], batches: Iterable[LocalBatch], epoch: int, *, callbacks: Callback,
                memory: ActivationMemory, after_batch: Callable[[torch.Tensor], None] | None = None,
                augments: bool = False) -> list[dict]:
    """One epoch of ``stages`` (a chain, in order) over ``batches``; returns the trained stages' records.

    ``after_batch(t)`` receives the chain's last output of every batch (detached), e.g. to send it on.
    Each trained stage's learning-rate schedule advances once at the end of the epoch. A chain of one stage that a
    convergence budget marks converged after a step (:mod:`mole.convergence`) ends the epoch there; with
    ``augments`` (augmented data, whose epochs the sequential schedule keeps for later modules and redraws on resume)
    the epoch's remaining batches are still drawn, untrained.
    """
    tic, meter = time.perf_counter(), EpochMeter()
    batches = iter(batches)
    shards = next((stage.shards for stage in stages if not stage.frozen), None)  # data-parallel: this process's rows
    if shards is not None:
        from .distributed.data_parallel import shard  # (the package imports the loop)
    for batch in batches:
        if shards is not None:
            batch = shard(batch, *shards)
        t = batch.t_in
        for stage in stages:
            batch = dataclasses.replace(batch, t_in=t)
            if stage.frozen:
                t = stage.forward_frozen(batch)
                continue
            try:
                with memory.step():
                    loss, terms = stage.step(batch, keep_output=True)
            except DivergenceError as exc:
                raise DivergenceError(f"{exc} in epoch {epoch + 1}; lower the learning rate (--lr), check the "
                                      "objective's weights, or resume from the last checkpoint") from None
            t = stage.output
            meter.add(stage.index, loss, terms)
            callbacks.on_batch_end(stage=stage, loss=loss)
        if after_batch is not None:
            after_batch(t)
        if len(stages) == 1 and stages[0].converged:  # a convergence budget stopped it within the epoch
            if augments:  # the rest of the epoch is drawn all the same: a later module trains on the kept epochs
                for _ in batches:
                    pass
            break
    seconds = time.perf_counter() - tic
    records = []
    for stage in stages:
        record = meter.record(stage.index, epoch, seconds)
        if record is not None:
            stage.end_epoch()
            callbacks.on_epoch_end(record=record, stage=stage)
            records.append(record)
    return records
