"""The fast exact paths of the Rényi estimator, each checked against a second way of computing it."""
import pytest
import torch

from mole.estimators import RenyiEstimator
from mole.estimators.kernels import gaussian_gram, label_gram, normalize_rows
from mole.estimators.renyi import class_blocks, eigvalsh, label_entropy, matrix_entropy


def _batch(n=96, d=12, classes=5, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, classes, (n,), generator=g)
    z = torch.randn(n, d, generator=g, dtype=dtype)
    z[:, :classes] += 1.5 * torch.nn.functional.one_hot(y, classes).to(dtype)
    return z, y


def test_class_blocks_are_the_diagonal_blocks_zero_padded():
    K = torch.arange(36.0).reshape(6, 6)
    y = torch.tensor([2, 0, 2, 2, 0, 5])
    blocks, counts = class_blocks(K, y)
    assert counts.tolist() == [2, 3, 1] and blocks.shape == (3, 3, 3)  # classes 0, 2, 5
    assert torch.equal(blocks[0, :2, :2], K[[1, 4]][:, [1, 4]])
    assert torch.equal(blocks[1], K[[0, 2, 3]][:, [0, 2, 3]])
    assert blocks[2, 0, 0] == K[5, 5] and blocks[2].abs().sum() == K[5, 5]  # the rest is padding
    assert blocks[0, 2].abs().sum() == 0 and blocks[0, :, 2].abs().sum() == 0


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 1.5, 3.0])
def test_joint_from_class_blocks_equals_the_full_hadamard_eigendecomposition(alpha):
    z, y = _batch(dtype=torch.float64)
    est = RenyiEstimator(alpha=alpha, method="eig")
    K = est.gram(z)
    full = matrix_entropy(K, alpha, "eig") + label_entropy(y, alpha) - matrix_entropy(K * label_gram(y), alpha, "eig")
    assert est.mutual_information(z, y).item() == pytest.approx(full.item(), abs=1e-9)
    assert est.mutual_information(y, z).item() == pytest.approx(full.item(), abs=1e-9)


def test_average_conditional_equals_joint_at_alpha_one_and_is_its_definition_elsewhere():
    z, y = _batch(dtype=torch.float64)
    joint = RenyiEstimator(alpha=1.0).mutual_information(z, y)
    average = RenyiEstimator(alpha=1.0, conditional="average").mutual_information(z, y)
    assert average.item() == pytest.approx(joint.item(), abs=1e-9)  # S1(T,Y) = H(Y) + sum_c p_c S1(T|c)
    for alpha in (1.5, 2.0):
        est = RenyiEstimator(alpha=alpha, conditional="average")
        K = est.gram(z)
        by_hand = matrix_entropy(K, alpha) - sum(
            (y == c).double().mean() * matrix_entropy(K[y == c][:, y == c], alpha) for c in y.unique())
        assert est.mutual_information(z, y).item() == pytest.approx(by_hand.item(), abs=1e-9)
        assert est.mutual_information(z, y).item() != pytest.approx(
            RenyiEstimator(alpha=alpha).mutual_information(z, y).item(), abs=1e-4)  # a different functional


def test_average_conditional_gradients_are_finite_and_match_finite_differences():
    z, y = _batch(n=24, d=6, dtype=torch.float64)
    z.requires_grad_(True)
    est = RenyiEstimator(alpha=1.01, sigma=1.0, normalize="none", conditional="average")
    assert torch.autograd.gradcheck(lambda t: est.mutual_information(t, y), (z,), eps=1e-6, atol=1e-5)


def test_float32_gram_moves_mi_by_far_less_than_training_cares_about():
    for seed in range(5):
        z, y = _batch(n=128, d=256, seed=seed)
        for alpha in (1.0, 1.01, 1.5):
            est = RenyiEstimator(alpha=alpha)
            fast, exact = est.mutual_information(z, y), est.mutual_information(z.double(), y)
            assert abs(fast.item() - exact.item()) < 1e-3


def test_eigvalsh_gradient_matches_torch():
    A = torch.randn(3, 7, 7, dtype=torch.float64)
    A = (A + A.mT).requires_grad_(True)
    w = torch.randn(3, 7, dtype=torch.float64)
    (g1,) = torch.autograd.grad((eigvalsh(A) * w).sum(), A)
    (g2,) = torch.autograd.grad((torch.linalg.eigvalsh(A) * w).sum(), A)
    assert torch.allclose(g1, g2, atol=1e-10)


def test_standardization_equals_the_textbook_z_score():
    z = torch.randn(50, 8) * torch.arange(1.0, 9.0) + 3.0
    z[:, 3] = 2.0  # a constant feature: floored, not divided by zero
    ref = (z - z.mean(0)) / z.std(0, unbiased=False).clamp_min(1e-6)
    assert torch.allclose(normalize_rows(z, "standard"), ref, atol=1e-5)


def test_gram_is_float64_below_alpha_one_and_follows_the_features_above():
    z, _ = _batch()
    assert RenyiEstimator(alpha=0.5).gram(z).dtype == torch.float64
    assert RenyiEstimator(alpha=1.01).gram(z).dtype == torch.float32
    assert RenyiEstimator(alpha=1.01).gram(z.double()).dtype == torch.float64
    assert gaussian_gram(z).dtype == torch.float32
