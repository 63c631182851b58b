"""Data adapters: every dataset by name, behind one function.

This package sits outside the core: the training API takes tensors (or adapters) and never imports it.
Datasets keep their natural shape: vectors (n, d), signals (n, 1, L), images (n, 1, H, W); graphs
come as a node split (:class:`NodeDataset`) or a collection for cross-validation (:class:`GraphDataset`).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..validation import choose
from .base import Dataset, data_root
from .few_labels import FEW_LABELS
from .files import SUFFIXES, load_file
from .images import ImageFolderDataset, is_image_folder, load_image_folder
from .graphs import PLANETOID, TU, GraphDataset, NodeDataset, load_karate, load_planetoid, load_tu
from .mnist import load_mnist, read_idx
from .mnist1d import load_mnist1d
from .natural import NATURAL, load_natural
from .ogb import OGB, load_ogb
from .sbm import is_sbm, load_sbm
from .tabular import LOADERS as _TABULAR, load_tabular

# MOLE's signal by data, from the measurements of docs/benchmarks/signals.md: the matrix
# Rényi estimate on small data and graphs, the supervised-contrastive InfoNCE bound on MNIST-sized signals and
# images; on node-level graphs with few labels, Deep Graph Infomax's label-free I(T;S) over all nodes beside
# I(T;Y) (Cora, 5 seeds: 81.68 % at lambda_graph 2, 79.62 % without; backprop 80.96 %)
_CONTRASTIVE = {"estimator": "infonce"}
_NODE = {"model": "gcn", "hidden": (64,), "epochs": 200, "lr": 0.01, "weight_decay": 5e-4}
_GRAPH = {"model": "gin", "hidden": (64, 64), "epochs": 100, "lr": 0.01, "batch_size": 128}
#: per dataset: the model and training settings `mole run` uses for options the user leaves unset
DEFAULTS = {
    # digits: batch 128 (the n of each Gram matrix): MOLE 98.33 % (3 seeds) vs 98.15 % at 256 (docs/benchmarks/accuracy.md).
    # Its signal stays Rényi: over 10 seeds 98.22 % vs SupCon 97.75 % (τ = 0.1) and 98.06 % (τ = 0.5), bp 98.17 %
    "digits": {"model": "mlp", "batch_size": 128},
    "breast_cancer": {"model": "mlp"}, "wine": {"model": "mlp"},
    "mnist1d": {"model": "cnn", **_CONTRASTIVE}, "mnist": {"model": "cnn", **_CONTRASTIVE},
    "fashion_mnist": {"model": "cnn", **_CONTRASTIVE},
    "karate": {**_NODE, "hidden": (16,), "epochs": 100, "weight_decay": 0.0},
    **{name: {**_NODE, "lambda_graph": 2.0} for name in PLANETOID},  # measured on Cora only; sbm-N and OGB keep I(T;Y)
    **{name: dict(_GRAPH) for name in TU},
    **{name: {"model": "resnet", **_CONTRASTIVE} for name in NATURAL},  # ResNet-20; --augment crop-flip for the standard augmentation
    # OGB's baselines' widths (3 layers of 256: GCN for arxiv, GraphSAGE for products); mini-batched by the budget
    "ogbn-arxiv": {"model": "gcn", "hidden": (256, 256), "epochs": 10, "lr": 0.01},
    "ogbn-products": {"model": "sage", "hidden": (256, 256), "epochs": 5, "lr": 0.003},
}
DATASETS = tuple(DEFAULTS)


def load_dataset(name: str, root: str | os.PathLike | None = None, seed: int = 0, download: bool = False,
                 pool: str = "mean", image_size: int | None = None
                 ) -> Dataset | NodeDataset | GraphDataset | ImageFolderDataset:
    """Load a dataset by name, from a ``.npz``/``.csv`` file path, or from a folder of images in ``ImageFolder``'s
    layout (:mod:`mole.data.images`, resized to ``image_size`` where given).

    ``root`` (or ``$MOLE_DATA``) is the folder of file-based benchmark datasets such as MNIST, Cora, MUTAG.
    ``seed`` fixes the train/test split of datasets that have no official one; ``pool`` is the
    graph-level read-out (``mean`` or ``sum``).
    """
    if Path(str(name)).suffix in SUFFIXES:
        return load_file(name, seed=seed)
    if is_image_folder(name):
        return load_image_folder(name, seed=seed, image_size=image_size)
    if is_sbm(name):
        return load_sbm(name)  # a fixed graph and split: the run's seed does not change them
    name = choose("dataset", name, DATASETS)
    if name in _TABULAR:
        return load_tabular(name, seed=seed)
    if name == "mnist1d":
        return load_mnist1d()
    if name == "karate":
        return load_karate()
    if name in PLANETOID:
        return load_planetoid(data_root(root), name, download=download)
    if name in TU:
        return load_tu(data_root(root), name, download=download, pool=pool)
    if name in OGB:
        return load_ogb(data_root(root), name, download_missing=download)
    if name in NATURAL:
        return load_natural(data_root(root), name, download_missing=download)
    return load_mnist(data_root(root), name, download_missing=download)


def dataset_defaults(dataset: str, few_labels: bool = False) -> dict:
    """Model and training settings for a dataset (empty for files): ``model``, ``hidden``, ``epochs``,
    ``batch_size``, ``lr``, ``weight_decay``, and MOLE's signal (``estimator``, ``estimator_options``,
    ``lambda_graph``) where it is not the Rényi estimate of I(T;Y) alone. ``few_labels`` (a label budget): with
    the settings measured to help with few labels on its kind of data (:func:`few_label_kind`,
    :mod:`mole.data.few_labels`) over them."""
    if is_sbm(dataset):
        defaults = dict(_NODE)
    elif is_image_folder(dataset):  # images: a CNN with the contrastive signal, as on MNIST
        defaults = {"model": "cnn", **_CONTRASTIVE}
    else:
        defaults = dict(DEFAULTS.get(dataset, {"model": "mlp"}))
    return {**defaults, **FEW_LABELS[few_label_kind(dataset)]} if few_labels else defaults


def few_label_kind(dataset: str) -> str:
    """The kind of data whose few-label settings (:data:`mole.data.few_labels.FEW_LABELS`) a dataset gets:
    ``image`` (MNIST-sized images and larger, folders of images), ``signal`` (MNIST-1D), ``node``, ``graph``, or
    ``vector`` (tables, files, digits' 8×8 images: nothing measured)."""
    if is_sbm(dataset) or dataset in PLANETOID or dataset in OGB or dataset == "karate":
        return "node"
    if is_image_folder(dataset) or dataset in ("mnist", "fashion_mnist") or dataset in NATURAL:
        return "image"
    return {"mnist1d": "signal", **{name: "graph" for name in TU}}.get(dataset, "vector")


__all__ = ["Dataset", "NodeDataset", "GraphDataset", "DATASETS", "DEFAULTS", "FEW_LABELS", "data_root", "dataset_defaults",
           "few_label_kind",
           "load_dataset", "read_idx"]
