r"""A module's local loss: the one definition every way of training shares.

For module k with input :math:`T_{k-1}` (detached: no gradient reaches the modules before it), output
:math:`T_k = M_k(\operatorname{sg}[T_{k-1}])` and local objective :math:`\mathcal{L}_k`,

.. math:: \ell_k = \mathcal{L}_k\big(r(T_k),\ \text{batch}\big),

where :math:`r` reads the output out to one row per sample (the identity for plain tensors; selected nodes or
pooled graphs). :class:`~mole.stage.Stage` steps its own optimizer on :math:`\ell_k` (``mole.fit``, ``mole run``,
every schedule); :class:`~mole.local_model.LocalModel` returns :math:`\sum_k \ell_k` to a user's loop. A
batch-level objective under data parallelism reads the rows of every process (:mod:`mole.distributed.gather`).
"""
from __future__ import annotations

import contextlib
import dataclasses

import torch
from torch import nn

from .batch import LocalBatch
from .errors import ConfigError, DataError, DivergenceError
from .objectives import LocalObjective


def local_loss(index: int, module: nn.Module, objective: LocalObjective, batch: LocalBatch, *,
               autocast: torch.dtype | None = None, gather: bool = False
               ) -> tuple[torch.Tensor, torch.Tensor, dict[str, torch.Tensor]]:
    """Module ``index``'s output on ``batch.t_in`` (before read-out, with its graph), its local loss, and the
    objective's logged terms, in the modes the module and objective are in.

    ``autocast``: run the module and objective under ``torch.autocast`` of this dtype; None leaves the precision to
    the caller (a user's own ``torch.autocast`` applies). ``gather``: a batch-level objective reads the rows of every
    process (data parallelism)."""
    batch = dataclasses.replace(batch, x=batch.x.detach())  # objectives reading X (I(T;X), nHSIC) send it nothing
    region = (torch.autocast(batch.t_in.device.type, dtype=autocast) if autocast is not None
              else contextlib.nullcontext())
    with region:
        t_in = batch.t_in.detach()
        t_out = module(t_in, *batch.context)
        if objective.needs_corrupted_view:  # label-free contrastive terms: the same module, corrupted input
            if batch.corrupt is None:
                raise ConfigError(f"module {index + 1}'s objective contrasts a corrupted view of its input "
                                  "(Deep Graph Infomax: --lambda-graph), which only node-level graph data has; "
                                  "set lambda_graph to 0 for this data")
            corrupted = module(batch.corrupt(t_in), *batch.context)
            batch = dataclasses.replace(batch, output=t_out, corrupted_output=corrupted)
        elif objective.needs_output:
            batch = dataclasses.replace(batch, output=t_out)
        rows = batch.readout(t_out)  # one row per sample
        if gather and objective.batch_level:
            if not objective.gatherable:
                raise ConfigError(f"module {index + 1}'s objective ({type(objective).__name__}) estimates over the "
                                  "batch from more than its rows, which data-parallel training cannot gather; "
                                  "train it in one process")
            from .distributed.gather import gather_batch
            rows, batch = gather_batch(rows, dataclasses.replace(batch, t_in=t_in), index)
        try:  # estimators compute in float32 whatever the autocast (see mole.estimators.base)
            loss, terms = objective(rows, batch)
        except DataError as exc:  # the data was checked at load: non-finite values here are the module's own
            raise DivergenceError(f"module {index + 1} diverged: {exc}") from None
    return t_out, loss, terms
