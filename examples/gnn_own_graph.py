"""A GNN on a graph of your own: node features, edges and labels as tensors, MOLE one layer per module.

    python examples/gnn_own_graph.py

The graph here is synthetic (two communities, noisy features); put your own ``x`` (N, F), ``edge_index``
(2, E) and ``y`` (N,) in its place. ``NodeData`` says which nodes' labels the objective sees; for graphs too big
for a full-graph step, ``SampledNodeData.of(train, fanout=10, weights="gcn")`` trains on sampled
neighbourhoods instead (build the GCN with ``edge_weights=True``).
"""
import os

import torch

import mole
from mole.adapters import NodeData
from mole.models import GNN

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "100"))

g = torch.Generator().manual_seed(0)
n = 200
y = (torch.arange(n) >= n // 2).long()                          # two communities
same = y[:, None] == y[None, :]
adj = torch.rand(n, n, generator=g) < torch.where(same, torch.tensor(0.05), torch.tensor(0.005))
adj = torch.triu(adj, 1)
edge_index = torch.cat([adj.nonzero().T, adj.nonzero().T.flip(0)], 1)   # undirected
x = 0.5 * torch.nn.functional.one_hot(y, 2).float() + torch.randn(n, 2, generator=g)
perm = torch.randperm(n, generator=g)

train = NodeData(x, edge_index, y, index=perm[:40])             # 40 labelled nodes
test = train.subset(perm[40:])
torch.manual_seed(0)
net = GNN(2, 2, hidden=(16,), conv="gcn", dropout=0.0)          # module 1: GCN layer; head: GCN layer
result = mole.fit(net, train, config=mole.TrainConfig(epochs=EPOCHS, lr=0.01))
print(f"test accuracy on {len(test)} unlabelled nodes: {100 * result.score(test):.2f} %")
