"""Gradient isolation: a local step of module k touches module k's parameters (and its objective's
auxiliary ones) and nothing else, under every local rule."""
import pytest
import torch

from mole import RULES, ModularNetwork, TrainConfig, build_stages
from mole.adapters import TensorData
from mole.batch import LocalBatch

LOCAL_RULES = [name for name, cls in RULES.items() if not cls.end_to_end]


def tiny_cnn():
    from mole.models import CNN
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return CNN((1, 8), 3, channels=(4, 4))


@pytest.mark.parametrize("rule", LOCAL_RULES)
@pytest.mark.parametrize("model", ["mlp", "cnn"])
@pytest.mark.parametrize("k", [0, 1, 2])
def test_step_of_module_k_changes_only_module_k(tiny_mlp, blobs, k, model, rule):
    x, y = blobs
    if model == "cnn":
        x = x.unsqueeze(1)  # (n, 1, 8) signals
    net = ModularNetwork(tiny_mlp() if model == "mlp" else tiny_cnn())
    stages = build_stages(net, TrainConfig(lr=1e-2), rule, data=TensorData(x, y))
    aux = [p.detach().clone() for p in stages[k].objective.parameters()]
    with torch.no_grad():
        t_in = x if k == 0 else net.representations(x)[k - 1]
    t_in.requires_grad_(True)  # even an input that tracks gradients must not receive any
    before = [[p.detach().clone() for p in b.parameters()] for b in net.blocks]
    stages[k].step(LocalBatch(t_in, x, y))
    for j, block in enumerate(net.blocks):
        changed = [not torch.equal(p, q) for p, q in zip(block.parameters(), before[j])]
        if j == k:
            assert any(changed), "the trained module did not learn"
            assert all(p.grad is not None for p in block.parameters())
        else:
            assert not any(changed), f"module {j} changed during a step of module {k}"
            assert all(p.grad is None for p in block.parameters()), f"a gradient reached module {j}"
    assert t_in.grad is None
    if aux:  # the rule's auxiliary parameters (heads, projections) learn with their module
        assert any(not torch.equal(p, q) for p, q in zip(stages[k].objective.parameters(), aux))


@pytest.mark.parametrize("rule", LOCAL_RULES)
def test_each_stage_optimizer_holds_only_its_module(tiny_mlp, blobs, rule):
    net = ModularNetwork(tiny_mlp())
    stages = build_stages(net, TrainConfig(), rule, data=TensorData(*blobs))
    for stage, block in zip(stages, net.blocks):
        ids = {id(p) for g in stage.optimizer.param_groups for p in g["params"]}
        assert ids == {id(p) for p in block.parameters()} | {id(p) for p in stage.objective.parameters()}
