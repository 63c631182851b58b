"""Projections inside the estimators (issue 21's ablation): Rényi on a learned g(T), SupCon without its projection."""
import math

import pytest
import torch
import torch.nn.functional as F

from mole.analysis import monitor_estimator
from mole.errors import ConfigError
from mole.estimators import InfoNCEEstimator, RenyiEstimator


def _data(n=64, d=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(4).repeat(n // 4)
    return torch.randn(n, d, generator=g) + 2 * F.one_hot(y, d).float(), y


def test_renyi_on_a_learned_projection_trains_the_projection_and_stays_below_the_label_entropy():
    t, y = _data()
    est = RenyiEstimator(project=5)
    value = est.mutual_information(t, y)
    (w,) = list(est.parameters())
    assert w.shape == (5, 12) and 0 < float(value) <= math.log2(4) + 1e-6
    value.backward()
    assert w.grad is not None and w.grad.abs().sum() > 0
    assert float(est.mutual_information(y, t)) == pytest.approx(float(value))  # the representation side is projected
    assert est.options()["project"] == 5 and RenyiEstimator().options()["project"] == 0
    # with the identity as g, the projected estimate is the plain one
    with torch.no_grad():
        est6 = RenyiEstimator(project=12)
        est6.mutual_information(t, y)
        est6.projection.weight.copy_(torch.eye(12))
    assert float(est6.mutual_information(t, y)) == pytest.approx(float(RenyiEstimator().mutual_information(t, y)),
                                                                 abs=1e-5)


def test_the_information_plane_never_measures_with_an_untrained_projection():
    assert monitor_estimator("renyi", {"project": 8}).projection is None
    assert monitor_estimator("renyi", {"alpha": 2.0}).alpha == 2.0


def test_supcon_without_projection_scores_the_rows_themselves():
    t, y = _data(n=32)
    est = InfoNCEEstimator(dim=0, temperature=0.5)
    assert list(est.parameters()) == []
    z = F.normalize(t, dim=1)
    s = (z @ z.T / 0.5).masked_fill(torch.eye(32, dtype=torch.bool), float("-inf"))
    pos = (y[:, None] == y[None, :]) & ~torch.eye(32, dtype=torch.bool)
    expected = (s.masked_fill(~pos, float("-inf")).logsumexp(1) - s.logsumexp(1) - math.log(7 / 31)).mean() / math.log(2)
    assert float(est.mutual_information(t, y)) == pytest.approx(float(expected), abs=1e-5)


@pytest.mark.parametrize("bad", [{"project": -1}, {"project": 1.5}])
def test_bad_projection_widths_are_config_errors(bad):
    with pytest.raises(ConfigError, match="project must be an integer >= 0"):
        RenyiEstimator(**bad)
    with pytest.raises(ConfigError, match=r"dim must be an integer in 0\.\.16777216"):
        InfoNCEEstimator(dim=-1)
