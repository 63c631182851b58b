"""Linear probes and t-SNE panels."""
import numpy as np
import torch

from mole.adapters import TensorData
from mole.analysis import linear_probes, tsne_panels


def test_probe_sees_linear_separability():
    """Two rings: the raw input is not linearly separable, its radius is."""
    g = torch.Generator().manual_seed(0)
    angle = torch.rand(400, generator=g) * 6.283
    y = torch.arange(2).repeat(200)
    radius = 1.0 + 2.0 * y + 0.1 * torch.randn(400, generator=g)
    x = torch.stack([radius * angle.cos(), radius * angle.sin()], 1)
    features = x.norm(dim=1, keepdim=True)
    acc = linear_probes([x[:300], features[:300]], y[:300], [x[300:], features[300:]], y[300:])
    assert acc[0] < 0.75 and acc[1] > 0.97


def test_representations_chain_blocks(tiny_mlp, blobs):
    x, y = blobs
    net = tiny_mlp()
    rows = TensorData(x, y).representations(list(net)[:2])
    assert [tuple(r.shape) for r in rows] == [(180, 8), (180, 16), (180, 12)]
    with torch.no_grad():
        assert torch.allclose(rows[2], net[1](net[0](x)))


def test_sample_is_fixed_and_bounded(blobs):
    data = TensorData(*blobs)
    a, b = data.sample(50, seed=1), data.sample(50, seed=1)
    assert len(a) == 50 and torch.equal(a.x, b.x) and len(torch.unique(a.x, dim=0)) == 50
    assert data.sample(500) is data


def test_tsne_keeps_clusters_apart(blobs):
    x, y = blobs
    (emb,) = tsne_panels([x])
    assert emb.shape == (180, 2)
    centers = np.stack([emb[y.numpy() == c].mean(0) for c in range(3)])
    spread = max(np.linalg.norm(emb[y.numpy() == c] - centers[c], axis=1).mean() for c in range(3))
    gaps = min(np.linalg.norm(centers[i] - centers[j]) for i in range(3) for j in range(i + 1, 3))
    assert gaps > 2 * spread


def test_tsne_is_deterministic_and_takes_panels_of_any_width(blobs):
    x, y = blobs
    panels = [x, x[:, :3] * 5, torch.tanh(x @ torch.ones(8, 20))]  # different widths, same samples
    a, b = tsne_panels(panels), tsne_panels(panels)
    assert all(e.shape == (180, 2) and np.isfinite(e).all() for e in a)
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    assert np.allclose(tsne_panels(panels[:1])[0], a[0], atol=1e-4)  # a panel does not depend on the others
    assert [e.shape for e in tsne_panels([x[:2]])] == [(2, 2)]


def test_one_thread_restores_the_thread_count():
    from mole.threads import one_thread
    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
