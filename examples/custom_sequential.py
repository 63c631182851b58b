"""
An nn.Sequential of your own, cut into modules
==============================================

A small CNN written as an ``nn.Sequential``, trained module by module (MOLE) and end to end (backprop).
The network is cut into modules by ``groups``: indices of its top-level layers, one list per module; the last
module is the classifier head. Each module learns from its own objective; no gradient crosses a boundary.
Without ``groups``, mole cuts after every weight layer together with the normalization, activation and pooling
that follow it.
"""
import os

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

import mole

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "20"))

X, y = load_digits(return_X_y=True)
X = torch.tensor(X, dtype=torch.float32).reshape(-1, 1, 8, 8) / 16
X_train, X_test, y_train, y_test = train_test_split(X, torch.tensor(y), test_size=0.2, random_state=0, stratify=y)


def network() -> nn.Sequential:
    torch.manual_seed(0)  # the same initial weights for every method
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),       # layers 0-2: module 1
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),      # layers 3-5: module 2
        nn.Flatten(), nn.Linear(32 * 8 * 8, 10),                            # layers 6-7: the head
    )


groups = [[0, 1, 2], [3, 4, 5], [6, 7]]
config = mole.TrainConfig(epochs=EPOCHS, batch_size=128, lr=1e-3)
results = {}
for method in ("mole", "bp"):
    result = results[method] = mole.fit(network(), X_train, y_train, method=method, config=config, groups=groups)
    print(f"{method}: test accuracy {100 * result.score(X_test, y_test):.2f} %, {result.train_seconds:.1f} s, "
          f"peak activation memory {result.peak_memory_mb:.2f} MB")

# %%
# The modules and their losses
# ----------------------------
#
# ``result.modules()`` lists each module's layers and final loss; ``result.history`` has every epoch's. MOLE's
# convolutional modules minimize the negative of their objective, the head its cross-entropy.

fig, axes = plt.subplots(1, len(groups), figsize=(11, 3.3))
for ax, module in zip(axes, results["mole"].modules()):
    records = results["mole"].history.for_module(module["index"])
    ax.plot([r["epoch"] + 1 for r in records], [r["loss"] for r in records], marker="o", markersize=3)
    ax.set(xlabel="epoch of the module", title=f"module {module['index'] + 1}: " + ", ".join(module["layers"]))
    ax.title.set_fontsize(8)
axes[0].set_ylabel("MOLE's local loss")
fig.tight_layout()
plt.show()
