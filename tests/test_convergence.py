"""A convergence budget: each stage (and backprop) trains until its local loss on held-out training data stops
improving, at most ``epochs`` (mole.convergence)."""
import dataclasses
import json
import os
from pathlib import Path

import pytest
import torch

import mole
from mole import TrainConfig
from mole.adapters import TensorData
from mole.cli import main
from mole.convergence import Convergence, check_steps, checks_for, holdout_positions
from mole.errors import ConfigError

#: an improvement of 90 % is never reached on these problems: every stage stops after 1 + patience epochs
NEVER = 0.9


class DataSeen(mole.Callback):
    """Records the training data fit hands the callbacks."""

    def on_train_begin(self, data=None, **kwargs):
        self.n = len(data)


def test_holdout_positions_take_a_fraction_of_each_class_and_keep_unlabelled_samples():
    y = torch.tensor([0] * 40 + [1] * 20 + [-1] * 10 + [2] * 2)
    keep, held = holdout_positions(y, 0.25, seed=3)
    assert sorted(torch.cat([keep, held]).tolist()) == list(range(len(y)))  # a partition
    assert torch.bincount(y[held] + 1, minlength=4).tolist() == [0, 10, 5, 1]  # 25 % of 40, 20; one of 2; no -1
    again_keep, again_held = holdout_positions(y, 0.25, seed=3)
    assert torch.equal(held, again_held) and not torch.equal(held, holdout_positions(y, 0.25, seed=4)[1])


@pytest.mark.parametrize("method", ["mole", "dgl", "bp"])
@pytest.mark.parametrize("schedule", ["sequential", "simultaneous"])
def test_every_stage_stops_after_patience_epochs_without_improvement(tiny_mlp, blobs, method, schedule):
    x, y = blobs
    seen = DataSeen()
    cfg = TrainConfig(epochs=10, batch_size=32, patience=2, min_delta=NEVER, schedule=schedule)
    res = mole.fit(tiny_mlp(), x, y, method=method, config=cfg, callbacks=[seen])
    assert res.epochs == ([3] if method == "bp" else [3, 3, 3])  # the first epoch sets the best, two more fail
    assert seen.n == 180 - 18  # 10 % of each class held out, never trained on
    held = [r["heldout_loss"] for r in res.history.records]
    assert len(held) == len(res.history) and all(isinstance(v, float) for v in held)


def test_a_stage_trains_on_while_its_loss_improves_and_the_fixed_budget_caps_it(tiny_mlp, blobs):
    x, y = blobs
    res = mole.fit(tiny_mlp(), x, y, method="bp", config=TrainConfig(epochs=6, batch_size=32, lr=1e-2, patience=1,
                                                                      min_delta=0.0))
    losses = [r["heldout_loss"] for r in res.history.records]
    assert res.epochs == [len(losses)]
    # it stopped at the first epoch that did not improve, or ran out of epochs
    assert all(b < a for a, b in zip(losses, losses[1:-1]))
    assert len(losses) == 6 or losses[-1] >= min(losses[:-1])


def test_measuring_never_changes_training(tiny_mlp, blobs):
    """With a patience it cannot run out of, given held-out data, the run is the fixed-budget run bit for bit:
    the measurement draws nothing from the batch generator or torch's RNG (dropout) and leaves modes alone."""
    x, y = blobs
    held = (x[::9], y[::9])
    for method, schedule in (("mole", "sequential"), ("mole", "simultaneous"), ("bp", "sequential")):
        cfg = TrainConfig(epochs=3, batch_size=32, lr=1e-2, schedule=schedule)
        fixed = mole.fit(tiny_mlp(dropout=0.3), x, y, method=method, config=cfg)
        watched = mole.fit(tiny_mlp(dropout=0.3), x, y, method=method, validation=held,
                           config=dataclasses.replace(cfg, patience=4))
        for a, b in zip(fixed.network.state_dict().values(), watched.network.state_dict().values()):
            assert torch.equal(a, b), (method, schedule)
        assert "heldout_loss" in watched.history[0]


