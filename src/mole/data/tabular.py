"""scikit-learn's embedded datasets (no files needed): digits, breast_cancer, wine.

Features are standardized with statistics of the training part only; the split is stratified and
fixed by the seed (``test_size`` of the samples go to the test part). ``digits`` keeps its natural
shape, 1×8×8 images (an MLP flattens them to the classic 64 features; a CNN convolves them).
"""
from __future__ import annotations

import numpy as np
import torch
from sklearn import datasets as skd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from .base import Dataset, preprocessing

LOADERS = {"digits": skd.load_digits, "breast_cancer": skd.load_breast_cancer, "wine": skd.load_wine}
SHAPES = {"digits": (1, 8, 8)}


def load_tabular(name: str, seed: int = 0, test_size: float = 0.2) -> Dataset:
    """scikit-learn's ``digits``, ``breast_cancer`` or ``wine``: a stratified ``test_size`` split fixed by ``seed``,
    standardized with the training part's statistics; ``digits`` as images (n, 1, 8, 8), others as vectors (n, d)."""
    X, y = LOADERS[name](return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=y, random_state=seed)
    scaler = StandardScaler().fit(X_tr)
    shape = SHAPES.get(name, (X.shape[1],))
    as_x = lambda a: torch.as_tensor(scaler.transform(a), dtype=torch.float32).reshape(-1, *shape)  # noqa: E731
    as_y = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.long)  # noqa: E731
    kind = "grid" if len(shape) > 1 else "vector"
    return Dataset(name, kind, as_x(X_tr), as_y(y_tr), as_x(X_te), as_y(y_te), int(len(np.unique(y))),
                   preprocessing(scaler.mean_, scaler.scale_, shape, np.unique(y)))
