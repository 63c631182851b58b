"""Deep builders: CIFAR ResNets (6n + 2) and VGG-style CNNs, one block per module."""
import pytest
import torch

from mole import ConfigError, ModularNetwork
from mole.modular import grouped
from mole.models import VGG, ResNet, build_model
from mole.models.resnet import BasicBlock


@pytest.mark.parametrize("depth, blocks", [(8, 3), (20, 9), (32, 15)])
def test_resnet_has_a_module_per_block(depth, blocks):
    net = ModularNetwork(ResNet((3, 16, 16), 10, depth=depth))
    assert len(net) == blocks + 2  # stem + blocks + head
    assert sum(isinstance(b, BasicBlock) for b in net.blocks) == blocks
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)


def test_resnet_downsamples_with_projection_shortcuts():
    net = ResNet((3, 32, 32), 10, depth=8)
    x = torch.randn(2, 3, 32, 32)
    shapes = []
    for layer in net:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes[:4] == [(16, 32, 32), (16, 32, 32), (32, 16, 16), (64, 8, 8)]
    assert isinstance(net[1].shortcut, torch.nn.Identity) and not isinstance(net[2].shortcut, torch.nn.Identity)


def test_one_dimensional_signals_and_vgg():
    assert ResNet((1, 40), 10, depth=8)(torch.randn(2, 1, 40)).shape == (2, 10)
    vgg = ModularNetwork(VGG((1, 28, 28), 10, depth=6))
    assert len(vgg) == 7 and vgg(torch.randn(2, 1, 28, 28)).shape == (2, 10)


def test_bad_depths_and_shapes_are_config_errors():
    with pytest.raises(ConfigError, match="6n \\+ 2"):
        ResNet((3, 32, 32), 10, depth=21)
    with pytest.raises(ConfigError, match="shaped"):
        build_model("resnet", (64,), 10)


def test_module_size_groups_blocks_and_keeps_the_head_alone():
    layers = list(ResNet((3, 16, 16), 10, depth=20).children())  # stem + 9 blocks + head
    groups = grouped(layers, 4)
    assert groups == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [10]]
    assert len(ModularNetwork(layers, groups)) == 4
