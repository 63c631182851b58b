"""Input validation shared by the API, the estimator and the CLI.

Errors name the problem, what arrived, and the fix (scikit-learn style), and report
every problem at once where several can be found.
"""
from __future__ import annotations

import difflib
import inspect
from collections.abc import Iterable

import numpy as np
import torch

from .errors import ConfigError, DataError


#: the widest layer, projection or critic a setting may ask for (wider ones are typos, and overflow torch's sizes)
MAX_WIDTH = 2 ** 24


def choose(kind: str, name: str, valid: Iterable[str]) -> str:
    """Return ``name`` if it is one of ``valid``; else raise with the nearest valid names."""
    valid = list(valid)
    if name in valid:
        return name
    close = difflib.get_close_matches(str(name), valid, n=1, cutoff=0.5)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ConfigError(f"unknown {kind} {name!r}; choose one of {', '.join(valid)}.{hint}")


def registered(kind: str, name: str, registry: dict, options: dict):
    """``registry[name](**options)`` for a registered ``name``; an unknown name or option is a ConfigError
    naming the nearest valid one (the resolvers of estimators, rules and the like share this)."""
    cls = registry[choose(kind, name, registry)]
    valid = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    for key in options:
        if key not in valid:
            if not valid:
                raise ConfigError(f"{kind} {name!r} takes no options; got {key!r}")
            choose(f"option of {kind} {name!r}", key, valid)
    return cls(**options)


def raise_all(problems: list[str], error: type[Exception] = ConfigError) -> None:
    """Raise one error listing every problem found (nothing if the list is empty)."""
    if problems:
        raise error("; ".join(problems))


def changed_settings(old, new, skip: Iterable[str] = (), prefix: str = "") -> list[str]:
    """``"key: old -> new"`` for every setting (nested dicts as dotted keys) that differs between two plain
    configuration dicts; keys in ``skip`` (dotted) are left out."""
    skip = set(skip)
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            name = f"{prefix}{key}"
            if name not in skip:
                out += changed_settings(old.get(key), new.get(key), skip, name + ".")
        return out
    if isinstance(old, (list, tuple)) and isinstance(new, (list, tuple)):
        old, new = list(old), list(new)
    return [] if old == new else [f"{prefix.rstrip('.')}: {old!r} -> {new!r}"]


def as_features(X, *, name: str = "X") -> torch.Tensor:
    """Convert features to a float32 tensor of shape (n, ...) and reject NaN/inf."""
    if isinstance(X, torch.Tensor):
        t = X.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(X, dtype=np.float32))
        except (TypeError, ValueError) as exc:
            raise DataError(f"{name} must be numeric array-like; got {type(X).__name__} ({exc}). "
                            "Convert it with numpy.asarray(X, dtype=float).") from None
    if t.dim() < 2:
        raise DataError(f"{name} must have shape (n_samples, n_features, ...); got shape {tuple(t.shape)}. "
                        "Reshape a single feature with X.reshape(-1, 1).")
    if t.shape[0] == 0:
        raise DataError(f"{name} has no samples; pass at least 2.")
    if 0 in t.shape[1:]:
        raise DataError(f"{name} has shape {tuple(t.shape)}: a sample of size 0; each sample needs at least one "
                        "feature")
    t = t.float()
    bad = ~torch.isfinite(t)
    if bad.any():
        rows = bad.reshape(t.shape[0], -1).any(1).nonzero().flatten()
        raise DataError(f"{name} contains NaN or inf in {rows.numel()} sample(s) (first: row {int(rows[0])}); "
                        "impute or drop them before training.")
    return t


def as_labels(y, n_samples: int, *, name: str = "y", unlabelled: bool = False) -> torch.Tensor:
    """Convert integer class labels 0..C-1 to a long tensor and check they match the samples; with
    ``unlabelled``, −1 marks a sample without a label (scikit-learn's semi-supervised convention)."""
    if isinstance(y, torch.Tensor):
        t = y.detach()
    else:
        array = np.asarray(y)
        if array.dtype.kind not in "biuf":
            raise DataError(f"{name} must hold integer class labels 0..C-1; got dtype {array.dtype} (e.g. "
                            f"{array.reshape(-1)[:1].tolist()}). Encode classes with "
                            "sklearn.preprocessing.LabelEncoder.")
        t = torch.as_tensor(array)
    if t.dim() != 1:
        raise DataError(f"{name} must be a 1-D vector of class labels; got shape {tuple(t.shape)}. "
                        "Pass class indices, not one-hot rows (y.argmax(1)).")
    if t.shape[0] != n_samples:
        raise DataError(f"{name} has {t.shape[0]} labels but X has {n_samples} samples; "
                        "pass one label per sample.")
    if t.is_floating_point():
        if not torch.isfinite(t).all() or (t != t.round()).any():
            raise DataError(f"{name} must hold integer class labels; got non-integer values. "
                            "Encode classes with sklearn.preprocessing.LabelEncoder.")
    t = t.long()
    if (t < (-1 if unlabelled else 0)).any():
        also = " (-1: unlabelled)" if unlabelled else ""
        raise DataError(f"{name} must hold class indices 0..C-1{also}; got negative labels. "
                        "Encode classes with sklearn.preprocessing.LabelEncoder.")
    return t
