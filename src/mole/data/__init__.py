"""Data adapters: every dataset by name, behind one function.

This package sits outside the core: the training API takes tensors and never imports it.
"""
from __future__ import annotations

import os

from ..validation import choose
from .base import Dataset, data_root
from .mnist import load_mnist, read_idx
from .tabular import LOADERS as _TABULAR, load_tabular

DATASETS = (*_TABULAR, "mnist", "fashion_mnist")


def load_dataset(name: str, root: str | os.PathLike | None = None, seed: int = 0,
                 download: bool = False) -> Dataset:
    """Load a dataset by name. ``root`` (or ``$MOLE_DATA``) is needed for file-based datasets."""
    name = choose("dataset", name, DATASETS)
    if name in _TABULAR:
        return load_tabular(name, seed=seed)
    return load_mnist(data_root(root), name, flatten=True, download_missing=download)


__all__ = ["Dataset", "DATASETS", "data_root", "load_dataset", "read_idx"]
