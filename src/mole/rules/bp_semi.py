r"""Semi-supervised backprop: end-to-end backprop with the same unlabelled-data terms as MOLE.

The few-label baseline a reviewer asks for: whatever MOLE gains from unlabelled samples, backprop can use too. One
stage holds the whole network (as :mod:`mole.rules.bp`) and minimizes, end to end,

.. math:: \mathcal{L} = \mathcal{L}_{\mathrm{head}} - \sum_{k<K} \big(\lambda_X I(T_k; X) + \lambda_G I(T_k; S)
          + \lambda_V I(T_k; T_k')\big),

with the weights, estimator and view term of the run's :class:`~mole.config.ObjectiveConfig` (one for all hidden
modules, or one each), each term computed exactly as in MOLE's objective
(:class:`~mole.objectives.MutualInformationObjective` with :math:`\lambda_Y = 0`) on the hidden module's output,
but with gradients flowing through every module below it:

* :math:`I(T_k; S)`, Deep Graph Infomax's bound on node-level graphs (Veličković et al. 2019, added to a GCN's
  loss), between each node's hidden output and the graph's summary, the same network on the corrupted graph
  giving the negatives;
* :math:`I(T_k; T_k')`, the views' term: between two augmentations of each sample (images, signals, vectors) or
  the two ends of an edge (node-level graphs);
* :math:`\mathcal{L}_{\mathrm{head}}`: cross-entropy over the labelled rows, plus, with ``pseudo_labels`` τ > 0,
  FixMatch's unlabelled loss (Sohn et al. 2020): the head's confident predictions on the first (weak) view label
  the other (strong) views (:class:`~mole.objectives.pseudo_labels.PseudoLabelledCrossEntropy`, at the last hidden
  module's τ, as MOLE's head).

Without any of these weights it is plain backprop. The terms read the hidden modules' outputs through
:class:`Taps`, kept during the training forward passes only.
"""
from __future__ import annotations

import dataclasses
import math

import torch
from torch import nn

from ..estimators import estimator_resolver
from ..estimators.graph_infomax import GraphInfomaxBound
from ..estimators.invariant_clustering import InvariantClustering
from ..objectives import CrossEntropyObjective, LocalObjective, MutualInformationObjective
from ..objectives.pseudo_labels import PseudoLabelledCrossEntropy
from ..objectives.reduce import Reduce
from ..optim import build_optimizer
from ..stage import Stage
from .base import Rule
from .mole import _objectives


class Taps:
    """The hidden modules' outputs of each training forward pass since the objective last took them."""

    def __init__(self):
        self.passes: list[list[torch.Tensor]] = []

    def take(self) -> list[list[torch.Tensor]]:
        passes, self.passes = self.passes, []
        return passes


class TappedNetwork(nn.Module):
    """The network's modules run in order (the network's own parameters, under the same names); in training mode each
    pass also leaves the hidden modules' outputs in ``taps``."""

    def __init__(self, network, taps: Taps):
        super().__init__()
        self.blocks = network.blocks
        self.taps = taps

    def forward(self, x: torch.Tensor, *context) -> torch.Tensor:
        hidden = []
        for block in self.blocks:
            x = block(x, *context)
            hidden.append(x)
        if self.training:
            self.taps.passes.append(hidden[:-1])
        return x


