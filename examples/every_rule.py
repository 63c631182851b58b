"""
Every rule on one network
=========================

One MLP trained by each rule mole implements: MOLE, backprop, and the other layer-local rules (DGL's local
classifiers, PredSim's prediction and similarity losses, the HSIC bottleneck, InfoPro's reconstruction and
classification, Hinton's Forward-Forward). Every rule starts from the same initial weights and reads the same
batches; only the objective each layer learns from changes. The budget here is small, so the accuracies are
a quick look, not a benchmark.
"""
import os

import matplotlib.pyplot as plt
import torch

import mole
from mole.data import load_dataset

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "30"))  # the test suite runs every example on a tiny budget
RULES = ["mole", "bp", "dgl", "predsim", "hsic-bottleneck", "infopro", "forward-forward"]

ds = load_dataset("digits", seed=0)
config = mole.TrainConfig(epochs=EPOCHS, batch_size=128)

accuracy, seconds = {}, {}
for rule in RULES:
    torch.manual_seed(0)  # the same initial weights for every rule
    net = mole.models.MLP(64, 10, hidden=(128, 64))
    result = mole.fit(net, ds.x_train, ds.y_train, method=rule, config=config)
    accuracy[rule], seconds[rule] = 100 * result.score(ds.x_test, ds.y_test), result.train_seconds
    print(f"{rule:<16} test accuracy {accuracy[rule]:6.2f} %   {seconds[rule]:5.2f} s")

# %%
# Accuracy and training time side by side
# ---------------------------------------

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
positions = range(len(RULES))
left.barh(positions, [accuracy[r] for r in RULES], color="tab:blue")
left.set(yticks=positions, yticklabels=RULES, xlabel="test accuracy [%]", xlim=(0, 100))
left.invert_yaxis()
for i, r in enumerate(RULES):
    left.text(accuracy[r] - 1, i, f"{accuracy[r]:.1f}", va="center", ha="right", color="white", fontsize=8)
right.barh(positions, [seconds[r] for r in RULES], color="tab:orange")
right.set(xlabel="training seconds")
fig.suptitle(f"digits, MLP 128-64, {EPOCHS} epochs (local rules: each module's)")
fig.tight_layout()
plt.show()
