"""DGL (Belilovsky et al. 2020): each module learns only through its own auxiliary classifier."""
import pytest
import torch
from torch import nn

from mole.batch import LocalBatch
from mole.rules.dgl import AuxiliaryCrossEntropy
from mole.rules.heads import auxiliary_classifier


def test_vectors_get_a_linear_head_and_feature_maps_a_pooled_mlp():
    linear = auxiliary_classifier((16,), 3)
    assert [type(m) for m in linear] == [nn.Flatten, nn.Linear]
    maps = auxiliary_classifier((8, 7, 7), 3, grid=2, hidden_layers=3)
    assert isinstance(maps[0], nn.AdaptiveAvgPool2d) and maps[0].output_size == (2, 2)
    assert sum(isinstance(m, nn.Linear) for m in maps) == 4 and maps[-1].in_features == 8 * 4
    signal = auxiliary_classifier((4, 9), 3, grid=2)
    assert isinstance(signal[0], nn.AdaptiveAvgPool1d) and signal(torch.randn(2, 4, 9)).shape == (2, 3)


def test_the_loss_is_the_cross_entropy_of_the_auxiliary_classifier():
    out, y = torch.randn(10, 6), torch.arange(10) % 3
    obj = AuxiliaryCrossEntropy((6,), 3, grid=2, hidden_layers=0)
    loss, _ = obj(out, LocalBatch(out, out, y))
    assert loss.item() == pytest.approx(nn.functional.cross_entropy(obj.classifier(out), y).item())


def test_the_auxiliary_classifier_is_the_only_path_to_the_loss():
    """With the classifier's weights zeroed the loss no longer depends on T: T receives no gradient."""
    out, y = torch.randn(10, 6, requires_grad=True), torch.arange(10) % 3
    obj = AuxiliaryCrossEntropy((6,), 3, grid=2, hidden_layers=0)
    with torch.no_grad():
        obj.classifier[-1].weight.zero_()
    obj(out, LocalBatch(out, out, y))[0].backward()
    assert torch.count_nonzero(out.grad) == 0
    assert obj.classifier[-1].weight.grad is not None and torch.count_nonzero(obj.classifier[-1].weight.grad) > 0
