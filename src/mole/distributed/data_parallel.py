r"""Data parallelism for ``mole.fit`` and ``mole run`` started by torchrun with the sequential or simultaneous schedule.

N processes (``torchrun --nproc-per-node N``, or N nodes) hold the same network and draw the same global batches from
the same generator; process r trains on its shard of every batch, rows r, N + r, 2N + r, ... (the order
``DistributedSampler`` deals), so the N shards together are the batch one process trains on. Each stage's step is the
one-process step:

* a loss that is a mean over samples is weighted by :math:`N n_r / B` (``n_r`` rows of a global batch of B), so that
  the average over the processes is the mean over the batch even when N does not divide B;
* a batch-level objective reads the rows of every process (:mod:`mole.distributed.gather`) and computes the loss of
  the whole batch;
* after the backward, every process averages its stage's gradients over the processes (an all-reduce, what
  ``DistributedDataParallel``'s reducer does for :class:`mole.LocalModel`), so every process takes the same step and
  the copies stay equal.

Frozen modules' outputs (the sequential schedule's cache) are computed in every process; only rank 0 writes
checkpoints and the run folder. Plain samples only (vectors, signals, images, one view): graphs, augmented views and
Forward-Forward's positive/negative rows train in one process or with the asynchronous schedule.
"""
from __future__ import annotations

import dataclasses
import os

import torch
import torch.distributed as dist

from ..batch import LocalBatch

#: schedules that train data-parallel under torchrun (the asynchronous one spreads modules over the processes instead)
DATA_PARALLEL_SCHEDULES = ("sequential", "simultaneous")


def launched() -> bool:
    """Whether torchrun started this process as one of several (and not as one of mole's own pipeline workers)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and "MOLE_WORKER" not in os.environ


def data_parallel(schedule: str) -> bool:
    """Whether a run of ``schedule`` in this process trains data-parallel (torchrun, a schedule of
    :data:`DATA_PARALLEL_SCHEDULES`): every process trains every method, rank 0 writes."""
    return schedule in DATA_PARALLEL_SCHEDULES and launched()


_joined = False  # this process joined the group in join() (and leaves it in leave())


def join(device: torch.device) -> tuple[int, int]:
    """Join torchrun's process group (gloo on CPUs, nccl on GPUs) unless joined; (rank, world size)."""
    global _joined
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        _joined = True
    return dist.get_rank(), dist.get_world_size()


def leave() -> None:
    """Leave the group :func:`join` joined, once every process is done (a run's end; a no-op otherwise)."""
    global _joined
    if _joined and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
    _joined = False


def shard(batch: LocalBatch, rank: int, world: int) -> LocalBatch:
    """Process ``rank``'s rows of a global batch (rows rank, world + rank, ...), which records its global size."""
    rows = slice(rank, None, world)
    return dataclasses.replace(batch, t_in=batch.t_in[rows], x=batch.x[rows], y=batch.y[rows],
                               total=batch.y.shape[0])


def average_gradients(parameters: list[torch.nn.Parameter], world: int) -> None:
    """Every process's gradients of ``parameters`` replaced by their mean over the processes (one all-reduce)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()
