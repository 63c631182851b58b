"""
MOLE against backprop on digits
===============================

The same MLP, from the same initial weights and on the same batches, trained twice: by MOLE, each layer on its
own mutual-information objective with no gradient crossing a layer, and end to end by backprop.

MOLE trains the modules one after another (the sequential schedule): each hidden module maximizes I(T_k; Y),
the information its output T_k holds about the labels, then freezes; the head learns last, by cross-entropy.
"""
import os

import matplotlib.pyplot as plt
import torch

import mole
from mole.data import load_dataset

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "30"))  # the test suite runs every example on a tiny budget

ds = load_dataset("digits", seed=0)  # 8x8 images as 64 standardized features: 1437 train, 360 test
config = mole.TrainConfig(epochs=EPOCHS, batch_size=128)

results = {}
for method in ("mole", "bp"):
    torch.manual_seed(0)  # the same initial weights for both
    net = mole.models.MLP(64, 10, hidden=(256, 128), batch_norm=True)
    results[method] = mole.fit(net, ds.x_train, ds.y_train, method=method, config=config)
    accuracy = results[method].score(ds.x_test, ds.y_test)
    print(f"{method}: test accuracy {100 * accuracy:.2f} %, trained in {results[method].train_seconds:.1f} s")

# %%
# What each module optimized
# --------------------------
#
# ``result.history`` holds one record per module and epoch. MOLE's hidden modules report the estimate of
# I(T_k; Y) on their training batches (in bits; at most log2(10) = 3.32 for ten classes); its head and backprop's
# whole network report cross-entropy.

mole_run, bp_run = results["mole"], results["bp"]
n_modules = len(mole_run.modules())
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
for k in range(n_modules - 1):
    records = mole_run.history.for_module(k)
    left.plot([r["epoch"] + 1 for r in records], [r["I_TY"] for r in records], marker="o", markersize=3,
              label=f"module {k + 1}")
left.set(xlabel="epoch of the module", ylabel="I(T; Y) [bits]", title="MOLE: hidden modules")
left.legend()
head = mole_run.history.for_module(n_modules - 1)
right.plot([r["epoch"] + 1 for r in head], [r["loss"] for r in head], label="MOLE: head (on frozen modules)")
right.plot([r["epoch"] + 1 for r in bp_run.history], bp_run.history[:, "loss"], label="backprop: whole network")
right.set(xlabel="epoch", ylabel="cross-entropy", title="the classifier")
right.legend()
fig.suptitle(f"digits, MLP 256-128: MOLE {100 * mole_run.score(ds.x_test, ds.y_test):.1f} %, "
             f"backprop {100 * bp_run.score(ds.x_test, ds.y_test):.1f} % test accuracy")
fig.tight_layout()
plt.show()
