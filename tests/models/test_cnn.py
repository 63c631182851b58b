import pytest
import torch

import mole
from mole import ConfigError, ModularNetwork, TrainConfig
from mole.models import CNN, build_model


@pytest.mark.parametrize("shape", [(1, 40), (1, 8, 8), (3, 28, 28)])
def test_cnn_shapes_and_one_module_per_conv(shape):
    net = ModularNetwork(CNN(shape, 10, channels=(4, 8)))
    assert len(net) == 3
    outs = net.representations(torch.randn(5, *shape))
    assert outs[-1].shape == (5, 10)
    spatial = shape[1:]
    assert outs[0].shape[:2] == (5, 4) and outs[0].shape[2:] == tuple(s // 2 for s in spatial)
    conv = torch.nn.Conv1d if len(shape) == 2 else torch.nn.Conv2d
    assert isinstance(net.blocks[0][0], conv)


def test_pooling_stops_on_tiny_maps():
    net = CNN((1, 4, 4), 3, channels=(2, 2, 2, 2))
    assert net(torch.randn(2, 1, 4, 4)).shape == (2, 3)


def test_cnn_rejects_vector_inputs():
    with pytest.raises(ConfigError, match="--model mlp"):
        build_model("cnn", (64,), 10)


def test_tiny_cnn_learns_through_mole_with_isolated_modules():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(3).repeat(100)  # 300 signals, three classes: bumps at different positions
    x = 0.3 * torch.randn(300, 1, 24, generator=g)
    for c in range(3):
        x[y == c, 0, 4 + 7 * c: 8 + 7 * c] += 2.0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = ModularNetwork(CNN((1, 24), 3, channels=(8, 8)))
    grads = []
    for block in net.blocks:  # record which modules receive gradients during each module's training
        for p in block.parameters():
            p.register_hook(lambda grad, b=block: grads.append(b))
    result = mole.fit(net, x[:200], y[:200], config=TrainConfig(epochs=8, batch_size=64, lr=1e-2))
    assert result.score(x[200:], y[200:]) > 0.8  # chance is 1/3
    order = [list(net.blocks).index(b) for b in grads]
    assert order == sorted(order), "a module received a gradient after the next one started training"