def test_simultaneous_stage_stops_only_once_every_stage_before_it_has(tiny_mlp, blobs):
    """Its input moves until then. A callback that declares module 2 converged at once and module 1 after epoch 3."""
    x, y = blobs

    class Declare(mole.Callback):
        def on_epoch_end(self, record, stage=None, **kwargs):
            stage.converged = stage.index == 1 or (stage.index == 0 and record["epoch"] >= 2) or stage.converged

    res = mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=8, batch_size=32, schedule="simultaneous"),
                   callbacks=[Declare()])
    assert res.epochs == [3, 3, 8]  # module 2 stopped with module 1; the head, never converged, trains on


def test_stage_evaluate_leaves_weights_modes_and_the_last_output(tiny_mlp, blobs):
    x, y = blobs
    net = mole.ModularNetwork(tiny_mlp(dropout=0.5))
    stage = mole.api.build_stages(net, TrainConfig())[0]
    batch = mole.batch.LocalBatch(x[:32], x[:32], y[:32])
    stage.step(batch, keep_output=True)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    output = stage.output
    stage.module.train()
    loss = stage.evaluate(batch)
    assert loss == stage.evaluate(batch)  # evaluation mode: dropout off, deterministic
    assert stage.module.training and stage.output is output
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_explicit_validation_data_is_used_and_the_training_data_kept_whole(tiny_mlp, blobs):
    x, y = blobs
    seen = DataSeen()
    res = mole.fit(tiny_mlp(), x, y, method="bp", validation=TensorData(x[:10], y[:10]), callbacks=[seen],
                   config=TrainConfig(epochs=2, batch_size=32, patience=1))
    assert seen.n == 180  # nothing held out of the training data
    conv = Convergence(TensorData(x[:10], y[:10]), patience=1, batch_size=32).bind(
        mole.api.build_stages(res.network, res.config, "bp"))
    assert res.history[-1]["heldout_loss"] == pytest.approx(conv.heldout_loss(conv.stages[0]))  # measured on it


def test_bad_settings_are_one_line_errors(tiny_mlp, blobs):
    x, y = blobs
    for bad, words in ((dict(patience=-1), "patience"), (dict(patience=2, schedule="async"), "asynchronous"),
                       (dict(holdout=1.5), "holdout"), (dict(min_delta=-0.1), "min_delta"),
                       (dict(checks_per_epoch=-1), "checks_per_epoch")):
        with pytest.raises(ConfigError, match=words):
            mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=2, **bad))
    with pytest.raises(mole.errors.DataError, match="held-out"):
        mole.fit(tiny_mlp(), x, y, validation=(x[:1], y[:1]), config=TrainConfig(epochs=2, patience=1))


def test_convergence_state_round_trips():
    conv = Convergence(TensorData(torch.zeros(4, 2), torch.tensor([0, 1, 0, 1])), patience=2, batch_size=2)
    conv.best, conv.waited = {0: -1.5, 1: 0.25}, {0: 2, 1: 0}
    other = Convergence(conv.heldout, patience=2, batch_size=2)
    other.load_state_dict(json.loads(json.dumps(conv.state_dict())))  # checkpoints hold it as plain values
    assert other.best == conv.best and other.waited == conv.waited


