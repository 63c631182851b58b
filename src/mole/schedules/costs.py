r"""What one local step of each stage costs: the weights by which pipeline workers are balanced.

The asynchronous schedule cuts the stages into contiguous groups, one per worker, and runs at the pace of
its slowest group, so it needs each stage's cost of one step (forward, local objective, backward, optimizer
update) on one batch. Two ways to get it:

* ``"model"`` (the default): *counted* on one batch, never timed, so the same command splits the network
  the same way on any machine and under any load (a timed split could differ from run to run and change
  results.json). The step runs once on copies of the stage under a dispatch mode that sees every
  tensor operation, forward and backward, and prices it as

  .. math:: c = \frac{F}{R_F} + \frac{F_{conv}}{R_{conv}} + \frac{W}{R_W} + \frac{E}{R_E} + N\,t_{op},

  with :math:`F` the floating-point operations of matrix products and, at their own rate, of convolutions
  (PyTorch's own formulas, :mod:`torch.utils.flop_counter`), :math:`W` those of symmetric eigendecompositions (:math:`9 n^3` each, the
  cost of LAPACK's ``syevd`` with vectors, :math:`\tfrac{4}{3} n^3` without; the Rényi estimator's
  :math:`O(n^3)` term), :math:`E` the elements read and written by every other operation (element-wise work
  is memory-bound) plus the optimizer's update (:data:`OPTIMIZER_ELEMENTS` per parameter), and :math:`N` the number
  of operations (each costs a dispatch). The rates are constants (:data:`RATES`, fitted once to timed steps on a
  2-core x86 machine, one thread per worker), so the model is a deterministic function of the network, the
  batch and the objective. Against the clock it is within about ±30 % per stage, as close as two timings of
  the same step on a shared machine, and it splits the networks of ``benchmarks/cost_model.py`` as timing
  does.
* ``"timed"``: wall seconds of the same step on this machine (best of two, on copies, after a warm-up call),
  which follows the machine exactly but not reproducibly.
"""
from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import time

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves
from torch.utils.flop_counter import flop_registry

from ..adapters import TrainData
from ..batch import LocalBatch
from ..stage import Stage

BALANCES = ("model", "timed")
#: rates of the cost model: FLOP/s of matrix products, of convolutions and of eigendecompositions, elements/s of
#: everything else, seconds per operation. Effective rates, not peak ones: fitted (non-negative least squares on
#: relative error) to the timed steps of 27 stages of 8 networks, one thread of a 2-core x86 machine, torch 2.13
#: (`python benchmarks/cost_model.py --fit`); fixed here, so the model stays deterministic.
RATES = {"flops": 7e11, "conv": 1.3e11, "eigh": 4.7e10, "elements": 4.9e9, "op": 3.2e-6}
#: elements an Adam-style update writes per parameter (moments, denominator, step; a few passes)
OPTIMIZER_ELEMENTS = 12


def _eigh_flops(a: torch.Tensor, *args, **kwargs) -> int:
    """``aten._linalg_eigh(A, UPLO, compute_v)``: 9 n³ per matrix with vectors, 4/3 n³ without."""
    compute_v = args[1] if len(args) > 1 else kwargs.get("compute_v", True)
    return int(math.prod(a.shape[:-2]) * (9 if compute_v else 4 / 3) * a.shape[-1] ** 3)


_CONVOLUTIONS = {torch.ops.aten.convolution, torch.ops.aten.convolution_backward, torch.ops.aten._convolution}


@dataclasses.dataclass
class Work:
    """What one step did: FLOPs of matrix products, of convolutions, of eigendecompositions, elements read and
    written by everything else, and the number of operations."""

    flops: int = 0
    conv: int = 0
    eigh: int = 0
    elements: int = 0
    ops: int = 0

    def seconds(self, rates: dict | None = None) -> float:
        """The model's cost (seconds of one thread of the reference machine)."""
        r = RATES if rates is None else rates
        return (self.flops / r["flops"] + self.conv / r["conv"] + self.eigh / r["eigh"]
                + self.elements / r["elements"] + self.ops * r["op"])


