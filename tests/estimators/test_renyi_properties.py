"""Property-based checks of the Rényi estimator on random batches (hypothesis)."""
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mole.estimators import RenyiEstimator
from mole.estimators.renyi import matrix_entropy
from mole.estimators.kernels import gaussian_gram

batches = st.tuples(st.integers(2, 40), st.integers(1, 6), st.integers(0, 10_000))
alphas = st.sampled_from([0.5, 1.0, 1.5, 2.0, 3.0])


def sample(n, d, seed):
    g = torch.Generator().manual_seed(seed)
    # float64: these check the mathematics exactly; the float32 path is bounded in test_renyi_fast.py
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, 2, generator=g, dtype=torch.float64)


@settings(max_examples=40, deadline=None)
@given(batches, alphas)
def test_bounds(batch, alpha):
    a, b = sample(*batch)
    est = RenyiEstimator(alpha=alpha, normalize="none")
    sa, sb, sab = float(est.entropy(a)), float(est.entropy(b)), float(est.entropy(a, b))
    n = a.shape[0]
    tol = 1e-7
    assert -tol <= sa <= torch.log2(torch.tensor(float(n))) + tol
    assert sab >= max(sa, sb) - tol  # joint entropy is at least each marginal
    mi = float(est.mutual_information(a, b))
    assert mi <= min(sa, sb) + tol
    if alpha < 2:
        # Non-negativity is not a theorem of the Hadamard-product MI: on independent samples hypothesis
        # found I_2 = -0.012 bits (n=27) and I_3 = -0.017 bits (n=32). For alpha < 2 it held on every
        # batch tried (3000 random batches per alpha in {0.5, 1, 1.5}).
        assert mi >= -tol


@settings(max_examples=40, deadline=None)
@given(batches, alphas)
def test_permutation_invariance_and_symmetry(batch, alpha):
    a, b = sample(*batch)
    perm = torch.randperm(a.shape[0], generator=torch.Generator().manual_seed(batch[2]))
    est = RenyiEstimator(alpha=alpha)
    mi = float(est.mutual_information(a, b))
    assert abs(mi - float(est.mutual_information(a[perm], b[perm]))) < 1e-6  # float32 feature statistics
    assert abs(mi - float(est.mutual_information(b, a))) < 1e-7


@settings(max_examples=40, deadline=None)
@given(batches)
def test_closed_form_equals_eigenvalues(batch):
    a, _ = sample(*batch)
    K = gaussian_gram(a, "median")
    assert abs(float(matrix_entropy(K, 2.0, "power")) - float(matrix_entropy(K, 2.0, "eig"))) < 1e-6
