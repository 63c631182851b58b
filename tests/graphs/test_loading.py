"""Graph datasets load from a data root without writing to it."""
import os
from pathlib import Path

import pytest

from mole.data import load_dataset


def tree(root: Path) -> set:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def write_tiny_tu(root: Path) -> None:
    """A TU-format dataset in MUTAG's layout: 4 triangles/paths with node labels, 2 classes."""
    raw = root / "TUDataset" / "MUTAG" / "raw"
    raw.mkdir(parents=True)
    edges, indicator, node_labels = [], [], []
    for g in range(4):
        base = 3 * g + 1
        pairs = [(0, 1), (1, 2)] + ([(0, 2)] if g % 2 else [])
        for a, b in pairs:
            edges += [f"{base + a}, {base + b}", f"{base + b}, {base + a}"]
        indicator += [str(g + 1)] * 3
        node_labels += ["0", "1", "2"]
    (raw / "MUTAG_A.txt").write_text("\n".join(edges) + "\n")
    (raw / "MUTAG_graph_indicator.txt").write_text("\n".join(indicator) + "\n")
    (raw / "MUTAG_graph_labels.txt").write_text("\n".join(["1", "-1", "1", "-1"]) + "\n")
    (raw / "MUTAG_node_labels.txt").write_text("\n".join(node_labels) + "\n")


def test_tu_loads_without_writing_next_to_raw(tmp_path, monkeypatch):
    root, cache = tmp_path / "data", tmp_path / "cache"
    write_tiny_tu(root)
    monkeypatch.setenv("MOLE_CACHE", str(cache))
    before = tree(root)
    ds = load_dataset("mutag", root=root)
    assert tree(root) == before, "the loader wrote into the data root"
    assert len(ds.graphs) == 4 and ds.n_classes == 2 and ds.input_shape == (3,)
    assert any("processed" in p for p in tree(cache))
    folds = ds.folds(2, seed=0)
    assert len(folds) == 2 and sorted(len(te) for _, te in folds) == [2, 2]


def test_missing_graph_files_are_named(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLE_CACHE", str(tmp_path / "cache"))
    from mole.errors import DatasetNotFoundError
    with pytest.raises(DatasetNotFoundError, match="Planetoid/Cora/raw"):
        load_dataset("cora", root=tmp_path)


def test_karate_is_embedded():
    ds = load_dataset("karate")
    assert ds.kind == "node" and len(ds.train) == 4 and len(ds.test) == 30


@pytest.mark.skipif(not (Path(os.environ.get("MOLE_DATA", "/nonexistent")) / "Planetoid" / "Cora" / "raw").is_dir(),
                    reason="real Cora files not under $MOLE_DATA")
def test_real_cora_public_split(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLE_CACHE", str(tmp_path))
    ds = load_dataset("cora")
    assert (len(ds.train), len(ds.test), ds.n_classes, ds.input_shape) == (140, 1000, 7, (1433,))
    # the validation nodes a convergence budget measures on: none of them trains or tests
    assert len(ds.val) == 500 and not set(ds.val.index.tolist()) & set(ds.train.index.tolist() + ds.test.index.tolist())


def test_missing_raw_files_are_an_error_not_a_download(tmp_path, monkeypatch):
    """An empty raw/ folder would make PyG download from the internet: without --download it is refused."""
    from mole import DatasetNotFoundError
    monkeypatch.setenv("MOLE_CACHE", str(tmp_path / "cache"))
    (tmp_path / "data" / "TUDataset" / "MUTAG" / "raw").mkdir(parents=True)
    (tmp_path / "data" / "Planetoid" / "Cora" / "raw").mkdir(parents=True)
    with pytest.raises(DatasetNotFoundError, match="lacks MUTAG_A.txt"):
        load_dataset("mutag", root=tmp_path / "data")
    with pytest.raises(DatasetNotFoundError, match="--download"):
        load_dataset("cora", root=tmp_path / "data")


def test_a_garbled_raw_file_fails_cleanly_and_leaves_no_poisoned_cache(tmp_path, monkeypatch):
    from mole import DataError
    root, cache = tmp_path / "data", tmp_path / "cache"
    monkeypatch.setenv("MOLE_CACHE", str(cache))
    write_tiny_tu(root)
    labels = root / "TUDataset" / "MUTAG" / "raw" / "MUTAG_graph_labels.txt"
    good = labels.read_text()
    labels.write_text("one\ntwo\n")
    with pytest.raises(DataError, match="cannot read its raw files"):
        load_dataset("mutag", root=root)
    assert not any("processed" in p for p in tree(cache)) if cache.exists() else True
    labels.write_text(good)  # fixed files load, whatever the failed attempt left
    assert len(load_dataset("mutag", root=root).graphs) == 4


def test_cache_follows_the_data_root(tmp_path, monkeypatch):
    """Two data roots with different files never share a processed cache."""
    monkeypatch.setenv("MOLE_CACHE", str(tmp_path / "cache"))
    write_tiny_tu(tmp_path / "a")
    write_tiny_tu(tmp_path / "b")
    labels = tmp_path / "b" / "TUDataset" / "MUTAG" / "raw" / "MUTAG_graph_labels.txt"
    labels.write_text("1\n1\n-1\n-1\n")
    ya = load_dataset("mutag", root=tmp_path / "a").graphs.y.tolist()
    yb = load_dataset("mutag", root=tmp_path / "b").graphs.y.tolist()
    assert ya != yb
