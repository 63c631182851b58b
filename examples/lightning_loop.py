"""
MOLE inside a Lightning training loop
=====================================

``mole.LocalModel`` wraps a network with MOLE's local objectives as an ordinary ``nn.Module``: in training, with
the targets, its forward returns the logits and the sum of every module's local loss. Each module's input is
detached, so one ``loss.backward()`` gives each module the gradient of its own objective and no gradient crosses
a module. Lightning's automatic optimization needs nothing more: ``training_step`` returns that loss.

The same MLP, from the same initial weights and on the same batches, is also trained by ``mole.fit`` with the
simultaneous schedule (every module steps on every batch, as in this loop); the two land on the same accuracy.
"""
import logging
import os
import warnings

import lightning
import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, RandomSampler, TensorDataset

import mole

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "30"))  # the test suite runs every example on a tiny budget
BATCH_SIZE, LR = 64, 1e-3

X, y = load_digits(return_X_y=True)
X = torch.tensor(X, dtype=torch.float32) / 16  # 8x8 images as 64 features in [0, 1]
X_train, X_test, y_train, y_test = train_test_split(X, torch.tensor(y), test_size=0.2, random_state=0, stratify=y)
train_set = TensorDataset(X_train, y_train)


def network() -> torch.nn.Module:
    torch.manual_seed(0)  # the same initial weights for both runs
    return mole.models.MLP(64, 10, hidden=(256, 128))  # two hidden modules and the head


def loader() -> DataLoader:
    """Shuffled batches from a sampler seeded on its own: every loader made here yields the same batches, epoch
    after epoch, and ``mole.fit`` given one trains on exactly those."""
    return DataLoader(train_set, batch_size=BATCH_SIZE,
                      sampler=RandomSampler(train_set, generator=torch.Generator().manual_seed(0)))


# the objectives' own parts start from config.seed; optimizer, lr and epochs are the loop's (LR, EPOCHS here)
config = mole.TrainConfig(epochs=EPOCHS, batch_size=BATCH_SIZE, lr=LR, schedule="simultaneous")

# %%
# The LightningModule
# -------------------
#
# ``training_step`` returns the summed local loss; ``configure_optimizers`` gives one Adam over every parameter
# (the modules' and their objectives'). ``out.losses`` holds each module's own loss, kept here for the figure.
# Evaluation calls the model without targets, in evaluation mode: it returns the network's logits.


class LocalLearner(lightning.LightningModule):
    def __init__(self, net: torch.nn.Module):
        super().__init__()
        self.model = mole.LocalModel(net, num_classes=10, config=config)
        self.module_losses = []  # one row per step: each module's local loss

    def training_step(self, batch, batch_idx):
        x, y = batch
        out = self.model(x, target=y)  # LocalOutput: logits, loss, losses, terms
        self.module_losses.append(torch.stack(out.losses).detach())
        return out.loss

    def test_step(self, batch, batch_idx):
        x, y = batch
        accuracy = (self.model(x).argmax(dim=1) == y).float().mean()
        self.log("test_accuracy", accuracy, batch_size=len(y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=LR)


logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)  # no banner about the accelerators
warnings.filterwarnings("ignore", ".*does not have many workers.*")  # tensors in memory: workers would not help
warnings.filterwarnings("ignore", ".*isinstance\\(treespec, LeafSpec\\).*", FutureWarning)  # Lightning's, on new torch
learner = LocalLearner(network())
trainer = lightning.Trainer(max_epochs=EPOCHS, accelerator="cpu", devices=1, logger=False,
                            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False)
trainer.fit(learner, loader())
test_loader = DataLoader(TensorDataset(X_test, y_test), batch_size=len(y_test))
accuracy = trainer.test(learner, test_loader, verbose=False)[0]["test_accuracy"]

fitted = mole.fit(network(), loader(), method="mole", config=config)
print(f"lightning: test accuracy {accuracy:.4f} (mole.fit: {fitted.score(X_test, y_test):.4f})")

# %%
# Each module's own loss
# ----------------------
#
# The Lightning run's local losses, step by step: the hidden modules minimize the negative of I(T_k; Y) (in bits),
# the head its cross-entropy. The dots are ``mole.fit``'s epoch means (``result.history``); they sit on the
# Lightning run's, since both trained the same modules on the same batches.

losses = torch.stack(learner.module_losses)  # (steps, modules)
steps_per_epoch = len(losses) // EPOCHS
epochs = torch.arange(1, len(losses) + 1) / steps_per_epoch
names = ["module 1 (-I(T_1; Y))", "module 2 (-I(T_2; Y))", "head (cross-entropy)"]
fig, axes = plt.subplots(1, len(names), figsize=(11, 3.3))
for k, (ax, name) in enumerate(zip(axes, names)):
    ax.plot(epochs, losses[:, k], linewidth=0.6, alpha=0.6, label="Lightning, per step")
    records = fitted.history.for_module(k)
    ax.plot([r["epoch"] + 0.5 for r in records], [r["loss"] for r in records], "o", color="C1", markersize=3,
            label="mole.fit, epoch mean")
    ax.set(xlabel="epoch", title=name)
axes[0].set_ylabel("local loss")
axes[0].legend()
fig.tight_layout()
plt.show()
