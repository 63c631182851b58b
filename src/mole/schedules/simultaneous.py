r"""The simultaneous schedule: every mini-batch updates every module.

Per batch, module 1 takes its local step on the batch; its train-mode output, detached, is the
input of module 2's step on the same batch, and so on up to the head:

.. math:: T_0 = X_B,\qquad T_k = M_k(\operatorname{sg}[T_{k-1}]),\qquad
          \theta_k \leftarrow \theta_k - \eta\,\nabla_{\theta_k} \mathcal{L}_k(T_k)\quad k = 1..K

(sg: stop-gradient; the update is the stage's own optimizer step), as in simultaneous local
learning (DGL, Belilovsky et al. 2020; InfoPro, Wang et al. 2021). Cost per batch: one forward
and one local backward per module, with one module's autograd graph alive at a time; modules
never wait for one another to converge, but module k trains on a moving input while modules < k
are still learning.

Read-out and context (``edge_index``, selected nodes, per-graph pooling) belong to the batch and
stay the same along the chain, so node- and graph-level graphs work unchanged. Stages before
``start`` (resume) are frozen; their output is computed once, in evaluation mode, and cached.
A checkpoint is written after every epoch (all training stages have finished it); a resumed run
continues at the next epoch with every training stage.

With a convergence budget (:mod:`mole.convergence`) a stage stops once it has converged *and* every stage before
it has stopped (until then its input still moves): it is frozen and its outputs cached like a resumed stage's,
and the schedule ends when every stage has stopped or after ``epochs``.
"""
from __future__ import annotations

import torch

from ..adapters import TrainData
from ..callbacks import CallbackList
from ..loop import train_epoch
from ..memory import ActivationMemory
from ..stage import Stage
from .base import FrozenInput, Schedule


class SimultaneousSchedule(Schedule):
    """Every stage trains at once in one process: each batch runs through the whole network and each module takes
    its own step on its own local loss (the inputs it receives are detached)."""

    name = "simultaneous"

    def run(self, stages: list[Stage], data: TrainData, *, epochs: int, batch_size: int,
            generator: torch.Generator, callbacks: CallbackList, memory: ActivationMemory,
            start: int = 0, start_epoch: int = 0, restore=None, snapshots=None, resume=False) -> None:
        # every epoch is drawn afresh: no epochs kept; trained stages (resume) are cached in memory
        frozen = FrozenInput(data, batch_size, cache_bytes=0, mode="memory")
        for stage in stages[:start]:  # already trained: T_{start-1} as the sequential schedule gets it
            stage.freeze()
            if not stage.is_head:
                frozen.add(stage.module)
        training = stages[start:]
        n_batches = data.n_batches(batch_size)
        if training and restore is not None:
            restore()
        for stage in training:
            callbacks.on_stage_begin(stage=stage, epochs=epochs, batches_per_epoch=n_batches, first_epoch=start_epoch)
        for epoch in range(start_epoch, epochs if training else 0):
            while training and training[0].converged:  # a convergence budget: the first training stages stopped
                done = training.pop(0)
                callbacks.on_stage_end(stage=done, epochs=epochs)
                done.freeze()
                if not done.is_head:
                    frozen.add(done.module)  # cached: the stages after it train on its fixed outputs
            if not training:
                break
            train_epoch(training, frozen.batches(generator, [s.module for s in training]), epoch, callbacks=callbacks,
                        memory=memory)
        for stage in training:
            callbacks.on_stage_end(stage=stage, epochs=epochs)
        for stage in training:
            stage.freeze()
