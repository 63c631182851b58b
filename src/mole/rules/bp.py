r"""End-to-end backprop, as a rule like the others: one stage that holds the whole network.

.. math:: \mathcal{L} = \mathrm{CE}\big(M_K \circ \dots \circ M_1(X),\, Y\big)

Its one optimizer covers every parameter and the gradient flows through every module. Run by the same
loop, schedules and measurements as the local rules (a single stage has nothing to schedule, so every
schedule trains it alike), so ``epochs`` full passes give every parameter as many updates as a
module gets under the sequential schedule.
"""
from __future__ import annotations

from ..objectives import CrossEntropyObjective, LocalObjective
from .base import Rule


class Backprop(Rule):
    """End-to-end backprop as a rule: one stage holding the whole network, trained on the output cross-entropy
    (no options)."""

    name = "bp"
    end_to_end = True
    summary = "end-to-end backprop of the output cross-entropy (the baseline)"

    def __init__(self):
        pass

    def hidden_objective(self, k: int, shape: tuple, n_classes: int, config) -> LocalObjective:
        raise TypeError("backprop has no hidden objectives: its one stage is the whole network")

    def needs_shapes(self, config) -> bool:
        return False

    def parts(self, network, shapes: list[tuple], n_classes: int, config) -> list[tuple]:
        return [(network, CrossEntropyObjective())]
