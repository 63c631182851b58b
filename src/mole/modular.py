"""Cut a network into modules: the unit of local training.

A network given as an ``nn.Sequential`` (or a list of layers) is split into consecutive
modules ``M_1 ... M_K`` with ``T_k = M_k(T_{k-1})`` and ``T_0 = X``. By default each *layer*
is a module (the paper: "each layer is a training atom"), where a layer is

* a top-level child that is itself a container (e.g. the ``Sequential(Linear, ReLU)`` blocks
  that mole's model builders produce), or
* a leaf with a weight matrix/kernel (a parameter of dimension >= 2: Linear, Conv, GNN conv),
  together with the parameter-free or normalization layers that follow it (activation, norm,
  pooling, dropout).

Explicit groups of top-level child indices override this, e.g. ``[[0, 1], [2, 3], [4]]``.
The last module is the classifier head. A module of several layers is a :class:`Chain`: graph context
(``edge_index``, ...) reaches its message-passing layers, the others get the features alone.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Sequence

import torch
from torch import nn

from .errors import ConfigError


@contextlib.contextmanager
def evaluating(*modules: nn.Module):
    """``modules`` in evaluation mode inside the block; afterwards every submodule is back in the mode it had, so a
    measurement between training steps (held-out losses, test accuracy) leaves training as it was."""
    layers = [m for module in modules for m in module.modules()]
    modes = [m.training for m in layers]
    try:
        for module in modules:
            module.eval()
        yield
    finally:
        for m, mode in zip(layers, modes):
            m.training = mode


def takes_context(layer: nn.Module) -> bool:
    """Whether ``layer``'s forward takes more than its input (a message-passing layer: ``x, edge_index, ...``)."""
    return _forward_takes_context(type(layer))


@functools.lru_cache(maxsize=None)
def _forward_takes_context(cls: type) -> bool:
    kinds = [p.kind for p in inspect.signature(cls.forward).parameters.values()][1:]  # after self
    return inspect.Parameter.VAR_POSITIONAL in kinds or sum(
        k in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD) for k in kinds) > 1


class Chain(nn.Sequential):
    """The layers of one module, in order. Graph context (``edge_index``, ...) goes to the layers whose forward
    takes it (PyG convs, ``torch_geometric.nn.Sequential`` blocks); the others get the node features alone, so a
    module may group several message-passing layers with their activations."""

    def forward(self, x: torch.Tensor, *context) -> torch.Tensor:
        for layer in self:
            x = layer(x, *context) if context and takes_context(layer) else layer(x)
        return x


def _starts_module(layer: nn.Module) -> bool:
    if len(list(layer.children())) > 0:
        return True
    return any(p.dim() >= 2 for p in layer.parameters(recurse=False))


def default_groups(layers: Sequence[nn.Module]) -> list[list[int]]:
    """One group per layer, by the rule in the module docstring."""
    groups: list[list[int]] = []
    for i, layer in enumerate(layers):
        if _starts_module(layer) or not groups:
            groups.append([i])
        else:
            groups[-1].append(i)
    # leading parameter-free layers (e.g. Flatten) join the first weight layer's module
    if len(groups) > 1 and not any(_starts_module(layers[i]) for i in groups[0]):
        groups[1] = groups[0] + groups[1]
        groups.pop(0)
    return groups


def grouped(layers: Sequence[nn.Module], module_size: int) -> list[list[int]]:
    """The default groups (one per layer) merged ``module_size`` at a time; the head stays a module of its own."""
    if not (isinstance(module_size, int) and module_size >= 1):
        raise ConfigError(f"module_size must be a positive integer; got {module_size!r}")
    groups = default_groups(layers)
    hidden, head = groups[:-1], groups[-1]
    return [sum(hidden[i:i + module_size], []) for i in range(0, len(hidden), module_size)] + [head]


def check_groups(groups: Sequence[Sequence[int]], n_layers: int) -> list[list[int]]:
    """Validate explicit groups: consecutive runs that cover layers 0..n_layers-1 exactly once."""
    flat = [i for g in groups for i in g]
    if not groups or any(len(g) == 0 for g in groups):
        raise ConfigError(f"groups must be non-empty lists of layer indices; got {groups!r}")
    if flat != list(range(n_layers)):
        raise ConfigError(f"groups must list layers 0..{n_layers - 1} in order, each once "
                          f"(e.g. {[[i] for i in range(n_layers)]}); got {list(map(list, groups))}")
    return [list(g) for g in groups]


