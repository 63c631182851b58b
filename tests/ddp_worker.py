"""Run by torchrun from tests/test_data_parallel.py: the gradients of one global batch under DDP (each process holds
its DistributedSampler shard of it), for MOLE with and without gathering the batch and for DGL. Rank 0 saves them in
the folder given as the first argument."""
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import mole

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "guides" / "loops" / "ddp.py"


def global_batch(n: int = 128):
    """The first global batch of the guide's digits, in DistributedSampler's order (seed 0, epoch 0)."""
    from sklearn.datasets import load_digits
    X, y = load_digits(return_X_y=True)
    X, y = torch.tensor(X[:1792] / 16, dtype=torch.float32), torch.tensor(y[:1792])
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(0))[:n]
    return X[perm], y[perm]


def gradients(method: str, rank: int = 0, world: int = 1, gather="auto") -> dict:
    """Each parameter's gradient after one backward of the global batch (DDP's average over the processes)."""
    X, y = global_batch()
    torch.manual_seed(0)
    model = mole.LocalModel(mole.models.MLP(64, 10, hidden=(256, 128)), method=method, example=X[:2], gather=gather)
    trained = DistributedDataParallel(model) if world > 1 else model
    trained(X[rank::world], target=y[rank::world]).loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters()}


if __name__ == "__main__":
    out = Path(sys.argv[1])
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    found = {f"{method}-{gather}": gradients(method, rank, world, gather)
             for method, gather in (("mole", "auto"), ("mole", False), ("dgl", "auto"))}
    if rank == 0:
        torch.save(found, out / "gradients.pt")
    dist.destroy_process_group()
