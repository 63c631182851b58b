"""The information-plane monitor and layer representations on graph data."""
import torch

import mole
from mole.analysis import InformationMonitor
from mole.estimators import RenyiEstimator
from mole.modular import ModularNetwork


def test_graph_data_is_measured_on_node_and_graph_rows(communities, paths_and_stars):
    from mole.models import build_model
    train, _ = communities
    for data, task, n_cls in ((train, "node", 3), (paths_and_stars, "graph", 2)):
        torch.manual_seed(0)
        net = build_model("gcn" if task == "node" else "gin", (data.x.shape[1],), n_cls, hidden=(8,), task=task)
        monitor = InformationMonitor(data.sample(30), RenyiEstimator(), every=1)
        mole.fit(net, data, callbacks=[monitor], config=mole.TrainConfig(epochs=2, batch_size=64))
        assert len(monitor.for_module(0)) == 3 and len(monitor.for_module(1)) == 3
        assert all(r["I_TY"] > 0 for r in monitor.records)


def test_representations_are_one_row_per_labelled_sample(communities, paths_and_stars):
    from mole.models import build_model
    train, _ = communities
    net = build_model("gcn", (3,), 3, hidden=(8,), task="node")
    rows = train.take(torch.arange(10)).representations(ModularNetwork(net).blocks)
    assert [tuple(r.shape) for r in rows] == [(10, 3), (10, 8), (10, 3)]
    net = build_model("gin", (8,), 2, hidden=(8,), task="graph")
    rows = paths_and_stars.sample(12).representations(ModularNetwork(net).blocks)
    assert [r.shape[0] for r in rows] == [12, 12, 12]
