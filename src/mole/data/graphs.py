"""Graph datasets from PyTorch Geometric: KarateClub (embedded), Planetoid, TU collection.

File datasets are read from the data root in PyG's layout (``Planetoid/Cora/raw/…``,
``TUDataset/MUTAG/raw/…``). The data root may be read-only (CI): the raw files are copied into a
writable cache (``$MOLE_CACHE``, default ``~/.cache/mole``), in a folder keyed to those files, and PyG
writes its ``processed/`` folder there, never next to ``raw/``. Missing raw files are an error unless
``download`` (then PyG downloads into the cache; needs internet); a load that fails removes its cache folder.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..adapters import GraphData, NodeData
from ..errors import DataError, DatasetNotFoundError
from .restricted_pickle import planetoid_reads_safely

logger = logging.getLogger("mole")

PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
TU = {"mutag": "MUTAG", "proteins": "PROTEINS", "enzymes": "ENZYMES", "nci1": "NCI1", "imdb-binary": "IMDB-BINARY",
      "ptc_mr": "PTC_MR"}
MAX_DEGREE_FEATURE = 64  # graphs without node features get one-hot degrees, capped here


def cache_root() -> Path:
    """The writable cache folder: ``$MOLE_CACHE``, default ``~/.cache/mole``."""
    return Path(os.environ.get("MOLE_CACHE", Path.home() / ".cache" / "mole")).expanduser()


@dataclass
class NodeDataset:
    """One graph with a train/test node split."""

    name: str
    train: NodeData
    test: NodeData
    n_classes: int
    kind: str = "node"
    val: NodeData | None = None  # validation nodes (Planetoid's public split), for a convergence budget

    @property
    def input_shape(self) -> tuple:
        return (self.train.x.shape[1],)

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n_nodes": int(self.train.x.shape[0]),
                "n_edges": int(self.train.edge_index.shape[1]), "n_train": len(self.train), "n_test": len(self.test),
                "input_shape": list(self.input_shape), "n_classes": self.n_classes}


@dataclass
class GraphDataset:
    """A collection of graphs, evaluated by stratified k-fold cross-validation."""

    name: str
    graphs: GraphData
    n_classes: int
    kind: str = "graph"

    @property
    def input_shape(self) -> tuple:
        return (self.graphs.x.shape[1],)

    def folds(self, k: int, seed: int) -> list[tuple[GraphData, GraphData]]:
        from sklearn.model_selection import StratifiedKFold
        y = self.graphs.y.cpu().numpy()
        splits = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
        return [(self.graphs.subset(torch.as_tensor(tr)), self.graphs.subset(torch.as_tensor(te))) for tr, te in splits]

    def summary(self) -> dict:
        return {"name": self.name, "kind": self.kind, "n_graphs": len(self.graphs),
                "n_nodes": int(self.graphs.x.shape[0]), "input_shape": list(self.input_shape),
                "n_classes": self.n_classes}


def _raw_files(collection: str, folder: str) -> list[str]:
    """The raw files PyG reads for a dataset (without them it would try to download them)."""
    if collection == "Planetoid":
        return [f"ind.{folder.lower()}.{part}" for part in ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")]
    return [f"{folder}_{part}.txt" for part in ("A", "graph_indicator", "graph_labels")]


def _staged(root: Path, collection: str, folder: str, name: str, download: bool) -> Path:
    """A writable PyG root holding a copy of ``root/collection/folder/raw``, in a cache folder keyed to those
    raw files (path, names, sizes, modification times): a changed data root or changed files get a fresh
    folder, and PyG's ``processed/`` can never come from other files. Without every raw file PyG reads,
    :class:`DatasetNotFoundError` (PyG would otherwise download them), unless ``download``."""
    src = root / collection / folder / "raw"
    missing = [f for f in _raw_files(collection, folder) if not (src / f).is_file()]
    if missing and not download:
        raise DatasetNotFoundError(f"{name}: {src} lacks {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''}; "
                                   f"set --data-root (or MOLE_DATA) to a folder holding {collection}/{folder}/raw/ "
                                   "with the dataset's files, or pass --download")
    if missing:  # download into a folder of its own
        return cache_root() / "pyg" / f"{collection}-download"
    files = sorted(p for p in src.iterdir() if p.is_file())
    key = hashlib.sha1(repr([str(src.resolve())] + [(p.name, p.stat().st_size, p.stat().st_mtime_ns)
                                                     for p in files]).encode()).hexdigest()[:16]
    target = cache_root() / "pyg" / f"{collection}-{key}"
    dst = target / folder / "raw"
    if not dst.is_dir():
        tmp = target / folder / "raw.partial"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp)
        os.replace(tmp, dst)
    return target


def _load(cls, staged: Path, label: str, **kwargs):
    """PyG dataset ``cls`` from ``staged``; a failure (garbled raw file) removes what it processed, so the cache
    is never left poisoned, and becomes one DataError line."""
    try:
        with planetoid_reads_safely():  # Planetoid's raw files are pickles: data types only, never code
            return cls(str(staged), **kwargs)
    except DatasetNotFoundError:
        raise
    except DataError as exc:  # a raw file that names code
        shutil.rmtree(staged, ignore_errors=True)
        raise DataError(f"{label}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - PyG raises anything from a bad file
        shutil.rmtree(staged, ignore_errors=True)
        raise DataError(f"{label}: cannot read its raw files ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}); "
                        "replace them with intact copies") from None


def load_karate() -> NodeDataset:
    """Zachary's karate club, embedded in PyG (no files): one graph whose ``train_mask`` nodes (one per community) train
    and every other node tests."""
    from torch_geometric.datasets import KarateClub
    g = KarateClub()[0]
    train = g.train_mask.nonzero().flatten()
    test = (~g.train_mask).nonzero().flatten()
    data = NodeData(g.x, g.edge_index, g.y, train)
    return NodeDataset("karate", data, data.subset(test), int(g.y.max()) + 1)


def load_planetoid(root: Path, name: str, download: bool = False) -> NodeDataset:
    """Cora, CiteSeer or PubMed (``name``: ``"cora"``, ``"citeseer"``, ``"pubmed"``) from ``root`` in PyG's layout, with
    the public split; ``download`` lets PyG fetch missing raw files into the cache."""
    from torch_geometric.datasets import Planetoid
    folder = PLANETOID[name]
    staged = _staged(root, "Planetoid", folder, name, download)
    g = _load(Planetoid, staged, name, name=folder, split="public")[0]
    data = NodeData(g.x, g.edge_index, g.y, g.train_mask.nonzero().flatten())
    return NodeDataset(name, data, data.subset(g.test_mask.nonzero().flatten()), int(g.y.max()) + 1,
                       val=data.subset(g.val_mask.nonzero().flatten()))


def load_tu(root: Path, name: str, download: bool = False, pool: str = "mean") -> GraphDataset:
    """A TU graph collection (``name``: ``"mutag"``, ``"proteins"``, ``"enzymes"``, ``"nci1"``, ``"imdb-binary"``,
    ``"ptc_mr"``) from ``root`` in PyG's layout, read out per graph by ``pool`` (``"mean"`` or ``"sum"``); graphs
    without node features get one-hot node degrees (capped at 63). ``download`` lets PyG fetch missing raw files."""
    from torch_geometric.datasets import TUDataset
    from torch_geometric.utils import degree
    folder = TU[name]
    staged = _staged(root, "TUDataset", folder, name, download)
    ds = _load(TUDataset, staged, name, name=folder)
    store = ds._data  # the collated union of all graphs (x, edge_index, y) with per-graph slices
    n_nodes = ds.slices["x"].diff() if "x" in ds.slices else torch.tensor([g.num_nodes for g in ds])
    batch = torch.repeat_interleave(torch.arange(len(ds)), n_nodes)
    offsets = torch.repeat_interleave(torch.cumsum(n_nodes, 0) - n_nodes, ds.slices["edge_index"].diff())
    edge_index = store.edge_index + offsets  # per-graph node ids -> union node ids
    if store.x is None or store.x.shape[1] == 0:
        deg = degree(edge_index[0], int(n_nodes.sum()), dtype=torch.long).clamp(max=MAX_DEGREE_FEATURE - 1)
        x = torch.nn.functional.one_hot(deg, MAX_DEGREE_FEATURE).float()
    else:
        x = store.x.float()
    y = store.y.long()
    return GraphDataset(name, GraphData(x, edge_index, batch, y, pool), int(y.max()) + 1)
