r"""Optimizers and learning-rate schedules, built in one place for every stage of every rule.

Each stage (a module with its local objective, or the whole network under backprop) owns one
optimizer over its own parameters and one learning-rate schedule over its own epochs:

* ``adam`` (default), ``adamw`` (decoupled weight decay), ``sgd`` (with ``momentum``, Nesterov off);
* ``constant`` (default), ``cosine`` (:math:`\eta_e = \tfrac{\eta}{2}(1 + \cos(\pi e / E))` over the
  stage's E epochs), ``step`` (×0.1 after half and after three quarters of the epochs).

The schedule advances once per epoch of the stage, so under the sequential schedule every module
anneals over its own epochs, as the backprop baseline does over its.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .validation import choose

OPTIMIZERS = ("adam", "adamw", "sgd")
#: every optimizer runs PyTorch's multi-tensor ("foreach") implementation, on the CPU too, where PyTorch's own
#: default is a Python loop over the parameters: the same arithmetic (bitwise the same weights, tested), 1.2-2x
#: faster a step here (Adam over a 1024-wide Linear + BatchNorm + a 128-wide head: 1.64 against 2.80 ms on one
#: thread). A whole epoch of MNIST MLP 3×1024 moved within its run-to-run noise (MOLE 12.2 / 13.6 s with the loop,
#: 14.1 / 11.9 s with foreach; the same 97.90 %). The fused kernels step faster alone (Adam over a
#: 784-256-128-10 MLP: 0.11 against 0.29 ms) but slow the module's next matrix products here: a MOLE module step
#: over MNIST's first layer took 2.5-2.7 ms fused against 1.9 ms with foreach (the fused step runs on the OpenMP
#: pool, which then competes with the matrix library's threads on 2 cores), so foreach stays
FOREACH = True
LR_SCHEDULES = ("constant", "cosine", "step")


def check(optimizer: str, lr, weight_decay, momentum, schedule: str) -> list[str]:
    """Every problem with these optimizer settings (empty if none)."""
    problems = []
    if optimizer not in OPTIMIZERS:
        problems.append(f"optimizer must be one of {', '.join(OPTIMIZERS)}; got {optimizer!r}")
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        problems.append(f"lr must be a positive finite number; got {lr!r}")
    if not (isinstance(weight_decay, (int, float)) and math.isfinite(weight_decay) and weight_decay >= 0):
        problems.append(f"weight_decay must be a finite number >= 0; got {weight_decay!r}")
    if not (isinstance(momentum, (int, float)) and 0 <= momentum < 1):
        problems.append(f"momentum must be in [0, 1); got {momentum!r}")
    if schedule not in LR_SCHEDULES:
        problems.append(f"lr schedule must be one of {', '.join(LR_SCHEDULES)}; got {schedule!r}")
    return problems


@dataclass(frozen=True)
class LRSchedule:
    """Learning-rate factor per finished epoch of a stage: ``factor(e)`` multiplies the base lr after e epochs.

    A plain value (no wrapper around ``optimizer.step``, unlike ``torch.optim.lr_scheduler``), so a stage
    pickles into an asynchronous worker process and keeps its schedule there."""

    name: str = "constant"
    epochs: int = 1

    def factor(self, epoch: int) -> float:
        if self.name == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * min(epoch, self.epochs) / max(1, self.epochs)))
        if self.name == "step":
            milestones = {max(1, self.epochs // 2), max(1, 3 * self.epochs // 4)}
            return 0.1 ** sum(epoch >= m for m in milestones)
        return 1.0


def build_optimizer(params: list, config, epochs: int) -> tuple[torch.optim.Optimizer, LRSchedule]:
    """An optimizer over ``params`` and its per-epoch lr schedule over ``epochs`` epochs, from a
    :class:`~mole.config.TrainConfig` (``optimizer``, ``lr``, ``weight_decay``, ``momentum``, ``lr_schedule``)."""
    name = choose("optimizer", config.optimizer, OPTIMIZERS)
    lr, decay = config.lr, config.weight_decay
    if name == "adam":
        opt = torch.optim.Adam(params, lr=lr, weight_decay=decay, foreach=FOREACH)
    elif name == "adamw":
        opt = torch.optim.AdamW(params, lr=lr, weight_decay=decay, foreach=FOREACH)
    else:
        opt = torch.optim.SGD(params, lr=lr, momentum=config.momentum, weight_decay=decay, foreach=FOREACH)
    return opt, LRSchedule(choose("lr schedule", config.lr_schedule, LR_SCHEDULES), epochs)
