"""Data augmentation: what each transform does to a batch, and how every schedule and method meets it."""
import pytest
import torch
from torch import nn

import mole
from mole import ConfigError, TrainConfig
from mole.adapters import TensorData
from mole.adapters.augment import (RandomCropFlip, RandomShift, Unperturbed, augmentation_resolver,
                                  weak_augmentation_resolver)
from mole.schedules.base import FrozenInput
from mole.api import validate_config


def test_shift_translates_each_image_by_at_most_s_pixels():
    x = torch.zeros(64, 1, 9, 9)
    x[:, 0, 4, 4] = 1.0  # one bright pixel in the centre of a flat background
    out = RandomShift(2)(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    rows, cols = (out[:, 0] == 1).nonzero()[:, 1:].T.reshape(2, 64)
    assert rows.sub(4).abs().max() <= 2 and cols.sub(4).abs().max() <= 2
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10  # offsets really vary over the batch
    assert out.sum(dim=(1, 2, 3)).eq(1).all()  # the background stays the background (edge replication)


def test_shift_of_signals_is_a_translation_with_edge_fill():
    x = torch.arange(10.0).repeat(50, 2, 1)  # (50, 2, 10) ramps
    x[:, 1] *= -1  # a second channel, mirrored
    out = RandomShift(3)(x, torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    assert torch.equal(out[:, 1], -out[:, 0])  # both channels of a sample move together
    for row in out[:, 0]:
        inner = row[3:-3]
        steps = inner[1:] - inner[:-1]
        assert torch.all(steps == 1)  # still a ramp: a pure translation in the middle
        assert (row[0] >= 0) and (row[-1] <= 9)  # the border repeats the edge values
    assert len({float(r[5]) for r in out[:, 0]}) == 7  # all 2*3+1 offsets occur


def test_crop_flip_keeps_size_and_flips_about_half():
    x = torch.arange(16.0).reshape(1, 1, 4, 4).repeat(400, 3, 1, 1)
    out = RandomCropFlip(1)(x, torch.Generator().manual_seed(2))
    assert out.shape == x.shape
    flipped = (out[:, 0] == x[0, 0].flip(-1)).all(dim=(1, 2)).float().mean()
    same = (out[:, 0] == x[0, 0]).all(dim=(1, 2)).float().mean()
    assert 0.0 < flipped < 0.25 and 0.0 < same < 0.25  # offset (0, 0) is 1/9 of the samples, half of them flipped


def test_augmentation_refuses_vectors_and_bad_settings():
    with pytest.raises(ConfigError, match="signals .* or images"):
        TensorData(torch.randn(10, 5), torch.zeros(10, dtype=torch.long)).augmented(RandomShift(2))
    with pytest.raises(ConfigError, match="images"):
        RandomCropFlip(4).check((1, 40))
    with pytest.raises(ConfigError, match="positive integer"):
        augmentation_resolver("shift", 0)
    with pytest.raises(ConfigError, match="unknown augment"):
        validate_config(TrainConfig(augment="shfit"))


def test_a_weak_augmentation_perturbs_the_first_view_only():
    x, y = torch.randn(12, 1, 6, 6), torch.arange(12) % 3
    shifted = TensorData(x, y).augmented(RandomShift(2), first_view=Unperturbed())
    batch = next(shifted.with_views(3).batches(x, 12, torch.Generator().manual_seed(0)))
    first, *others = batch.x.chunk(3)
    order = (first.flatten(1)[:, None] == x.flatten(1)[None]).all(-1).float().argmax(1)  # which sample each row is
    assert batch.views == 3 and torch.equal(first, x[order])  # the weak view: the samples as they are
    assert sorted(order.tolist()) == list(range(12)) and torch.equal(batch.y, y[order].repeat(3))
    assert all(not torch.equal(o, x[order]) for o in others) and not torch.equal(*others)  # strong, each drawn afresh
    alone = next(shifted.batches(x, 12, torch.Generator().manual_seed(0))).x  # one view: the run's augmentation
    assert alone.shape == x.shape and sum(any(torch.equal(row, sample) for sample in x) for row in alone) < 6
    kept = shifted.take(torch.arange(4)).with_labels(torch.arange(2)).with_views(2)  # carried through every copy
    assert isinstance(kept.first_view, Unperturbed)


def test_weak_augmentation_settings():
    assert weak_augmentation_resolver("same", None, "affine") is None
    assert isinstance(weak_augmentation_resolver("none", None, "affine"), Unperturbed)
    assert weak_augmentation_resolver("shift", 1, "affine").pixels == 1
    for name, pixels, augment, match in [("none", None, "none", "add --augment"), ("none", 2, "shift", "drop --weak-augment-pixels"),
                                         ("shift", None, "mask", "every view of a graph"), ("weak", None, "shift", "unknown weak_augment")]:
        with pytest.raises(ConfigError, match=match):
            weak_augmentation_resolver(name, pixels, augment)
    with pytest.raises(ConfigError, match="add --augment"):
        validate_config(TrainConfig(weak_augment="shift"))
    with pytest.raises(ConfigError, match="out of itself"):  # checked against the samples like the run's own
        TensorData(torch.randn(4, 1, 6, 6), torch.zeros(4, dtype=torch.long)).augmented(RandomShift(1), RandomShift(9))


def _images(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    x = torch.randn(n, 1, 6, 6, generator=g) * 0.3
    x[:, 0, 1:5, 1:5] += 2 * y[:, None, None].float()  # class = brightness of the centre
    return x, y


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Sequential(nn.Flatten(), nn.Linear(36, 16), nn.ReLU()),
                         nn.Sequential(nn.Linear(16, 8), nn.ReLU()), nn.Linear(8, 3))


def _first_module():
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(36, 4)).eval()


def test_later_modules_train_on_the_first_modules_augmented_epochs():
    x, y = _images()
    data = TensorData(x, y).augmented(RandomShift(1))
    first, g = _first_module(), torch.Generator().manual_seed(5)
    frozen = FrozenInput(data, 32)
    seen = [[b.t_in.clone() for b in frozen.batches(g)] for _ in range(2)]  # module 1: two epochs
    state = g.get_state()
    frozen.add(first)
    assert frozen.t is data.x  # nothing cached over the raw data: the input is augmented
    again = [[b for b in frozen.batches(g)] for _ in range(2)]  # module 2: the same two epochs
    assert torch.equal(g.get_state(), state)  # drawn once, by module 1
    for epoch, kept in zip(seen, again):
        for raw, batch in zip(epoch, kept):
            assert torch.equal(batch.x, raw) and torch.allclose(batch.t_in, first(raw))
    assert not torch.equal(seen[0][0], seen[1][0])  # each epoch has its own order and shifts
    assert not torch.allclose(seen[0][0], x[:32])  # and they are shifted


def test_without_room_to_keep_epochs_frozen_modules_run_per_batch():
    x, y = _images()
    data = TensorData(x, y).augmented(RandomShift(1))
    first = _first_module()
    frozen = FrozenInput(data, 32, cache_bytes=0)
    list(frozen.batches(torch.Generator().manual_seed(5)))
    frozen.add(first)
    assert frozen.epochs is None
    g1, g2 = torch.Generator().manual_seed(7), torch.Generator().manual_seed(7)
    for batch, plain in zip(frozen.batches(g1), data.batches(data.x, 32, g2)):
        assert torch.allclose(batch.t_in, first(plain.t_in))  # T_1 of the freshly drawn batch
    cached = FrozenInput(TensorData(x, y), 32)
    cached.add(first)
    assert torch.allclose(cached.t, first(x))  # without augmentation T_1 is computed once


@pytest.mark.parametrize("method,schedule", [("mole", "sequential"), ("mole", "simultaneous"), ("bp", "sequential")])
def test_every_method_trains_with_augmentation_and_is_reproducible(method, schedule):
    x, y = _images()
    cfg = TrainConfig(epochs=10, batch_size=32, lr=1e-2, augment="shift", augment_pixels=1, schedule=schedule)
    a = mole.fit(_net(), x, y, method=method, config=cfg)
    b = mole.fit(_net(), x, y, method=method, config=cfg)
    assert all(torch.equal(p, q) for p, q in zip(a.network.parameters(), b.network.parameters()))
    plain = mole.fit(_net(), x, y, method=method, config=TrainConfig(epochs=10, batch_size=32, lr=1e-2,
                                                                     schedule=schedule))
    assert any(not torch.equal(p, q) for p, q in zip(a.network.parameters(), plain.network.parameters()))
    assert a.score(x, y) > 0.6  # chance is 1/3


def test_affine_moves_rotates_and_scales_within_its_bounds():
    from mole.adapters.augment import RandomAffine
    x = torch.zeros(200, 1, 21, 21)
    x[:, 0, 10, 10] = 1.0  # a bright centre pixel: it may only move by the translation (rotation fixes the centre)
    out = RandomAffine(3)(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1  # bilinear: no value beyond the input's
    again = RandomAffine(3)(x, torch.Generator().manual_seed(0))
    assert torch.equal(out, again)
    flat = out[:, 0].flatten(1)
    cols, rows = torch.arange(21).repeat(21), torch.arange(21).repeat_interleave(21)
    mass = flat.sum(1)
    cx, cy = (flat * cols).sum(1) / mass, (flat * rows).sum(1) / mass
    assert (cx - 10).abs().max() <= 3.01 and (cy - 10).abs().max() <= 3.01
    assert (cx - 10).abs().max() > 2 and len({round(float(v), 1) for v in cx}) > 20  # the offsets vary
    bar = torch.zeros(200, 1, 21, 21)
    bar[:, 0, 10, 4:17] = 1.0  # a horizontal bar through the centre: rotation tilts it, scaling stretches it
    turned = RandomAffine(1)(bar, torch.Generator().manual_seed(1))[:, 0]
    spread = (turned > 0.05).any(2).sum(1)  # rows the bar touches
    assert spread.max() >= 4 and spread.min() <= 3  # some tilted by several rows, some nearly level
    with pytest.raises(ConfigError, match="images"):
        augmentation_resolver("affine").check((1, 40))
