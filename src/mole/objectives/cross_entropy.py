r"""Cross-entropy objective of the classifier head (the last module).

.. math:: \mathcal{L} = -\frac{1}{|L|}\sum_{i \in L} \log \mathrm{softmax}(f(T_{K-1}))_{i, y_i}

over the labelled rows :math:`L` of the batch (all of them unless a label budget left some unlabelled, label
:data:`~mole.adapters.labels.UNLABELLED`); a batch without labelled rows gives a zero loss (and zero gradients).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import LocalBatch, LocalObjective


def labelled_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy over the rows with a label (y >= 0); 0 (still connected to ``logits``) if none has one."""
    labelled = y >= 0
    if bool(labelled.all()):
        return F.cross_entropy(logits, y)
    if not bool(labelled.any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits[labelled], y[labelled])


class CrossEntropyObjective(LocalObjective):
    """The head's objective: mean cross-entropy of the logits ``out`` (n, C) over the batch's labelled rows (zero if
    none is labelled; see :func:`~mole.objectives.cross_entropy.labelled_cross_entropy`). Logs ``cross_entropy``."""

    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = labelled_cross_entropy(out, batch.y)
        return loss, {"cross_entropy": loss.detach()}
