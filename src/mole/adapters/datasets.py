"""A user's data as PyTorch users hold it: a ``Dataset``, a ``DataLoader``, or an array on disk.

:class:`DatasetData` is :class:`~mole.adapters.TensorData` whose X is read on demand
(:class:`~mole.adapters.rows.Rows`): every rule, schedule, label budget and augmentation of tensors works on it,
batch for batch the same. An epoch's batches are drawn exactly as for a tensor (the same generator, the same
positions), and their samples are read ahead by a ``DataLoader`` (its worker processes, ``pin_memory``,
``collate_fn``), so a tensor and the same samples in a ``TensorDataset`` train identical weights. A frozen
module's outputs are cached as they are for tensors (memory, disk, or recomputed); over data read on demand the
``auto`` cache puts them on disk, so nothing in memory grows with the data. A dataset whose items vary between
reads (random transforms) is treated as augmented: frozen modules then run on every batch.

:func:`as_train_data` turns whatever ``mole.fit`` was given into an adapter.
"""
from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Dataset, IterableDataset
from torch.utils.data._utils.collate import default_collate

from ..errors import ConfigError, DataError
from ..validation import as_features, as_labels
from .array_rows import ArrayRows
from .base import TensorData, TrainData, split_batches
from .dataset_rows import DatasetRows, dataset_labels, loader_settings
from .rows import Rows, batch_seed, epoch_key, seeded
from .stream_rows import StreamRows

logger = logging.getLogger("mole")

ORDERS = ("shuffle", "sequential", "sampler")


class DatasetData(TensorData):
    """Samples read on demand (see the module docstring).

    Args:
        x: the rows (:class:`~mole.adapters.dataset_rows.DatasetRows`, :class:`~mole.adapters.stream_rows.StreamRows`,
            :class:`~mole.adapters.array_rows.ArrayRows`).
        y: one label per row (n,), −1 for an unlabelled sample.
        order: ``"shuffle"`` (each epoch a permutation drawn from the run's generator, as for tensors),
            ``"sequential"`` (0..n-1 every epoch, a DataLoader's ``shuffle=False``) or ``"sampler"`` (the batches of
            ``batch_sampler``, a DataLoader's own, iterated each epoch under a seed drawn from the run's generator).
        drop_last: drop a last batch smaller than the batch size (a last batch of one sample is always dropped).
        batch_sampler: the batches of positions of order ``"sampler"``.
    """

    def __init__(self, x: Rows, y: torch.Tensor, augmentation=None, views: int = 1, first_view=None,
                 order: str = "shuffle", drop_last: bool = False, batch_sampler=None):
        super().__init__(x, y, augmentation, views, first_view)
        if order not in ORDERS:
            raise ConfigError(f"order must be one of {', '.join(ORDERS)}; got {order!r}")
        if (order == "sampler") != (batch_sampler is not None):
            raise ConfigError("order 'sampler' goes with a batch_sampler, and a batch_sampler with order 'sampler'")
        self.order, self.drop_last, self.batch_sampler = order, drop_last, batch_sampler

    def _like(self, **changes) -> "DatasetData":
        if "x" in changes and self.order == "sampler":  # a subset: the sampler's positions are the whole dataset's
            return super()._like(order="shuffle", drop_last=self.drop_last, batch_sampler=None, **changes)
        return super()._like(order=self.order, drop_last=self.drop_last, batch_sampler=self.batch_sampler,
                             **changes)

    @property
    def augments(self) -> bool:
        return self.augmentation is not None or self.x.varies

    def _order(self, batch_size, generator):
        if self.order == "sampler":  # the sampler's own draws, under a seed of the run's: the same everywhere
            with seeded(epoch_key(generator) >> 1):
                batches = [torch.as_tensor(list(b), dtype=torch.long) for b in self.batch_sampler]
            return [b for b in batches if b.numel() >= 2]  # a batch of one sample holds nothing to estimate from
        if self.order == "shuffle":
            batches = super()._order(batch_size, generator)
        else:
            batches = split_batches(torch.arange(len(self)), batch_size)
        if self.drop_last and len(batches) > 1 and batches[-1].numel() < batch_size:
            batches.pop()
        return batches

    def n_batches(self, batch_size: int) -> int:
        if self.order == "sampler":
            sampler = self.batch_sampler
            single = (isinstance(sampler, BatchSampler) and not sampler.drop_last
                      and len(sampler.sampler) % sampler.batch_size == 1)
            return len(sampler) - single
        n = super().n_batches(batch_size)
        return n - (self.drop_last and n > 1 and len(self) % batch_size >= 2)

    def batches(self, t, batch_size, generator, hops=1):
        if self.augments and t is not self.x:
            raise ValueError("augmented data batches the raw input only; run frozen modules per batch instead")
        key, planned = epoch_key(generator), deque()
        if self.order != "shuffle":  # nothing drawn for the order: move on, so each epoch has seeds of its own
            torch.randint(2, (1,), generator=generator)

        def positions():  # drawn lazily, as TensorData draws them: the generator's use is the same
            for idx, y in self._plan(batch_size, generator):
                planned.append((idx, y))
                yield idx

        seeds = (batch_seed(key, b) for b in itertools.count())
        for rows in self.x.stream(positions(), seeds):
            idx, y = planned.popleft()
            yield self._batch(t, idx, y, generator, rows)

    def take(self, positions):
        return self._like(x=self.x.subset(positions), y=self.y[positions])

    def outputs(self, module: nn.Module, t, batch_size: int) -> Iterator[torch.Tensor]:
        if not isinstance(t, Rows):
            yield from super().outputs(module, t, batch_size)
            return
        module.eval()
        chunks = torch.arange(len(t)).split(batch_size)
        for rows in t.stream(chunks, (batch_seed(0, b) for b in itertools.count())):
            with torch.no_grad():  # (not across the yield: see TensorData.outputs)
                out = module(rows)
            yield out

    def sample(self, n: int, seed: int = 0) -> TrainData:
        """A fixed random subset of at most ``n`` samples, read once into memory (analysis samples: the information
        plane, probes and t-SNE read them many times)."""
        subset = super().sample(n, seed)
        return TensorData(subset.x.materialize(), subset.y)

    @torch.no_grad()
    def representations(self, blocks, batch_size: int = 4096) -> list[torch.Tensor]:
        return TensorData(self.x.materialize(), self.y).representations(blocks, batch_size)


