"""Your own data from a CSV file: train MOLE and backprop on it, save the network, predict new rows.

    python examples/csv_data.py [path/to/data.csv]      # header row, numeric features, the label in the last column

Without a path it writes a small CSV (scikit-learn's breast-cancer data) to a temporary folder first. The same
file works on the command line: ``mole run --dataset data.csv`` and ``mole predict RUN_DIR --data new.csv``.
"""
import os
import sys
import tempfile
from pathlib import Path

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
