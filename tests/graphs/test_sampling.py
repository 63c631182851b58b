"""Mini-batched node-level training: sampled neighbourhoods, exact chunked full-graph outputs, every schedule."""
import json

import pytest
import torch

import mole
from mole.adapters import NodeData, SampledNodeData
from mole.adapters.sampling import InEdges, message_passing_depth
from mole.cli import main
from mole.data import load_dataset
from mole.models import build_model
from mole.models.gnn import EDGE_WEIGHTED
from mole.modular import ModularNetwork


@pytest.fixture(scope="module")
def sbm():
    ds = load_dataset("sbm-1500")
    g = torch.Generator().manual_seed(3)  # edges in a random order: nothing may depend on them being sorted
    data = ds.train
    edges = data.edge_index[:, torch.randperm(data.edge_index.shape[1], generator=g)]
    train = NodeData(data.x, edges, data.y_all, data.index)
    return train, train.subset(ds.test.index)


def _nets(conv, hidden=(16, 16)):
    torch.manual_seed(0)
    full = ModularNetwork(build_model(conv, (32,), 10, hidden=hidden, task="node"))
    torch.manual_seed(0)
    sampled = ModularNetwork(build_model(conv, (32,), 10, hidden=hidden, task="node", edge_weights=True))
    return full.eval(), sampled.eval()


@pytest.mark.parametrize("conv", ["gcn", "sage", "gin"])
def test_chunked_layer_wise_outputs_equal_the_full_graph_forward(sbm, conv):
    train, _ = sbm
    full, sampled = _nets(conv)
    data = SampledNodeData.of(train, fanout=3, weights=EDGE_WEIGHTED.get(conv), chunk=97)  # 16 uneven chunks
    want = train.logits(full)
    got = data.logits(sampled)
    assert torch.allclose(got, want, atol=1e-5)
    assert want.std() > 0.05  # not a degenerate network
    # every representation the analysis reads too
    for a, b in zip(train.representations(full.blocks), data.representations(sampled.blocks)):
        assert torch.allclose(a, b, atol=1e-5)
    # a multi-hop module over one complete 3-hop neighbourhood is exact as well
    n_id, context = data.in_edges.subgraph(torch.arange(50), hops=3, fanout=-1)
    assert torch.allclose(sampled(train.x[n_id], *context)[:50], full(train.x, train.edge_index)[:50], atol=1e-5)


def test_chunked_outputs_of_modules_that_group_two_graph_layers_are_exact(sbm):
    """A module of two message-passing layers needs two hops of neighbourhood; its chunked output is still exact."""
    train, _ = sbm
    full, sampled = _nets("gcn", hidden=(16, 16, 16))
    full, sampled = (ModularNetwork(list(n.blocks), groups=[[0, 1], [2, 3]]).eval() for n in (full, sampled))
    data = SampledNodeData.of(train, fanout=3, weights="gcn", chunk=97)
    assert [message_passing_depth(b) for b in sampled.blocks] == [2, 2]
    for a, b in zip(train.representations(full.blocks), data.representations(sampled.blocks)):
        assert torch.allclose(a, b, atol=1e-5)


def test_gcn_without_its_weights_would_differ(sbm):
    """The check above can fail: a GCN normalized by the subgraph's own degrees gives other outputs."""
    train, _ = sbm
    full, _ = _nets("gcn")
    data = SampledNodeData.of(train, chunk=97)  # no GCN weights: each chunk normalizes by its own degrees
    assert not torch.allclose(data.logits(full), train.logits(full), atol=1e-3)


