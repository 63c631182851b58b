"""A folder of images in ``ImageFolder``'s layout: ``mole run --dataset DIR``.

Layout: one subfolder per class (``DIR/cat/001.png``, ``DIR/dog/xyz.jpg``), classes sorted by name, as
``torchvision.datasets.ImageFolder`` reads it; or ``DIR/train/<class>/...`` beside ``DIR/test/<class>/...`` for a
given split. Without one, a stratified 20 % of the images, fixed by the seed, is held out for testing.

Images are read when a batch needs them, never all at once: through torchvision's ``ImageFolder`` and
``transforms.v2`` where torchvision is installed (``pip install mole-mi[vision]``), else through this module's own
reader of the same files with Pillow (which matplotlib already brings), so a folder of images trains either way.
Both convert to RGB, resize to ``image_size`` × ``image_size`` where given, scale pixels to [0, 1] and standardize
each channel with the mean and standard deviation of (up to 256 of) the training images.

The images are listed once, when the run starts; a file deleted or rewritten afterwards is one
:class:`~mole.errors.DataError` line naming it when a batch reads it, and :attr:`ImageFolderDataset.files` (per class
folder, how many images and a hash of their names and sizes) lets ``--resume`` refuse a folder that changed since the
run started (:func:`changed_files`) rather than train on other data.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import math
import os
import time
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
    seen = set(labels)
    empty = [name for c, name in enumerate(classes) if c not in seen]
    if empty:
        raise DataError(f"{root}'s class folder {empty[0]!r} holds no images ({', '.join(EXTENSIONS)}): a class "
                        "without samples; add its images or remove the folder")
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
        self.root, self.listed_at = Path(root), time.time()
        self.classes = _classes(self.root)
        self.paths, self.targets = _files(self.root, self.classes)
        self.image_size, self.transform = image_size, transform

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):
        from PIL import Image
        img = open_rgb(self.paths[i], self.listed_at)
        if self.image_size:
            img = img.resize((self.image_size, self.image_size), Image.BILINEAR)
        x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()
        return (self.transform(x) if self.transform is not None else x), self.targets[i]


def open_rgb(path, listed_at: float):
    """The image at ``path`` as an RGB Pillow image (what ImageFolder's loader returns). A file that is gone or not a
    readable image is one :class:`~mole.errors.DataError` line naming it, which says whether it changed after the
    folder was listed (``listed_at``, a ``time.time()``): the folder changed since the run started."""
    from PIL import Image
    try:
        with Image.open(path) as img:
            return img.convert("RGB")
    except (OSError, SyntaxError) as exc:  # (Pillow raises SyntaxError for some broken files)
        reason = " ".join(str(exc).split())
        try:
            changed = os.stat(path).st_mtime > listed_at
        except FileNotFoundError:
            raise DataError(f"{path} was deleted after the run listed the image folder: the folder changed since the "
                            "run started; put the file back to continue (--resume), or start a fresh run on the folder "
                            "as it is now") from None
        if changed:
            raise DataError(f"{path} was rewritten after the run listed the image folder and is no longer a readable "
                            f"image ({reason}): the folder changed since the run started; restore the file to continue "
                            "(--resume), or start a fresh run on the folder as it is now") from None
        raise DataError(f"{path} is not a readable image ({reason}); remove or replace it") from None


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
    try:
        return datasets.ImageFolder(str(root), transform=v2.Compose(steps), is_valid_file=is_image,
                                    loader=functools.partial(open_rgb, listed_at=time.time()))
    except FileNotFoundError as exc:  # a class folder without images
        raise DataError(f"{root}: {str(exc).splitlines()[0]}; add its images or remove the folder") from None


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
    #: per class folder (``train/<class>`` and ``test/<class>`` for a given split): [images, hash of their names and
    #: sizes] (:func:`image_files`), what a run records to refuse resuming on a folder that changed
    files: Optional[dict] = None

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n_train": len(self.train), "n_test": len(self.test),
                "input_shape": list(self.input_shape), "n_classes": self.n_classes, "classes": self.classes,
                "reader": "torchvision ImageFolder" if has_torchvision() else "mole ImageFiles (Pillow)"}


def image_files(reader: Dataset, prefix: str = "") -> dict[str, list]:
    """Per class folder of ``reader`` (an :class:`ImageFiles` or ImageFolder), named ``prefix`` + its class: [how many
    images, a hash of their names and sizes]. One ``stat`` per file; modification times are left out, so a copied
    folder still matches, while a file added, removed, renamed or rewritten to another size does not."""
    paths = reader.paths if isinstance(reader, ImageFiles) else [p for p, _ in reader.samples]
    listed: dict[str, list[str]] = {}
    for path, label in zip(paths, reader.targets):
        try:
            size = os.stat(path).st_size
        except OSError:  # gone since it was listed
            size = -1
        listed.setdefault(prefix + reader.classes[label], []).append(
            f"{Path(path).relative_to(reader.root).as_posix()}\t{size}")
    return {name: [len(entries), hashlib.blake2b("\n".join(entries).encode(), digest_size=8).hexdigest()]
            for name, entries in listed.items()}


def changed_files(recorded: dict, now: dict) -> list[str]:
    """How the class folders ``now`` (:func:`image_files`) differ from those ``recorded``: one phrase each."""
    changes = []
    for name in sorted(set(recorded) | set(now)):
        if name not in recorded:
            changes.append(f"a new class folder {name!r}")
        elif name not in now:
            changes.append(f"class folder {name!r} is gone")
        elif recorded[name][0] != now[name][0]:
            changes.append(f"{name!r} holds {now[name][0]} images, {recorded[name][0]} when the run started")
        elif recorded[name][1] != now[name][1]:
            changes.append(f"images of {name!r} were renamed or rewritten (other names or sizes)")
    return changes


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
    files = image_files(raw, "train/" if given else "") | (image_files(raw_test, "test/") if given else {})
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
                              preprocessing(mean, std, xs.shape[1:], classes), files=files)
