"""
Classifying whole graphs
========================

A collection of small graphs, each with one label: paths, cycles and stars of 5 to 12 nodes. Every node has the
same feature (a constant 1), so the class is in the structure alone, and a GIN has to find it by message
passing. The collection is one :class:`~mole.adapters.graphs.GraphData`: the nodes of every graph stacked
(``x``), the edges of their union (``edge_index``), the graph each node belongs to (``batch``) and one label per
graph (``y``); a graph's output is the mean of its nodes' outputs.
"""
import os

import matplotlib.pyplot as plt
import torch

import mole
from mole.adapters import GraphData

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "40"))  # the test suite runs every example on a tiny budget
CLASSES = ["path", "cycle", "star"]


def edges_of(kind: str, n: int) -> torch.Tensor:
    """The (2, E) undirected edges of a path, cycle or star on nodes 0..n-1."""
    if kind == "star":
        one_way = torch.stack([torch.zeros(n - 1, dtype=torch.long), torch.arange(1, n)])
    else:
        one_way = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
        if kind == "cycle":
            one_way = torch.cat([one_way, torch.tensor([[n - 1], [0]])], 1)
    return torch.cat([one_way, one_way.flip(0)], 1)


g = torch.Generator().manual_seed(0)
xs, edges, batch, labels, offset = [], [], [], [], 0
for i in range(240):
    label = i % 3
    n = int(torch.randint(5, 13, (1,), generator=g))
    xs.append(torch.ones(n, 1))
    edges.append(edges_of(CLASSES[label], n) + offset)  # node ids of the union
    batch.append(torch.full((n,), i))
    labels.append(label)
    offset += n
graphs = GraphData(torch.cat(xs), torch.cat(edges, 1), torch.cat(batch), torch.tensor(labels))

order = torch.randperm(len(graphs), generator=g)
train, test = graphs.subset(order[:160]), graphs.subset(order[160:])  # 160 training graphs, 80 test graphs
print(f"{len(graphs)} graphs, {graphs.x.shape[0]} nodes; {len(train)} train, {len(test)} test")

config = mole.TrainConfig(epochs=EPOCHS, batch_size=32, lr=0.01)
results = {}
for method in ("mole", "bp"):
    torch.manual_seed(0)
    net = mole.models.GNN(1, 3, hidden=(32, 32), conv="gin", task="graph", dropout=0.0)
    results[method] = mole.fit(net, train, method=method, config=config)
    print(f"{method}: test accuracy on {len(test)} graphs {100 * results[method].score(test):.1f} %")

# %%
# What the GIN layers learned
# ---------------------------
#
# Each test graph's pooled output of every module under MOLE, projected on its first two principal components.
# The input (mean of the constant features) tells the graphs apart not at all; after message passing, the
# classes separate.

rows = test.representations(results["mole"].network.blocks)  # [X, T_1, T_2, head], one row per graph
fig, axes = plt.subplots(1, len(rows), figsize=(3.0 * len(rows), 3.2))
for j, (ax, t) in enumerate(zip(axes, rows)):
    t = t - t.mean(0)
    xy = t @ torch.linalg.svd(t, full_matrices=False).Vh[:2].T if t.shape[1] > 1 else torch.cat([t, 0 * t], 1)
    for label, name in enumerate(CLASSES):
        ax.scatter(*xy[test.y == label].T, s=10, label=name)
    ax.set(xticks=[], yticks=[], title="input (pooled)" if j == 0 else
           "head (logits)" if j == len(rows) - 1 else f"module {j}")
axes[0].legend(fontsize=8)
fig.suptitle("MOLE on paths, cycles and stars: each test graph's pooled output per module")
fig.tight_layout()
plt.show()
