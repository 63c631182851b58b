import pytest
import torch

from mole.adapters import GraphData, NodeData


@pytest.fixture
def communities():
    """A 3-community graph (150 nodes): dense inside communities, sparse across; weak noisy features."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(3).repeat_interleave(50)
    same = y[:, None] == y[None, :]
    p = torch.where(same, torch.tensor(0.15), torch.tensor(0.005))
    adj = torch.rand(150, 150, generator=g) < p
    adj = torch.triu(adj, 1)
    edge_index = torch.cat([adj.nonzero().T, adj.nonzero().T.flip(0)], 1)
    x = 0.5 * torch.eye(3)[y] + torch.randn(150, 3, generator=g)  # features alone are weak
    perm = torch.randperm(150, generator=g)
    train = NodeData(x, edge_index, y, perm[:60])
    return train, train.subset(perm[60:])


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
