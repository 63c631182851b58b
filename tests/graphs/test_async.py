"""The asynchronous schedule on graphs: only activations travel; every worker cuts the same batches."""
import pytest
import torch

import mole
from mole.models import build_model


@pytest.mark.process
def test_node_level_async_learns(communities):
    train, test = communities
    torch.manual_seed(0)
    net = build_model("gcn", (3,), 3, hidden=(16,), task="node", dropout=0.0)
    res = mole.fit(net, train, config=mole.TrainConfig(epochs=40, lr=0.01, schedule="async", workers=2))
    assert res.score(test) > 0.7  # chance 1/3


@pytest.mark.process
def test_graph_level_async_learns(paths_and_stars):
    torch.manual_seed(0)
    net = build_model("gin", (8,), 2, hidden=(16,), task="graph", dropout=0.0)
    res = mole.fit(net, paths_and_stars, config=mole.TrainConfig(epochs=15, batch_size=16, lr=0.01,
                                                                  schedule="async", workers=2))
    assert res.score(paths_and_stars) > 0.8
