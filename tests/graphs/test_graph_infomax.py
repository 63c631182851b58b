"""Deep Graph Infomax's label-free term I(T;S) in MOLE's objective: the bound, every node, the corrupted view."""
import dataclasses
import json

import pytest
import torch

import mole
from mole import ModularNetwork, ObjectiveConfig, TrainConfig
from mole.cli import main
from mole.errors import ConfigError, DataError
from mole.estimators.graph_infomax import GraphInfomaxBound
from mole.models import GNN
from interrupt import StopAt, losses


def test_bound_rewards_nodes_that_agree_with_the_summary_and_corrupted_nodes_that_do_not():
    bound = GraphInfomaxBound(4, seed=0)
    rows = torch.rand(50, 4, generator=torch.Generator().manual_seed(0))
    ws = bound.weight @ torch.sigmoid(rows.mean(0))  # the critic's direction for this graph's summary
    u = ws / ws.norm()
    neg = rows - 3 * u  # corrupted rows score lower
    pos = rows - (rows @ u)[:, None] * u + 3 * u  # real rows score high...
    pos = pos - pos.mean(0) + rows.mean(0)  # ...with the summary kept
    good, same, bad = bound(pos, neg), bound(rows, rows), bound(neg, pos)
    assert bad < same <= 0 < good <= 2  # bits; identical graphs carry nothing; the bound never exceeds 2
    scores = rows @ ws  # identical rows: 2 - (sp(-D) + sp(D)) / log 2 averaged, at most 0
    expected = (2 * 0.693147 - torch.nn.functional.softplus(-scores).mean() - torch.nn.functional.softplus(scores).mean())
    assert same == pytest.approx(float(expected) / 0.693147, abs=1e-5)


def test_fixed_critic_is_a_seeded_buffer_and_the_learned_one_a_parameter():
    fixed, again, other = GraphInfomaxBound(8, seed=3), GraphInfomaxBound(8, seed=3), GraphInfomaxBound(8, seed=4)
    assert list(fixed.parameters()) == [] and "weight" in fixed.state_dict()
    assert torch.equal(fixed.weight, again.weight) and not torch.equal(fixed.weight, other.weight)
    learned = GraphInfomaxBound(8, learn_critic=True, seed=3)
    assert [p.shape for p in learned.parameters()] == [(8, 8)] and torch.equal(learned.weight, fixed.weight)
    with pytest.raises(DataError, match="rows of 8 features"):
        fixed(torch.randn(5, 7), torch.randn(5, 7))


def _gcn(dropout=0.0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return ModularNetwork(GNN(3, 3, hidden=(16,), conv="gcn", dropout=dropout))


def test_label_free_term_trains_every_node_and_runs_the_module_on_the_shuffled_graph(communities):
    train, _ = communities
    objective = ObjectiveConfig(lambda_y=0.0, lambda_graph=1.0)  # no label reaches module 1
    stages = mole.build_stages(_gcn(), TrainConfig(objective=objective), data=train)
    hidden, calls = stages[0], []
    hidden.module.register_forward_hook(lambda m, i, o: calls.append(i[0].detach().clone()))
    batch = next(iter(train.batches(train.x, 256, torch.Generator().manual_seed(0))))
    loss, terms = hidden.step(batch)
    assert set(terms) == {"I_TS"} and terms["I_TS"] <= 2
    assert len(calls) == 2 and torch.equal(calls[0], train.x)  # the graph, then its corrupted copy
    assert not torch.equal(calls[1], train.x) and torch.equal(calls[1].sort(0).values, train.x.sort(0).values)
    # the term reads every node: changing an unlabelled node's features changes the loss (I(T;Y) would not)
    unlabelled = sorted(set(range(len(train.x))) - set(train.index.tolist()))[0]
    probe = mole.build_stages(_gcn(), TrainConfig(objective=objective), data=train)[0]
    x2 = train.x.clone()
    x2[unlabelled] += 5.0
    generator = lambda: torch.Generator().manual_seed(0)  # noqa: E731 - the same shuffle for both
    base = next(iter(train.batches(train.x, 256, generator())))
    moved = next(iter(train.batches(x2, 256, generator())))
    assert probe.objective(base.readout(probe.module(base.t_in, *base.context)), _with_views(probe, base))[0] != \
        probe.objective(moved.readout(probe.module(moved.t_in, *moved.context)), _with_views(probe, moved))[0]


def _with_views(stage, batch):
    out = stage.module(batch.t_in, *batch.context)
    return dataclasses.replace(batch, output=out, corrupted_output=stage.module(batch.corrupt(batch.t_in), *batch.context))


@pytest.mark.parametrize("schedule", ["sequential", "simultaneous"])
def test_mole_with_graph_infomax_learns_the_communities_and_logs_the_term(communities, schedule):
    train, test = communities
    cfg = TrainConfig(epochs=60, lr=0.01, schedule=schedule, objective=ObjectiveConfig(lambda_graph=1.0))
    result = mole.fit(_gcn(dropout=0.2), train, config=cfg)
    assert result.score(test) > 0.7
    hidden = [r for r in result.history.records if r["module"] == 0]
    assert all("I_TS" in r and "I_TY" in r for r in hidden)
    assert hidden[-1]["I_TS"] > hidden[0]["I_TS"]  # the encoder tightens the bound
    assert result.rule["objective"][0]["lambda_graph"] == 1.0


def test_graph_infomax_resumes_exactly(communities, tmp_path):
    train, _ = communities
    cfg = TrainConfig(epochs=4, batch_size=16, lr=0.01, seed=2, objective=ObjectiveConfig(lambda_graph=1.0),
                      checkpoint_every=0)
    full = mole.fit(_gcn(dropout=0.2), train, config=cfg)
    with pytest.raises(KeyboardInterrupt):
        mole.fit(_gcn(dropout=0.2), train, config=cfg, checkpoint=tmp_path / "c.pt", callbacks=[StopAt(9)])
    resumed = mole.fit(_gcn(dropout=0.2), train, config=cfg, checkpoint=tmp_path / "c.pt", resume=True)
    assert losses(resumed.history) == losses(full.history)


def test_graph_term_on_data_without_a_corrupted_view_is_one_clear_error(blobs):
    x, y = blobs
    net = ModularNetwork(torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.Linear(8, 3)))
    with pytest.raises(ConfigError, match="only node-level graph data has"):
        mole.fit(net, x, y, config=TrainConfig(epochs=1, objective=ObjectiveConfig(lambda_graph=1.0)))
    with pytest.raises(ConfigError, match="graph_critic must be one of fixed, learned"):
        TrainConfig(objective=ObjectiveConfig(lambda_graph=1.0, graph_critic="random")).validate()


