"""Cut any ``nn.Module`` into modules after named submodules, with PyTorch's own graph capture (``torch.fx``).

``split(model, ["layer1", "layer2"])`` traces ``model.forward`` symbolically (``torch.fx``: every call of a
submodule, function and method, in execution order) and cuts the graph right after the last call inside each named
submodule. With cut points :math:`c_1 < \\dots < c_{K-1}` in execution order, module k is every operation after
:math:`c_{k-1}` up to :math:`c_k`, and the part after the last cut is the head:

.. math:: f = f_K \\circ \\dots \\circ f_1,\\qquad T_k = f_k(T_{k-1}, \\text{context}),

which holds only if the output of :math:`c_k` is the *one* tensor that flows from module k to module k+1. A value
that reaches further (a skip connection around a cut, the raw input read after the first cut) would carry
gradient-free information past a module and is refused with one line naming the edge. Extra inputs of ``forward``
(a graph's ``edge_index``, ...) are context: every module may read them. The modules are built by
``torch.fx.passes.split_module``; PyG's message-passing layers are traced as single calls.
"""
from __future__ import annotations

import difflib
import operator
from collections.abc import Sequence

import torch
from torch import fx, nn
from torch.fx.passes.split_module import split_module

from .errors import ConfigError
from .user_code import raised_by_user, user_code_error


class _Tracer(fx.Tracer):
    """torch.fx's tracer, with PyG's message-passing layers (data-dependent inside) as single calls."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        try:
            from torch_geometric.nn import MessagePassing
        except ImportError:  # pragma: no cover - torch_geometric is a dependency
            MessagePassing = ()
        return isinstance(m, MessagePassing) or super().is_leaf_module(m, qualname)


def capture(model: nn.Module) -> fx.GraphModule:
    """``model``'s forward as a torch.fx graph; a model torch.fx cannot trace is one :class:`ConfigError` line."""
    try:
        graph = _Tracer().trace(model)
    except Exception as exc:  # noqa: BLE001 - whatever the trace trips on: one line naming it
        if raised_by_user(exc):  # the model's own code raised (not torch.fx on a value it cannot trace)
            raise user_code_error(f"model's forward ({type(model).__name__}, traced by torch.fx to cut it)", exc,
                                  "fix its forward") from exc
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise ConfigError(f"{type(model).__name__}.forward cannot be captured by torch.fx ({type(exc).__name__}: "
                          f"{first[:200]}); make it traceable (no branches on tensor values), or pass an "
                          "nn.Sequential or a list of modules") from None
    return fx.GraphModule(model, graph)


class Segment(nn.Module):
    """One module of a cut network: a piece of the traced graph, called as ``segment(t, *context)``.

    ``inputs`` says what each input of the piece is: ``-1`` the tensor from the module before (or the network's
    input), ``j >= 0`` the j-th context argument.
    """

    def __init__(self, piece: fx.GraphModule, inputs: Sequence[int]):
        super().__init__()
        self.piece, self.inputs = piece, list(inputs)

    def forward(self, t: torch.Tensor, *context) -> torch.Tensor:
        return self.piece(*(t if j < 0 else context[j] for j in self.inputs))


def top_level(model: nn.Module) -> list[str]:
    """The names of ``model``'s direct submodules, in order."""
    return [name for name, _ in model.named_children()]


def valid_cuts(model: nn.Module) -> list[str]:
    """The top-level submodules (but the last) that ``model`` can be cut after on their own (no skip connection
    crosses the cut); empty where torch.fx cannot capture it."""
    valid = []
    for name in top_level(model)[:-1]:
        try:
            split(model, [name])
        except ConfigError:
            continue
        valid.append(name)
    return valid


def _inside(node: fx.Node, name: str) -> bool:
    """Whether ``node`` runs inside submodule ``name``: a call of it (or of a submodule of it), or a function or
    method its forward calls (torch.fx records the module stack of every node)."""
    paths = [str(node.target)] if node.op == "call_module" else []
    paths += [str(k) for k in node.meta.get("nn_module_stack", {})]
    return any(p == name or p.startswith(name + ".") for p in paths)


def _aliases(model: nn.Module, module: nn.Module) -> list[str]:
    """Every name ``module`` is registered under in ``model`` (a block kept in a ModuleList and as an attribute)."""
    return [name for name, m in model.named_modules(remove_duplicate=False) if m is module and name]


def _one_tensor_after(node: fx.Node, cut: str) -> fx.Node:
    """Where a cut after ``node`` passes one tensor on: the node itself, or, when it returns a tuple (``out, h =
    self.gru(x)``, ``nn.MultiheadAttention``), the one item of it that later code reads."""
    users = list(node.users)
    if not users or not all(u.op == "call_function" and u.target is operator.getitem for u in users):
        return node
    read = [u for u in users if u.users]
    if len(read) != 1:
        items = ", ".join(str(u.args[1]) for u in read)
        raise ConfigError(f"{cut!r} returns a tuple, and {len(read)} of its items ({items}) are read after it; a cut "
                          "passes one tensor on: cut after a submodule that returns one, or make forward read one item")
    return read[0]


