"""InfoPro (Wang et al. 2021): λ1·reconstruction of the raw input X + λ2·auxiliary cross-entropy per module, the
weights moving with depth; which parameters each term reaches; unlabelled rows feed the reconstruction only."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import mole
from mole import ConfigError, ModularNetwork, TrainConfig, build_stages
from mole.adapters import TensorData
from mole.batch import LocalBatch
from mole.models import CNN, MLP, build_model
from mole.rules import RULES, rule_resolver
from mole.rules.infopro import InfoPro, InfoProObjective, input_size


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/rules/conftest.py


def _rows(n, *shape, seed=0):
    return torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed))


def _objective(shape, x_size, lambda_x=0.7, lambda_y=1.3, hidden_layers=0, seed=0):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return InfoProObjective(shape, 3, x_size, lambda_x, lambda_y, hidden_layers=hidden_layers)


# (module output per sample, X per sample, X's size as the decoder takes it)
LAYOUTS = {"vectors": ((6,), (5,), 5), "images through an MLP": ((6,), (1, 2, 3), 6),
           "signals": ((4, 3), (2, 7), 2), "images": ((4, 3, 2), (2, 6, 5), 2)}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_loss_is_lambda1_mse_of_the_decoded_input_plus_lambda2_auxiliary_cross_entropy(layout):
    """By hand, from the objective's own decoder and classifier: feature maps are interpolated (linear /
    bilinear, corners aligned) to X's size before the decoder."""
    out_shape, x_shape, x_size = LAYOUTS[layout]
    out, x, y = _rows(10, *out_shape), _rows(10, *x_shape, seed=1), torch.arange(10) % 3
    obj = _objective(out_shape, x_size)
    loss, terms = obj(out, LocalBatch(out, x, y))
    h = out
    if len(out_shape) > 1:
        mode = "linear" if len(out_shape) == 2 else "bilinear"
        h = F.interpolate(out, size=x_shape[1:], mode=mode, align_corners=True)
    reconstruction = ((obj.decoder(h).reshape(x.shape) - x) ** 2).mean()
    ce = F.cross_entropy(obj.classifier(out), y)
    assert loss.item() == pytest.approx(0.7 * reconstruction.item() + 1.3 * ce.item(), rel=1e-5)
    assert terms == pytest.approx({"reconstruction": reconstruction.item(), "aux_cross_entropy": ce.item()}, rel=1e-5)
    assert obj.reconstruct(out, x).shape == x.shape


def test_decoders_are_a_linear_map_for_vectors_and_the_authors_conv_decoder_for_feature_maps():
    vec = _objective((6,), 5)
    assert isinstance(vec.decoder, nn.Linear) and (vec.decoder.in_features, vec.decoder.out_features) == (6, 5)
    maps = _objective((4, 3, 3), 2)
    assert [type(m) for m in maps.decoder] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU, nn.Conv2d]  # no sigmoid: MSE
    assert (maps.decoder[0].in_channels, maps.decoder[0].out_channels, maps.decoder[0].kernel_size) == (4, 12, (3, 3))
    assert maps.decoder[-1].out_channels == 2
    assert isinstance(_objective((4, 3), 2).decoder[0], nn.Conv1d)


def test_the_decoder_is_sized_from_the_networks_first_layer():
    assert input_size(ModularNetwork(MLP(12, 3, hidden=(8,)))) == 12  # Flatten, Linear(12, 8): X flattened
    assert input_size(ModularNetwork(CNN((2, 8, 8), 3, channels=(4, 4)))) == 2  # Conv2d(2, 4): X's channels
    obj = _objective((6,), 5)
    with pytest.raises(ConfigError, match="maps to 5 values per sample"):
        obj(_rows(4, 6), LocalBatch(_rows(4, 6), _rows(4, 7), torch.arange(4) % 3))


@pytest.mark.parametrize("lambda_y, silent", [(0.0, "classifier"), (1.0, None)])
def test_the_reconstruction_reaches_the_module_output_and_the_decoder(lambda_y, silent):
    out, x, y = _rows(10, 6).requires_grad_(True), _rows(10, 5, seed=1), torch.arange(10) % 3
    obj = _objective((6,), 5, lambda_x=1.0, lambda_y=lambda_y)
    obj(out, LocalBatch(out, x, y))[0].backward()
    assert torch.count_nonzero(out.grad) > 0 and torch.count_nonzero(obj.decoder.weight.grad) > 0
    if silent:  # λ2 = 0: the classifier gets nothing, all of T's gradient comes through the decoder
        assert all(p.grad is None or torch.count_nonzero(p.grad) == 0 for p in obj.classifier.parameters())
        expected = torch.autograd.grad(F.mse_loss(obj.decoder(out), x), out)[0]
        assert torch.allclose(out.grad, expected)


