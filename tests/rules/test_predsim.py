"""PredSim (Nøkland & Eidnes 2019): the similarity matrices, the (1 − β)·pred + β·sim mix, the zero-initialized
classifier, and which parameters each term reaches."""
import pytest
import torch
import torch.nn.functional as F

from mole.batch import LocalBatch
from mole.rules import rule_resolver
from mole.rules.predsim import PredSimObjective, similarity_matrix


def test_similarity_of_one_hot_labels_is_one_within_and_minus_one_over_c_minus_one_across():
    y = torch.tensor([0, 1, 2, 0, 3])
    S = similarity_matrix(F.one_hot(y, 4).float())
    same = y[:, None] == y[None, :]
    assert torch.allclose(S[same], torch.ones(int(same.sum())))
    assert torch.allclose(S[~same], torch.full((int((~same).sum()),), -1 / 3))


def test_similarity_is_the_correlation_between_samples():
    z = torch.randn(6, 5, dtype=torch.float64)
    expected = torch.corrcoef(z)  # rows as variables: centred over features, unit length
    assert torch.allclose(similarity_matrix(z), expected, atol=1e-6)


def test_feature_maps_are_summarized_by_the_channel_std_over_space():
    z = torch.randn(4, 5, 3, 3, dtype=torch.float64)
    assert torch.allclose(similarity_matrix(z), torch.corrcoef(z.flatten(2).std(2)), atol=1e-6)
    few_channels = torch.randn(4, 3, 3, 3, dtype=torch.float64)  # C <= 3: flattened, as the authors do
    assert torch.allclose(similarity_matrix(few_channels), torch.corrcoef(few_channels.flatten(1)), atol=1e-6)


def test_constant_rows_get_finite_gradients():
    z = torch.zeros(4, 6, requires_grad=True)
    similarity_matrix(z).sum().backward()
    assert torch.isfinite(z.grad).all()


def _batch(n=12, d=8, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), LocalBatch(torch.zeros(n, 1), torch.zeros(n, 1), torch.arange(n) % c)


def test_loss_is_the_beta_mix_of_prediction_and_similarity_losses():
    out, batch = _batch()
    torch.manual_seed(0)
    obj = PredSimObjective((8,), 3, beta=0.7, pool_limit=4096)
    with torch.no_grad():
        obj.classifier[-1].weight.normal_()  # away from the zero start, so both terms are non-trivial
    loss, terms = obj(out, batch)
    pred = F.cross_entropy(obj.classifier(out), batch.y)
    sim = ((similarity_matrix(obj.project(out)) - similarity_matrix(F.one_hot(batch.y, 3).float())) ** 2).mean()
    assert loss.item() == pytest.approx(0.3 * pred.item() + 0.7 * sim.item(), rel=1e-6)
    assert terms == pytest.approx({"pred": pred.item(), "sim": sim.item()}, rel=1e-6)


def test_classifier_starts_at_zero_weights_and_the_projection_has_no_bias():
    obj = PredSimObjective((8,), 3, beta=0.99, pool_limit=4096)
    assert torch.count_nonzero(obj.classifier[-1].weight) == 0
    assert obj.project.bias is None and obj.project.weight.shape == (8, 8)
    conv = PredSimObjective((4, 6, 6), 3, beta=0.99, pool_limit=4096)
    assert isinstance(conv.project, torch.nn.Conv2d) and conv.project.kernel_size == (3, 3) and conv.project.bias is None


def test_feature_maps_are_pooled_below_the_classifier_input_limit():
    obj = PredSimObjective((8, 28, 28), 10, beta=0.99, pool_limit=400)  # 6272 values -> pooled
    assert obj.classifier[-1].in_features <= 400
    assert obj.classifier(torch.randn(2, 8, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("beta, silent", [(1.0, "classifier"), (0.0, "project")])
def test_each_term_reaches_only_its_own_parameters(beta, silent):
    out, batch = _batch()
    obj = PredSimObjective((8,), 3, beta=beta, pool_limit=4096)
    with torch.no_grad():
        obj.classifier[-1].weight.normal_()  # at zero weights the prediction term sends T no gradient yet
    out.requires_grad_(True)
    obj(out, batch)[0].backward()
    grads = [p.grad for p in getattr(obj, silent).parameters()]
    assert all(g is None or torch.count_nonzero(g) == 0 for g in grads)
    assert out.grad is not None and torch.count_nonzero(out.grad) > 0


def test_options_are_checked():
    from mole import ConfigError
    with pytest.raises(ConfigError, match="beta must be in \\[0, 1\\]"):
        rule_resolver("predsim", beta=2.0)
    assert rule_resolver("predsim", beta=0.5).options() == {"beta": 0.5, "pool_limit": 4096}
