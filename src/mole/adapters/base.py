"""Training-data adapters: how a data type is batched, pushed through modules and read out.

A schedule never looks inside the data. It asks an adapter for

* ``batches(t, batch_size, generator)``: the :class:`~mole.objectives.LocalBatch` es of one epoch,
  given the cached input representation ``t`` of the module being trained;
* ``transform(module, t, batch_size)``: a frozen module's output over everything, computed once;
* ``rows(out)``: the read-out of a full output to one row per labelled sample (identity for
  tensors, the labelled nodes for node-level graphs, pooled graphs for graph-level data).

Each data type is one small subclass: :class:`TensorData` (vectors, images, signals),
:class:`~mole.adapters.nodes.NodeData`, :class:`~mole.adapters.graphs.GraphData`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import ClassVar

import torch
from torch import nn

from ..errors import ConfigError
from ..batch import LocalBatch
from .labels import UNLABELLED, keep_labels
from .rows import Rows


def split_batches(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """``order`` cut into batches of ``batch_size``; a trailing batch of one sample is dropped (a one-sample Gram
    matrix carries no information)."""
    batches = list(order.split(batch_size))
    if len(batches) > 1 and batches[-1].numel() < 2:
        batches.pop()
    return batches


def minibatches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches covering 0..n-1 (:func:`split_batches` of a permutation)."""
    return split_batches(torch.randperm(n, generator=generator), batch_size)


def count_batches(n: int, batch_size: int) -> int:
    """Number of batches :func:`minibatches` yields for n samples."""
    full, rest = divmod(n, batch_size)
    return full + (rest >= 2 or (rest == 1 and full == 0))


def labelled_positions(y: torch.Tensor) -> torch.Tensor:
    """Positions of the samples that have a label (y >= 0)."""
    return (y >= 0).nonzero().flatten()


