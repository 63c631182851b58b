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
from typing import ClassVar, Union

import torch
from torch import nn

Variable = Union[torch.Tensor, tuple]


def as_tuple(v: Variable) -> tuple:
    return tuple(v) if isinstance(v, (tuple, list)) else (v,)


class Estimator(nn.Module, ABC):
    """Base class: a mutual-information signal between two (possibly joint) variables."""

    name: ClassVar[str] = ""
    #: True if :meth:`entropy` is defined (entropy-based estimators)
    has_entropy: ClassVar[bool] = False

    @abstractmethod
    def mutual_information(self, a: Variable, b: Variable) -> torch.Tensor:
        """Differentiable scalar estimate of I(a; b) (or the estimator's MI surrogate)."""

    def entropy(self, *variables: torch.Tensor) -> torch.Tensor:
        """Joint entropy of one or more variables (entropy-based estimators only)."""
        raise NotImplementedError(f"{type(self).__name__} estimates dependence directly and has no entropy; "
                                  "use estimator='renyi' for entropies")

    def options(self) -> dict:
        """The estimator's settings, for results.json."""
        return {}
