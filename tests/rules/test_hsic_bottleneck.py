"""HSIC bottleneck (Ma, Lewis & Kleijn 2020): the authors' normalized HSIC and the sign and weight of its two terms."""
import pytest
import torch
import torch.nn.functional as F

from mole import ConfigError, ModularNetwork, TrainConfig, build_stages, fit
from mole.adapters import TensorData
from mole.batch import LocalBatch
from mole.rules import rule_resolver
from mole.rules.hsic_bottleneck import HSICBottleneckObjective, normalized_hsic_cca, scaled_gaussian_gram
from mole.api import validate_config


def test_normalized_hsic_is_the_trace_of_the_product_of_the_regularized_resolvents():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(10, 4, generator=g), torch.randn(10, 3, generator=g)
    Ka, Kb = scaled_gaussian_gram(a, 1.0), scaled_gaussian_gram(b, 1.0)
    n = 10
    H = torch.eye(n, dtype=torch.float64) - 1.0 / n
    Ra = Ka @ H @ torch.linalg.inv(Ka @ H + 1e-5 * n * torch.eye(n, dtype=torch.float64))
    Rb = Kb @ H @ torch.linalg.inv(Kb @ H + 1e-5 * n * torch.eye(n, dtype=torch.float64))
    assert normalized_hsic_cca(Ka, Kb).item() == pytest.approx(torch.trace(Ra @ Rb).item(), rel=1e-8)


def test_kernel_width_scales_with_the_dimension():
    z = torch.randn(5, 16, dtype=torch.float64)
    d2 = torch.cdist(z, z) ** 2
    assert torch.allclose(scaled_gaussian_gram(z, 5.0), torch.exp(-d2 / (2 * 25 * 16)), atol=1e-10)


def test_dependence_ranks_a_copy_above_independent_noise():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(64, 3, generator=g)
    Ka = scaled_gaussian_gram(a, 5.0)  # the authors' width
    copy = normalized_hsic_cca(Ka, scaled_gaussian_gram(2 * a, 5.0))
    noise = normalized_hsic_cca(Ka, scaled_gaussian_gram(torch.randn(64, 3, generator=g), 5.0))
    assert copy > 4 * noise


def test_loss_is_input_dependence_minus_beta_times_label_dependence():
    g = torch.Generator().manual_seed(2)
    out, x, y = torch.randn(16, 6, generator=g), torch.randn(16, 5, generator=g), torch.arange(16) % 4
    loss, terms = HSICBottleneckObjective(4, beta=7.0, sigma=5.0)(out, LocalBatch(x, x, y))
    Kt = scaled_gaussian_gram(out, 5.0)
    hx = normalized_hsic_cca(Kt, scaled_gaussian_gram(x, 5.0))
    hy = normalized_hsic_cca(Kt, scaled_gaussian_gram(F.one_hot(y, 4), 5.0))
    assert loss.item() == pytest.approx((hx - 7.0 * hy).item(), rel=1e-9)
    assert terms == pytest.approx({"nHSIC_TX": hx.item(), "nHSIC_TY": hy.item()}, rel=1e-9)


def test_training_a_module_raises_its_label_dependence(tiny_mlp, blobs):
    x, y = blobs
    net = ModularNetwork(tiny_mlp())
    stage = build_stages(net, TrainConfig(lr=1e-2), "hsic-bottleneck", data=TensorData(x, y))[0]
    batch = LocalBatch(x, x, y)
    first = [stage.step(batch)[1] for _ in range(30)]
    assert first[-1]["nHSIC_TY"] > first[0]["nHSIC_TY"]


def test_beta_zero_only_forgets_the_input(tiny_mlp, blobs):
    """With β = 0 the module minimizes nHSIC(T; X) alone: the input dependence goes down."""
    x, y = blobs
    net = ModularNetwork(tiny_mlp())
    cfg = TrainConfig(lr=1e-2, rule_options={"hsic-bottleneck": {"beta": 0.0}})
    stage = build_stages(net, cfg, "hsic-bottleneck", data=TensorData(x, y))[0]
    terms = [stage.step(LocalBatch(x, x, y))[1] for _ in range(30)]
    assert terms[-1]["nHSIC_TX"] < terms[0]["nHSIC_TX"]


def test_options_are_checked_and_reach_the_run(tiny_mlp, blobs):
    with pytest.raises(ConfigError, match="sigma must be a positive"):
        rule_resolver("hsic-bottleneck", sigma=0)
    with pytest.raises(ConfigError, match="option of method 'hsic-bottleneck'"):
        validate_config(TrainConfig(rule_options={"hsic-bottleneck": {"gamma": 1}}))
    res = fit(tiny_mlp(), *blobs, method="hsic-bottleneck",
              config=TrainConfig(epochs=1, rule_options={"hsic-bottleneck": {"beta": 3.0}}))
    assert res.rule == {"name": "hsic-bottleneck", "options": {"beta": 3.0, "sigma": 5.0}}
