r"""Cross-entropy objective of the classifier head (the last module).

.. math:: \mathcal{L} = -\frac{1}{n}\sum_i \log \mathrm{softmax}(f(T_{K-1}))_{i, y_i}
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .base import LocalBatch, LocalObjective


class CrossEntropyObjective(LocalObjective):
    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, float]]:
        loss = F.cross_entropy(out, batch.y)
        return loss, {"cross_entropy": float(loss.detach())}
