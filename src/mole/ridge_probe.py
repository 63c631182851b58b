r"""A linear probe in closed form: how well a linear map decodes the labels from a module's output.

Ridge regression onto one-hot labels, fitted on one half of the rows and scored on the other, both ways
(halves A and B: a fixed random split, the same at every call for the same number of rows):

.. math:: W_A = \big(\tilde Z_A^\top \tilde Z_A + \lambda I\big)^{-1} \tilde Z_A^\top Y_A, \qquad
          \text{error} = \tfrac12\big(\operatorname{err}_B(W_A) + \operatorname{err}_A(W_B)\big),

where :math:`\tilde Z` are the rows standardized by the fitting half's mean and deviation with a bias column,
:math:`\lambda = 10^{-3}\,\operatorname{tr}(\tilde Z^\top \tilde Z)/d`, and :math:`\operatorname{err}` the share of
rows whose largest score is not their label. Feature maps are first averaged over their positions (one value per
channel). Ridge rather than logistic regression (as :mod:`mole.analysis.probes` fits): one d×d solve, milliseconds
for d ≤ 1024 against about a second for an iterative fit, so it can run at every convergence check
(:mod:`mole.convergence`, ``converge_on="probe"``).
"""
from __future__ import annotations

import torch

#: λ as a share of the mean diagonal of Z^T Z
RIDGE = 1e-3


def rows_of(t: torch.Tensor) -> torch.Tensor:
    """(n, ...) outputs as (n, d) float64 rows: feature maps (n, C, ...) averaged over their positions."""
    t = t.detach()
    return (t.flatten(2).mean(2) if t.dim() > 2 else t.reshape(t.shape[0], -1)).double()


def _fit_error(z_fit: torch.Tensor, y_fit: torch.Tensor, z_test: torch.Tensor, y_test: torch.Tensor,
               classes: int) -> float:
    mean, std = z_fit.mean(0), z_fit.std(0).clamp_min(1e-8)
    a = torch.cat([(z_fit - mean) / std, torch.ones(len(z_fit), 1, dtype=z_fit.dtype)], 1)
    b = torch.cat([(z_test - mean) / std, torch.ones(len(z_test), 1, dtype=z_test.dtype)], 1)
    gram = a.T @ a
    gram.diagonal().add_(RIDGE * float(gram.diagonal().mean()))
    w = torch.linalg.solve(gram, a.T @ torch.nn.functional.one_hot(y_fit, classes).to(a.dtype))
    return float(((b @ w).argmax(1) != y_test).double().mean())


def probe_error(z: torch.Tensor, y: torch.Tensor) -> float:
    """The two-fold ridge probe's error (see the module docstring) of rows ``z`` (n, ...) with labels ``y`` (n,);
    unlabelled rows (−1) are left out. With fewer than two labelled rows per half: the majority class's error."""
    keep = y >= 0
    if int(keep.sum()) < 4:
        y = y[keep].long()
        return float(1.0 - torch.bincount(y).max() / len(y)) if len(y) else 1.0
    z, y = rows_of(z[keep]), y[keep].long()
    classes = int(y.max()) + 1
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))  # the same halves at every check
    a, b = order[:len(y) // 2], order[len(y) // 2:]
    return 0.5 * (_fit_error(z[a], y[a], z[b], y[b], classes) + _fit_error(z[b], y[b], z[a], y[a], classes))
