"""
Learning from few labels
========================

MNIST-1D (one-dimensional signals of ten classes, generated locally) with a tenth of its training labels: the
other samples keep the label -1, scikit-learn's convention for an unlabelled sample. Backprop can train on the
labelled samples only. MOLE trains on all of them: each step pairs a batch of labelled samples with a batch of
the whole set, I(T; Y) reads the labelled rows and the label-free term I(T; X), weighted by ``lambda_x``, reads
every row.

Three runs of the same CNN, each taking the same number of optimizer steps per module: MOLE with the unlabelled
samples, MOLE on the labelled samples alone, and backprop on the labelled samples. Every batch is shifted by up
to two positions (``augment="shift"``), as ``mole run --labels`` does for signals.
"""
import os

import matplotlib.pyplot as plt
import torch

import mole
from mole.data import load_dataset

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "10"))  # the test suite runs every example on a tiny budget
LABELS_PER_CLASS = 40  # of 400 per class
BATCH = 128

ds = load_dataset("mnist1d")  # signals (n, 1, 40): 4000 train, 1000 test
order = torch.randperm(len(ds.y_train), generator=torch.Generator().manual_seed(0))
y = torch.full_like(ds.y_train, -1)
for c in range(10):
    chosen = order[ds.y_train[order] == c][:LABELS_PER_CLASS]
    y[chosen] = c
labelled = y >= 0
print(f"{int(labelled.sum())} labelled and {int((~labelled).sum())} unlabelled training signals")


def network() -> torch.nn.Module:
    torch.manual_seed(0)  # the same initial weights for every run
    return mole.models.CNN((1, 40), 10, channels=(32, 64))


steps = lambda n: -(-n // BATCH)  # noqa: E731 - optimizer steps per epoch over n samples
same_steps = EPOCHS * steps(len(y)) // steps(int(labelled.sum()))  # epochs over the labelled samples alone
settings = dict(batch_size=BATCH, estimator="infonce", augment="shift")
runs = {
    "MOLE, every sample": mole.fit(network(), ds.x_train, y, config=mole.TrainConfig(
        epochs=EPOCHS, objective=mole.ObjectiveConfig(lambda_y=1.0, lambda_x=0.1), **settings)),
    "MOLE, labelled only": mole.fit(network(), ds.x_train[labelled], y[labelled],
                                    config=mole.TrainConfig(epochs=same_steps, **settings)),
    "backprop, labelled only": mole.fit(network(), ds.x_train[labelled], y[labelled], method="bp",
                                        config=mole.TrainConfig(epochs=same_steps, **settings)),
}
accuracy = {name: 100 * run.score(ds.x_test, ds.y_test) for name, run in runs.items()}
for name, value in accuracy.items():
    print(f"{name:<24} test accuracy {value:.2f} %")

# %%
# Test accuracy with 40 labels per class
# --------------------------------------
#
# What the unlabelled samples add to MOLE is the difference between its two bars. This is one seed on a short
# budget; the guide on few labels gives MOLE and backprop in this setting over three seeds at full length.

fig, ax = plt.subplots(figsize=(6, 3.2))
ax.barh(list(accuracy), list(accuracy.values()), color=["tab:blue", "tab:cyan", "tab:orange"])
for i, value in enumerate(accuracy.values()):
    ax.text(value - 1, i, f"{value:.1f} %", va="center", ha="right", color="white")
ax.invert_yaxis()
ax.set(xlabel="test accuracy [%]", xlim=(0, 100), title="MNIST-1D, CNN 32-64, 10 % of the labels")
fig.tight_layout()
plt.show()
