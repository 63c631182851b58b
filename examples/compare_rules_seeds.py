"""
Rules across seeds
==================

Local rules and backprop on the same network over several seeds: each seed draws its own train/test split,
initial weights and batch order, and every rule of a seed shares them. The table and figure give each rule's
mean and spread of test accuracy. The command-line equivalent writes one run folder per seed and a comparison
table and figure: ``mole run --dataset wine --methods mole,dgl,predsim,bp --seeds 0-4``, then
``mole compare RUN_DIR``.
"""
import os
import statistics

import matplotlib.pyplot as plt
import torch
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import mole
from mole.models import MLP

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "100"))
SEEDS = range(int(os.environ.get("MOLE_EXAMPLE_SEEDS", "5")))

X, y = load_wine(return_X_y=True)
accuracies: dict[str, list[float]] = {}
for seed in SEEDS:
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = (torch.tensor(scaler.transform(a), dtype=torch.float32) for a in (X_tr, X_te))
    for rule in ("mole", "dgl", "predsim", "bp"):
        torch.manual_seed(seed)
        net = MLP(13, 3, hidden=(64, 32))
        result = mole.fit(net, X_tr, torch.tensor(y_tr), method=rule,
                          config=mole.TrainConfig(epochs=EPOCHS, batch_size=64, seed=seed))
        accuracies.setdefault(rule, []).append(result.score(X_te, torch.tensor(y_te)))

print(f"{'rule':<8} test accuracy over {len(SEEDS)} seeds")
for rule, accs in accuracies.items():
    print(f"{rule:<8} {100 * statistics.mean(accs):.2f} ± {100 * statistics.pstdev(accs):.2f} %")

# %%
# Every seed, and the mean
# ------------------------

fig, ax = plt.subplots(figsize=(5.5, 3.6))
for i, (rule, accs) in enumerate(accuracies.items()):
    ax.scatter([i] * len(accs), [100 * a for a in accs], alpha=0.6, label="one seed" if i == 0 else None)
    ax.errorbar(i + 0.15, 100 * statistics.mean(accs), yerr=100 * statistics.pstdev(accs), fmt="D", color="black",
                capsize=4, label="mean ± std" if i == 0 else None)
ax.set(xticks=range(len(accuracies)), xticklabels=list(accuracies), ylabel="test accuracy [%]",
       title=f"wine, MLP 64-32, {len(SEEDS)} seeds")
ax.legend()
fig.tight_layout()
plt.show()
