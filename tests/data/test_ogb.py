"""OGB node-property datasets read from OGB's on-disk layout (a tiny graph written in exactly that layout)."""
import gzip
import json

import numpy as np
import pytest
import torch

from mole.cli import main
from mole.data import load_dataset
from mole.errors import DataError, DatasetNotFoundError


def _write(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as f:
        for row in rows:
            f.write(",".join(str(v) for v in np.atleast_1d(row)) + "\n")


@pytest.fixture
def arxiv_root(tmp_path, monkeypatch):
    """A 60-node, 40-class-capable citation graph in ogbn_arxiv's layout: two chains of 30 nodes, label = chain."""
    monkeypatch.setenv("MOLE_CACHE", str(tmp_path / "cache"))
    n, g = 60, np.random.default_rng(0)
    y = np.arange(n) // 30
    edges = [(i, i + 1) for i in range(n - 1) if i != 29]  # directed: OGB stores citations one way
    x = np.round(np.eye(4)[y] * 1.5 + g.normal(size=(n, 4)), 4)
    folder = tmp_path / "data" / "ogbn_arxiv"
    _write(folder / "raw" / "edge.csv.gz", edges)
    _write(folder / "raw" / "node-feat.csv.gz", x)
    _write(folder / "raw" / "node-label.csv.gz", y)
    _write(folder / "raw" / "num-node-list.csv.gz", [n])
    _write(folder / "raw" / "num-edge-list.csv.gz", [len(edges)])
    _write(folder / "raw" / "node_year.csv.gz", np.full(n, 2019))
    perm = g.permutation(n)
    for split, ids in (("train", perm[:30]), ("valid", perm[30:40]), ("test", perm[40:])):
        _write(folder / "split" / "time" / f"{split}.csv.gz", ids)
    (folder / "RELEASE_v1.txt").write_text("")
    return tmp_path / "data", x, y, edges, perm


def test_reads_ogb_layout(arxiv_root):
    root, x, y, edges, perm = arxiv_root
    ds = load_dataset("ogbn-arxiv", root)
    assert ds.kind == "node" and ds.n_classes == 40
    assert torch.allclose(ds.train.x, torch.tensor(x, dtype=torch.float32))
    assert torch.equal(ds.train.y_all, torch.tensor(y))
    assert torch.equal(ds.train.index, torch.tensor(np.sort(perm[:30])))
    assert torch.equal(ds.test.index, torch.tensor(np.sort(perm[40:])))
    got = {tuple(e) for e in ds.train.edge_index.T.tolist()}
    assert got == {*edges, *((b, a) for a, b in edges)}  # made undirected
    again = load_dataset("ogbn-arxiv", root)  # from the parsed cache
    assert torch.equal(again.train.edge_index, ds.train.edge_index)


def test_cli_trains_on_it_with_sampling(arxiv_root, tmp_path):
    root = arxiv_root[0]
    out = tmp_path / "run"
    assert main(["run", "--dataset", "ogbn-arxiv", "--data-root", str(root), "--epochs", "50", "--hidden", "16",
                 "--neighbor-sampling", "--quiet", "--no-plots", "--monitor-every", "0", "--out", str(out)]) == 0
    res = json.loads((out / "results.json").read_text())
    assert res["data"]["neighbor_sampling"]["why"] == "forced"
    assert min(r["test_accuracy"] for r in res["runs"]) > 0.75  # two chains; chance 0.5


def test_missing_and_damaged_files(arxiv_root):
    root = arxiv_root[0]
    with pytest.raises(DatasetNotFoundError, match="ogbn-products: missing ogbn_products/raw/edge.csv.gz"):
        load_dataset("ogbn-products", root)
    _write(root / "ogbn_arxiv" / "raw" / "edge.csv.gz", [(0, 99)])
    with pytest.raises(DataError, match="names nodes outside 0..59"):
        load_dataset("ogbn-arxiv", root)
    (root / "ogbn_arxiv" / "raw" / "node-feat.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="cannot read its files"):
        load_dataset("ogbn-arxiv", root)
