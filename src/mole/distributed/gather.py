r"""Data-parallel batch-level objectives: the read-out rows of every process, with their gradients.

Under ``DistributedDataParallel`` each of N processes holds B/N samples of a global batch of B. A loss that is a
mean over samples (cross-entropy, an auxiliary classifier's) is then exact: DDP averages the N gradients of the
N local means, which is the gradient of the mean over B. A *batch-level* loss is not a mean over samples (MOLE's
matrix-based Rényi MI builds a Gram matrix over the batch; PredSim and the HSIC bottleneck compare every pair of
samples; InfoNCE contrasts each sample with the others), so N losses over B/N samples are a different objective
from one over B. As in SimCLR- and CLIP-style training, every process therefore gathers the read-out rows of all
processes, :math:`Z = [Z_1; \dots; Z_N]` (with X, Y and the module's input alike), and computes the loss
:math:`\mathcal{L}(Z)` of the whole batch. The gather is differentiable (``torch.distributed.nn``): its backward
sums the gradients that reach each process's rows from every process, so process r's rows receive
:math:`N\,\partial\mathcal{L}/\partial Z_r`, and DDP's average over the N processes leaves

.. math:: \frac{1}{N}\sum_{r=1}^{N} N\,\frac{\partial \mathcal{L}}{\partial Z_r}\frac{\partial Z_r}{\partial\theta}
          = \frac{\partial \mathcal{L}}{\partial \theta},

the gradient of one process training on B (the objective's own parameters, a critic or projection, get
:math:`\partial\mathcal{L}/\partial\phi` in every process, which DDP's average keeps). Under DDP every process must
hold the same number of rows (``DistributedSampler`` pads the data to a multiple of N; give each process the same
batch size); a shard that knows its global batch (``LocalBatch.total``, :mod:`mole.distributed.data_parallel`) may be
one row shorter than others, padded for the gather and trimmed after it.

The gathered rows stand in the order of the global batch as ``DistributedSampler`` deals it (process r holds its
samples r, N + r, 2N + r, ...), which is the order one process with the same permutation draws: estimates that
read a subset of rows (the median kernel width reads a strided subset of a large batch) then match too.
"""
from __future__ import annotations

import dataclasses

import torch
import torch.distributed as dist
import torch.distributed.nn.functional as dist_fn

from ..batch import LocalBatch
from ..errors import ConfigError


def world_size() -> int:
    """Processes in the default group (1 when torch.distributed is not initialized)."""
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def _interleave(parts, total: int) -> torch.Tensor:
    """Row i of process r at position N·i + r: the global batch in the order one process draws it (its first
    ``total`` rows: the padding of shorter shards falls at the end)."""
    return torch.stack(parts, dim=1).flatten(0, 1)[:total]


def _padded(t: torch.Tensor, rows: int) -> torch.Tensor:
    """``t`` with zero rows appended up to ``rows`` (all_gather takes tensors of one shape)."""
    if t.shape[0] == rows:
        return t.contiguous()
    return torch.cat([t, t.new_zeros((rows - t.shape[0], *t.shape[1:]))])


def gather_rows(rows: torch.Tensor, total: int | None = None) -> torch.Tensor:
    """``rows`` (n, ...) of every process, in the order of the global batch of ``total`` rows (default N·n) as
    ``DistributedSampler`` deals it out (process r holds samples r, N + r, 2N + r, ...); gradients flow back to each
    process's own rows (summed over the processes, see the module docstring)."""
    world = dist.get_world_size()
    total = total or world * rows.shape[0]
    return _interleave(dist_fn.all_gather(_padded(rows, -(-total // world))), total)


def _gather_plain(t: torch.Tensor, total: int) -> torch.Tensor:
    world = dist.get_world_size()
    parts = [torch.empty((-(-total // world), *t.shape[1:]), dtype=t.dtype, device=t.device) for _ in range(world)]
    dist.all_gather(parts, _padded(t, parts[0].shape[0]))
    return _interleave(parts, total)


def gather_batch(rows: torch.Tensor, batch: LocalBatch, index: int) -> tuple[torch.Tensor, LocalBatch]:
    """The read-out rows and the batch of every process, for module ``index``'s batch-level objective: rows with
    their gradients, X, Y and T_{k-1} without (the stage detached them). Batches whose rows are not one per sample
    of plain tensors (graphs, stacked augmented views) raise a ConfigError."""
    if batch.context or batch.views > 1 or batch.output is not None or rows.shape[0] != batch.t_in.shape[0]:
        raise ConfigError(f"module {index + 1}'s objective estimates over the whole batch, and data-parallel "
                          "training gathers the batch of every process only for plain tensors (one row per sample, "
                          "one view): train graphs or augmented views in one process")
    total = batch.total or dist.get_world_size() * rows.shape[0]  # a shard of a known batch, or equal shards
    x, y, t_in = (_gather_plain(t.detach(), total) for t in (batch.x, batch.y, batch.t_in))
    return gather_rows(rows, total), dataclasses.replace(batch, x=x, y=y, t_in=t_in, total=0)
