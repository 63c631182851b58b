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
from collections.abc import Iterable, Iterator

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, RandomSampler, SequentialSampler
from torch.utils.data._utils.collate import default_collate

from ..errors import DataError
from .rows import Rows, _as_features, _as_sample, as_pair, batch_seed, labels_tensor, seeded

logger = logging.getLogger("mole")

#: the loader settings mole keeps from a user's DataLoader (the batch positions are always mole's)
LOADER_SETTINGS = ("num_workers", "pin_memory", "collate_fn", "worker_init_fn", "multiprocessing_context", "timeout",
                   "prefetch_factor", "persistent_workers")


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
            items = fetch(self.dataset, positions)
        if not isinstance(items, list):  # a TensorDataset: the batch's features, indexed at once
            return items, list(positions)
        try:
            batch = self.collate(items)
        except (RuntimeError, TypeError) as exc:  # different shapes or types: one line naming the fix
            raise DataError(_collate_problem(items, exc)) from None
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        return x, list(positions)


def in_memory(dataset: Dataset) -> bool:
    """A ``TensorDataset``: its rows are indexed at once in the training process, whatever ``num_workers`` says."""
    from torch.utils.data import TensorDataset
    return type(dataset) is TensorDataset


def fetch(dataset: Dataset, positions: list[int]):
    """The items at ``positions``: a list, through the dataset's batched ``__getitems__`` where it has one (PyTorch's
    protocol for batched reads), else one ``__getitem__`` each; a ``TensorDataset``'s features are indexed at once
    (a tensor, no collation needed)."""
    if in_memory(dataset):
        return dataset.tensors[0][torch.as_tensor(positions, dtype=torch.long)]
    if hasattr(dataset, "__getitems__"):
        return list(dataset.__getitems__(list(positions)))
    return [dataset[int(i)] for i in positions]


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
        with seeded(0):
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
        if in_memory(self.dataset):  # rows already in memory: worker processes would only copy them
            settings["num_workers"] = 0
        if self.device.type != "cuda":
            settings.pop("pin_memory", None)
        if not settings.get("num_workers"):
            for k in ("prefetch_factor", "persistent_workers", "multiprocessing_context"):
                settings.pop(k, None)
        collate = settings.pop("collate_fn")
        reader = _BatchReader(self.dataset, collate)
        loader = DataLoader(reader, batch_size=None, sampler=_Keys(keys), collate_fn=_as_is, **settings)
        try:
            for x, positions in loader:
                yield _as_features(x, positions)
        except DataError as exc:  # raised in a loader worker, re-raised with its traceback: the one line again
            raise DataError(str(exc).strip().splitlines()[-1].split("DataError: ", 1)[-1]) from None


class _Keys:
    """An iterable of batch keys as a DataLoader sampler (no length: the keys are drawn as the loader asks)."""

    def __init__(self, keys: Iterable):
        self.keys = keys

    def __iter__(self):
        for positions, seed in self.keys:
            yield positions.tolist(), seed


def _item(dataset: Dataset, i: int):
    """Item ``i``; a bad item is one DataError line (callers seed the read, :func:`~mole.adapters.rows.seeded`)."""
    try:
        item = dataset[i]
    except Exception as exc:  # noqa: BLE001 - a user's __getitem__: its own error, on one line
        raise DataError(f"reading item {i} of the {type(dataset).__name__} failed: {type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
    return as_pair(item, i, type(dataset).__name__)


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
        order, batch_sampler = "sampler", loader.batch_sampler
    settings = {k: getattr(loader, k) for k in LOADER_SETTINGS if hasattr(loader, k)}
    return loader.dataset, settings, order, loader.batch_size, bool(loader.drop_last), batch_sampler
