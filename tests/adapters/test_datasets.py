"""A user's data as PyTorch users hold it: Datasets, DataLoaders and memory-mapped arrays train exactly as tensors."""
import numpy as np
import pytest
import torch
from torch.utils.data import (DataLoader, Dataset, IterableDataset, Subset, TensorDataset, WeightedRandomSampler)

import mole
from mole import ConfigError, DataError, TrainConfig
from mole.adapters.datasets import DatasetData, as_train_data


def _same_weights(a, b) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.network.state_dict().values(), b.network.state_dict().values()))


def _fit(tiny_mlp, data, y=None, method="mole", **cfg):
    config = TrainConfig(**{"epochs": 2, "batch_size": 64, "lr": 1e-2, **cfg})
    return mole.fit(tiny_mlp(), data, y, method=method, config=config)


@pytest.mark.parametrize("method", ["mole", "bp", "dgl"])
@pytest.mark.parametrize("schedule", ["sequential", "simultaneous"])
def test_a_dataloader_trains_the_weights_tensors_train(tiny_mlp, blobs, method, schedule):
    x, y = blobs
    tensors = _fit(tiny_mlp, x, y, method, schedule=schedule)
    loader = _fit(tiny_mlp, DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True), None, method,
                  schedule=schedule)
    dataset = _fit(tiny_mlp, TensorDataset(x, y), None, method, schedule=schedule)
    assert _same_weights(tensors, loader) and _same_weights(tensors, dataset)
    assert tensors.score(x, y) == loader.score(TensorDataset(x, y)) == dataset.score(DataLoader(TensorDataset(x, y)))
    if schedule == "sequential" and method != "bp":  # frozen outputs of data read on demand go to the disk cache
        assert loader.schedule["cache"] == ["disk", "disk"] and tensors.schedule["cache"] == ["memory", "memory"]


@pytest.mark.process
@pytest.mark.parametrize("method", ["mole", "dgl"])
def test_async_workers_read_the_same_batches_from_a_dataloader(tiny_mlp, blobs, method):
    x, y = blobs
    tensors = _fit(tiny_mlp, x, y, method, schedule="async", workers=2)
    loader = _fit(tiny_mlp, DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True), None, method,
                  schedule="async", workers=2)
    assert _same_weights(tensors, loader)


def test_loader_workers_and_a_label_budget_change_nothing(tiny_mlp, blobs):
    x, y = blobs
    partial = y.clone()
    partial[torch.arange(len(y)) % 3 != 0] = -1  # two thirds unlabelled: MOLE's label-free terms read them
    cfg = {"objective": mole.ObjectiveConfig(lambda_x=0.5)}
    tensors = _fit(tiny_mlp, x, partial, **cfg)
    workers = _fit(tiny_mlp, DataLoader(TensorDataset(x, partial), batch_size=64, shuffle=True, num_workers=2),
                   **cfg)
    assert _same_weights(tensors, workers)


