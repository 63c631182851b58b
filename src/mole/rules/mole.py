r"""MOLE: each hidden module maximizes mutual information (Li & Pei, 2023).

Module k with output :math:`T_k` minimizes

.. math:: -J_k = -\big(\lambda_Y I(T_k; Y) + \lambda_X I(T_k; X) + \lambda_{XY} I(T_k; X, Y)
          - \beta I(T_k; T_{k-1}) + \lambda_G I(T_k; S) + \lambda_V I(T_k; T_k')\big)

with the run's MI estimator (``TrainConfig.estimator``; matrix-based Rényi α-entropy by default) and
the weights of ``TrainConfig.objective`` (one :class:`~mole.config.ObjectiveConfig` for all hidden
modules, or one each); see :class:`~mole.objectives.MutualInformationObjective`. The head trains with
cross-entropy. With few labels and ``pseudo_labels`` τ > 0, each hidden module's own classifier labels the
unlabelled samples it is confident of for its terms with Y, and the head learns from its own confident
predictions, at the last hidden module's τ (FixMatch; :mod:`mole.objectives.pseudo_labels`).
"""
from __future__ import annotations

import dataclasses
import math

from ..errors import ConfigError
from ..estimators import estimator_resolver
from ..estimators.graph_infomax import GraphInfomaxBound
from ..estimators.invariant_clustering import InvariantClustering
from ..objectives import CrossEntropyObjective, LocalObjective, MutualInformationObjective
from ..objectives.pseudo_labels import PseudoLabelledCrossEntropy, PseudoLabels
from ..objectives.reduce import Reduce
from .base import Rule


def _objectives(config) -> list:
    """The run's hidden-module ObjectiveConfigs as given: one for every module, or one each."""
    return config.objective if isinstance(config.objective, list) else [config.objective]


def module_weights(config, k: int):
    """Hidden module k's ObjectiveConfig: the run's one for all, or its k-th; a ConfigError if the list is short."""
    weights = config.objective
    if not isinstance(weights, list):
        return weights
    if k >= len(weights):
        raise ConfigError(f"objective lists {len(weights)} configs but the network has more hidden modules; "
                          "pass one ObjectiveConfig per hidden module, or a single one for all")
    return weights[k]


class MOLE(Rule):
    """Each hidden module maximizes :math:`J_k` (see the module docstring) with the run's estimator and the weights of
    ``TrainConfig.objective``; the head trains with cross-entropy. No options of its own."""

    name = "mole"
    summary = "MI maximization per module (I(T;Y), optionally I(T;X), bottleneck), the run's estimator"
    uses_unlabelled = True  # its label-free terms (I(T;X), I(T;S), I(T;T')) learn from every sample

    def __init__(self):
        pass

    def views(self, config) -> int:
        return 2 if any(w.lambda_view or w.pseudo_labels for w in _objectives(config)) else 1  # FixMatch: a view to fit

    def needs_shapes(self, config) -> bool:
        return any(w.lambda_graph for w in _objectives(config))  # the graph critic's width; the rest is shape-free

    def pseudo_labels(self, config) -> bool:
        return any(w.pseudo_labels for w in _objectives(config))

    def describe(self, config) -> dict:
        est = estimator_resolver(config.estimator.name, **config.estimator.options)
        return {"options": {}, "estimator": {"name": config.estimator.name, "options": est.options()},
                "objective": [dataclasses.asdict(w) for w in _objectives(config)]}

    def head_objective(self, shape: tuple, n_classes: int, config) -> LocalObjective:
        weights = _objectives(config)
        tau = weights[-1].pseudo_labels if weights else 0.0  # the last hidden module's
        return PseudoLabelledCrossEntropy(tau) if tau else CrossEntropyObjective()

    def hidden_objective(self, k: int, shape: tuple, n_classes: int, config) -> LocalObjective:
        weights = module_weights(config, k)
        est = estimator_resolver(config.estimator.name, **config.estimator.options)
        infomax = None
        if weights.lambda_graph:
            if not shape:
                raise ConfigError("lambda_graph sizes its critic from the modules' outputs: pass data= to build_stages")
            infomax = GraphInfomaxBound(math.prod(shape), weights.graph_critic == "learned", seed=config.seed + k)
        return MutualInformationObjective(est, weights.lambda_y, weights.lambda_x, weights.lambda_xy, weights.beta,
                                          Reduce(weights.reduce, weights.project_dim, seed=config.seed + k),
                                          lambda_graph=weights.lambda_graph, infomax=infomax,
                                          lambda_view=weights.lambda_view,
                                          clusters=InvariantClustering(n_classes) if weights.view_term == "clusters"
                                          else None,
                                          pseudo=PseudoLabels(n_classes, weights.pseudo_labels)
                                          if weights.pseudo_labels else None)