def labelled_stream(positions: torch.Tensor, size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Endless chunks of ``size`` labelled positions: a fresh permutation of ``positions`` each pass, chunks
    wrapping around into the next pass (every labelled sample once per pass)."""
    order = positions[:0]
    while True:
        while len(order) < size:
            order = torch.cat([order, positions[torch.randperm(len(positions), generator=generator)
                                                .to(positions.device)]])
        chunk, order = order[:size], order[size:]
        yield chunk


def applies_to(augmentation) -> str:
    """The data an augmentation perturbs, for messages."""
    return "graph collections" if getattr(augmentation, "graphs", False) else "signals and images"


class TrainData(ABC):
    """Base adapter. ``x`` is T_0 as modules see it; ``y`` holds one label per read-out row."""

    x: torch.Tensor
    y: torch.Tensor
    #: whether batches read out unlabelled samples as rows (label −1); node-level graphs read out labelled nodes
    #: only (the others take part through the graph), so nothing there is a row to pseudo-label
    reads_out_unlabelled: ClassVar[bool] = True

    def __len__(self) -> int:
        return self.y.shape[0]

    def n_batches(self, batch_size: int) -> int:
        return count_batches(len(self), batch_size)

    @abstractmethod
    def batches(self, t: torch.Tensor, batch_size: int, generator: torch.Generator, hops: int = 1
                ) -> Iterator[LocalBatch]:
        """``hops``: message-passing layers between ``t`` and the last module the batches feed (sampled graphs
        draw that deep a neighbourhood; other data ignores it, see :meth:`hops`)."""

    def hops(self, modules) -> int:
        """The ``hops`` that batches feeding ``modules`` (a module or a chain) need: 0 unless neighbourhoods are
        sampled (:class:`~mole.adapters.sampled_nodes.SampledNodeData`)."""
        return 0

    @abstractmethod
    def transform(self, module: nn.Module, t: torch.Tensor, batch_size: int) -> torch.Tensor:
        ...

    def rows(self, out: torch.Tensor) -> torch.Tensor:
        return out

    #: True if :meth:`batches` perturbs the input each time (then a frozen module's output cannot be cached)
    augments: bool = False

    def augmented(self, augmentation, first_view=None) -> "TrainData":
        """The same data, its training batches perturbed by ``augmentation`` (signals and images only); a batch of
        several views perturbs its first view by ``first_view`` instead, where given (FixMatch's weak view)."""
        raise ConfigError(f"augment {augmentation.name!r} applies to {applies_to(augmentation)}; "
                          f"{type(self).__name__} cannot be augmented so. Use augment='none'")

    @torch.no_grad()
    def logits(self, network: nn.Module, batch_size: int = 4096) -> torch.Tensor:
        """The network's outputs, one row per labelled sample (evaluation mode)."""
        network.eval()
        return self.rows(self.transform(network, self.x, batch_size))

    @torch.no_grad()
    def representations(self, blocks, batch_size: int = 4096) -> list[torch.Tensor]:
        """Rows of the input and of every block's output, ``[X, T_1, ..., T_k]`` (evaluation mode).

        ``blocks``: the modules to chain, e.g. ``network.blocks`` or its first k entries. Each row
        is one labelled sample: a vector/image, a labelled node, or a pooled graph. The blocks are
        left in evaluation mode; callers that train afterwards set the mode they need.
        """
        t, rows = self.x, [self.rows(self.x)]
        for block in blocks:
            t = self.transform(block, t, batch_size)
            rows.append(self.rows(t))
        return rows

    @abstractmethod
    def take(self, positions: torch.Tensor) -> "TrainData":
        """The adapter restricted to the labelled samples at ``positions`` (0..len-1)."""

    def with_labels(self, positions: torch.Tensor) -> "TrainData":
        """The same data with only the samples at ``positions`` (0..len-1) labelled, the others unlabelled but
        still there for label-free terms (a label budget, :mod:`mole.adapters.labels`)."""
        raise ConfigError(f"{type(self).__name__} does not support a label budget; drop --labels")

    def with_views(self, views: int) -> "TrainData":
        """The same data, its batches holding ``views`` views of each sample for label-free terms between views
        (:attr:`LocalBatch.views`); a data type without a way to make them refuses."""
        raise ConfigError(f"lambda_view contrasts views of a sample, which {type(self).__name__} does not make; set "
                          "lambda_view and pseudo_labels to 0 (graph collections: use lambda_x)")

    def labelled(self) -> "TrainData":
        """The labelled samples only (itself when every sample has a label)."""
        positions = labelled_positions(self.y)
        return self if len(positions) == len(self.y) else self.take(positions)

    def sample(self, n: int, seed: int = 0) -> "TrainData":
        """A fixed random subset of at most ``n`` labelled samples (itself if it has no more)."""
        if len(self) <= n:
            return self
        positions = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))[:n].sort().values
        return self.take(positions.to(self.y.device))

    def to(self, device: torch.device) -> "TrainData":
        for name, value in vars(self).items():
            if isinstance(value, (torch.Tensor, Rows)):
                setattr(self, name, value.to(device))
        return self


