"""Few labels: label terms on the labelled rows, label-free terms (I(T;X), views) on all; who trains on what."""
import copy

import pytest
import torch
import torch.nn.functional as F

import mole
from mole import ConfigError, DataError, ObjectiveConfig, TrainConfig
from mole.adapters.labels import UNLABELLED
from mole.batch import LocalBatch
from mole.estimators import estimator_resolver
from mole.objectives import CrossEntropyObjective, MutualInformationObjective


def _batch(n=12, d=5, unlabelled=(), views=1, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, out = torch.randn(n, d, generator=g), torch.randn(n, 4, generator=g, requires_grad=True)
    y = torch.arange(n) % 3
    y[list(unlabelled)] = UNLABELLED
    return out, LocalBatch(x, x, y, views=views)


def test_head_cross_entropy_reads_the_labelled_rows_only():
    out, batch = _batch(unlabelled=[0, 4, 7])
    loss, _ = CrossEntropyObjective()(out, batch)
    keep = batch.y >= 0
    assert torch.allclose(loss, F.cross_entropy(out[keep], batch.y[keep]))
    loss.backward()
    assert out.grad[~keep].abs().sum() == 0 and out.grad[keep].abs().sum() > 0


def test_a_batch_without_labels_gives_the_head_nothing_to_learn():
    out, batch = _batch(unlabelled=range(12))
    loss, _ = CrossEntropyObjective()(out, batch)
    loss.backward()
    assert float(loss) == 0 and torch.equal(out.grad, torch.zeros_like(out))


@pytest.mark.parametrize("estimator", ["renyi", "infonce"])
def test_label_terms_use_labelled_rows_and_label_free_terms_use_all(estimator):
    est = estimator_resolver(estimator)
    out, batch = _batch(unlabelled=[1, 2, 9])
    keep = batch.y >= 0
    objective = MutualInformationObjective(est, lambda_y=1.0, lambda_x=1.0)
    _, terms = objective(out, batch)
    assert float(terms["I_TY"]) == pytest.approx(float(est.mutual_information(out[keep], batch.y[keep])), rel=1e-6)
    assert float(terms["I_TX"]) == pytest.approx(float(est.mutual_information(out, batch.x)), rel=1e-6)
    assert float(terms["I_TX"]) != pytest.approx(float(est.mutual_information(out[keep], batch.x[keep])), rel=1e-3)


def test_fewer_than_two_labelled_rows_leave_the_label_term_at_zero():
    objective = MutualInformationObjective(estimator_resolver("renyi"), lambda_y=1.0, lambda_x=0.5)
    out, batch = _batch(unlabelled=range(1, 12))
    loss, terms = objective(out, batch)
    assert float(terms["I_TY"]) == 0 and float(terms["I_TX"]) > 0
    assert float(loss) == pytest.approx(-0.5 * float(terms["I_TX"]), rel=1e-6)


def test_view_term_is_the_mi_with_each_rows_sample_identity():
    est = estimator_resolver("infonce", temperature=0.5)
    out, batch = _batch(n=10, views=2)
    objective = MutualInformationObjective(est, lambda_y=0.0, lambda_view=1.0)
    loss, terms = objective(out, batch)
    ids = torch.tensor([0, 1, 2, 3, 4] * 2)
    assert float(terms["I_TTview"]) == pytest.approx(float(est.mutual_information(out, ids)), rel=1e-6)
    assert float(loss) == pytest.approx(-float(terms["I_TTview"]), rel=1e-6)
    # SimCLR's NT-Xent: the two views of a sample score higher than any other pair -> a larger MI than a shuffle
    twins = torch.cat([out[:5], out[:5] + 0.01 * torch.randn(5, 4)]).detach()
    _, aligned = objective(twins, batch)
    assert float(aligned["I_TTview"]) > float(terms["I_TTview"])


def test_view_term_refuses_a_batch_of_one_view():
    objective = MutualInformationObjective(estimator_resolver("infonce"), lambda_view=1.0)
    out, batch = _batch()
    with pytest.raises(ConfigError, match="augment"):
        objective(out, batch)


def _images(n=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randn(n, 1, 6, 6, generator=g) * 0.3
    x[:, 0, 1:5, 1:5] += y[:, None, None].float()  # a class-coded square
    return x, y


def _net(seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return mole.models.MLP(36, 3, hidden=(16, 12))


@pytest.mark.parametrize("method", ["bp", "dgl", "predsim"])
def test_supervised_rules_train_on_the_labelled_samples_only(method):
    x, y = _images()
    keep = torch.tensor([0, 1, 2, 10, 11, 12, 30, 31, 32])
    y_budget = torch.full_like(y, UNLABELLED)
    y_budget[keep] = y[keep]
    cfg = TrainConfig(epochs=3, batch_size=8, seed=0)
    a = mole.fit(_net(), x, y_budget, method=method, config=cfg)
    b = mole.fit(_net(), x[keep], y[keep], method=method, config=cfg)
    for p, q in zip(a.network.parameters(), b.network.parameters()):
        assert torch.equal(p, q)  # the unlabelled samples changed nothing


def test_mole_learns_from_the_unlabelled_samples_through_its_label_free_terms():
    x, y = _images()
    keep = torch.tensor([0, 1, 2, 10, 11, 12])
    y_budget = torch.full_like(y, UNLABELLED)
    y_budget[keep] = y[keep]
    cfg = TrainConfig(epochs=2, batch_size=16, seed=0, objective=ObjectiveConfig(lambda_x=1.0))
    x_other = x.clone()
    x_other[20:] = torch.randn(40, 1, 6, 6)  # other unlabelled samples, the same labelled ones
    a = mole.fit(_net(), x, y_budget, config=cfg)
    b = mole.fit(_net(), x_other, y_budget, config=cfg)
    first = lambda r: next(r.network.blocks[0].parameters())  # noqa: E731
    assert not torch.equal(first(a), first(b))
    assert a.history.for_module(0)[-1]["I_TX"] > 0


def test_mole_with_views_trains_on_two_augmentations_of_each_sample():
    x, y = _images()
    y_budget = torch.full_like(y, UNLABELLED)
    y_budget[:6] = y[:6]
    cfg = TrainConfig(epochs=2, batch_size=16, seed=0, augment="shift", augment_pixels=1,
                      estimator=mole.EstimatorConfig("infonce"),
                      objective=ObjectiveConfig(lambda_y=1.0, lambda_view=1.0))
    res = mole.fit(_net(), x, y_budget, config=cfg)
    record = res.history.for_module(0)[-1]
    assert record["I_TTview"] > 0 and "I_TY" in record
    again = mole.fit(_net(), x, y_budget, config=cfg)
    assert torch.equal(res.predict(x), again.predict(x))  # seeded: the same views, the same network


def test_views_without_an_augmentation_are_refused_in_one_line():
    x, y = _images()
    with pytest.raises(ConfigError, match="augment"):
        mole.fit(_net(), x, y, config=TrainConfig(epochs=1, objective=ObjectiveConfig(lambda_view=1.0)))


@pytest.mark.parametrize("bad, match", [([UNLABELLED] * 60, "no labelled sample"), ([-2] + [0, 1] * 29 + [1], "negative")])
def test_labels_that_cannot_train_a_classifier_are_refused(bad, match):
    x, _ = _images()
    with pytest.raises(DataError, match=match):
        mole.fit(_net(), x, torch.tensor(bad), config=TrainConfig(epochs=1))


def test_invariant_clustering_is_the_exact_mi_of_the_views_clusters():
    from mole.estimators.invariant_clustering import InvariantClustering
    iic = InvariantClustering(4)
    a = torch.eye(4).repeat(25, 1) * 50  # rows that the head can assign with certainty
    with torch.no_grad():
        iic(a, a)  # size the lazy head, then make it the identity: cluster c for row class c
        iic.head.weight.copy_(torch.eye(4))
        iic.head.bias.zero_()
        same = float(iic(a, a))
        shuffled = float(iic(a, a[torch.randperm(100, generator=torch.Generator().manual_seed(0))]))
        half = float(iic(a, a.roll(1, dims=0)))  # every pair in different clusters, deterministically
    assert same == pytest.approx(2.0, abs=1e-4)  # log2 K: certain, agreeing, balanced
    assert 0 <= shuffled < 0.3
    assert half == pytest.approx(1.0, abs=1e-3)  # P puts 1/8 on each (c, c±1) pair: Z' tells Z up to two options
    b = torch.randn(30, 4)
    assert float(iic(a[:30], b)) == pytest.approx(float(iic(b, a[:30])), rel=1e-6)  # symmetric


def test_cluster_view_term_contrasts_the_two_views_rows():
    from mole.estimators.invariant_clustering import InvariantClustering
    clusters = InvariantClustering(3)
    objective = MutualInformationObjective(estimator_resolver("renyi"), lambda_y=0.0, lambda_view=1.0,
                                           clusters=clusters)
    out, batch = _batch(n=10, views=2)
    _, terms = objective(out, batch)
    assert float(terms["I_TTview"]) == pytest.approx(float(clusters(out[:5], out[5:])), rel=1e-6)


def test_a_nodes_other_view_is_its_neighbour():
    from mole.adapters import NodeData
    from mole.estimators.invariant_clustering import InvariantClustering
    clusters = InvariantClustering(2)
    objective = MutualInformationObjective(estimator_resolver("renyi"), lambda_y=1.0, lambda_view=1.0,
                                           clusters=clusters)
    assert objective.needs_output
    nodes = torch.randn(6, 4)
    edges = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4]])
    batch = LocalBatch(nodes, nodes[:4], torch.tensor([0, 1, 0, 1]), (edges,), readout=lambda t: t[:4],
                       output=nodes)
    _, terms = objective(nodes[:4], batch)
    assert float(terms["I_TTview"]) == pytest.approx(float(clusters(nodes[[0, 1, 2, 3]], nodes[[1, 2, 3, 4]])), rel=1e-6)
    # through fit: a graph's nodes train with the neighbour term, no copies of the data
    g = torch.Generator().manual_seed(0)
    y = torch.arange(40) % 2
    x = torch.randn(40, 5, generator=g) + y[:, None].float()
    ring = torch.stack([torch.arange(40), (torch.arange(40) + 2) % 40])  # each node joined to one of its class
    data = NodeData(x, torch.cat([ring, ring.flip(0)], 1), y, torch.arange(0, 40, 5))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.models.GNN(5, 2, hidden=(8,))
    cfg = TrainConfig(epochs=3, seed=0, objective=ObjectiveConfig(lambda_view=1.0, view_term="clusters"))
    res = mole.fit(net, data, config=cfg)
    assert "I_TTview" in res.history.for_module(0)[-1]


def test_graph_collections_have_no_views():
    from mole.adapters import GraphData
    data = GraphData(torch.randn(6, 2), torch.tensor([[0, 2, 4], [1, 3, 5]]), torch.tensor([0, 0, 1, 1, 2, 2]),
                     torch.tensor([0, 1, 1]))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.models.GNN(2, 2, hidden=(4,), conv="gin", task="graph")
    with pytest.raises(ConfigError, match="lambda_view"):
        mole.fit(net, data, config=TrainConfig(epochs=1, objective=ObjectiveConfig(lambda_view=1.0)))


def test_unknown_view_term_is_refused():
    with pytest.raises(ConfigError, match="view_term"):
        TrainConfig(objective=ObjectiveConfig(view_term="nope")).validate()
