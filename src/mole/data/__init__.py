"""Data adapters: every dataset by name, behind one function.

This package sits outside the core: the training API takes tensors and never imports it.
Datasets keep their natural shape: vectors (n, d), signals (n, 1, L), images (n, 1, H, W).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..validation import choose
from .base import Dataset, data_root
from .files import SUFFIXES, load_file
from .mnist import load_mnist, read_idx
from .mnist1d import load_mnist1d
from .tabular import LOADERS as _TABULAR, load_tabular

#: dataset name -> the model `mole run` uses when --model is not given
DEFAULT_MODELS = {"digits": "mlp", "breast_cancer": "mlp", "wine": "mlp", "mnist1d": "cnn", "mnist": "cnn",
                  "fashion_mnist": "cnn"}
DATASETS = tuple(DEFAULT_MODELS)


def load_dataset(name: str, root: str | os.PathLike | None = None, seed: int = 0,
                 download: bool = False) -> Dataset:
    """Load a dataset by name, or from a ``.npz``/``.csv`` file path.

    ``root`` (or ``$MOLE_DATA``) is the folder of file-based benchmark datasets such as MNIST.
    ``seed`` fixes the train/test split of datasets that have no official one.
    """
    if Path(str(name)).suffix in SUFFIXES:
        return load_file(name, seed=seed)
    name = choose("dataset", name, DATASETS)
    if name in _TABULAR:
        return load_tabular(name, seed=seed)
    if name == "mnist1d":
        return load_mnist1d()
    return load_mnist(data_root(root), name, download_missing=download)


def default_model(dataset: str) -> str:
    """The model for a dataset when none is named: its registered default, else by its shape."""
    return DEFAULT_MODELS.get(dataset, "mlp")


__all__ = ["Dataset", "DATASETS", "DEFAULT_MODELS", "data_root", "default_model", "load_dataset", "read_idx"]
