"""Data as PyTorch users hold it: a DataLoader against tensors, and arrays larger than memory.

    python benchmarks/data_loading.py                          # both parts (the loader part needs $MOLE_DATA)
    python benchmarks/data_loading.py --part loader --seeds 1
    python benchmarks/data_loading.py --part memory --sizes 0.5,1,2,4

Parts:

* ``loader``: the parity setting (MNIST, MLP 3×1024 with BatchNorm, 3 epochs, batch 128, Adam 5e-4, 2-pixel shifts,
  MOLE with its MNIST signal, InfoNCE), trained from the same tensors twice, side by side in one process: as tensors,
  and as a ``TensorDataset`` through a ``DataLoader(batch_size=128, shuffle=True, num_workers=2)``. Wall seconds of
  ``mole.fit`` (reading included), their ratio, the test accuracies, and whether the weights are identical.
* ``memory``: random features (784 per sample, float32) with labels from a fixed linear map, saved as ``.npy`` files
  of 0.5 / 1 / 2 / 4 GB; MOLE (MLP 256-128, one epoch, batch 512, InfoNCE) trains on each in a fresh process, given
  the array memory-mapped (``numpy.load(path, mmap_mode="r")``: read batch by batch with ``pread``, frozen outputs
  in the disk cache) and, as before this issue, loaded whole (``numpy.load(path)``). Peak resident memory of the
  process (``VmHWM``: everything it touched, file pages included) per size.
"""
from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, write_section  # noqa: E402

import mole  # noqa: E402
from mole.config import EstimatorConfig, TrainConfig  # noqa: E402

FEATURES, CLASSES = 784, 10


def _peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


#: how the same samples are given: tensors, and through a DataLoader over ...
VARIANTS = ("tensors", "TensorDataset", "Dataset", "Dataset, 0 workers")


