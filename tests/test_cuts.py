"""Any nn.Module as the network: cut after named submodules with torch.fx, skip connections across a cut refused."""
import pytest
import torch
from torch import nn

import mole
from mole import ConfigError, TrainConfig
from mole.cuts import split
from mole.rules import RULES


class Res(nn.Module):
    """A model with a skip connection, as people write them (issue 32's snippet)."""

    def __init__(self, d=8, c=3):
        super().__init__()
        self.a, self.b, self.head = nn.Linear(d, 32), nn.Linear(32, 32), nn.Linear(32, c)

    def forward(self, x):
        h = torch.relu(self.a(x))
        return self.head(torch.relu(self.b(h)) + h)


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv, self.bn = nn.Conv1d(c, c, 3, padding=1), nn.BatchNorm1d(c)

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x)) + x)  # the skip stays inside the block


class SignalNet(nn.Module):
    def __init__(self, c=3):
        super().__init__()
        self.stem, self.layer1, self.layer2 = nn.Conv1d(1, 8, 3, padding=1), Block(8), Block(8)
        self.fc = nn.Linear(8, c)

    def forward(self, x):
        x = self.layer2(self.layer1(torch.relu(self.stem(x))))
        return self.fc(x.mean(-1))


def _res(seed=0, **kw):
    torch.manual_seed(seed)
    return Res(**kw)


def test_a_cut_model_computes_what_the_model_computes(blobs):
    x, _ = blobs
    model = _res()
    net = mole.ModularNetwork(model, cuts=["a"])
    assert len(net) == 2 and torch.allclose(net(x), model(x))
    signal = SignalNet().eval()
    cut = mole.ModularNetwork(signal, cuts=["layer1", "layer2"])
    s = torch.randn(5, 1, 16)
    assert len(cut) == 3 and torch.allclose(cut(s), signal(s), atol=1e-6)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_a_model_class_trains_under_every_rule(blobs, rule):
    x, y = blobs
    res = mole.fit(_res(), x, y, method=rule, cuts=["a"], config=TrainConfig(epochs=3, batch_size=60, lr=1e-2))
    assert len(res.history) and res.score(x, y) > 0.5  # 3 well separated classes: chance is 1/3


@pytest.mark.parametrize("schedule, options", [("simultaneous", {}),
                                               pytest.param("async", {"workers": 2}, marks=pytest.mark.process)])
def test_a_model_class_trains_under_every_schedule(blobs, schedule, options):
    x, y = blobs
    cfg = TrainConfig(epochs=3, batch_size=60, lr=1e-2, schedule=schedule, **options)
    res = mole.fit(_res(), x, y, cuts=["a"], config=cfg)
    simultaneous = mole.fit(_res(), x, y, cuts=["a"], config=TrainConfig(epochs=3, batch_size=60, lr=1e-2,
                                                                         schedule="simultaneous"))
    assert res.score(x, y) > 0.5
    if schedule == "async":  # the pieces travel to the worker processes and make the simultaneous updates
        for a, b in zip(res.network.parameters(), simultaneous.network.parameters()):
            assert torch.allclose(a, b, atol=1e-5)


class GCN(nn.Module):
    """A PyG model class, as people write them."""

    def __init__(self, d=34, c=4):
        super().__init__()
        from torch_geometric.nn import GCNConv
        self.conv1, self.conv2 = GCNConv(d, 16), GCNConv(16, c)

    def forward(self, x, edge_index):
        return self.conv2(torch.relu(self.conv1(x, edge_index)), edge_index)


@pytest.fixture(scope="module")
def karate():
    from mole.data import load_dataset
    return load_dataset("karate")  # 4 communities (chance 1/4), one labelled node each


def test_a_pyg_model_class_is_cut_and_trains_on_a_graph(karate):
    model, g = GCN(), karate.train
    net = mole.ModularNetwork(model, cuts=["conv1"])
    assert len(net) == 2 and torch.allclose(net(g.x, g.edge_index), model(g.x, g.edge_index))
    torch.manual_seed(0)
    res = mole.fit(GCN(), karate.train, method="bp", cuts=["conv1"], config=TrainConfig(epochs=30, lr=0.01))
    assert res.score(karate.test) > 0.6


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("schedule", ["sequential", "simultaneous"])
def test_a_pyg_model_class_trains_under_every_rule(karate, rule, schedule):
    # Forward-Forward appends the label to every node's features: the model is built for 34 + 4 of them
    d = RULES[rule]().input_shape((34,), 4, "node")[0]
    torch.manual_seed(0)
    model = GCN(d=d)
    before = [p.detach().clone() for p in model.parameters()]
    res = mole.fit(model, karate.train, method=rule, cuts=["conv1"],
                   config=TrainConfig(epochs=3, lr=0.01, schedule=schedule))
    assert any(not torch.equal(a, b) for a, b in zip(before, res.network.parameters()))
    assert res.predict(karate.test).shape == (len(karate.test),)


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.head = nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x):
        if x.sum() > 0:  # a branch on a tensor's value: torch.fx cannot capture it
            x = self.a(x)
        return self.head(x)


