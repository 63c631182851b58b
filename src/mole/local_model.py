r"""MOLE's local rules as a module for your own training loop.

:class:`LocalModel` wraps a network cut into modules ``M_1 ... M_K`` with a rule's local objectives. In training,
with a target, its forward computes every module's local loss on its detached input,

.. math:: T_0 = X,\qquad T_k = M_k(\operatorname{sg}[T_{k-1}]),\qquad
          \mathcal{L} = \sum_{k=1}^{K} \ell_k\big(T_k\big),

and returns them with the logits. Since module k's input is detached and its objective's parts (critics, auxiliary
classifiers, decoders) belong to it alone, :math:`\nabla_{\theta_k}\mathcal{L} = \nabla_{\theta_k}\ell_k`: one
``loss.backward()`` gives every module the gradient of its own local loss, exactly what per-module backward passes
give (``mole.fit``'s simultaneous schedule, built from the same parts and the same loss,
:func:`mole.local_loss.local_loss`). So the loop stays the user's: their optimizer and learning-rate schedule,
``torch.autocast`` and ``GradScaler``, ``DistributedDataParallel`` (batch-level objectives gather the rows of
every process, :mod:`mole.distributed.gather`), Lightning's automatic optimization, ``accelerator.backward``.

.. code-block:: python

    model = mole.LocalModel(Net(), cuts=["block1", "block2"], num_classes=10)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        loss = model(x, target=y).loss
        optimizer.zero_grad(); loss.backward(); optimizer.step()
    model.eval(); logits = model(x_test)          # what the network returns

The forward never calls ``backward()`` or ``step()``, and reads nothing back to the host.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import nn

from .batch import LocalBatch
from .config import TrainConfig
from .errors import ConfigError, DataError
from .local_loss import local_loss
from .modular import ModularNetwork


@dataclasses.dataclass
class LocalOutput:
    """What a training forward of :class:`LocalModel` returns.

    Attributes:
        logits: the network's output (the head's), as the network returns it.
        loss: the sum of every module's local loss: one ``backward()`` trains every module on its own.
        losses: each module's local loss, in order (one for an end-to-end rule: bp, bp-semi).
        terms: each module's logged terms (detached 0-d tensors, e.g. MOLE's ``I_TY``).
    """

    logits: torch.Tensor
    loss: torch.Tensor
    losses: list[torch.Tensor]
    terms: list[dict[str, torch.Tensor]]


def _rows(readout):
    """A read-out from what ``forward`` was given: a callable, a mask or an index of rows, or None (every row)."""
    if readout is None or callable(readout):
        return readout
    if isinstance(readout, torch.Tensor):
        return lambda t: t[readout]
    raise ConfigError(f"readout must be a callable, a boolean mask or an index tensor of the rows that carry targets; "
                      f"got {type(readout).__name__}")


class LocalModel(nn.Module):
    """A network with a local rule's objectives, for a training loop of your own (see the module docstring).

    Args:
        model: an ``nn.Sequential``, a list of layers, a :class:`~mole.modular.ModularNetwork`, or any ``nn.Module``
            with ``cuts``, as :func:`mole.fit` takes it.
        cuts: names of submodules to cut ``model`` after (:mod:`mole.cuts`); the part after the last is the head.
        method: a registered rule name (``"mole"``, ``"bp"``, ``"bp-semi"``, ``"dgl"``, ``"predsim"``,
            ``"infopro"``, ``"hsic-bottleneck"``, ``"forward-forward"``) or a :class:`~mole.rules.Rule`; its options
            from ``config.rule_options[name]``.
        num_classes: the number of classes; None reads it from the head's output on ``example``.
        config: a :class:`~mole.config.TrainConfig` for the objective's weights, the estimator, rule options and the
            seed the objectives' parts start from; its optimizer, epochs and precision are your loop's.
        groups: explicit module grouping of an ``nn.Sequential``'s layers.
        example: a batch of inputs (``x`` or ``(x, *context)``, two samples suffice) for rules that size their parts
            from the modules' outputs (DGL, PredSim, InfoPro) and to read ``num_classes``.
        gather: gather the rows of every process for batch-level objectives (:mod:`mole.distributed.gather`);
            ``"auto"``: when torch.distributed is initialized with more than one process.

    Example:
        .. code-block:: python

            model = mole.LocalModel(torchvision.models.resnet18(num_classes=10),
                                    cuts=["layer1", "layer2", "layer3", "layer4"], method="dgl", example=x[:2])
            out = model(x, target=y)           # LocalOutput: logits, loss, losses, terms
            out.loss.backward()
    """

    def __init__(self, model: nn.Module | Sequence[nn.Module], cuts: Sequence[str] | None = None, *,
                 method="mole", num_classes: int | None = None, config: TrainConfig | None = None,
                 groups: Sequence[Sequence[int]] | None = None, example=None, gather: bool | str = "auto"):
        super().__init__()
        from .api import _rule, network_shapes, validate_config
        config = validate_config(config or TrainConfig())
        if config.precision != "32":
            raise ConfigError(f"LocalModel takes your loop's precision: wrap forward and backward in torch.autocast "
                              f"(and torch.amp.GradScaler for float16) instead of precision={config.precision!r}")
        if gather not in ("auto", True, False):
            raise ConfigError(f"gather must be 'auto', True or False; got {gather!r}")
        rule = _rule(method, config)
        self.network = model if isinstance(model, ModularNetwork) else ModularNetwork(model, groups, cuts)
        shapes = [() for _ in self.network.blocks]
        if example is not None:
            x, *context = example if isinstance(example, (tuple, list)) else (example,)
            batch = LocalBatch(x, x, torch.zeros(x.shape[0], dtype=torch.long), tuple(context))
            shapes = network_shapes(self.network, batch)
            if num_classes is None:
                num_classes = shapes[-1][0] if len(shapes[-1]) == 1 else None
        elif rule.needs_shapes(config):
            raise ConfigError(f"{rule.name or type(rule).__name__} sizes its objectives' parts from the modules' "
                              "outputs: pass example= (a batch of inputs, e.g. x[:2])")
        if not (isinstance(num_classes, int) and not isinstance(num_classes, bool) and num_classes >= 2):
            raise ConfigError(f"num_classes must be an integer >= 2 (the head's outputs); got {num_classes!r}: pass "
                              "num_classes=, or example= to read it from the head")
        head = shapes[-1]
        if example is not None and (len(head) != 1 or head[0] < num_classes):
            raise DataError(f"the network outputs shape {head} per sample but num_classes is {num_classes}; the head "
                            f"must output (n, {num_classes}) logits")
        self.rule, self.config, self.num_classes, self.gather = rule, config, num_classes, gather
        rule.prepare_network(self.network, num_classes)
        parts = rule.parts(self.network, shapes, num_classes, config)
        self.objectives = nn.ModuleList(objective for _, objective in parts)
        # the parts' modules are the network's (or wrap its blocks: bp-semi's taps), registered once, under network
        self.__dict__["_modules_of_parts"] = [module for module, _ in parts]
        inside = {id(m) for m in self.network.modules()}
        self.__dict__["_wrappers"] = [m for m, _ in parts if id(m) not in inside]  # their mode follows train()

    def __len__(self) -> int:
        """The number of parts trained on their own loss (the network's modules; 1 for an end-to-end rule)."""
        return len(self.objectives)

    def train(self, mode: bool = True) -> "LocalModel":
        """As ``nn.Module.train``; a part that wraps the network's blocks (bp-semi's taps) is not a submodule, and
        follows too."""
        super().train(mode)
        for wrapper in self._wrappers:
            wrapper.train(mode)
        return self

    def _gathers(self) -> bool:
        if self.gather != "auto":
            return bool(self.gather)
        from .distributed.gather import world_size
        return world_size() > 1

    def forward(self, x: torch.Tensor, *context, target: torch.Tensor | None = None, readout=None):
        """With ``target`` (class labels, one per read-out row; −1: unlabelled): a :class:`LocalOutput`; without, in
        evaluation mode: what the network returns (its logits). ``context``: further arguments of every module
        (a graph's ``edge_index``); ``readout``: the rows that carry targets (a mask, an index, or a callable from a
        module's output to them; default every row)."""
        if target is None:
            if self.training:
                raise ConfigError("LocalModel in training mode computes the local losses from the target: call "
                                  "model(x, target=y), or model.eval() to predict")
            return self.network(x, *context)
        if not isinstance(target, torch.Tensor) or target.dtype not in (torch.int64, torch.int32, torch.int16,
                                                                          torch.uint8):
            raise DataError(f"target must be a tensor of integer class labels; got "
                            f"{getattr(target, 'dtype', type(target).__name__)}")
        rows = _rows(readout)
        if rows is None and target.shape[:1] != x.shape[:1]:
            raise DataError(f"target holds {target.shape[0] if target.dim() else 0} labels for {x.shape[0]} samples; "
                            "pass one label per sample (or readout= to say which rows carry them)")
        if self.training and rows is None and x.shape[0] < 2:
            raise DataError(f"a training batch of {x.shape[0]} sample: local objectives estimate over the batch (and "
                            "BatchNorm needs two); drop the last short batch (DataLoader(..., drop_last=True))")
        batch = LocalBatch(x, x if rows is None else rows(x), target.long(), tuple(context),  # x: X's read-out rows
                           **({"readout": rows} if rows is not None else {}))
        batch = self.rule.training_batch(batch, self.num_classes, self.network) if self.training else batch
        gather, t, losses, terms = self._gathers(), batch.t_in, [], []
        for k, (module, objective) in enumerate(zip(self._modules_of_parts, self.objectives)):
            t, loss, logged = local_loss(k, module, objective, dataclasses.replace(batch, t_in=t), gather=gather)
            losses.append(loss)
            terms.append(logged)
        return LocalOutput(t, sum(losses[1:], losses[0]), losses, terms)

    @torch.no_grad()
    def representations(self, x: torch.Tensor, *context, readout=None) -> list[torch.Tensor]:
        """``[X, T_1, ..., T_K]``, one row per sample (``readout``: the rows, as in :meth:`forward`), every module in
        evaluation mode (restored afterwards): what :func:`mole.analysis.information_plane`,
        :func:`mole.analysis.linear_probes` and :func:`mole.analysis.tsne_panels` read, in a loop of your own."""
        from .modular import evaluating
        rows = _rows(readout) or (lambda t: t)
        with evaluating(self.network):
            outs = self.network.representations(x, *context)
        return [rows(t) for t in (x, *outs)]

    def module_parameters(self, k: int) -> list[nn.Parameter]:
        """Part k's parameters: its module's and its objective's (what ``mole.fit`` gives part k's optimizer)."""
        return list(self._modules_of_parts[k].parameters()) + list(self.objectives[k].parameters())

    def param_groups(self, **options) -> list[dict]:
        """One optimizer parameter group per part (``options``, e.g. ``lr=``, added to each), for per-module learning
        rates, weight decay or schedules: ``torch.optim.Adam(model.param_groups(lr=1e-3))``; ``group["module"]`` is
        the part's index."""
        return [{"params": self.module_parameters(k), "module": k, **options} for k in range(len(self))]