def _cut_points(gm: fx.GraphModule, model: nn.Module, cuts: Sequence[str]) -> dict[int, str]:
    """The position of each cut in the graph's nodes (the last node of the named submodule, or the item of its tuple
    that flows on), with its name, in order."""
    nodes = list(gm.graph.nodes)
    order = {n: i for i, n in enumerate(nodes)}
    names = dict(model.named_modules(remove_duplicate=False))
    points: dict[int, str] = {}
    for cut in cuts:
        if not isinstance(cut, str) or not cut:
            raise ConfigError(f"cuts must be names of submodules (e.g. 'layer1'); got {cut!r}")
        if cut not in names:
            close = difflib.get_close_matches(cut, [n for n in names if n], n=1, cutoff=0.5)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{type(model).__name__} has no submodule {cut!r} to cut after; its top-level "
                              f"submodules are {', '.join(top_level(model))}.{hint}")
        aliases = _aliases(model, names[cut])
        calls = [i for i, n in enumerate(nodes) if any(_inside(n, name) for name in aliases)]
        if not calls:
            raise ConfigError(f"{type(model).__name__}.forward never calls {cut!r}; cut after a submodule it runs")
        if cut in points.values():
            raise ConfigError(f"cuts name {cut!r} twice; name each cut once")
        point = order[_one_tensor_after(nodes[max(calls)], cut)]
        if point in points:
            raise ConfigError(f"cuts {', '.join(cuts)} fall at the same place (one is inside another); drop one")
        points[point] = cut
    return dict(sorted(points.items()))


def split(model: nn.Module, cuts: Sequence[str]) -> list[nn.Module]:
    """``model`` cut after each submodule named in ``cuts`` (see the module docstring): the modules, in order, the
    last one the head. Raises :class:`ConfigError` for an unknown name, a model torch.fx cannot capture, or a cut
    that a second value (a skip connection) crosses."""
    if not cuts:
        raise ConfigError("cuts is empty; name at least one submodule to cut after (the part after it is the head)")
    gm = capture(model)
    gm.graph.eliminate_dead_code()  # values computed and never read (the `_` of `out, _ = self.gru(x)`)
    gm.recompile()
    nodes = list(gm.graph.nodes)
    named = _cut_points(gm, model, cuts)
    points = list(named)
    by_point = {p: nodes[p] for p in points}
    order = {n: i for i, n in enumerate(nodes)}
    placeholders = [n for n in nodes if n.op == "placeholder"]
    segment = {n: sum(order[n] > p for p in points) for n in nodes}
    cut_name = dict(enumerate(named.values()))
    for n in nodes:
        if n.op in ("placeholder", "get_attr", "output"):
            continue
        for m in n.all_input_nodes:
            if m.op == "get_attr":
                continue
            if m.op == "placeholder":
                if m is placeholders[0] and segment[n] > 0:
                    raise ConfigError(f"the input {m.name!r} reaches {n.name!r} after the cut after "
                                      f"{cut_name[0]!r}: a skip connection from the input crosses it; cut after "
                                      "the block that joins them")
                continue
            k = segment[m]
            if k < segment[n] and not (k == segment[n] - 1 and m is by_point[points[k]]):
                raise ConfigError(f"a skip connection crosses the cut after {cut_name[k]!r}: {n.name!r} (after it) "
                                  f"reads {m.name!r} (before it); cut where one tensor flows, e.g. after the block "
                                  "that joins them")
    output = next(n for n in nodes if n.op == "output")
    result = output.args[0]
    if not isinstance(result, fx.Node) or segment.get(result, -1) != len(points):
        last = cut_name[len(points) - 1]
        raise ConfigError(f"nothing of {type(model).__name__}'s output is computed after the last cut ({last!r}), or "
                          "forward returns more than one tensor; the part after the last cut is the head, which "
                          "must compute the logits: drop that cut")
    pieces = split_module(gm, model, lambda node: segment[node], keep_original_order=True)
    calls = [n for n in pieces.graph.nodes if n.op == "call_module"]
    if len(calls) != len(points) + 1:
        raise ConfigError(f"the cuts leave {len(calls)} non-empty modules of {len(points) + 1}; cut after submodules "
                          "that each compute something")
    context = {p.name: j - 1 for j, p in enumerate(n for n in pieces.graph.nodes if n.op == "placeholder")}
    modules = []
    for k, call in enumerate(calls):
        inputs = [context[a.name] if a.op == "placeholder" and context[a.name] >= 0 else -1 for a in call.args]
        modules.append(Segment(getattr(pieces, call.target), inputs))
    return modules
