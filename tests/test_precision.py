"""Mixed precision: modules under autocast (bf16 on CPU here; fp16 with loss scaling), estimators in float32."""
import pytest
import torch

import mole
from mole.api import validate_config


class DtypeSpy(mole.RenyiEstimator):
    """Records the dtype the estimator computes in."""

    seen: list = []

    def _mutual_information(self, a, b):
        DtypeSpy.seen.append(a[0].dtype)
        out = super()._mutual_information(a, b)
        DtypeSpy.seen.append(out.dtype)
        return out


@pytest.mark.parametrize("precision", ["bf16", "16"])
def test_modules_train_in_reduced_precision_and_the_estimator_in_float32(tiny_mlp, blobs, precision, monkeypatch):
    x, y = blobs
    monkeypatch.setitem(mole.ESTIMATORS, "renyi", DtypeSpy)
    DtypeSpy.seen = []
    res = mole.fit(tiny_mlp(), x, y, config=mole.TrainConfig(epochs=4, batch_size=32, lr=1e-2, precision=precision))
    assert res.score(x, y) > 0.9
    assert DtypeSpy.seen and all(d in (torch.float32, torch.float64) for d in DtypeSpy.seen)
    assert all(p.dtype == torch.float32 for p in res.network.parameters())  # weights stay float32


def test_backprop_and_peer_rules_in_bf16(tiny_mlp, blobs):
    x, y = blobs
    for method in ("bp", "dgl", "predsim"):
        res = mole.fit(tiny_mlp(), x, y, method=method,
                       config=mole.TrainConfig(epochs=4, batch_size=32, lr=1e-2, precision="bf16"))
        assert res.score(x, y) > 0.9, method


def test_device_auto_and_bad_precision(tiny_mlp, blobs):
    res = mole.fit(tiny_mlp(), *blobs, config=mole.TrainConfig(epochs=1, device="auto"))
    assert res.config.device == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(mole.ConfigError, match="precision must be one of"):
        validate_config(mole.TrainConfig(precision="8"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_fp16_run_reports_allocator_peak(tiny_mlp, blobs):
    x, y = blobs
    res = mole.fit(tiny_mlp(), x, y, config=mole.TrainConfig(epochs=2, device="cuda", precision="16"))
    assert res.score(x, y) > 0.8 and res.peak_memory_mb > 0
