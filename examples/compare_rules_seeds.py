"""Compare local rules across seeds on the same network: mean ± std test accuracy per rule.

    python examples/compare_rules_seeds.py

The command-line equivalent writes one run folder per seed and a comparison table and figure:
``mole run --dataset wine --methods mole,dgl,predsim,bp --seeds 0-4`` (then ``mole compare RUN_DIR``).
"""
import os
import statistics

import torch
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import mole
from mole.models import MLP

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "30"))
SEEDS = range(int(os.environ.get("MOLE_EXAMPLE_SEEDS", "3")))

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
