"""The items ``(x, y)`` of a map-style ``torch.utils.data.Dataset`` as :class:`~mole.adapters.rows.Rows`.

The samples are read through a ``DataLoader`` (its workers, ``pin_memory``, ``collate_fn`` and ``worker_init_fn``; a
dataset's batched ``__getitems__`` where it has one); the positions of every batch come from mole, so every method,
schedule and asynchronous worker reads the same batches in the same order, each under its batch's seed
(:func:`~mole.adapters.rows.seeded`). A ``TensorDataset``'s rows, already in memory, are indexed at once in the
training process (worker processes would only copy them).
"""
from __future__ import annotations

import itertools
import logging
import re
import signal
import time
import weakref
from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler, get_worker_info
from torch.utils.data._utils.collate import default_collate

from ..errors import DataError, MoleError, UserCodeError, WorkerFailure
from ..user_code import passes_through, raised_by_user, user_code_error
from .rows import (Rows, _as_features, _as_sample, as_pair, batch_seed, dataset_error, labels_tensor, sample_shape,
                   seeded)

logger = logging.getLogger("mole")

#: the loader settings mole keeps from a user's DataLoader (the batch positions are always mole's)
LOADER_SETTINGS = ("num_workers", "pin_memory", "collate_fn", "worker_init_fn", "multiprocessing_context", "timeout",
                   "prefetch_factor", "persistent_workers")


class _BatchReader(Dataset):
    """A map-style dataset whose item is one whole batch: key ``(positions, seed)``, read and collated under that
    seed (see :func:`seeded`), in whichever process the DataLoader reads it. With a ``board`` (shared memory, one
    slot per loader worker) and keys ``(positions, seed, b)``, each worker writes there the batch it reads: the one
    it was reading if it dies."""

    def __init__(self, dataset: Dataset, collate, board: torch.Tensor | None = None):
        self.dataset, self.collate, self.board = dataset, collate, board

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        positions, seed, *number = key
        worker = get_worker_info() if self.board is not None and number else None
        if worker is not None:
            self.board[worker.id] = number[0]
        with seeded(seed):
            items = fetch(self.dataset, positions)
        if not isinstance(items, list):  # a TensorDataset: the batch's features, indexed at once
            return items, list(positions)
        batch = collated(items, self.collate)
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return x, list(positions)


def in_memory(dataset: Dataset) -> bool:
    """A ``TensorDataset``: its rows are indexed at once in the training process, whatever ``num_workers`` says."""
    from torch.utils.data import TensorDataset
    return type(dataset) is TensorDataset


def fetch(dataset: Dataset, positions: list[int]):
    """The items at ``positions``: a list, through the dataset's batched ``__getitems__`` where it has one (PyTorch's
    protocol for batched reads), else one ``__getitem__`` each; a ``TensorDataset``'s features are indexed at once
    (a tensor, no collation needed). An exception the dataset raises is the user's
    (:class:`~mole.errors.UserCodeError`, naming the item)."""
    if in_memory(dataset):
        return dataset.tensors[0][torch.as_tensor(positions, dtype=torch.long)]
    if hasattr(dataset, "__getitems__"):
        try:
            return list(dataset.__getitems__(list(positions)))
        except Exception as exc:  # noqa: BLE001 - the user's code: find the item, one line naming it
            if passes_through(exc):
                raise
            for i in positions:  # the item that raises, read alone
                _read(dataset, int(i))
            raise dataset_error(dataset, exc, method="__getitems__") from exc
    return [_read(dataset, int(i)) for i in positions]


def _read(dataset: Dataset, i: int):
    """``dataset[i]``; what the user's ``__getitem__`` raises is one :class:`~mole.errors.UserCodeError` line."""
    try:
        return dataset[i]
    except Exception as exc:  # noqa: BLE001 - the user's __getitem__: its own error, named as theirs
        if passes_through(exc):
            raise
        raise dataset_error(dataset, exc, i) from exc


def collated(items: list, collate):
    """``collate(items)``: items it cannot batch (different shapes or types) are one DataError line naming the fix,
    an exception a user's own ``collate_fn`` raises one UserCodeError line."""
    try:
        return collate(items)
    except Exception as exc:  # noqa: BLE001 - default_collate's complaint, or the user's collate_fn's own error
        if passes_through(exc):
            raise
        if raised_by_user(exc):
            name = getattr(collate, "__qualname__", type(collate).__name__)
            raise user_code_error(f"collate_fn {name}", exc, "fix your collate_fn") from exc
        if not isinstance(exc, (RuntimeError, TypeError)):
            raise
        raise DataError(_collate_problem(items, exc)) from None


