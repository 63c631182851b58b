"""Natural-image datasets in their official on-disk formats: CIFAR-10, CIFAR-100, SVHN, STL-10.

Layouts under the data root (what the official archives unpack to; torchvision's folders where it has them):

* ``cifar-10-batches-bin/data_batch_{1..5}.bin``, ``test_batch.bin``: the binary version, records of
  1 label byte + 3072 pixel bytes (R, G, B planes of 32×32, row-major);
* ``cifar-100-binary/{train,test}.bin``: records of 1 coarse + 1 fine label byte + 3072 pixel bytes (the
  100 fine classes are used);
* ``SVHN/{train,test}_32x32.mat``: MATLAB files with ``X`` (32, 32, 3, n) and ``y`` (n, 1) in 1..10, 10
  standing for the digit 0;
* ``stl10_binary/{train,test}_{X,y}.bin``: uint8 images (n, 3, 96, 96) stored column-major, labels 1..10.

The binary and MATLAB versions are read, never the pickled ones: reading a file never runs code. Images
come as float32 (n, 3, H, W), scaled to [0, 1] and standardized per channel with the training split's
mean and std. ``download=True`` fetches a missing dataset from its official address first (internet
needed); offline, missing files are a :class:`~mole.errors.DatasetNotFoundError` naming them. The
standard augmentation (random crop with padding + horizontal flip) is ``--augment crop-flip``.
"""
from __future__ import annotations

import logging
import shutil
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, DatasetNotFoundError
from .base import Dataset, preprocessing

logger = logging.getLogger("mole")

#: name -> (folder, train files, test files, official archive or files to download, classes)
NATURAL = {
    "cifar10": ("cifar-10-batches-bin", [f"data_batch_{i}.bin" for i in range(1, 6)], ["test_batch.bin"],
                "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", 10),
    "cifar100": ("cifar-100-binary", ["train.bin"], ["test.bin"],
                 "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz", 100),
    "svhn": ("SVHN", ["train_32x32.mat"], ["test_32x32.mat"], "http://ufldl.stanford.edu/housenumbers/", 10),
    "stl10": ("stl10_binary", ["train_X.bin", "train_y.bin"], ["test_X.bin", "test_y.bin"],
              "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz", 10),
}


def _cifar(paths: list[Path], label_bytes: int) -> tuple[np.ndarray, np.ndarray]:
    """Records of ``label_bytes`` label bytes (the last is the class) + 3 × 32 × 32 pixel bytes."""
    record = label_bytes + 3072
    chunks = []
    for path in paths:
        raw = np.fromfile(path, dtype=np.uint8)
        if raw.size == 0 or raw.size % record:
            raise DataError(f"{path} is not a CIFAR binary file ({raw.size} bytes is not a multiple of {record}); "
                            "re-download it")
        chunks.append(raw.reshape(-1, record))
    table = np.concatenate(chunks)
    return table[:, label_bytes:].reshape(-1, 3, 32, 32), table[:, label_bytes - 1].astype(np.int64)


def _svhn(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat
    try:
        mat = loadmat(path)
        x, y = mat["X"], mat["y"].reshape(-1).astype(np.int64)
    except Exception as exc:  # noqa: BLE001 - a bad .mat is one problem
        raise DataError(f"{path} is not an SVHN .mat file ({exc}); re-download it") from None
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != y.size:
        raise DataError(f"{path}: X has shape {x.shape}, expected (32, 32, 3, {y.size}); re-download it")
    return np.transpose(x, (3, 2, 0, 1)), np.where(y == 10, 0, y)  # (n, 3, 32, 32); the digit 0 is stored as 10


def _stl10(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    raw = np.fromfile(images, dtype=np.uint8)
    y = np.fromfile(labels, dtype=np.uint8).astype(np.int64) - 1
    if raw.size != y.size * 3 * 96 * 96:
        raise DataError(f"{images}: {raw.size} bytes for {y.size} labels (3 × 96 × 96 each); re-download it")
    return np.transpose(raw.reshape(-1, 3, 96, 96), (0, 1, 3, 2)), y  # stored column-major


def _read(name: str, folder: Path, files: list[str]) -> tuple[np.ndarray, np.ndarray]:
    paths = [folder / f for f in files]
    if name == "cifar10":
        return _cifar(paths, 1)
    if name == "cifar100":
        return _cifar(paths, 2)
    if name == "svhn":
        return _svhn(paths[0])
    return _stl10(*paths)


def download(name: str, root: Path) -> None:
    """Fetch dataset ``name`` into ``root`` from its official address unless all its files are there: the archive,
    unpacked (CIFAR, STL-10), or the files one by one (SVHN). Needs internet."""
    folder, train, test, url, _ = NATURAL[name]
    target = root / folder
    if all((target / f).exists() for f in train + test):
        return
    root.mkdir(parents=True, exist_ok=True)
    if url.endswith(".tar.gz"):
        archive = root / url.rsplit("/", 1)[1]
        logger.info("downloading %s", url)
        with urllib.request.urlopen(url, timeout=60) as r, open(archive, "wb") as f:
            shutil.copyfileobj(r, f)
        with tarfile.open(archive) as tar:
            tar.extractall(root, filter="data")  # no absolute paths, links out of root or special files
        archive.unlink()
        return
    target.mkdir(parents=True, exist_ok=True)
    for f in train + test:
        logger.info("downloading %s", url + f)
        with urllib.request.urlopen(url + f, timeout=60) as r, open(target / f, "wb") as out:
            shutil.copyfileobj(r, out)


def load_natural(root: Path, name: str, download_missing: bool = False) -> Dataset:
    """CIFAR-10, CIFAR-100, SVHN or STL-10 (``name``: ``"cifar10"``, ``"cifar100"``, ``"svhn"``, ``"stl10"``) from
    ``root`` in the official layout: images (n, 3, H, W) scaled to [0, 1] and standardized per channel with the
    training split's statistics. ``download_missing`` fetches missing files first."""
    folder, train, test, _, n_classes = NATURAL[name]
    if download_missing:
        download(name, root)
    missing = [f for f in train + test if not (root / folder / f).is_file()]
    if missing:
        raise DatasetNotFoundError(f"{name}: missing {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''} "
                                   f"under {root / folder}; set --data-root (or MOLE_DATA) to a folder holding "
                                   f"{folder}/, or pass --download on a machine with internet")
    x_tr, y_tr = _read(name, root / folder, train)
    x_te, y_te = _read(name, root / folder, test)
    for y, split in ((y_tr, "training"), (y_te, "test")):
        if y.size and (y.min() < 0 or y.max() >= n_classes):
            raise DataError(f"{name}: {split} labels outside 0..{n_classes - 1}; the files are damaged: re-download")
    x_train = torch.from_numpy(x_tr.astype(np.float32) / 255.0)
    mean = x_train.mean(dim=(0, 2, 3), keepdim=True)
    std = x_train.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-8)
    x_test = torch.from_numpy(x_te.astype(np.float32) / 255.0)
    return Dataset(name, "grid", (x_train - mean) / std, torch.from_numpy(y_tr), (x_test - mean) / std,
                   torch.from_numpy(y_te), n_classes,
                   preprocessing(mean, std, x_train.shape[1:], range(n_classes), scale=255.0))
