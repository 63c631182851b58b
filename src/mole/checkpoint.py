"""Checkpoint and exact resume.

At the end of an epoch (once all stages training in it have finished it) when ``every`` seconds have passed
since the last write (``TrainConfig.checkpoint_every``, 30 s; 0: after every epoch), and after every finished
stage, one file is written atomically (temporary file, then ``os.replace``) with everything that decides
the rest of the run:

* the network's weights (BatchNorm statistics included), and per stage its optimizer state, its
  objective's parameters (auxiliary heads, critics) and the epochs it has done (its lr schedule);
* the batch generator (batch order, augmentation) and torch's global RNG (dropout), CUDA's too;
* the per-epoch history and the information-plane points measured so far (callbacks with ``state_dict``);
* the position: the first stage, and its first epoch, not yet trained.

Resuming restores all of it and continues at that position, so an interrupted run, resumed on the same
machine, ends with the same weights, losses and accuracies as the uninterrupted one, bit for bit (tested
for the sequential and simultaneous schedules, with augmentation and dropout). With augmentation, the
epochs module 1 drew and every later module reuses (:class:`~mole.schedules.base.FrozenInput`) are drawn
again from the run's seed. Under the asynchronous schedule this file is written when the workers finish, and
each worker keeps its own per-epoch snapshots meanwhile (:mod:`mole.distributed.worker`). A killed run loses
at most ``every`` seconds and the epoch it interrupted. Writing after every epoch cost a quarter of the training
time on small graph collections (MUTAG: 2 steps per epoch, a write of the growing history per epoch), hence
the interval; ``every=0`` restores it. Files are read with ``torch.load(weights_only=True)``: a checkpoint
cannot run code. A write that fails (a full disk: :class:`~mole.errors.DiskFullError`) deletes its temporary file
and leaves the previous checkpoint as it was.
"""
from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import torch

from .callbacks import Callback
from .errors import CheckpointError, DiskFullError, disk_full
from .modular import ModularNetwork
from .validation import changed_settings

VERSION = 2

#: the clock of ``every`` (a name of its own, so tests can drive it)
clock = time.monotonic

_UNSIZED = (torch.nn.parameter.UninitializedParameter, torch.nn.parameter.UninitializedBuffer)


def objective_state(objective: torch.nn.Module) -> dict:
    """``objective.state_dict()`` without the lazily sized parameters that have not run yet (a critic of a module
    that has not trained, or the half of a critic that labels never use): they hold no values and cannot be
    read back with ``weights_only``."""
    return {k: v for k, v in objective.state_dict().items() if not isinstance(v, _UNSIZED)}


def load_objective_state(objective: torch.nn.Module, state: dict) -> None:
    """The inverse of :func:`objective_state`: keys it left out must still be unmaterialized here."""
    missing, unexpected = objective.load_state_dict(state, strict=False)
    lazy = {k for k, v in objective.state_dict().items() if isinstance(v, _UNSIZED)}
    if unexpected or set(missing) - lazy:
        raise CheckpointError(f"the checkpoint's objective state does not fit this objective (missing "
                              f"{sorted(set(missing) - lazy)}, unexpected {sorted(unexpected)}); delete it to start "
                              "afresh")


