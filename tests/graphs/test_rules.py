"""Every local rule on graphs: node-level (labelled nodes are the samples) and graph-level (pooled graphs)."""
import pytest
import torch

import mole
from mole.models import build_model

#: every local rule that takes graphs as they are (Forward-Forward appends the label to the node features, so its
#: networks take F + C: tests/rules/test_forward_forward.py)
LOCAL_RULES = [n for n, c in mole.RULES.items() if not c.end_to_end and n != "forward-forward"]


@pytest.mark.parametrize("rule", LOCAL_RULES)
def test_node_level(communities, rule):
    train, test = communities
    torch.manual_seed(0)
    net = build_model("gcn", (3,), 3, hidden=(16,), task="node", dropout=0.0)
    res = mole.fit(net, train, method=rule, config=mole.TrainConfig(epochs=40, lr=0.01))
    assert res.score(test) > 0.6  # chance 1/3; the features alone are weak


@pytest.mark.parametrize("rule", LOCAL_RULES)
def test_graph_level(paths_and_stars, rule):
    torch.manual_seed(0)
    net = build_model("gin", (8,), 2, hidden=(16,), task="graph", dropout=0.0)
    res = mole.fit(net, paths_and_stars, method=rule, config=mole.TrainConfig(epochs=15, batch_size=16, lr=0.01))
    assert res.score(paths_and_stars) > 0.8
