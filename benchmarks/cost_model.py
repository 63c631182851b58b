"""The pipeline's cost model against the clock: its rates on this machine, and modelled vs timed stage costs.

    python benchmarks/cost_model.py             # MOLE_DATA pointing at the data root (MNIST, MUTAG)
    python benchmarks/cost_model.py --fit       # fit the model's rates to this machine's timed steps (costs.RATES)

For each network, every stage's step on one batch is costed by the model (mole.schedules.costs, counted) and
timed (best of two, one thread, as a worker of two runs it); the table gives both, each stage's share of the
network's total, and the split of two workers each way. The model only has to *rank* and *apportion* the stages
as the clock does: the split is what it decides.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from report import machine, write_section  # noqa: E402

import mole  # noqa: E402
from mole.adapters import TensorData  # noqa: E402
from mole.data import GraphDataset, load_dataset  # noqa: E402
from mole.experiment import make_train_config  # noqa: E402
from mole.models import build_model  # noqa: E402
from mole.rules import rule_resolver  # noqa: E402
from mole.schedules import costs  # noqa: E402
from mole.schedules.asynchronous import balanced_groups  # noqa: E402


def _best(fn, repeat=5) -> float:
    fn()
    best = float("inf")
    for _ in range(repeat):
        tic = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - tic)
    return best


#: the networks whose timed steps the rates are fitted to (``--fit``): NETWORKS and these
FIT_EXTRA = [("MNIST CNN 32-64, Rényi", "mnist", "cnn", {}, {}), ("digits MLP 256-128", "digits", "mlp", {}, {}),
             ("MNIST MLP 3×1024, Rényi", "mnist", "mlp", {"hidden": (1024, 1024, 1024)}, {"batch_size": 128}),
             ("MNIST-1D CNN 32-64, SupCon", "mnist1d", "cnn", {}, {"estimator": "infonce"})]


def fit(root) -> dict:
    """Rates minimizing the relative error of the model against the timed steps of every stage (NNLS)."""
    import numpy as np
    from scipy.optimize import nnls
    rows, seconds = [], []
    for _, name, model, build, train in NETWORKS + FIT_EXTRA:
        stages, data, batch_size = stages_of(load_dataset(name, root, seed=0), model, build, train)
        hops = data.hops([s.module for s in stages])
        batch = next(iter(data.batches(data.x, batch_size, torch.Generator().manual_seed(0), hops)))
        t = batch.t_in
        for stage in stages:
            work, _ = costs.counted(stage, batch, t)
            sec, t = costs.timed(stage, batch, t)
            rows.append([work.flops, work.conv, work.eigh, work.elements, work.ops])
            seconds.append(sec)
    a, b = np.array(rows, dtype=float), np.array(seconds)
    coef, _ = nnls(a / b[:, None], np.ones_like(b))
    keys = ("flops", "conv", "eigh", "elements")
    return {**{k: (1 / c if c else float("inf")) for k, c in zip(keys, coef)}, "op": float(coef[4])}


def calibrate() -> dict:
    """This machine's rates, one thread: matmul FLOP/s, eigh FLOP/s, element-wise elements/s, seconds per op."""
    a, b = torch.randn(256, 1024), torch.randn(1024, 1024)
    flops = 2 * 256 * 1024 * 1024 / _best(lambda: a @ b)
    g = torch.randn(256, 256)
    g = g @ g.T
    eigh = 9 * 256 ** 3 / _best(lambda: torch.linalg.eigh(g))
    x = torch.randn(4_000_000)
    elements = 2 * x.numel() / _best(lambda: torch.relu(x))  # read and written
    one = torch.ones(1)
    op = _best(lambda: [one + one for _ in range(1000)]) / 1000
    return {"flops": flops, "eigh": eigh, "elements": elements, "op": op}


NETWORKS = [  # label, dataset, model, build options, train options
    ("MNIST MLP 512-256-128 (the schedules benchmark)", "mnist", "mlp", {"hidden": (512, 256, 128)}, {}),
    ("MNIST MLP 3×1024, SupCon (PredSim's setting)", "mnist", "mlp", {"hidden": (1024, 1024, 1024)},
     {"batch_size": 128, "estimator": "infonce"}),
    ("MNIST CNN 32-64, SupCon", "mnist", "cnn", {}, {"estimator": "infonce"}),
    ("MUTAG GIN 64-64", "mutag", "gin", {"hidden": (64, 64)}, {"batch_size": 128}),
]


def stages_of(ds, model: str, build: dict, train: dict):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.ModularNetwork(build_model(model, ds.input_shape, ds.n_classes, task=ds.kind, **build))
    config = make_train_config(**train)
    data = ds.folds(10, 0)[0][0] if isinstance(ds, GraphDataset) else TensorData(ds.x_train, ds.y_train)
    shapes = mole.api._check_network(net, data, ds.n_classes)
    return rule_resolver("mole").stages(net, shapes, ds.n_classes, config), data, config.batch_size


def measured_rates(ds, epochs: int = 2) -> dict:
    """samples/s of the 4-module MLP trained by one thread (simultaneous) and by 2 asynchronous workers."""
    out = {}
    for label, schedule, workers in (("1 worker", "simultaneous", 1), ("2 workers", "async", 2)):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = mole.models.MLP(784, ds.n_classes, hidden=(512, 256, 128), batch_norm=True)
        config = mole.TrainConfig(epochs=epochs, batch_size=256, schedule=schedule, workers=workers, seed=0)
        out[label] = mole.fit(net, ds.x_train, ds.y_train, config=config).samples_per_second
    return out


