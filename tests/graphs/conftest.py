import pytest
import torch

from mole.adapters import GraphData


@pytest.fixture
def paths_and_stars():
    """Graph classification: 40 path graphs (class 0) and 40 star graphs (class 1) of 5-9 nodes,
    with one-hot degree features."""
    g = torch.Generator().manual_seed(1)
    xs, edges, batch, ys, offset = [], [], [], [], 0
    for i in range(80):
        n = int(torch.randint(5, 10, (1,), generator=g))
        if i % 2 == 0:
            e = torch.stack([torch.arange(n - 1), torch.arange(1, n)])
        else:
            e = torch.stack([torch.zeros(n - 1, dtype=torch.long), torch.arange(1, n)])
        e = torch.cat([e, e.flip(0)], 1)
        deg = torch.bincount(e[0], minlength=n).clamp(max=7)
        xs.append(torch.nn.functional.one_hot(deg, 8).float())
        edges.append(e + offset)
        batch.append(torch.full((n,), i))
        ys.append(i % 2)
        offset += n
    return GraphData(torch.cat(xs), torch.cat(edges, 1), torch.cat(batch), torch.tensor(ys))