class _Counter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.work = Work()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        self.work.ops += 1
        if packet in flop_registry:
            flops = int(flop_registry[packet](*args, **kwargs, out_val=out))
            if packet in _CONVOLUTIONS:
                self.work.conv += flops
            else:
                self.work.flops += flops
        elif packet is torch.ops.aten._linalg_eigh:
            self.work.eigh += _eigh_flops(*args, **kwargs)
        else:  # memory-bound: the elements it reads and writes
            self.work.elements += sum(t.numel() for t in tree_leaves((args, kwargs, out))
                                      if isinstance(t, torch.Tensor))
        return out


def _copies(stage: Stage) -> tuple[torch.nn.Module, torch.nn.Module]:
    return copy.deepcopy(stage.module), copy.deepcopy(stage.objective)


def _step(module, objective, batch: LocalBatch, t: torch.Tensor, trains: bool) -> torch.Tensor:
    """One step of (copies of) a stage's module and objective on input ``t``; returns the detached output."""
    inp = t.detach()
    out = module(inp, *batch.context)
    if trains:
        loss, _ = objective(batch.readout(out), dataclasses.replace(batch, t_in=inp))
        loss.backward()
    return out.detach()


def counted(stage: Stage, batch: LocalBatch, t: torch.Tensor, trains: bool = True) -> tuple[Work, torch.Tensor]:
    """The :class:`Work` of one step of ``stage`` on input ``t`` (its optimizer's update included), and its
    output. Runs on copies: a first, uncounted call sizes lazily sized parts (critics) at their real size."""
    module, objective = _copies(stage)
    _step(module, objective, batch, t, trains)
    with _Counter() as counter:
        out = _step(module, objective, batch, t, trains)
    if trains:
        counter.work.elements += OPTIMIZER_ELEMENTS * sum(
            p.numel() for p in [*module.parameters(), *objective.parameters()]
            if p.requires_grad and not isinstance(p, torch.nn.parameter.UninitializedParameter))  # unused halves
    return counter.work, out


def timed(stage: Stage, batch: LocalBatch, t: torch.Tensor, trains: bool = True) -> tuple[float, torch.Tensor]:
    """Wall seconds of one step of ``stage`` on input ``t`` (best of two after a warm-up call, on copies), and
    its output."""
    module, objective = _copies(stage)
    _step(module, objective, batch, t, trains)
    best, out = float("inf"), None
    for _ in range(2):
        tic = time.perf_counter()
        out = _step(module, objective, batch, t, trains)
        best = min(best, time.perf_counter() - tic)
    return best, out


def stage_costs(stages: list[Stage], data: TrainData, batch_size: int, start: int = 0,
                balance: str = "model") -> list[float]:
    """Cost (seconds) of one step per stage on the first batch of a fixed draw; stages before ``start`` are
    frozen (resumed) and only run forward. ``balance``: ``"model"`` (counted) or ``"timed"`` (measured)."""
    hops = data.hops([stage.module for stage in stages])
    batch = next(iter(data.batches(data.x, batch_size, torch.Generator().manual_seed(0), hops)))
    t, costs = batch.t_in, []
    for stage in stages:
        if balance == "model":
            work, t = counted(stage, batch, t, stage.index >= start)
            costs.append(work.seconds())
        else:
            seconds, t = timed(stage, batch, t, stage.index >= start)
            costs.append(seconds)
    return costs


def pipeline_rate(costs: list[float], groups: list[list[int]], batch_size: int, message_bytes: list[float] = (),
                  bandwidth: float = float("inf"), latency: float = 0.0) -> float:
    r"""Predicted samples/s of a pipeline: it runs at the pace of its slowest worker, whose time per batch is its
    stages' costs plus sending and receiving the activations between workers,

    .. math:: \text{rate} = \frac{B}{\max_r \big(\sum_{k \in G_r} c_k + m_r\big)},\qquad
              m_r = \sum_{\text{messages in and out of } r} \Big(\ell + \frac{\text{bytes}}{\beta}\Big),

    with ``message_bytes[k]`` the size of stage k's output per batch (what leaves a group ending at k),
    ``bandwidth`` β in bytes/s and ``latency`` ℓ in seconds (a host's loopback: both negligible).
    """
    worst = 0.0
    for r, group in enumerate(groups):
        transfer = 0.0
        for edge in ([groups[r - 1][-1]] if r > 0 else []) + ([group[-1]] if r < len(groups) - 1 else []):
            size = message_bytes[edge] if edge < len(message_bytes) else 0.0
            transfer += latency + size / bandwidth
        worst = max(worst, sum(costs[k] for k in group) + transfer)
    return batch_size / worst if worst > 0 else float("inf")


