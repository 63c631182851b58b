"""What a module learns from in one step: :class:`LocalBatch`.

A shared type below the data adapters (which make batches), the objectives and rules (which score
them) and the training loop (which passes them along), so none of those imports another for it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import torch


def _identity(t: torch.Tensor) -> torch.Tensor:
    return t


@dataclass
class LocalBatch:
    """What module k sees in one step.

    Attributes:
        t_in: the module's input T_{k-1} (n_in, ...); the stage detaches it.
        x: the network's raw input X, one row per read-out sample (n, ...).
        y: class labels, one per read-out sample (n,); −1 marks an unlabelled sample (a label budget), which
            only label-free terms see.
        context: extra module arguments, e.g. ``(edge_index,)`` for graph layers.
        readout: maps a full module output to one row per sample (identity for plain tensors;
            the selected nodes, or per-graph pooling, for graphs).
        corrupt: maps ``t_in`` to a corrupted input for label-free contrastive terms (node-level graphs: the
            rows shuffled, Deep Graph Infomax's corruption); None where the data has no such view.
        scope: maps a module's whole output to the rows its label-free graph terms read (sampled subgraphs: the
            target nodes, whose neighbourhoods were drawn, not the outer hop's, whose were cut); None: every row.
        views: the rows are ``views`` stacked blocks of the same samples under independent augmentations (row i
            and row i + n/views are two views of one sample), for label-free terms between views; 1: plain rows.
        total: the rows of the global batch this batch is one process's shard of (data parallelism,
            :mod:`mole.distributed.data_parallel`); 0: the batch is whole.
        output, corrupted_output: the module's whole output on ``t_in`` (before read-out; all nodes of a graph,
            labelled or not) and on ``corrupt(t_in)``; set by the stage for objectives that ask for them
            (:attr:`mole.objectives.LocalObjective.needs_corrupted_view`), else None.
    """

    t_in: torch.Tensor
    x: torch.Tensor
    y: torch.Tensor
    context: tuple = ()
    readout: Callable[[torch.Tensor], torch.Tensor] = field(default=_identity)
    corrupt: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
    scope: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
    views: int = 1
    total: int = 0
    output: Optional[torch.Tensor] = None
    corrupted_output: Optional[torch.Tensor] = None

    def sample_ids(self) -> torch.Tensor:
        """Which sample each read-out row is (0..n/views - 1): the labels of a between-views contrastive term."""
        n = self.y.shape[0] // self.views
        return torch.arange(n, device=self.y.device).repeat(self.views)
