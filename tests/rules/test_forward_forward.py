"""Forward-Forward: goodness, positive and negative inputs, normalization between modules, prediction by goodness."""
import pytest
import torch
import torch.nn.functional as F

import mole
from mole import ConfigError, TrainConfig
from mole.adapters import TensorData
from mole.rules import rule_resolver
from mole.rules.forward_forward import (ForwardForwardData, ForwardForwardObjective, GoodnessScores, goodness,
                                        write_label)
from mole.batch import LocalBatch


pytestmark = pytest.mark.usefixtures("one_thread")  # tests/rules/conftest.py


def _blobs(n=240, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % 3
    centers = torch.randn(3, d, generator=g) * 3
    return centers[y] + torch.randn(n, d, generator=g), y


def _net(d=16, seed=0, **kw):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return mole.models.MLP(d, 3, hidden=(64, 64), batch_norm=False, **kw)


def test_loss_is_softplus_of_the_sum_of_squares_against_the_threshold_times_the_units():
    out = torch.randn(8, 5, requires_grad=True)
    loss, terms = ForwardForwardObjective(1.5)(out, LocalBatch(out, out, torch.zeros(8, dtype=torch.long)))
    g = out.square().mean(1)
    s = out.square().sum(1)  # Hinton's goodness, against θ·d
    expected = F.softplus(1.5 * 5 - s[:4]).mean() + F.softplus(s[4:] - 1.5 * 5).mean()
    assert torch.allclose(loss, expected)
    assert terms["goodness_pos"] == pytest.approx(float(g[:4].mean())) and terms["goodness_neg"] == pytest.approx(
        float(g[4:].mean()))
    loss.backward()  # positive rows are pushed up, negative rows down
    assert (out.grad[:4] * out[:4]).sum() < 0 and (out.grad[4:] * out[4:]).sum() > 0


def test_the_label_is_written_into_the_first_features_as_bright_as_the_brightest():
    x = torch.randn(4, 1, 3, 3)
    x[3] = 0  # a sample of zeros gets the label at scale × 1
    out = write_label(x, torch.tensor([0, 2, 1, 2]), 3, scale=2.0)
    assert out.shape == x.shape and torch.equal(out.flatten(1)[:, 3:], x.flatten(1)[:, 3:])
    peak = x.flatten(1).abs().amax(1).tolist()
    expected = [[2 * peak[0], 0, 0], [0, 0, 2 * peak[1]], [0, 2 * peak[2], 0], [0, 0, 2]]
    assert torch.allclose(out.flatten(1)[:, :3], torch.tensor(expected))
    assert not torch.equal(x.flatten(1)[:, :3], out.flatten(1)[:, :3])  # the input itself is left alone


def test_batches_pair_every_sample_with_its_label_and_a_wrong_one():
    x, y = _blobs(60)
    data = ForwardForwardData(TensorData(x, y), 3, 1.0)
    assert data.augments and len(data) == 60
    wrong_seen = set()
    for b in data.batches(data.x, 16, torch.Generator().manual_seed(0)):
        n = b.t_in.shape[0] // 2
        pos, neg = b.t_in[:n], b.t_in[n:]
        assert torch.equal(pos[:, 3:], neg[:, 3:])  # the same samples
        true, wrong = pos[:, :3].argmax(1), neg[:, :3].argmax(1)
        assert torch.equal(true, b.y[:n]) and (wrong != true).all()
        wrong_seen |= {(int(t), int(w)) for t, w in zip(true, wrong)}
    assert len(wrong_seen) == 6  # every wrong label of every class occurs


@pytest.mark.parametrize("rms", [3 ** 0.5, 0.5])
def test_every_module_sees_its_input_length_normalized_to_the_input_rms(rms):
    net = mole.ModularNetwork(_net())
    options = {} if rms == 3 ** 0.5 else {"input_rms": rms}  # the default is √3
    rule_resolver("forward-forward", **options).prepare_network(net, 3)
    rule_resolver("forward-forward", **options).prepare_network(net, 3)  # idempotent: one hook each
    x = torch.randn(5, 16) * 7
    t = x
    for block in net.blocks:
        seen = []
        block.register_forward_pre_hook(lambda m, args: seen.append(args[0]))
        out = block(t)
        assert len(block._forward_pre_hooks) == 2
        assert torch.allclose(seen[0].square().mean(1).sqrt(), torch.full((5,), rms), atol=1e-5)
        direction = t / t.norm(dim=1, keepdim=True)
        assert torch.allclose(seen[0] / seen[0].norm(dim=1, keepdim=True), direction, atol=1e-6)
        t = out


@pytest.mark.parametrize("hidden,scored", [((64, 64, 64), [1, 2]), ((64, 64), [1]), ((64,), [0])])
def test_prediction_sums_the_goodness_of_the_hidden_modules_but_the_first_per_candidate_label(hidden, scored):
    """Hinton's: every hidden layer but the first; the C-unit last module is left out; one hidden module scores."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.ModularNetwork(mole.models.MLP(16, 3, hidden=hidden))
    rule_resolver("forward-forward").prepare_network(net, 3)
    x = torch.randn(6, 16)
    scores = net.eval()(x)
    for c in range(3):
        t, expected = write_label(x, torch.full((6,), c), 3), torch.zeros(6)
        for k, block in enumerate(net.blocks):
            t = block(t)
            expected += goodness(t) if k in scored else 0
        assert torch.allclose(scores[:, c], expected, atol=1e-5)
    assert isinstance(net.readout, GoodnessScores) and not any(net.readout.parameters())


@pytest.mark.parametrize("schedule", ["sequential", "simultaneous"])
def test_forward_forward_learns_to_classify(schedule):
    x, y = _blobs()
    res = mole.fit(_net(), x[:180], y[:180], method="forward-forward",
                   config=TrainConfig(epochs=20, batch_size=16, lr=3e-3, schedule=schedule, seed=0))
    assert res.score(x[180:], y[180:]) > 0.8
    last = res.history.for_module(1)[-1]
    assert last["goodness_pos"] > 1.0 > last["goodness_neg"]  # positives above θ, negatives below


@pytest.mark.process
def test_forward_forward_under_two_asynchronous_workers():
    x, y = _blobs()
    res = mole.fit(_net(), x[:180], y[:180], method="forward-forward",
                   config=TrainConfig(epochs=20, batch_size=16, lr=3e-3, schedule="async", workers=2, seed=0))
    assert res.score(x[180:], y[180:]) > 0.8


def test_a_saved_forward_forward_model_predicts_as_it_trained(tmp_path):
    from mole.saving import network_from, read_model, save_model
    x, y = _blobs()
    net = _net()
    res = mole.fit(net, x, y, method="forward-forward", config=TrainConfig(epochs=3, batch_size=32, seed=0,
                                                                           rule_options={"forward-forward": {"label_scale": 2.0}}))
    build = {"name": "mlp", "input_shape": [16], "n_classes": 3, "hidden": [64, 64], "batch_norm": False}
    path = save_model(tmp_path / "m.pt", res.network, build, "forward-forward", None, {"label_scale": 2.0})
    loaded = network_from(read_model(path))
    assert torch.allclose(loaded(x), res.network.eval()(x), atol=1e-5)
    assert loaded.readout.scale == 2.0


def test_sampled_neighbourhoods_and_bad_options_are_refused():
    from mole.adapters import NodeData, SampledNodeData
    with pytest.raises(ConfigError, match="threshold"):
        rule_resolver("forward-forward", threshold=0)
    data = NodeData(torch.randn(10, 6), torch.tensor([[0, 1], [1, 2]]), torch.arange(10) % 2, torch.arange(6))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.models.GNN(8, 2, hidden=(4,))
    with pytest.raises(ConfigError, match="neighbor-sampling"):
        mole.fit(net, SampledNodeData.of(data, fanout=2), method="forward-forward", config=TrainConfig(epochs=1))


def test_too_few_features_for_the_label_are_refused_only_where_it_is_written_into_them():
    y = torch.arange(40) % 4
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        mlp, cnn = mole.models.MLP(3, 4, hidden=(8,)), mole.models.CNN((1 + 4, 3), 4, channels=(4,))
    with pytest.raises(ConfigError, match="first 4 input features, and the samples have only 3"):
        mole.fit(mlp, torch.randn(40, 3), y, method="forward-forward", config=TrainConfig(epochs=1))
    res = mole.fit(cnn, torch.randn(40, 1, 3), y, method="forward-forward",  # a CNN takes it as 4 extra channels
                   config=TrainConfig(epochs=1, batch_size=8))
    assert res.predict(torch.randn(5, 1, 3)).shape == (5,)


def test_node_batches_read_each_target_in_its_labels_copy_and_in_a_wrong_labels_copy(communities):
    """C copies of the graph, every node of copy c labelled c (as the prediction labels the graph for candidate c),
    the label at label_scale x each node's length; the positive row of a target is its output in its own label's
    copy, the negative one in a wrong label's copy."""
    from mole.rules.forward_forward import ForwardForwardNodes
    train, _ = communities
    b = next(iter(ForwardForwardNodes(train, 3, 0.5).batches(train.x, 16, torch.Generator().manual_seed(0))))
    rows, n = b.t_in, 150
    assert rows.shape == (3 * n, 6)
    length = train.x.norm(dim=1)
    for c in range(3):
        copy = rows[c * n:(c + 1) * n]
        assert torch.equal(copy[:, :3], train.x)
        assert torch.allclose(copy[:, 3:], F.one_hot(torch.full((n,), c), 3) * 0.5 * length[:, None])
    edges = b.context[0]
    e = train.edge_index.shape[1]
    assert edges.shape[1] == 3 * e and all(torch.equal(edges[:, c * e:(c + 1) * e], train.edge_index + c * n)
                                           for c in range(3))
    targets = b.readout(torch.arange(3 * n)[:, None]).squeeze(1)  # which rows the objective reads
    node, copy = targets % n, targets // n
    assert len(targets) == 32 and torch.equal(node[16:], node[:16])
    assert torch.equal(copy[:16], b.y[:16]) and (copy[16:] != b.y[:16]).all()
    assert torch.equal(train.y_all[node[:16]], b.y[:16])
    assert rule_resolver("forward-forward").input_shape((3,), 3, "node") == (6,)


def test_node_prediction_labels_every_node_as_training_did(communities):
    """The score of candidate c is the goodness of a node's output with c appended to every node at label_scale x
    its length: the rows of training's copy c."""
    train, _ = communities
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.models.GNN(6, 3, hidden=(8, 8), dropout=0.0)
    res = mole.fit(net, train, method="forward-forward", config=TrainConfig(
        epochs=1, lr=0.01, seed=0, rule_options={"forward-forward": {"label_scale": 0.5}}))
    from mole.rules.forward_forward import ForwardForwardNodes
    copies = next(iter(ForwardForwardNodes(train, 3, 0.5).batches(train.x, 16, torch.Generator()))).t_in
    net, n = res.network.eval(), 150
    edges = torch.cat([train.edge_index + c * n for c in range(3)], 1)
    with torch.no_grad():
        hidden = net.blocks[1](net.blocks[0](copies, edges), edges)  # two hidden modules: the second is scored
        expected = goodness(hidden).view(3, n).T
        assert torch.allclose(net(train.x, train.edge_index), expected, atol=1e-5)


def test_node_forward_forward_learns_the_communities(communities):
    train, test = communities
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.models.GNN(6, 3, hidden=(32,), dropout=0.0)
    res = mole.fit(net, train, method="forward-forward", config=TrainConfig(
        epochs=100, lr=0.01, seed=0, rule_options={"forward-forward": {"label_scale": 3.0}}))
    assert res.score(test) > 0.6  # chance 1/3


def test_graph_batches_append_each_graphs_label_or_a_wrong_one_to_its_nodes(paths_and_stars):
    from mole.rules.forward_forward import ForwardForwardGraphs
    data = paths_and_stars(60, 6)
    ff = ForwardForwardGraphs(data, 2, 1.0)
    b = next(iter(ff.batches(data.x, 8, torch.Generator().manual_seed(0))))
    n = b.t_in.shape[0] // 2
    assert b.t_in.shape[1] == 6 + 2 and torch.equal(b.t_in[:n, :6], b.t_in[n:, :6])
    assert (b.t_in[:n, 6:].argmax(1) != b.t_in[n:, 6:].argmax(1)).all()  # two classes: the wrong one is the other
    edges = b.context[0]
    assert edges.shape[1] % 2 == 0 and torch.equal(edges[:, edges.shape[1] // 2:], edges[:, :edges.shape[1] // 2] + n)
    pooled = b.readout(b.t_in)
    assert pooled.shape == (16, 8) and torch.equal(pooled[:8, 6:].argmax(1), b.y[:8])  # each graph's own label
    assert rule_resolver("forward-forward").input_shape((6,), 2, "graph") == (8,)
    assert rule_resolver("forward-forward").input_shape((1, 28, 28), 10, "grid") == (11, 28, 28)  # a CNN
    assert rule_resolver("forward-forward").input_shape((784,), 10, "vector") == (784,)  # an MLP


@pytest.mark.parametrize("schedule", ["sequential", "simultaneous"])
def test_graph_forward_forward_learns_paths_from_stars(schedule, paths_and_stars):
    data = paths_and_stars(60, 6)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.models.GNN(8, 2, hidden=(16, 16), conv="gin", task="graph", dropout=0.0)
    res = mole.fit(net, data, method="forward-forward",
                   config=TrainConfig(epochs=25, batch_size=16, lr=0.01, schedule=schedule, seed=0))
    assert res.score(data) > 0.9
    # the prediction: per label, the graph's pooled node goodness of the scored module (two hidden: the second)
    from mole.rules.forward_forward import append_label
    net = res.network.eval()
    with torch.no_grad():
        scores = []
        for c in range(2):
            t = append_label(data.x, torch.full((data.x.shape[0],), c), 2)
            total = torch.zeros(data.x.shape[0])
            for k, block in enumerate(net.blocks):
                t = block(t, data.edge_index)
                total += goodness(t) if k == 1 else 0
            scores.append(data.rows(total[:, None]).squeeze(1))
    assert torch.allclose(torch.stack(scores, 1), data.logits(net), atol=1e-4)


def test_graph_nodes_without_a_label_get_the_neutral_one_for_the_analysis(paths_and_stars):
    data = paths_and_stars(60, 6)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.models.GNN(8, 2, hidden=(16,), conv="gin", task="graph", dropout=0.0)
    res = mole.fit(net, data, method="forward-forward", config=TrainConfig(epochs=1, batch_size=16, seed=0))
    blocks = res.network.blocks
    rows = data.representations(blocks[:1])  # raw features: 6 of the 8 columns the first module takes
    neutral = torch.cat([data.x, torch.full((data.x.shape[0], 2), 0.5)], 1)
    with torch.no_grad():
        expected = data.rows(blocks[0].eval()(neutral, data.edge_index))
    assert torch.allclose(rows[1], expected, atol=1e-6)


def test_a_convolutional_network_gets_the_label_as_channels_at_every_position():
    """Grids for a CNN: the label is appended as C constant channels (the network takes c + C), so every
    convolution unit sees it; unlabelled inputs (the analysis) get the neutral label; the score is the goodness
    of the scored module."""
    from mole.rules.forward_forward import append_label
    g = torch.Generator().manual_seed(0)
    y = torch.arange(120) % 3
    x = torch.randn(120, 1, 12, generator=g) * 0.3
    x[:, 0, 4:8] += (y[:, None] - 1).float() * 2  # the class is a bump in the middle of the signal
    assert rule_resolver("forward-forward").input_shape((1, 12), 3, "grid") == (4, 12)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.models.CNN((4, 12), 3, channels=(8, 8))
    res = mole.fit(net, x, y, method="forward-forward", config=TrainConfig(epochs=15, batch_size=16, lr=3e-3, seed=0))
    rows = ForwardForwardData(TensorData(x, y), 3, 1.0, channels=True)
    batch = next(iter(rows.batches(x, 8, torch.Generator().manual_seed(0))))
    labels = batch.t_in[:8, 1:].argmax(1)  # the positive half: its own label in every position
    assert batch.t_in.shape == (16, 4, 12) and torch.equal(labels, batch.y[:8, None].expand(8, 12))
    assert res.score(x, y) > 0.9
    neutral = TensorData(x, y).representations(res.network.blocks[:1])[1]  # raw signals: 1 of the 4 channels
    with torch.no_grad():
        expected = res.network.blocks[0].eval()(torch.cat([x, torch.full((120, 3, 12), 1 / 3)], 1))
    assert torch.allclose(neutral, expected, atol=1e-6)
    scores = res.network.eval()(x)
    with torch.no_grad():
        t = res.network.blocks[0](append_label(x, torch.zeros(120, dtype=torch.long), 3))
        assert torch.allclose(scores[:, 0], goodness(res.network.blocks[1](t)), atol=1e-5)