def test_the_datasets_estimator_options_apply_unless_another_estimator_is_chosen(tmp_path, monkeypatch):
    from mole import data
    monkeypatch.setitem(data.DEFAULTS, "wine", {"model": "mlp", "estimator": "infonce",
                                                "estimator_options": {"temperature": 0.5}})
    out = tmp_path / "wine"
    flags = ["--dataset", "wine", "--methods", "mole", "--epochs", "1", "-q", "--no-plots", "--no-probes",
             "--monitor-every", "0"]
    assert main(["run", *flags, "--out", str(out)]) == 0
    assert json.loads((out / "results.json").read_text())["runs"][0]["estimator"] == {
        "name": "infonce", "options": {"dim": 64, "temperature": 0.5, "hidden": 0}}
    assert main(["run", *flags, "--critic-dim", "8", "--out", str(tmp_path / "flag")]) == 0  # flags add to them
    assert json.loads((tmp_path / "flag" / "results.json").read_text())["runs"][0]["estimator"]["options"] == {
        "dim": 8, "temperature": 0.5, "hidden": 0}
    assert main(["run", *flags, "--estimator", "renyi", "--out", str(tmp_path / "renyi")]) == 0
    assert json.loads((tmp_path / "renyi" / "results.json").read_text())["runs"][0]["signal"] == "renyi"


def test_dataset_defaults_choose_the_signal_and_the_run_table_names_it(tmp_path, capsys):
    from mole.data import dataset_defaults
    assert dataset_defaults("cora")["lambda_graph"] > 0 and dataset_defaults("mnist")["estimator"] == "infonce"
    assert "estimator" not in dataset_defaults("digits")  # small data: the Rényi estimate
    out = tmp_path / "karate"
    assert main(["run", "--dataset", "karate", "--methods", "mole", "--epochs", "5", "--lambda-graph", "1",
                 "--graph-critic", "learned", "-q", "--no-plots", "--no-probes", "--monitor-every", "0",
                 "--out", str(out)]) == 0
    assert "mole (renyi + graph infomax)" in capsys.readouterr().out
    run = json.loads((out / "results.json").read_text())["runs"][0]
    assert run["signal"] == "renyi + graph infomax"
    assert run["rule"]["objective"][0] == {**run["rule"]["objective"][0], "lambda_graph": 1.0, "graph_critic": "learned"}
    assert main(["run", "--dataset", "wine", "--lambda-graph", "1", "-q", "--no-plots", "--epochs", "1",
                 "--out", str(tmp_path / "wine")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mole: error:") and "node-level graph data" in err and err.count("\n") == 1
