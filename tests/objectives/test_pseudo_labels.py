"""Pseudo-labels (FixMatch per module): which rows get labels, what the classifiers learn from, what they send."""
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F

import mole
from mole import ConfigError, ObjectiveConfig, TrainConfig
from mole.adapters.labels import UNLABELLED
from mole.batch import LocalBatch
from mole.estimators import estimator_resolver
from mole.objectives import CrossEntropyObjective, MutualInformationObjective
from mole.objectives.pseudo_labels import PseudoLabelledCrossEntropy, PseudoLabels, confident_labels

U = UNLABELLED


def test_confident_first_views_label_every_view_of_their_sample_and_train_the_other_views():
    # 3 samples, 2 views: sample 0 unlabelled and sure (class 0), sample 1 unlabelled and unsure, sample 2 labelled
    logits = torch.tensor([[6.0, 0, 0], [0.2, 0, 0], [0, 0, 9.0],
                           [1.0, 0, 0], [0, 3.0, 0], [0, 0, 0]], requires_grad=True)
    y = torch.tensor([U, U, 1, U, U, 1])
    labels, loss = confident_labels(logits, y, views=2, threshold=0.9)
    assert labels.tolist() == [0, U, 1, 0, U, 1]  # the labelled sample keeps its true label (not the guess 2)
    expected = F.cross_entropy(logits[3:4], torch.tensor([0])) / 3  # FixMatch: the mask's mean over the n rows
    assert torch.allclose(loss, expected)
    loss.backward()
    assert logits.grad[:3].abs().sum() == 0  # the first view is the target, taken without gradient
    assert logits.grad[3].abs().sum() > 0 and logits.grad[4:].abs().sum() == 0


def test_nothing_confident_labels_nothing_and_one_view_self_trains():
    logits = torch.zeros(4, 3, requires_grad=True)
    y = torch.tensor([U, 0, U, 1])
    labels, loss = confident_labels(logits, y, views=2, threshold=0.5)
    assert torch.equal(labels, y) and float(loss.detach()) == 0
    sure = torch.tensor([[0.0, 8.0], [8.0, 0.0]])
    labels, loss = confident_labels(sure, torch.tensor([U, U]), views=1, threshold=0.9)
    assert labels.tolist() == [1, 0] and float(loss) == 0  # one view: its own rows labelled, no second view to fit


