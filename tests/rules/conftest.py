import pytest
import torch


@pytest.fixture
def one_thread():
    """Tiny models run as fast on one intra-op thread, and a busy second core then cannot stall every op."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
