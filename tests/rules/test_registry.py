"""The rule registry: every rule resolves by name, takes its options, and runs by the same engine; a new
rule is one class."""
import pytest
import torch

from mole import RULES, ConfigError, ModularNetwork, Rule, TrainConfig, fit, rule_resolver
from mole.adapters import minibatches
from mole.objectives import CrossEntropyObjective


def test_every_required_rule_is_registered():
    assert {"mole", "bp", "dgl", "predsim", "hsic-bottleneck", "infopro", "forward-forward"} <= set(RULES)


def test_unknown_rules_and_options_are_config_errors_with_a_hint():
    with pytest.raises(ConfigError, match="Did you mean 'predsim'"):
        rule_resolver("predsin")
    with pytest.raises(ConfigError, match="Did you mean 'beta'"):
        rule_resolver("predsim", betta=0.5)
    with pytest.raises(ConfigError, match="takes no options"):
        rule_resolver("bp", lr=1)


def test_backprop_is_one_stage_that_equals_a_plain_adam_loop(tiny_mlp, blobs):
    """bp through the engine is bit for bit the textbook loop: same batches, Adam, cross-entropy."""
    x, y = blobs
    cfg = TrainConfig(epochs=2, batch_size=32, lr=1e-2, seed=3)
    res = fit(tiny_mlp(), x, y, method="bp", config=cfg)
    assert res.end_to_end and len(res.history) == 2 and {r["module"] for r in res.history.records} == {0}
    net = ModularNetwork(tiny_mlp())
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    g = torch.Generator().manual_seed(3)
    for _ in range(2):
        net.train()
        for idx in minibatches(len(y), 32, g):
            loss = torch.nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    for p, q in zip(res.network.parameters(), net.parameters()):
        assert torch.equal(p, q)


class MeanMatching(Rule):
    """A toy rule for the test: each hidden module pushes its mean activation to 1."""

    name = "mean-matching"

    def __init__(self, target: float = 1.0):
        self.target = target

    def hidden_objective(self, k, shape, n_classes, config):
        target = self.target

        class Objective(CrossEntropyObjective):
            def forward(self, out, batch):
                loss = (out.mean() - target) ** 2
                return loss, {"gap": float(loss.detach())}
        return Objective()


def test_a_new_rule_is_one_class(tiny_mlp, blobs):
    res = fit(tiny_mlp(), *blobs, method=MeanMatching(0.5), config=TrainConfig(epochs=3, lr=1e-2))
    gaps = [r["gap"] for r in res.history.for_module(0)]
    assert gaps[-1] < gaps[0] and res.rule == {"name": "mean-matching", "options": {"target": 0.5}}


def test_a_rule_without_a_constructor_has_no_options(tiny_mlp, blobs):
    class Plain(MeanMatching):  # object's __init__ (*args, **kwargs): nothing to record
        __init__ = object.__init__
        target = 0.5
    res = fit(tiny_mlp(), *blobs, method=Plain(), config=TrainConfig(epochs=1))
    assert res.rule == {"name": "mean-matching", "options": {}}


@pytest.mark.parametrize("rule", [n for n, c in RULES.items() if not c.end_to_end])
@pytest.mark.parametrize("schedule", ["sequential", "simultaneous"])
def test_every_local_rule_learns_under_every_in_process_schedule(tiny_mlp, blobs, rule, schedule):
    x, y = blobs
    # Forward-Forward learns from goodness alone, without BatchNorm (it would fix every unit's mean square); 10 epochs
    # score 1.0 on the blobs of 6 data/weight seeds under both schedules
    net, epochs = (tiny_mlp(hidden=(64, 64), batch_norm=False), 10) if rule == "forward-forward" else (tiny_mlp(), 4)
    res = fit(net, x, y, method=rule, config=TrainConfig(epochs=epochs, batch_size=32, lr=1e-2, schedule=schedule))
    assert res.score(x, y) > 0.9
    assert sorted({r["module"] for r in res.history.records}) == [0, 1, 2]
