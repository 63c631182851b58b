"""Open Graph Benchmark node-property datasets: ``ogbn-arxiv`` and ``ogbn-products``, read from OGB's own layout.

``<data root>/ogbn_arxiv/`` as OGB's archive unpacks it (``ogb.nodeproppred`` reads the same files)::

    raw/edge.csv.gz            one "source,target" line per edge (node ids 0..N-1)
    raw/node-feat.csv.gz       one line of F comma-separated floats per node
    raw/node-label.csv.gz      one class id per node
    raw/num-node-list.csv.gz   N
    split/time/{train,valid,test}.csv.gz          one node id per line   (ogbn-products: split/sales_ranking/)

The graph is made undirected (arxiv's citation edges point one way; products stores each edge once), as in
OGB's GCN baselines. mole trains on the ``train`` split and reports accuracy on ``test`` (``valid`` is not used:
mole does no model selection). Parsed arrays are cached as ``.npy`` under ``$MOLE_CACHE`` in a folder keyed to
the raw files, so the CSV parse (minutes for ogbn-products' 62M edges) happens once. ``--download`` fetches
OGB's archive (needs internet). Both graphs are over the default full-graph budget, so node-level training
samples neighbourhoods by itself (:class:`~mole.adapters.SampledNodeData`).
"""
from __future__ import annotations

import gzip
import hashlib
import logging
import shutil
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch_geometric.utils import to_undirected

from ..adapters import NodeData
from ..errors import DataError, DatasetNotFoundError
from .graphs import NodeDataset, cache_root

logger = logging.getLogger("mole")

#: each dataset's folder under the data root, split folder, number of classes and OGB archive
OGB = {
    "ogbn-arxiv": ("ogbn_arxiv", "time", 40, "http://snap.stanford.edu/ogb/data/nodeproppred/arxiv.zip"),
    "ogbn-products": ("ogbn_products", "sales_ranking", 47,
                      "http://snap.stanford.edu/ogb/data/nodeproppred/products.zip"),
}
RAW = ("edge.csv.gz", "node-feat.csv.gz", "node-label.csv.gz", "num-node-list.csv.gz")
SPLITS = ("train.csv.gz", "test.csv.gz")


def _files(folder: Path, split: str) -> list[Path]:
    return [folder / "raw" / f for f in RAW] + [folder / "split" / split / f for f in SPLITS]


def download(name: str, root: Path) -> None:
    """OGB's archive for ``name`` unpacked into ``root`` (it unpacks as ``arxiv/``; OGB renames that folder too)."""
    folder, _, _, url = OGB[name]
    root.mkdir(parents=True, exist_ok=True)
    archive = root / url.rsplit("/", 1)[1]
    logger.info("downloading %s", url)
    with urllib.request.urlopen(url, timeout=60) as r, open(archive, "wb") as f:
        shutil.copyfileobj(r, f)
    with zipfile.ZipFile(archive) as z:
        inner = z.namelist()[0].split("/")[0]
        z.extractall(root)  # zipfile drops absolute paths and ".." components
    archive.unlink()
    if (root / inner).resolve() != (root / folder).resolve():
        shutil.rmtree(root / folder, ignore_errors=True)
        (root / inner).rename(root / folder)


def _read_csv(path: Path, dtype) -> np.ndarray:
    with gzip.open(path, "rt") as f:
        return np.loadtxt(f, delimiter=",", dtype=dtype, ndmin=2)