class TensorData(TrainData):
    """Samples are the rows of ``x`` (n, ...): vectors, signals, images.

    ``x`` is a tensor, or :class:`~mole.adapters.rows.Rows` read on demand (a torch Dataset, a file on disk; see
    :class:`~mole.adapters.datasets.DatasetData`).

    With an ``augmentation`` (see :mod:`mole.adapters.augment`), every training batch of the raw
    input is perturbed afresh, with randomness from the batch generator; batches of anything but
    ``x`` itself are refused then (a cached representation would not match the perturbed input).
    With ``views`` = V > 1 (augmented data only), a batch holds V independently augmented copies of its
    samples, stacked (:attr:`LocalBatch.views`), for label-free terms between views. A ``first_view``
    augmentation, where given, perturbs the first copy instead: the weak view that pseudo-labels guess from,
    the others being the strong views they are learnt on (FixMatch). A batch of one view ignores it.

    Partly labelled data (a label budget: some ``y`` are −1, :mod:`mole.adapters.labels`) is batched as in
    semi-supervised learning: each step takes the next ``min(batch_size, |L|)`` labelled samples (a stream
    cycling through reshuffles of the labelled set L) followed by a batch of the epoch's pass over *all*
    samples as unlabelled data, so the label terms see labelled rows every step however few labels there are,
    and the label-free terms see every sample once per epoch.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, augmentation=None, views: int = 1, first_view=None):
        self.x, self.y, self.augmentation, self.views, self.first_view = x, y, augmentation, views, first_view

    def _like(self, **changes) -> "TensorData":
        """The same kind of adapter with some of its settings changed."""
        settings = {"x": self.x, "y": self.y, "augmentation": self.augmentation, "views": self.views,
                    "first_view": self.first_view, **changes}
        return type(self)(**settings)

    @property
    def augments(self) -> bool:
        return self.augmentation is not None

    def augmented(self, augmentation, first_view=None):
        if getattr(augmentation, "graphs", False):
            return super().augmented(augmentation, first_view)
        for a in (augmentation, first_view):
            if a is not None:
                a.check(tuple(self.x.shape[1:]))
        return self._like(augmentation=augmentation, first_view=first_view)

    def with_views(self, views: int) -> "TensorData":
        if views > 1 and self.augmentation is None:
            raise ConfigError(f"{views} views of a sample need an augmentation to make them differ; add --augment "
                              "shift (signals, images), crop-flip or affine (images), or set lambda_view and "
                              "pseudo_labels to 0")
        return self._like(views=views)

    def _batch(self, t, idx, y, generator, rows=None) -> LocalBatch:
        """The batch of samples ``idx`` with labels ``y``; ``rows``: their raw input, where already read."""
        x = self.x[idx] if rows is None else rows
        if self.augmentation is None:
            return LocalBatch(x if t is self.x else t[idx], x, y)
        first = self.first_view if self.first_view is not None and self.views > 1 else self.augmentation
        x = torch.cat([first(x, generator)] + [self.augmentation(x, generator) for _ in range(self.views - 1)])
        return LocalBatch(x, x, y.repeat(self.views), views=self.views)

    def _order(self, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
        """The epoch's batches of positions 0..n-1 (shuffled by ``generator``)."""
        return minibatches(len(self), batch_size, generator)

    def _plan(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """(positions, labels) of each batch of one epoch, drawn as they are asked for."""
        labelled = labelled_positions(self.y)
        if len(labelled) == len(self.y):
            for idx in self._order(batch_size, generator):
                yield idx, self.y[idx]
            return
        order = self._order(batch_size, generator)
        stream = labelled_stream(labelled, min(batch_size, len(labelled)), generator)
        unlabelled = torch.full((batch_size,), UNLABELLED, dtype=self.y.dtype, device=self.y.device)
        for idx in order:
            chosen = next(stream)
            yield torch.cat([chosen, idx]), torch.cat([self.y[chosen], unlabelled[:len(idx)]])

    def batches(self, t, batch_size, generator, hops=1):
        if self.augments and t is not self.x:
            raise ValueError("augmented data batches the raw input only; run frozen modules per batch instead")
        for idx, y in self._plan(batch_size, generator):
            yield self._batch(t, idx, y, generator)

    def take(self, positions):
        return self._like(x=self.x[positions], y=self.y[positions])

    def with_labels(self, positions):
        return self._like(y=keep_labels(self.y, positions))

    def outputs(self, module: nn.Module, t, batch_size: int) -> Iterator[torch.Tensor]:
        """``module``'s outputs on ``t`` in consecutive chunks of ``batch_size`` rows (evaluation mode). No gradient
        mode is held across a ``yield``: a caller that stops early (an exception) would otherwise get it back whenever
        the generator is collected, in the middle of later training."""
        module.eval()
        for i in range(0, t.shape[0], batch_size):
            with torch.no_grad():
                out = module(t[i:i + batch_size])
            yield out

    @torch.no_grad()
    def transform(self, module, t, batch_size):
        return torch.cat(list(self.outputs(module, t, batch_size)))
