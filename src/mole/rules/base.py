r"""The local-rule interface: what each module of a network minimizes.

A rule turns a network of K modules into *stages* (:class:`~mole.stage.Stage`): a module, the local
objective it minimizes (which may own auxiliary parameters: a classifier head, a projection, a
critic) and its optimizer. Gradients never leave a stage. Layer-local rules give one stage per
module, the hidden ones with the rule's objective and the last (the classifier head) with
cross-entropy; end-to-end backprop gives one stage holding the whole network. Every schedule and the
asynchronous workers run these stages the same way (:mod:`mole.loop`).

A new rule is one file with a subclass and one line in :data:`mole.rules.RULES`:

.. code-block:: python

    class MyRule(Rule):
        name = "mine"

        def __init__(self, weight: float = 1.0):
            self.weight = weight

        def hidden_objective(self, k, shape, n_classes, config):
            return MyObjective(shape, n_classes, self.weight)  # a LocalObjective

Options are the constructor's keyword arguments (``TrainConfig.rule_options[name]`` or
``--rule-option mine.weight=2``); :meth:`check` reports bad values as one error.
"""
from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from typing import ClassVar

import torch
from torch import nn

from ..errors import ConfigError
from ..objectives import CrossEntropyObjective, LocalObjective
from ..optim import build_optimizer
from ..stage import Stage


def input_size(network) -> int:
    """X's size per sample as the network's first layer takes it: ``in_features`` of a Linear (X flattened),
    ``in_channels`` of a convolution or a graph layer (X's channels); a ConfigError if no layer tells (rules that
    size parts from X: InfoPro's decoder, graph Forward-Forward's neutral label)."""
    for layer in network.blocks[0].modules():
        for attribute in ("in_features", "in_channels"):
            size = getattr(layer, attribute, None)
            if isinstance(size, int) and not isinstance(size, bool) and size > 0:
                return size
    raise ConfigError("the rule sizes a part from the network's first layer (in_features or in_channels), and the "
                      "first module has no such layer")


class Rule(ABC):
    """Base class of local learning rules (see the module docstring).

    Example:
        .. code-block:: python

            class Alignment(Rule):
                name = "alignment"
                summary = "each module maximizes its outputs' alignment with the labels"

                def hidden_objective(self, k, shape, n_classes, config):
                    return AlignmentObjective()        # a LocalObjective: forward(out, batch) -> (loss, terms)

            mole.fit(net, X, y, method=Alignment())   # or register it in mole.rules.RULES: --methods alignment
    """

    name: ClassVar[str] = ""
    #: one stage for the whole network (backprop) instead of one per module
    end_to_end: ClassVar[bool] = False
    #: a short description for ``--help`` and the docs
    summary: ClassVar[str] = ""
    #: True if the rule learns from unlabelled samples (label-free terms); False: with a label budget it trains on
    #: the labelled samples only (see :mod:`mole.adapters.labels`)
    uses_unlabelled: ClassVar[bool] = False

    def check(self) -> list[str]:
        """Problems with the rule's options (empty if none)."""
        return []

    def options(self) -> dict:
        """The constructor options as set, for results.json."""
        parameters = inspect.signature(type(self).__init__).parameters.values()
        return {p.name: getattr(self, p.name) for p in parameters if p.name != "self"  # a rule without __init__ has
                and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}             # object's (*args, **kwargs)

    def prepare_data(self, data, n_classes: int, network=None):
        """The training data as the rule sees it, for ``network`` (default: as given; Forward-Forward writes labels
        into inputs, or appends them as channels for a network that starts with a convolution)."""
        return data

    def input_shape(self, shape: tuple, n_classes: int, kind: str) -> tuple:
        """The network's input shape per sample for data of ``shape`` and ``kind`` under this rule (default: the
        data's; graph Forward-Forward appends the label to every node's features, and Forward-Forward to every
        position of a grid, for ``kind`` ``"grid"``: a convolutional network's input)."""
        return shape

    def prepare_network(self, network, n_classes: int, graphs: bool = False, nodes: bool = False) -> None:
        """Set up ``network`` for training and prediction under this rule, in place and idempotently (default:
        nothing; Forward-Forward normalizes each module's input and predicts by goodness). ``graphs``: the network
        takes graph nodes; ``nodes``: of a node-level graph. Also applied to a saved model when it is loaded, since
        it holds no weights."""

    def training_batch(self, batch, n_classes: int, network):
        """A batch of a user's training loop (:class:`mole.LocalModel`) as the rule trains on it (default: as given;
        Forward-Forward writes the true and a wrong label into the inputs, as :meth:`prepare_data` does for
        ``mole.fit``)."""
        return batch

    def needs_shapes(self, config) -> bool:
        """Whether the rule sizes its objectives' parts (auxiliary classifiers, decoders, projections, critics) from
        the modules' output shapes, so that building it needs an example batch (default: True)."""
        return True

    def pseudo_labels(self, config) -> bool:
        """Whether the rule's objectives label unlabelled rows of a batch themselves (MOLE's ``pseudo_labels``)."""
        return False

    def views(self, config) -> int:
        """Augmented views of each sample the rule's objectives contrast (1: none; see :class:`LocalBatch`)."""
        return 1

    def describe(self, config) -> dict:
        """What results.json records about the rule besides its name."""
        return {"options": self.options()}

    @abstractmethod
    def hidden_objective(self, k: int, shape: tuple, n_classes: int, config) -> LocalObjective:
        """The loss hidden module ``k`` minimizes. ``shape``: its read-out output per sample, e.g.
        ``(1024,)`` or ``(32, 14, 14)``; ``config``: the run's :class:`~mole.config.TrainConfig`."""

    def head_objective(self, shape: tuple, n_classes: int, config) -> LocalObjective:
        """The loss of the last module (the classifier head): cross-entropy on its logits."""
        return CrossEntropyObjective()

    def parts(self, network, shapes: list[tuple], n_classes: int, config) -> list[tuple[nn.Module, LocalObjective]]:
        """What trains, as (module, objective) pairs in order: one per module of ``network`` (``shapes[k]``: module
        k's read-out output shape per sample), the hidden ones with :meth:`hidden_objective` and the last with
        :meth:`head_objective`; an end-to-end rule gives one pair holding the whole network.

        The one definition of what a rule trains: :meth:`stages` (``mole.fit``, ``mole run``) gives each pair an
        optimizer, and :class:`mole.LocalModel` sums their losses in a user's loop. Auxiliary parameters start from
        the run's seed; the global random state is left untouched.
        """
        K, parts = len(network), []
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            for k, block in enumerate(network.blocks):
                objective = (self.hidden_objective(k, shapes[k], n_classes, config) if k < K - 1
                             else self.head_objective(shapes[k], n_classes, config))
                parts.append((block, objective))
        return parts

    def stages(self, network, shapes: list[tuple], n_classes: int, config) -> list[Stage]:
        """One stage per part (:meth:`parts`), each with its own optimizer and learning-rate schedule."""
        make_optimizer = lambda params: build_optimizer(params, config, config.epochs)  # noqa: E731
        parts = self.parts(network, shapes, n_classes, config)
        return [Stage(k, len(parts), module, objective.to(config.device), make_optimizer, config.precision)
                for k, (module, objective) in enumerate(parts)]
