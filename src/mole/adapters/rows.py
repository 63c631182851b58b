r"""Samples read on demand: the rows of X when they live in a torch ``Dataset`` or in a file on disk.

A :class:`Rows` object stands where :class:`~mole.adapters.TensorData` holds the tensor X (n, ...): indexing it
with positions (a tensor, a list, a slice or an int) reads those samples and returns them as a float32 tensor, so
everything that batches, caches or evaluates tensors works unchanged on data that is never held whole. Two kinds:

* :class:`DatasetRows`: the items ``(x, y)`` of a map-style ``torch.utils.data.Dataset``, read through a
  ``DataLoader`` (its workers, ``pin_memory``, ``collate_fn`` and ``worker_init_fn``); the positions of every batch
  come from mole, so every method, schedule and asynchronous worker reads the same batches in the same order;
* :class:`ArrayRows`: a memory-mapped ``.npy`` array (``numpy.load(path, mmap_mode="r")``), read row by row with
  ``os.pread`` into fresh buffers: nothing of the file stays mapped, so the process's resident memory stays flat
  however large the file.

Random per-sample transforms (torchvision's) draw from torch's, Python's and NumPy's global generators. Each batch
is read under a seed of its own, :math:`s_b = h(\text{epoch key}, b)`, set in whichever process reads it and
restored afterwards, so the same batch gets the same augmented samples in every method, every worker and with any
number of loader workers; the training process's own generators are never disturbed.
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import logging
import os
import random
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Iterable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler
from torch.utils.data._utils.collate import default_collate

from ..errors import ConfigError, DataError

logger = logging.getLogger("mole")

#: the loader settings mole keeps from a user's DataLoader (the batch positions are always mole's)
LOADER_SETTINGS = ("num_workers", "pin_memory", "collate_fn", "worker_init_fn", "multiprocessing_context", "timeout",
                   "prefetch_factor", "persistent_workers")


def batch_seed(key: int, b: int) -> int:
    """The seed of batch ``b`` of the epoch whose key is ``key`` (63 bits)."""
    digest = hashlib.blake2b(f"{key}:{b}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def epoch_key(generator: torch.Generator) -> int:
    """A number fixed by the generator's state, read without drawing from it (so the batches a tensor and a
    Dataset draw stay the same)."""
    return int.from_bytes(hashlib.blake2b(generator.get_state().numpy().tobytes(), digest_size=8).digest(), "little")


@contextlib.contextmanager
def seeded(seed: int | None):
    """torch's, Python's and NumPy's global generators seeded with ``seed`` inside, restored after (None: as is)."""
    if seed is None:
        yield
        return
    py, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        random.seed(seed)
        np.random.seed(seed % 2**32)
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(np_state)


