"""Semi-supervised backprop: end-to-end backprop plus MOLE's unlabelled-data terms on the hidden modules."""
import dataclasses
import json

import pytest
import torch

import mole
from mole import ObjectiveConfig, TrainConfig
from mole.adapters import TensorData
from mole.cli import main

pytestmark = pytest.mark.usefixtures("one_thread")


def _gnn(seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return mole.models.GNN(3, 3, hidden=(16,), dropout=0.0)


def test_without_unlabelled_terms_it_is_backprop():
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(96, 8, generator=g), torch.arange(96) % 3
    nets = []
    for method in ("bp", "bp-semi"):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = mole.models.MLP(8, 3, hidden=(16, 16))
        mole.fit(net, TensorData(x, y), method=method, config=TrainConfig(epochs=3, batch_size=32, seed=0))
        nets.append(net)
    for a, b in zip(nets[0].state_dict().values(), nets[1].state_dict().values()):
        assert torch.equal(a, b)


def test_the_graph_infomax_term_trains_every_module_below_it_from_unlabelled_nodes(communities):
    """A step with no labelled target still moves the first module: the term's gradient flows end to end."""
    train = communities[0].with_labels(torch.arange(6))
    from mole.rules.bp_semi import SemiSupervisedBackprop
    config = TrainConfig(epochs=1, lr=0.01, seed=0, objective=ObjectiveConfig(lambda_graph=1.0))
    net = mole.ModularNetwork(_gnn())
    stage = SemiSupervisedBackprop().stages(net, [(16,), (3,)], 3, config)[0]
    batch = next(iter(train.batches(train.x, 64, torch.Generator().manual_seed(0))))
    unlabelled = dataclasses.replace(batch, y=torch.full_like(batch.y, -1))
    first = next(iter(net.blocks[0].parameters()))  # the network's own parameters are the stage's
    start = first.detach().clone()
    loss, terms = stage.step(unlabelled)
    assert "m1_I_TS" in terms and terms["cross_entropy"] == 0.0 and loss != 0.0
    assert not torch.equal(first, start)


def test_a_few_label_run_adds_semi_supervised_backprop_with_as_many_steps(tmp_path):
    """`mole run --labels`: bp-semi beside mole and bp by default; bp, which trains on the labelled samples only,
    gets the epochs that take as many steps; the few-label defaults of the data's kind are recorded and flags
    override them."""
    out = tmp_path / "run"
    code = main(["run", "--dataset", "digits", "--labels", "10%", "--epochs", "2", "--batch-size", "64",
                 "--pseudo-labels", "0.5", "--augment", "shift", "--hidden", "32", "--no-plots", "--no-probes",
                 "--monitor-every", "0", "--accuracy-every", "0", "--out", str(out), "-q"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    runs = {r["method"]: r for r in results["runs"]}
    assert list(runs) == ["mole", "bp", "bp-semi"]
    labelled, n = results["labels"]["labelled"], results["data"]["n_train"]
    assert runs["mole"]["epochs"] == runs["bp-semi"]["epochs"] == 2
    assert runs["bp"]["epochs"] == round(2 * -(-n // 64) / -(-labelled // 64))
    assert runs["bp-semi"]["signal"] == "cross-entropy + pseudo-labels 0.5"
    assert any(rec.get("pseudo_labelled", 0) > 0 for rec in runs["bp-semi"]["history"])
    assert "defaults" not in results["labels"]  # digits: nothing measured for its kind


def test_the_few_label_defaults_of_signals_and_what_flags_override(tmp_path):
    from mole.cli import _config, build_parser
    cfg = _config(build_parser().parse_args(["run", "--dataset", "mnist1d", "--labels", "10%"]))
    assert (cfg.train.augment, cfg.train.batch_size, cfg.train.epochs) == ("shift", 128, 30)
    assert cfg.few_label_defaults == {"augment": "shift", "batch_size": 128, "epochs": 30}
    cfg = _config(build_parser().parse_args(["run", "--dataset", "mnist1d", "--labels", "10%", "--epochs", "3"]))
    assert cfg.train.epochs == 3 and "epochs" not in cfg.few_label_defaults
    images = _config(build_parser().parse_args(["run", "--dataset", "mnist", "--labels", "10"]))
    o = images.train.objective
    assert (images.train.augment, images.train.weak_augment, images.train.weak_augment_pixels) == ("affine", "shift", 1)
    assert (o.lambda_view, o.view_term, o.pseudo_labels) == (0.1, "clusters", 0.9)
    plain = _config(build_parser().parse_args(["run", "--dataset", "mnist"]))
    assert plain.train.augment == "none" and plain.train.objective.pseudo_labels == 0.0 and not plain.few_label_defaults
