"""
What each layer learned
=======================

The information plane and a t-SNE of every layer's output, for an MLP trained by MOLE on digits.

During training, an :class:`~mole.analysis.monitor.InformationMonitor` (a callback) measures each module's
I(T_k; X) and I(T_k; Y) on a fixed sample of training points. After training,
:func:`~mole.analysis.probes.linear_probes` fits a logistic regression on each layer's output and
:func:`~mole.analysis.embedding.tsne_panels` embeds the same test points as the raw input and as every module's
output. ``mole run`` draws the same figures into its run folder (``information_plane.png``, ``tsne.png``).
"""
import os

import matplotlib.pyplot as plt
import torch

import mole
from mole.adapters import TensorData
from mole.analysis import InformationMonitor, linear_probes, tsne_panels
from mole.data import load_dataset

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "20"))  # the test suite runs every example on a tiny budget

ds = load_dataset("digits", seed=0)
train, test = TensorData(ds.x_train, ds.y_train), TensorData(ds.x_test, ds.y_test)

# measure every 2 epochs on 256 fixed training points, with the matrix-based Rényi estimator (bits)
monitor = InformationMonitor(train.sample(256, seed=0), mole.RenyiEstimator(), every=2)
torch.manual_seed(0)
net = mole.models.MLP(64, 10, hidden=(256, 128, 64), batch_norm=True)
result = mole.fit(net, train, config=mole.TrainConfig(epochs=EPOCHS, batch_size=128), callbacks=[monitor])
print(f"MOLE: test accuracy {100 * result.score(test):.2f} %")

# %%
# The information plane
# ---------------------
#
# Each module's path through (I(T; X), I(T; Y)) while it trains, from its initialization (hollow marker) to its
# last epoch (filled marker). The hidden modules gain information about the labels; the head (10 logits) ends
# with the least about the input.

n_modules = len(result.network.blocks)
colors = plt.cm.viridis([0.85 * (1 - k / (n_modules - 1)) for k in range(n_modules)])
fig, ax = plt.subplots(figsize=(5.5, 4.2))
for k in range(n_modules):
    path = monitor.for_module(k)
    ix, iy = [p["I_TX"] for p in path], [p["I_TY"] for p in path]
    name = f"module {k + 1}" + (" (head)" if k == n_modules - 1 else "")
    ax.plot(ix, iy, "-o", color=colors[k], markersize=3, label=name)
    ax.plot(ix[0], iy[0], "o", markersize=8, markerfacecolor="none", color=colors[k])
    ax.plot(ix[-1], iy[-1], "o", markersize=8, color=colors[k])
ax.set(xlabel="I(T; X) [bits]", ylabel="I(T; Y) [bits]", title="information plane, MOLE on digits")
ax.legend(loc="upper right")
fig.tight_layout()
plt.show()

# %%
# Every layer's output, embedded in 2-D
# -------------------------------------
#
# ``representations`` returns the rows of the input and of every module's output, ``[X, T_1, ..., T_K]``;
# the probes are fitted on the training rows and scored on the test rows.

blocks = result.network.blocks
probes = linear_probes(train.representations(blocks), train.y, test.representations(blocks), test.y)
sample = test.sample(300, seed=0)
panels = tsne_panels(sample.representations(blocks), seed=0)
print("linear-probe test accuracy: " + ", ".join(
    f"{name} {100 * p:.1f} %" for name, p in zip(["input"] + [f"module {k + 1}" for k in range(n_modules)], probes)))

fig, axes = plt.subplots(1, len(panels), figsize=(2.6 * len(panels), 2.9))
for j, (ax, points) in enumerate(zip(axes, panels)):
    ax.scatter(points[:, 0], points[:, 1], c=sample.y.numpy(), cmap="tab10", s=5)
    name = "input" if j == 0 else f"module {j}" + (" (head)" if j == n_modules else "")
    ax.set(xticks=[], yticks=[], title=f"{name}\nprobe {100 * probes[j]:.1f} %")
fig.suptitle("t-SNE of 300 test digits, coloured by class")
fig.tight_layout()
plt.show()
