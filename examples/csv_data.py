"""
Your own data from a CSV file
=============================

Train MOLE and backprop on a CSV file, save the networks, and predict new rows, with the functions behind the
``mole`` command. The file has a header row, numeric features and the label in the last column::

    python examples/csv_data.py [path/to/data.csv]

Without a path it writes a small CSV (scikit-learn's breast-cancer data) to a temporary folder first. The same
file works on the command line: ``mole run --dataset data.csv`` and ``mole predict RUN_DIR --data new.csv``.
"""
import json
import os
import sys
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from mole.cli import main

EPOCHS = os.environ.get("MOLE_EXAMPLE_EPOCHS", "20")  # the test suite runs every example on a tiny budget

work = Path(os.environ.get("MOLE_EXAMPLE_DIR") or tempfile.mkdtemp(prefix="mole-example-"))
if len(sys.argv) > 1:
    data = Path(sys.argv[1])
else:
    from sklearn.datasets import load_breast_cancer
    X, y = load_breast_cancer(return_X_y=True)
    data = work / "cancer.csv"
    names = np.array(["malignant", "benign"])[y]
    with open(data, "w") as f:
        f.write(",".join(f"f{i}" for i in range(X.shape[1])) + ",diagnosis\n")
        f.writelines(",".join(map(str, row)) + f",{label}\n" for row, label in zip(X, names))

run = work / "run"
main(["run", "--dataset", str(data), "--epochs", EPOCHS, "--methods", "mole,bp", "--out", str(run), "--quiet",
      "--no-plots"])
# the run saved each network; predict for rows of a file (here: the training file itself, labels included)
main(["predict", str(run), "--data", str(data), "--method", "mole"])
print(f"predictions: {run / 'predictions-mole.csv'}")

# %%
# The run folder
# --------------
#
# ``results.json`` holds every number of the run, among them the test accuracy after each epoch (of the last
# module, for MOLE: the head learns last, on the frozen modules before it).

results = json.loads((run / "results.json").read_text())
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for method in results["runs"]:
    curve = method["accuracy_curve"]
    ax.plot([p["epoch"] for p in curve], [100 * p["test_accuracy"] for p in curve], marker="o", markersize=3,
            label=f"{method['method']}: {100 * method['test_accuracy']:.1f} %")
ax.set(xlabel="epoch", ylabel="test accuracy [%]", title=f"{data.name}: test accuracy per epoch")
ax.legend()
fig.tight_layout()
plt.show()
