"""How the sequential schedule holds frozen outputs: in memory, in a memory-mapped file, or not at all
(recomputed per batch); every way trains the same network."""
import os

import pytest
import torch

import mole
from mole.models import CNN


def _images(n=120):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 3
    x = torch.randn(n, 1, 8, 8, generator=g) + y[:, None, None, None].float()
    return x, y


def _fit(x, y, tmp_path, cache, method="mole", **kw):
    torch.manual_seed(0)
    net = CNN((1, 8, 8), 3, channels=(4, 6))
    cfg = mole.TrainConfig(epochs=2, batch_size=32, lr=1e-2, cache=cache, cache_dir=str(tmp_path / cache), **kw)
    return mole.fit(net, x, y, method=method, config=cfg)


@pytest.mark.parametrize("method", ["mole", "dgl"])
def test_every_cache_mode_trains_the_same_network(tmp_path, method):
    x, y = _images()
    ref = _fit(x, y, tmp_path, "memory", method)
    for cache in ("disk", "recompute"):
        res = _fit(x, y, tmp_path, cache, method)
        assert res.schedule["cache"] == [cache, cache]
        assert res.score(x, y) == ref.score(x, y)
        for a, b in zip(ref.network.state_dict().values(), res.network.state_dict().values()):
            assert torch.allclose(a.float(), b.float(), atol=1e-6)


def test_auto_spills_to_disk_over_its_budget(tmp_path):
    x, y = _images()
    assert _fit(x, y, tmp_path, "auto").schedule["cache"] == ["memory", "memory"]
    assert _fit(x, y, tmp_path, "auto", cache_limit_mb=0.0).schedule["cache"] == ["disk", "disk"]


def test_the_disk_cache_lives_in_its_folder_during_training_and_is_deleted_after(tmp_path):
    x, y = _images()
    seen = []

    class Look(mole.Callback):
        def on_stage_begin(self, stage, **kw):
            seen.append(sorted(os.listdir(tmp_path / "disk")) if (tmp_path / "disk").exists() else [])

    torch.manual_seed(0)
    cfg = mole.TrainConfig(epochs=1, batch_size=32, cache="disk", cache_dir=str(tmp_path / "disk"))
    mole.fit(CNN((1, 8, 8), 3, channels=(4, 6)), x, y, config=cfg, callbacks=[Look()])
    assert seen == [[], ["T1.npy"], ["T2.npy"]]  # T_{k-1} only, the older one deleted
    assert not (tmp_path / "disk").exists()
    cfg.keep_cache = True
    mole.fit(CNN((1, 8, 8), 3, channels=(4, 6)), x, y, config=cfg)
    assert sorted(os.listdir(tmp_path / "disk")) == ["T1.npy", "T2.npy"]


def test_graphs_recompute_and_disk(tmp_path):
    from mole.adapters import NodeData
    from mole.models import build_model
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 3
    x = torch.randn(60, 4, generator=g) + y[:, None].float()
    edges = torch.randint(0, 60, (2, 200), generator=g)
    data = NodeData(x, edges, y, torch.arange(40))
    scores = []
    for cache in ("memory", "disk", "recompute"):
        torch.manual_seed(0)
        net = build_model("gcn", (4,), 3, hidden=(8, 8), task="node", dropout=0.0)
        cfg = mole.TrainConfig(epochs=3, lr=1e-2, cache=cache, cache_dir=str(tmp_path / cache))
        scores.append(mole.fit(net, data, config=cfg).score(data))
    assert scores[0] == scores[1] == scores[2]


def test_run_folder_holds_the_cache_and_cleans_it(tmp_path):
    from mole.cli import main
    # a small MLP on wine: the cache's place and clean-up are the run's, whatever the model and data
    common = ["run", "--dataset", "wine", "--hidden", "8,8", "--epochs", "1", "--methods", "mole", "--cache", "disk",
              "-q", "--no-plots", "--no-probes", "--monitor-every", "0", "--accuracy-every", "0"]
    out = tmp_path / "run"
    assert main([*common, "--out", str(out)]) == 0
    assert not (out / "cache").exists()
    out2 = tmp_path / "kept"
    assert main([*common, "--keep-cache", "--out", str(out2)]) == 0
    assert sorted(p.name for p in (out2 / "cache").iterdir())[:1] == ["T1.npy"]