def balanced_groups(costs: list[float], workers: int) -> list[list[int]]:
    """Contiguous split of ``range(len(costs))`` into ``workers`` groups minimizing the largest sum."""
    n = len(costs)
    best, best_cuts = float("inf"), None
    for cuts in itertools.combinations(range(1, n), workers - 1):
        bounds = (0, *cuts, n)
        slowest = max(sum(costs[a:b]) for a, b in zip(bounds, bounds[1:]))
        if slowest < best - 1e-12:
            best, best_cuts = slowest, bounds
    return [list(range(a, b)) for a, b in zip(best_cuts, best_cuts[1:])]


#: seconds a local launch of the asynchronous schedule's worker processes costs per worker (spawning Python,
#: importing torch, the gloo rendezvous): 3.9 and 4.4 s for 2 workers on 2 quiet cores (MNIST MLPs, torch 2.13); one
#: worker runs in the training process and pays none
STARTUP_SECONDS = 2.0
#: a training loop's seconds per batch against the model's stage costs: ``LOOP_FACTOR`` × the costs of the stages
#: a process steps + ``LOOP_SECONDS`` (batch gathering, per-step Python, a worker's sends and receives), fitted to
#: the measured seconds per batch of the simultaneous schedule and of each of 2 pipeline workers on MNIST MLPs
#: 256-128 (InfoNCE) and 512-256-128 (Rényi), batch 256, 2 cores: the model's isolated steps are 1.2-1.35× faster
#: than the same steps inside a loop, and every loop pays about 2.8 ms a batch
LOOP_FACTOR, LOOP_SECONDS = 1.3, 2.8e-3
#: a pipeline of more workers must be predicted this much faster than one of fewer to be chosen (the model is
#: within about ±30 % per stage; a wrong pipeline costs start-up and cores)
MARGIN = 0.15


def choose_workers(costs: list[float], steps: int, cores: int, batch_size: int,
                   startup: float = STARTUP_SECONDS) -> tuple[int, dict[int, dict]]:
    r"""The number of pipeline workers that the cost model predicts trains ``steps`` batches soonest, start-up
    included: for :math:`w` workers (at most one per core and per stage) split by :func:`balanced_groups`, the
    slowest group :math:`G` sets the pace,

    .. math:: \hat t(w) = s\,w\,[w > 1] + \text{steps}\,\big(a \textstyle\sum_{k \in G} c_k + \ell\big),

    with :math:`s` the start-up seconds per launched worker (:data:`STARTUP_SECONDS`) and :math:`a, \ell` the
    loop's factor and seconds per batch (:data:`LOOP_FACTOR`, :data:`LOOP_SECONDS`). One worker is no pipeline:
    every stage in the training process. More workers are chosen only when predicted at least :data:`MARGIN`
    faster than the best of fewer. Returns (w, per candidate ``{"seconds": t̂(w), "samples_per_second": B / per
    batch, "groups": 1-based module numbers}``)."""
    predicted = {}
    for w in range(1, max(1, min(cores, len(costs))) + 1):
        groups = balanced_groups(costs, w)
        per_batch = LOOP_FACTOR * max(sum(costs[k] for k in g) for g in groups) + LOOP_SECONDS
        predicted[w] = {"seconds": (startup * w if w > 1 else 0.0) + steps * per_batch,
                        "samples_per_second": batch_size / per_batch, "groups": [[i + 1 for i in g] for g in groups]}
    best = 1
    for w in sorted(predicted)[1:]:
        if predicted[w]["seconds"] < (1 - MARGIN) * predicted[best]["seconds"]:
            best = w
    return best, predicted
