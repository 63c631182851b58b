r"""Pseudo-labels: a module's own classifier labels the unlabelled samples it is sure of (FixMatch, Sohn et al. 2020).

A classifier :math:`g` scores the module's read-out rows. On a batch holding :math:`V \ge 2` augmented views of
:math:`n` samples (:attr:`~mole.batch.LocalBatch.views`; row :math:`i + vn` is view :math:`v` of sample :math:`i`), the
first view's prediction :math:`p_i = \mathrm{softmax}(g(t_i))` labels an unlabelled sample when it is confident,

.. math:: \hat y_i = \arg\max_c p_{ic} \quad\text{for unlabelled } i \text{ with } \max_c p_{ic} \ge \tau,

and :math:`g` learns from the labelled rows :math:`L` and from the other views of the confident samples
:math:`M` (FixMatch's unlabelled loss; the first view is FixMatch's weak one where the run gives it an augmentation
of its own, ``weak_augment`` in :mod:`mole.adapters.augment`, else the run's augmentation serves as both):

.. math:: \mathcal{L}_g = \frac{1}{|L|}\sum_{j \in L} \mathrm{CE}(g(t_j), y_j)
          + \frac{1}{n(V-1)} \sum_{i \in M} \sum_{v=1}^{V-1} \mathrm{CE}(g(t_{i+vn}), \hat y_i).

Every view of a confident sample then carries :math:`\hat y_i` as its label, so the module's terms with
:math:`Y` (:math:`I(T;Y)`) read it as they read a true label. With one view there is no second view to
learn from: :math:`g` learns from the labelled rows and its confident predictions label their own rows
(plain self-training). The prediction is taken without gradient; labelled rows keep their labels.

A hidden module's :math:`g` is a linear layer of its own (:class:`PseudoLabels`) on the detached rows: it
learns beside the module and sends it no gradient, so the module's objective stays its MI terms. It is not
the local cross-entropy head of DGL or PredSim, whose loss trains the module: it only names labels, which
:math:`I(T;Y)` then uses. The head
is a classifier already: :class:`PseudoLabelledCrossEntropy` adds the unlabelled loss of its own logits to its
cross-entropy.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .base import LocalBatch
from .cross_entropy import CrossEntropyObjective, labelled_cross_entropy


def confident_labels(logits: torch.Tensor, y: torch.Tensor, views: int, threshold: float
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """The labels with the confident unlabelled samples' predictions filled in, and FixMatch's unlabelled loss.

    Args:
        logits: (V·n, C) scores of the batch's rows; y: (V·n,) labels, −1 for an unlabelled row.
        views: V; threshold: τ in (0, 1].
    Returns:
        (labels, loss): ``labels`` is ``y`` with every view of a confident unlabelled sample labelled by the
        first view's prediction; ``loss`` is the second sum above (0 with one view or no confident sample).
    """
    n = logits.shape[0] // views
    with torch.no_grad():
        confidence, guess = logits[:n].detach().float().softmax(1).max(1)
        sure = (confidence >= threshold) & (y[:n] < 0)
    labels = torch.where(sure.repeat(views), guess.repeat(views), y)
    if views < 2 or not bool(sure.any()):
        return labels, logits.sum() * 0.0
    later = logits[n:].float()
    losses = F.cross_entropy(later, guess.repeat(views - 1), reduction="none") * sure.repeat(views - 1)
    return labels, losses.sum() / later.shape[0]


class PseudoLabels(nn.Module):
    """A hidden module's classifier :math:`g` (linear, on detached rows) and its pseudo-labels.

    Args:
        n_classes (int): C, the classifier's outputs.
        threshold (float): τ, the confidence a prediction needs to label a sample.
    """

    def __init__(self, n_classes: int, threshold: float):
        super().__init__()
        self.threshold = threshold
        self.classifier = nn.LazyLinear(n_classes)

    def forward(self, rows: torch.Tensor, y: torch.Tensor, views: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(labels for the module's terms with Y, the classifier's loss :math:`\\mathcal{L}_g`) of a batch's rows."""
        logits = self.classifier(rows.detach().flatten(1).float())
        labels, unlabelled_loss = confident_labels(logits, y, views, self.threshold)
        return labels, labelled_cross_entropy(logits, y) + unlabelled_loss


class PseudoLabelledCrossEntropy(CrossEntropyObjective):
    r"""The head's cross-entropy over the labelled rows plus FixMatch's unlabelled loss of its own logits (the second
    sum of :math:`\mathcal{L}_g`, with :math:`g` the head itself). Logs ``pseudo_labelled``, the share of rows
    labelled after the confident ones are filled in.

    Args:
        threshold (float): τ, the confidence a prediction needs to label a sample.
    """

    def __init__(self, threshold: float):
        super().__init__()
        self.threshold = threshold

    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss, terms = super().forward(out, batch)
        labels, unlabelled = confident_labels(out, batch.y, batch.views, self.threshold)
        terms.update(pseudo_labelled=(labels >= 0).float().mean(), pseudo_loss=unlabelled.detach())
        return loss + unlabelled, terms
