"""Estimator fuzz: every accepted input gives a finite value and finite gradients, whatever its dtype, scale
or duplicates; what cannot be measured is refused with DataError (tests/test_fuzz.py).

Half-precision inputs are computed in float32. Their gradient is checked in float32 too: at scale 1e-8 it is
~1e8, which no float16 can hold, so a float16 leaf would receive inf from the cast alone."""
import itertools

import pytest
import torch

import mole

ESTIMATORS = {"renyi": {}, "renyi-2": {"alpha": 2.0}, "renyi-0.5": {"alpha": 0.5}, "hsic": {}, "infonce": {},
              "jsd": {}}
DTYPES = [torch.float16, torch.bfloat16, torch.float32, torch.float64]
SCALES = [1e-8, 1e-3, 1.0, 1e3, 1e6]


def _features(kind: str, scale: float, dtype, g) -> torch.Tensor:
    z = torch.randn(24, 6, generator=g)
    if kind == "duplicates":
        z[12:] = z[:12]
    elif kind == "constant":
        z = torch.ones(24, 6)
    elif kind == "one_column":
        z = z[:, :1]
    return (z * scale).to(dtype)


@pytest.mark.parametrize("name", list(ESTIMATORS))
@pytest.mark.parametrize("kind", ["gaussian", "duplicates", "constant", "one_column"])
def test_finite_values_and_gradients(name, kind):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(24) % 3
    bad = []
    for dtype, scale in itertools.product(DTYPES, SCALES):
        z = _features(kind, scale, dtype, g)
        if not torch.isfinite(z).all():  # 1e6 overflows float16: refused with DataError (tests/test_fuzz.py)
            continue
        leaf = (z.float() if dtype in (torch.float16, torch.bfloat16) else z).requires_grad_(True)
        est = mole.estimator_resolver(name.split("-")[0], **ESTIMATORS[name])
        for partner in (y, _features("gaussian", 1.0, dtype, g)):
            value = est.mutual_information(z, partner)  # the half input itself: computed in float32
            if not torch.isfinite(value):
                bad.append((str(dtype), scale, "value"))
            est.mutual_information(leaf, partner).backward()
            if not torch.isfinite(leaf.grad).all():
                bad.append((str(dtype), scale, "gradient"))
            leaf.grad = None
    assert not bad, f"non-finite value or gradient for {name} on {kind} inputs: {bad}"
