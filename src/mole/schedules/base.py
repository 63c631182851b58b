"""The schedule interface: in what order the stages take their local steps.

A schedule owns only the orchestration. Objectives, estimators and the step live in the stages,
batching and read-out in the data adapter, so a new schedule (simultaneous, asynchronous) is a new
``run`` and nothing else.
"""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import shutil
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from ..adapters import TensorData, TrainData
from ..adapters.array_rows import ArrayRows
from ..adapters.rows import Rows
from ..callbacks import CallbackList
from ..errors import DiskFullError, disk_full
from ..memory import ActivationMemory
from ..batch import LocalBatch
from ..stage import Stage


class Schedule(ABC):
    """How the stages of a network train: one after another, all at once, or as a pipeline of processes. A
    schedule's :meth:`run` drives every stage's epochs over the data and reports to the callbacks."""

    name: ClassVar[str] = ""
    #: wall seconds of the training loop proper, if the schedule measures it apart from start-up
    loop_seconds: float | None = None
    #: what the schedule wants recorded (e.g. workers and their modules)
    info: dict = {}

    @classmethod
    def from_config(cls, config) -> "Schedule":
        """Build from a :class:`~mole.config.TrainConfig` (schedules with settings read them here)."""
        return cls()

    @abstractmethod
    def run(self, stages: list[Stage], data: TrainData, *, epochs: int, batch_size: int,
            generator: torch.Generator, callbacks: CallbackList, memory: ActivationMemory,
            start: int = 0, start_epoch: int = 0, restore: Callable[[], None] | None = None,
            snapshots: str | None = None, resume: bool = False) -> None:
        """Train ``stages`` on ``data``. Resuming: stages with index < ``start`` are already trained, stage
        ``start`` (simultaneous: every stage from ``start``) continues at epoch ``start_epoch``, and
        ``restore()`` (if given) sets the generator and RNG states of that point; call it once the frozen
        outputs are rebuilt, right before training continues. ``snapshots``: a folder for schedules that keep
        their own per-epoch state (asynchronous workers); with ``resume`` they continue from it."""


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # not POSIX: assume 8 GiB
        return 8 * 2**30


