r"""Forward-Forward (Hinton, 2022): two forward passes, one with the true label written into the input, one with
a wrong label, and no backward pass between layers.

Each module k scores its output t (d units) by its *goodness*, the sum of squares of its units (Hinton), here
written through the per-unit mean G,

.. math:: G_k(t) = \frac{1}{d}\sum_{j=1}^{d} t_j^2,

and minimizes, over a batch of positive inputs (the sample with its own label written in) and negative ones
(the same samples with a wrong label, drawn uniformly among the other classes, afresh every step), the logistic
loss of the sum of squares against the threshold θ·d,

.. math:: \mathcal{L}_k = \operatorname{mean}_{i}\, \mathrm{sp}\big(d\,(\theta - G_k(t^+_i))\big)
          + \operatorname{mean}_{i}\, \mathrm{sp}\big(d\,(G_k(t^-_i) - \theta)\big), \qquad \mathrm{sp}(z) = \log(1 + e^z),

so that goodness rises above the threshold for positive data and falls below it for negative data. θ = 1 (the sum
of squares against the number of units) is the threshold of Hinton's code as ``loeweX/Forward-Forward``
reimplements it; the per-unit form ``sp(θ − G)`` of ``mohammadpz/pytorch_forward_forward`` is d times flatter and
learned MNIST far slower.

* The label is written into the input: the first C features of each (flattened) sample become the one-hot
  label, at ``label_scale`` × the sample's largest absolute feature, so the label is as bright as the sample's
  brightest pixel however the data are scaled (Hinton's MNIST network: the first 10 pixels, at 1 for pixels in
  [0, 1]; standardized MNIST: about 2.8). The network's input keeps its shape. Grids for a network that starts
  with a convolution (signals, images) get the label appended instead, as C channels constant over every
  position (``label_scale`` × one-hot; the network takes c + C channels: :meth:`ForwardForward.input_shape`):
  written into the first pixels it would reach only the units whose receptive field covers them, and no
  convolution could relate it to the rest of the sample (MNIST-1D's CNN then trained to chance).
* Every module's input is length-normalized, the first module's included (Hinton: the input vector too): module k
  sees :math:`r\sqrt{d}\, t / \lVert t\rVert`, root mean square ``input_rms`` = r, so that it cannot read the
  goodness of the module before it off the length (a forward pre-hook on each module, added by
  :meth:`ForwardForward.prepare_network`; it is not a weight, so a saved model gets it back from its rule). The
  default r = √3 gives a freshly initialized PyTorch layer (weights of variance 1/(3·fan-in)) unit-variance
  pre-activations, the start of Hinton's layers (weights of variance 1/fan-in on unit-RMS inputs); with r = 1,
  MNIST learned markedly slower.
* Every module, the last included, is a Forward-Forward layer: no classifier head is trained with
  cross-entropy.
* Prediction: each label in turn is written into the input and the goodness of the *hidden* modules is summed,
  the first left out when there are two or more (Hinton: every layer but the first); the label with the largest
  sum wins. mole's networks end in a C-unit layer without activation (the head of the other rules): it trains as a
  Forward-Forward layer too, but C unrectified units score goodness poorly and Hinton's network has no such layer,
  so the prediction leaves it out. The network's forward then returns these sums, one column per label
  (``mole.fit(...).predict`` and the saved model predict with them).

Graph collections (graph Forward-Forward, Paliotta, Alain, Máté & Fleuret 2023, the graph-level variant): the
one-hot label is *appended* to every node's features (the network takes F + C node features:
:meth:`ForwardForward.input_shape`), at ``label_scale`` × the node's feature length (one-hot atom types: length 1),
a graph's goodness is the read-out (mean or sum pooling) of its nodes' goodness, and prediction scores each
candidate label by that read-out summed over the scored modules. Node features given without a label (the
analysis: probes, t-SNE, information plane) get Hinton's neutral label, 1/C in every label column (times the
node's length).

Node-level graphs (the same device per node) are trained as they are predicted. Prediction appends each candidate
label c to *every* node and scores each node by its goodness; a node's output then mixes its neighbours' inputs,
which carry c too. So each step runs C copies of the graph, every node of copy c labelled c, and reads each
labelled target node out in its own label's copy (positive) and in a wrong label's copy (negative): a step costs C
full-graph forward passes. Two choices differ from vectors, both measured (200 epochs, seed 0, GCN 64): labelling
only the targets and giving every other node the neutral label (training's graph then differs from prediction's)
collapsed the predictions onto one class, below chance (Cora 12.8 %, CiteSeer 7.6 %: 999 of 1,000 test nodes
predicted as class 0); and the label's length is relative to the node's features, since a CiteSeer node has about
32 ones among 3,703 binary features and a label of absolute value 1 was 3 % of its normalized input (C copies,
100 epochs: 9.8 % at label_scale 1, 49.5 % at 4). With the C copies, the relative label and input RMS 1: Cora
75.5 %, CiteSeer 56.9 % (label_scale 0.5: 74.2 / 48.2 %; input RMS √3: 65.8 / 20.5 % on Cora at label_scale 1 /
0.5), so node-level graphs take input RMS 1 by default.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..adapters import GraphData, NodeData, SampledNodeData, TensorData, TrainData
from ..adapters.base import minibatches
from ..adapters.graphs import POOLS
from ..batch import LocalBatch
from ..errors import ConfigError
from ..objectives import LocalObjective
from .base import Rule, input_size


def goodness(t: torch.Tensor) -> torch.Tensor:
    """Mean square of each row's units: (n, ...) -> (n,)."""
    return t.flatten(1).float().square().mean(1)