def _collate_problem(items: list, exc: Exception) -> str:
    shapes = [tuple(_as_sample(it[0] if isinstance(it, (tuple, list)) else it, "an item").shape) for it in items]
    if len(set(shapes)) > 1:
        return (f"the dataset's items have different shapes ({shapes[0]} and {next(s for s in shapes if s != shapes[0])})"
                "; resize them to one size in its transform (torchvision.transforms.v2.Resize, or --image-size)")
    return f"the dataset's items cannot be batched ({str(exc).splitlines()[0]}); make __getitem__ return (tensor, label)"


def _as_is(batch):
    return batch


class DatasetRows(Rows):
    """The features of a map-style ``Dataset`` of ``(x, y)`` items (see the module docstring).

    Args:
        dataset: the Dataset.
        loader: settings of the DataLoader that reads it (:data:`LOADER_SETTINGS`: ``num_workers``,
            ``pin_memory``, ``collate_fn`` ...); the batch positions are mole's.
    """

    def __init__(self, dataset: Dataset, loader: dict | None = None):
        try:
            n = len(dataset)
        except Exception as exc:  # noqa: BLE001 - the user's __len__
            raise dataset_error(dataset, exc, method="__len__") from exc
        if n == 0:
            raise DataError(f"the {type(dataset).__name__} holds no samples; pass a dataset with at least 2")
        self.dataset = dataset
        self.loader = {k: v for k, v in (loader or {}).items() if k in LOADER_SETTINGS}
        self.loader.setdefault("collate_fn", default_collate)
        with seeded(0):
            first = _item(dataset, 0)
        super().__init__(n, sample_shape(first[0], f"item 0 of the {type(dataset).__name__}"))
        self.varies = self._varies()

    def _varies(self) -> bool:
        """Whether item 0 reads differently under two seeds (a random transform)."""
        a = _as_sample(_BatchReader(self.dataset, _as_is)[([0], 1)][0][0], "item 0")
        b = _as_sample(_BatchReader(self.dataset, _as_is)[([0], 2)][0][0], "item 0")
        varies = a.shape != b.shape or not torch.equal(a, b)
        if varies:
            logger.info("the dataset's items vary between reads (random transforms): frozen modules run per batch "
                        "instead of being cached once")
        return varies

    def read(self, source_positions, seed=None):
        x, positions = _BatchReader(self.dataset, self.loader["collate_fn"])[(source_positions.tolist(), seed)]
        return _as_features(x, positions)

    def stream(self, batches, seeds=None):
        seeds = iter(seeds) if seeds is not None else (batch_seed(-1, b) for b in itertools.count())
        keys = ((self._source(pos), next(seeds)) for pos in batches)
        for x in self._read_ahead(keys):
            yield x.to(self.device, non_blocking=bool(self.loader.get("pin_memory")))

    def _read_ahead(self, keys: Iterable) -> Iterator[torch.Tensor]:
        """The collated features of every key ``(source positions, seed)``, read by the DataLoader (ahead, in its
        worker processes, where it has workers)."""
        settings = dict(self.loader)
        if in_memory(self.dataset):  # rows already in memory: worker processes would only copy them
            settings["num_workers"] = 0
        if self.device.type != "cuda":
            settings.pop("pin_memory", None)
        if not settings.get("num_workers"):
            for k in ("prefetch_factor", "persistent_workers", "multiprocessing_context"):
                settings.pop(k, None)
        collate = settings.pop("collate_fn")
        reader = _BatchReader(self.dataset, collate)
        reading = _Keys(keys, type(self.dataset).__name__, settings.get("num_workers", 0))
        reader.board = reading.board
        loader = DataLoader(reader, batch_size=None, sampler=reading, collate_fn=_as_is, **settings)
        try:
            batches = iter(loader)
            reading.watch(batches)
            for x, positions in batches:
                reading.done()
                yield _as_features(x, positions)
        except (DataError, UserCodeError) as exc:  # raised in a loader worker, re-raised with its traceback: the
            # one line again (the user's code: the worker's traceback stays the cause, for -v)
            if "\n" not in str(exc).strip():  # read in this process: the one line already
                raise
            reading.stop()  # the workers shut down now, not whenever the error's traceback is collected
            line = str(exc).strip().splitlines()[-1].split(f"{type(exc).__name__}: ", 1)[-1]
            if isinstance(exc, UserCodeError):
                raise UserCodeError(line) from exc
            raise type(exc)(line) from None
        except Exception as exc:  # noqa: BLE001 - a worker that died shows as torch's error, or the queue's own
            died = worker_died(exc, reading)
            if died is None:
                raise
            raise died from None