class SemiSupervisedObjective(LocalObjective):
    """The head's loss on the network's output plus the label-free terms of each hidden module's output (see the
    module docstring). Logs the head's terms and ``m{k}_{term}`` for hidden module k."""

    def __init__(self, head: LocalObjective, terms: list[MutualInformationObjective | None], taps: Taps):
        super().__init__()
        self.head = head
        self.terms = nn.ModuleList([t if t is not None else nn.Identity() for t in terms])
        self.active = [t is not None for t in terms]
        self.taps = taps
        self.needs_corrupted_view = any(t is not None and t.needs_corrupted_view for t in terms)
        self.needs_output = any(t is not None and t.needs_output for t in terms)

    def forward(self, out: torch.Tensor, batch) -> tuple[torch.Tensor, dict[str, float]]:
        passes = self.taps.take()  # the clean pass, then the corrupted one where the terms contrast it
        clean = passes[0] if passes else []
        corrupted = passes[1] if self.needs_corrupted_view and len(passes) > 1 else None
        loss, logs = self.head(out, batch)
        for k, (term, active) in enumerate(zip(self.terms, self.active)):
            if not active:
                continue
            hidden = clean[k]
            local = dataclasses.replace(batch, output=hidden,
                                        corrupted_output=None if corrupted is None else corrupted[k])
            value, terms = term(batch.readout(hidden), local)
            loss = loss + value
            logs.update({f"m{k + 1}_{key}": v for key, v in terms.items()})
        return loss, logs


def label_free_weights(weights) -> dict[str, float]:
    """An ObjectiveConfig's label-free weights (the terms bp-semi adds), those that are set."""
    return {k: v for k, v in (("lambda_x", weights.lambda_x), ("lambda_graph", weights.lambda_graph),
                              ("lambda_view", weights.lambda_view)) if v}


class SemiSupervisedBackprop(Rule):
    """End-to-end backprop plus MOLE's unlabelled-data terms on the hidden modules (see the module docstring); the
    terms' weights, estimator and pseudo-label threshold are the run's (``TrainConfig.objective``,
    ``TrainConfig.estimator``). No options of its own."""

    name = "bp-semi"
    end_to_end = True
    summary = "end-to-end backprop plus MOLE's unlabelled-data terms (graph infomax, views, pseudo-labels)"
    uses_unlabelled = True

    def __init__(self):
        pass

    def views(self, config) -> int:
        return 2 if any(w.lambda_view or w.pseudo_labels for w in _objectives(config)) else 1

    def pseudo_labels(self, config) -> bool:
        return any(w.pseudo_labels for w in _objectives(config))

    def describe(self, config) -> dict:
        objectives = [{**label_free_weights(w), "view_term": w.view_term, "pseudo_labels": w.pseudo_labels}
                      for w in _objectives(config)]
        return {"options": {}, "estimator": {"name": config.estimator.name, "options": config.estimator.options},
                "objective": objectives}

    def hidden_objective(self, k: int, shape: tuple, n_classes: int, config) -> LocalObjective:
        raise TypeError("semi-supervised backprop has no hidden objectives: its one stage is the whole network")

    def term(self, k: int, shape: tuple, n_classes: int, config) -> MutualInformationObjective | None:
        """Hidden module k's label-free terms (None where it has none)."""
        weights = _objectives(config)
        weights = weights[min(k, len(weights) - 1)]
        if not label_free_weights(weights):
            return None
        est = estimator_resolver(config.estimator.name, **config.estimator.options)
        infomax = (GraphInfomaxBound(math.prod(shape), weights.graph_critic == "learned", seed=config.seed + k)
                   if weights.lambda_graph else None)
        return MutualInformationObjective(est, 0.0, weights.lambda_x, 0.0, 0.0,
                                          Reduce(weights.reduce, weights.project_dim, seed=config.seed + k),
                                          lambda_graph=weights.lambda_graph, infomax=infomax,
                                          lambda_view=weights.lambda_view,
                                          clusters=InvariantClustering(n_classes) if weights.view_term == "clusters"
                                          else None)

    def stages(self, network, shapes: list[tuple], n_classes: int, config) -> list[Stage]:
        make_optimizer = lambda params: build_optimizer(params, config, config.epochs)  # noqa: E731
        weights = _objectives(config)
        tau = weights[-1].pseudo_labels if weights else 0.0
        taps = Taps()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            terms = [self.term(k, shapes[k], n_classes, config) for k in range(len(network) - 1)]
            head = PseudoLabelledCrossEntropy(tau) if tau else CrossEntropyObjective()
            objective = SemiSupervisedObjective(head, terms, taps)
        return [Stage(0, 1, TappedNetwork(network, taps), objective.to(config.device), make_optimizer,
                      config.precision)]