def _as_sample(x, where: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        return torch.from_numpy(np.ascontiguousarray(x))
    hint = (" add torchvision.transforms.v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]) "
            "(or transforms.ToTensor()) to the dataset's transform" if type(x).__module__.startswith("PIL")
            else " make __getitem__ return (tensor, int label)")
    raise DataError(f"{where} holds a {type(x).__name__} where a tensor of features was expected;{hint}")


def _as_features(x, positions: list[int]) -> torch.Tensor:
    """A read batch as float32 features; a non-finite value names its sample."""
    x = _as_sample(x, "a batch of the dataset").float()
    bad = ~torch.isfinite(x)
    if bad.any():
        row = int(bad.reshape(x.shape[0], -1).any(1).nonzero()[0])
        raise DataError(f"sample {positions[row]} of the data holds NaN or inf; impute or drop it before training")
    return x


def _index(index, n: int) -> torch.Tensor | int:
    """Positions from a tensor, list, range, slice or int (negative ints count from the end)."""
    if isinstance(index, slice):
        return torch.arange(n)[index]
    if isinstance(index, (int, np.integer)):
        i = int(index) + (n if index < 0 else 0)
        if not 0 <= i < n:
            raise IndexError(f"row {index} out of range for {n} samples")
        return i
    return torch.as_tensor(index, dtype=torch.long).flatten().cpu()


class Rows(ABC):
    """X (n, ...) read on demand; see the module docstring. Subclasses read a list of positions (:meth:`read`)."""

    dtype = torch.float32
    #: whether reading the same sample twice may give different values (random transforms): then a frozen
    #: module's outputs cannot be cached once, and the schedules treat the data as augmented
    varies: bool = False

    def __init__(self, n: int, sample_shape: tuple, positions: torch.Tensor | None = None,
                 device: torch.device | str = "cpu"):
        self.n, self.sample_shape, self.positions = n, tuple(sample_shape), positions
        self.device = torch.device(device)

    @property
    def shape(self) -> torch.Size:
        return torch.Size((self.n, *self.sample_shape))

    def __len__(self) -> int:
        return self.n

    def dim(self) -> int:
        return 1 + len(self.sample_shape)

    def element_size(self) -> int:
        return 4

    def __getitem__(self, index) -> torch.Tensor:
        pos = _index(index, self.n)
        if isinstance(pos, int):
            return self[torch.tensor([pos])][0]
        if not len(pos):
            return torch.empty((0, *self.sample_shape), device=self.device)
        return self.read(self._source(pos), batch_seed(-1, 0)).to(self.device)  # in this process, seeded

    def _source(self, pos: torch.Tensor) -> torch.Tensor:
        """Positions in the underlying dataset or file (a subset maps its own positions through ``positions``)."""
        return pos if self.positions is None else self.positions[pos]

    def subset(self, positions: torch.Tensor) -> "Rows":
        """The rows at ``positions`` (0..n-1), read lazily too."""
        positions = torch.as_tensor(positions, dtype=torch.long).cpu()
        clone = self._copy()
        clone.n, clone.positions = len(positions), self._source(positions)
        return clone

    def to(self, device: torch.device | str) -> "Rows":
        clone = self._copy()
        clone.device = torch.device(device)
        return clone

    #: per-process state (an open file): not copied, not pickled
    transient: tuple = ()

    def _copy(self) -> "Rows":
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__getstate__())
        return clone

    def __getstate__(self) -> dict:
        return {k: (None if k in self.transient else v) for k, v in self.__dict__.items()}

    def materialize(self) -> torch.Tensor:
        """Every row in memory (small subsets: analysis samples)."""
        return self[torch.arange(self.n)]

    def stream(self, batches: Iterable[torch.Tensor], seeds: Iterable[int] | None = None) -> Iterator[torch.Tensor]:
        """The rows of each position batch, in order (read ahead where the source can), on :attr:`device`; batch b
        is read under ``seeds[b]`` (default: fixed seeds)."""
        seeds = iter(seeds) if seeds is not None else (batch_seed(-1, b) for b in itertools.count())
        for pos in batches:
            yield self.read(self._source(pos), next(seeds)).to(self.device)

    @abstractmethod
    def read(self, source_positions: torch.Tensor, seed: int | None = None) -> torch.Tensor:
        """The samples at these positions of the underlying source, (len, ...) float32 on the CPU."""


class _BatchReader(Dataset):
    """A map-style dataset whose item is one whole batch: key ``(positions, seed)``, read and collated under that
    seed (see :func:`seeded`), in whichever process the DataLoader reads it."""

    def __init__(self, dataset: Dataset, collate):
        self.dataset, self.collate = dataset, collate

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key):
        positions, seed = key
        with seeded(seed):
            items = [self.dataset[int(i)] for i in positions]
        try:
            batch = self.collate(items)
        except (RuntimeError, TypeError) as exc:  # different shapes or types: one line naming the fix
            raise DataError(_collate_problem(items, exc)) from None
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return x, list(positions)


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
        n = len(dataset)
        if n == 0:
            raise DataError(f"the {type(dataset).__name__} holds no samples; pass a dataset with at least 2")
        self.dataset = dataset
        self.loader = {k: v for k, v in (loader or {}).items() if k in LOADER_SETTINGS}
        self.loader.setdefault("collate_fn", default_collate)
        first = _item(dataset, 0)
        super().__init__(n, tuple(_as_sample(first[0], f"item 0 of the {type(dataset).__name__}").shape))
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
        if self.device.type != "cuda":
            settings.pop("pin_memory", None)
        if not settings.get("num_workers"):
            for k in ("prefetch_factor", "persistent_workers", "multiprocessing_context"):
                settings.pop(k, None)
        collate = settings.pop("collate_fn")
        reader = _BatchReader(self.dataset, collate)
        loader = DataLoader(reader, batch_size=None, sampler=_Keys(keys), collate_fn=_as_is, **settings)
        for x, positions in loader:
            yield _as_features(x, positions)


class _Keys:
    """An iterable of batch keys as a DataLoader sampler (no length: the keys are drawn as the loader asks)."""

    def __init__(self, keys: Iterable):
        self.keys = keys

    def __iter__(self):
        for positions, seed in self.keys:
            yield positions.tolist(), seed


