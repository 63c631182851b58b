"""MI estimators behind one interface, and a string -> class resolver."""
from __future__ import annotations

import inspect

from ..errors import ConfigError
from ..validation import choose
from .base import Estimator
from .renyi import RenyiEstimator, matrix_entropy

ESTIMATORS: dict[str, type[Estimator]] = {cls.name: cls for cls in (RenyiEstimator,)}


def estimator_resolver(name: str | Estimator, **options) -> Estimator:
    """Build an estimator from its registered name (or pass an instance through)."""
    if isinstance(name, Estimator):
        return name
    cls = ESTIMATORS[choose("estimator", name, ESTIMATORS)]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    for key in options:
        if key not in valid:
            choose(f"option of estimator {name!r}", key, valid)
    return cls(**options)


__all__ = ["Estimator", "RenyiEstimator", "matrix_entropy", "ESTIMATORS", "estimator_resolver"]
