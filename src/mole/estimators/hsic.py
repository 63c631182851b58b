r"""Normalized HSIC, the dependence signal of the HSIC bottleneck.

Ma, Lewis & Kleijn, *The HSIC Bottleneck: Deep Learning without Back-Propagation* (AAAI 2020);
Gretton et al., *Measuring statistical dependence with Hilbert-Schmidt norms* (ALT 2005).

With centered Gram matrices :math:`\tilde K = H K H`, :math:`H = I - \frac{1}{n}\mathbf{1}\mathbf{1}^\top`,

.. math::
    \mathrm{nHSIC}(A; B) = \frac{\mathrm{tr}(\tilde K_A \tilde K_B)}
                               {\|\tilde K_A\|_F\, \|\tilde K_B\|_F} \in [0, 1],

(centered kernel alignment). It is 0 for independent samples in the limit, 1 when the two Gram
matrices agree up to scale, and costs O(n²) after the Gram matrices: centering is two mean
subtractions and :math:`\mathrm{tr}(\tilde K_A \tilde K_B) = \sum_{ij} (\tilde K_A)_{ij} (\tilde K_B)_{ij}`
for symmetric matrices. It is a dependence measure, not an entropy, so :meth:`entropy` is undefined.
"""
from __future__ import annotations

import torch

from .base import Variable, as_tuple
from .kernels import KernelEstimator


def center(K: torch.Tensor) -> torch.Tensor:
    """H K H without forming H: subtract row and column means, add back the grand mean."""
    return K - K.mean(0, keepdim=True) - K.mean(1, keepdim=True) + K.mean()


class HSICEstimator(KernelEstimator):
    r"""Normalized HSIC between two (possibly joint) variables.

    Args:
        sigma, normalize, label_kernel: kernel settings, as for :class:`RenyiEstimator`.

    Shapes:
        variables: (n, ...) float or (n,) integer labels; output: scalar in [0, 1].
    """

    name = "hsic"

    def mutual_information(self, a: Variable, b: Variable) -> torch.Tensor:
        Ka = center(self.joint_gram(as_tuple(a)).double())
        Kb = center(self.joint_gram(as_tuple(b)).double())
        denom = (Ka.norm() * Kb.norm()).clamp_min(1e-12)
        return (Ka * Kb).sum() / denom
