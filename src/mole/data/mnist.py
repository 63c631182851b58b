"""MNIST (and Fashion-MNIST) from the IDX files, as torchvision lays them out.

Layout under the data root: ``MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte`` (plain or
``.gz``); Fashion-MNIST likewise under ``FashionMNIST/raw/``. Images come as (n, 1, 28, 28); files are
parsed once per process (cached by path and modification time) and never written back. With ``download=True`` missing files are fetched from the public mirror first (this needs
internet; offline, point the data root at a folder that holds the files). Pixels are scaled to
[0, 1] and standardized with the training mean/std (0.1307 / 0.3081 for MNIST).
"""
from __future__ import annotations

import functools
import gzip
import logging
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, DatasetNotFoundError
from .base import Dataset, preprocessing

logger = logging.getLogger("mole")

FILES = {"train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
         "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte"}
MIRRORS = {"MNIST": "https://ossci-datasets.s3.amazonaws.com/mnist/",
           "FashionMNIST": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"}
FOLDERS = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | Path) -> np.ndarray:
    """Parse one IDX file (optionally gzipped) into a numpy array of its stated shape (read-only)."""
    path = Path(path)
    stat = path.stat()
    return _read_idx(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _read_idx(path: Path, mtime_ns: int, size: int) -> np.ndarray:  # keyed by path, time and size
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number); re-download it")
    ndim = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(_DTYPES[raw[2]])
    body = np.frombuffer(raw, dtype=dtype, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise DataError(f"{path} is truncated: header says {shape}, file holds {body.size} values; re-download it")
    body = body.reshape(shape)
    body.flags.writeable = False  # shared by every caller of the cache
    return body


def _find(raw: Path, stem: str) -> Path | None:
    for candidate in (raw / stem, raw / (stem + ".gz")):
        if candidate.exists():
            return candidate
    return None


def download(folder: Path, mirror: str) -> None:
    """Fetch the gzipped IDX files missing from ``folder`` from ``mirror`` (a URL prefix; needs internet)."""
    folder.mkdir(parents=True, exist_ok=True)
    for stem in FILES.values():
        if _find(folder, stem) is None:
            url = mirror + stem + ".gz"
            logger.info("downloading %s", url)
            with urllib.request.urlopen(url, timeout=60) as r, open(folder / (stem + ".gz"), "wb") as f:
                shutil.copyfileobj(r, f)


def load_mnist(root: Path, name: str = "mnist", download_missing: bool = False) -> Dataset:
    """MNIST (``name="mnist"``) or Fashion-MNIST (``"fashion_mnist"``) from ``root`` in torchvision's layout, with the
    official train/test split: images (n, 1, 28, 28) scaled to [0, 1] and standardized with the training mean and
    std. ``download_missing`` fetches missing files first."""
    folder = root / FOLDERS[name] / "raw"
    if download_missing:
        download(folder, MIRRORS[FOLDERS[name]])
    paths = {k: _find(folder, stem) for k, stem in FILES.items()}
    missing = [FILES[k] for k, p in paths.items() if p is None]
    if missing:
        raise DatasetNotFoundError(f"{name}: missing {', '.join(missing)} under {folder}; set --data-root "
                                   "(or MOLE_DATA) to a folder holding "
                                   f"{FOLDERS[name]}/raw/, or pass --download on a machine with internet")
    arrays = {k: read_idx(p) for k, p in paths.items()}
    x_tr = torch.from_numpy(arrays["train_x"].astype(np.float32) / 255.0)
    mean, std = x_tr.mean(), x_tr.std()
    prep = lambda a: ((torch.from_numpy(a.astype(np.float32) / 255.0) - mean) / std).unsqueeze(1)  # (n,1,28,28)
    x_train, x_test = prep(arrays["train_x"]), prep(arrays["test_x"])
    y_train = torch.from_numpy(arrays["train_y"].astype(np.int64))
    y_test = torch.from_numpy(arrays["test_y"].astype(np.int64))
    return Dataset(name, "grid", x_train, y_train, x_test, y_test, 10,
                   preprocessing(mean, std, (1, 28, 28), range(10), scale=255.0))
