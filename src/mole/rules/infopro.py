r"""InfoPro: information propagation through local modules (Wang, Ni, Song, Yang & Huang, ICLR 2021).

Each hidden module k owns a decoder :math:`d_k` and an auxiliary classifier :math:`a_k` and minimizes

.. math:: \mathcal{L}_k = \lambda_{1,k}\,\frac{1}{|X|}\big\|d_k(T_k) - X\big\|_2^2
          + \lambda_{2,k}\,\mathrm{CE}\big(a_k(T_k),\, Y\big),

a surrogate of :math:`-\lambda_1 I(T_k; X) - \lambda_2 I(T_k; Y)`: the module keeps what it needs to
reconstruct the network's raw input X (so task-relevant information is not discarded early) while its
output grows predictive of the labels. The first term is the mean squared error over every element of X
(one row per read-out sample: vectors, signals, images, or a graph's pooled node features), the second
the cross-entropy over the labelled rows only (:func:`~mole.objectives.cross_entropy.labelled_cross_entropy`,
the classifier run on those rows alone); the reconstruction is label-free, so unlabelled samples
(label −1, a label budget) train it too. The weights move linearly with depth, from the first hidden
module to the last (H hidden modules, :math:`r_k = k / (H - 1)`, 0 when H = 1):

.. math:: \lambda_{1,k} = (1 - r_k)\,\lambda_1^{\mathrm{first}} + r_k\,\lambda_1^{\mathrm{last}}, \qquad
          \lambda_{2,k} = (1 - r_k)\,\lambda_2^{\mathrm{first}} + r_k\,\lambda_2^{\mathrm{last}}.

The variant built, against the authors' code (``blackfeather-wang/InfoPro-Pytorch``, folder
``Experiments on CIFAR-SVHN-STL10``):

* weights: their ``ixx_1, ixy_1`` (first local module) and ``ixx_2, ixy_2`` (last one), interpolated as
  ``networks/resnet.py`` does in ``forward``; the defaults λ₁ 5 → 0.5, λ₂ 0.2 → 1 are their ResNet-110,
  16-module SVHN command (``comand.sh``; the CIFAR-10 one differs only in λ₂ starting at 0): reconstruction
  dominates early, the labels late.
* reconstruction: their ``Decoder`` (``networks/auxiliary_nets.py``) upsamples the features to the image
  size (bilinear, ``align_corners=True``) and applies Conv3×3(C → 12)–BatchNorm–ReLU–Conv3×3(12 → 3)–sigmoid
  with binary cross-entropy against the image restored to [0, 1]. Here feature maps (signals: 1-D, images:
  2-D) get the same decoder, interpolated to X's spatial size (linear/bilinear, or nearest) and ending at
  X's channels, without the sigmoid, and the loss is the mean squared error (a Gaussian decoder's
  log-likelihood up to constants), since mole's inputs are any real features, not pixels in [0, 1].
  Vectors and graph rows have no decoder in the authors' code; they get a linear map from the module's
  width to X's flattened size.
* label term: their ``AuxClassifier`` trains with cross-entropy (``loss_mode='cross_entropy'``) or, in
  every command they publish, a supervised contrastive loss on a 128-d projection (``'contrast'``); this is
  the cross-entropy form. The classifier is DGL's (:func:`~mole.rules.heads.auxiliary_classifier`):
  feature maps are average-pooled to ``grid`` (default 1: global pooling, as their heads do) and go
  through ``map_layers`` hidden Linear–BatchNorm–ReLU layers (default 1, their two fully connected
  layers), vectors and graph rows through a linear layer.

The decoder is sized from the network's first layer (``in_features`` of a Linear: X's flattened size;
``in_channels`` of a convolution or graph layer: X's channels), since a rule is built before it sees
data; a module whose output and X do not fit such a decoder is refused with a ConfigError at its first
step. Decoder and classifier are only a training signal: the network predicts with its own head.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..batch import LocalBatch
from ..errors import ConfigError
from ..objectives import LocalObjective
from ..objectives.cross_entropy import labelled_cross_entropy
from .base import Rule, input_size
from .heads import auxiliary_classifier

_CONV = {1: (nn.Conv1d, nn.BatchNorm1d), 2: (nn.Conv2d, nn.BatchNorm2d), 3: (nn.Conv3d, nn.BatchNorm3d)}
_LINEAR_MODE = {1: "linear", 2: "bilinear", 3: "trilinear"}
UPSAMPLING = ("linear", "nearest")


def feature_map_decoder(channels: int, x_channels: int, spatial_dims: int, width: int) -> nn.Sequential:
    """Conv3(C → width)–BatchNorm–ReLU–Conv3(width → X's channels): the authors' decoder without its sigmoid."""
    if spatial_dims not in _CONV:
        raise ConfigError(f"infopro cannot decode feature maps with {spatial_dims} spatial dimensions")
    conv, norm = _CONV[spatial_dims]
    return nn.Sequential(conv(channels, width, 3, padding=1), norm(width), nn.ReLU(),
                         conv(width, x_channels, 3, padding=1))


class InfoProObjective(LocalObjective):
    """λ₁·MSE(decoder(T), X) + λ₂·CE(classifier(T), Y) for one module (see the module docstring).

    ``shape``: the module's read-out output per sample; ``x_size``: X's flattened size per sample (vector
    outputs) or its channels (feature-map outputs)."""

    def __init__(self, shape: tuple, n_classes: int, x_size: int, lambda_x: float, lambda_y: float,
                 decoder_width: int = 12, upsample: str = "linear", grid: int = 1, hidden_layers: int = 0):
        super().__init__()
        self.lambda_x, self.lambda_y = float(lambda_x), float(lambda_y)
        self.x_size, self.upsample = x_size, upsample
        if len(shape) > 1:
            self.decoder = feature_map_decoder(shape[0], x_size, len(shape) - 1, decoder_width)
        else:
            self.decoder = nn.Linear(math.prod(shape), x_size)
        self.classifier = auxiliary_classifier(shape, n_classes, grid, hidden_layers)

    def reconstruct(self, out: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """The decoder's estimate of X (same shape as ``x``) from the module's output ``out``."""
        if out.dim() == 2:
            if math.prod(x.shape[1:]) != self.x_size:
                raise ConfigError(f"infopro's decoder maps to {self.x_size} values per sample (the network's first "
                                  f"layer) but X has shape {tuple(x.shape[1:])}")
            return self.decoder(out).reshape(x.shape)
        if x.dim() != out.dim() or x.shape[1] != self.x_size:
            raise ConfigError(f"infopro decodes feature maps of shape {tuple(out.shape[1:])} to X with "
                              f"{self.x_size} channels and {out.dim() - 2} spatial dimensions; X has shape "
                              f"{tuple(x.shape[1:])}")
        if out.shape[2:] != x.shape[2:]:
            if self.upsample == "nearest":
                out = F.interpolate(out, size=x.shape[2:], mode="nearest")
            else:
                out = F.interpolate(out, size=x.shape[2:], mode=_LINEAR_MODE[out.dim() - 2], align_corners=True)
        return self.decoder(out)

    def label_term(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """CE of the classifier over the labelled rows, which alone go through it (its BatchNorm statistics
        too) when there are at least two of them; 0 (connected to the graph) when there are none."""
        labelled = y >= 0
        count = int(labelled.sum())
        if 2 <= count < len(y):
            return labelled_cross_entropy(self.classifier(out[labelled]), y[labelled])
        return labelled_cross_entropy(self.classifier(out), y)  # all rows labelled, or fewer than 2 for BatchNorm

    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        x = batch.x.detach()
        reconstruction = F.mse_loss(self.reconstruct(out, x).float(), x.float())
        cross_entropy = self.label_term(out, batch.y)
        loss = self.lambda_x * reconstruction + self.lambda_y * cross_entropy
        return loss, {"reconstruction": reconstruction.detach(),
                      "aux_cross_entropy": cross_entropy.detach()}


class InfoPro(Rule):
    """
    Args:
        lambda_x_first (float): weight λ₁ of the reconstruction loss at the first hidden module. (default: 5)
        lambda_x_last (float): λ₁ at the last hidden module, linear in between. (default: 0.5)
        lambda_y_first (float): weight λ₂ of the auxiliary cross-entropy at the first hidden module. (default: 0.2)
        lambda_y_last (float): λ₂ at the last hidden module, linear in between. (default: 1)
        decoder_width (int): hidden channels of the feature-map decoder. (default: 12)
        upsample (str): how feature maps reach X's size before decoding: ``"linear"`` (bilinear on
            images) or ``"nearest"``. (default: "linear")
        grid (int): pooled size per spatial dimension before the auxiliary classifier. (default: 1)
        map_layers (int): hidden layers of the auxiliary classifier on feature maps. (default: 1)
        vector_layers (int): hidden layers of the auxiliary classifier on vectors and graph rows. (default: 0, linear)
    """

    name = "infopro"
    summary = "λ1·reconstruction of X + λ2·auxiliary cross-entropy per module, λ's by depth (Wang et al. 2021)"
    uses_unlabelled = True  # the reconstruction of X needs no labels

    def __init__(self, lambda_x_first: float = 5.0, lambda_x_last: float = 0.5, lambda_y_first: float = 0.2,
                 lambda_y_last: float = 1.0, decoder_width: int = 12, upsample: str = "linear", grid: int = 1,
                 map_layers: int = 1, vector_layers: int = 0):
        self.lambda_x_first, self.lambda_x_last = lambda_x_first, lambda_x_last
        self.lambda_y_first, self.lambda_y_last = lambda_y_first, lambda_y_last
        self.decoder_width, self.upsample = decoder_width, upsample
        self.grid, self.map_layers, self.vector_layers = grid, map_layers, vector_layers
        self._layout: tuple[int, int] | None = None  # (hidden modules, X's size), set by stages()

    def check(self) -> list[str]:
        problems = []
        weights = {"lambda_x_first": self.lambda_x_first, "lambda_x_last": self.lambda_x_last,
                   "lambda_y_first": self.lambda_y_first, "lambda_y_last": self.lambda_y_last}
        for name, value in weights.items():
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < float("inf")):
                problems.append(f"infopro {name} must be a finite number >= 0; got {value!r}")
        if not problems:
            for end in ("first", "last"):
                if weights[f"lambda_x_{end}"] == 0 and weights[f"lambda_y_{end}"] == 0:
                    problems.append(f"infopro lambda_x_{end} and lambda_y_{end} are both 0: the {end} hidden "
                                    "module would not learn")
        for name, value, low in (("decoder_width", self.decoder_width, 1), ("grid", self.grid, 1),
                                 ("map_layers", self.map_layers, 0), ("vector_layers", self.vector_layers, 0)):
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= low):
                problems.append(f"infopro {name} must be an integer >= {low}; got {value!r}")
        if self.upsample not in UPSAMPLING:
            problems.append(f"infopro upsample must be one of {', '.join(UPSAMPLING)}; got {self.upsample!r}")
        return problems

    def weights(self, k: int, hidden: int) -> tuple[float, float]:
        """(λ₁, λ₂) of hidden module k of ``hidden``: linear from the first module's to the last's."""
        r = k / (hidden - 1) if hidden > 1 else 0.0
        return ((1 - r) * self.lambda_x_first + r * self.lambda_x_last,
                (1 - r) * self.lambda_y_first + r * self.lambda_y_last)

    def parts(self, network, shapes: list[tuple], n_classes: int, config):
        """As every rule's; first reads the depth (for the weights) and X's size (for the decoders)."""
        self._layout = (len(network) - 1, input_size(network))
        try:
            return super().parts(network, shapes, n_classes, config)
        finally:
            self._layout = None

    def hidden_objective(self, k: int, shape: tuple, n_classes: int, config) -> LocalObjective:
        if self._layout is None:
            raise ConfigError("infopro builds its objectives with the network (InfoPro.parts), which gives the "
                              "depth and X's size")
        if not shape:
            raise ConfigError("infopro sizes its decoder and classifier from the modules' outputs: pass data= to "
                              "build_stages")
        hidden, x_size = self._layout
        lambda_x, lambda_y = self.weights(k, hidden)
        layers = self.map_layers if len(shape) > 1 else self.vector_layers
        return InfoProObjective(shape, n_classes, x_size, lambda_x, lambda_y, self.decoder_width, self.upsample,
                                self.grid, layers)
