"""The estimator interface.

An estimator turns a mini-batch of samples into a differentiable scalar estimate of an
information quantity. It knows nothing of models or training: it sees tensors only.

Variables follow one convention (see :mod:`mole.estimators.kernels`): a float tensor (n, ...)
is a representation, an integer tensor (n,) holds class labels, and a tuple of variables is
their joint (for multivariate terms such as ``I(T; X, Y)``).

Estimators are ``nn.Module`` so that parametric ones (critics) carry parameters that train with
the local objective that owns them; non-parametric estimators simply have none.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from typing import ClassVar, Union

import torch
from torch import nn

from ..errors import DataError

Variable = Union[torch.Tensor, tuple]


def as_tuple(v: Variable) -> tuple:
    """A variable as a tuple: a tuple or list of tensors as a tuple, a single tensor as a 1-tuple."""
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


def check_variables(*variables: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The variables as an estimator can measure them, or :class:`~mole.errors.DataError`.

    Every variable is a tensor with the same number of samples n >= 2 (first dimension); labels are 1-D
    integer (or bool) tensors; features are finite, and computed in at least float32 (float16 and
    bfloat16 overflow in squared distances and lose the small eigenvalues)."""
    out, n = [], None
    for v in variables:
        if not isinstance(v, torch.Tensor):
            raise DataError(f"estimator variables must be torch tensors; got {type(v).__name__}")
        if v.dim() == 0:
            raise DataError("estimator variables need a sample dimension: shape (n, ...); got a scalar")
        if n is None:
            n = v.shape[0]
        elif v.shape[0] != n:
            raise DataError(f"estimator variables must have the same number of samples; got {n} and {v.shape[0]}")
        if v.is_floating_point():
            if v.dtype in (torch.float16, torch.bfloat16):
                v = v.float()
            # a finite sum has no NaN or inf among its terms (they propagate): one reduction; only a non-finite sum
            # (overflow included) looks at every element
            if not bool(torch.isfinite(v.sum())) and not bool(torch.isfinite(v).all()):
                raise DataError("estimator input contains NaN or inf; a module output diverged or the data holds "
                                "missing values: lower the learning rate or clean the data")
        elif v.is_complex():
            raise DataError("estimator variables must be real; got a complex tensor")
        elif v.dim() != 1:
            raise DataError(f"integer variables are class labels and must be 1-D (n,); got shape {tuple(v.shape)} "
                            "(pass one label per sample, or float features)")
        out.append(v)
    if n is not None and n < 2:
        raise DataError(f"estimators need at least 2 samples; got {n}")
    return tuple(out)


def draw_seed() -> int:
    """A seed for a lazily sized module's first draw, taken from the global RNG when the module is built (under
    the run's seed), not when it first runs: the global RNG at the first step differs between one process and
    several (asynchronous workers, torchrun nodes)."""
    return int(torch.randint(2**62, (1,)))


def unsized(module: nn.Module) -> bool:
    """True while a lazily sized module has not run yet."""
    return any(isinstance(p, nn.parameter.UninitializedParameter) for p in module.parameters())


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Draws inside come from ``seed``; the global RNG (and the device's) is left as it was."""
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def _full_precision(variables: tuple):
    """Gram matrices and entropies in full precision even inside a mixed-precision (autocast) region."""
    return torch.autocast(variables[0].device.type, enabled=False)


class Estimator(nn.Module, ABC):
    """Base class: a mutual-information signal between two (possibly joint) variables.

    Subclasses implement :meth:`_mutual_information` (and :meth:`_entropy`); the public methods check the
    variables first (:func:`check_variables`).

    Example:
        .. code-block:: python

            est = mole.estimators.estimator_resolver("infonce", temperature=0.1)   # or mole.InfoNCEEstimator()
            est.mutual_information(features, labels)       # labels: (n,) integers; features: (n, ...) floats
            est.mutual_information(features, other)        # two float variables (a critic for each side)
            est.mutual_information(features, (x, labels))  # a joint variable (renyi, hsic)

        A new estimator: subclass, implement ``_mutual_information(a, b)`` (``a``, ``b``: tuples of checked
        tensors), and add it to :data:`mole.estimators.ESTIMATORS` (see the guide "Extending mole")."""

    name: ClassVar[str] = ""
    #: True if :meth:`entropy` is defined (entropy-based estimators)
    has_entropy: ClassVar[bool] = False

    def mutual_information(self, a: Variable, b: Variable) -> torch.Tensor:
        """Differentiable scalar estimate of I(a; b) (or the estimator's MI surrogate)."""
        a, b = as_tuple(a), as_tuple(b)
        checked = check_variables(*a, *b)
        with _full_precision(checked):
            return self._mutual_information(checked[:len(a)], checked[len(a):])

    def entropy(self, *variables: torch.Tensor) -> torch.Tensor:
        """Joint entropy of one or more variables (entropy-based estimators only)."""
        if not self.has_entropy:
            raise NotImplementedError(f"{type(self).__name__} estimates dependence directly and has no entropy; "
                                      "use estimator='renyi' for entropies")
        checked = check_variables(*variables)
        with _full_precision(checked):
            return self._entropy(*checked)

    @abstractmethod
    def _mutual_information(self, a: tuple, b: tuple) -> torch.Tensor:
        """I(a; b) for checked variables, each side a tuple (its joint)."""

    def _entropy(self, *variables: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def options(self) -> dict:
        """The estimator's settings, for results.json."""
        return {}