def test_a_step_trains_the_module_decoder_and_classifier_and_never_the_previous_module(tiny_mlp, blobs):
    x, y = blobs
    net = ModularNetwork(tiny_mlp())
    stages = build_stages(net, TrainConfig(lr=1e-2), "infopro", data=TensorData(x, y))
    t_in = net.representations(x)[0].requires_grad_(True)
    before = [[p.detach().clone() for p in b.parameters()] for b in net.blocks]
    decoder = [p.detach().clone() for p in stages[1].objective.decoder.parameters()]
    stages[1].step(LocalBatch(t_in, x, y))
    assert t_in.grad is None
    assert all(p.grad is None for p in net.blocks[0].parameters())
    assert all(torch.equal(p, q) for p, q in zip(net.blocks[0].parameters(), before[0]))
    assert all(not torch.equal(p, q) for p, q in zip(net.blocks[1].parameters(), before[1]))
    assert all(not torch.equal(p, q) for p, q in zip(stages[1].objective.decoder.parameters(), decoder))
    assert torch.count_nonzero(stages[1].objective.classifier[-1].weight.grad) > 0


@pytest.mark.parametrize("layout", ["vectors", "images"])
def test_unlabelled_rows_change_the_reconstruction_term_only(layout):
    """The classifier sees the labelled rows alone (its BatchNorm statistics too): the CE term is the same with
    or without unlabelled rows, while the reconstruction is the MSE over every row."""
    out_shape, x_shape, x_size = LAYOUTS[layout]
    obj = _objective(out_shape, x_size, hidden_layers=1)  # feature maps: a BatchNorm in the classifier
    out, x = _rows(12, *out_shape), _rows(12, *x_shape, seed=1)
    y = torch.tensor([0, 1, 2, 0, 1, 2, -1, -1, -1, -1, -1, -1])
    _, with_unlabelled = obj(out, LocalBatch(out, x, y))
    _, labelled_only = obj(out[:6], LocalBatch(out[:6], x[:6], y[:6]))
    assert float(with_unlabelled["aux_cross_entropy"]) == pytest.approx(float(labelled_only["aux_cross_entropy"]), rel=1e-6)
    assert float(with_unlabelled["reconstruction"]) != pytest.approx(float(labelled_only["reconstruction"]), rel=1e-3)
    with torch.no_grad():
        assert float(with_unlabelled["reconstruction"]) == pytest.approx(F.mse_loss(obj.reconstruct(out, x), x).item(),
                                                                  rel=1e-5)


def test_an_all_unlabelled_batch_still_trains_the_module_and_the_decoder():
    out, x = _rows(8, 4, 3, 3).requires_grad_(True), _rows(8, 2, 6, 6, seed=1)
    obj = _objective((4, 3, 3), 2, lambda_x=0.5, lambda_y=2.0, hidden_layers=1)
    loss, terms = obj(out, LocalBatch(out, x, torch.full((8,), -1)))
    assert torch.isfinite(loss) and float(terms["aux_cross_entropy"]) == 0.0
    assert loss.item() == pytest.approx(0.5 * float(terms["reconstruction"]), rel=1e-6)
    loss.backward()
    assert torch.count_nonzero(out.grad) > 0
    assert all(torch.count_nonzero(p.grad) > 0 for p in obj.decoder.parameters() if p.requires_grad)
    assert all(p.grad is None or torch.count_nonzero(p.grad) == 0 for p in obj.classifier.parameters())


def test_weights_move_linearly_from_the_first_hidden_module_to_the_last(blobs):
    """The authors' schedule: module k of H hidden ones mixes the first and last weights at r = k / (H - 1)."""
    rule = InfoPro(lambda_x_first=4.0, lambda_x_last=1.0, lambda_y_first=0.0, lambda_y_last=3.0)
    net = ModularNetwork(MLP(8, 3, hidden=(6, 6, 6)))  # 3 hidden modules and the head
    stages = build_stages(net, TrainConfig(), rule, data=TensorData(*blobs))
    assert [(s.objective.lambda_x, s.objective.lambda_y) for s in stages[:3]] == [(4.0, 0.0), (2.5, 1.5), (1.0, 3.0)]
    assert type(stages[3].objective).__name__ == "CrossEntropyObjective"
    assert rule.weights(0, 1) == (4.0, 0.0)  # a single hidden module takes the first module's weights
    assert InfoPro().weights(0, 2) == (5.0, 0.2) and InfoPro().weights(1, 2) == (0.5, 1.0)  # comand.sh: SVHN


