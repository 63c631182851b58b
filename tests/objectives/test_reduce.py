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


def test_sequence_reductions_read_one_row_per_sample():
    """A batch-first sequence (n, L, d): the mean over its tokens, or its last step; gap averages the features."""
    t = torch.randn(6, 8, 5)
    assert torch.allclose(Reduce("tokens")(t), t.mean(1)) and Reduce("tokens")(t).shape == (6, 5)
    assert torch.equal(Reduce("last")(t), t[:, -1])
    assert Reduce("gap")(t).shape == (6, 8)  # the axis after the second: for a sequence, its features


def test_a_transformer_cut_at_its_blocks_trains_with_rows_of_token_means():
    """The mean over tokens gives MOLE's estimator a row per sample of the block's width (32), not L x 32 values."""
    import mole
    from torch import nn

    class Blocks(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Linear(4, 16)
            self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(16, 2, 32, batch_first=True, dropout=0.0)
                                        for _ in range(2))
            self.head = nn.Linear(16, 3)

        def forward(self, x):
            h = self.embed(x)
            for block in self.blocks:
                h = block(h)
            return self.head(h.mean(1))

    g = torch.Generator().manual_seed(0)
    y = torch.arange(90) % 3
    X = torch.randn(90, 6, 4, generator=g) + 2 * y[:, None, None]
    torch.manual_seed(0)
    config = mole.TrainConfig(epochs=10, batch_size=30, lr=1e-2, objective=mole.ObjectiveConfig(reduce="tokens"))
    fitted = mole.fit(Blocks(), X[:60], y[:60], cuts=["blocks.0", "blocks.1"], config=config)
    assert fitted.score(X[60:], y[60:]) > 0.6  # chance: 1/3