class Checkpoint(Callback):
    """
    Args:
        path: the checkpoint file.
        network: the network being trained.
        fingerprint: what must match for a resume (layers, configuration, rule); a mismatch is refused.
        every: seconds between writes at epoch ends (0: every epoch); stage ends always write.
    """

    def __init__(self, path: str | os.PathLike, network: ModularNetwork, fingerprint: dict, every: float = 0.0):
        self.path, self.network, self.fingerprint, self.every = Path(path), network, fingerprint, every
        self.last_write = clock()
        self.stages: list = []
        self.generator: torch.Generator | None = None
        self.stateful: list[Callback] = []
        self.active: set[int] = set()
        self.done: dict[int, int] = {}
        self.writes = True  # False in every data-parallel process but rank 0: one writer of the shared file

    def bind(self, stages: list, generator: torch.Generator, callbacks: list[Callback]) -> "Checkpoint":
        """What to save besides the network: the stages, the batch generator, callbacks with ``state_dict``."""
        self.stages, self.generator = stages, generator
        self.stateful = [cb for cb in callbacks if hasattr(cb, "state_dict") and hasattr(cb, "load_state_dict")]
        return self

    # -- events -------------------------------------------------------------------------------------
    def on_stage_begin(self, stage, **kwargs):
        self.active.add(stage.index)

    def on_epoch_end(self, record: dict, stage=None, replayed: bool = False, **kwargs):
        """Saves once every stage training in this epoch has finished it (simultaneous: all of them)."""
        if stage is None or replayed:  # replayed: the asynchronous workers' epochs, weights already final
            return
        epoch = record["epoch"] + 1
        self.done[stage.index] = epoch
        due = clock() - self.last_write >= self.every
        if due and all(self.done.get(i) == epoch for i in self.active):
            self.save(min(self.active), epoch)

    def on_stage_end(self, stage, **kwargs):
        self.active.discard(stage.index)
        if not self.active:
            self.save(stage.index + 1, 0)

    # -- file ---------------------------------------------------------------------------------------
    def save(self, stage: int, epoch: int) -> None:
        if not self.writes:
            return
        state = {
            "version": VERSION, "fingerprint": self.fingerprint, "position": [stage, epoch],
            "network": self.network.state_dict(),
            "stages": [{"optimizer": s.optimizer.state_dict(), "objective": objective_state(s.objective),
                        "epochs_done": s.epochs_done} for s in self.stages],
            "generator": self.generator.get_state() if self.generator is not None else None,
            "rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "callbacks": {type(cb).__name__: cb.state_dict() for cb in self.stateful},
        }
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "wb") as f:  # through a file object, a failed write raises OSError with its errno
                torch.save(state, f)
        except BaseException as exc:  # (Ctrl-C too)
            with contextlib.suppress(OSError):
                tmp.unlink()  # a torn temporary file: its space back; the previous checkpoint is untouched
            if disk_full(exc):
                raise DiskFullError(f"no space left on device while writing checkpoint {self.path}; the previous one "
                                    "is intact: free space there, then resume (--resume; resume=True in mole.fit)"
                                    ) from None
            raise
        os.replace(tmp, self.path)  # atomic: a crash mid-write never leaves a torn checkpoint
        self.last_write = clock()

    def load(self) -> tuple[int, int, Callable[[], None]]:
        """Restore weights, stage states and callback states; return ``(stage, epoch, restore)``: where to
        continue, and a function that restores the generator and RNG states (the schedule calls it once it
        has rebuilt its cache of frozen outputs, which may draw from the generator)."""
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user problem
            from .saving import why_unreadable
            raise CheckpointError(f"cannot read checkpoint {self.path} ({why_unreadable(exc)}); delete it to "
                                  "start afresh") from None
        if not isinstance(state, dict) or state.get("version") != VERSION:
            raise CheckpointError(f"checkpoint {self.path} was written by another version of mole; delete it to "
                                  "start afresh")
        if state.get("fingerprint") != self.fingerprint:
            changed = changed_settings(state.get("fingerprint"), self.fingerprint)
            raise CheckpointError(f"checkpoint {self.path} was written by a different network or configuration "
                                  f"({'; '.join(changed[:6]) or 'unreadable fingerprint'}); resume with the settings "
                                  "it was written with, or use another path or delete it to start afresh")
        self.network.load_state_dict(state["network"])
        for stage, saved in zip(self.stages, state["stages"]):
            stage.optimizer.load_state_dict(saved["optimizer"])
            load_objective_state(stage.objective, saved["objective"])
            stage.epochs_done = saved["epochs_done"]
        for cb in self.stateful:
            if type(cb).__name__ in state["callbacks"]:
                cb.load_state_dict(state["callbacks"][type(cb).__name__])

        def restore() -> None:
            if state["generator"] is not None and self.generator is not None:
                self.generator.set_state(state["generator"])
            torch.set_rng_state(state["rng"])
            if state["cuda_rng"] and torch.cuda.is_available():
                torch.cuda.set_rng_state_all(state["cuda_rng"])

        stage, epoch = state["position"]
        return int(stage), int(epoch), restore
