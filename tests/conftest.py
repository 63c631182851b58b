import pytest
import torch


@pytest.fixture
def blobs():
    """A tiny 3-class problem: well separated Gaussian blobs in 8 dimensions (n=180)."""
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 8, generator=g) * 4
    y = torch.arange(3).repeat_interleave(60)
    x = centers[y] + torch.randn(180, 8, generator=g)
    return x, y


@pytest.fixture
def tiny_mlp():
    from mole.models import MLP

    def make(d=8, c=3, hidden=(16, 12), seed=0, **kw):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return MLP(d, c, hidden=hidden, **kw)
    return make
