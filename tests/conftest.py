"""Shared fixtures, and the two lanes of the suite.

``pytest`` runs every test that stays in this process; ``pytest -m process`` runs the ones that launch Python
processes (asynchronous workers, torchrun nodes, a CLI killed and resumed), each of which pays seconds to import
torch. CI runs both. A test outside the process lane that starts a Python process fails at once, naming the marker
(:func:`_python_processes_in_their_lane`), so the default lane keeps its pace as tests are added.
"""
import os
import subprocess
import sys

import pytest
import torch

PROCESS_LANE = ("process: launches Python processes (asynchronous workers, torchrun nodes, a killed CLI); "
                "deselected by default, run with `pytest -m process`")


def pytest_configure(config):
    config.addinivalue_line("markers", PROCESS_LANE)
    # One intra-op thread for torch, BLAS and OpenMP, here and in every process a test starts. The tests train tiny
    # networks, which run as fast on one thread, and on two cores shared with anything else two threads wait at
    # every parallel region (mole.threads: 8-60x slower), so the suite's pace would depend on what else runs.
    os.environ["OMP_NUM_THREADS"] = "1"
    torch.set_num_threads(1)
    from threadpoolctl import threadpool_limits
    config._mole_thread_limits = threadpool_limits(1)


def _launches_python(args) -> bool:
    argv = [args] if isinstance(args, (str, bytes, os.PathLike)) else list(args or [])
    if not argv:
        return False
    first = os.path.basename(str(argv[0]))
    return str(argv[0]) == sys.executable or first.startswith("python") or first == "torchrun"


@pytest.fixture(autouse=True)
def _python_processes_in_their_lane(request, monkeypatch):
    """Outside the process lane, starting a Python process is an error naming the marker."""
    if request.node.get_closest_marker("process") is not None:
        yield
        return
    real = subprocess.Popen

    class Guarded(real):
        def __init__(self, args, *rest, **kwargs):
            if _launches_python(args):
                raise AssertionError(f"{request.node.nodeid} starts a Python process ({' '.join(map(str, args))[:120]}); "
                                     "mark it @pytest.mark.process: it belongs to the process lane (pytest -m process)")
            super().__init__(args, *rest, **kwargs)
    monkeypatch.setattr(subprocess, "Popen", Guarded)
    yield


@pytest.fixture
def blobs():
    """A tiny 3-class problem: well separated Gaussian blobs in 8 dimensions (n=180)."""
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(3, 8, generator=g) * 4
    y = torch.arange(3).repeat_interleave(60)
    x = centers[y] + torch.randn(180, 8, generator=g)
    return x, y


@pytest.fixture
def tiny_mlp():
    from mole.models import MLP

    def make(d=8, c=3, hidden=(16, 12), seed=0, **kw):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return MLP(d, c, hidden=hidden, **kw)
    return make


@pytest.fixture
def communities():
    """150 nodes in 3 communities, dense inside, sparse across, weak features (3 columns): (train, test) NodeData,
    60 training nodes and the other 90 as the test split."""
    from mole.adapters import NodeData
    g = torch.Generator().manual_seed(0)
    y = torch.arange(3).repeat_interleave(50)
    adj = torch.triu(torch.rand(150, 150, generator=g) < torch.where(y[:, None] == y[None, :], 0.15, 0.005), 1)
    edges = torch.cat([adj.nonzero().T, adj.nonzero().T.flip(0)], 1)
    x = 0.5 * torch.eye(3)[y] + torch.randn(150, 3, generator=g)
    perm = torch.randperm(150, generator=g)
    train = NodeData(x, edges, y, perm[:60])
    return train, train.subset(perm[60:])


@pytest.fixture
def paths_and_stars():
    """A factory of graph collections: paths (class 0) and stars (class 1) of 5-8 nodes, one-hot degree features
    (``width`` columns, degrees capped at width - 1)."""
    import torch.nn.functional as F
    from mole.adapters import GraphData

    def make(n_graphs: int, width: int) -> GraphData:
        g = torch.Generator().manual_seed(1)
        xs, edges, batch, offset = [], [], [], 0
        for i in range(n_graphs):
            n = int(torch.randint(5, 9, (1,), generator=g))
            e = (torch.stack([torch.arange(n - 1), torch.arange(1, n)]) if i % 2 == 0
                 else torch.stack([torch.zeros(n - 1, dtype=torch.long), torch.arange(1, n)]))
            e = torch.cat([e, e.flip(0)], 1)
            xs.append(F.one_hot(torch.bincount(e[0], minlength=n).clamp(max=width - 1), width).float())
            edges.append(e + offset)
            batch.append(torch.full((n,), i))
            offset += n
        return GraphData(torch.cat(xs), torch.cat(edges, 1), torch.cat(batch), torch.arange(n_graphs) % 2)
    return make


@pytest.fixture
def one_thread():
    """Tiny models run as fast on one intra-op thread, and a busy second core then cannot stall every op (the whole
    session runs on one thread already, see pytest_configure; a test that raises it restores it here)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
