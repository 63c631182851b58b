r"""The information plane, recorded during training.

For every module k the monitor measures, on one fixed evaluation sample of the training data
(the same samples at every measurement),

.. math:: \big(I(T_k; X),\; I(T_k; Y)\big)

with a kernel estimator: the run's own (Rényi or HSIC, same options) or, when the run trains with
a critic-based estimator (InfoNCE, JSD) whose value depends on a critic it would have to fit
first, the matrix-based Rényi estimator with default options. ``X`` is the network input read out
per sample (a flattened image, a labelled node's features, a graph's pooled features).

Measurements happen when a module starts training (epoch 0) and after every ``every``-th epoch
and the last one. Under the asynchronous schedule, modules train in other processes, so only the
first and the final point are measured. Under a local rule the module being trained is measured; under
backprop (one stage for the whole network) every module is. All of it runs without gradients in evaluation mode, on one thread (see
:mod:`mole.threads`), restores each module's train/eval mode afterwards, and keeps its own
time (``seconds``), which :func:`mole.fit` leaves out of ``train_seconds`` and ``samples_per_second``.
With an entropy estimator (Rényi) the input's entropy ``S(X)`` is computed once per run.
"""
from __future__ import annotations

import time

import torch

from ..adapters import TrainData
from ..callbacks import Callback
from ..estimators import Estimator, KernelEstimator, RenyiEstimator, estimator_resolver
from ..threads import one_thread


def monitor_estimator(name: str, options: dict | None = None) -> Estimator:
    """The run's estimator if it is kernel-based (without a learned projection: nothing to fit), else default Rényi."""
    est = estimator_resolver(name, **{k: v for k, v in (options or {}).items() if k != "project"})
    return est if isinstance(est, KernelEstimator) else RenyiEstimator()


def information_plane(rows: list[torch.Tensor], y: torch.Tensor, estimator: Estimator | None = None,
                      modules: list[int] | None = None, input_entropy: torch.Tensor | None = None) -> list[dict]:
    """The information plane now: ``{"module": k, "I_TX", "I_TY"}`` for each module k (``modules``; default every
    one) from ``rows = [X, T_1, ..., T_K]``, one row per sample (e.g. :meth:`mole.LocalModel.representations` in a
    loop of your own), with ``estimator`` (default: matrix-based Rényi). Without gradients, on one thread. With an
    entropy estimator I(T; X) = S(T) + S(X) − S(T, X), and ``input_entropy`` (S(X) of these rows, if known) is not
    computed again."""
    estimator = estimator or RenyiEstimator()
    x = rows[0].flatten(1).float()
    points = []
    with torch.no_grad(), one_thread(libraries=False):
        if estimator.has_entropy and input_entropy is None:
            input_entropy = estimator.entropy(x)
        for k in (range(len(rows) - 1) if modules is None else modules):
            t = rows[k + 1].flatten(1).float()
            i_tx = (estimator.entropy(t) + input_entropy - estimator.entropy(t, x) if estimator.has_entropy
                    else estimator.mutual_information(t, x))
            points.append({"module": k, "I_TX": float(i_tx), "I_TY": float(estimator.mutual_information(t, y))})
    return points


class InformationMonitor(Callback):
    """
    Args:
        data: the evaluation sample (e.g. ``train.sample(512)``), a fixed set of labelled samples.
        estimator: a kernel estimator (see :func:`monitor_estimator`).
        every: measure after every ``every``-th epoch (and after the last); >= 1.

    ``records``: dicts ``{"module", "epoch", "I_TX", "I_TY"}``, ``epoch`` counting finished epochs
    of that module's training (0: before its first step).
    """

    def __init__(self, data: TrainData, estimator: Estimator, every: int = 1):
        if every < 1:
            raise ValueError(f"every must be >= 1; got {every}")
        self.data, self.estimator, self.every = data, estimator, every
        self.records: list[dict] = []
        self.seconds = 0.0
        self.network = None
        self._epochs = 0
        self._input_entropy = None  # S(X) of the fixed sample, for entropy estimators

    def measuring_seconds(self) -> float:
        return self.seconds

    def on_train_begin(self, network=None, **kwargs):
        self.network = network
        if network is not None:
            param = next(network.parameters(), None)
            if param is not None:
                self.data = self.data.to(param.device)
                self.estimator.to(param.device)
                self._input_entropy = None

    def on_stage_begin(self, stage, epochs: int, first_epoch: int = 0, **kwargs):
        self._epochs = epochs
        if first_epoch == 0:  # a resumed stage was measured at its start before the interruption
            self.measure(stage, 0)

    def state_dict(self) -> dict:
        """The points measured so far (kept in checkpoints, so a resumed run has the whole plane)."""
        return {"records": [dict(r) for r in self.records]}

    def load_state_dict(self, state: dict) -> None:
        self.records = [dict(r) for r in state["records"]]

    def on_epoch_end(self, record: dict, stage=None, replayed: bool = False, **kwargs):
        """Measures every ``every`` epochs and after the last. Epochs replayed after training elsewhere
        (asynchronous workers) find the network holding its final weights: only the last is measured."""
        done = record["epoch"] + 1
        if stage is None or (replayed and done != self._epochs):
            return
        if done % self.every == 0 or done == self._epochs:
            self.measure(stage, done)

    def _modules(self, stage) -> list[int]:
        """The trained stage's module, or all modules when one stage trains the whole network."""
        if stage.n_stages != len(self.network):
            return list(range(len(self.network)))
        return [stage.index]

    @torch.no_grad()
    def measure(self, stage, epoch: int) -> None:
        if self.network is None:
            return
        tic = time.perf_counter()
        modules = self._modules(stage)
        blocks = list(self.network.blocks)[:max(modules) + 1]
        modes = [b.training for b in blocks]
        rows = self.data.representations(blocks)
        for block, mode in zip(blocks, modes):
            block.train(mode)
        if self.estimator.has_entropy and self._input_entropy is None:  # the sample is fixed: S(X) never changes
            with one_thread(libraries=False):
                self._input_entropy = self.estimator.entropy(rows[0].flatten(1).float())
        points = information_plane(rows, self.data.y, self.estimator, modules, self._input_entropy)
        self.records.extend({"module": p["module"], "epoch": epoch, "I_TX": p["I_TX"], "I_TY": p["I_TY"]}
                            for p in points)
        self.seconds += time.perf_counter() - tic

    def for_module(self, index: int) -> list[dict]:
        return [r for r in self.records if r["module"] == index]
