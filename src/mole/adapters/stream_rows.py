"""The samples of an ``IterableDataset``: rows in the order it yields them.

An iterable dataset has no positions to draw shuffled batches from, so mole trains on it in its own order: position
i is the i-th item one pass yields, and every epoch's batches are consecutive runs of positions (a ``DataLoader``'s
``shuffle=False``). A first pass counts the items and reads their labels. Each batch's items are pulled from the
iterator under the batch's seed (:func:`~mole.adapters.rows.seeded`), in this process, so a stream that shuffles
or augments with torch's, Python's or NumPy's global generators yields the same batches to every method and
asynchronous worker; a stream shuffling with a generator of its own is the user's to seed. Rows asked for out of
order (an analysis sample) cost one pass.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import torch
from torch.utils.data import IterableDataset
from torch.utils.data._utils.collate import default_collate

from ..errors import DataError
from ..user_code import passes_through
from .dataset_rows import collated
from .rows import Rows, _as_features, as_pair, batch_seed, dataset_error, labels_tensor, sample_shape, seeded


def _items(dataset: IterableDataset) -> Iterator:
    """``iter(dataset)``; what the user's ``__iter__`` raises is one
    :class:`~mole.errors.UserCodeError` line naming the item it was yielding."""
    i = 0
    try:
        for item in dataset:
            yield item
            i += 1
    except Exception as exc:  # noqa: BLE001 - the user's __iter__: its own error, named as theirs
        if passes_through(exc):
            raise
        raise dataset_error(dataset, exc, i, method="__iter__") from exc


class StreamRows(Rows):
    """The features of an ``IterableDataset`` (see the module docstring); :attr:`labels` holds every item's label."""

    def __init__(self, dataset: IterableDataset, collate=default_collate):
        name, labels, first = type(dataset).__name__, [], None
        with seeded(batch_seed(-3, 0)):
            for i, item in enumerate(_items(dataset)):
                x, y = as_pair(item, i, name)[:2]
                first = first if first is not None else sample_shape(x, f"item 0 of the {name}")
                labels.append(y)
        if not labels:
            raise DataError(f"the {name} yields no samples; pass a dataset with at least 2")
        self.labels = labels_tensor(labels, name)
        super().__init__(len(labels), first)
        self.dataset, self.collate = dataset, collate
        a, b = (self._features([0], seed) for seed in (1, 2))
        self.varies = a.shape != b.shape or not torch.equal(a, b)

    def _features(self, positions: list[int], seed: int) -> torch.Tensor:
        """One pass under ``seed``, picking the items at ``positions`` (any order, repeats allowed)."""
        wanted, found = set(positions), {}
        with seeded(seed):
            for i, item in enumerate(_items(self.dataset)):
                if i in wanted:
                    found[i] = item
                    if len(found) == len(wanted):
                        break
        if len(found) < len(wanted):
            raise self._fewer()
        return self._batch([found[i] for i in positions], positions)

    def _fewer(self) -> DataError:
        return DataError(f"the {type(self.dataset).__name__} yielded fewer items than in its first pass ({self.n}); "
                         "a stream must yield the same items on every pass")

    def _batch(self, items: list, positions: list[int]) -> torch.Tensor:
        batch = collated(items, self.collate)
        return _as_features(batch[0] if isinstance(batch, (tuple, list)) else batch, positions)

    def read(self, source_positions, seed=None):
        return self._features(source_positions.tolist(), seed if seed is not None else batch_seed(-1, 0))

    def stream(self, batches, seeds=None) -> Iterator[torch.Tensor]:
        """Consecutive runs of positions from 0 on are read in one pass, each under its batch's seed; any other
        batch costs a pass of its own."""
        seeds = iter(seeds) if seeds is not None else (batch_seed(-1, b) for b in itertools.count())
        items, at = None, 0
        for pos in batches:
            source, seed = self._source(pos).tolist(), next(seeds)
            if items is None and source[:1] == [0]:
                with seeded(seed):  # an __iter__ that shuffles at once draws under the first batch's seed
                    items = _items(self.dataset)
            if items is None or source != list(range(at, at + len(source))):
                items = None
                yield self._features(source, seed).to(self.device)
                continue
            with seeded(seed):
                chunk = list(itertools.islice(items, len(source)))
            if len(chunk) < len(source):
                raise self._fewer()
            at += len(source)
            yield self._batch(chunk, source).to(self.device)
