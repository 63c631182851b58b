"""The supervised-contrastive bound: its one-exp computation against the definition, and small temperatures."""
import math

import pytest
import torch

import mole.estimators.infonce as infonce
from mole.estimators import InfoNCEEstimator


def _definition(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """I_SupCon written out sample by sample from the module docstring (bits)."""
    n, terms = len(y), []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        pos = [j for j in others if y[j] == y[i]]
        if pos:
            terms.append(torch.logsumexp(scores[i, pos], 0) - torch.logsumexp(scores[i, others], 0)
                         - math.log(len(pos) / (n - 1)))
    return torch.stack(terms).mean() / math.log(2)


def _scores(est, t, y):
    return est.critic(t, y)


@pytest.mark.parametrize("temperature", [0.05, 0.1, 0.5])
def test_one_exp_path_equals_the_definition_and_the_log_domain_path(temperature, monkeypatch):
    g = torch.Generator().manual_seed(0)
    t = torch.randn(40, 6, generator=g)
    y = torch.randint(0, 4, (40,), generator=g)
    y[0] = 9  # a class of one: no positive, left out
    est = InfoNCEEstimator(temperature=temperature, dim=0)  # no projection: the scores are the rows' cosines / τ
    assert 2 / temperature <= infonce.EXP_RANGE  # these temperatures take the one-exp path
    fast_t = t.clone().requires_grad_()
    fast = est.mutual_information(fast_t, y)
    fast.backward()
    assert float(fast) == pytest.approx(float(_definition(_scores(est, t, y), y)), abs=1e-5)
    monkeypatch.setattr(infonce, "EXP_RANGE", 0.0)  # every temperature in the log domain
    exact_t = t.clone().requires_grad_()
    exact = est.mutual_information(exact_t, y)
    exact.backward()
    assert float(fast) == pytest.approx(float(exact), abs=1e-6)
    assert torch.allclose(fast_t.grad, exact_t.grad, atol=1e-6)


def test_a_tiny_temperature_stays_finite_in_the_log_domain():
    """Scores spread over 2/τ = 400 nats: one shifted exp would underflow to 0 and give log 0."""
    g = torch.Generator().manual_seed(1)
    t, y = torch.randn(32, 5, generator=g), torch.arange(4).repeat(8)
    est = InfoNCEEstimator(temperature=0.005, dim=0)
    value = est.mutual_information(t.requires_grad_(), y)
    value.backward()
    assert math.isfinite(float(value)) and torch.isfinite(t.grad).all()
    assert float(value) == pytest.approx(float(_definition(_scores(est, t.detach(), y), y)), abs=1e-4)


def test_the_closed_form_gradient_passes_gradcheck():
    """mole.estimators.supcon's backward against finite differences, in double precision, with a class of one."""
    from mole.estimators.supcon import SupervisedContrastive
    g = torch.Generator().manual_seed(2)
    p = torch.randn(12, 5, generator=g, dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 0, 1, 1, 1, 2, 2, 0, 1, 2, 2, 7])  # 7: no positive, left out
    assert torch.autograd.gradcheck(lambda p: SupervisedContrastive.apply(p, y, 0.3), (p,))


def test_a_batch_without_a_positive_pair_gives_zero_and_a_zero_gradient():
    est = InfoNCEEstimator()
    t = torch.randn(6, 4, requires_grad=True)
    value = est.mutual_information(t, torch.arange(6))  # every sample its own class
    value.backward()
    assert float(value) == 0.0 and torch.count_nonzero(t.grad) == 0


def test_the_projected_bound_equals_the_critic_scores_definition():
    """With a projection (the default critic), the one-pass bound equals the definition on the critic's scores."""
    g = torch.Generator().manual_seed(3)
    t, y = torch.randn(30, 7, generator=g), torch.randint(0, 3, (30,), generator=g)
    est = InfoNCEEstimator(dim=4)
    value = est.mutual_information(t, y)
    assert float(value) == pytest.approx(float(_definition(_scores(est, t, y), y)), abs=1e-5)
