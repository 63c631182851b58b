r"""Normalized HSIC, the dependence signal of the HSIC bottleneck.

Ma, Lewis & Kleijn, *The HSIC Bottleneck: Deep Learning without Back-Propagation* (AAAI 2020);
Gretton et al., *Measuring statistical dependence with Hilbert-Schmidt norms* (ALT 2005).

With centered Gram matrices :math:`\tilde K = H K H`, :math:`H = I - \frac{1}{n}\mathbf{1}\mathbf{1}^\top`,

.. math::
    \mathrm{nHSIC}(A; B) = \frac{\mathrm{tr}(\tilde K_A \tilde K_B)}
                               {\|\tilde K_A\|_F\, \|\tilde K_B\|_F} \in [0, 1],

(centered kernel alignment). It is 0 for independent samples in the limit, 1 when the two Gram
matrices agree up to scale. The centered matrices are never formed: for symmetric K_A, K_B with row
sums :math:`r_A = K_A \mathbf{1}`, :math:`r_B` and totals :math:`s_A = \mathbf{1}^\top r_A`, :math:`s_B`,

.. math:: \mathrm{tr}(\tilde K_A \tilde K_B) = \textstyle\sum_{ij} (K_A \circ K_B)_{ij}
          - \frac{2}{n} r_A^\top r_B + \frac{1}{n^2} s_A s_B,

so the cost is one Hadamard pass and row sums, O(n²) after the Gram matrices (float64 arithmetic). It is a dependence measure, not an entropy, so :meth:`entropy` is undefined.
"""
from __future__ import annotations

import torch

from .base import Variable, as_tuple
from .kernels import KernelEstimator


def centered_inner(Ka: torch.Tensor, Kb: torch.Tensor) -> torch.Tensor:
    """tr(H Ka H Kb) for symmetric Ka, Kb (n, n), without forming H or the centered matrices."""
    n = Ka.shape[0]
    ra, rb = Ka.sum(1, dtype=torch.float64), Kb.sum(1, dtype=torch.float64)  # (n,)
    hadamard = Ka.double() if Ka is Kb else (Ka * Kb)
    inner = (hadamard * Ka).sum(dtype=torch.float64) if Ka is Kb else hadamard.sum(dtype=torch.float64)
    return inner - 2.0 / n * (ra @ rb) + ra.sum() * rb.sum() / (n * n)


class HSICEstimator(KernelEstimator):
    r"""Normalized HSIC between two (possibly joint) variables.

    Args:
        sigma, normalize, label_kernel: kernel settings, as for :class:`RenyiEstimator`.

    Shapes:
        variables: (n, ...) float or (n,) integer labels; output: scalar in [0, 1].
    """

    name = "hsic"

    def _mutual_information(self, a: Variable, b: Variable) -> torch.Tensor:
        Ka, Kb = self.joint_gram(as_tuple(a)), self.joint_gram(as_tuple(b))
        denom = (centered_inner(Ka, Ka) * centered_inner(Kb, Kb)).clamp_min(1e-24).sqrt()
        return centered_inner(Ka, Kb) / denom
