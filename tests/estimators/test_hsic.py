import pytest
import torch

from mole.estimators import HSICEstimator
from mole.estimators.hsic import center


def test_centering_matches_the_matrix_formula():
    K = torch.rand(6, 6, dtype=torch.float64)
    K = K + K.T
    H = torch.eye(6, dtype=torch.float64) - 1 / 6
    assert torch.allclose(center(K), H @ K @ H)


def test_normalized_hsic_identities():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(50, 3, generator=g), torch.randn(50, 2, generator=g)
    est = HSICEstimator(sigma=1.0, normalize="none")
    assert float(est.mutual_information(a, a)) == pytest.approx(1.0, abs=1e-9)
    ab = float(est.mutual_information(a, b))
    assert 0 <= ab <= 1 and ab == pytest.approx(float(est.mutual_information(b, a)), abs=1e-12)