def _parse(name: str, files: list[Path]) -> dict[str, np.ndarray]:
    edge, feat, label, num, train, test = files
    try:
        arrays = {"edge": _read_csv(edge, np.int64), "x": _read_csv(feat, np.float32),
                  "y": _read_csv(label, np.float64), "n": _read_csv(num, np.int64),
                  "train": _read_csv(train, np.int64), "test": _read_csv(test, np.int64)}
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"{name}: cannot read its files ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
                        "replace them with intact copies from OGB") from None
    n = int(arrays["n"].ravel()[0])
    y = arrays["y"].ravel()
    problems = []
    if arrays["edge"].shape[1] != 2:
        problems.append(f"edge.csv.gz has {arrays['edge'].shape[1]} columns, not 2")
    elif arrays["edge"].size and (arrays["edge"].min() < 0 or arrays["edge"].max() >= n):
        problems.append(f"edge.csv.gz names nodes outside 0..{n - 1}")
    if arrays["x"].shape[0] != n or y.shape[0] != n:
        problems.append(f"{arrays['x'].shape[0]} feature rows and {y.shape[0]} labels for {n} nodes")
    if not np.isfinite(arrays["x"]).all():
        problems.append("node-feat.csv.gz holds NaN or infinite values")
    for split in ("train", "test"):
        if arrays[split].size and (arrays[split].min() < 0 or arrays[split].max() >= n):
            problems.append(f"split {split}.csv.gz names nodes outside 0..{n - 1}")
    labelled = np.concatenate([arrays["train"].ravel(), arrays["test"].ravel()])
    if not np.isfinite(y[labelled]).all() or (y[labelled] != np.round(y[labelled])).any() or (y[labelled] < 0).any():
        problems.append("node-label.csv.gz has missing or non-integer labels on train/test nodes")
    if problems:
        raise DataError(f"{name}: {'; '.join(problems)}; replace the files with intact copies from OGB")
    return {"edge_index": arrays["edge"].T.copy(), "x": arrays["x"], "y": np.nan_to_num(y, nan=-1).astype(np.int64),
            "train": np.sort(arrays["train"].ravel()), "test": np.sort(arrays["test"].ravel())}


def _cached(name: str, files: list[Path]) -> dict[str, np.ndarray]:
    """The parsed arrays, from ``.npy`` files keyed to the raw files (path, sizes, modification times)."""
    key = hashlib.sha1(repr([(str(p.resolve()), p.stat().st_size, p.stat().st_mtime_ns) for p in files])
                       .encode()).hexdigest()[:16]
    folder = cache_root() / "ogb" / f"{name}-{key}"
    names = ("edge_index", "x", "y", "train", "test")
    if all((folder / f"{k}.npy").is_file() for k in names):
        return {k: np.load(folder / f"{k}.npy") for k in names}
    arrays = _parse(name, files)
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for k in names:
        np.save(partial / f"{k}.npy", arrays[k])
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)
    return arrays


def load_ogb(root: Path, name: str, download_missing: bool = False) -> NodeDataset:
    """``ogbn-arxiv`` or ``ogbn-products`` from ``root`` in OGB's layout (see the module docstring): the undirected
    graph, trained on OGB's train split and tested on its test split. ``download_missing`` fetches OGB's archive when
    files are missing."""
    folder, split, n_classes, _ = OGB[name]
    files = _files(root / folder, split)
    if download_missing and not all(p.is_file() for p in files):
        download(name, root)
    missing = [str(p.relative_to(root)) for p in files if not p.is_file()]
    if missing:
        raise DatasetNotFoundError(f"{name}: missing {', '.join(missing[:3])}{' …' if len(missing) > 3 else ''} "
                                   f"under {root}; set --data-root (or MOLE_DATA) to a folder holding OGB's {folder}/, "
                                   "or pass --download on a machine with internet")
    a = _cached(name, files)
    y = torch.from_numpy(a["y"])
    if y.numel() and int(y.max()) >= n_classes:
        raise DataError(f"{name}: labels go up to {int(y.max())}, but {name} has {n_classes} classes; "
                        "the files are not this dataset's")
    x = torch.from_numpy(a["x"])
    edge_index = to_undirected(torch.from_numpy(a["edge_index"]), num_nodes=x.shape[0])
    train = NodeData(x, edge_index, y, torch.from_numpy(a["train"]))
    return NodeDataset(name, train, train.subset(torch.from_numpy(a["test"])), n_classes)
