r"""Invariant Information Clustering's MI: two views' soft cluster assignments (Ji, Henriques & Vedaldi, ICCV 2019).

A head :math:`\phi(t) = \mathrm{softmax}(W t + b)` assigns each row to one of K clusters, softly. For the rows
:math:`t_i, t'_i` of two augmentations of the same n samples, the joint distribution of the pair's clusters
is estimated over the batch and symmetrized,

.. math:: P = \frac{1}{2n}\sum_{i} \big(\phi(t_i)\,\phi(t'_i)^\top + \phi(t'_i)\,\phi(t_i)^\top\big)
          \in \mathbb{R}^{K \times K},

and the MI between the two views' clusters is computed exactly from it (no bound, no estimator):

.. math:: I(Z; Z') = \sum_{c, c'} P_{cc'} \log \frac{P_{cc'}}{P_{c} P_{c'}} \quad\text{(bits)},

with :math:`P_c` the marginals. It is at most :math:`\log K`, reached when every sample falls in one cluster
for sure, the same one for both views, and the clusters are equally used: maximizing it both makes the
assignments invariant to the augmentation and keeps them from collapsing into one cluster, without labels.
With K the number of classes the clusters tend to the classes wherever the augmentation preserves them.

Shapes: a, b: (n, d) float rows of the two views (the same sample in the same row); output: scalar (bits).
"""
from __future__ import annotations

import math

import torch
from torch import nn

LOG2 = math.log(2.0)


class InvariantClustering(nn.Module):
    """
    Args:
        clusters (int): K, the number of clusters of the head.
    """

    def __init__(self, clusters: int):
        super().__init__()
        self.head = nn.LazyLinear(clusters)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        pa, pb = self.head(a.flatten(1).float()).softmax(1), self.head(b.flatten(1).float()).softmax(1)
        joint = pa.T @ pb / a.shape[0]
        joint = ((joint + joint.T) / 2).clamp_min(1e-12)
        joint = joint / joint.sum()
        row, col = joint.sum(1, keepdim=True), joint.sum(0, keepdim=True)
        return (joint * (joint.log() - row.log() - col.log())).sum() / LOG2