class Wide(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b, self.head = nn.Linear(8, 8), nn.Linear(8, 8), nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.b(self.a(x)) + x)  # the input skips past both cuts


@pytest.mark.parametrize("model, cuts, words", [
    (Res(), ["b"], "a skip connection crosses the cut after 'b': 'add' \\(after it\\) reads 'relu' \\(before it\\)"),
    (Res(), ["a", "b"], "crosses the cut after 'b'"),
    (Res(), ["bb"], "no submodule 'bb' to cut after; its top-level submodules are a, b, head. Did you mean 'b'"),
    (Res(), ["head"], "nothing of Res's output is computed after the last cut"),
    (Res(), ["a", "a"], "twice"),
    (Res(), [], "cuts is empty"),
    (Wide(), ["a"], "the input 'x' reaches 'add' after the cut after 'a'"),
    (Branchy(), ["a"], "Branchy.forward cannot be captured by torch.fx"),
])
def test_bad_cuts_are_one_line_errors(model, cuts, words):
    with pytest.raises(ConfigError, match=words) as info:
        split(model, cuts)
    assert "\n" not in str(info.value)


def test_a_model_class_without_cuts_says_where_it_can_be_cut(blobs):
    x, y = blobs
    with pytest.raises(ConfigError, match=r"Res is an nn.Module, not an nn.Sequential: .* cuts=\['a'\] .*"
                                          "it can be cut after a$"):
        mole.fit(Res(), x, y)
    with pytest.raises(ConfigError, match="groups .* or cuts .*, not both"):
        mole.ModularNetwork(Res(), groups=[[0], [1]], cuts=["a"])


def test_the_issue_snippet_trains_and_scores():
    """Issue 32's snippet as a new user types it: a TensorDataset, a DataLoader at PyTorch's default batch size
    (one sample; mole trains with its own batch size then), and a model class cut after ``a``."""
    from torch.utils.data import DataLoader, TensorDataset
    torch.manual_seed(0)
    X = torch.randn(200, 10)
    y = (X[:, 0] > 0).long()
    net = lambda: nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 2))  # noqa
    cfg = TrainConfig(epochs=10, lr=1e-2, batch_size=64)
    for data in (TensorDataset(X, y), DataLoader(TensorDataset(X, y))):
        res = mole.fit(net(), data, config=cfg)
        assert res.config.batch_size == 64 and res.score(data) > 0.8
    res = mole.fit(Res(d=10, c=2), X, y, cuts=["a"], config=cfg)
    assert res.score(X, y) > 0.8
    with pytest.raises(ConfigError, match="crosses the cut after 'b'"):
        mole.fit(Res(d=10, c=2), X, y, cuts=["b"])


class Recurrent(nn.Module):
    """A GRU whose forward unpacks its tuple, ``out, _ = self.gru(x)``, as people write it."""

    def __init__(self, both: bool = False):
        super().__init__()
        self.both = both
        self.gru = nn.GRU(4, 8, batch_first=True)
        self.fc = nn.Sequential(nn.Flatten(), nn.Linear(5 * 8, 16), nn.ReLU())
        self.head = nn.Linear(16 + (8 if both else 0), 3)

    def forward(self, x):
        out, h = self.gru(x)
        z = self.fc(out)
        return self.head(torch.cat([z, h[-1]], 1) if self.both else z)


class Aliased(nn.Module):
    """Blocks kept in a ModuleList and under names of their own, called through the names."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(4, 8)
        self.blocks = nn.ModuleList(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, dropout=0.0)
                                    for _ in range(2))
        self.b0, self.b1 = self.blocks
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.b1(self.b0(self.embed(x))).mean(1))


@pytest.mark.parametrize("model, cuts", [(Recurrent(), ["gru", "fc"]), (Aliased(), ["b0", "b1"]),
                                         (Aliased(), ["blocks.0", "blocks.1"])])
def test_a_tuple_returning_submodule_and_aliased_blocks_are_cut(model, cuts):
    """The GRU's module passes on the `out` its tuple flows on as; a block is found by every name it has."""
    x = torch.randn(6, 5, 4)
    modules = split(model, cuts)
    t = x
    for module in modules:
        t = module(t)
        assert isinstance(t, torch.Tensor)
    assert len(modules) == len(cuts) + 1 and torch.allclose(t, model(x), atol=1e-6)
    g = torch.Generator().manual_seed(0)
    y = torch.arange(90) % 3
    X = torch.randn(90, 5, 4, generator=g) + 2 * y[:, None, None]
    fitted = mole.fit(model, X[:60], y[:60], cuts=cuts, config=TrainConfig(epochs=10, batch_size=30, lr=1e-2))
    assert fitted.score(X[60:], y[60:]) > 0.6  # chance: 1/3


def test_a_cut_after_a_tuple_of_which_two_items_flow_on_names_the_problem():
    with pytest.raises(ConfigError) as info:
        split(Recurrent(both=True), ["gru", "fc"])
    message = str(info.value)
    assert "\n" not in message and "'gru' returns a tuple" in message and "2 of its items" in message
