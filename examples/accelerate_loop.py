"""
MOLE in a training loop run by accelerate
=========================================

``mole.LocalModel`` wraps a network with MOLE's local objectives as an ordinary ``nn.Module``: in training, with
the targets, its forward returns the logits and the sum of every module's local loss. Each module's input is
detached, so one backward pass gives each module the gradient of its own objective and no gradient crosses a
module. The loop below is accelerate's usual one: ``accelerator.prepare`` the model, the optimizer and the
loader, ``accelerator.backward`` the loss.

The same MLP, from the same initial weights and on the same batches, is also trained by ``mole.fit`` with the
simultaneous schedule (every module steps on every batch, as in this loop); the two land on the same accuracy.
"""
import os

import accelerate
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
# The loop
# --------
#
# One Adam over every parameter (the modules' and their objectives'). ``out.terms`` holds what each module
# logged: I(T_k; Y) in bits for the hidden modules, the head's cross-entropy; kept per epoch for the figure.
# Evaluation calls the model without targets, in evaluation mode: it returns the network's logits.

accelerator = accelerate.Accelerator(cpu=True)
model = mole.LocalModel(network(), num_classes=10, config=config)
optimizer = torch.optim.Adam(model.parameters(), lr=LR)
model, optimizer, train_loader = accelerator.prepare(model, optimizer, loader())

terms = []  # one row per epoch: I(T_1; Y), I(T_2; Y), the head's cross-entropy (means over the epoch's batches)
for epoch in range(EPOCHS):
    model.train()
    epoch_terms = []
    for x, y in train_loader:
        out = model(x, target=y)  # LocalOutput: logits, loss, losses, terms
        optimizer.zero_grad()
        accelerator.backward(out.loss)
        optimizer.step()
        epoch_terms.append(torch.stack([out.terms[0]["I_TY"], out.terms[1]["I_TY"], out.terms[2]["cross_entropy"]]))
    terms.append(torch.stack(epoch_terms).mean(dim=0))

model.eval()
with torch.no_grad():
    logits = model(X_test.to(accelerator.device))
accuracy = (logits.argmax(dim=1).cpu() == y_test).float().mean().item()

fitted = mole.fit(network(), loader(), method="mole", config=config)
print(f"accelerate: test accuracy {accuracy:.4f} (mole.fit: {fitted.score(X_test, y_test):.4f})")

# %%
# What each module optimized
# --------------------------
#
# Epoch by epoch, the information each hidden module's output holds about the labels, and the head's
# cross-entropy: lines for the accelerate loop, dots for ``mole.fit`` (``result.history``). They coincide, since
# both trained the same modules on the same batches.

terms = torch.stack(terms)
epochs = range(1, EPOCHS + 1)
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
for k in range(2):
    left.plot(epochs, terms[:, k], color=f"C{k}", label=f"module {k + 1}: accelerate")
    left.plot(epochs, [r["I_TY"] for r in fitted.history.for_module(k)], "o", color=f"C{k}", markersize=3,
              label=f"module {k + 1}: mole.fit")
left.set(xlabel="epoch", ylabel="I(T; Y) [bits]", title="hidden modules")
left.legend()
right.plot(epochs, terms[:, 2], color="C2", label="accelerate")
right.plot(epochs, [r["cross_entropy"] for r in fitted.history.for_module(2)], "o", color="C2", markersize=3,
           label="mole.fit")
right.set(xlabel="epoch", ylabel="cross-entropy", title="the head")
right.legend()
fig.tight_layout()
plt.show()
