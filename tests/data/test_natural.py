"""CIFAR-10/100, SVHN and STL-10 readers, on tiny files written in exactly the official formats."""
import numpy as np
import pytest
import torch

from mole import DataError, DatasetNotFoundError
from mole.data import load_dataset


def _cifar_records(n, labels, label_bytes, seed):
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    head = np.stack([np.asarray(labels, dtype=np.uint8)] * label_bytes, axis=1)
    if label_bytes == 2:
        head[:, 0] = np.asarray(labels) // 5  # coarse label, then the fine one
    return np.concatenate([head, pixels], axis=1), pixels.reshape(n, 3, 32, 32)


def test_cifar10_binary(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    first = None
    for i in range(1, 6):
        rec, px = _cifar_records(4, [i, 0, 9, 3], 1, i)
        rec.tofile(folder / f"data_batch_{i}.bin")
        first = px if first is None else first
    _cifar_records(3, [1, 2, 3], 1, 9)[0].tofile(folder / "test_batch.bin")
    ds = load_dataset("cifar10", root=tmp_path)
    assert ds.x_train.shape == (20, 3, 32, 32) and ds.x_test.shape == (3, 3, 32, 32) and ds.n_classes == 10
    assert ds.y_train[:4].tolist() == [1, 0, 9, 3] and ds.y_test.tolist() == [1, 2, 3]
    # the pixels are the R, G, B planes in order: standardized per channel, the order of values is kept
    raw = torch.from_numpy(first[0].astype(np.float32))
    assert torch.equal(torch.argsort(ds.x_train[0, 1].flatten()), torch.argsort(raw[1].flatten(), stable=True)) or \
        torch.corrcoef(torch.stack([ds.x_train[0, 1].flatten(), raw[1].flatten()]))[0, 1] > 0.999
    assert abs(float(ds.x_train.mean(dim=(0, 2, 3))[0])) < 1e-5


def test_cifar100_binary_uses_the_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-binary"
    folder.mkdir()
    _cifar_records(5, [99, 0, 42, 7, 13], 2, 0)[0].tofile(folder / "train.bin")
    _cifar_records(2, [5, 61], 2, 1)[0].tofile(folder / "test.bin")
    ds = load_dataset("cifar100", root=tmp_path)
    assert ds.y_train.tolist() == [99, 0, 42, 7, 13] and ds.y_test.tolist() == [5, 61] and ds.n_classes == 100


def test_svhn_mat_maps_ten_to_zero(tmp_path):
    from scipy.io import savemat
    folder = tmp_path / "SVHN"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for split, labels in (("train", [10, 1, 5]), ("test", [2, 10])):
        x = rng.integers(0, 256, size=(32, 32, 3, len(labels)), dtype=np.uint8)
        savemat(folder / f"{split}_32x32.mat", {"X": x, "y": np.array(labels, dtype=np.uint8).reshape(-1, 1)})
    ds = load_dataset("svhn", root=tmp_path)
    assert ds.x_train.shape == (3, 3, 32, 32) and ds.y_train.tolist() == [0, 1, 5] and ds.y_test.tolist() == [2, 0]


def test_stl10_binary_is_column_major(tmp_path):
    folder = tmp_path / "stl10_binary"
    folder.mkdir()
    image = np.zeros((3, 96, 96), dtype=np.uint8)
    image[0, 5, 70] = 255  # channel 0, row 5, column 70
    for split, n in (("train", 2), ("test", 1)):
        np.stack([np.transpose(image, (0, 2, 1))] * n).tofile(folder / f"{split}_X.bin")  # stored column-major
        np.array([1, 10][:n], dtype=np.uint8).tofile(folder / f"{split}_y.bin")
    ds = load_dataset("stl10", root=tmp_path)
    assert ds.x_train.shape == (2, 3, 96, 96) and ds.y_train.tolist() == [0, 9]
    assert tuple(ds.x_train[0, 0].flatten().argmax().item() // 96 for _ in [0]) == (5,)
    assert ds.x_train[0, 0].flatten().argmax().item() % 96 == 70


@pytest.mark.parametrize("name", ["cifar10", "cifar100", "svhn", "stl10"])
def test_missing_files_name_the_fix(tmp_path, name):
    with pytest.raises(DatasetNotFoundError, match="--download"):
        load_dataset(name, root=tmp_path)


def test_damaged_files_are_data_errors(tmp_path):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for f in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        (folder / f).write_bytes(b"\x00" * 100)
    with pytest.raises(DataError, match="not a CIFAR binary file"):
        load_dataset("cifar10", root=tmp_path)
