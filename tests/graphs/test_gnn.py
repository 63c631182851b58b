"""GNN modules under MOLE: node-level and graph-level learning, gradient isolation, the union read-out."""
import pytest
import torch

import mole
from mole import ModularNetwork, TrainConfig, build_stages
from mole.models import GNN


def make(conv, task, in_channels, n_classes, hidden=(16,)):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return ModularNetwork(GNN(in_channels, n_classes, hidden=hidden, conv=conv, dropout=0.0, task=task))


@pytest.mark.parametrize("conv", ["gcn", "sage", "gin"])
def test_node_level_mole_learns_communities(communities, conv):
    train, test = communities
    result = mole.fit(make(conv, "node", 3, 3), train, config=TrainConfig(epochs=60, lr=0.01))
    assert result.score(test) > 0.7  # chance is 1/3; the features alone give about 0.5
    assert [m["layers"][0].split("(")[0] for m in result.modules()][0] in ("GCNConv", "SAGEConv", "GINConv")


def test_graph_level_mole_separates_paths_from_stars(paths_and_stars):
    data = paths_and_stars
    train, test = data.subset(torch.arange(0, 60)), data.subset(torch.arange(60, 80))
    result = mole.fit(make("gin", "graph", 8, 2, hidden=(16, 16)), train,
                      config=TrainConfig(epochs=30, batch_size=32, lr=0.01))
    assert result.score(test) > 0.8


def test_union_subset_and_pooling_match_per_graph_computation(paths_and_stars):
    data = paths_and_stars
    sub = data.subset(torch.tensor([3, 10]))
    assert len(sub) == 2 and torch.equal(sub.y, data.y[[3, 10]])
    n3 = int((data.batch == 3).sum())
    assert torch.equal(sub.x[:n3], data.x[data.batch == 3])
    assert torch.allclose(sub.rows(sub.x), torch.stack([data.x[data.batch == 3].mean(0), data.x[data.batch == 10].mean(0)]))
    batch = next(iter(data.batches(data.x, 8, torch.Generator().manual_seed(0))))
    assert batch.readout(batch.t_in).shape == (8, 8) and batch.y.shape == (8,)


@pytest.mark.parametrize("task", ["node", "graph"])
@pytest.mark.parametrize("k", [0, 1])
def test_gradient_isolation_for_gnn_modules(communities, paths_and_stars, task, k):
    data = communities[0] if task == "node" else paths_and_stars
    net = make("gin", task, data.x.shape[1], int(data.y.max()) + 1, hidden=(8,))
    stages = build_stages(net, TrainConfig(lr=1e-2))
    t = data.x if k == 0 else data.transform(net.blocks[0], data.x, 64)
    before = [[p.detach().clone() for p in b.parameters()] for b in net.blocks]
    stages[k].step(next(iter(data.batches(t, 32, torch.Generator().manual_seed(0)))))
    for j, block in enumerate(net.blocks):
        changed = any(not torch.equal(p, q) for p, q in zip(block.parameters(), before[j]))
        assert changed == (j == k), f"module {j} after a step of module {k}"
        if j != k:
            assert all(p.grad is None for p in block.parameters())


def test_a_module_may_group_several_graph_layers(communities):
    """Several message-passing layers in one module (``--module-size 2``, or a flat user ``nn.Sequential`` of
    convs and activations): the edges reach every conv of the group, the activations get the features alone."""
    from torch import nn
    from torch_geometric.nn import GCNConv
    train, test = communities
    single = make("gcn", "node", 3, 3, hidden=(16, 16, 16))
    grouped = ModularNetwork(list(single.blocks), groups=[[0, 1], [2], [3]])
    assert len(grouped) == 3 and grouped.groups == [[0, 1], [2], [3]]
    assert torch.equal(grouped(train.x, train.edge_index), single(train.x, train.edge_index))
    result = mole.fit(grouped, train, config=TrainConfig(epochs=60, lr=0.01))
    assert result.score(test) > 0.7
    torch.manual_seed(0)
    flat = ModularNetwork(nn.Sequential(GCNConv(3, 16), nn.ReLU(), GCNConv(16, 16), nn.ReLU(), GCNConv(16, 3)))
    assert flat.groups == [[0, 1], [2, 3], [4]]
    assert mole.fit(flat, train, config=TrainConfig(epochs=60, lr=0.01)).score(test) > 0.7


def test_cli_module_size_groups_graph_layers(tmp_path):
    import json
    from mole.cli import main
    assert main(["run", "--dataset", "karate", "--hidden", "8,8,8", "--module-size", "2", "--epochs", "2",
                 "--methods", "mole", "-q", "--no-plots", "--out", str(tmp_path / "run")]) == 0
    modules = json.loads((tmp_path / "run" / "results.json").read_text())["runs"][0]["modules"]
    assert [sum(layer.startswith("GCNConv") for layer in m["layers"]) for m in modules] == [2, 1, 1]
