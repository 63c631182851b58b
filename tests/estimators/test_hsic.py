import pytest
import torch

from mole.estimators import HSICEstimator
from mole.estimators.hsic import centered_inner


def test_centered_inner_product_matches_the_matrix_formula():
    g = torch.Generator().manual_seed(0)
    Ka, Kb = torch.rand(6, 6, dtype=torch.float64, generator=g), torch.rand(6, 6, dtype=torch.float64, generator=g)
    Ka, Kb = Ka + Ka.T, Kb + Kb.T
    H = torch.eye(6, dtype=torch.float64) - 1 / 6
    assert torch.allclose(centered_inner(Ka, Kb), torch.trace(H @ Ka @ H @ Kb))
    assert torch.allclose(centered_inner(Ka, Ka), (H @ Ka @ H).square().sum())


def test_normalized_hsic_identities():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(50, 3, generator=g), torch.randn(50, 2, generator=g)
    est = HSICEstimator(sigma=1.0, normalize="none")
    assert float(est.mutual_information(a, a)) == pytest.approx(1.0, abs=1e-9)
    ab = float(est.mutual_information(a, b))
    assert 0 <= ab <= 1 and ab == pytest.approx(float(est.mutual_information(b, a)), abs=1e-12)
