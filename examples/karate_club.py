"""
Node classification on the karate club
======================================

Zachary's karate club: 34 members, the friendships between them, and four communities to find from a single
labelled member each. A two-layer GCN is trained by MOLE (the first GCN layer on its own objective, then the
head) and by backprop; every other member is a test node.

With one labelled member per community, MOLE's first layer estimates I(T; Y) from four nodes, one per class,
which says little about the other thirty; backprop's gradient reaches that layer through the head instead, and
places more members correctly here.

The graph comes embedded in PyTorch Geometric, so nothing is downloaded. For a graph of your own, build a
:class:`~mole.adapters.nodes.NodeData` from ``x``, ``edge_index``, ``y`` and the labelled nodes' index
(see :ref:`sphx_glr_auto_examples_gnn_own_graph.py`).
"""
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import shortest_path

import mole
from mole.data import load_dataset

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "100"))  # the test suite runs every example on a tiny budget

karate = load_dataset("karate")  # NodeData: train = the 4 labelled members, test = the other 30
n = karate.train.x.shape[0]
every_node = karate.train.subset(torch.arange(n))
config = mole.TrainConfig(epochs=EPOCHS, lr=0.01)

predictions = {}
for method in ("mole", "bp"):
    torch.manual_seed(0)
    net = mole.models.GNN(34, 4, hidden=(16,), conv="gcn", dropout=0.0)  # one-hot member ids as features
    result = mole.fit(net, karate.train, method=method, config=config)
    predictions[method] = result.predict(every_node)
    print(f"{method}: test accuracy on {len(karate.test)} members {100 * result.score(karate.test):.1f} %")

# %%
# The communities found
# ---------------------
#
# The members placed by classical multidimensional scaling of their friendship distances (shortest paths).
# Fill: the predicted community; ring: the true one; stars: the four labelled members.

edges = karate.train.edge_index.numpy()
hops = shortest_path(coo_matrix((np.ones(edges.shape[1]), edges), shape=(n, n)), unweighted=True)
centre = np.eye(n) - 1 / n
values, vectors = np.linalg.eigh(-0.5 * centre @ hops ** 2 @ centre)
xy = vectors[:, -2:] * np.sqrt(values[-2:])

truth, labelled = every_node.y.numpy(), karate.train.index.numpy()
cmap = plt.get_cmap("tab10")
fig, axes = plt.subplots(1, 2, figsize=(10, 4.4))
for ax, (method, predicted) in zip(axes, predictions.items()):
    ax.plot(xy[edges, 0], xy[edges, 1], color="0.8", linewidth=0.6, zorder=0)
    ax.scatter(xy[:, 0], xy[:, 1], s=140, c=cmap(predicted.numpy()), edgecolors=cmap(truth), linewidths=2.5)
    ax.scatter(xy[labelled, 0], xy[labelled, 1], s=60, marker="*", color="black")
    wrong = int((predicted.numpy() != truth).sum())
    name = "MOLE" if method == "mole" else "backprop"
    ax.set(xticks=[], yticks=[], title=f"{name}: {wrong} of {n} members misplaced")
fig.suptitle("karate club, GCN 16, one labelled member per community")
fig.tight_layout()
plt.show()
