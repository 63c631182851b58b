r"""Training-time data augmentation for signals and images, the same for every method.

An augmentation maps a mini-batch of network inputs to a randomly perturbed copy, drawing its
randomness from the run's generator (so every method, and every asynchronous worker, sees the same
perturbed batches). Evaluation never augments.

* ``"shift"`` (:class:`RandomShift`): each sample is translated by an integer offset drawn uniformly
  from :math:`\{-s, \dots, s\}` along every spatial axis (1-D signals (n, C, L), images (n, C, H, W));
  the uncovered border repeats the edge values (the background of MNIST-like data, whatever its
  normalization). This is the "inputs shifted by up to 2 pixels" of Nøkland & Eidnes (2019).
* ``"crop-flip"`` (:class:`RandomCropFlip`): zero-pad by :math:`p` pixels, take a random crop of the
  original size, and flip horizontally with probability 1/2: the standard augmentation of natural
  images (CIFAR-style), for images only.
* ``"affine"`` (:class:`RandomAffine`): a random rotation by up to ±15°, scaling by a factor in [0.9, 1.1] and
  translation by up to :math:`p` pixels along each axis (bilinear resampling, edge values outside), for images
  only: the stronger, label-preserving perturbation of handwriting that contrastive views need (two 2-pixel
  shifts of a digit are nearly the same image).

* ``"mask"`` (:class:`~mole.adapters.graph_masking.GraphMasking`): graph collections only; GraphCL's attribute
  masking and edge dropping at a fixed ratio of 0.2 (no pixels).

**Weak and strong views** (FixMatch, Sohn et al. 2020). A batch of several views of each sample
(:attr:`~mole.batch.LocalBatch.views`) perturbs them all by the run's augmentation, unless a *weak*
augmentation is given for its first view (:func:`weak_augmentation_resolver`; ``"none"``:
:class:`Unperturbed`): pseudo-labels are guessed on that first view and learnt on the others, which keep
the run's (strong) augmentation. A guess on a lightly perturbed sample is right more often, and learning
it on a strongly perturbed one teaches more.

Shapes: input ``(n, C, *spatial)`` -> output of the same shape.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from .graph_masking import GraphMasking

AUGMENTATIONS = ("none", "shift", "crop-flip", "affine", "mask")
DEFAULT_PIXELS = {"shift": 2, "crop-flip": 4, "affine": 3}


def _crop(padded: torch.Tensor, offsets: torch.Tensor, size: tuple) -> torch.Tensor:
    """Per-sample crops of ``size`` from ``padded`` (n, C, *P) starting at ``offsets`` (n, dims)."""
    out = padded
    for axis, length in enumerate(size):  # one gather per spatial axis
        dim = 2 + axis
        index = offsets[:, axis, None] + torch.arange(length, device=padded.device)  # (n, length)
        shape = [out.shape[0]] + [1] * (out.dim() - 1)
        shape[dim] = length
        out = out.gather(dim, index.view(shape).expand(*out.shape[:dim], length, *out.shape[dim + 1:]))
    return out  # (n, C, *size)


class Augmentation:
    """Base: ``augmentation(x, generator)`` returns a perturbed copy of the batch ``x``."""

    name = ""
    dims: tuple = (1, 2)  # spatial dimensions it supports

    def __init__(self, pixels: int):
        if not (isinstance(pixels, int) and pixels >= 1):
            raise ConfigError(f"augment_pixels must be a positive integer; got {pixels!r}")
        self.pixels = pixels

    def check(self, shape: tuple) -> None:
        """Raise if samples of ``shape`` (without n) cannot be augmented."""
        spatial = len(shape) - 1
        if spatial not in self.dims:
            kinds = "signals (C, L) or images (C, H, W)" if 1 in self.dims else "images (C, H, W)"
            raise ConfigError(f"augment {self.name!r} needs {kinds}; the samples have shape {tuple(shape)}. "
                              "Use --augment none for vectors and graphs")
        if self.pixels >= max(shape[1:]):
            raise ConfigError(f"augment_pixels={self.pixels} moves a sample of size {tuple(shape[1:])} out of itself; "
                              f"use fewer pixels than {max(shape[1:])}")

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(pixels={self.pixels})"


class RandomShift(Augmentation):
    """Random translation of signals (n, C, L) or images (n, C, H, W) by up to ``pixels`` along every spatial axis.

    Each sample gets its own integer offset per axis, uniform in ``-pixels..pixels``; the uncovered border repeats
    the edge values. The output has the input's shape.
    """

    name = "shift"

    def __call__(self, x, generator):
        s, size = self.pixels, tuple(x.shape[2:])
        padded = F.pad(x, (s, s) * len(size), mode="replicate")  # (n, C, *(size + 2s))
        offsets = torch.randint(0, 2 * s + 1, (x.shape[0], len(size)), generator=generator)
        return _crop(padded, offsets.to(x.device), size)


class RandomCropFlip(Augmentation):
    """The standard augmentation of natural images (n, C, H, W): zero-pad by ``pixels``, crop a random window of the
    original size, and flip horizontally with probability 1/2 (per sample). The output has the input's shape."""

    name = "crop-flip"
    dims = (2,)

    def __call__(self, x, generator):
        p, size = self.pixels, tuple(x.shape[2:])
        padded = F.pad(x, (p, p, p, p))  # zeros: the data mean after standardization
        offsets = torch.randint(0, 2 * p + 1, (x.shape[0], 2), generator=generator)
        flip = torch.rand(x.shape[0], generator=generator) < 0.5
        out = _crop(padded, offsets.to(x.device), size)
        return torch.where(flip.to(x.device)[:, None, None, None], out.flip(-1), out)


