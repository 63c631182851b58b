import pytest
import torch

from mole.errors import ConfigError
from mole.objectives.reduce import Reduce


def test_reductions_shapes():
    t = torch.randn(6, 4, 5, 5)
    assert Reduce("flatten")(t).shape == (6, 100)
    assert torch.allclose(Reduce("gap")(t), t.mean((2, 3)))
    assert Reduce("project", dim=16)(t).shape == (6, 16)
    assert Reduce("project", dim=512)(t).shape == (6, 100)  # never projects up
    assert Reduce("gap")(torch.randn(6, 3)).shape == (6, 3)  # vectors pass through


def test_projection_is_fixed_seeded_and_keeps_distances():
    t = torch.randn(40, 8, 16, 16, generator=torch.Generator().manual_seed(0))
    a, b = Reduce("project", dim=1024, seed=3), Reduce("project", dim=1024, seed=3)
    assert torch.equal(a(t), b(t)) and torch.equal(a(t), a(t))
    d_full, d_proj = torch.cdist(t.flatten(1), t.flatten(1)), torch.cdist(a(t), a(t))
    off = ~torch.eye(40, dtype=torch.bool)
    ratio = d_proj[off] / d_full[off]
    assert (ratio - 1).abs().max() < 0.15  # Johnson-Lindenstrauss


def test_unknown_reduction():
    with pytest.raises(ConfigError, match="gap"):
        Reduce("mean")
