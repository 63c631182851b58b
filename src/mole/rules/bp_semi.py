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

import torch
from torch import nn

from ..objectives import CrossEntropyObjective, LocalObjective, MutualInformationObjective
from ..objectives.pseudo_labels import PseudoLabelledCrossEntropy
from .base import Rule
from .mole import MOLE, _objectives, module_weights


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
        self.terms = nn.ModuleDict({str(k): t for k, t in enumerate(terms) if t is not None})  # by hidden module
        self.taps = taps
        self.needs_corrupted_view = any(t is not None and t.needs_corrupted_view for t in terms)
        self.needs_output = any(t is not None and t.needs_output for t in terms)
        self.batch_level = bool(self.terms)  # the label-free terms estimate over the batch
        self.gatherable = False  # they read the hidden modules' outputs (taps), which the stage does not gather

    def forward(self, out: torch.Tensor, batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        passes = self.taps.take()  # the clean pass, then the corrupted one where the terms contrast it
        clean = passes[0] if passes else []
        corrupted = passes[1] if self.needs_corrupted_view and len(passes) > 1 else None
        loss, logs = self.head(out, batch)
        for key, term in self.terms.items():
            k = int(key)
            hidden = clean[k]
            local = dataclasses.replace(batch, output=hidden,
                                        corrupted_output=None if corrupted is None else corrupted[k])
            value, logged = term(batch.readout(hidden), local)
            loss = loss + value
            logs.update({f"m{k + 1}_{name}": v for name, v in logged.items()})
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

    views = MOLE.views  # two views where a term contrasts them or pseudo-labels are learnt on the second
    pseudo_labels = MOLE.pseudo_labels

    def describe(self, config) -> dict:
        objectives = [{**label_free_weights(w), "view_term": w.view_term, "pseudo_labels": w.pseudo_labels}
                      for w in _objectives(config)]
        return {"options": {}, "estimator": {"name": config.estimator.name, "options": config.estimator.options},
                "objective": objectives}

    def hidden_objective(self, k: int, shape: tuple, n_classes: int, config) -> LocalObjective:
        raise TypeError("semi-supervised backprop has no hidden objectives: its one stage is the whole network")

    def term(self, k: int, shape: tuple, n_classes: int, config) -> MutualInformationObjective | None:
        """Hidden module k's label-free terms (None where it has none): MOLE's objective for module k with the terms
        that read labels (I(T;Y), I(T;X,Y), the bottleneck, pseudo-labels) set to 0."""
        weights = module_weights(config, k)
        if not label_free_weights(weights):
            return None
        free = dataclasses.replace(weights, lambda_y=0.0, lambda_xy=0.0, beta=0.0, pseudo_labels=0.0)
        return MOLE().hidden_objective(k, shape, n_classes, dataclasses.replace(config, objective=free))

    def needs_shapes(self, config) -> bool:
        return any(w.lambda_graph for w in _objectives(config))  # as MOLE's terms

    def parts(self, network, shapes: list[tuple], n_classes: int, config) -> list[tuple]:
        weights = _objectives(config)
        tau = weights[-1].pseudo_labels if weights else 0.0
        taps = Taps()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            terms = [self.term(k, shapes[k], n_classes, config) for k in range(len(network) - 1)]
            head = PseudoLabelledCrossEntropy(tau) if tau else CrossEntropyObjective()
            objective = SemiSupervisedObjective(head, terms, taps)
        return [(TappedNetwork(network, taps), objective)]