class Noisy(Dataset):
    """A random per-sample transform (as torchvision's) drawing from torch's global generator."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i] + 0.1 * torch.randn(self.x.shape[1]), int(self.y[i])


def test_random_transforms_are_seeded_per_batch_whatever_reads_them(tiny_mlp, blobs):
    x, y = blobs
    data, _ = as_train_data(Noisy(x, y))
    assert data.augments  # items vary between reads: frozen modules run per batch, never cached once
    one = _fit(tiny_mlp, DataLoader(Noisy(x, y), batch_size=64, shuffle=True))
    two = _fit(tiny_mlp, DataLoader(Noisy(x, y), batch_size=64, shuffle=True, num_workers=2))
    assert _same_weights(one, two)
    other = _fit(tiny_mlp, DataLoader(Noisy(x, y), batch_size=64, shuffle=True), seed=1)
    assert not _same_weights(one, other)
    state = torch.get_rng_state()
    as_train_data(Noisy(x, y))[0].x[torch.arange(5)]
    assert torch.equal(state, torch.get_rng_state())  # the caller's generator is left alone


def test_a_memory_mapped_array_trains_as_the_array_does(tiny_mlp, blobs, tmp_path):
    x, y = blobs
    np.save(tmp_path / "x.npy", x.numpy())
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    tensors = _fit(tiny_mlp, x, y)
    disk = _fit(tiny_mlp, mapped, y)
    assert _same_weights(tensors, disk)
    assert disk.score(mapped, y) == tensors.score(x, y)
    assert torch.equal(disk.predict(mapped), tensors.predict(x))


def test_shuffle_false_and_drop_last_are_kept(tiny_mlp, blobs):
    x, y = blobs
    data, batch = as_train_data(DataLoader(TensorDataset(x, y), batch_size=50, shuffle=False, drop_last=True))
    assert batch == 50 and isinstance(data, DatasetData) and data.n_batches(50) == 3
    drawn = [b.y for b in data.batches(data.x, 50, torch.Generator().manual_seed(0))]
    assert len(drawn) == 3 and torch.equal(torch.cat(drawn), y[:150])  # in order, the last 30 dropped
    subset, _ = as_train_data(Subset(TensorDataset(x, y), list(range(100, 180))))
    assert torch.equal(subset.y, y[100:])


class Items(Dataset):
    def __init__(self, items):
        self.items = items

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


class Stream(IterableDataset):
    """A stream of (x, y) items, shuffled by torch's global generator on every pass (as a shuffle buffer is)."""

    def __init__(self, x, y, shuffle=False):
        self.x, self.y, self.shuffle = x, y, shuffle

    def __iter__(self):
        order = torch.randperm(len(self.x)) if self.shuffle else torch.arange(len(self.x))
        for i in order:
            yield self.x[i], int(self.y[i])


@pytest.mark.process
def test_an_iterable_dataset_trains_in_its_own_order(tiny_mlp, blobs, monkeypatch):
    from pathlib import Path
    monkeypatch.setenv("PYTHONPATH", str(Path(__file__).parent))  # asynchronous workers unpickle Stream
    x, y = blobs
    perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(0))
    xs, ys = x[perm], y[perm]  # a stream in its own (here shuffled once) order
    stream = _fit(tiny_mlp, Stream(xs, ys))
    loader = _fit(tiny_mlp, DataLoader(TensorDataset(xs, ys), batch_size=64, shuffle=False))
    assert _same_weights(stream, loader)  # the order it yields: a DataLoader's shuffle=False
    assert stream.score(Stream(x, y)) == stream.score(x, y)  # predictions on a stream, in its order
    shuffled = [_fit(tiny_mlp, DataLoader(Stream(x, y, shuffle=True), batch_size=64), schedule=s, **options)
                for s, options in (("simultaneous", {}), ("async", {"workers": 2}))]
    for a, b in zip(*(r.network.parameters() for r in shuffled)):  # each worker process read the same batches
        assert torch.allclose(a, b, atol=1e-5)
    again = _fit(tiny_mlp, DataLoader(Stream(x, y, shuffle=True), batch_size=64), schedule="simultaneous")
    assert _same_weights(shuffled[0], again)  # the stream's own shuffling drew under mole's seeds
    partial = y.clone()
    partial[::2] = -1
    with pytest.raises(ConfigError, match="IterableDataset with unlabelled samples"):
        _fit(tiny_mlp, Stream(x, partial))


@pytest.mark.parametrize("data, error, words", [
    (Items([("text", 0), ("more", 1)]), DataError, "holds a str where a tensor of features was expected"),
    (Items([torch.zeros(3), torch.ones(3)]), DataError, "are \\(features, label\\) pairs"),
    (Items([(torch.zeros(3), 0), (torch.ones(4), 1), (torch.ones(3), 1)]), DataError, "different shapes"),
    (Items([(torch.zeros(3), 0), (torch.ones(3), -2)]), DataError, "negative labels"),
    (Items([(torch.zeros(3), 0), (torch.ones(3), 0.5)]), DataError, "integer class labels"),
    (Items([]), DataError, "holds no samples"),
    (Stream(torch.zeros(0, 3), torch.zeros(0)), DataError, "yields no samples"),
    (DataLoader(TensorDataset(torch.zeros(4, 3), torch.tensor([0, 1, -1, -1])), sampler=WeightedRandomSampler([1.0] * 4,
                                                                                                       4)),
     ConfigError, "a sampler of its own and unlabelled samples"),
])
def test_bad_datasets_are_one_line_errors(tiny_mlp, data, error, words):
    with pytest.raises(error, match=words) as info:
        mole.fit(tiny_mlp(d=3, c=2), data, config=TrainConfig(epochs=1, batch_size=2))
    assert "\n" not in str(info.value)


