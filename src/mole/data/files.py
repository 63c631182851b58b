"""User data from a file: ``--dataset path/to/data.npz`` or ``path/to/data.csv``.

* ``.npz`` with arrays ``X`` (n, ...) and ``y`` (n,); optional ``X_test`` / ``y_test``;
* ``.csv`` with a header row, numeric features (quoted or not), and the class label in the last column.

Without a test part, a stratified split (20 %) fixed by the seed is made. Labels of any type are
encoded to 0..C-1; features are standardized with training statistics (vector data).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder

from ..errors import DataError, DatasetNotFoundError
from ..validation import as_features
from .base import Dataset, preprocessing

SUFFIXES = (".npz", ".csv")


MIN_SAMPLES = 5  # a stratified 80/20 split needs at least one test sample and a few to train on


def _npz(path: Path, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The ``required`` arrays of an ``.npz`` and those of ``optional`` it holds; never unpickled."""
    try:
        with np.load(path, allow_pickle=False) as f:  # never unpickle: a pickle in an .npz could run code
            if any(k not in f for k in required):
                raise DataError(f"{path} must hold arrays {' and '.join(map(repr, required))}"
                                f"{' (optionally ' + ', '.join(map(repr, optional)) + ')' if optional else ''}; "
                                f"it holds {', '.join(f.files) or 'nothing'}")
            return {k: f[k] for k in (*required, *optional) if k in f}
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - truncated zip, object arrays, not a zip at all: one problem
        raise DataError(f"{path} is not a readable .npz of numeric arrays ({str(exc).splitlines()[0]}); save it "
                        "with numpy.savez(path, X=..., y=...) from numeric arrays") from None


def _read_npz(path: Path) -> tuple:
    a = _npz(path, ("X", "y"), ("X_test", "y_test"))
    return a["X"], a["y"], (a["X_test"], a["y_test"]) if "X_test" in a and "y_test" in a else None