class PerItem(torch.utils.data.Dataset):
    """The same tensors as a plain map-style Dataset, read one item at a time (as a Dataset of files is)."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def loader_part(seeds: list[int]) -> str:
    from torch.utils.data import DataLoader, TensorDataset
    from mole.data import load_dataset
    data = load_dataset("mnist")
    x, y = data.x_train, data.y_train
    rows = []
    for seed in seeds:
        torch.manual_seed(seed)
        net0 = mole.models.MLP(FEATURES, CLASSES, hidden=(1024, 1024, 1024))
        for method in ("mole", "bp"):
            cfg = TrainConfig(epochs=3, batch_size=128, lr=5e-4, augment="shift", seed=seed,
                              estimator=EstimatorConfig("infonce"))
            runs = {}
            for how in VARIANTS:
                dataset = TensorDataset(x, y) if how == "TensorDataset" else PerItem(x, y)
                workers = 0 if how.endswith("0 workers") else 2
                given = x if how == "tensors" else DataLoader(dataset, batch_size=128, shuffle=True,
                                                               num_workers=workers)
                tic = time.perf_counter()
                res = mole.fit(copy.deepcopy(net0), given, y if how == "tensors" else None, method=method,
                               config=cfg)
                runs[how] = (res, time.perf_counter() - tic)
            a, ta = runs["tensors"]
            for how in VARIANTS[1:]:
                b, tb = runs[how]
                same = all(torch.equal(p, q) for p, q in zip(a.network.state_dict().values(),
                                                             b.network.state_dict().values()))
                rows.append(f"| {method} | {how} | {seed} | {100 * a.score(data.x_test, data.y_test):.2f} | "
                            f"{100 * b.score(data.x_test, data.y_test):.2f} | {ta:.1f} | {tb:.1f} | {tb / ta:.2f}× | "
                            f"{'yes' if same else 'no'} |")
                print(rows[-1], flush=True)
    return ("## Data as PyTorch holds it: a DataLoader against tensors\n\n"
            f"Command: `python benchmarks/data_loading.py --part loader --seeds {','.join(map(str, seeds))}`. Machine: "
            f"{machine()}. MNIST, MLP 784-1024-1024-1024-10 with BatchNorm, 3 epochs (per module for MOLE), batch "
            "128, Adam 5e-4, 2-pixel shifts, MOLE with InfoNCE; the same network, seed and batches given as tensors, "
            "and through `DataLoader(batch_size=128, shuffle=True, num_workers=2)` over a `TensorDataset` (its rows "
            "are indexed in the training process: the workers would only copy them) and over a plain map-style "
            "Dataset of the same tensors read item by item (by the two worker processes, on the same two cores as "
            "training; and with `num_workers=0`, in the training process), one after the other in one process. "
            "Seconds: wall seconds of `mole.fit`, reading included."
            "\n\n| method | through a DataLoader over | seed | test acc, tensors (%) | test acc, DataLoader (%) | "
            "s, tensors | s, DataLoader | DataLoader ÷ tensors | identical weights |\n"
            "|---|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n")


def make_array(folder: Path, gigabytes: float) -> tuple[Path, Path]:
    """X (n, 784) float32 of ``gigabytes`` and labels from a fixed linear map, written in chunks (never whole)."""
    n = int(gigabytes * 2**30 / (FEATURES * 4))
    x_path, y_path = folder / f"x-{gigabytes}.npy", folder / f"y-{gigabytes}.npy"
    array = np.lib.format.open_memmap(x_path, mode="w+", dtype=np.float32, shape=(n, FEATURES))
    rng, w = np.random.default_rng(0), np.random.default_rng(1).standard_normal((FEATURES, CLASSES))
    labels = np.empty(n, dtype=np.int64)
    for i in range(0, n, 65536):
        chunk = rng.standard_normal((min(65536, n - i), FEATURES), dtype=np.float32)
        array[i:i + len(chunk)] = chunk
        labels[i:i + len(chunk)] = (chunk @ w).argmax(1)
    array.flush()
    del array
    np.save(y_path, labels)
    return x_path, y_path


def child(x_path: str, y_path: str, mode: str) -> None:
    """One training run in this (fresh) process; prints its measurements as JSON."""
    x = np.load(x_path, mmap_mode="r") if mode == "mmap" else np.load(x_path)
    y = np.load(y_path)
    torch.manual_seed(0)
    net = mole.models.MLP(FEATURES, CLASSES, hidden=(256, 128))
    cfg = TrainConfig(epochs=1, batch_size=512, lr=1e-3, estimator=EstimatorConfig("infonce"),
                      cache_dir=str(Path(x_path).parent / f"cache-{mode}"))
    tic = time.perf_counter()
    res = mole.fit(net, x, y, config=cfg)
    print(json.dumps({"peak_mb": _peak_mb(), "seconds": time.perf_counter() - tic, "n": len(y),
                      "cache": res.schedule.get("cache")}))


def memory_part(sizes: list[float]) -> str:
    rows = []
    with tempfile.TemporaryDirectory(prefix="mole-bench-", dir="/var/tmp") as tmp:
        for gb in sizes:
            x_path, y_path = make_array(Path(tmp), gb)
            found = {}
            for mode in ("mmap", "memory"):
                out = subprocess.run([sys.executable, __file__, "--child", str(x_path), str(y_path), mode],
                                     capture_output=True, text=True, check=True)
                found[mode] = json.loads(out.stdout.strip().splitlines()[-1])
            m, r = found["mmap"], found["memory"]
            rows.append(f"| {gb:g} | {m['n']:,} | {m['peak_mb']:.0f} | {r['peak_mb']:.0f} | {m['seconds']:.0f} | "
                        f"{r['seconds']:.0f} | {', '.join(m['cache'])} |")
            print(rows[-1], flush=True)
            x_path.unlink()
    peaks = [float(r.split("|")[3]) for r in rows]
    spread = max(peaks) - min(peaks)
    return ("## Arrays larger than memory\n\n"
            f"Command: `python benchmarks/data_loading.py --part memory --sizes {','.join(f'{s:g}' for s in sizes)}`. "
            f"Machine: {machine()}. Random float32 features (784 per sample) with labels from a fixed linear map, "
            "saved as `.npy`; MOLE (MLP 784-256-128-10, one epoch per module, batch 512, InfoNCE) in a fresh process "
            "per run, given the file memory-mapped (`numpy.load(path, mmap_mode='r')`) or loaded whole "
            "(`numpy.load(path)`, as before). Peak resident memory: the process's `VmHWM` (every page it touched, "
            "file pages included).\n\n"
            "| GB on disk | samples | peak MB, memory-mapped | peak MB, loaded whole | s, memory-mapped | "
            "s, loaded whole | frozen outputs (memory-mapped) |\n|---|---|---|---|---|---|---|\n" + "\n".join(rows)
            + f"\n\nMemory-mapped, the peak varies by {spread:.0f} MB across the sizes.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("loader", "memory", "all"), default="all")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--sizes", default="0.5,1,2,4", help="GB of the memory part's arrays")
    parser.add_argument("--child", nargs=3, metavar=("X", "Y", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    sections = []
    if args.part in ("loader", "all"):
        sections.append(loader_part([int(s) for s in args.seeds.split(",")]))
    if args.part in ("memory", "all"):
        sections.append(memory_part([float(s) for s in args.sizes.split(",")]))
    for section in sections:
        name = "data-loading-loader" if section.startswith("## Data as PyTorch holds it") else "data-loading-memory"
        write_section(name, section)


if __name__ == "__main__":
    main()
