"""MOLE data-parallel with DistributedDataParallel: each process trains on its shard of every global batch.

    torchrun --nproc-per-node 2 docs/guides/loops/ddp.py              # gloo on CPUs, nccl on GPUs
    python docs/guides/loops/ddp.py                                   # one process, the same global batches

mole.LocalModel is an nn.Module: DDP wraps it as it is, one backward per step, no unused-parameter traversal. Its
batch-level objectives (MOLE's Gram matrices) gather the rows of every process, so N processes with B/N samples
each train as one process with B does (mole.distributed.gather). DistributedSampler deals each process every N-th
sample of one permutation, so the global batches are the one-process batches.
"""
import argparse
import json
import os
import time

import torch
import torch.distributed as dist
from sklearn.datasets import load_digits
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

import mole


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--methods", nargs="+", default=["mole"])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=128, help="the global batch, over every process")
    parser.add_argument("--out", default=None, help="a folder for each method's weights and timing (rank 0)")
    args = parser.parse_args(argv)
    launched = "RANK" in os.environ  # started by torchrun
    if launched:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if launched else (0, 1)
    device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0))) if torch.cuda.is_available() else "cpu"

    X, y = load_digits(return_X_y=True)
    dataset = TensorDataset(torch.tensor(X[:1792] / 16, dtype=torch.float32), torch.tensor(y[:1792]))
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(dataset, batch_size=args.batch_size // world, sampler=sampler)

    for method in args.methods:
        torch.manual_seed(0)
        net = mole.models.MLP(64, 10, hidden=(256, 128))
        model = mole.LocalModel(net, method=method, example=dataset.tensors[0][:2]).to(device)
        trained = DistributedDataParallel(model) if launched else model
        optimizer = torch.optim.Adam(trained.parameters(), lr=1e-3)
        model.train()
        tic = time.perf_counter()
        for epoch in range(args.epochs):
            sampler.set_epoch(epoch)
            for x, target in loader:
                loss = trained(x.to(device), target=target.to(device)).loss
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        seconds = time.perf_counter() - tic
        if rank == 0 and args.out:
            os.makedirs(args.out, exist_ok=True)
            torch.save(model.state_dict(), os.path.join(args.out, f"{method}.pt"))
            with open(os.path.join(args.out, f"{method}.json"), "w") as f:
                json.dump({"method": method, "processes": world, "seconds": seconds,
                           "samples_per_second": args.epochs * len(dataset) / seconds}, f)
    if launched:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