class RandomAffine(Augmentation):
    """A random affine map of images (n, C, H, W), per sample: rotation by up to ±15°, scaling by a factor in [0.9, 1.1]
    about the centre, translation by up to ``pixels`` along each axis (bilinear resampling, edge values outside). The
    output has the input's shape."""

    name = "affine"
    dims = (2,)
    degrees, scale = 15.0, (0.9, 1.1)

    def __call__(self, x, generator):
        n, (h, w) = x.shape[0], x.shape[2:]
        u = torch.rand(n, 4, generator=generator).to(x.device)
        angle = (2 * u[:, 0] - 1) * math.radians(self.degrees)
        factor = self.scale[0] + (self.scale[1] - self.scale[0]) * u[:, 1]
        # the image is rotated by `angle`, scaled by `factor` about its centre, then moved by (dx, dy) (normalized
        # units: 2 / size per pixel); affine_grid wants the inverse map, output -> input: A (p - t), A = R^-1 / s
        cos, sin = torch.cos(angle) / factor, torch.sin(angle) / factor
        dx = (2 * u[:, 2] - 1) * self.pixels * 2 / w
        dy = (2 * u[:, 3] - 1) * self.pixels * 2 / h
        theta = torch.stack([torch.stack([cos, sin, -(cos * dx + sin * dy)], 1),
                             torch.stack([-sin, cos, -(-sin * dx + cos * dy)], 1)], 1)
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class Unperturbed:
    """The weak view ``"none"``: the batch as it is (any signal or image shape)."""

    name = "none"

    def check(self, shape: tuple) -> None:
        """Any sample shape can stay as it is."""

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return x

    def __repr__(self) -> str:
        return "Unperturbed()"


def augmentation_resolver(name: str, pixels: int | None = None):
    """``"none"`` -> None; ``"shift"`` / ``"crop-flip"`` / ``"affine"`` with ``pixels`` (default 2 / 4 / 3);
    ``"mask"`` -> :class:`~mole.adapters.graph_masking.GraphMasking` (graph collections)."""
    from ..validation import choose
    name = choose("augment", name, AUGMENTATIONS)
    if name in ("none", "mask"):
        if pixels is not None:
            raise ConfigError(f"augment_pixels={pixels!r} applies to augment 'shift', 'crop-flip' or 'affine'; add --augment "
                              "shift or drop --augment-pixels")
        return GraphMasking() if name == "mask" else None
    cls = {"shift": RandomShift, "crop-flip": RandomCropFlip, "affine": RandomAffine}[name]
    return cls(DEFAULT_PIXELS[name] if pixels is None else pixels)


def no_weak_view_of_graphs(name: str) -> ConfigError:
    """The error of a weak first view asked of graph collections, whose views are all masked alike."""
    return ConfigError(f"weak_augment {name!r} applies to signals and images; every view of a graph is masked alike. "
                       "Drop --weak-augment")


WEAK_AUGMENTATIONS = ("same", "none", "shift", "crop-flip", "affine")


def weak_augmentation_resolver(name: str, pixels: int | None = None, augment: str = "none"):
    """The augmentation of a batch's first view: ``"same"`` -> None (the run's own, ``augment``); ``"none"`` ->
    :class:`Unperturbed`; ``"shift"`` / ``"crop-flip"`` / ``"affine"`` with ``pixels`` (defaults as above)."""
    from ..validation import choose
    name = choose("weak_augment", name, WEAK_AUGMENTATIONS)
    if name != "same" and augment == "none":
        raise ConfigError(f"weak_augment {name!r} sets a batch's first view apart from the others, which augment 'none' "
                          "does not perturb; add --augment shift, crop-flip or affine, or drop --weak-augment")
    if name != "same" and augment == "mask":
        raise no_weak_view_of_graphs(name)
    if name in ("same", "none"):
        if pixels is not None:
            raise ConfigError(f"weak_augment_pixels={pixels!r} applies to weak_augment 'shift', 'crop-flip' or "
                              "'affine'; add --weak-augment shift or drop --weak-augment-pixels")
        return None if name == "same" else Unperturbed()
    return augmentation_resolver(name, pixels)
