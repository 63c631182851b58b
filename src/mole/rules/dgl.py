r"""DGL, Decoupled Greedy Learning (Belilovsky, Eickenberg & Oyallon, ICML 2020).

Each hidden module k owns an auxiliary classifier :math:`a_k` and minimizes

.. math:: \mathcal{L}_k = \mathrm{CE}\big(a_k(T_k),\, Y\big),

the gradient reaching :math:`M_k` only through :math:`a_k`. The auxiliary net follows the authors'
code (``eugenium/DGL``, ``auxillary_classifier2``): feature maps are average-pooled to a ``grid`` of
2 per spatial dimension and classified by an MLP (their ``mlp`` configuration: 3 hidden layers of
Linear–BatchNorm–ReLU at the pooled width, then a linear layer); vectors and graph rows (node
features, pooled graphs) go through a linear layer, as in the paper's MLP setting. The auxiliary
classifiers are only a training signal: the network predicts with its own head. Sequential
training is the paper's greedy variant, simultaneous/asynchronous its decoupled one.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..batch import LocalBatch
from ..objectives import LocalObjective
from .base import Rule
from .heads import auxiliary_classifier


class AuxiliaryCrossEntropy(LocalObjective):
    """CE of an auxiliary classifier on the module's output; the classifier is the objective's own parameter."""

    def __init__(self, shape: tuple, n_classes: int, grid: int, hidden_layers: int):
        super().__init__()
        self.classifier = auxiliary_classifier(shape, n_classes, grid, hidden_layers)

    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = F.cross_entropy(self.classifier(out), batch.y)
        return loss, {"aux_cross_entropy": loss.detach()}


class DGL(Rule):
    """
    Args:
        grid (int): pooled size per spatial dimension of feature maps. (default: 2)
        map_layers (int): hidden layers of the auxiliary MLP on feature maps. (default: 3)
        vector_layers (int): hidden layers of the auxiliary MLP on vectors and graph rows. (default: 0, linear)
    """

    name = "dgl"
    summary = "local cross-entropy through an auxiliary classifier per module (Belilovsky et al. 2020)"

    def __init__(self, grid: int = 2, map_layers: int = 3, vector_layers: int = 0):
        self.grid, self.map_layers, self.vector_layers = grid, map_layers, vector_layers

    def check(self) -> list[str]:
        return [f"dgl {name} must be an integer >= {low}; got {value!r}"
                for name, value, low in (("grid", self.grid, 1), ("map_layers", self.map_layers, 0),
                                         ("vector_layers", self.vector_layers, 0))
                if not (isinstance(value, int) and value >= low)]

    def hidden_objective(self, k: int, shape: tuple, n_classes: int, config) -> LocalObjective:
        layers = self.map_layers if len(shape) > 1 else self.vector_layers
        return AuxiliaryCrossEntropy(shape, n_classes, self.grid, layers)
