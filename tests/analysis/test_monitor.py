"""The information-plane monitor: what it measures, when, and that it leaves training untouched."""
import torch

import mole
from mole.adapters import TensorData
from mole.analysis import InformationMonitor, monitor_estimator
from mole.estimators import HSICEstimator, RenyiEstimator


def _fit(tiny_mlp, blobs, method, callbacks=(), epochs=4):
    x, y = blobs
    return mole.fit(tiny_mlp(), x, y, method=method, callbacks=list(callbacks),
                    config=mole.TrainConfig(epochs=epochs, batch_size=64))


def test_mole_measures_each_module_from_its_start_to_its_end(tiny_mlp, blobs):
    x, y = blobs
    monitor = InformationMonitor(TensorData(x, y).sample(100), RenyiEstimator(), every=2)
    _fit(tiny_mlp, blobs, "mole", [monitor], epochs=5)
    for k in range(3):
        assert [r["epoch"] for r in monitor.for_module(k)] == [0, 2, 4, 5]  # start, every 2nd, last
    assert all(torch.isfinite(torch.tensor([r["I_TX"], r["I_TY"]])).all() for r in monitor.records)
    assert monitor.seconds > 0


def test_backprop_measures_every_module_at_every_measurement(tiny_mlp, blobs):
    x, y = blobs
    monitor = InformationMonitor(TensorData(x, y).sample(100), RenyiEstimator(), every=1)
    _fit(tiny_mlp, blobs, "bp", [monitor], epochs=3)
    assert len(monitor.records) == 3 * 4  # 3 modules x (init + 3 epochs)
    assert sorted({r["module"] for r in monitor.records}) == [0, 1, 2]


def test_training_on_labels_raises_I_TY_of_the_hidden_modules():
    """MOLE maximizes I(T_k; Y): the monitor must see it grow from each module's initialization."""
    from sklearn.datasets import load_digits
    from mole.models import MLP
    X, y = load_digits(return_X_y=True)
    x, y = torch.tensor(X[:600], dtype=torch.float32) / 16, torch.tensor(y[:600])
    torch.manual_seed(0)
    monitor = InformationMonitor(TensorData(x, y).sample(200), RenyiEstimator(), every=5)
    mole.fit(MLP(64, 10, hidden=(32, 16)), x, y, callbacks=[monitor], config=mole.TrainConfig(epochs=10, batch_size=128))
    for k in (0, 1):
        path = monitor.for_module(k)
        assert path[-1]["I_TY"] > path[0]["I_TY"] + 0.1, k


def test_monitoring_does_not_change_training(tiny_mlp, blobs):
    x, y = blobs
    monitor = InformationMonitor(TensorData(x, y).sample(100), RenyiEstimator(), every=1)
    for method in ("mole", "bp"):
        a = _fit(tiny_mlp, blobs, method, [monitor]).network.state_dict()
        b = _fit(tiny_mlp, blobs, method).network.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a), method


def test_monitor_uses_a_kernel_estimator():
    assert isinstance(monitor_estimator("hsic", {"sigma": 2.0}), HSICEstimator)
    assert monitor_estimator("hsic", {"sigma": 2.0}).options()["sigma"] == 2.0
    assert isinstance(monitor_estimator("infonce"), RenyiEstimator)  # critic estimators need fitting: Rényi instead


def test_cached_input_entropy_gives_the_estimators_own_numbers(tiny_mlp, blobs):
    """I(T;X) = S(T) + S(X) - S(T,X) with S(X) computed once is exactly mutual_information(t, x)."""
    x, y = blobs
    estimator = RenyiEstimator()
    monitor = InformationMonitor(TensorData(x, y).sample(100), estimator, every=2)
    res = _fit(tiny_mlp, blobs, "mole", [monitor], epochs=3)
    rows = monitor.data.representations(res.network.blocks)
    for k in range(3):  # each module's last point is the trained module (later stages leave it frozen)
        last = monitor.for_module(k)[-1]
        t = rows[k + 1].flatten(1).float()
        assert abs(last["I_TX"] - float(estimator.mutual_information(t, rows[0].flatten(1).float()))) < 1e-6
        assert abs(last["I_TY"] - float(estimator.mutual_information(t, monitor.data.y))) < 1e-6
