r"""The MOLE local objective for hidden modules.

Module k with output :math:`T_k` maximizes

.. math::
    J_k = \lambda_Y I(T_k; Y) + \lambda_X I(T_k; X) + \lambda_{XY} I(T_k; X, Y)
          - \beta I(T_k; T_{k-1}) + \lambda_G I(T_k; S) + \lambda_V I(T_k; T_k')

and the loss is :math:`-J_k`. :math:`I(T_k; S)` is label-free and runs over *every* node of a graph, labelled or
not: between each node's output and the graph's summary, Deep Graph Infomax's bound with the
module's output on a corrupted graph as negatives (:class:`~mole.estimators.graph_infomax.GraphInfomaxBound`);
the other terms use the run's estimator on the read-out rows (the labelled nodes).
:math:`I(T_k; T_k')` is label-free too: the MI between the module's outputs on two augmentations of the same
samples (the batch holds V views, :attr:`~mole.batch.LocalBatch.views`), or, on a node-level graph, between the
outputs of the two ends of each edge (a neighbour as the other view; homophily makes it label-like), estimated as :math:`I(T_k; N)` with
:math:`N` the identity of each row's sample, so that only the other view of a row shares its "class", by a
copy of the run's estimator of its own (its own critic projection, if the estimator has one); or, with
``clusters`` (``view_term="clusters"``), as the exact MI between the two views' soft cluster assignments,
Invariant Information Clustering (:class:`~mole.estimators.invariant_clustering.InvariantClustering`). With the
InfoNCE estimator this is SimCLR's NT-Xent loss (Chen et al. 2020), as in local contrastive learning (Greedy
InfoMax); with the matrix Rényi estimator, the Rényi MI between the outputs and the instance labels.

Few labels: terms with Y (:math:`I(T;Y)`, :math:`I(T;X,Y)`) use the batch's labelled rows only (label −1 marks
an unlabelled one, :mod:`mole.adapters.labels`), and are 0 where a batch has fewer than two; the label-free terms
use every row. With ``pseudo`` (:class:`~mole.objectives.pseudo_labels.PseudoLabels`), a classifier of the
module's own labels the unlabelled samples it is confident of (FixMatch), and the terms with Y read those rows
too; the classifier's loss joins the module's (it reads detached rows, so the module's gradient is its MI
terms'). Defaults
(:math:`\lambda_Y = 1`, the rest 0) give the "decoder-like" module of the paper, which pulls same-class samples together; :math:`\lambda_X > 0`
alone gives an "encoder-like", label-free module; :math:`\beta > 0` is the information-bottleneck
variant. Terms with weight 0 are not computed. Feature maps are first reduced to rows by
:class:`mole.objectives.reduce.Reduce` (flatten, global average pooling or a random projection).
"""
from __future__ import annotations

import copy

import torch

from ..errors import ConfigError
from ..estimators import Estimator
from ..estimators.graph_infomax import GraphInfomaxBound
from ..estimators.invariant_clustering import InvariantClustering
from .base import LocalBatch, LocalObjective
from .pseudo_labels import PseudoLabels
from .reduce import Reduce