def _batch(unlabelled, views=2, n=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = (torch.arange(n) % 3).repeat(views)
    for i in unlabelled:
        y[i::n] = U
    x = torch.randn(views * n, 5, generator=g)
    out = torch.randn(views * n, 4, generator=g, requires_grad=True)
    return out, LocalBatch(x, x, y, views=views)


def test_a_modules_classifier_learns_beside_it_and_its_labels_feed_the_terms_with_y():
    out, batch = _batch(unlabelled=range(3, 12))
    torch.manual_seed(0)
    pseudo = PseudoLabels(3, threshold=0.0)  # τ = 0: every unlabelled sample takes the classifier's guess
    objective = MutualInformationObjective(estimator_resolver("renyi"), pseudo=pseudo)
    loss, terms = objective(out, batch)
    assert terms["pseudo_labelled"] == 1.0 and "classifier" in terms
    labels, _ = pseudo(out, batch.y, batch.views)
    plain = MutualInformationObjective(estimator_resolver("renyi"))
    _, with_guesses = plain(out, LocalBatch(batch.x, batch.t_in, labels, views=2))
    assert terms["I_TY"] == pytest.approx(with_guesses["I_TY"])  # I(T;Y) over true and pseudo-labelled rows
    mi_loss, _ = plain(out, LocalBatch(batch.x, batch.t_in, labels, views=2))
    full, = torch.autograd.grad(loss, out, retain_graph=True)
    mi_only, = torch.autograd.grad(mi_loss, out)
    assert torch.allclose(full, mi_only)  # the classifier sends the module nothing (it reads detached rows)
    loss.backward()
    assert pseudo.classifier.weight.grad.abs().sum() > 0


def test_a_fully_labelled_batch_keeps_its_labels():
    out, batch = _batch(unlabelled=())
    objective = MutualInformationObjective(estimator_resolver("renyi"), pseudo=PseudoLabels(3, threshold=0.0))
    _, terms = objective(out, batch)
    _, plain = MutualInformationObjective(estimator_resolver("renyi"))(out, batch)
    assert terms["I_TY"] == pytest.approx(plain["I_TY"]) and terms["pseudo_labelled"] == 1.0


def test_the_head_adds_fixmatchs_term_on_its_own_logits_to_its_cross_entropy():
    out, batch = _batch(unlabelled=range(6, 12))
    with torch.no_grad():
        out[6:12, 0] += 10.0  # sure of class 0 on the first view of the unlabelled samples
    loss, terms = PseudoLabelledCrossEntropy(0.95)(out, batch)
    base, _ = CrossEntropyObjective()(out, batch)
    _, unlabelled = confident_labels(out, batch.y, 2, 0.95)
    assert float(unlabelled.detach()) > 0 and torch.allclose(loss, base + unlabelled)
    assert terms["pseudo_labelled"] == 1.0


def _data(n=90, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randn(n, 1, 6, 6, generator=g) * 0.3
    x[:, 0, 1:5, 1:5] += y[:, None, None].float()
    budget = torch.full_like(y, U)
    budget[:6] = y[:6]
    return x, y, budget


def _net():
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return mole.models.MLP(36, 3, hidden=(16, 12))


def test_mole_with_pseudo_labels_trains_every_module_and_its_head_on_them():
    x, y, budget = _data()
    # 10 epochs at lr 3e-2: above 0.9 on 7 of 8 data/training seeds (20 epochs at 1e-2: 3 of 5), at half the steps
    cfg = TrainConfig(epochs=10, batch_size=16, lr=3e-2, seed=0, augment="shift", augment_pixels=1,
                      objective=ObjectiveConfig(lambda_view=0.1, view_term="clusters", pseudo_labels=0.5))
    res = mole.fit(_net(), x, budget, config=cfg)
    for k in range(3):  # two hidden modules and the head: far more rows labelled than the 6 true labels
        assert res.history.for_module(k)[-1]["pseudo_labelled"] > 0.5
    assert res.rule["objective"][0]["pseudo_labels"] == 0.5  # recorded with the run
    assert res.score(x, y) > 0.9
    again = mole.fit(_net(), x, budget, config=cfg)
    assert torch.equal(res.predict(x), again.predict(x))  # seeded


def test_a_weak_first_view_reaches_training():
    x, _, budget = _data()
    cfg = TrainConfig(epochs=2, batch_size=16, lr=1e-2, seed=0, augment="shift", augment_pixels=1,
                      objective=ObjectiveConfig(lambda_view=0.1, view_term="clusters", pseudo_labels=0.5))
    same = mole.fit(_net(), x, budget, config=cfg).network(x)
    weak = mole.fit(_net(), x, budget, config=replace(cfg, weak_augment="none")).network(x)
    assert not torch.allclose(same, weak)  # the same seed and batches; only the first view's augmentation differs


@pytest.mark.parametrize("tau", [-0.1, 1.5, float("nan"), "high"])
def test_a_threshold_outside_0_1_is_refused(tau):
    with pytest.raises(ConfigError, match="pseudo_labels"):
        mole.fit(_net(), *_data()[:2], config=TrainConfig(epochs=1, objective=ObjectiveConfig(pseudo_labels=tau)))


def test_node_level_graphs_have_no_unlabelled_rows_to_pseudo_label():
    from mole.adapters import NodeData
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(20, 4, generator=g), torch.arange(20) % 2
    edges = torch.stack([torch.arange(19), torch.arange(1, 20)])
    data = NodeData(x, edges, y, torch.arange(10))
    net = mole.models.GNN(4, 2, hidden=(8,))
    with pytest.raises(ConfigError, match="reads out its labelled samples only"):
        mole.fit(net, data, config=TrainConfig(epochs=1, objective=ObjectiveConfig(pseudo_labels=0.9)))


def test_the_cli_takes_a_threshold(tmp_path):
    from mole.cli import _config, build_parser
    cfg = _config(build_parser().parse_args(["run", "--dataset", "digits", "--pseudo-labels", "0.9",
                                             "--out", str(tmp_path / "r")]))
    assert cfg.train.objective.pseudo_labels == 0.9


def test_pseudo_labels_without_an_augmentation_are_refused_in_one_line():
    x, y, budget = _data()
    with pytest.raises(ConfigError, match="augment.*pseudo_labels"):
        mole.fit(_net(), x, budget, config=TrainConfig(epochs=1, objective=ObjectiveConfig(pseudo_labels=0.9)))
