"""The closed-form linear probe a convergence budget can stop on (mole.ridge_probe)."""
import pytest
import torch

from mole.ridge_probe import probe_error, rows_of


def _blobs(n=400, d=6, classes=4, spread=6.0, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    return torch.randn(classes, d, generator=g)[y] * spread + torch.randn(n, d, generator=g), y


def test_separable_classes_have_no_error_and_random_labels_a_chance_error():
    z, y = _blobs()
    assert probe_error(z, y) == 0.0
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(1))]
    assert 0.6 < probe_error(z, shuffled) < 0.9  # chance: 3/4


def test_the_error_falls_as_the_classes_separate():
    errors = [probe_error(*_blobs(spread=s)) for s in (0.2, 0.6, 1.5)]
    assert errors[0] > errors[1] > errors[2]


def test_feature_maps_are_averaged_per_channel_and_unlabelled_rows_left_out():
    z, y = _blobs(d=3)
    maps = z[:, :, None, None].expand(-1, -1, 4, 5)  # (n, 3, 4, 5): each channel constant over positions
    assert rows_of(maps).shape == (len(y), 3) and torch.allclose(rows_of(maps), z.double())
    assert probe_error(maps, y) == probe_error(z, y)
    y_some = y.clone()
    y_some[::3] = -1
    kept = y_some >= 0
    assert probe_error(z, y_some) == probe_error(z[kept], y[kept])


def test_too_few_rows_give_the_majority_class_error():
    assert probe_error(torch.randn(3, 2), torch.tensor([1, 1, 0])) == pytest.approx(1 / 3)
    assert probe_error(torch.randn(2, 2), torch.tensor([-1, -1])) == 1.0