class _Keys:
    """An iterable of batch keys ``(positions, seed, b)`` as a DataLoader sampler (no length: the keys are drawn as
    the loader asks). It keeps the keys drawn and not yet read back (:meth:`done`), and ``board``, where each loader
    worker writes the batch it reads: which items a worker that died was reading (:func:`worker_died`)."""

    def __init__(self, keys: Iterable, name: str = "dataset", workers: int = 0):
        self.keys, self.name = keys, name
        self.board = torch.full((workers,), -1, dtype=torch.long).share_memory_() if workers else None
        self.pending: deque[tuple[int, list[int]]] = deque()  # (batch number in the pass, its positions)
        self.read = 0  # batches read back
        self.workers: dict[int, int] = {}  # process id -> worker number (its slot of the board)
        self.batches, self.processes = None, []  # the loader's iterator (a weak reference), its worker processes

    def __iter__(self):
        for b, (positions, seed) in enumerate(self.keys):
            self.pending.append((b, positions.tolist()))
            yield self.pending[-1][1], seed, b

    def watch(self, batches: Iterator) -> None:
        """Remember the worker processes of the loader's iterator ``batches`` (none without workers)."""
        self.batches, self.processes = weakref.ref(batches), list(getattr(batches, "_workers", []))
        for i, worker in enumerate(self.processes):
            self.workers[worker.pid] = i
            _READINGS[worker.pid] = self

    def dead(self, wait: float = 1.0) -> int | None:
        """The process id of a worker that died (waiting up to ``wait`` seconds for one to end), else None."""
        deadline = time.monotonic() + wait
        while self.processes:
            for worker in self.processes:
                if not worker.is_alive():  # (waitpid: a dead worker is reaped)
                    return worker.pid
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return None

    def stop(self) -> None:
        """A worker died: reap it and shut the loader's other workers down now. (Left to the garbage collector, the
        iterator, held by the error's traceback, stays registered with torch, whose signal handler then raises the
        death again whenever any later child process exits, anywhere in the run that resumes.)"""
        for worker in self.processes:
            worker.is_alive()
        batches = self.batches() if self.batches is not None else None
        getattr(batches, "_shutdown_workers", lambda: None)()

    def done(self) -> None:
        """One more batch came back from the loader."""
        self.read += 1
        while self.pending and self.pending[0][0] < self.read:
            self.pending.popleft()

    def reading(self, pid: int) -> tuple[int, list[int]] | None:
        """(batch number, positions) that worker ``pid`` was reading and did not deliver; None if unknown."""
        b = int(self.board[self.workers[pid]]) if self.board is not None and pid in self.workers else -1
        return next(((n, pos) for n, pos in self.pending if n == b), None)


#: the passes being read, by the process id of their loader workers
_READINGS: weakref.WeakValueDictionary[int, _Keys] = weakref.WeakValueDictionary()


def worker_died(exc: BaseException, keys: _Keys | None = None) -> WorkerFailure | None:
    """A DataLoader worker process that died (a crash in the dataset's code, the out-of-memory killer) as one
    :class:`~mole.errors.WorkerFailure` line: the batch and items it was reading, how it died, and that resuming
    continues from the last checkpoint; None if ``exc`` is not that. The loader whose worker died is shut down.

    torch says so in a RuntimeError naming the worker's pid, raised wherever the training process is when it notices
    (from a signal handler), so callers above the loader ask too (:func:`mole.fit`); inside the loader (``keys``, the
    pass being read) the death may also surface as an error of the queue the worker was writing to."""
    if isinstance(exc, MoleError):  # (already said)
        return None
    found = re.search(r"DataLoader worker \(pid(?:\(s\))? ([\d, ]+)\)", str(exc))
    if found and isinstance(exc, RuntimeError):
        pids = [int(p) for p in re.findall(r"\d+", found.group(1))]
        how = next((str(e) for e in (exc.__cause__, exc.__context__, exc)
                    if e is not None and ("exit code" in str(e) or "signal" in str(e))), str(exc))
        how = " ".join(how.split(". ")[0].split())  # torch's first sentence: the pid, and its exit code or signal
    elif keys is not None and (pid := keys.dead()) is not None:
        pids, code = [pid], keys.processes[keys.workers[pid]].exitcode
        how = f"DataLoader worker (pid {pid}) " + (f"was killed by {signal.Signals(-code).name}" if code and code < 0
                                                   else f"exited unexpectedly with exit code {code}")
    else:
        return None
    where, details, name = "", {"kind": "loader worker", "how": how}, "dataset"
    for pid in pids:
        keys = _READINGS.get(pid)
        if keys is None:
            continue
        keys.stop()
        batch = keys.reading(pid)
        if batch is not None:
            (b, positions), name = batch, keys.name
            items = ", ".join(map(str, positions[:8])) + (", …" if len(positions) > 8 else "")
            where = f" while reading batch {b + 1} of a pass over the data (items {items} of the {name})"
            details.update(batch=b + 1, items=positions)
            break
    return WorkerFailure(f"a DataLoader worker process died{where} ({how}); find what killed it (the {name}'s "
                         "__getitem__, or the system's out-of-memory killer: fewer loader workers or smaller batches), "
                         "then resume from the last checkpoint (--resume; resume=True in mole.fit)", details)


