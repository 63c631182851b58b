"""The simultaneous schedule: every batch updates every module, each on the detached output of the one before."""
import math
from itertools import pairwise

import torch
from graphs.conftest import paths_and_stars  # noqa: F401 - the graph collection shared with tests/graphs (communities: tests/conftest.py)

import mole
from mole import ModularNetwork, TrainConfig, build_stages
from mole.adapters import TensorData
from mole.callbacks import CallbackList
from mole.memory import ActivationMemory
from mole.models import GNN
from mole.schedules import SimultaneousSchedule

SIM = {"schedule": "simultaneous"}


class Events(mole.Callback):
    """Records the schedule's events as (name, stage index)."""

    def __init__(self):
        self.events, self.begin = [], {}

    def on_stage_begin(self, stage, epochs, batches_per_epoch, **kw):
        self.begin[stage.index] = epochs * batches_per_epoch
        self.events.append(("begin", stage.index))

    def on_batch_end(self, stage, loss, **kw):
        self.events.append(("batch", stage.index))

    def on_epoch_end(self, record, stage, **kw):
        assert record["module"] == stage.index
        self.events.append(("epoch", stage.index))

    def on_stage_end(self, stage, **kw):
        self.events.append(("end", stage.index))

    def of(self, name):
        return [k for e, k in self.events if e == name]


def test_learns_digits():
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X / 16, dtype=torch.float32), torch.tensor(y)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, test = perm[:1000], perm[1000:]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = mole.models.MLP(64, 10, hidden=(32, 32))
    result = mole.fit(net, X[train], y[train], config=TrainConfig(epochs=5, batch_size=100, lr=1e-2, **SIM))
    # chance is 0.1; random hidden modules under a trained head reach about 0.5, this schedule about 0.91
    assert result.score(X[test], y[test]) > 0.8
    for k in (0, 1):  # hidden modules maximize I(T;Y): their loss -I falls epoch by epoch
        losses = [r["loss"] for r in result.history.for_module(k)]
        assert losses[-1] < losses[0] and result.history.for_module(k)[-1]["I_TY"] > 0


def test_every_module_steps_on_every_batch_and_nothing_else_moves(tiny_mlp, blobs):
    x, y = blobs
    net = ModularNetwork(tiny_mlp())
    arrivals = []  # block index of every gradient that reaches a module parameter
    for j, block in enumerate(net.blocks):
        for p in block.parameters():
            p.register_hook(lambda g, j=j: arrivals.append(j))

    class Watch(Events):
        """At each step's end: which blocks changed since the previous step, and which got gradients."""

        def __init__(self):
            super().__init__()
            self.before, self.steps, self.optimizer_steps = None, [], {}

        def snapshot(self):
            return [[p.detach().clone() for p in b.parameters()] for b in net.blocks]

        def on_stage_begin(self, stage, **kw):
            super().on_stage_begin(stage, **kw)
            self.before = self.snapshot()
            counts = self.optimizer_steps.setdefault(stage.index, [0])
            stage.optimizer.register_step_post_hook(lambda *a: counts.__setitem__(0, counts[0] + 1))

        def on_batch_end(self, stage, loss, **kw):
            super().on_batch_end(stage, loss)
            now = self.snapshot()
            changed = {j for j in range(len(now)) if any(not torch.equal(p, q) for p, q in zip(now[j], self.before[j]))}
            self.steps.append((stage.index, changed, set(arrivals)))
            arrivals.clear()
            self.before = now

    watch = Watch()
    epochs, batch_size = 3, 64
    result = mole.fit(net, x, y, config=TrainConfig(epochs=epochs, batch_size=batch_size, lr=1e-2, **SIM),
                      callbacks=[watch])
    n_batches = TensorData(x, y).n_batches(batch_size)
    assert watch.of("batch") == [0, 1, 2] * (epochs * n_batches)  # per batch: module 1, 2, then the head
    for k in range(3):
        assert watch.of("batch").count(k) == watch.begin[k] == epochs * n_batches
        assert watch.optimizer_steps[k] == [epochs * n_batches]
    for k, changed, grads in watch.steps:
        assert changed == {k}, f"a step of module {k} changed modules {changed}"
        assert grads == {k}, f"a step of module {k} sent gradients to modules {grads}"
    assert watch.of("begin") == [0, 1, 2] and watch.of("end") == [0, 1, 2]
    assert watch.events.index(("end", 0)) > max(i for i, e in enumerate(watch.events) if e[0] == "epoch")
    assert watch.of("epoch") == [0, 1, 2] * epochs
    assert all(not p.requires_grad for p in result.network.parameters())


def test_progress_bar_counts_each_interleaved_module_on_its_own_bar(tiny_mlp, blobs):
    x, y = blobs

    class Bars(mole.ProgressBar):
        def __init__(self):
            super().__init__(disable=False)  # a disabled tqdm bar does not count
            self.final = {}

        def on_stage_end(self, stage, **kw):
            self.final[stage.index] = self.bars[stage.index].n
            super().on_stage_end(stage=stage, **kw)

    bars = Bars()
    mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=2, batch_size=64, **SIM), callbacks=[bars])
    assert bars.final == {k: 2 * TensorData(x, y).n_batches(64) for k in range(3)} and bars.bars == {}


