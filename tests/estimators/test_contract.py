"""Every registered estimator through the same checks (as scikit-learn's common tests)."""
import json

import pytest
import torch

from mole.errors import ConfigError
from mole.estimators import ESTIMATORS, entropy, estimator_resolver, mutual_information

NAMES = sorted(ESTIMATORS)


def gaussian_pair(rho: float, n: int, g: torch.Generator):
    x = torch.randn(n, 1, generator=g)
    return x, rho * x + (1 - rho ** 2) ** 0.5 * torch.randn(n, 1, generator=g)


def fitted(name: str, rho: float, steps: int = 150, **options):
    """An estimator whose critic (if any) was trained on samples of the pair with correlation rho."""
    est = estimator_resolver(name, **options)
    g = torch.Generator().manual_seed(1)
    est.mutual_information(*gaussian_pair(rho, 8, g))  # materialize lazy critic layers
    params = list(est.parameters())
    if params:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            for m in est.modules():
                if hasattr(m, "reset_parameters") and m is not est:
                    m.reset_parameters()
        opt = torch.optim.Adam(params, lr=1e-2)
        for _ in range(steps):
            loss = -est.mutual_information(*gaussian_pair(rho, 256, g))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return est


OPTIONS = {"renyi": {"normalize": "none"}, "hsic": {"normalize": "none"}}


@pytest.mark.parametrize("name", NAMES)
def test_mi_rises_with_correlation(name):
    g = torch.Generator().manual_seed(7)
    values = []
    for rho in (0.0, 0.3, 0.6, 0.9):
        est = fitted(name, rho, **OPTIONS.get(name, {}))
        with torch.no_grad():
            values.append(float(est.mutual_information(*gaussian_pair(rho, 1024, g))))
    assert values == sorted(values), f"{name}: {values}"
    assert values[-1] > values[0] + 0.1


@pytest.mark.parametrize("name", NAMES)
def test_independent_samples_sit_at_the_permutation_baseline(name):
    est = fitted(name, 0.0, **OPTIONS.get(name, {}))
    g = torch.Generator().manual_seed(3)
    x, y = gaussian_pair(0.0, 512, g)
    with torch.no_grad():
        observed = float(est.mutual_information(x, y))
        null = torch.tensor([float(est.mutual_information(x, y[torch.randperm(512, generator=g)]))
                             for _ in range(30)])
    z = (observed - null.mean()) / null.std().clamp_min(1e-6)
    assert abs(float(z)) < 3.5, f"{name}: observed {observed:.4f}, permutation null {null.mean():.4f} ± {null.std():.4f}"
    if list(est.parameters()):
        return  # a critic fitted on independent data cannot score dependent pairs; see the test above
    # and a dependent pair is far above that null
    with torch.no_grad():
        dep = float(est.mutual_information(*gaussian_pair(0.9, 512, g)))
    assert dep > float(null.max())


@pytest.mark.parametrize("name", NAMES)
def test_contract_scalar_differentiable_finite(name):
    cases = {"features": torch.randn(32, 5), "duplicates": torch.randn(4, 5).repeat(8, 1),
             "constant column": torch.cat([torch.randn(32, 4), torch.ones(32, 1)], 1), "n = 2": torch.randn(2, 5),
             "image-shaped": torch.randn(16, 2, 3, 3)}
    for case, a in cases.items():
        a = a.clone().requires_grad_(True)
        y = torch.arange(a.shape[0]) % 3
        est = estimator_resolver(name)  # a critic is sized for one input shape
        for b in (y, torch.randn(a.shape[0], 3)):
            value = est.mutual_information(a, b)
            assert value.dim() == 0 and torch.isfinite(value), (name, case)
            value.backward()
            assert torch.isfinite(a.grad).all(), (name, case)
            a.grad = None
    json.dumps(est.options())  # recorded in results.json


@pytest.mark.parametrize("name", NAMES)
def test_labels_carry_information_when_features_encode_them(name):
    g = torch.Generator().manual_seed(5)
    y = torch.arange(4).repeat(32)
    informative = torch.eye(4)[y] * 3 + 0.3 * torch.randn(128, 4, generator=g)
    noise = torch.randn(128, 4, generator=g)

    def estimate(features):  # a critic (if any) is first fitted to the data, as a module's objective does
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            est = estimator_resolver(name)
            est.mutual_information(features, y)
            if list(est.parameters()):
                opt = torch.optim.Adam(est.parameters(), lr=1e-2)
                for _ in range(100):
                    loss = -est.mutual_information(features, y)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            with torch.no_grad():
                return float(est.mutual_information(features, y))

    assert estimate(informative) > estimate(noise) + 0.1


def test_functional_helpers():
    x = torch.randn(20, 3, requires_grad=True)
    mi = mutual_information(x, x.detach() + 0.1, estimator="renyi", alpha=2.0)
    mi.backward()
    assert x.grad is not None
    assert float(entropy(x.detach(), alpha=1.0)) > 0
    with pytest.raises(NotImplementedError, match="no entropy"):
        entropy(x, estimator="hsic")
    with pytest.raises(ConfigError, match="joint variables"):
        mutual_information(x, (x, x), estimator="infonce")
    with pytest.raises(ConfigError, match="Did you mean 'temperature'"):
        estimator_resolver("infonce", temprature=0.1)
