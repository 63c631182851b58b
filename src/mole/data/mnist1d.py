"""MNIST-1D (Greydanus, *Scaling down deep learning*, 2020), generated locally.

The dataset is made by the ``mnist1d`` package's ``make_dataset`` with its standard arguments
(5000 signals of length 40, 4000 train / 1000 test, generation seed 42), never downloaded. The
package seeds Python's and NumPy's global generators while it works; mole restores both afterwards,
so loading the data leaves the caller's random state untouched. Signals come as (n, 1, 40).
"""
from __future__ import annotations

import functools
import random

import numpy as np
import torch

from ..errors import DataError
from .base import Dataset


@functools.lru_cache(maxsize=1)
def _generate() -> dict:
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise DataError("mnist1d needs the 'mnist1d' package; install it with `pip install mnist1d`") from None
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        return make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)


def load_mnist1d() -> Dataset:
    """MNIST-1D, generated locally (see the module docstring): signals (n, 1, 40), 4000 train, 1000 test, 10 classes."""
    d = _generate()
    as_x = lambda a: torch.as_tensor(a, dtype=torch.float32).unsqueeze(1)  # (n, 1, 40)  # noqa: E731
    as_y = lambda a: torch.as_tensor(a, dtype=torch.long)  # noqa: E731
    return Dataset("mnist1d", "grid", as_x(d["x"]), as_y(d["y"]), as_x(d["x_test"]), as_y(d["y_test"]), 10)
