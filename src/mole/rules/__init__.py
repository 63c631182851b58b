"""Local learning rules as plug-ins: a registry name -> class, and a resolver (like :mod:`mole.estimators`).

Adding a rule: one file with a :class:`Rule` subclass, and its class in :data:`RULES` below.
"""
from __future__ import annotations

from ..validation import raise_all, registered
from .base import Rule
from .bp import Backprop
from .bp_semi import SemiSupervisedBackprop
from .dgl import DGL
from .forward_forward import ForwardForward
from .hsic_bottleneck import HSICBottleneck
from .infopro import InfoPro
from .mole import MOLE
from .predsim import PredSim

#: every registered rule by name (``--methods``): a rule class, built by :func:`rule_resolver`
RULES: dict[str, type[Rule]] = {cls.name: cls for cls in (MOLE, Backprop, SemiSupervisedBackprop, DGL, PredSim,
                                                           HSICBottleneck, InfoPro, ForwardForward)}


def rule_resolver(name: str | Rule, **options) -> Rule:
    """A rule by registered name with its options (or an instance passed through); bad options raise ConfigError."""
    if isinstance(name, Rule):
        return name
    rule = registered("method", name, RULES, options)
    raise_all(rule.check())
    return rule


__all__ = ["RULES", "Rule", "rule_resolver", "MOLE", "Backprop", "SemiSupervisedBackprop", "DGL", "PredSim", "HSICBottleneck", "ForwardForward", "InfoPro"]
