r"""Samples read on demand: the rows of X when they live in a torch ``Dataset``, a stream or a file on disk.

A :class:`Rows` object stands where :class:`~mole.adapters.TensorData` holds the tensor X (n, ...): indexing it
with positions (a tensor, a list, a slice or an int) reads those samples and returns them as a float32 tensor, so
everything that batches, caches or evaluates tensors works unchanged on data that is never held whole. The kinds:

* :class:`~mole.adapters.dataset_rows.DatasetRows`: a map-style ``torch.utils.data.Dataset`` read through a
  ``DataLoader``;
* :class:`~mole.adapters.stream_rows.StreamRows`: an ``IterableDataset``, in the order it yields;
* :class:`~mole.adapters.array_rows.ArrayRows`: a memory-mapped ``.npy`` array read with ``os.pread``.

Random per-sample transforms (torchvision's) draw from torch's, Python's and NumPy's global generators. Each batch
is read under a seed of its own, :math:`s_b = h(\text{epoch key}, b)`, set in whichever process reads it and
restored afterwards, so the same batch gets the same augmented samples in every method, every worker and with any
number of loader workers; the training process's own generators are never disturbed.
"""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import random
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator

import numpy as np
import torch

from ..errors import DataError, UserCodeError
from ..user_code import user_code_error


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
    # the CPU generator's own methods: torch.manual_seed and fork_rng cost ~0.7 ms a call, a batch's reading time
    py, np_state, torch_state = random.getstate(), np.random.get_state(), torch.default_generator.get_state()
    torch.default_generator.manual_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    try:
        yield
    finally:
        random.setstate(py)
        np.random.set_state(np_state)
        torch.default_generator.set_state(torch_state)


def dataset_error(dataset, exc: BaseException, i: int | None = None, method: str = "__getitem__") -> UserCodeError:
    """The one line for ``exc``, raised by the user's ``dataset`` (reading item ``i``, or in ``method``): named by
    the dataset a ``Subset`` wraps, at that dataset's own index."""
    from torch.utils.data import Subset
    while isinstance(dataset, Subset) and i is not None:
        dataset, i = dataset.dataset, int(dataset.indices[i])
    name = type(dataset).__name__
    at = f" at item {i}" if i is not None else ""
    return user_code_error(f"Dataset {name}", exc, "fix your dataset", at=at, code=f"{name}.{method}")


def _as_sample(x, where: str) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise DataError(f"{where} holds complex numbers ({x.dtype}); make __getitem__ return real features, e.g. "
                            "torch.view_as_real(x) or x.abs()")
        return x
    if isinstance(x, np.ndarray) and x.dtype.kind in "biuf":
        return torch.from_numpy(np.ascontiguousarray(x))
    hint = (" add torchvision.transforms.v2.Compose([v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]) "
            "(or transforms.ToTensor()) to the dataset's transform" if type(x).__module__.startswith("PIL")
            else " make __getitem__ return (tensor, int label)")
    raise DataError(f"{where} holds a {type(x).__name__} where a tensor of features was expected;{hint}")


def sample_shape(x, where: str) -> tuple:
    """The shape of one sample's features ``x`` (item 0 of a dataset), which must hold at least one value."""
    shape = tuple(_as_sample(x, where).shape)
    if not shape:
        raise DataError(f"{where} holds a single number (a 0-d tensor) as its features; make __getitem__ return a "
                        "tensor of at least one feature, e.g. x.reshape(1)")
    if 0 in shape:
        raise DataError(f"{where} holds features of shape {shape}, no values; each sample needs at least one feature")
    return shape


def as_pair(item, i: int, name: str):
    """Item ``i`` of the dataset ``name`` if it is a ``(features, label, ...)`` pair, else one DataError line."""
    if not isinstance(item, (tuple, list)) or len(item) < 2:
        raise DataError(f"item {i} of the {name} is a {type(item).__name__}; mole trains on datasets whose items "
                        "are (features, label) pairs")
    return item


def labels_tensor(labels: list, name: str) -> torch.Tensor:
    """Items' labels (ints, or one-element tensors / arrays) as a tensor; anything else is one DataError line."""
    labels = [y.reshape(-1)[0].item() if isinstance(y, (torch.Tensor, np.ndarray)) and np.prod(y.shape) == 1 else y
              for y in labels]
    try:
        return torch.as_tensor(labels)
    except (TypeError, ValueError, RuntimeError):
        raise DataError(f"the {name}'s labels must be integer class indices, one per item; got "
                        f"{type(labels[0]).__name__}") from None


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
