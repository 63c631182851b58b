"""A folder of images in ``ImageFolder``'s layout: ``mole run --dataset DIR``.

Layout: one subfolder per class (``DIR/cat/001.png``, ``DIR/dog/xyz.jpg``), classes sorted by name, as
``torchvision.datasets.ImageFolder`` reads it; or ``DIR/train/<class>/...`` beside ``DIR/test/<class>/...`` for a
given split. Without one, a stratified 20 % of the images, fixed by the seed, is held out for testing.

Images are read when a batch needs them, never all at once: through torchvision's ``ImageFolder`` and
``transforms.v2`` where torchvision is installed (``pip install mole-mi[vision]``), else through this module's own
reader of the same files with Pillow (which matplotlib already brings), so a folder of images trains either way.
Both convert to RGB, resize to ``image_size`` × ``image_size`` where given, scale pixels to [0, 1] and standardize
each channel with the mean and standard deviation of (up to 256 of) the training images.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from ..errors import DataError, DatasetNotFoundError
from .base import preprocessing

logger = logging.getLogger("mole")

#: the file endings ImageFolder reads
EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
TEST_SIZE = 0.2
STATS_SAMPLES = 256


def has_torchvision() -> bool:
    """Whether torchvision imports here (absent, or built against another torch: then Pillow reads the images)."""
    try:
        import torchvision  # noqa: F401
    except Exception:  # noqa: BLE001 - absent, or built against another torch: read with Pillow
        return False
    return True


def is_image_folder(path) -> bool:
    """Whether ``path`` is a folder (of class subfolders): what ``--dataset DIR`` names."""
    return Path(str(path)).is_dir()


def _classes(root: Path) -> list[str]:
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DataError(f"{root} holds {len(classes)} class folder(s); an image folder needs one subfolder per class "
                        "(at least 2), e.g. DIR/cat/*.png and DIR/dog/*.png")
    return classes


def _files(root: Path, classes: list[str]) -> tuple[list[Path], list[int]]:
    paths, labels = [], []
    for c, name in enumerate(classes):
        found = sorted(p for p in (root / name).rglob("*") if is_image(p))
        paths += found
        labels += [c] * len(found)
    if not paths:
        raise DataError(f"{root}'s class folders hold no images ({', '.join(EXTENSIONS)})")
    return paths, labels


class Standardize:
    """``(x - mean) / std`` per channel, on a (C, H, W) tensor."""

    def __init__(self, mean, std):
        self.mean = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
        self.std = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class ImageFiles(Dataset):
    """Images read with Pillow from ``ImageFolder``'s layout: ``(x (3, H, W) in [0, 1] then ``transform``, label)``.

    Args:
        root: the folder of class subfolders.
        image_size: resize every image to this square size (None: as stored; then they must share one size).
        transform: applied to the (3, H, W) tensor, e.g. :class:`Standardize` or a random augmentation.
    """

    def __init__(self, root, image_size: Optional[int] = None, transform=None):
        self.root = Path(root)
        self.classes = _classes(self.root)
        self.paths, self.targets = _files(self.root, self.classes)
        self.image_size, self.transform = image_size, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):
        from PIL import Image
        try:
            with Image.open(self.paths[i]) as img:
                img = img.convert("RGB")
                if self.image_size:
                    img = img.resize((self.image_size, self.image_size), Image.BILINEAR)
                x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()
        except OSError as exc:
            raise DataError(f"{self.paths[i]} is not a readable image ({exc}); remove or replace it") from None
        return (self.transform(x) if self.transform is not None else x), self.targets[i]


def _reader(root: Path, image_size: Optional[int], transform=None) -> Dataset:
    """torchvision's ImageFolder where torchvision imports, else :class:`ImageFiles`: the same files, classes,
    order and pixels."""
    if not has_torchvision():
        return ImageFiles(root, image_size, transform)
    from torchvision import datasets
    from torchvision.transforms import v2
    steps = [v2.Resize((image_size, image_size))] if image_size else []  # on the PIL image: Pillow's bilinear
    steps += [v2.ToImage(), v2.ToDtype(torch.float32, scale=True)]  # ImageFolder's loader converts to RGB
    if transform is not None:
        steps.append(transform)
    _classes(root)
    return datasets.ImageFolder(str(root), transform=v2.Compose(steps), is_valid_file=is_image)


def is_image(path) -> bool:
    """Whether ``path`` ends as an image file ImageFolder reads (:data:`EXTENSIONS`)."""
    return Path(path).suffix.lower() in EXTENSIONS


@dataclass
class ImageFolderDataset:
    """A train/test split of a folder of images, as torch Datasets read on demand (``kind = "grid"``)."""

    name: str
    train: Dataset
    test: Dataset
    n_classes: int
    input_shape: tuple
    classes: list
    preprocess: Optional[dict] = None
    kind: str = "grid"

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n_train": len(self.train), "n_test": len(self.test),
                "input_shape": list(self.input_shape), "n_classes": self.n_classes, "classes": self.classes,
                "reader": "torchvision ImageFolder" if has_torchvision() else "mole ImageFiles (Pillow)"}


def _split(targets: list[int], seed: int) -> tuple[list[int], list[int]]:
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(targets))
    counts = np.bincount(targets)
    if len(targets) < 5:
        raise DataError(f"the image folder holds {len(targets)} images; a train/test split needs at least 5")
    classes = int((counts > 0).sum())
    stratified = counts[counts > 0].min() >= 2 and math.ceil(TEST_SIZE * len(targets)) >= classes
    strat = targets if stratified else None
    train, test = train_test_split(idx, test_size=TEST_SIZE, stratify=strat, random_state=seed)
    return sorted(train.tolist()), sorted(test.tolist())


def load_image_folder(root, seed: int = 0, image_size: Optional[int] = None) -> ImageFolderDataset:
    """The images under ``root`` (see the module docstring), standardized by the training images' statistics."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetNotFoundError(f"image folder {root} does not exist; pass a folder of class subfolders")
    given = (root / "train").is_dir() and (root / "test").is_dir()
    train_root = root / "train" if given else root
    raw = _reader(train_root, image_size)
    classes = list(raw.classes)
    if given:
        raw_test = _reader(root / "test", image_size)
        if list(raw_test.classes) != classes:
            raise DataError(f"{root}/train and {root}/test hold different class folders ({', '.join(classes)} vs "
                            f"{', '.join(raw_test.classes)}); give both the same classes")
        train_idx, test_idx = list(range(len(raw))), None
    else:
        train_idx, test_idx = _split(list(raw.targets), seed)
    sample = np.random.default_rng(seed).permutation(train_idx)[:STATS_SAMPLES]
    try:
        xs = torch.stack([raw[int(i)][0] for i in sample])
    except RuntimeError:
        raise DataError(f"the images under {root} have different sizes; pass --image-size N to resize them to N x N"
                        ) from None
    mean, std = xs.mean((0, 2, 3)), xs.std((0, 2, 3)).clamp_min(1e-6)
    standardize = Standardize(mean, std)
    full = _reader(train_root, image_size, standardize)
    if given:
        train, test = full, _reader(root / "test", image_size, standardize)
    else:
        train, test = Subset(full, train_idx), Subset(full, test_idx)
    logger.info("image folder %s: %d train / %d test images, %d classes, %s", root, len(train), len(test),
                len(classes), "torchvision" if has_torchvision() else "Pillow")
    return ImageFolderDataset(root.name or "images", train, test, len(classes), tuple(xs.shape[1:]), classes,
                              preprocessing(mean, std, xs.shape[1:], classes))
