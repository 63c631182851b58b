import numpy as np
import pytest
import torch

import mole
from mole import ConfigError, DataError, ObjectiveConfig, TrainConfig


def test_mole_learns_blobs_well_above_chance(tiny_mlp, blobs):
    x, y = blobs
    result = mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=10, batch_size=64, lr=1e-2))
    assert result.score(x, y) > 0.9
    proba = result.predict_proba(x)
    assert torch.allclose(proba.sum(1), torch.ones(len(x)), atol=1e-5)
    mods = result.modules()
    assert [m["index"] for m in mods] == [0, 1, 2] and all(m["final_loss"] is not None for m in mods)


def test_backprop_baseline_learns(tiny_mlp, blobs):
    x, y = blobs
    result = mole.fit(tiny_mlp(), x, y, method="bp", config=TrainConfig(epochs=15, batch_size=64, lr=1e-2))
    assert result.score(x, y) > 0.9
    assert len(result.history) == 15 and result.peak_memory_mb > 0


def test_same_seed_same_result(tiny_mlp, blobs):
    x, y = blobs
    runs = [mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=2, batch_size=64, seed=3)) for _ in range(2)]
    for a, b in zip(runs[0].network.parameters(), runs[1].network.parameters()):
        assert torch.equal(a, b)
    other = mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=2, batch_size=64, seed=4))
    assert any(not torch.equal(a, b) for a, b in zip(runs[0].network.parameters(), other.network.parameters()))


def test_global_rng_is_untouched(tiny_mlp, blobs):
    x, y = blobs
    state = torch.get_rng_state()
    mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=1, batch_size=64))
    assert torch.equal(state, torch.get_rng_state())


def test_per_module_objectives_and_label_free_term(tiny_mlp, blobs):
    x, y = blobs
    cfg = TrainConfig(epochs=2, batch_size=64,
                      objective=[ObjectiveConfig(lambda_y=0, lambda_x=1), ObjectiveConfig(lambda_y=1, beta=0.1)])
    result = mole.fit(tiny_mlp(), x, y, config=cfg)
    assert set(result.history.for_module(0)[0]) >= {"I_TX"} and "I_TY" not in result.history.for_module(0)[0]
    assert {"I_TY", "I_Tprev"} <= set(result.history.for_module(1)[0])
    with pytest.raises(ConfigError, match="one ObjectiveConfig per hidden module"):
        mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=1, objective=[ObjectiveConfig()]))


def test_checkpoint_resume_skips_finished_modules(tiny_mlp, blobs, tmp_path):
    x, y = blobs
    ckpt = tmp_path / "mole.pt"
    cfg = TrainConfig(epochs=2, batch_size=64)
    full = mole.fit(tiny_mlp(), x, y, config=cfg, checkpoint=ckpt)
    assert ckpt.exists()
    # a checkpoint after all modules: resuming trains nothing and reproduces the weights and the history
    resumed = mole.fit(tiny_mlp(seed=9), x, y, config=cfg, checkpoint=ckpt, resume=True)
    assert resumed.history.records == full.history.records
    for a, b in zip(full.network.parameters(), resumed.network.parameters()):
        assert torch.equal(a, b)
    with pytest.raises(mole.CheckpointError, match="different network"):
        mole.fit(tiny_mlp(hidden=(16, 8)), x, y, config=cfg, checkpoint=ckpt, resume=True)


def test_resume_after_interruption(tiny_mlp, blobs, tmp_path):
    x, y = blobs
    ckpt = tmp_path / "mole.pt"

    class Interrupt(mole.Callback):
        def on_stage_begin(self, stage, **kw):
            if stage.index == 1:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=2, batch_size=64), checkpoint=ckpt, callbacks=[Interrupt()])
    resumed = mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=2, batch_size=64), checkpoint=ckpt, resume=True)
    assert [r["module"] for r in resumed.history.records] == [0, 0, 1, 1, 2, 2]  # module 1's history kept


@pytest.mark.parametrize("X, y, match", [
    (np.array([[1.0, np.nan], [0.0, 1.0], [1.0, 1.0]]), [0, 1, 0], "NaN"),
    (np.ones((4, 2)), [0, 1, 0], "3 labels but X has 4 samples"),
    (np.ones((3, 2)), [[0], [1], [0]], "1-D"),
    (np.ones((3, 2)), [0.5, 1, 0], "integer class labels"),
    (np.ones(3), [0, 1, 0], "shape"),
])
def test_bad_input_raises_data_error(X, y, match):
    from torch import nn
    with pytest.raises(DataError, match=match):
        mole.fit(nn.Sequential(nn.Sequential(nn.Linear(2, 4), nn.ReLU()), nn.Linear(4, 2)), X, y)


def test_bad_config_lists_every_problem(tiny_mlp, blobs):
    x, y = blobs
    with pytest.raises(ConfigError, match="epochs.*batch_size"):
        mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=0, batch_size=1))
    with pytest.raises(ConfigError, match="Did you mean 'bp'"):
        mole.fit(tiny_mlp(), x, y, method="bq")


def test_model_that_does_not_fit_the_data(tiny_mlp, blobs):
    x, y = blobs
    with pytest.raises(DataError, match="cannot take inputs"):
        mole.fit(tiny_mlp(d=5), x, y)
    with pytest.raises(DataError, match="3 classes"):
        mole.fit(tiny_mlp(c=2), x, y)


def test_an_estimator_may_be_given_by_name_and_anything_else_is_refused_in_one_line():
    assert mole.TrainConfig(estimator="infonce").estimator == mole.EstimatorConfig("infonce")
    with pytest.raises(mole.ConfigError, match="estimator must be an estimator's name or an EstimatorConfig"):
        mole.api.validate_config(mole.TrainConfig(estimator=5))
