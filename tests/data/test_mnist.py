"""The IDX reader on small files the test writes itself, and the missing-file error."""
import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from mole.data import load_dataset, read_idx
from mole.errors import DataError, DatasetNotFoundError


def write_idx(path: Path, array: np.ndarray, gz: bool = False) -> None:
    code = {np.uint8: 0x08}[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data = header + array.tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)


def fake_mnist(root: Path, n_train=30, n_test=10, gz=False) -> dict:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    arrays = {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
              "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
              "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
              "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8)}
    for name, a in arrays.items():
        write_idx(raw / name, a, gz=gz)
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_reader_roundtrip(tmp_path, gz):
    arrays = fake_mnist(tmp_path, gz=gz)
    suffix = ".gz" if gz else ""
    for name, a in arrays.items():
        assert np.array_equal(read_idx(tmp_path / "MNIST" / "raw" / (name + suffix)), a)


def test_load_mnist_images_standardized(tmp_path):
    arrays = fake_mnist(tmp_path)
    ds = load_dataset("mnist", root=tmp_path)
    assert ds.x_train.shape == (30, 1, 28, 28) and ds.x_test.shape == (10, 1, 28, 28) and ds.n_classes == 10
    assert ds.kind == "grid"
    raw = arrays["train-images-idx3-ubyte"][3].astype(np.float32) / 255
    assert np.corrcoef(ds.x_train[3, 0].numpy().ravel(), raw.ravel())[0, 1] > 0.999  # pixels kept in place
    assert abs(float(ds.x_train.mean())) < 1e-4 and abs(float(ds.x_train.std()) - 1) < 1e-3
    assert np.array_equal(ds.y_test.numpy(), arrays["t10k-labels-idx1-ubyte"])


def test_missing_files_are_named(tmp_path):
    fake_mnist(tmp_path)
    os.remove(tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte")
    with pytest.raises(DatasetNotFoundError, match="t10k-images-idx3-ubyte.*--data-root"):
        load_dataset("mnist", root=tmp_path)


def test_data_root_from_environment(tmp_path, monkeypatch):
    fake_mnist(tmp_path)
    monkeypatch.setenv("MOLE_DATA", str(tmp_path))
    assert load_dataset("mnist").x_train.shape[0] == 30


def test_truncated_file_is_a_data_error(tmp_path):
    fake_mnist(tmp_path)
    p = tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte"
    p.write_bytes(p.read_bytes()[:-5])
    with pytest.raises(DataError, match="truncated"):
        read_idx(p)


@pytest.mark.skipif(not (Path(os.environ.get("MOLE_DATA", "/nonexistent")) / "MNIST" / "raw").is_dir(),
                    reason="real MNIST files not under $MOLE_DATA")
def test_real_mnist_from_a_read_only_root():
    ds = load_dataset("mnist")
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert sorted(set(ds.y_train.tolist())) == list(range(10))
