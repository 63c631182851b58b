r"""A synthetic node-classification graph of any size: ``sbm-N`` (a planted-partition stochastic block model).

N nodes in C = 10 planted communities of equal size (node i is in community i mod C); the label is the
community. Every node draws ``degree`` neighbours: each one, with probability ``homophily``, uniformly from
its own community, else uniformly from the whole graph; edges are made undirected and de-duplicated, so the
average degree is about 2 × ``degree`` whatever N. The features are noisy hints of the community,

.. math:: x_i = \mu\, R\, e_{y_i} + \varepsilon_i, \qquad R \in \mathbb{R}^{F \times C},\
          R_{fc} \sim \mathcal N(0, 1/F),\ \varepsilon_i \sim \mathcal N(0, I_F),

weak enough (μ = 1) that a node's own features leave it ambiguous and its neighbourhood decides. The split is
fixed: 10 % of the nodes train, 20 % test (a seeded permutation). Sampling costs O(N · degree) time and
memory (PyG's ``stochastic_blockmodel_graph`` draws a dense N × N matrix, which does not fit at 10⁶ nodes).
"""
from __future__ import annotations

import re

import torch

from ..adapters import NodeData
from ..errors import ConfigError
from .graphs import NodeDataset

PATTERN = re.compile(r"^sbm-(\d+)$")
MAX_NODES = 20_000_000


def is_sbm(name: str) -> bool:
    """Whether ``name`` names a synthetic stochastic-block-model graph, ``sbm-N``."""
    return bool(PATTERN.match(str(name)))


def load_sbm(name: str, classes: int = 10, degree: int = 5, homophily: float = 0.8, features: int = 32,
             signal: float = 1.0, seed: int = 0) -> NodeDataset:
    """The planted-partition graph ``name`` (``sbm-N``: N nodes; see the module docstring), drawn from ``seed``.

    ``classes`` communities; each node draws ``degree`` neighbours, each from its own community with probability
    ``homophily``; ``features`` feature columns whose class signal has strength ``signal``. 10 % of the nodes train,
    20 % test.
    """
    n = int(PATTERN.match(name).group(1))
    if not classes * 2 <= n <= MAX_NODES:
        raise ConfigError(f"{name}: the graph needs between {classes * 2} and {MAX_NODES:,} nodes; got {n:,}")
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    src = torch.arange(n).repeat_interleave(degree)  # (n·degree,) every node draws `degree` neighbours
    inside = torch.rand(src.numel(), generator=g) < homophily
    same = (torch.randint(0, n // classes, (src.numel(),), generator=g) * classes + y[src]).clamp(max=n - 1)
    anywhere = torch.randint(0, n, (src.numel(),), generator=g)
    dst = torch.where(inside & (y[same] == y[src]), same, anywhere)
    keep = src != dst
    edges = torch.stack([src[keep], dst[keep]])
    edges = torch.unique(torch.cat([edges, edges.flip(0)], 1), dim=1)  # undirected, no duplicates
    R = torch.randn(features, classes, generator=g) / features ** 0.5
    x = signal * torch.nn.functional.one_hot(y, classes).float() @ R.T + torch.randn(n, features, generator=g)
    perm = torch.randperm(n, generator=g)
    train = NodeData(x, edges, y, perm[: n // 10].sort().values)
    return NodeDataset(name, train, train.subset(perm[n - n // 5:].sort().values), classes)
