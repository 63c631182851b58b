"""A stage: one module with its local objective, its own optimizer and learning-rate schedule.

``step`` is the whole of local learning: the module sees a *detached* input, its loss is local,
and its optimizer holds only its own (and its objective's) parameters, so no gradient can reach
any other module. End-to-end backprop is one stage whose module is the whole network.
"""
from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .batch import LocalBatch
from .errors import DivergenceError
from .local_loss import local_loss
from .modular import evaluating
from .objectives import LocalObjective

#: params -> (optimizer, per-epoch lr schedule); see :func:`mole.optim.build_optimizer`
OptimizerFactory = Callable[[list], tuple]
#: --precision -> the autocast dtype of module forward/backward (None: full precision)
AUTOCAST = {"32": None, "bf16": torch.bfloat16, "16": torch.float16}
PRECISIONS = tuple(AUTOCAST)


class Stage:
    """One module with its local objective, its own optimizer and learning-rate schedule (see the module docstring).

    Args:
        index (int): the stage's position k among the stages (0-based).
        n_stages (int): the number of stages.
        module (nn.Module): the module it trains.
        objective (LocalObjective): what the module minimizes.
        make_optimizer: ``params -> (optimizer, per-epoch lr schedule)``, given the module's and the objective's
            parameters.
        precision (str): ``"32"``; ``"bf16"`` or ``"16"`` runs the module and objective forward under autocast.
    """

    def __init__(self, index: int, n_stages: int, module: nn.Module, objective: LocalObjective,
                 make_optimizer: OptimizerFactory, precision: str = "32"):
        self.index, self.n_stages = index, n_stages
        self.precision = precision  # "32"; "bf16" / "16": module and objective forward under autocast
        param = next(module.parameters(), None)
        device = param.device.type if param is not None else "cpu"
        self.scaler = torch.amp.GradScaler(device) if precision == "16" else None  # float16 gradients need scaling
        self.module, self.objective = module, objective
        self.optimizer, self.lr_schedule = make_optimizer(list(module.parameters()) + list(objective.parameters()))
        self.base_lrs = [group["lr"] for group in self.optimizer.param_groups]
        self.epochs_done = 0
        self.last_loss: float = float("nan")
        self.output: torch.Tensor | None = None  # T_k of the last step, detached, if asked to keep it
        self.frozen = False
        self.converged = False  # a convergence budget (mole.convergence) ended its training before its last epoch
        #: (rank, processes) when it trains data-parallel on shards of every batch (mole.distributed.data_parallel)
        self.shards: tuple[int, int] | None = None

    @property
    def is_head(self) -> bool:
        return self.index == self.n_stages - 1

    def step(self, batch: LocalBatch, keep_output: bool = False) -> tuple[float, dict[str, float]]:
        """One local update on a mini-batch; returns (loss, logged terms).

        With ``keep_output``, the module's train-mode output T_k on ``batch.t_in`` (before read-out,
        detached) is kept in :attr:`output`, e.g. as the next module's input; otherwise it is None.
        """
        self.module.train()
        self.objective.train()
        loss, terms = self._loss(batch, keep_output, gather=self.shards is not None)
        self.last_loss = float(loss.detach())
        terms = {key: float(value) for key, value in terms.items()}  # logged: read to the host once per step
        if not math.isfinite(self.last_loss):  # stop before the step would spread it into the weights
            raise DivergenceError(f"module {self.index + 1} diverged: its loss is {self.last_loss}")
        self.optimizer.zero_grad(set_to_none=True)
        if self.shards is not None and batch.total and not self.objective.batch_level:
            loss = loss * (self.shards[1] * batch.y.shape[0] / batch.total)  # the processes' mean: the batch's mean
        if self.scaler is not None:
            self.scaler.scale(loss).backward()
        else:
            loss.backward()
        if self.shards is not None:  # every process takes the step of the whole batch
            from .distributed.data_parallel import average_gradients  # (the package imports the stages)
            average_gradients([p for group in self.optimizer.param_groups for p in group["params"]], self.shards[1])
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        return self.last_loss, terms

    def _loss(self, batch: LocalBatch, keep_output: bool = False,
              gather: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The local loss on ``batch`` (and its logged terms), in the modes the module and objective are in
        (:func:`mole.local_loss.local_loss`, under the stage's precision; ``gather``: data-parallel shards)."""
        t_out, loss, terms = local_loss(self.index, self.module, self.objective, batch,
                                        autocast=AUTOCAST.get(self.precision), gather=gather)
        self.output = t_out.detach().float() if keep_output else None
        return loss, terms

    @torch.no_grad()
    def evaluate(self, batch: LocalBatch) -> float:
        """The local loss on ``batch`` without a step: module and objective in evaluation mode, no gradient (held-out
        data, :mod:`mole.convergence`). Their modes are restored afterwards."""
        output = self.output  # the last training step's output stays (the next module's example)
        try:
            with evaluating(self.module, self.objective):
                loss, _ = self._loss(batch)
        finally:
            self.output = output
        return float(loss)

    @torch.no_grad()
    def features(self, batch: LocalBatch) -> torch.Tensor:
        """The module's read-out output on ``batch`` (one row per sample) in evaluation mode, without a step (a probe
        of held-out data, :mod:`mole.convergence`); its mode is restored afterwards."""
        with evaluating(self.module):
            return batch.readout(self.module(batch.t_in, *batch.context))

    def end_epoch(self) -> None:
        """The stage finished one of its epochs: set the learning rate its schedule gives for the next."""
        self.epochs_done += 1
        factor = self.lr_schedule.factor(self.epochs_done)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = base * factor

    @torch.no_grad()
    def forward_frozen(self, batch: LocalBatch) -> torch.Tensor:
        """The frozen module's output on ``batch.t_in`` (evaluation mode)."""
        self.module.eval()
        return self.module(batch.t_in, *batch.context)

    def freeze(self) -> None:
        self.module.eval()
        self.frozen = True
        for p in self.module.parameters():
            p.requires_grad_(False)
