"""Data adapters: every dataset by name, behind one function.

This package sits outside the core: the training API takes tensors and never imports it.
"""
from __future__ import annotations

import os

from ..validation import choose
from pathlib import Path

from .base import Dataset, data_root
from .files import SUFFIXES, load_file
from .mnist import load_mnist, read_idx
from .tabular import LOADERS as _TABULAR, load_tabular

DATASETS = (*_TABULAR, "mnist", "fashion_mnist")


def load_dataset(name: str, root: str | os.PathLike | None = None, seed: int = 0,
                 download: bool = False) -> Dataset:
    """Load a dataset by name, or from a ``.npz``/``.csv`` file path.

    ``root`` (or ``$MOLE_DATA``) is the folder of file-based benchmark datasets such as MNIST.
    """
    if Path(str(name)).suffix in SUFFIXES:
        return load_file(name, seed=seed)
    name = choose("dataset", name, DATASETS)
    if name in _TABULAR:
        return load_tabular(name, seed=seed)
    return load_mnist(data_root(root), name, flatten=True, download_missing=download)


__all__ = ["Dataset", "DATASETS", "data_root", "load_dataset", "read_idx"]
