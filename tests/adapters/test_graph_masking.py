"""Graph collections without labels: GraphCL's masking, masked views of each graph, and partly labelled batches."""
import pytest
import torch

from mole import ConfigError, TrainConfig, fit
from mole.adapters import GraphData
from mole.adapters.augment import augmentation_resolver
from mole.adapters.graph_masking import GraphMasking
from mole.adapters.labels import UNLABELLED
from mole.config import ObjectiveConfig
from mole.models import GNN


def test_masking_zeroes_entries_and_drops_edges_at_its_rate_from_the_generator():
    x, edges = torch.ones(400, 5), torch.randint(0, 400, (2, 2000))
    masked, kept = GraphMasking(0.2)(x, edges, torch.Generator().manual_seed(0))
    assert masked.shape == x.shape and set(masked.unique().tolist()) == {0.0, 1.0}
    assert 0.17 < float((masked == 0).float().mean()) < 0.23
    assert 0.77 < kept.shape[1] / edges.shape[1] < 0.83
    assert all(tuple(e) in set(map(tuple, edges.T.tolist())) for e in kept.T.tolist()[:50])  # a subset of the edges
    again = GraphMasking(0.2)(x, edges, torch.Generator().manual_seed(0))
    assert torch.equal(masked, again[0]) and torch.equal(kept, again[1])
    unmasked = GraphMasking(0.0)(x, edges, torch.Generator())
    assert torch.equal(unmasked[0], x) and torch.equal(unmasked[1], edges)


def test_mask_is_for_graph_collections_only(blobs):
    masking = augmentation_resolver("mask")
    assert isinstance(masking, GraphMasking)
    with pytest.raises(ConfigError, match="augment_pixels"):
        augmentation_resolver("mask", 2)
    from mole.adapters import TensorData
    with pytest.raises(ConfigError, match="'mask' applies to graph collections"):
        TensorData(torch.randn(10, 3), torch.arange(10) % 2).augmented(masking)
    with pytest.raises(ConfigError, match="'shift' applies to signals and images"):
        GraphData(torch.randn(4, 2), torch.tensor([[0, 2], [1, 3]]), torch.tensor([0, 0, 1, 1]),
                  torch.tensor([0, 1])).augmented(augmentation_resolver("shift"))
    with pytest.raises(ConfigError, match="every view of a graph is masked alike"):  # no weak first view either
        GraphData(torch.randn(4, 2), torch.tensor([[0, 2], [1, 3]]), torch.tensor([0, 0, 1, 1]),
                  torch.tensor([0, 1])).augmented(masking, augmentation_resolver("shift"))


def test_views_stack_masked_copies_of_the_chosen_graphs_as_one_union(paths_and_stars):
    data = paths_and_stars(12, 4)
    with pytest.raises(ConfigError, match="--augment mask"):
        data.with_views(2)
    views = data.augmented(GraphMasking()).with_views(2)
    b = next(views.batches(views.x, 5, torch.Generator().manual_seed(0)))
    assert b.views == 2 and b.y.shape == (10,) and torch.equal(b.y[:5], b.y[5:])
    n = b.t_in.shape[0] // 2
    edges = b.context[0]
    view_of = lambda e: (e >= n).long()  # noqa: E731
    assert torch.equal(view_of(edges[0]), view_of(edges[1]))  # no edge crosses between the views
    assert (edges[0] < n).any() and (edges[0] >= n).any()
    readout = b.readout(torch.ones(2 * n, 1))  # mean pooling of ones: one row per graph of each view
    assert readout.shape == (10, 1) and torch.allclose(readout, torch.ones(10, 1))
    assert not torch.equal(b.t_in[:n], b.t_in[n:])  # two different masks of the same nodes


def test_partly_labelled_graphs_pair_a_labelled_stream_with_an_unlabelled_pass(paths_and_stars):
    data = paths_and_stars(30, 4).with_labels(torch.tensor([0, 1, 6, 9]))
    batches = list(data.batches(data.x, 8, torch.Generator().manual_seed(0)))
    assert len(batches) == data.n_batches(8) == 4  # 26 unlabelled graphs in batches of 8 (the last 2)
    assert all(int((b.y >= 0).sum()) == 4 for b in batches)  # every batch holds the labelled graphs
    assert sum(int((b.y == UNLABELLED).sum()) for b in batches) == 26


@pytest.mark.parametrize("schedule", ["sequential", pytest.param("async", marks=pytest.mark.process)])
def test_mole_learns_graphs_from_masked_views_with_two_labels_per_class(paths_and_stars, one_thread, schedule):
    data = paths_and_stars(40, 4)
    few = data.with_labels(torch.tensor([0, 1, 2, 3])).augmented(GraphMasking())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = GNN(4, 2, hidden=(16, 16), conv="gin", task="graph", dropout=0.0)
    cfg = TrainConfig(epochs=15, batch_size=16, lr=1e-2, schedule=schedule, seed=0,
                      objective=ObjectiveConfig(lambda_view=0.1, view_term="clusters"))
    res = fit(net, few, method="mole", config=cfg)
    assert res.score(data) >= 0.9  # every graph, 36 of them unlabelled in training
    hidden = res.history.for_module(0)
    assert all("I_TTview" in r for r in hidden) and hidden[-1]["I_TTview"] > hidden[0]["I_TTview"]
