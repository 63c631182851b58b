"""The synthetic planted-partition graph ``sbm-N``: size, degree, homophily, fixed split, weak features."""
import pytest
import torch

from mole import ConfigError
from mole.data import dataset_defaults, load_dataset


def test_size_degree_labels_and_split():
    ds = load_dataset("sbm-2000")
    g = ds.train
    assert g.x.shape == (2000, 32) and ds.n_classes == 10 and torch.equal(g.y_all, torch.arange(2000) % 10)
    degree = g.edge_index.shape[1] / 2000
    assert 8 <= degree <= 10  # about 2 x 5 draws per node, minus duplicates and self-loops
    src, dst = g.edge_index
    assert torch.equal(torch.sort(g.edge_index[0] * 2000 + g.edge_index[1]).values,
                       torch.sort(dst * 2000 + src).values)  # undirected
    homophily = (g.y_all[src] == g.y_all[dst]).float().mean()
    assert 0.75 < homophily < 0.9
    assert len(ds.train) == 200 and len(ds.test) == 400
    assert not set(ds.train.index.tolist()) & set(ds.test.index.tolist())
    again = load_dataset("sbm-2000", seed=7)  # the graph and split are fixed: the run's seed does not move them
    assert torch.equal(again.train.index, ds.train.index) and torch.equal(again.train.x, g.x)


def test_features_alone_are_weak_hints():
    from sklearn.linear_model import LogisticRegression
    ds = load_dataset("sbm-3000")
    tr, te = ds.train, ds.test
    acc = LogisticRegression(max_iter=500).fit(tr.x[tr.index], tr.y).score(te.x[te.index], te.y)
    assert 0.2 < acc < 0.8  # better than chance (0.1), far from what the graph gives


def test_defaults_and_bad_sizes():
    assert dataset_defaults("sbm-100000")["model"] == "gcn"
    with pytest.raises(ConfigError, match="between 20 and"):
        load_dataset("sbm-5")
