"""Graph datasets from PyTorch Geometric: KarateClub (embedded), Planetoid, TU collection.

File datasets are read from the data root in PyG's layout (``Planetoid/Cora/raw/…``,
``TUDataset/MUTAG/raw/…``). The data root may be read-only (CI): the raw files are copied into a
writable cache (``$MOLE_CACHE``, default ``~/.cache/mole``) and PyG writes its ``processed/`` folder
there, never next to ``raw/``. Without local files PyG downloads into the cache (needs internet).
"""
from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..adapters import GraphData, NodeData
from ..errors import DatasetNotFoundError

logger = logging.getLogger("mole")

PLANETOID = {"cora": "Cora", "citeseer": "CiteSeer", "pubmed": "PubMed"}
TU = {"mutag": "MUTAG", "proteins": "PROTEINS", "enzymes": "ENZYMES", "nci1": "NCI1", "imdb-binary": "IMDB-BINARY",
      "ptc_mr": "PTC_MR"}
MAX_DEGREE_FEATURE = 64  # graphs without node features get one-hot degrees, capped here


def cache_root() -> Path:
    return Path(os.environ.get("MOLE_CACHE", Path.home() / ".cache" / "mole")).expanduser()


@dataclass
class NodeDataset:
    """One graph with a train/test node split."""

    name: str
    train: NodeData
    test: NodeData
    n_classes: int
    kind: str = "node"

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


def _staged(root: Path, collection: str, folder: str) -> Path:
    """A writable PyG root holding a copy of ``root/collection/folder/raw`` (if present)."""
    target = cache_root() / "pyg" / collection
    src, dst = root / collection / folder / "raw", target / folder / "raw"
    if src.is_dir() and not dst.is_dir():
        shutil.copytree(src, dst)
    return target


def load_karate() -> NodeDataset:
    from torch_geometric.datasets import KarateClub
    g = KarateClub()[0]
    train = g.train_mask.nonzero().flatten()
    test = (~g.train_mask).nonzero().flatten()
    data = NodeData(g.x, g.edge_index, g.y, train)
    return NodeDataset("karate", data, data.subset(test), int(g.y.max()) + 1)


def load_planetoid(root: Path, name: str, download: bool = False) -> NodeDataset:
    from torch_geometric.datasets import Planetoid
    folder = PLANETOID[name]
    staged = _staged(root, "Planetoid", folder)
    if not (staged / folder / "raw").is_dir() and not download:
        raise DatasetNotFoundError(f"{name}: no {root / 'Planetoid' / folder / 'raw'}; set --data-root (or MOLE_DATA) "
                                   "to a folder holding Planetoid/<Name>/raw/, or pass --download")
    g = Planetoid(str(staged), folder, split="public")[0]
    data = NodeData(g.x, g.edge_index, g.y, g.train_mask.nonzero().flatten())
    return NodeDataset(name, data, data.subset(g.test_mask.nonzero().flatten()), int(g.y.max()) + 1)


def load_tu(root: Path, name: str, download: bool = False, pool: str = "mean") -> GraphDataset:
    from torch_geometric.datasets import TUDataset
    from torch_geometric.utils import degree
    folder = TU[name]
    staged = _staged(root, "TUDataset", folder)
    if not (staged / folder / "raw").is_dir() and not download:
        raise DatasetNotFoundError(f"{name}: no {root / 'TUDataset' / folder / 'raw'}; set --data-root (or MOLE_DATA) "
                                   "to a folder holding TUDataset/<NAME>/raw/, or pass --download")
    ds = TUDataset(str(staged), folder)
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