def test_records_have_the_sequential_keys(tiny_mlp, blobs):
    x, y = blobs
    sim = mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=2, batch_size=64, **SIM))
    seq = mole.fit(tiny_mlp(), x, y, config=TrainConfig(epochs=2, batch_size=64))
    for k in range(3):
        a, b = sim.history.for_module(k), seq.history.for_module(k)
        assert [r["epoch"] for r in a] == [0, 1] and [set(r) for r in a] == [set(r) for r in b]
        assert all(math.isfinite(r["loss"]) and r["seconds"] > 0 for r in a)


def test_each_module_trains_on_the_detached_train_mode_output_of_the_one_before(tiny_mlp, blobs):
    x, y = blobs
    net = ModularNetwork(tiny_mlp(hidden=(16, 12), dropout=0.3))  # dropout: train and eval outputs differ
    calls = []
    for j, block in enumerate(net.blocks):
        block.register_forward_hook(lambda m, inp, out, j=j: calls.append((j, m.training, inp[0], out.detach())))

    class Outputs(mole.Callback):
        def __init__(self):
            self.tracked = []

        def on_batch_end(self, stage, **kw):
            self.tracked.append(stage.output.requires_grad or stage.output.grad_fn is not None)

    outputs = Outputs()
    mole.fit(net, x, y, config=TrainConfig(epochs=2, batch_size=64, lr=1e-2, **SIM), callbacks=[outputs])
    train_calls = [c for c in calls if c[1]]
    assert [c[0] for c in train_calls] == [0, 1, 2] * (len(train_calls) // 3)
    for i in range(0, len(train_calls), 3):
        chain = train_calls[i:i + 3]
        for (_, _, _, out), (_, _, inp, _) in pairwise(chain):
            assert torch.equal(inp, out), "a module's input is not the previous module's output of this step"
            assert not inp.requires_grad
    assert not any(outputs.tracked)


def test_resume_leaves_trained_stages_untouched(tiny_mlp, blobs):
    x, y = blobs
    net = ModularNetwork(tiny_mlp())
    stages = build_stages(net, TrainConfig(lr=1e-2))
    first = [p.detach().clone() for p in net.blocks[0].parameters()]
    rest = [p.detach().clone() for b in net.blocks[1:] for p in b.parameters()]
    calls = []  # (train mode, rows) of every call of the trained module
    net.blocks[0].register_forward_hook(lambda m, i, o: calls.append((m.training, i[0].shape[0])))
    events = Events()
    SimultaneousSchedule().run(stages, TensorData(x, y), epochs=2, batch_size=64,
                               generator=torch.Generator().manual_seed(0), callbacks=CallbackList([events]),
                               memory=ActivationMemory(), start=1)
    assert all(torch.equal(p, q) for p, q in zip(net.blocks[0].parameters(), first))
    assert not any(torch.equal(p, q) for p, q in zip((p for b in net.blocks[1:] for p in b.parameters()), rest))
    assert not any(train for train, _ in calls) and sum(n for _, n in calls) == x.shape[0], \
        "a trained module must run once over the data, in evaluation mode, to cache its output"
    assert set(events.of("begin")) == set(events.of("batch")) == set(events.of("end")) == {1, 2}


def test_checkpoint_and_resume(tiny_mlp, blobs, tmp_path):
    x, y = blobs
    cfg, ckpt = TrainConfig(epochs=2, batch_size=64, **SIM), tmp_path / "sim.pt"
    full = mole.fit(tiny_mlp(), x, y, config=cfg, checkpoint=ckpt)
    assert torch.load(ckpt, weights_only=True)["position"] == [3, 0]
    resumed = mole.fit(tiny_mlp(seed=9), x, y, config=cfg, checkpoint=ckpt, resume=True)
    assert resumed.history.records == full.history.records  # nothing left to train, the history kept
    assert all(torch.equal(a, b) for a, b in zip(full.network.parameters(), resumed.network.parameters()))


def test_same_seed_same_weights(tiny_mlp, blobs):
    x, y = blobs
    cfg = TrainConfig(epochs=2, batch_size=64, seed=3, **SIM)
    a, b = (mole.fit(tiny_mlp(), x, y, config=cfg) for _ in range(2))
    assert all(torch.equal(p, q) for p, q in zip(a.network.parameters(), b.network.parameters()))
    assert a.history[:, "loss"] == b.history[:, "loss"]


def gnn(task, in_channels, n_classes, hidden):
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return ModularNetwork(GNN(in_channels, n_classes, hidden=hidden, conv="gin", dropout=0.0, task=task))


def test_node_level_graph(communities):
    train, test = communities
    result = mole.fit(gnn("node", 3, 3, (16,)), train, config=TrainConfig(epochs=30, lr=0.01, **SIM))
    assert len(result.history) == 2 * 30 and all(math.isfinite(r["loss"]) for r in result.history.records)
    assert result.score(test) > 0.7  # chance 1/3; the features alone give about 0.5; this schedule 0.9


def test_graph_level_graph(paths_and_stars):  # noqa: F811
    data = paths_and_stars
    train, test = data.subset(torch.arange(0, 60)), data.subset(torch.arange(60, 80))
    result = mole.fit(gnn("graph", 8, 2, (16, 16)), train, config=TrainConfig(epochs=15, batch_size=32, lr=0.01, **SIM))
    assert len(result.history) == 3 * 15 and all(math.isfinite(r["loss"]) for r in result.history.records)
    assert result.score(test) > 0.8
