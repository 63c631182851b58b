"""MI estimators behind one interface, a string -> class resolver, and functional helpers."""
from __future__ import annotations

import torch

from ..validation import registered
from .base import Estimator, Variable
from .hsic import HSICEstimator
from .infonce import InfoNCEEstimator
from .jsd import JSDEstimator
from .kernels import KernelEstimator
from .renyi import RenyiEstimator, matrix_entropy

#: every MI estimator by name (``--estimator``), built by :func:`estimator_resolver`
ESTIMATORS: dict[str, type[Estimator]] = {
    cls.name: cls for cls in (RenyiEstimator, HSICEstimator, InfoNCEEstimator, JSDEstimator)}


def estimator_resolver(name: str | Estimator, **options) -> Estimator:
    """Build an estimator from its registered name (or pass an instance through)."""
    if isinstance(name, Estimator):
        return name
    return registered("estimator", name, ESTIMATORS, options)


def mutual_information(a: Variable, b: Variable, estimator: str | Estimator = "renyi", **options) -> torch.Tensor:
    """Differentiable scalar estimate of I(a; b) with a registered estimator.

    ``a``/``b``: float tensors (n, ...), integer labels (n,), or tuples of them (joint variables).
    Parametric estimators (``infonce``, ``jsd``) start from an untrained critic here; to estimate with them,
    keep an instance and train its critic by maximizing its output.
    """
    return estimator_resolver(estimator, **options).mutual_information(a, b)


def entropy(*variables: torch.Tensor, estimator: str | Estimator = "renyi", **options) -> torch.Tensor:
    """Differentiable (joint) entropy, in bits, of one or more variables (entropy-based estimators)."""
    return estimator_resolver(estimator, **options).entropy(*variables)


__all__ = ["Estimator", "KernelEstimator", "RenyiEstimator", "HSICEstimator", "InfoNCEEstimator", "JSDEstimator",
           "matrix_entropy", "ESTIMATORS", "estimator_resolver", "mutual_information", "entropy"]