def write_label(x: torch.Tensor, y: torch.Tensor, n_classes: int, scale: float = 1.0) -> torch.Tensor:
    """``x`` (n, ...) with the first ``n_classes`` features of each flattened sample replaced by one-hot(``y``) at
    ``scale`` × the sample's largest absolute feature (1 for a sample of zeros)."""
    flat = x.flatten(1).clone()
    peak = flat.abs().amax(1, keepdim=True)
    peak = torch.where(peak > 0, peak, torch.ones_like(peak))
    flat[:, :n_classes] = F.one_hot(y, n_classes).to(flat.dtype) * (scale * peak)
    return flat.view_as(x)


def append_label(x: torch.Tensor, y: torch.Tensor, n_classes: int, scale: float = 1.0,
                 relative: bool = False) -> torch.Tensor:
    r"""``scale`` × one-hot(``y``) appended to every row's features: graph nodes ``x`` (N, F) -> (N, F + C); grids
    ``x`` (n, c, ...) -> (n, c + C, ...), the label constant over every position. ``relative``: the label at
    ``scale`` × the row's length :math:`\lVert x_i\rVert` (1 for a row of zeros), graph nodes'."""
    label = F.one_hot(y, n_classes).to(x.dtype) * scale
    if relative:
        label = label * row_length(x)
    return torch.cat([x, label.view(*label.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])], 1)


def row_length(x: torch.Tensor) -> torch.Tensor:
    """Each row's Euclidean length, (n, ...) -> (n, 1); 1 for a row of zeros."""
    length = x.flatten(1).norm(dim=1, keepdim=True)
    return torch.where(length > 0, length, torch.ones_like(length))


class NormalizeInput:
    """Forward pre-hook: the module's first input scaled per sample to the root mean square ``rms``, i.e. to the
    length ``rms``·√d (other arguments kept)."""

    def __init__(self, rms: float):
        self.rms = rms

    def __call__(self, module: nn.Module, args: tuple) -> tuple:
        t = args[0]
        norm = t.flatten(1).square().mean(1).sqrt().clamp_min(1e-8).view(-1, *([1] * (t.dim() - 1)))
        return (t * (self.rms / norm), *args[1:])


class NeutralLabel:
    """Forward pre-hook of the first module of a network the label is appended to (graphs, grids): inputs that come
    without a label (F of the F + C features or channels the module takes: representations for the analysis) get
    Hinton's neutral label, 1/C in every label column or channel."""

    def __init__(self, n_classes: int, width: int, scale: float, relative: bool = False):
        self.n_classes, self.width, self.scale, self.relative = n_classes, width, scale, relative

    def __call__(self, module: nn.Module, args: tuple) -> tuple | None:
        t = args[0]
        if t.dim() < 2 or t.shape[1] != self.width - self.n_classes:
            return None
        neutral = t.new_full((t.shape[0], self.n_classes, *t.shape[2:]), self.scale / self.n_classes)
        if self.relative:  # graph nodes: in units of each node's length, as the label is appended
            neutral = neutral * row_length(t)
        return (torch.cat([t, neutral], 1), *args[1:])