def test_sampled_neighbourhoods(sbm):
    train, _ = sbm
    edges = InEdges(train.edge_index, train.x.shape[0])
    targets = torch.tensor([5, 17, 400, 999])
    real = {tuple(e) for e in train.edge_index.T.tolist()}
    n_id, (ei,) = edges.subgraph(targets, hops=1, fanout=2, generator=torch.Generator().manual_seed(0))
    assert torch.equal(n_id[:4], targets)  # targets first: a module's output rows 0..3 are theirs
    assert len(set(n_id.tolist())) == len(n_id)
    assert (ei[1] < 4).all()  # one hop: edges only into the targets
    assert torch.bincount(ei[1], minlength=4).max() <= 2  # at most fanout in-edges each
    assert {(int(n_id[s]), int(n_id[d])) for s, d in ei.T} <= real  # sampled edges are real edges
    # fanout -1: exactly the targets' in-edges
    n_id, (ei,) = edges.subgraph(targets, hops=1, fanout=-1)
    assert {(int(n_id[s]), int(n_id[d])) for s, d in ei.T} == {e for e in real if e[1] in targets.tolist()}
    # the draw follows the generator
    draw = lambda seed: edges.subgraph(targets, 2, 2, torch.Generator().manual_seed(seed))[0]  # noqa: E731
    assert torch.equal(draw(1), draw(1)) and not torch.equal(draw(1), draw(2))


@pytest.mark.parametrize("weights", ["gcn", "sum"])
def test_sampled_weights_are_unbiased(sbm, weights):
    """Over many draws of a 3-edge sample, the kept weights add up to the full in-neighbourhood's (GCN: its
    normalized weights; GIN's sum: its degree), so the sampled aggregation is unbiased."""
    train, _ = sbm
    edges = InEdges(train.edge_index, train.x.shape[0], weights=weights)
    node = int(edges.deg.argmax())  # the best-connected node: fanout 3 keeps a fraction of its in-edges
    full = edges.weight[edges.ptr[node]:edges.ptr[node + 1]].sum()
    g = torch.Generator().manual_seed(0)
    sums = []
    for _ in range(3000):
        _, (ei, w) = edges.subgraph(torch.tensor([node]), 1, 3, g)
        sums.append(w[(ei[1] == 0) & (ei[0] != 0)].sum())
    assert edges.deg[node] > 6
    assert torch.stack(sums).mean() == pytest.approx(float(full), rel=0.03)


def test_depth_of_modules():
    net = build_model("gcn", (8,), 3, hidden=(4, 4), task="node")
    blocks = list(net.children())
    assert [message_passing_depth(b) for b in blocks] == [1, 1, 1]
    assert message_passing_depth(blocks) == 3 and message_passing_depth(build_model("gin", (8,), 3)) == 3


def test_weighted_gin_is_gin_when_every_weight_is_one(sbm):
    from torch_geometric.nn import GINConv
    from mole.models.gnn import WeightedGINConv
    train, _ = sbm
    torch.manual_seed(0)
    plain = GINConv(torch.nn.Linear(32, 8))
    weighted = WeightedGINConv(torch.nn.Linear(32, 8))
    weighted.load_state_dict(plain.state_dict())
    ones = torch.ones(train.edge_index.shape[1])
    assert torch.allclose(weighted(train.x, train.edge_index, ones), plain(train.x, train.edge_index), atol=1e-5)
    assert not torch.allclose(weighted(train.x, train.edge_index, 2 * ones), plain(train.x, train.edge_index))


def test_sampled_gin_learns_the_communities(sbm):
    train, test = sbm
    data = SampledNodeData.of(train, fanout=3, weights="sum")
    torch.manual_seed(0)
    net = build_model("gin", (32,), 10, hidden=(32,), task="node", dropout=0.0, edge_weights=True)
    res = mole.fit(net, data, config=mole.TrainConfig(epochs=15, lr=0.01, batch_size=64))
    assert res.score(data.subset(test.index)) > 0.5


@pytest.mark.parametrize("method", ["mole", "bp", "dgl"])
def test_sampled_training_learns_the_communities(sbm, method):
    train, test = sbm
    data = SampledNodeData.of(train, fanout=5, weights="gcn")
    torch.manual_seed(0)
    net = build_model("gcn", (32,), 10, hidden=(32,), task="node", dropout=0.0, edge_weights=True)
    res = mole.fit(net, data, method=method, config=mole.TrainConfig(epochs=15, lr=0.01, batch_size=64))
    assert res.score(data.subset(test.index)) > 0.5  # chance 0.1; features alone give ~0.3