def test_cli_epochs_auto_is_a_convergence_budget_of_the_datasets_epochs(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--dataset", "wine", "--epochs", "auto", "--methods", "mole,bp", "--no-plots", "--no-probes",
                 "--monitor-every", "0", "--min-delta", str(NEVER), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    res = json.loads((out / "results.json").read_text())
    for run in res["runs"]:
        assert run["patience"] == 3 and run["epochs"] == 30  # wine's default epochs: the most a stage trains
        assert run["module_epochs"] == [4] * len(run["modules"]) if run["method"] == "mole" else [4]
    from mole.data import load_dataset
    y_train = torch.as_tensor(load_dataset("wine").y_train)
    assert res["runs"][0]["heldout_samples"] == len(holdout_positions(y_train, 0.1, 0)[1]) > 0  # 10 % of each class
    assert "4/4/4 (≤30)" in printed and "4 (≤30)" in printed
    assert main(["run", "--dataset", "wine", "--patience", "2", "--schedule", "async", "--out", str(tmp_path / "a")]) == 2
    assert "asynchronous pipeline trains a fixed number of epochs" in capsys.readouterr().err


@pytest.mark.skipif(not (Path(os.environ.get("MOLE_DATA", "/nonexistent")) / "Planetoid" / "Cora" / "raw").is_dir(),
                    reason="real Cora files not under $MOLE_DATA")
def test_a_planetoid_graph_measures_on_its_validation_nodes(tmp_path, monkeypatch):
    monkeypatch.setenv("MOLE_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "run"
    assert main(["run", "--dataset", "cora", "--epochs", "3", "--patience", "1", "--methods", "bp", "--no-plots",
                 "--no-probes", "--monitor-every", "0", "--out", str(out), "-q"]) == 0
    run = json.loads((out / "results.json").read_text())["runs"][0]
    assert run["heldout_samples"] == 500 and run["samples_per_second"] > 0  # the public split's 500 validation nodes


def test_a_tiny_holdout_is_warned_about(tiny_mlp, blobs, caplog):
    x, y = blobs
    with caplog.at_level("WARNING", logger="mole"):
        mole.fit(tiny_mlp(), x, y, method="bp", config=TrainConfig(epochs=2, batch_size=32, patience=1))
    assert "18 held-out samples" in caplog.text and "fixed budget" in caplog.text


def test_a_frozen_prefix_runs_once_over_the_heldout_batches(tiny_mlp, blobs):
    """Once the modules before the one measured are frozen (sequential), their held-out outputs are kept instead of
    recomputed every epoch, and the loss is the one recomputing gives."""
    x, y = blobs
    stages = mole.api.build_stages(mole.ModularNetwork(tiny_mlp()), TrainConfig())
    conv = Convergence(TensorData(x, y), patience=1, batch_size=32).bind(stages)  # 180 samples: 6 batches
    recomputed = conv.heldout_loss(stages[1])  # module 1 still training: its outputs are not kept
    stages[0].freeze()
    calls = []
    stages[0].module.register_forward_hook(lambda *_: calls.append(1))
    assert [conv.heldout_loss(stages[1]) for _ in range(3)] == [recomputed] * 3
    assert len(calls) == 6  # one pass over the held-out batches, then kept
    conv.heldout_loss(stages[2])  # the head's input runs through both frozen modules once more
    assert len(calls) == 12


def test_checks_are_spread_over_an_epoch_one_per_hundred_steps_by_default():
    assert checks_for(469) == 5 and checks_for(422) == 4  # MNIST's epoch at batch 128: without / with held-out
    assert checks_for(6) == 1 and checks_for(149) == 1 and checks_for(151) == 2  # small data: once an epoch
    assert checks_for(10, 3) == 3 and checks_for(4, 20) == 4  # asked for; never more than the steps
    assert check_steps(10, 3) == {3, 7, 10} and check_steps(6, 1) == {6} and check_steps(4, 4) == {1, 2, 3, 4}


class Steps(mole.Callback):
    """Counts each stage's steps."""

    def __init__(self):
        self.steps = {}

    def on_batch_end(self, stage=None, **kwargs):
        self.steps[stage.index] = self.steps.get(stage.index, 0) + 1


@pytest.mark.parametrize("method", ["mole", "bp"])
@pytest.mark.parametrize("augment", ["none", "shift"])
def test_a_stage_stops_within_an_epoch_at_a_check(tiny_mlp, blobs, method, augment):
    """162 training samples at batch 8: 21 steps an epoch, checks after steps 7, 14 and 21; patience 1 with an
    improvement never reached stops each stage at its second check, 14 steps in: two thirds of an epoch."""
    x, y = blobs
    steps = Steps()
    cfg = TrainConfig(epochs=4, batch_size=8, patience=1, min_delta=NEVER, checks_per_epoch=3, augment=augment,
                      augment_pixels=1 if augment != "none" else None)
    res = mole.fit(tiny_mlp(), x.unsqueeze(1), y, method=method, config=cfg, callbacks=[steps])
    stages = 1 if method == "bp" else 3
    assert steps.steps == {k: 14 for k in range(stages)}
    assert res.epochs == [0.67] * stages
    assert [r["fraction"] for r in res.history.records] == [pytest.approx(14 / 21)] * stages
    assert all(isinstance(r["heldout_loss"], float) for r in res.history.records)


def test_checks_within_an_epoch_never_change_training_either(tiny_mlp, blobs):
    """As test_measuring_never_changes_training, with a check every other step."""
    x, y = blobs
    held = (x[::9], y[::9])
    cfg = TrainConfig(epochs=2, batch_size=32, lr=1e-2, augment="shift", augment_pixels=1)
    fixed = mole.fit(tiny_mlp(dropout=0.3), x.unsqueeze(1), y, config=cfg)
    watched = mole.fit(tiny_mlp(dropout=0.3), x.unsqueeze(1), y, validation=(held[0].unsqueeze(1), held[1]),
                       config=dataclasses.replace(cfg, patience=50, checks_per_epoch=3))
    for a, b in zip(fixed.network.state_dict().values(), watched.network.state_dict().values()):
        assert torch.equal(a, b)
    assert watched.epochs == [2, 2, 2]


def test_cli_checks_per_epoch_reaches_the_config(tmp_path):
    out = tmp_path / "run"
    assert main(["run", "--dataset", "wine", "--epochs", "3", "--patience", "2", "--checks-per-epoch", "2", "-q",
                 "--no-plots", "--no-probes", "--methods", "bp", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["train"]["checks_per_epoch"] == 2
    assert main(["run", "--dataset", "wine", "--epochs", "3", "--patience", "2", "--checks-per-epoch", "-1", "-q",
                 "--no-plots", "--out", str(tmp_path / "bad")]) == 2


@pytest.mark.parametrize("method", ["mole", "bp"])
def test_a_probe_criterion_stops_on_the_probes_error(tiny_mlp, blobs, method):
    """converge_on="probe": each check measures a ridge probe's held-out error, 0 on these blobs from the first
    epoch for the hidden modules' outputs and backprop's logits, so nothing improves on it (the head starts from
    random weights, and may); records carry it instead of the local loss."""
    x, y = blobs
    cfg = TrainConfig(epochs=10, batch_size=32, patience=2, converge_on="probe")
    res = mole.fit(tiny_mlp(), x, y, method=method, config=cfg)
    assert res.epochs[:2] == ([3] if method == "bp" else [3, 3])
    errors = [r["heldout_probe_error"] for r in res.history.records]
    assert all(0.0 <= e <= 1.0 for e in errors) and "heldout_loss" not in res.history[0]


def test_a_probe_criterion_never_changes_training_either(tiny_mlp, blobs):
    x, y = blobs
    cfg = TrainConfig(epochs=3, batch_size=32, lr=1e-2)
    fixed = mole.fit(tiny_mlp(dropout=0.3), x, y, config=cfg)
    watched = mole.fit(tiny_mlp(dropout=0.3), x, y, validation=(x[::9], y[::9]),
                       config=dataclasses.replace(cfg, patience=50, converge_on="probe", checks_per_epoch=2))
    for a, b in zip(fixed.network.state_dict().values(), watched.network.state_dict().values()):
        assert torch.equal(a, b)


def test_cli_converge_on_reaches_the_config_and_a_bad_one_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "--dataset", "wine", "--epochs", "3", "--patience", "2", "--converge-on", "probe", "-q",
                 "--no-plots", "--no-probes", "--methods", "bp", "--out", str(out)]) == 0
    assert json.loads((out / "config.json").read_text())["train"]["converge_on"] == "probe"
    with pytest.raises(ConfigError, match="converge_on"):
        mole.fit(torch.nn.Sequential(torch.nn.Linear(2, 2)), torch.randn(8, 2), torch.arange(8) % 2,
                 config=TrainConfig(patience=1, converge_on="accuracy"))