class ForwardForwardObjective(LocalObjective):
    """softplus(d·(θ − G(positive rows))) + softplus(d·(G(negative rows) − θ)), d the module's units per row: the
    batch's first half is positive, its second half negative (:class:`ForwardForwardData`,
    :class:`ForwardForwardGraphs`). The goodness of a read-out row is the read-out of the goodness of the module's
    rows: a sample's own, or a graph's pooled over its nodes."""

    needs_output = True

    def __init__(self, threshold: float):
        super().__init__()
        self.threshold = threshold

    def forward(self, out: torch.Tensor, batch: LocalBatch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        whole = batch.output if batch.output is not None else out
        g = batch.readout(goodness(whole)[:, None]).squeeze(1)
        g_pos, g_neg = g.chunk(2)
        d = whole.flatten(1).shape[1]
        loss = F.softplus(d * (self.threshold - g_pos)).mean() + F.softplus(d * (g_neg - self.threshold)).mean()
        return loss, {"goodness_pos": g_pos.detach().mean(), "goodness_neg": g_neg.detach().mean()}


class _WithLabels(TrainData):
    """What both of Forward-Forward's views of the data share: the inner adapter's samples and evaluation; only the
    training batches differ. Frozen modules cannot be cached (the wrong labels change every step), so the
    schedules run them per batch."""

    augments = True

    def __init__(self, inner: TrainData, n_classes: int, scale: float, channels: bool = False):
        self.inner, self.n_classes, self.scale = inner, n_classes, scale
        self.channels = channels  # grids for a convolutional network: the label appended as channels

    @property
    def x(self) -> torch.Tensor:
        return self.inner.x

    @property
    def y(self) -> torch.Tensor:
        return self.inner.y

    def transform(self, module, t, batch_size):
        return self.inner.transform(module, t, batch_size)

    def rows(self, out):
        return self.inner.rows(out)

    def take(self, positions):
        return type(self)(self.inner.take(positions), self.n_classes, self.scale, self.channels)

    def to(self, device):
        self.inner = self.inner.to(device)
        return self

    def wrong_labels(self, y: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """A wrong label per entry of ``y``, uniform over the other classes."""
        shift = torch.randint(1, self.n_classes, y.shape, generator=generator).to(y.device)
        return (y + shift) % self.n_classes


class ForwardForwardData(_WithLabels):
    """Training batches of ``inner`` (vectors, signals, images) as Forward-Forward sees them: ``[positive;
    negative]`` rows, each sample with its label and with a wrong label written in (vectors) or appended as
    channels (grids)."""

    def batches(self, t, batch_size, generator, hops=1):
        for b in self.inner.batches(t, batch_size, generator, hops):
            yield positive_negative(b, self.wrong_labels(b.y, generator), self.n_classes, self.scale, self.channels)


def positive_negative(b: LocalBatch, wrong: torch.Tensor, n_classes: int, scale: float, channels: bool) -> LocalBatch:
    """Batch ``b`` of plain samples as Forward-Forward trains on it: ``[positive; negative]`` rows, each sample with
    its label and with its ``wrong`` label written in (vectors) or appended as channels (``channels``: grids)."""
    label = append_label if channels else write_label
    rows = torch.cat([label(b.t_in, b.y, n_classes, scale), label(b.t_in, wrong, n_classes, scale)])
    return LocalBatch(rows, torch.cat([b.x, b.x]), torch.cat([b.y, b.y]), b.context)


class ForwardForwardGraphs(_WithLabels):
    """Graph collections as graph Forward-Forward sees them (Paliotta et al. 2023): every node of a graph gets its
    graph's label (positive) or a wrong one (negative) appended to its features; a batch of B graphs becomes 2B,
    the negatives a second copy of the same graphs."""

    def batches(self, t, batch_size, generator, hops=1):
        g = self.inner
        for chosen in minibatches(len(g), batch_size, generator):
            ids, nodes, edges, local = g._cut(chosen)
            y = g.y[ids]
            wrong = self.wrong_labels(y, generator)
            n, b = int(nodes.sum()), len(ids)
            x = t[nodes]
            if g.augments:  # the same masked graphs carry the true and the wrong label
                x, edges = g.augmentation(x, edges, generator)
            rows = torch.cat([append_label(x, y[local], self.n_classes, self.scale, relative=True),
                              append_label(x, wrong[local], self.n_classes, self.scale, relative=True)])
            both = torch.cat([local, local + b])
            yield LocalBatch(rows, torch.cat([g.x_pooled[ids]] * 2), torch.cat([y, y]),
                             (torch.cat([edges, edges + n], 1),),
                             readout=lambda out, both=both, size=2 * b: POOLS[g.pool](out, both, size=size))


class ForwardForwardNodes(_WithLabels):
    """A node-level graph as node Forward-Forward sees it: C copies of the graph, every node of copy c with label c
    appended (at ``scale`` × its length) -- the graph exactly as the prediction labels it for candidate c; per step,
    a batch's labelled target node is read out in its own label's copy (positive) and in a wrong label's copy
    (negative). One step is a forward pass over C copies of the graph."""

    def batches(self, t, batch_size, generator, hops=1):
        g, n, c = self.inner, t.shape[0], self.n_classes
        rows = torch.cat([append_label(t, torch.full((n,), k, dtype=torch.long, device=t.device), c, self.scale,
                                       relative=True) for k in range(c)])
        edges = torch.cat([g.edge_index + k * n for k in range(c)], 1)
        for idx in minibatches(len(g), batch_size, generator):
            nodes = g.index[idx]
            y = g.y_all[nodes]
            wrong = self.wrong_labels(y, generator)
            yield LocalBatch(rows, torch.cat([g.x[nodes]] * 2), torch.cat([y, y]), (edges,),
                             readout=lambda out, nodes=nodes, y=y, wrong=wrong, n=n: torch.cat(
                                 [out[y * n + nodes], out[wrong * n + nodes]]))


def scored_modules(n_modules: int) -> range:
    """The modules whose goodness the prediction sums: the hidden ones (all but the last, the C-unit layer), the
    first left out when there are two or more; a network of one or two modules scores its first."""
    hidden = n_modules - 1
    return range(1, hidden) if hidden >= 2 else range(0, 1)


class GoodnessScores(nn.Module):
    """The network's read-out under Forward-Forward: per label, the summed goodness of the
    :func:`scored_modules` with that label written into the input. Holds no weights (a saved model's state is
    unchanged)."""

    def __init__(self, n_classes: int, scale: float, append: bool = False, relative: bool = False):
        super().__init__()
        self.n_classes, self.scale, self.append = n_classes, scale, append  # append: graphs' nodes, grids' channels
        self.relative = relative  # graphs' nodes: the label in units of each node's length

    def forward(self, blocks: nn.ModuleList, x: torch.Tensor, *context) -> torch.Tensor:
        columns = []
        scored = scored_modules(len(blocks))
        for c in range(self.n_classes):
            y = torch.full((x.shape[0],), c, dtype=torch.long, device=x.device)
            t = (append_label(x, y, self.n_classes, self.scale, relative=self.relative) if self.append
                 else write_label(x, y, self.n_classes, self.scale))
            total = x.new_zeros(x.shape[0], dtype=torch.float32)
            for k, block in enumerate(blocks[:scored.stop]):
                t = block(t, *context)
                if k in scored:
                    total = total + goodness(t)
            columns.append(total)
        return torch.stack(columns, 1)


def _takes_grids(network) -> bool:
    """True if the network's first layer is a convolution (its input: signals or images)."""
    return any(isinstance(layer, nn.modules.conv._ConvNd) for layer in network.blocks[0].modules())


class ForwardForward(Rule):
    """
    Args:
        threshold (float): θ, the mean square per unit that separates positive from negative data. (default: 1.0)
        label_scale (float): the written-in one-hot label's value, in units of the sample's largest absolute feature
            (vectors, images); graphs append it at this value. (default: 1.0)
        input_rms (float): the root mean square every module's input is normalized to; None: √3, and 1 on
            node-level graphs. (default: None)
    """

    name = "forward-forward"
    summary = "goodness of true-label inputs above θ, of wrong-label inputs below, per module; no head (Hinton 2022)"

    def __init__(self, threshold: float = 1.0, label_scale: float = 1.0, input_rms: float | None = None):
        self.threshold, self.label_scale, self.input_rms = threshold, label_scale, input_rms

    def check(self) -> list[str]:
        problems = []
        for name in ("threshold", "label_scale", "input_rms"):
            value = getattr(self, name)
            if name == "input_rms" and value is None:
                continue
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value < float("inf")):
                problems.append(f"forward-forward {name} must be a positive finite number; got {value!r}")
        return problems

    def input_shape(self, shape: tuple, n_classes: int, kind: str) -> tuple:
        return (shape[0] + n_classes, *shape[1:]) if kind in ("graph", "node", "grid") else shape

    def prepare_data(self, data: TrainData, n_classes: int, network=None) -> TrainData:
        if isinstance(data, SampledNodeData):
            raise ConfigError("forward-forward trains a node-level graph whole (C labelled copies of it per step), "
                              "not on sampled neighbourhoods; use --neighbor-sampling off")
        if isinstance(data, NodeData):
            return ForwardForwardNodes(data, n_classes, float(self.label_scale))
        if isinstance(data, GraphData):
            return ForwardForwardGraphs(data, n_classes, float(self.label_scale))
        if not isinstance(data, TensorData):
            raise ConfigError(f"forward-forward takes vectors, signals, images and graphs; got {type(data).__name__}")
        channels = network is not None and _takes_grids(network)  # a convolution takes the label as C channels
        if not channels and data.x[0].numel() <= n_classes:
            raise ConfigError(f"forward-forward writes the label into the first {n_classes} input features, and the "
                              f"samples have only {data.x[0].numel()}")
        return ForwardForwardData(data, n_classes, float(self.label_scale), channels=channels)

    def rms(self, nodes: bool = False) -> float:
        """The input RMS of every module: ``input_rms``, else √3, and 1 on node-level graphs (``nodes``)."""
        return float(self.input_rms) if self.input_rms is not None else 1.0 if nodes else 3 ** 0.5

    def prepare_network(self, network, n_classes: int, graphs: bool = False, nodes: bool = False) -> None:
        first = network.blocks[0]
        appends = graphs or _takes_grids(network)
        if appends and not getattr(first, "_mole_neutral_label", False):  # before the normalization of its input
            first.register_forward_pre_hook(NeutralLabel(n_classes, input_size(network), float(self.label_scale),
                                                         relative=graphs))
            first._mole_neutral_label = True
        for block in network.blocks:
            if not getattr(block, "_mole_normalized_input", False):
                block.register_forward_pre_hook(NormalizeInput(self.rms(nodes)))
                block._mole_normalized_input = True
        network.readout = GoodnessScores(n_classes, float(self.label_scale), append=appends, relative=graphs)

    def needs_shapes(self, config) -> bool:
        return False

    def training_batch(self, batch: LocalBatch, n_classes: int, network) -> LocalBatch:
        """A user's batch of plain samples as Forward-Forward trains on it: positive and negative rows, the wrong
        labels drawn from torch's global generator (:func:`positive_negative`)."""
        if batch.context:
            raise ConfigError("forward-forward in a training loop of your own takes vectors, signals and images; "
                              "train graphs with mole.fit")
        shift = torch.randint(1, n_classes, batch.y.shape, device=batch.y.device)
        return positive_negative(batch, (batch.y + shift) % n_classes, n_classes, float(self.label_scale),
                                 _takes_grids(network))

    def hidden_objective(self, k: int, shape: tuple, n_classes: int, config) -> LocalObjective:
        return ForwardForwardObjective(float(self.threshold))

    def head_objective(self, shape: tuple, n_classes: int, config) -> LocalObjective:
        return ForwardForwardObjective(float(self.threshold))