class MutualInformationObjective(LocalObjective):
    """
    Args:
        estimator (Estimator): the MI estimator (owned: parametric critics train with the module).
        lambda_y, lambda_x, lambda_xy, beta, lambda_graph, lambda_view (float): weights of the terms above.
        reduce (Reduce): how T_k and T_{k-1} become rows for the estimator. (default: flatten)
        infomax (GraphInfomaxBound): the bound of :math:`I(T_k; S)`; needed when ``lambda_graph > 0``.
        clusters (InvariantClustering): IIC's head for :math:`I(T_k; T_k')`; None: the estimator with instance labels.
        pseudo (PseudoLabels): the module's own classifier labelling confident unlabelled rows; None: true labels only.
    """

    batch_level = True  # a loss over the whole batch, not a mean over samples

    def __init__(self, estimator: Estimator, lambda_y: float = 1.0, lambda_x: float = 0.0,
                 lambda_xy: float = 0.0, beta: float = 0.0, reduce: Reduce | None = None, lambda_graph: float = 0.0,
                 infomax: GraphInfomaxBound | None = None, lambda_view: float = 0.0,
                 clusters: InvariantClustering | None = None, pseudo: PseudoLabels | None = None):
        super().__init__()
        self.estimator = estimator
        self.reduce = reduce or Reduce()
        self.weights = {"I_TY": lambda_y, "I_TX": lambda_x, "I_TXY": lambda_xy, "I_Tprev": beta, "I_TS": lambda_graph,
                        "I_TTview": lambda_view}
        if lambda_graph and infomax is None:
            raise ConfigError("lambda_graph > 0 needs the bound of I(T;S): pass infomax=GraphInfomaxBound(dim)")
        self.infomax = infomax if lambda_graph else None
        # the views' term has its own copy of the estimator: a critic's projection that had to both cluster the
        # classes (I(T;Y)) and keep instances apart (I(T;T')) would serve neither (SimCLR, SupCon: one head each)
        self.clusters = clusters if lambda_view else None  # IIC's head: I(Z;Z') of the views' clusters instead
        self.view_estimator = copy.deepcopy(estimator) if lambda_view and clusters is None else None
        self.pseudo = pseudo
        self.needs_corrupted_view = bool(lambda_graph)
        self.needs_output = bool(lambda_view)  # node-level views: a neighbour's output is the other view

    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        mi = self.estimator.mutual_information
        out = self.reduce(out)  # (n, m)
        y, extra, terms = batch.y, None, {}
        if self.pseudo is not None:
            y, extra = self.pseudo(out, batch.y, batch.views)
            terms.update(pseudo_labelled=(y >= 0).float().mean(), classifier=extra.detach())
        labelled = y >= 0
        some = None if bool(labelled.all()) else labelled  # a label budget: the terms with Y take these rows

        def with_labels(partner):
            """MI with a partner holding Y, on the labelled rows only."""
            if some is None:
                return mi(out, partner)
            if int(some.sum()) < 2:  # nothing to estimate from: the term contributes nothing this step
                return out.sum().double() * 0.0  # zero, yet still a function of the module (its backward runs)
            rows = tuple(p[some] for p in partner) if isinstance(partner, tuple) else partner[some]
            return mi(out[some], rows)

        value_of = {"I_TY": lambda: with_labels(y), "I_TX": lambda: mi(out, batch.x.flatten(1)),
                    "I_TXY": lambda: with_labels((batch.x.flatten(1), y)),
                    "I_Tprev": lambda: mi(out, self.reduce(batch.readout(batch.t_in))),
                    "I_TS": lambda: self.infomax(*(t if batch.scope is None else batch.scope(t)
                                                   for t in (batch.output, batch.corrupted_output))),
                    "I_TTview": lambda: self._views(out, batch)}
        sign = {"I_Tprev": -1.0}
        objective = out.new_zeros((), dtype=torch.float64)
        for key, w in self.weights.items():
            if w:
                value = value_of[key]()
                objective = objective + sign.get(key, 1.0) * w * value
                terms[key] = value.detach()
        return (-objective if extra is None else extra - objective), terms

    def _views(self, out: torch.Tensor, batch: LocalBatch) -> torch.Tensor:
        if batch.views < 2 and batch.output is not None and batch.context:
            return self._neighbours(batch.output, batch.context[0])
        if batch.views < 2:
            raise ConfigError("lambda_view contrasts augmented views of each sample, but the batch holds one view; "
                              "train through mole.fit with an augmentation (--augment shift) so it makes two")
        if self.clusters is not None:
            n = out.shape[0] // batch.views
            return sum(self.clusters(out[:n], out[v * n:(v + 1) * n]) for v in range(1, batch.views)) / (batch.views - 1)
        return self.view_estimator.mutual_information(out, batch.sample_ids())

    #: edges drawn per step for a neighbour term measured by an estimator (its n; IIC takes every edge)
    NEIGHBOUR_PAIRS = 256

    def _neighbours(self, nodes: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        """Node-level graphs: the other view of a node is a neighbour, I(T_v; T_u) over the edges (u, v)."""
        src, dst = edge_index[0], edge_index[1]
        nodes = self.reduce(nodes)
        if self.clusters is not None:
            return self.clusters(nodes[src], nodes[dst])
        pick = torch.randperm(src.shape[0], device=src.device)[:self.NEIGHBOUR_PAIRS]
        return self.view_estimator.mutual_information(nodes[src[pick]], nodes[dst[pick]])
