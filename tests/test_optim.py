"""Optimizers and learning-rate schedules, built in one place for every stage."""
import math
import pickle

import pytest
import torch

from mole import ConfigError, TrainConfig, fit
from mole.optim import LRSchedule, build_optimizer
from mole.api import validate_config


@pytest.mark.parametrize("name, cls", [("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW),
                                       ("sgd", torch.optim.SGD)])
def test_optimizer_by_name(name, cls):
    opt, _ = build_optimizer([torch.nn.Parameter(torch.zeros(2))], TrainConfig(optimizer=name, lr=0.1, momentum=0.5), 3)
    assert type(opt) is cls and opt.param_groups[0]["lr"] == 0.1
    if name == "sgd":
        assert opt.param_groups[0]["momentum"] == 0.5


def test_schedules_give_the_documented_factors():
    assert [LRSchedule("constant", 4).factor(e) for e in range(5)] == [1.0] * 5
    assert [round(LRSchedule("cosine", 4).factor(e), 6) for e in range(5)] == \
        [round(0.5 * (1 + math.cos(math.pi * e / 4)), 6) for e in range(5)]
    assert [LRSchedule("step", 8).factor(e) for e in (0, 3, 4, 5, 6, 8)] == pytest.approx([1, 1, 0.1, 0.1, 0.01, 0.01])


def test_every_stage_anneals_over_its_own_epochs(tiny_mlp, blobs):
    res = fit(tiny_mlp(), *blobs, config=TrainConfig(epochs=4, lr_schedule="step", optimizer="sgd", lr=0.1))
    assert res.history.for_module(0)  # trained; each module's lr followed its own epochs:
    from mole import build_stages, ModularNetwork
    stage = build_stages(ModularNetwork(tiny_mlp()), TrainConfig(epochs=4, lr=0.1, lr_schedule="step"))[0]
    lrs = []
    for _ in range(4):
        stage.end_epoch()
        lrs.append(stage.optimizer.param_groups[0]["lr"])
    assert lrs == pytest.approx([0.1, 0.01, 0.001, 0.001])
    assert pickle.loads(pickle.dumps(stage.lr_schedule)) == stage.lr_schedule  # travels to async workers


@pytest.mark.parametrize("field, value, message", [("optimizer", "lbfgs", "optimizer must be one of"),
                                                    ("momentum", 1.5, "momentum must be in"),
                                                    ("lr_schedule", "linear", "lr schedule must be one of"),
                                                    ("lr", float("inf"), "lr must be a positive finite")])
def test_bad_settings_are_config_errors(field, value, message):
    with pytest.raises(ConfigError, match=message):
        validate_config(TrainConfig(**{field: value}))


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_the_multi_tensor_optimizers_train_the_same_weights_as_the_loop(optimizer, monkeypatch):
    """mole's optimizers run PyTorch's foreach implementation; it must be the loop's arithmetic exactly."""
    import mole
    from mole import optim
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(96, 8, generator=g), torch.arange(96) % 3
    weights = {}
    for foreach in (False, True):
        monkeypatch.setattr(optim, "FOREACH", foreach)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = mole.models.MLP(8, 3, hidden=(16, 16))
        mole.fit(net, x, y, config=mole.TrainConfig(epochs=3, batch_size=32, optimizer=optimizer, weight_decay=1e-3,
                                                    seed=0))
        weights[foreach] = [t.clone() for t in net.state_dict().values()]
    assert all(torch.equal(a, b) for a, b in zip(weights[False], weights[True]))
