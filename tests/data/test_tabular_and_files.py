import numpy as np
import pytest

from mole.data import load_dataset
from mole.errors import ConfigError, DataError, DatasetNotFoundError


@pytest.mark.parametrize("name, n, shape, c", [("digits", 1797, (1, 8, 8), 10), ("breast_cancer", 569, (30,), 2),
                                                ("wine", 178, (13,), 3)])
def test_embedded_datasets(name, n, shape, c):
    ds = load_dataset(name, seed=1)
    assert ds.x_train.shape[0] + ds.x_test.shape[0] == n and ds.input_shape == shape and ds.n_classes == c
    assert abs(float(ds.x_train.mean())) < 1e-5  # standardized on the training part
    # stratified: every class in both parts, in the same proportions (±1 sample)
    tr, te = np.bincount(ds.y_train.numpy()), np.bincount(ds.y_test.numpy())
    assert np.all(np.abs(te - (tr + te) * 0.2) <= 1)


def test_split_depends_on_seed_only():
    a, b, c = load_dataset("wine", seed=0), load_dataset("wine", seed=0), load_dataset("wine", seed=1)
    assert np.array_equal(a.x_test.numpy(), b.x_test.numpy())
    assert not np.array_equal(a.x_test.numpy(), c.x_test.numpy())


def test_unknown_dataset_suggests():
    with pytest.raises(ConfigError, match="Did you mean 'digits'"):
        load_dataset("digit")


def test_npz_and_csv_files(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), np.array(["a", "b"] * 20)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = load_dataset(str(tmp_path / "d.npz"))
    assert ds.n_classes == 2 and ds.x_train.shape == (32, 3)
    rows = "\n".join(",".join(map(str, list(r) + [lab])) for r, lab in zip(X, y))
    (tmp_path / "d.csv").write_text("f1,f2,f3,label\n" + rows + "\n")
    assert load_dataset(str(tmp_path / "d.csv")).x_test.shape == (8, 3)


def test_bad_files(tmp_path):
    X = np.ones((10, 2))
    X[3, 1] = np.nan
    np.savez(tmp_path / "nan.npz", X=X, y=np.arange(10) % 2)
    with pytest.raises(DataError, match="NaN"):
        load_dataset(str(tmp_path / "nan.npz"))
    np.savez(tmp_path / "short.npz", X=np.ones((10, 2)), y=np.arange(9) % 2)
    with pytest.raises(DataError, match="9 labels for 10 samples"):
        load_dataset(str(tmp_path / "short.npz"))
    with pytest.raises(DatasetNotFoundError):
        load_dataset(str(tmp_path / "absent.npz"))


def test_mnist1d_is_generated_locally_and_leaves_global_rngs_alone():
    import random
    np_state, py_state = np.random.get_state()[1].copy(), random.getstate()
    ds = load_dataset("mnist1d")
    assert ds.x_train.shape == (4000, 1, 40) and ds.x_test.shape == (1000, 1, 40) and ds.n_classes == 10
    assert sorted(set(ds.y_train.tolist())) == list(range(10))
    assert np.array_equal(np.random.get_state()[1], np_state) and random.getstate() == py_state
    assert np.array_equal(load_dataset("mnist1d").x_test.numpy(), ds.x_test.numpy())  # the standard dataset