#: largest augmented-epoch cache of :class:`FrozenInput` (bytes): 3 GiB, at most an eighth of the machine's
#: memory; beyond it frozen modules run per batch. Also the default in-memory budget of ``cache="auto"``.
EPOCH_CACHE_BYTES = min(3 * 2**30, _physical_memory() // 8)
CACHE_MODES = ("auto", "memory", "disk", "recompute")


def _nbytes(batch: LocalBatch) -> int:
    tensors = {id(t): t for t in (batch.t_in, batch.x, batch.y) if isinstance(t, torch.Tensor)}
    return sum(t.numel() * t.element_size() for t in tensors.values())


class FrozenInput:
    """The input T_{k-1} of the first module still training, when the modules before it are frozen.

    Without augmentation, frozen outputs are computed once over the training set and cached (a frozen
    module never runs again). With augmentation every epoch's input is new. The first module to train
    draws its epochs (batch order and perturbations) from the generator and they are kept; every later
    module trains on the *same* augmented epochs, and each frozen module runs once over them when it is
    frozen (so the forward cost is that of one pass per module and epoch, not of the whole frozen prefix
    on every batch of every later module: on MNIST MLP 3×1024 that is 3 instead of 6 module-forwards per
    sample and epoch). If the kept epochs would exceed ``EPOCH_CACHE_BYTES``, they are dropped and the
    frozen modules run on every freshly drawn batch instead. ``batches`` hides which of these happens;
    call it once per epoch, and :meth:`add` when a module is frozen.

    How the cached T_k is held without augmentation (``mode``): ``"memory"`` (a tensor), ``"disk"`` (a
    memory-mapped ``.npy`` file in ``folder``, written chunk by chunk, deleted by :meth:`close` unless
    ``keep``), ``"recompute"`` (nothing held: the frozen modules run on every batch), or ``"auto"``: memory
    while T_k fits ``limit_bytes`` (never for data read on demand, :class:`~mole.adapters.rows.Rows`: its outputs
    would grow with it), else disk while the folder's file system has room, else recompute. All
    three give the same inputs (each frozen module runs in evaluation mode, per sample).
    """

    def __init__(self, data: TrainData, batch_size: int, cache_bytes: int | None = None, mode: str = "auto",
                 limit_bytes: int | None = None, folder: str | None = None, keep: bool = False):
        self.data, self.batch_size = data, batch_size
        self.t = data.x  # T_0 = X, replaced by the cached T_k after each frozen module k
        self.prefix: list[nn.Module] = []  # every frozen module, in order (run per batch without epoch cache)
        self.epochs: list[list[LocalBatch]] | None = []  # augmented epochs with t_in = T_{k-1}; None: too big
        self.cache_bytes = EPOCH_CACHE_BYTES if cache_bytes is None else cache_bytes
        self.mode, self.limit = mode, EPOCH_CACHE_BYTES if limit_bytes is None else limit_bytes
        self.folder, self.keep, self._own_folder = folder, keep, False
        self.recompute = False  # once a T_k is recomputed, every later one is (the prefix runs per batch)
        self.held: list[str] = []  # how each frozen module's output was held, in order
        self._bytes, self._epoch = 0, 0

    def add(self, module: nn.Module, example: torch.Tensor | None = None) -> None:
        """Module ``module`` is frozen and feeds the next one. ``example``: an output it produced in training
        (e.g. its last batch), which tells the size of its output without running it again."""
        self._epoch = 0
        if not self.data.augments:
            how = "recompute" if self.recompute else self._choose(module, example)
            self.held.append(how)
            if how == "recompute":
                self.prefix.append(module)
                self.recompute = True
            elif how == "disk":
                self.t = self._to_disk(module)
            else:
                self.t = self.data.transform(module, self.t, self.batch_size)
            return
        self.prefix.append(module)
        if self.epochs:
            module.eval()
            with torch.no_grad():
                self.epochs = [[dataclasses.replace(b, t_in=module(b.t_in, *b.context)) for b in epoch]
                               for epoch in self.epochs]
            self._bytes = sum(_nbytes(b) for epoch in self.epochs for b in epoch)
            if self._bytes > self.cache_bytes:
                self.epochs = None

    def _row_shape(self, module: nn.Module, example: torch.Tensor | None = None) -> tuple | None:
        """Shape of one row of ``module``'s output (plain tensors), or None (graphs: rows need the whole graph)."""
        if not isinstance(self.data, TensorData):
            return None
        if example is not None:
            return tuple(example.shape[1:])
        module.eval()
        with torch.no_grad():
            return tuple(module(self.t[:1]).shape[1:])

    def _choose(self, module: nn.Module, example: torch.Tensor | None) -> str:
        if self.mode != "auto":
            return self.mode
        shape = self._row_shape(module, example)
        if shape is None:
            return "memory"
        need = self.t.shape[0] * math.prod(shape) * self.t.element_size()
        if need <= self.limit and not isinstance(self.data.x, Rows):  # data read on demand: nothing grows with it
            return "memory"
        return "disk" if shutil.disk_usage(self._cache_folder()).free > 1.2 * need else "recompute"

    def _cache_folder(self) -> str:
        if self.folder is None:
            self.folder, self._own_folder = tempfile.mkdtemp(prefix="mole-cache-"), True
        os.makedirs(self.folder, exist_ok=True)
        return self.folder

    def _to_disk(self, module: nn.Module) -> torch.Tensor | Rows:
        """T_k in a ``.npy`` file, written in chunks of ``batch_size`` rows (plain tensors) or at once, by plain file
        writes (no written page stays mapped into the process). Read back memory-mapped, or, over data read on
        demand, as :class:`~mole.adapters.array_rows.ArrayRows` (read with ``pread``: the process's memory stays flat)."""
        path = os.path.join(self._cache_folder(), f"T{len(self.held)}.npy")
        module.eval()
        try:
            with torch.no_grad():
                self._write(module, path)
        except BaseException as exc:  # (Ctrl-C too) a torn file: its space back
            with contextlib.suppress(OSError):
                os.remove(path)
            if disk_full(exc):
                raise DiskFullError(f"no space left on device while writing the disk cache of frozen outputs at "
                                    f"{path}; free space there, or hold them with --cache memory or --cache recompute "
                                    "(TrainConfig.cache), then resume (--resume; resume=True in mole.fit): the last "
                                    "checkpoint is intact") from None
            raise
        previous = os.path.join(self.folder, f"T{len(self.held) - 1}.npy")
        if os.path.exists(previous) and not self.keep:
            os.remove(previous)  # T_{k-1} is no longer needed (an open mapping or file stays valid until released)
        array = np.load(path, mmap_mode="r+")  # writable: torch warns on a tensor over read-only memory
        if isinstance(self.data.x, Rows):
            return ArrayRows(array).to(self.data.x.device)
        return torch.from_numpy(array).to(self.data.x.device)

    def _write(self, module: nn.Module, path: str) -> None:
        """``module``'s outputs over the cached input into the ``.npy`` file ``path``, chunk by chunk."""
        if isinstance(self.data, TensorData):
            outputs = self.data.outputs(module, self.t, self.batch_size)
        else:
            outputs = iter([self.data.transform(module, self.t, self.batch_size)])
        try:
            with open(path, "wb") as f:
                first = next(outputs).cpu().numpy()  # the first chunk tells the row shape and dtype
                header = {"descr": np.lib.format.dtype_to_descr(first.dtype), "fortran_order": False,
                          "shape": (self.t.shape[0], *first.shape[1:])}
                np.lib.format.write_array_header_2_0(f, header)
                for chunk in itertools.chain([first], (out.cpu().numpy() for out in outputs)):
                    f.write(np.ascontiguousarray(chunk).tobytes())
        finally:  # a failed write: the reading stops now (a DataLoader's workers too), not when it is collected
            if hasattr(outputs, "close"):
                outputs.close()

    def close(self) -> None:
        """Delete the disk cache (unless ``keep``), and its folder if nothing else is in it."""
        if self.folder is None or self.keep or not os.path.isdir(self.folder):
            return
        for name in os.listdir(self.folder):
            if name.startswith("T") and name.endswith(".npy"):
                os.remove(os.path.join(self.folder, name))
        if self._own_folder or not os.listdir(self.folder):
            shutil.rmtree(self.folder, ignore_errors=True)

    @torch.no_grad()
    def _through_prefix(self, batch: LocalBatch) -> LocalBatch:
        """The batch with its input run through every frozen module held in :attr:`prefix` (if any)."""
        if not self.prefix:
            return batch
        t = batch.t_in
        for module in self.prefix:
            t = module(t, *batch.context)
        return dataclasses.replace(batch, t_in=t)

    def replay(self, n_epochs: int, generator: torch.Generator) -> None:
        """Resuming with augmentation: draw again the ``n_epochs`` epochs the first trained module drew (from
        the generator in its state at the start of the run), keeping them as that module did."""
        for _ in range(n_epochs):
            for _ in self.batches(generator):
                pass

    def skip_to(self, epoch: int) -> None:
        """The module being trained continues at ``epoch`` (its earlier kept epochs are done)."""
        self._epoch = epoch

    def batches(self, generator: torch.Generator, training: list[nn.Module] = ()) -> Iterator[LocalBatch]:
        """One epoch's batches for the modules being trained, ``training`` (a chain; sampled graphs draw as deep
        a neighbourhood as it and the frozen modules run per batch need)."""
        hops = self.data.hops([*self.prefix, *training])  # the prefix: frozen modules run per batch (if any)
        if not self.data.augments and not self.recompute:
            yield from self.data.batches(self.t, self.batch_size, generator, hops)
            return
        if not self.data.augments:  # recompute: the frozen modules on every batch of the cached input
            for batch in self.data.batches(self.t, self.batch_size, generator, hops):
                yield self._through_prefix(batch)
            return
        epoch, self._epoch = self._epoch, self._epoch + 1
        if self.epochs is not None and epoch < len(self.epochs):
            yield from self.epochs[epoch]
            return
        drawn = []
        for batch in self.data.batches(self.data.x, self.batch_size, generator, hops):
            batch = self._through_prefix(batch)
            if self.epochs is not None:
                drawn.append(batch)
                self._bytes += _nbytes(batch)
                if self._bytes > self.cache_bytes:
                    self.epochs, drawn = None, []
            yield batch
        if self.epochs is not None:
            self.epochs.append(drawn)
