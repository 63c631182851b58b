"""
Training modules in parallel processes
======================================

Local objectives let modules learn at the same time. Three schedules train the same MLP on digits:

* ``sequential``: one module at a time, each frozen before the next starts (the paper's schedule);
* ``simultaneous``: every batch updates every module, each on the detached output of the one before;
* ``async``: the modules split between worker processes (here two) that pass activations down a pipeline,
  never a gradient back; the updates are the simultaneous schedule's, computed in parallel.

The workers are fresh Python processes (started with ``python -m``), so a script needs no
``if __name__ == "__main__"`` guard. Starting them takes a few seconds, which a network this small does not
win back; the pipeline pays on larger networks and longer runs (``mole run --schedule async`` starts it only
where its cost model predicts it does).
"""
import os

import matplotlib.pyplot as plt
import torch

import mole
from mole.data import load_dataset

EPOCHS = int(os.environ.get("MOLE_EXAMPLE_EPOCHS", "10"))  # the test suite runs every example on a tiny budget

ds = load_dataset("digits", seed=0)
configs = {"sequential": mole.TrainConfig(epochs=EPOCHS, batch_size=128, schedule="sequential"),
           "simultaneous": mole.TrainConfig(epochs=EPOCHS, batch_size=128, schedule="simultaneous"),
           "async": mole.TrainConfig(epochs=EPOCHS, batch_size=128, schedule="async", workers=2)}
results = {}
for name, config in configs.items():
    torch.manual_seed(0)
    net = mole.models.MLP(64, 10, hidden=(256, 128, 64))
    results[name] = mole.fit(net, ds.x_train, ds.y_train, config=config)
    r = results[name]
    print(f"{name:<12} test accuracy {100 * r.score(ds.x_test, ds.y_test):.2f} %, {r.train_seconds:.1f} s "
          f"({r.samples_per_second:.0f} samples/s)")

info = results["async"].schedule
print(f"async: {info['workers']} workers, modules {info['groups']}, start-up {info['startup_seconds']:.1f} s")

# %%
# Where the time went
# -------------------
#
# Left: each schedule's wall time (the asynchronous one includes starting its workers). Right: each worker's
# seconds in the pipeline, computing or blocked waiting for the worker before it (receiving) or after it
# (sending, at most 4 batches in flight).

fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
names = list(results)
left.bar(names, [results[n].train_seconds for n in names], color=["tab:blue", "tab:green", "tab:orange"])
for i, n in enumerate(names):
    left.text(i, results[n].train_seconds, f"{100 * results[n].score(ds.x_test, ds.y_test):.1f} %", ha="center",
              va="bottom", fontsize=9)
left.set(ylabel="training seconds", title="wall time (test accuracy on top)")
bottom = [0.0] * info["workers"]
workers = [f"worker {w + 1}\nmodules {g[0]}-{g[-1]}" if len(g) > 1 else f"worker {w + 1}\nmodule {g[0]}"
           for w, g in enumerate(info["groups"])]
for part, color in (("compute", "tab:orange"), ("receive_wait", "0.6"), ("send_wait", "0.85")):
    seconds = [w[part] for w in info["worker_seconds"]]
    right.bar(workers, seconds, bottom=bottom, color=color, label=part.replace("_", " "))
    bottom = [b + s for b, s in zip(bottom, seconds)]
right.set(ylabel="seconds", title="the asynchronous pipeline, per worker")
right.legend(fontsize=8)
fig.tight_layout()
plt.show()