def _stream_data(stream: IterableDataset, given, name: str) -> tuple["DatasetData", int | None]:
    """An IterableDataset (or a DataLoader over one), in its own order (:mod:`mole.adapters.stream_rows`)."""
    loader = given if isinstance(given, DataLoader) else None
    rows = StreamRows(stream, loader.collate_fn if loader is not None else default_collate)
    if loader is not None and loader.num_workers:
        logger.info("the IterableDataset is read in the training process (each of %d loader workers would yield "
                    "the whole stream unless it shards itself)", loader.num_workers)
    labels = as_labels(rows.labels, len(rows), name=f"{name}'s labels", unlabelled=True)
    if (labels < 0).any():
        raise ConfigError(f"{name} is an IterableDataset with unlabelled samples (-1); few-label batches draw "
                          "labelled samples out of order, which a stream cannot give: use a map-style Dataset")
    drop_last = bool(loader.drop_last) if loader is not None else False
    return DatasetData(rows, labels, order="sequential", drop_last=drop_last), (
        loader.batch_size if loader is not None else None)


def carries_labels(X) -> bool:
    """Whether ``X`` holds its own labels (an adapter, a Dataset, a DataLoader)."""
    return isinstance(X, (TrainData, Dataset, DataLoader))


def as_train_data(X, y=None, *, name: str = "X", loader: dict | None = None) -> tuple[TrainData, int | None]:
    """An adapter for what ``mole.fit`` (or ``score``/``predict``) was given, and the batch size it sets (a
    DataLoader's; None otherwise):

    * an adapter (:class:`~mole.adapters.TrainData`) as it is;
    * a map-style ``Dataset`` of ``(x, y)`` items (``y`` must be None): labels from the dataset, read with the
      DataLoader settings ``loader`` (e.g. ``{"num_workers": 2}``);
    * a ``DataLoader`` over one: its batch size, order (``shuffle``), ``drop_last``, workers, ``pin_memory`` and
      ``collate_fn``;
    * an ``IterableDataset`` (or a DataLoader over one): trained in the order it yields
      (:mod:`mole.adapters.stream_rows`);
    * a memory-mapped array (``numpy.load(path, mmap_mode="r")``) with labels ``y``: read from disk, never whole;
    * anything else array-like, with labels ``y`` (None: for prediction only).
    """
    if isinstance(X, TrainData):
        return X, None
    if isinstance(X, (Dataset, DataLoader)):
        if y is not None:
            raise DataError(f"{name} is a {type(X).__name__}, whose items carry their labels; pass y=None")
        stream = X.dataset if isinstance(X, DataLoader) else X
        if isinstance(stream, IterableDataset):
            return _stream_data(stream, X, name)
        batch_size, order, drop_last, settings, dataset, sampler = None, "shuffle", False, loader or {}, X, None
        if isinstance(X, DataLoader):
            dataset, settings, order, batch_size, drop_last, sampler = loader_settings(X)
        rows = DatasetRows(dataset, settings)
        labels = as_labels(dataset_labels(dataset), len(rows), name=f"{name}'s labels", unlabelled=True)
        if sampler is not None and bool((labels < 0).any()):
            raise ConfigError(f"{name}'s DataLoader has a sampler of its own and unlabelled samples (-1); few-label "
                              "batches draw labelled samples of their own: pass shuffle=True and no sampler")
        return DatasetData(rows, labels, order=order, drop_last=drop_last, batch_sampler=sampler), batch_size
    if isinstance(X, np.memmap):
        rows = ArrayRows(X)
        labels = torch.zeros(len(rows), dtype=torch.long) if y is None else as_labels(y, len(rows), unlabelled=True)
        return DatasetData(rows, labels), None
    x = as_features(X, name=name)
    labels = torch.zeros(x.shape[0], dtype=torch.long) if y is None else as_labels(y, x.shape[0], unlabelled=True)
    return TensorData(x, labels), None
