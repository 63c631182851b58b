"""Matrix-based Rényi entropy: closed-form identities, a second computation path, finite gradients."""
import math

import numpy as np
import pytest
import torch

from mole.errors import ConfigError
from mole.estimators import RenyiEstimator, estimator_resolver, matrix_entropy
from mole.estimators.kernels import gaussian_gram, label_gram, squared_distances

ALPHAS = [0.5, 1.0, 1.01, 2.0, 3.0, 4.0]


def numpy_entropy(K: np.ndarray, alpha: float) -> float:
    """Reference: eigenvalues with numpy, the definition written out."""
    A = K / np.trace(K)
    lam = np.clip(np.linalg.eigvalsh(A), 0, None)
    lam = lam[lam > 1e-12]
    if alpha == 1.0:
        return float(-(lam * np.log2(lam)).sum())
    return float(np.log2((lam ** alpha).sum()) / (1 - alpha))


@pytest.mark.parametrize("alpha", ALPHAS)
def test_identical_points_have_zero_entropy(alpha):
    z = torch.ones(10, 4, dtype=torch.float64)
    est = RenyiEstimator(alpha=alpha, sigma=1.0, normalize="none")
    assert est.entropy(z).item() == pytest.approx(0.0, abs=1e-9)
    assert est.entropy(z.float()).item() == pytest.approx(0.0, abs=1e-6)  # float32 eigenvalues above α = 1


@pytest.mark.parametrize("alpha", ALPHAS)
@pytest.mark.parametrize("n", [2, 7, 64])
def test_identity_gram_has_log2_n(alpha, n):
    assert matrix_entropy(torch.eye(n), alpha).item() == pytest.approx(math.log2(n), rel=1e-9)


@pytest.mark.parametrize("alpha", ALPHAS)
def test_matches_numpy_reference(alpha):
    z = torch.randn(40, 5, generator=torch.Generator().manual_seed(1))
    K = gaussian_gram(z, sigma=1.5, normalize="none")
    assert matrix_entropy(K, alpha).item() == pytest.approx(numpy_entropy(K.double().numpy(), alpha), abs=1e-8)


@pytest.mark.parametrize("alpha", [2.0, 3.0, 4.0, 5.0])
def test_power_path_equals_eigenvalue_path(alpha):
    z = torch.randn(100, 6, generator=torch.Generator().manual_seed(2))
    K = gaussian_gram(z, sigma="median")
    power, eig = matrix_entropy(K, alpha, method="power"), matrix_entropy(K, alpha, method="eig")
    assert power.item() == pytest.approx(eig.item(), abs=1e-6)


def test_mi_is_symmetric_and_bounded():
    g = torch.Generator().manual_seed(3)
    a = torch.randn(50, 4, generator=g)
    b = a[:, :2] + 0.3 * torch.randn(50, 2, generator=g)
    for alpha in (1.01, 2.0):
        est = RenyiEstimator(alpha=alpha)
        ab, ba = est.mutual_information(a, b), est.mutual_information(b, a)
        assert ab.item() == pytest.approx(ba.item(), abs=1e-9)
        assert 0 <= ab.item() <= min(est.entropy(a).item(), est.entropy(b).item()) + 1e-9
        joint = est.entropy(a, b).item()
        assert joint >= max(est.entropy(a).item(), est.entropy(b).item()) - 1e-9


def test_mi_with_labels_grows_with_class_separation():
    g = torch.Generator().manual_seed(4)
    y = torch.arange(4).repeat_interleave(25)
    noise = torch.randn(100, 3, generator=g)
    est = RenyiEstimator(alpha=2.0, sigma=1.0, normalize="none")
    mis = [est.mutual_information(noise + s * torch.eye(4, 3)[y] * 3, y).item() for s in (0.0, 0.5, 1.0, 3.0)]
    assert mis == sorted(mis) and mis[-1] > mis[0] + 0.5
    # perfectly separated and collapsed classes reach I = H(Y) = log2(4)
    perfect = est.mutual_information(torch.eye(4, 3)[y] * 100, y).item()
    assert perfect == pytest.approx(2.0, abs=1e-6)


def test_multivariate_term_runs_and_dominates_single_terms():
    g = torch.Generator().manual_seed(5)
    x = torch.randn(60, 5, generator=g)
    y = torch.randint(0, 3, (60,), generator=g)
    t = torch.randn(60, 4, generator=g)
    est = RenyiEstimator()
    assert est.mutual_information(t, (x, y)).item() >= est.mutual_information(t, x).item() - 1e-9


def test_permutation_invariance():
    g = torch.Generator().manual_seed(6)
    a, b = torch.randn(30, 3, generator=g), torch.randn(30, 2, generator=g)
    perm = torch.randperm(30, generator=g)
    est = RenyiEstimator(alpha=1.5)
    assert est.mutual_information(a, b).item() == pytest.approx(est.mutual_information(a[perm], b[perm]).item(), abs=1e-6)  # float32 features