def pipeline(root) -> list[str]:
    """The model's throughput against the measured one (1 and 2 workers), then its predictions for K workers."""
    ds = load_dataset("mnist", root, seed=0)
    stages, data, batch_size = stages_of(ds, "mlp", {"hidden": (512, 256, 128)}, {})
    modelled = costs.stage_costs(stages, data, batch_size)
    measured = measured_rates(ds)
    lines = ["| network | workers | groups | predicted samples/s | measured samples/s | predicted ÷ measured |",
             "|---|---|---|---|---|---|"]
    for label, k in (("1 worker", 1), ("2 workers", 2)):
        groups = balanced_groups(modelled, k)
        rate = costs.pipeline_rate(modelled, groups, batch_size)
        lines.append(f"| MNIST MLP 512-256-128 + head | {k} | {groups_text(groups)} | {rate:.0f} | "
                     f"{measured[label]:.0f} | {rate / measured[label]:.2f} |")
    deep = (512,) * 16
    stages, data, batch_size = stages_of(ds, "mlp", {"hidden": deep}, {})
    modelled = costs.stage_costs(stages, data, batch_size)
    message = [batch_size * w * 4 for w in deep] + [batch_size * ds.n_classes * 4]  # float32 activations
    lines += ["", "Predicted samples/s for K workers (one core each) on MNIST MLP 16×512 + head (17 modules), batch "
              f"{batch_size}; one host (shared memory or loopback: transfers free), and across hosts "
              "(each activation message of 0.5 MB costs latency + size / bandwidth at both of its ends):", "",
              "| K | groups | one host | 10 Gbit/s, 50 µs | 1 Gbit/s, 100 µs | speed-up on one host |",
              "|---|---|---|---|---|---|"]
    single = costs.pipeline_rate(modelled, [list(range(len(modelled)))], batch_size)
    for k in (1, 2, 4, 8, 16):
        groups = balanced_groups(modelled, k)
        host = costs.pipeline_rate(modelled, groups, batch_size)
        fast = costs.pipeline_rate(modelled, groups, batch_size, message, 1.25e9, 50e-6)
        slow = costs.pipeline_rate(modelled, groups, batch_size, message, 1.25e8, 100e-6)
        lines.append(f"| {k} | {groups_text(groups)} | {host:.0f} | {fast:.0f} | {slow:.0f} | {host / single:.2f}× |")
    return lines


def groups_text(groups) -> str:
    return " \\| ".join(f"{g[0] + 1}" if len(g) == 1 else f"{g[0] + 1}-{g[-1] + 1}" for g in groups)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--fit", action="store_true", help="fit the rates to this machine and print them")
    p.add_argument("--data-root", default=None)
    args = p.parse_args()
    torch.set_num_threads(1)  # a worker of two on two cores
    if args.fit:
        print("fitted rates:", {k: f"{v:.3g}" for k, v in fit(args.data_root).items()}, "model's:", costs.RATES)
        return
    rates = calibrate()
    print("this machine's peak rates:", {k: f"{v:.3g}" for k, v in rates.items()}, flush=True)
    rows = []
    for label, name, model, build, train in NETWORKS:
        ds = load_dataset(name, args.data_root, seed=0)
        stages, data, batch_size = stages_of(ds, model, build, train)
        modelled = costs.stage_costs(stages, data, batch_size)
        timed = costs.stage_costs(stages, data, batch_size, balance="timed")
        split_m, split_t = balanced_groups(modelled, 2), balanced_groups(timed, 2)
        share = lambda cs: " / ".join(f"{100 * c / sum(cs):.0f}" for c in cs)  # noqa: E731
        fmt = lambda g: " \\| ".join(",".join(str(i + 1) for i in grp) for grp in g)  # noqa: E731
        rows.append(f"| {label} | {' / '.join(f'{1e3 * c:.2f}' for c in modelled)} | "
                    f"{' / '.join(f'{1e3 * c:.2f}' for c in timed)} | {share(modelled)} | {share(timed)} | "
                    f"{fmt(split_m)} | {fmt(split_t)} {'✓' if split_m == split_t else '✗'} |")
        print(rows[-1], flush=True)
    body = "\n".join([
        "## The pipeline's cost model against the clock",
        "",
        f"Command: `python benchmarks/cost_model.py` (MOLE_DATA pointing at the data root). Machine: {machine()}. "
        "Each stage's step (forward, local objective, backward, optimizer update) on the first batch of a fixed draw, "
        "costed by the model of `mole.schedules.costs` (counted FLOPs, eigendecompositions, elements written and "
        "operations at fixed rates: deterministic) and timed on this machine with one thread (best of two). Shares "
        "are each stage's % of the network's total; the splits are the two-worker groups each cost gives.",
        "",
        "This machine's peak rates (one thread; matmul and eigh FLOP/s, relu elements/s, seconds per op): "
        + ", ".join(f"{k} {v:.3g}" for k, v in rates.items()) + "; the model's effective rates, fitted to timed "
        "steps (`--fit`): " + ", ".join(f"{k} {v:.3g}" for k, v in costs.RATES.items()) + ".",
        "",
        "| network | modelled ms per stage | timed ms per stage | modelled share % | timed share % | split, model "
        "| split, timed |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Throughput of a pipeline as the model predicts it (`mole.schedules.costs.pipeline_rate`: the slowest worker's "
        "stage costs plus its transfers) against the measured samples/s of the 4-module MLP (2 epochs; 1 worker: the "
        "simultaneous schedule on one thread):",
        "",
        *pipeline(args.data_root),
    ])
    write_section("cost-model", body)
    print(body)


if __name__ == "__main__":
    main()
