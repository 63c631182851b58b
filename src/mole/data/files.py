"""User data from a file: ``--dataset path/to/data.npz`` or ``path/to/data.csv``.

* ``.npz`` with arrays ``X`` (n, ...) and ``y`` (n,); optional ``X_test`` / ``y_test``;
* ``.csv`` with a header row, numeric features, and the class label in the last column.

Without a test part, a stratified split (20 %) fixed by the seed is made. Labels of any type are
encoded to 0..C-1; features are standardized with training statistics (vector data).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder

from ..errors import DataError, DatasetNotFoundError
from ..validation import as_features
from .base import Dataset

SUFFIXES = (".npz", ".csv")


def _read(path: Path) -> tuple:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as f:
            if "X" not in f or "y" not in f:
                raise DataError(f"{path} must hold arrays 'X' and 'y'; it holds {', '.join(f.files)}")
            test = (f["X_test"], f["y_test"]) if "X_test" in f and "y_test" in f else None
            return f["X"], f["y"], test
    try:
        table = np.genfromtxt(path, delimiter=",", skip_header=1, dtype=str)
    except ValueError as exc:
        raise DataError(f"{path}: rows have different numbers of columns ({exc}); fix the CSV") from None
    table = np.atleast_2d(table)
    if table.shape[1] < 2:
        raise DataError(f"{path} needs feature columns and a label column (last); got {table.shape[1]} column")
    try:
        X = np.where(table[:, :-1] == "", "nan", table[:, :-1]).astype(np.float64)
    except ValueError:
        raise DataError(f"{path}: feature columns must be numeric; encode categorical features first") from None
    return X, table[:, -1], None


def load_file(path: str | Path, seed: int = 0, test_size: float = 0.2) -> Dataset:
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"dataset file {path} does not exist; pass an existing .npz or .csv file")
    X, y, test = _read(path)
    X = as_features(X, name=f"{path.name} features")
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != X.shape[0]:
        raise DataError(f"{path.name}: {len(y) if y.ndim else 0} labels for {X.shape[0]} samples; "
                        "pass one label per sample")
    encoder = LabelEncoder().fit(y if test is None else np.concatenate([y, test[1]]))
    y = torch.as_tensor(encoder.transform(y))
    if test is None:
        idx = np.arange(len(y))
        counts = np.bincount(y.numpy())
        strat = y.numpy() if counts.min() >= 2 else None
        tr, te = train_test_split(idx, test_size=test_size, stratify=strat, random_state=seed)
        x_tr, y_tr, x_te, y_te = X[tr], y[tr], X[te], y[te]
    else:
        x_te = as_features(test[0], name=f"{path.name} X_test")
        if len(test[1]) != x_te.shape[0]:
            raise DataError(f"{path.name}: {len(test[1])} test labels for {x_te.shape[0]} test samples")
        x_tr, y_tr, y_te = X, y, torch.as_tensor(encoder.transform(test[1]))
    mean, std = x_tr.mean(0), x_tr.std(0).clamp_min(1e-8)
    return Dataset(path.stem, "vector", (x_tr - mean) / std, y_tr.long(), (x_te - mean) / std, y_te.long(),
                   len(encoder.classes_))