def _item(dataset: Dataset, i: int):
    """Item ``i``; a bad item is one DataError line, an exception of the dataset's own one UserCodeError line
    (callers seed the read, :func:`~mole.adapters.rows.seeded`)."""
    return as_pair(_read(dataset, i), i, type(dataset).__name__)


def dataset_labels(dataset: Dataset) -> torch.Tensor:
    """Every item's label: from ``TensorDataset``'s label tensor, a ``targets`` attribute (torchvision's datasets,
    ``ImageFolder``), through ``Subset`` and ``ConcatDataset``; else read once from the items."""
    from torch.utils.data import ConcatDataset, Subset, TensorDataset
    n = len(dataset)
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) >= 2:
        return torch.as_tensor(dataset.tensors[1])
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset)[torch.as_tensor(list(dataset.indices), dtype=torch.long)]
    if isinstance(dataset, ConcatDataset):
        return torch.cat([dataset_labels(d) for d in dataset.datasets])
    targets = getattr(dataset, "targets", None)
    if targets is not None and not callable(targets) and len(targets) == n:
        return torch.as_tensor(np.asarray(targets))
    logger.info("reading the labels of %d items of the %s once (give it a `targets` attribute to skip this)", n,
                type(dataset).__name__)
    with seeded(0):  # the caller's generators untouched
        return labels_tensor([_item(dataset, i)[1] for i in range(n)], type(dataset).__name__)


class LoaderBatches:
    """A DataLoader's batch sampler, drawn as iterating the DataLoader draws it: each pass first takes the loader's
    base seed from its generator (as ``DataLoader.__iter__`` does, even without workers), so that a loader built with
    ``generator=g`` gives ``mole.fit`` the batches it gives a loop of the user's own over the same loader."""

    def __init__(self, batch_sampler, generator: torch.Generator | None):
        self.batch_sampler, self.generator = batch_sampler, generator

    def __iter__(self):
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        return iter(self.batch_sampler)

    def __len__(self) -> int:
        return len(self.batch_sampler)


def loader_settings(loader: DataLoader) -> tuple[Dataset, dict, str, int | None, bool, object]:
    """What mole takes from a user's DataLoader: (its dataset, its reading settings, the order of its batches, its
    batch size, drop_last, its batch sampler). The order is ``"shuffle"`` (a plain ``shuffle=True``: mole draws the
    permutation, as for tensors), ``"sequential"`` (``shuffle=False``), or ``"sampler"`` (a sampler or
    batch_sampler of its own, e.g. a ``WeightedRandomSampler``: iterated each epoch under a seed of the run, so that
    every method and worker draws the same batches)."""
    batch_sampler = None
    if isinstance(loader.sampler, RandomSampler) and not loader.sampler.replacement and (
            loader.sampler._num_samples is None) and loader.sampler.generator is None:
        order = "shuffle"
    elif isinstance(loader.sampler, SequentialSampler) and loader.batch_size is not None:
        order = "sequential"
    else:
        order, batch_sampler = "sampler", LoaderBatches(loader.batch_sampler, loader.generator)
    settings = {k: getattr(loader, k) for k in LOADER_SETTINGS if hasattr(loader, k)}
    return loader.dataset, settings, order, loader.batch_size, bool(loader.drop_last), batch_sampler