def describe(module: nn.Module) -> list[str]:
    """Short names of the layers in a module, e.g. ``['Linear(64→256)', 'ReLU']``."""
    names = []
    for layer in (module.children() if len(list(module.children())) else [module]):
        n = type(layer).__name__
        if n.endswith("Conv") and not isinstance(layer, nn.modules.conv._ConvNd):  # a PyG message-passing layer
            c_in, c_out = getattr(layer, "in_channels", None), getattr(layer, "out_channels", None)
            names.append(f"{n}({c_in}→{c_out})" if c_in is not None else n)
            continue
        if len(list(layer.children())):
            names.extend(describe(layer))
            continue
        if isinstance(layer, nn.Linear):
            n += f"({layer.in_features}→{layer.out_features})"
        elif isinstance(layer, nn.modules.conv._ConvNd):
            n += f"({layer.in_channels}→{layer.out_channels}, k={layer.kernel_size})"
        names.append(n)
    return names


class ModularNetwork(nn.Module):
    """A network as a chain of modules ``blocks[0] ... blocks[K-1]`` (the last is the head).

    Args:
        layers: an ``nn.Sequential`` or a list of layers; with ``cuts``, any ``nn.Module``.
        groups: optional explicit grouping of top-level layer indices into modules.
        cuts: names of submodules to cut any ``nn.Module`` after (:func:`mole.cuts.split`, torch.fx); the part
            after the last cut is the head.
    """

    def __init__(self, layers: nn.Module | Sequence[nn.Module], groups: Sequence[Sequence[int]] | None = None,
                 cuts: Sequence[str] | None = None):
        super().__init__()
        self.readout: nn.Module | None = None  # a rule's own prediction from the modules (Forward-Forward's goodness)
        self.cuts = list(cuts) if cuts is not None else None
        if cuts is not None:
            from .cuts import split
            if groups is not None:
                raise ConfigError("pass groups (of a Sequential's layers) or cuts (after named submodules), not both")
            if not isinstance(layers, nn.Module):
                raise ConfigError(f"cuts cut an nn.Module after named submodules; got {type(layers).__name__}")
            blocks = split(layers, cuts)
            self.groups = [[k] for k in range(len(blocks))]
            self.blocks = nn.ModuleList(blocks)
            return
        if isinstance(layers, nn.Module) and not isinstance(layers, (nn.Sequential, nn.ModuleList)):
            from .cuts import top_level, valid_cuts
            valid = valid_cuts(layers)
            example = ", ".join(repr(n) for n in valid[:4]) or "'layer1'"
            can = (f"it can be cut after {', '.join(valid)}" if valid else
                   f"its top-level submodules are {', '.join(top_level(layers)) or 'none'}")
            raise ConfigError(f"{type(layers).__name__} is an nn.Module, not an nn.Sequential: name the submodules "
                              f"to cut it into modules after, e.g. cuts=[{example}] (--cuts at the command line); "
                              f"{can}")
        layers = list(layers.children()) if isinstance(layers, nn.Sequential) else list(layers)
        if not layers or not all(isinstance(m, nn.Module) for m in layers):
            raise ConfigError("model must be an nn.Sequential or a non-empty list of nn.Module layers")
        groups = check_groups(groups, len(layers)) if groups is not None else default_groups(layers)
        if len(groups) < 2:
            raise ConfigError(f"the network has {len(groups)} module; MOLE needs at least 2 "
                              "(hidden modules + a classifier head). Add a layer or pass groups.")
        self.groups = groups
        self.blocks = nn.ModuleList(
            Chain(*[layers[i] for i in g]) if len(g) > 1 else layers[g[0]] for g in groups)

    def __len__(self) -> int:
        return len(self.blocks)

    def forward(self, x: torch.Tensor, *context) -> torch.Tensor:
        """T_K; ``context`` (e.g. ``edge_index``) is passed to every module. A rule with its own prediction
        (:attr:`readout`, see :meth:`mole.rules.Rule.prepare_network`) computes the output from the modules."""
        if self.readout is not None:
            return self.readout(self.blocks, x, *context)
        for block in self.blocks:
            x = block(x, *context)
        return x

    @torch.no_grad()
    def representations(self, x: torch.Tensor, *context) -> list[torch.Tensor]:
        """Outputs T_1 ... T_K of every module for input x (evaluation mode)."""
        self.eval()
        outs = []
        for block in self.blocks:
            x = block(x, *context)
            outs.append(x)
        return outs

    def describe(self) -> list[list[str]]:
        return [describe(b) for b in self.blocks]
