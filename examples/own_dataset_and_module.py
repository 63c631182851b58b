"""
Your own Dataset and nn.Module
==============================

A ``torch.utils.data.Dataset`` written as usual (items are ``(x, y)`` pairs, here noisy waves of three
frequencies made on the fly) and a model class written as usual (an ``nn.Module`` with a ``forward``). mole
cuts the model into modules right after the submodules named in ``cuts`` (it captures ``forward`` with
``torch.fx``); the part after the last cut is the head. A ``DataLoader`` brings its batch size and shuffling.
"""
import math
import os

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

import mole

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "15"))  # the test suite runs every example on a tiny budget
FREQUENCIES = (3.0, 4.0, 5.0)


class Waves(Dataset):
    """Sine waves of three frequencies with a random phase and Gaussian noise: item i is ((1, 64), class)."""

    def __init__(self, n: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.targets = torch.randint(0, len(FREQUENCIES), (n,), generator=g)  # mole reads the labels from here
        self.phase = 2 * math.pi * torch.rand(n, generator=g)
        self.noise = 0.8 * torch.randn(n, 1, 64, generator=g)
        self.time = torch.linspace(0, 1, 64)

    def __len__(self):
        return len(self.targets)

    def __getitem__(self, i):
        label = int(self.targets[i])
        wave = torch.sin(2 * math.pi * FREQUENCIES[label] * self.time + self.phase[i])
        return wave.unsqueeze(0) + self.noise[i], label


class ConvNet(nn.Module):
    """Two convolutional blocks and a linear classifier."""

    def __init__(self, n_classes: int = 3):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv1d(1, 16, 7, padding=3), nn.BatchNorm1d(16), nn.ReLU(), nn.MaxPool1d(2))
        self.block2 = nn.Sequential(nn.Conv1d(16, 32, 5, padding=2), nn.BatchNorm1d(32), nn.ReLU(), nn.MaxPool1d(2))
        self.classifier = nn.Linear(32 * 16, n_classes)

    def forward(self, x):
        h = self.block2(self.block1(x))
        return self.classifier(h.flatten(1))


train, test = Waves(1200, seed=0), Waves(400, seed=1)
config = mole.TrainConfig(epochs=EPOCHS)
results = {}
for method in ("mole", "bp"):
    torch.manual_seed(0)
    results[method] = mole.fit(ConvNet(), DataLoader(train, batch_size=128, shuffle=True), method=method,
                               config=config, cuts=["block1", "block2"])
    print(f"{method}: test accuracy {100 * results[method].score(test):.2f} %")
print("MOLE's modules:", results["mole"].network.describe())

# %%
# The data, and each module's local loss
# --------------------------------------
#
# Left: one wave of each class. Right: MOLE's modules train one after another, each on its own loss
# (the negative of its objective for the two blocks, cross-entropy for the classifier).

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
for label, frequency in enumerate(FREQUENCIES):
    x, _ = train[int((train.targets == label).nonzero()[0])]
    left.plot(train.time, x[0] + 3 * label, label=f"class {label}: {frequency:g} cycles")
left.set(xlabel="time", yticks=[], title="one noisy wave per class (shifted apart)")
left.legend(fontsize=8, loc="upper right")
history = results["mole"].history
for k, name in enumerate(("block1", "block2", "classifier")):
    records = history.for_module(k)
    right.plot([r["epoch"] + 1 for r in records], [r["loss"] for r in records], marker="o", markersize=3,
               label=f"module {k + 1}: {name}")
right.set(xlabel="epoch of the module", ylabel="local loss", title="MOLE, one module at a time")
right.legend(fontsize=8)
fig.tight_layout()
plt.show()
