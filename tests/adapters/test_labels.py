"""Label budgets: which samples keep their labels, how partly labelled data is batched, and augmented views."""
import pytest
import torch

from mole import ConfigError
from mole.adapters import GraphData, NodeData, TensorData
from mole.adapters.augment import RandomShift
from mole.adapters.labels import UNLABELLED, budget_positions, parse_budget


def labels(counts):
    """Labels with ``counts[c]`` samples of class c, interleaved."""
    y = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    return y[torch.randperm(len(y), generator=torch.Generator().manual_seed(9))]


@pytest.mark.parametrize("text, parsed", [("10", ("per_class", 10)), (3, ("per_class", 3)), ("10%", ("percent", 10.0)),
                                          (" 2.5 % ", ("percent", 2.5)), ("100%", ("percent", 100.0))])
def test_budgets_parse(text, parsed):
    assert parse_budget(text) == parsed


@pytest.mark.parametrize("bad", ["0", "1.5", "abc", "150%", "0%", "-3", "", True, "10 per class"])
def test_bad_budgets_name_the_two_forms(bad):
    with pytest.raises(ConfigError, match="labels"):
        parse_budget(bad)


def test_per_class_budget_is_stratified_seeded_and_nested():
    y = labels([50, 30, 4])
    ten = budget_positions(y, "10", seed=0)
    assert torch.bincount(y[ten]).tolist() == [10, 10, 4]  # a class with fewer samples keeps them all
    assert torch.equal(ten, budget_positions(y, 10, seed=0))  # the same seed: the same subset
    assert not torch.equal(ten, budget_positions(y, "10", seed=1))
    assert torch.equal(ten, ten.sort().values) and len(set(ten.tolist())) == len(ten)
    three = budget_positions(y, "3", seed=0)
    assert set(three.tolist()) <= set(ten.tolist())  # a smaller budget lies inside a larger one


def test_percent_budget_rounds_per_class_and_keeps_one_of_each():
    y = labels([200, 41, 3])
    kept = budget_positions(y, "10%", seed=0)
    assert torch.bincount(y[kept]).tolist() == [20, 4, 1]


def test_unlabelled_samples_are_never_chosen():
    y = labels([20, 20])
    y[:10] = UNLABELLED
    kept = budget_positions(y, "100%", seed=0)
    assert (y[kept] >= 0).all() and len(kept) == 30


def test_with_labels_marks_the_rest_unlabelled_and_labelled_takes_the_kept():
    x, y = torch.randn(40, 3), labels([20, 20])
    data = TensorData(x, y).with_labels(torch.tensor([1, 5, 7]))
    assert (data.y >= 0).nonzero().flatten().tolist() == [1, 5, 7] and (data.y[data.y < 0] == UNLABELLED).all()
    assert torch.equal(data.y[[1, 5, 7]], y[[1, 5, 7]]) and len(data) == 40
    kept = data.labelled()
    assert torch.equal(kept.x, x[[1, 5, 7]]) and torch.equal(kept.y, y[[1, 5, 7]])
    full = TensorData(x, y)
    assert full.labelled() is full


def test_partly_labelled_batches_pair_a_labelled_stream_with_an_unlabelled_pass():
    n, batch = 50, 16
    x = torch.arange(n, dtype=torch.float32)[:, None]  # each sample's row is its own position
    y = labels([25, 25])
    keep = torch.tensor([3, 10, 11, 20, 31, 40])
    data = TensorData(x, y).with_labels(keep)
    seen_all, seen_labelled = [], []
    batches = list(data.batches(data.x, batch, torch.Generator().manual_seed(0)))
    assert len(batches) == data.n_batches(batch) == 4
    for b in batches:
        m = len(keep)  # min(batch, |L|) labelled rows first
        assert (b.y[:m] >= 0).all() and (b.y[m:] == UNLABELLED).all()
        ids = b.x.flatten().long()
        assert torch.equal(b.y[:m], y[ids[:m]])  # labelled rows carry their true labels
        seen_labelled += ids[:m].tolist()
        seen_all += ids[m:].tolist()
    assert sorted(seen_all) == list(range(n))  # the unlabelled pass covers every sample once
    assert sorted(seen_labelled) == sorted(keep.tolist() * 4)  # the stream: every labelled sample once per pass


def test_labelled_stream_wraps_when_the_budget_exceeds_a_batch():
    x, y = torch.arange(60.0)[:, None], labels([30, 30])
    data = TensorData(x, y).with_labels(torch.arange(0, 60, 3))  # 20 labelled, batches of 8
    ids = [b.x.flatten().long()[:8].tolist() for b in data.batches(data.x, 8, torch.Generator().manual_seed(0))]
    flat = sum(ids, [])
    assert len(ids) == 8 and all(len(chunk) == 8 for chunk in ids)
    passes = [flat[i:i + 20] for i in range(0, 60, 20)]  # 64 drawn: three whole passes, then the fourth begins
    assert all(sorted(p) == list(range(0, 60, 3)) for p in passes)
    assert passes[0] != passes[1]  # reshuffled each pass


def test_fully_labelled_batches_are_unchanged_by_the_budget_machinery():
    x, y = torch.randn(30, 2), labels([15, 15])
    a = list(TensorData(x, y).batches(x, 8, torch.Generator().manual_seed(4)))
    b = list(TensorData(x, y).with_labels(torch.arange(30)).batches(x, 8, torch.Generator().manual_seed(4)))
    assert all(torch.equal(p.x, q.x) and torch.equal(p.y, q.y) for p, q in zip(a, b)) and len(a) == len(b) == 4


def test_views_stack_independent_augmentations_of_the_same_samples():
    x = torch.zeros(12, 1, 6, 6)
    x[:, 0, 2, 2] = torch.arange(1.0, 13.0)  # one bright pixel whose value names the sample
    data = TensorData(x, labels([6, 6])).augmented(RandomShift(1)).with_views(2)
    b = next(iter(data.batches(data.x, 4, torch.Generator().manual_seed(0))))
    assert b.views == 2 and b.x.shape == (8, 1, 6, 6) and torch.equal(b.y[:4], b.y[4:])
    names = b.x.amax(dim=(1, 2, 3))
    assert torch.equal(names[:4], names[4:])  # row i and row i + 4: the same sample
    assert b.sample_ids().tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    assert not torch.equal(b.x[:4], b.x[4:])  # shifted independently


def test_views_need_an_augmentation():
    with pytest.raises(ConfigError, match="augment"):
        TensorData(torch.randn(4, 3), torch.tensor([0, 1, 0, 1])).with_views(2)


def test_node_budget_keeps_the_graph_and_labels_fewer_nodes():
    x, edges = torch.randn(10, 3), torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    y = torch.tensor([0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
    data = NodeData(x, edges, y, torch.arange(6)).with_labels(torch.tensor([0, 3]))
    assert data.index.tolist() == [0, 3] and torch.equal(data.x, x) and torch.equal(data.edge_index, edges)
    assert data.labelled() is data


def test_graph_budget_leaves_unlabelled_graphs_in_the_collection():
    x = torch.randn(6, 2)
    batch = torch.tensor([0, 0, 1, 1, 2, 2])
    data = GraphData(x, torch.tensor([[0, 2, 4], [1, 3, 5]]), batch, torch.tensor([0, 1, 1]))
    some = data.with_labels(torch.tensor([1]))
    assert some.y.tolist() == [UNLABELLED, 1, UNLABELLED] and len(some) == 3 and data.y.tolist() == [0, 1, 1]
    assert some.labelled().y.tolist() == [1] and some.labelled().x.shape == (2, 2)