def _item(dataset: Dataset, i: int):
    """Item ``i``, read under a fixed seed (the caller's generators untouched); a bad item is one DataError line."""
    try:
        with seeded(i):
            item = dataset[i]
    except Exception as exc:  # noqa: BLE001 - a user's __getitem__: its own error, on one line
        raise DataError(f"reading item {i} of the {type(dataset).__name__} failed: {type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    if not isinstance(item, (tuple, list)) or len(item) < 2:
        raise DataError(f"item {i} of the {type(dataset).__name__} is a {type(item).__name__}; mole trains on "
                        "datasets whose items are (features, label) pairs")
    return item


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
    labels = [_item(dataset, i)[1] for i in range(n)]
    labels = [y.reshape(-1)[0].item() if isinstance(y, (torch.Tensor, np.ndarray)) and np.prod(y.shape) == 1 else y
              for y in labels]
    try:
        return torch.as_tensor(labels)
    except (TypeError, ValueError, RuntimeError):
        raise DataError(f"the {type(dataset).__name__}'s labels must be integer class indices, one per item; got "
                        f"{type(labels[0]).__name__}") from None


def loader_settings(loader: DataLoader) -> tuple[Dataset, dict, str, int | None, bool]:
    """What mole takes from a user's DataLoader: (its dataset, its reading settings, the order of its sampler:
    ``"shuffle"`` or ``"sequential"``, its batch size, drop_last). A sampler of its own order (weighted, distributed,
    a batch_sampler) is refused: mole draws the batches so that every method and worker sees the same."""
    from torch.utils.data import IterableDataset
    if isinstance(loader.dataset, IterableDataset):
        raise ConfigError("the DataLoader reads an IterableDataset, whose samples have no positions to batch the "
                          "same way for every method and worker; wrap its samples in a map-style Dataset")
    if isinstance(loader.sampler, RandomSampler) and not loader.sampler.replacement and (
            loader.sampler._num_samples is None):
        order = "shuffle"
    elif isinstance(loader.sampler, SequentialSampler):
        order = "sequential"
    else:
        raise ConfigError(f"the DataLoader's sampler ({type(loader.sampler).__name__}) sets its own batches; mole "
                          "draws them (seeded, the same for every method and worker): pass shuffle=True or False "
                          "and no sampler or batch_sampler")
    settings = {k: getattr(loader, k) for k in LOADER_SETTINGS if hasattr(loader, k)}
    return loader.dataset, settings, order, loader.batch_size, bool(loader.drop_last)


class ArrayRows(Rows):
    """The rows of a C-ordered ``.npy`` array on disk (a ``numpy.memmap``), read with ``os.pread``.

    Args:
        array: ``numpy.load(path, mmap_mode="r")``; only its file name, offset, dtype and shape are used.
    """

    def __init__(self, array: np.memmap):
        if not array.flags.c_contiguous or array.filename is None:
            raise DataError("a memory-mapped X must be a C-ordered array backed by a file "
                            "(numpy.load(path, mmap_mode='r') of a .npy saved from a C-ordered array)")
        if array.dtype.kind not in "biuf":
            raise DataError(f"a memory-mapped X must hold numbers; got dtype {array.dtype}")
        if array.ndim < 2 or array.shape[0] == 0:
            raise DataError(f"X must have shape (n_samples, n_features, ...); got {array.shape}")
        self.path, self.offset, self.file_dtype = str(array.filename), int(array.offset), array.dtype
        self.row_bytes = int(np.prod(array.shape[1:])) * array.dtype.itemsize
        super().__init__(array.shape[0], tuple(array.shape[1:]))
        self._fd: int | None = None

    transient = ("_fd",)

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def read(self, source_positions, seed=None):
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        pos = source_positions.tolist()
        out = np.empty((len(pos), *self.sample_shape), dtype=self.file_dtype)
        flat = out.reshape(len(pos), -1).view(np.uint8).reshape(len(pos), self.row_bytes)
        i = 0
        while i < len(pos):  # runs of consecutive rows are read at once
            j = i + 1
            while j < len(pos) and pos[j] == pos[j - 1] + 1:
                j += 1
            raw = os.pread(self._fd, self.row_bytes * (j - i), self.offset + pos[i] * self.row_bytes)
            flat[i:j] = np.frombuffer(raw, dtype=np.uint8).reshape(j - i, self.row_bytes)
            i = j
        return _as_features(torch.from_numpy(out), pos)
