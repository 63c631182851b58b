"""The dataset contract shared by every data adapter."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch


@dataclass
class Dataset:
    """A train/test split as tensors.

    Attributes:
        name: registered dataset name.
        kind: ``"vector"`` (n, d), ``"grid"`` (n, c, ...), or a graph kind.
        x_train, y_train, x_test, y_test: features (n, ...) float32 and labels (n,) int64.
        n_classes: number of classes C; labels are 0..C-1.
        preprocess: how raw inputs became ``x_*`` (see :func:`preprocessing`), so a saved model can predict from raw
            files: ``{"scale", "mean", "std", "shape", "classes"}``; None if the inputs are used as they are.
    """

    name: str
    kind: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int
    preprocess: Optional[dict] = None

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n_train": int(self.x_train.shape[0]),
                "n_test": int(self.x_test.shape[0]), "input_shape": list(self.input_shape),
                "n_classes": self.n_classes}


def preprocessing(mean, std, shape, classes=None, scale: float = 1.0) -> dict:
    """The record of ``x = ((raw / scale) - mean) / std`` reshaped to ``shape``, and the original class labels
    (index = class id), as plain lists (it is saved inside model files)."""
    as_list = lambda v: torch.as_tensor(v, dtype=torch.float64).flatten().tolist()  # noqa: E731
    return {"scale": float(scale), "mean": as_list(mean), "std": as_list(std), "shape": list(shape),
            "classes": [c.item() if hasattr(c, "item") else c for c in classes] if classes is not None else None}


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$MOLE_DATA``, else ``~/.cache/mole/data``."""
    if root:
        return Path(root).expanduser()
    env = os.environ.get("MOLE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mole" / "data"