def test_bad_items_read_by_loader_workers_are_one_line_errors_too(tiny_mlp):
    items = Items([(torch.zeros(3), 0), (torch.ones(3), 1)] * 4 + [(torch.ones(4), 1)])
    with pytest.raises(DataError, match="^the dataset's items have different shapes") as info:
        mole.fit(tiny_mlp(d=3, c=2), DataLoader(items, batch_size=3, num_workers=2),
                 config=TrainConfig(epochs=1, schedule="simultaneous"))
    assert "\n" not in str(info.value) and "worker" not in str(info.value)


def test_nan_in_a_sample_names_it_and_labels_are_not_given_twice(tiny_mlp):
    x = torch.randn(20, 3)
    x[7, 1] = float("nan")
    with pytest.raises(DataError, match="sample 7 of the data holds NaN"):
        mole.fit(tiny_mlp(d=3, c=2), TensorDataset(x, torch.arange(20) % 2), config=TrainConfig(epochs=1))
    with pytest.raises(DataError, match="pass y=None"):
        mole.fit(tiny_mlp(d=3, c=2), TensorDataset(x, torch.arange(20) % 2), torch.arange(20) % 2)
    with pytest.raises(DataError, match="y is missing"):
        mole.fit(tiny_mlp(d=3, c=2), x)


@pytest.mark.parametrize("schedule", ["sequential", "simultaneous"])
def test_a_run_on_a_dataloader_resumes_exactly(tiny_mlp, blobs, tmp_path, schedule):
    from interrupt import StopAt, losses
    x, y = blobs
    loader = DataLoader(Noisy(x, y), batch_size=32, shuffle=True)  # random transforms: augmented epochs kept
    cfg = TrainConfig(epochs=3, batch_size=32, lr=1e-2, seed=5, checkpoint_every=0, schedule=schedule)
    full = mole.fit(tiny_mlp(), loader, config=cfg)
    for cut in (4, 23):  # inside module 1's epochs, and inside a later module's (sequential) / epoch 3
        ckpt = tmp_path / f"{cut}.pt"
        with pytest.raises(KeyboardInterrupt):
            mole.fit(tiny_mlp(), loader, config=cfg, checkpoint=ckpt, callbacks=[StopAt(cut)])
        resumed = mole.fit(tiny_mlp(), loader, config=cfg, checkpoint=ckpt, resume=True)
        assert losses(resumed.history) == losses(full.history), f"cut after {cut} steps"
        assert _same_weights(full, resumed), f"cut after {cut} steps"


@pytest.mark.process
def test_a_sampler_of_its_own_draws_the_batches_the_same_everywhere(tiny_mlp, blobs):
    """A WeightedRandomSampler (class 2 never drawn) sets the batches; iterated under the run's seeds, two runs, and
    the simultaneous and asynchronous schedules, draw the same ones."""
    x, y = blobs
    weights = (y != 2).double()
    loader = lambda: DataLoader(TensorDataset(x, y), batch_size=30, sampler=WeightedRandomSampler(weights, 120))  # noqa
    data, batch = as_train_data(loader())
    assert batch == 30 and data.n_batches(30) == 4
    epochs = [[b.y for b in data.batches(data.x, 30, g)] for g in [torch.Generator().manual_seed(0)] * 2]
    assert all(len(e) == 4 and not (torch.cat(e) == 2).any() for e in epochs)  # the sampler's draws
    assert not torch.equal(torch.cat(epochs[0]), torch.cat(epochs[1]))  # each epoch draws afresh
    runs = [_fit(tiny_mlp, loader(), schedule=s, **o) for s, o in (("simultaneous", {}), ("simultaneous", {}),
                                                                    ("async", {"workers": 2}))]
    assert _same_weights(runs[0], runs[1])
    for a, b in zip(runs[0].network.parameters(), runs[2].network.parameters()):
        assert torch.allclose(a, b, atol=1e-5)
