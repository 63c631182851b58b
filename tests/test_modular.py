import pytest
import torch
from torch import nn

from mole import ModularNetwork
from mole.errors import ConfigError


def test_default_groups_one_module_per_layer():
    flat = nn.Sequential(nn.Flatten(), nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(16, 12), nn.ReLU(), nn.Linear(12, 3))
    net = ModularNetwork(flat)
    assert net.groups == [[0, 1, 2, 3, 4], [5, 6], [7]]
    assert net.describe()[1] == ["Linear(16→12)", "ReLU"]


def test_blocks_of_builders_are_modules(tiny_mlp):
    net = ModularNetwork(tiny_mlp(hidden=(16, 12, 10)))
    assert len(net) == 4
    x = torch.randn(5, 8)
    assert torch.equal(net(x), net.representations(x)[-1])


def test_explicit_groups():
    layers = [nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)]
    net = ModularNetwork(layers, groups=[[0, 1, 2, 3], [4]])
    assert len(net) == 2 and net.describe()[0] == ["Linear(4→4)", "ReLU", "Linear(4→4)", "ReLU"]


@pytest.mark.parametrize("groups", [[[0], [2], [1]], [[0, 1]], [[0], [1], [2], [3]], [[], [0, 1, 2]]])
def test_bad_groups_are_rejected(groups):
    layers = [nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2)]
    with pytest.raises(ConfigError):
        ModularNetwork(layers, groups=groups)


def test_single_module_network_is_rejected():
    with pytest.raises(ConfigError, match="at least 2"):
        ModularNetwork(nn.Sequential(nn.Linear(4, 2)))