def _csv_table(path: Path) -> np.ndarray:
    """The data rows of a CSV (its first row is the header) as a 2-D array of stripped strings."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path} cannot be read as text ({exc}); pass a UTF-8 CSV file") from None
    rows = [r for r in csv.reader(text.splitlines()) if r and any(c.strip() for c in r)]
    if len(rows) < 2:
        raise DataError(f"{path} holds no samples (empty, or a header row only); add one row per sample")
    rows = [[c.strip() for c in r] for r in rows[1:]]  # the first row is the header
    widths = {len(r) for r in rows}
    if len(widths) > 1:
        bad = next(i for i, r in enumerate(rows) if len(r) != len(rows[0]))
        raise DataError(f"{path}: rows have different numbers of columns (data row {bad + 1} has {len(rows[bad])}, "
                        f"the first {len(rows[0])}); fix the CSV")
    return np.array(rows, dtype=str)


def _features(columns: np.ndarray, path: Path) -> np.ndarray:
    try:
        return np.where(columns == "", "nan", columns).astype(np.float64)
    except ValueError:
        raise DataError(f"{path}: feature columns must hold numbers; encode categorical features first") from None


def _read_csv(path: Path) -> tuple:
    table = _csv_table(path)
    if table.shape[1] < 2:
        raise DataError(f"{path} needs feature columns and a label column (last); got {table.shape[1]} column")
    return _features(table[:, :-1], path), table[:, -1], None


def _check_labels(y: np.ndarray, path: Path, what: str = "labels") -> np.ndarray:
    """Labels are integers or strings (any finite, integral numbers; no missing values)."""
    if y.ndim != 1:
        raise DataError(f"{path.name}: {what} must be one label per sample (1-D); got shape {y.shape}")
    if y.dtype.kind in "US":
        missing = np.isin(np.char.lower(y.astype(str)), ["", "nan", "na", "null", "none"])
    elif y.dtype.kind == "f":
        if np.isfinite(y).all() and (y != np.round(y)).any():
            raise DataError(f"{path.name}: {what} are non-integer numbers; classes must be integers or strings "
                            "(this looks like a regression target)")
        missing = ~np.isfinite(y)
    elif y.dtype.kind in "iub":
        missing = np.zeros(len(y), dtype=bool)
    else:
        raise DataError(f"{path.name}: {what} must be integers or strings; got dtype {y.dtype}")
    if missing.any():
        raise DataError(f"{path.name}: {int(missing.sum())} missing {what} (first: row {int(missing.argmax())}); "
                        "drop or fill those samples")
    return y


def load_file(path: str | Path, seed: int = 0, test_size: float = 0.2) -> Dataset:
    """A :class:`~mole.data.base.Dataset` from a user's ``.npz`` or ``.csv`` file (see the module docstring): labels
    encoded to 0..C-1; without a test part, a ``test_size`` split fixed by ``seed`` (stratified when every class has
    two samples or more); features standardized with the training part's statistics."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"dataset file {path} does not exist; pass an existing .npz or .csv file")
    X, y, test = _read_npz(path) if path.suffix == ".npz" else _read_csv(path)
    X = as_features(X, name=f"{path.name} features")
    y = _check_labels(np.asarray(y), path)
    if len(y) != X.shape[0]:
        raise DataError(f"{path.name}: {len(y)} labels for {X.shape[0]} samples; pass one label per sample")
    if test is None and len(y) < MIN_SAMPLES:
        raise DataError(f"{path.name}: {len(y)} samples; a train/test split needs at least {MIN_SAMPLES}")
    if len(np.unique(y)) < 2:
        raise DataError(f"{path.name}: the labels hold a single class ({y[0].item()!r}); a classifier needs at least 2")
    if test is not None:
        x_te = as_features(test[0], name=f"{path.name} X_test")
        y_te = _check_labels(np.asarray(test[1]), path, "test labels")
        if x_te.shape[1:] != X.shape[1:]:
            raise DataError(f"{path.name}: X_test has {tuple(x_te.shape[1:])} features per sample but X has "
                            f"{tuple(X.shape[1:])}; they must match")
        if len(y_te) != x_te.shape[0]:
            raise DataError(f"{path.name}: {len(y_te)} test labels for {x_te.shape[0]} test samples")
        unseen = sorted(set(np.unique(y_te).tolist()) - set(np.unique(y).tolist()))
        if unseen:
            raise DataError(f"{path.name}: the test labels hold class(es) never seen in training: {unseen[:5]}; "
                            "a classifier cannot predict them")
    encoder = LabelEncoder().fit(y)
    y = torch.as_tensor(encoder.transform(y))
    if test is None:
        idx = np.arange(len(y))
        counts = np.bincount(y.numpy())
        strat = y.numpy() if counts.min() >= 2 else None
        tr, te = train_test_split(idx, test_size=test_size, stratify=strat, random_state=seed)
        x_tr, y_tr, x_te, y_te = X[tr], y[tr], X[te], y[te]
    else:
        x_tr, y_tr, y_te = X, y, torch.as_tensor(encoder.transform(y_te))
    mean, std = x_tr.mean(0), x_tr.std(0).clamp_min(1e-8)
    return Dataset(path.stem, "vector", (x_tr - mean) / std, y_tr.long(), (x_te - mean) / std, y_te.long(),
                   len(encoder.classes_), preprocessing(mean, std, X.shape[1:], encoder.classes_))


def read_inputs(path: str | Path, n_features: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Raw inputs to predict for: ``.npz`` arrays ``X`` (and ``y`` if present), or a ``.csv`` with a header row and
    ``n_features`` feature columns, plus an optional label column last. Returns (X (n, ...), labels or None)."""
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"data file {path} does not exist; pass an existing .npz or .csv file")
    if path.suffix not in SUFFIXES:
        raise DataError(f"{path.name}: predictions read .npz or .csv files; got {path.suffix or 'no suffix'}")
    if path.suffix == ".npz":
        a = _npz(path, ("X",), ("y",))
        X, y = a["X"], a.get("y")
    else:
        table = _csv_table(path)
        if table.shape[1] not in (n_features, n_features + 1):
            raise DataError(f"{path.name}: every row needs {n_features} feature columns (the model's input), plus "
                            f"optionally the label last; got {table.shape[1]} columns")
        X, y = _features(table[:, :n_features], path), table[:, n_features] if table.shape[1] > n_features else None
    X = as_features(X, name=f"{path.name} features").numpy()
    if y is not None:
        y = _check_labels(np.asarray(y), path)
        if len(y) != len(X):
            raise DataError(f"{path.name}: {len(y)} labels for {len(X)} samples; pass one label per sample")
    return X, y