def test_batches_hold_the_neighbourhood_their_modules_need(sbm):
    train, _ = sbm
    data = SampledNodeData.of(train, fanout=4)
    g = torch.Generator().manual_seed(0)
    one = next(iter(data.batches(data.x, 32, g, hops=1)))
    two = next(iter(data.batches(data.x, 32, g, hops=2)))
    assert (one.context[0][1] < 32).all() and not (two.context[0][1] < 32).all()
    assert one.t_in.shape[0] < two.t_in.shape[0] < train.x.shape[0]
    out = torch.randn(one.t_in.shape[0], 3)
    assert torch.equal(one.readout(out), out[:32]) and one.y.shape == (32,)


@pytest.mark.process
def test_async_samples_the_same_neighbourhoods_as_simultaneous(sbm):
    train, test = sbm
    data = SampledNodeData.of(train, fanout=4, weights="gcn")

    def run(schedule):
        torch.manual_seed(0)
        net = build_model("gcn", (32,), 10, hidden=(16,), task="node", dropout=0.0, edge_weights=True)
        return mole.fit(net, data, config=mole.TrainConfig(epochs=2, lr=0.01, batch_size=64, schedule=schedule,
                                                           workers=2))
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ref = run("simultaneous")
    finally:
        torch.set_num_threads(before)
    res = run("async")
    a, b = res.network.state_dict(), ref.network.state_dict()
    assert all(torch.allclose(a[k], b[k], atol=1e-4) for k in a)


def test_cli_switches_sampling_on_by_budget_or_flag(tmp_path):
    # 200 nodes: a full-graph step of ~3.6 MB at the default width, over a 0.5 MB budget; one epoch records the plan
    common = ["run", "--dataset", "sbm-200", "--epochs", "1", "--quiet", "--no-plots", "--monitor-every", "0",
              "--no-probes", "--accuracy-every", "0"]
    assert main([*common, "--out", str(tmp_path / "auto")]) == 0
    assert main([*common, "--sampling-budget-mb", "0.5", "--out", str(tmp_path / "budget")]) == 0
    assert main([*common, "--neighbor-sampling", "--fanout", "3", "--out", str(tmp_path / "on")]) == 0
    read = lambda name: json.loads((tmp_path / name / "results.json").read_text())["data"]  # noqa: E731
    assert read("auto")["neighbor_sampling"] is False
    assert read("budget")["neighbor_sampling"]["why"].endswith("over the budget")
    assert read("on")["neighbor_sampling"] == {"fanout": 3, "why": "forced"}
    assert main([*common, "--fanout", "0", "--out", str(tmp_path / "bad")]) == 2


def test_the_graph_term_of_sampled_steps_reads_targets_drawn_from_every_node(sbm):
    """With lambda_graph, each sampled step draws label-free targets from a pass over every node (the full-graph
    term reads every node), the labelled targets first; the term reads the targets' rows, not the outer hop's."""
    train, _ = sbm
    data = SampledNodeData.of(train, fanout=3, weights="gcn")
    plain = next(data.batches(train.x, 64, torch.Generator().manual_seed(0)))
    assert plain.scope(torch.arange(10_000)).numel() == 64  # no label-free targets: the labelled ones
    wide = data.with_label_free_targets(128)
    assert wide.label_free == 128 and wide.subset(train.index[:5]).label_free == 128
    seen = set()
    for batch in wide.batches(train.x, 64, torch.Generator().manual_seed(0)):
        rows = batch.scope(torch.arange(10_000))
        b = len(batch.y)  # the batch's labelled targets, read out first
        assert b < rows.numel() <= b + 128 and torch.equal(batch.readout(torch.arange(10_000)), rows[:b])
        seen.update(rows.tolist())
    labelled = set(train.index.tolist())
    assert len(seen - labelled) > 128  # unlabelled nodes too, fresh ones each step
    cfg = mole.TrainConfig(epochs=2, batch_size=64, objective=mole.ObjectiveConfig(lambda_graph=1.0))
    torch.manual_seed(0)
    net = build_model("gcn", (32,), 10, hidden=(16,), task="node", edge_weights=True)
    res = mole.fit(net, data, config=cfg)
    assert all("I_TS" in r for r in res.history.for_module(0))