def test_it_is_registered_and_learns_from_unlabelled_samples():
    assert RULES["infopro"] is InfoPro and InfoPro.uses_unlabelled and not InfoPro.end_to_end


@pytest.fixture(scope="module")
def digits():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    return torch.tensor(X, dtype=torch.float32) / 16, torch.tensor(y)


@pytest.mark.parametrize("schedule", ["sequential", "simultaneous"])
def test_fit_learns_digits_under_every_in_process_schedule(digits, schedule):
    x, y = digits
    torch.manual_seed(0)
    res = mole.fit(MLP(64, 10, hidden=(32, 16)), x[:1200], y[:1200], method="infopro",
                   config=TrainConfig(epochs=6, lr=1e-2, batch_size=64, schedule=schedule))
    assert res.score(x[1200:], y[1200:]) > 0.75  # about 0.85 (DGL: about the same); chance 0.1
    first = res.history.for_module(0)
    assert first[-1]["reconstruction"] < first[0]["reconstruction"]  # the first module learns to keep X
    assert first[-1]["aux_cross_entropy"] < first[0]["aux_cross_entropy"]


def test_fit_with_a_label_budget_trains_on_every_sample(tiny_mlp, blobs):
    x, y = blobs
    few = y.clone()
    few[torch.arange(len(y)) % 10 != 0] = -1  # 18 labels in 180
    res = mole.fit(tiny_mlp(), x, few, method="infopro", config=TrainConfig(epochs=6, batch_size=32, lr=1e-2))
    assert res.score(x, y) > 0.9


@pytest.mark.parametrize("shape", [(1, 16), (1, 8, 8)], ids=["signals", "images"])
def test_fit_on_feature_maps(shape):
    g = torch.Generator().manual_seed(0)
    y = torch.arange(2).repeat(60)
    x = torch.randn(120, *shape, generator=g)
    x[y == 1] += 1.5  # class 1 is brighter
    torch.manual_seed(0)
    res = mole.fit(CNN(shape, 2, channels=(4, 4)), x, y, method="infopro",
                   config=TrainConfig(epochs=6, lr=1e-2, batch_size=32))
    assert res.score(x, y) > 0.9
    assert {r["module"] for r in res.history.records if "reconstruction" in r} == {0, 1}


def test_fit_on_graph_rows(paths_and_stars):
    """Graph classification (paths vs stars): X of a graph is its pooled node features, one row per graph."""
    data = paths_and_stars(40, 8)
    torch.manual_seed(0)
    net = build_model("gin", (8,), 2, hidden=(16,), task="graph", dropout=0.0)
    res = mole.fit(net, data, method="infopro", config=TrainConfig(epochs=10, batch_size=8, lr=0.01))
    assert res.score(data) > 0.8
    assert all(r["reconstruction"] >= 0 for r in res.history.for_module(0))


@pytest.mark.parametrize("bad, words", [
    (dict(lambda_x_first=-1.0), "lambda_x_first must be a finite number >= 0"),
    (dict(lambda_y_last=float("inf")), "lambda_y_last must be a finite number >= 0"),
    (dict(lambda_x_last=True), "lambda_x_last must be a finite number"),
    (dict(lambda_x_first=0, lambda_y_first=0), "both 0: the first hidden module would not learn"),
    (dict(decoder_width=0), "decoder_width must be an integer >= 1"),
    (dict(grid=1.5), "grid must be an integer >= 1"),
    (dict(map_layers=-1), "map_layers must be an integer >= 0"),
    (dict(upsample="cubic"), "upsample must be one of linear, nearest"),
])
def test_bad_options_are_config_errors(bad, words):
    with pytest.raises(ConfigError, match=words):
        rule_resolver("infopro", **bad)


def test_options_are_recorded():
    assert rule_resolver("infopro", lambda_y_last=2.0).options() == {
        "lambda_x_first": 5.0, "lambda_x_last": 0.5, "lambda_y_first": 0.2, "lambda_y_last": 2.0,
        "decoder_width": 12, "upsample": "linear", "grid": 1, "map_layers": 1, "vector_layers": 0}
    with pytest.raises(ConfigError, match="Did you mean 'lambda_x_first'"):
        rule_resolver("infopro", lambda_x_frist=1.0)
