"""
A GNN on a graph of your own
============================

Node features, edges and labels as tensors, and a GCN trained by MOLE, one message-passing layer per module.
The graph here is synthetic (two communities, noisy features); put your own ``x`` (N, F), ``edge_index``
(2, E) and ``y`` (N,) in its place. ``NodeData`` says which nodes' labels the objective sees; for graphs too big
for a full-graph step, ``SampledNodeData.of(train, fanout=10, weights="gcn")`` trains on sampled
neighbourhoods instead (build the GCN with ``edge_weights=True``).
"""
import os

import matplotlib.pyplot as plt
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

# %%
# Features before and after the first GCN layer
# ---------------------------------------------
#
# Left: the nodes' two input features, which overlap between the communities. Right: the output of module 1
# (16 units, projected on its first two principal components), where each node has averaged over its
# neighbours. Circled: the 40 labelled nodes.

every_node = train.subset(torch.arange(n))
hidden = every_node.representations(result.network.blocks)[1]  # [X, T_1, T_2]: module 1's output of every node
hidden = hidden - hidden.mean(0)
projected = hidden @ torch.linalg.svd(hidden, full_matrices=False).Vh[:2].T
labelled = perm[:40]
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for ax, points, title in zip(axes, (x, projected), ("input features", "module 1 output (PCA)")):
    ax.scatter(points[:, 0], points[:, 1], c=y, cmap="coolwarm", s=12)
    ax.scatter(points[labelled, 0], points[labelled, 1], s=60, facecolors="none", edgecolors="black", linewidths=0.8)
    ax.set(xticks=[], yticks=[], title=title)
fig.suptitle(f"two communities of {n // 2} nodes, {edge_index.shape[1] // 2} edges")
fig.tight_layout()
plt.show()