@pytest.mark.parametrize("alpha", ALPHAS)
def test_gradients_are_finite_on_degenerate_batches(alpha):
    est = RenyiEstimator(alpha=alpha)
    cases = {
        "duplicates": torch.randn(4, 3).repeat(5, 1),
        "constant feature": torch.cat([torch.randn(20, 2), torch.ones(20, 1)], 1),
        "n = 2": torch.randn(2, 3),
        "all equal": torch.ones(10, 3),
    }
    for name, z in cases.items():
        z = z.clone().requires_grad_(True)
        y = torch.arange(z.shape[0]) % 2
        value = est.mutual_information(z, y) + est.entropy(z)
        value.backward()
        assert torch.isfinite(value), name
        assert torch.isfinite(z.grad).all(), name


def test_squared_distances_are_exact_zero_on_duplicates():
    z = torch.randn(5, 3).repeat(2, 1)
    d2 = squared_distances(z)
    assert (d2.diagonal() == 0).all() and (d2 >= 0).all()
    assert torch.allclose(d2[:5, 5:].diagonal(), torch.zeros(5), atol=1e-5)


def test_label_kernels():
    y = torch.tensor([0, 0, 1, 2])
    assert torch.equal(label_gram(y, "delta"), (y[:, None] == y[None, :]).float())
    onehot = label_gram(y, "onehot", sigma=1.0)
    assert onehot[0, 1] == 1 and onehot[0, 2] == pytest.approx(math.exp(-1))


@pytest.mark.parametrize("bad", [dict(alpha=0), dict(alpha=-1), dict(sigma=-1.0), dict(sigma="mean"),
                                 dict(normalize="l2"), dict(method="power", alpha=1.5)])
def test_bad_options_raise_config_error(bad):
    with pytest.raises(ConfigError):
        est = RenyiEstimator(**bad)
        est.entropy(torch.randn(5, 2))


def test_resolver_suggests_names():
    with pytest.raises(ConfigError, match="Did you mean 'renyi'"):
        estimator_resolver("reny")
    with pytest.raises(ConfigError, match="Did you mean 'alpha'"):
        estimator_resolver("renyi", alpah=2)


def test_squared_distances_match_cdist_with_exact_gradients():
    z = torch.randn(12, 4, dtype=torch.float64, requires_grad=True)
    assert torch.allclose(squared_distances(z), torch.cdist(z, z) ** 2)
    assert torch.autograd.gradcheck(squared_distances, (z,))


def test_median_rule_on_large_batches_matches_the_full_median():
    from mole.estimators.kernels import kernel_width
    z = torch.randn(1500, 16, generator=torch.Generator().manual_seed(0))
    d2 = squared_distances(z)
    full = d2[~torch.eye(1500, dtype=torch.bool)].median().sqrt().item()
    assert kernel_width(z, d2, "median") == pytest.approx(full, rel=0.01)


def test_gaussian_gram_backward_matches_autograd():
    z = torch.randn(15, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda z: gaussian_gram(z, sigma=0.7, normalize="unit"), (z,))
    reference = torch.exp(-torch.cdist(z, z) ** 2 / (2 * 0.7 ** 2))
    assert torch.allclose(gaussian_gram(z, sigma=0.7, normalize="none"), reference)


@pytest.mark.parametrize("alpha", [1.0, 2.0, 3.0])
def test_symmetric_gradient_shortcut_is_exact_for_entropies(alpha):
    z = torch.randn(20, 3, dtype=torch.float64, requires_grad=True)
    grads = []
    for sym in (False, True):
        z.grad = None
        matrix_entropy(gaussian_gram(z, 1.0, "none", symmetric_grad=sym) * label_gram(torch.arange(20) % 3).double(),
                       alpha).backward()
        grads.append(z.grad.clone())
    assert torch.allclose(grads[0], grads[1], atol=1e-12)


def test_alpha_near_one_converges_to_von_neumann():
    K = gaussian_gram(torch.randn(30, 3, generator=torch.Generator().manual_seed(8)), 1.0, "none")
    vn = matrix_entropy(K, 1.0).item()
    assert matrix_entropy(K, 1.0 + 1e-9).item() == pytest.approx(vn, abs=1e-9)  # limit taken, no 0/0
    assert matrix_entropy(K, 1.001).item() == pytest.approx(vn, abs=1e-2)
    assert matrix_entropy(K, 0.999).item() == pytest.approx(vn, abs=1e-2)


def test_top_level_helpers():
    import mole
    x = torch.randn(16, 3)
    assert mole.entropy(x).item() > 0 and mole.mutual_information(x, x).item() > 0


@pytest.mark.parametrize("alpha", [0.5, 1.0, 1.01, 2.0, 3.0])
def test_label_entropy_closed_form_equals_the_eigenvalue_path(alpha):
    from mole.estimators.renyi import label_entropy
    y = torch.tensor([0, 0, 0, 1, 2, 2, 5, 5, 5, 5])
    assert label_entropy(y, alpha).item() == pytest.approx(matrix_entropy(label_gram(y), alpha, "eig").item(), abs=1e-9)
