"""The dataset contract shared by every data adapter."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch


@dataclass
class Dataset:
    """A train/test split as tensors.

    Attributes:
        name: registered dataset name.
        kind: ``"vector"`` (n, d), ``"grid"`` (n, c, ...), or a graph kind.
        x_train, y_train, x_test, y_test: features (n, ...) float32 and labels (n,) int64.
        n_classes: number of classes C; labels are 0..C-1.
    """

    name: str
    kind: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    n_classes: int

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n_train": int(self.x_train.shape[0]),
                "n_test": int(self.x_test.shape[0]), "input_shape": list(self.input_shape),
                "n_classes": self.n_classes}


def data_root(root: str | os.PathLike | None = None) -> Path:
    """The data root: ``root`` if given, else ``$MOLE_DATA``, else ``~/.cache/mole/data``."""
    if root:
        return Path(root).expanduser()
    env = os.environ.get("MOLE_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mole" / "data"
