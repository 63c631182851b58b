r"""A convergence budget: each module trains as long as its local objective improves on held-out training data.

With a fixed budget every stage trains ``epochs`` epochs. With ``patience`` p > 0 (``TrainConfig.patience``,
``--patience`` / ``--epochs auto``), ``epochs`` is the most a stage trains, and at each *check* c the stage's own
local loss is measured on a held-out slice V of the *training* data (never the test data):

.. math:: \ell_k(c) = \frac{1}{|\mathcal{B}_V|} \sum_{B \in \mathcal{B}_V} \mathcal{L}_k\big(M_k(T_{k-1}(B))\big),

the mean over V's batches (the same batches at every check, drawn from a generator seeded with the run's seed;
module and objective in evaluation mode, no update; :math:`T_{k-1}(B)` is the batch run through the modules
before k). A check comes at the end of each epoch and, with ``checks_per_epoch`` C > 1, after every N/C of its N
steps too (``checks_per_epoch=0``, the default: :func:`checks_for`, one per ~``CHECK_STEPS`` steps, so a big
data set's module may stop within an epoch and a small one's is checked once an epoch). The stage keeps the best
value :math:`\ell_k^* = \min_{c' \le c} \ell_k(c')`; a check *improves* when
:math:`\ell_k(c) < \ell_k^* - \tau\,|\ell_k^*|` (relative tolerance τ, ``tolerance``). After p checks in a row
without improvement the stage is *converged*: a stage that trains alone (the sequential schedule, backprop, the
last stage left under the simultaneous one) stops at once, mid-epoch too, is frozen, and the next module starts;
under the simultaneous schedule a stage is frozen at an epoch's end once every stage before it has stopped. Its
weights are those of its last step; its outputs are cached as a trained module's are.

With ``criterion="probe"`` (``TrainConfig.converge_on``, ``--converge-on probe``) a check measures instead the error
of a linear probe of the stage's outputs on V (:func:`mole.ridge_probe.probe_error`: ridge regression onto the
labels, two-fold on V), the same rule applied to it: a module stops once the labels stop becoming more linearly
decodable from its output, whatever its own objective still gains (a mutual-information bound can keep rising
after the classes are as separable as they will be).

The rule is the same for every local rule and for backprop (one stage: the whole network, its loss the
cross-entropy of the head on V), so a convergence budget is a budget for every method alike. Each record of an
epoch gains ``heldout_loss`` (its last check's; ``heldout_probe_error`` with the probe) and, for an epoch cut
short, ``fraction`` (of its steps taken); ``FitResult.epochs`` gives the epochs each stage trained.
"""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import torch

from .adapters import TrainData
from .batch import LocalBatch
from .callbacks import Callback
from .config import CONVERGENCE_CRITERIA
from .modular import evaluating
from .ridge_probe import probe_error, rows_of
from .schedules.base import EPOCH_CACHE_BYTES
from .stage import Stage
from .validation import choose


#: what a check measures on the held-out data: the stage's own local loss, or a ridge probe's error on its outputs
CRITERIA = CONVERGENCE_CRITERIA
#: the key of that value in each epoch's record
RECORD_KEYS = {"loss": "heldout_loss", "probe": "heldout_probe_error"}
#: the fewest checks without improvement ``patience_for`` gives
MIN_PATIENCE = 3
#: steps between two held-out checks of ``checks_per_epoch=0`` (auto)
CHECK_STEPS = 100


def patience_for(epochs: int) -> int:
    """``--epochs auto``'s patience for a budget of at most ``epochs``: a tenth of it, at least MIN_PATIENCE (GCN's
    authors stop after 10 of 200 epochs without improvement), counted in checks. A fixed 3 stopped backprop on
    MUTAG after 4 of 100 epochs at 66 % (against 86 %): small data's held-out loss is noisy, and early plateaus are
    not convergence."""
    return max(MIN_PATIENCE, epochs // 10)


def checks_for(batches_per_epoch: int, checks_per_epoch: int = 0) -> int:
    """Held-out checks in an epoch of ``batches_per_epoch`` steps: ``checks_per_epoch``, or with 0 (auto) one per
    ~``CHECK_STEPS`` steps, at least one; never more than the epoch's steps."""
    wanted = checks_per_epoch or round(batches_per_epoch / CHECK_STEPS)
    return max(1, min(wanted, batches_per_epoch))


def check_steps(batches_per_epoch: int, checks: int) -> frozenset:
    """The steps of an epoch (1-based) after which a check comes: ``checks`` evenly spread, the last at its end."""
    return frozenset(round(batches_per_epoch * (i + 1) / checks) for i in range(checks))


class Convergence(Callback):
    """Marks a stage converged once its held-out local loss has not improved for ``patience`` checks (see the module
    docstring). Bind it to the run's stages (:meth:`bind`) before training; it goes before the history in the
    callback list, so each epoch's record carries its ``heldout_loss``.

    Args:
        heldout: the held-out training samples, as the stages' batches are drawn (augmented, views).
        patience: checks without improvement before a stage stops (>= 1).
        batch_size: samples per held-out batch (the run's: MI estimates depend on the batch size).
        seed: seeds the held-out batches' order and any randomness of the objectives (corruptions, augmentation).
        tolerance: relative improvement that counts (τ).
        checks_per_epoch: checks in each epoch (0: :func:`checks_for`'s one per ~``CHECK_STEPS`` steps).
    """

    def __init__(self, heldout: TrainData, patience: int, batch_size: int, seed: int = 0, tolerance: float = 1e-3,
                 checks_per_epoch: int = 0, criterion: str = "loss"):
        self.heldout, self.patience, self.batch_size = heldout, patience, batch_size
        self.seed, self.tolerance, self.checks_per_epoch = seed, tolerance, checks_per_epoch
        self.criterion = choose("criterion", criterion, CRITERIA)
        self.key = RECORD_KEYS[self.criterion]  # what each epoch's record calls the value of its last check
        self.stages: list[Stage] = []
        self.best: dict[int, float] = {}  # stage index -> best held-out loss so far
        self.waited: dict[int, int] = {}  # stage index -> checks since it last improved
        self._kept: tuple[int, list] | None = None  # (k, T_{k-1} of each held-out batch) once stages < k are frozen
        self._due: dict[int, frozenset] = {}  # stage index -> the steps of an epoch a check follows
        self._steps: dict[int, int] = {}  # stage index -> steps taken in its current epoch
        self._last: dict[int, tuple[int, float]] = {}  # stage index -> (step, loss) of its latest check this epoch

    def bind(self, stages: list[Stage]) -> "Convergence":
        self.stages = stages
        return self

    def measure(self, stage: Stage) -> float:
        """What a check compares: ``stage``'s held-out local loss, or its probe's error (``criterion="probe"``)."""
        return self.heldout_probe_error(stage) if self.criterion == "probe" else self.heldout_loss(stage)

    @torch.no_grad()
    def heldout_loss(self, stage: Stage) -> float:
        """``stage``'s mean local loss over the held-out batches (:meth:`heldout_batches`)."""
        losses = [stage.evaluate(batch) for batch in self.heldout_batches(stage)]
        return sum(losses) / max(len(losses), 1)

    @torch.no_grad()
    def heldout_probe_error(self, stage: Stage) -> float:
        """The error of a ridge probe of ``stage``'s outputs on the held-out batches
        (:func:`mole.ridge_probe.probe_error`)."""
        rows, labels = [], []
        for batch in self.heldout_batches(stage):
            rows.append(rows_of(stage.features(batch)))
            labels.append(batch.y)
        return probe_error(torch.cat(rows), torch.cat(labels))

    @torch.no_grad()
    def heldout_batches(self, stage: Stage) -> Iterator[LocalBatch]:
        """The held-out batches with their input run through the stages before ``stage``, drawn from the run's seed
        with training's random state set aside (consume them whole). Once those stages are all frozen (sequential
        schedule) their outputs on the held-out batches are kept, within ``EPOCH_CACHE_BYTES``, and never computed
        again; the batches themselves are drawn afresh each time (cheap), so every random draw (order,
        augmentation, corruption) happens as without the kept inputs."""
        k = stage.index
        prefix = [s.module for s in self.stages[:k]]
        kept = self._kept[1] if self._kept is not None and self._kept[0] == k else None
        keep = kept is None and k > 0 and all(s.frozen for s in self.stages[:k])
        inputs, size = [], 0
        with torch.random.fork_rng(devices=[]), evaluating(*prefix):  # training's randomness goes on as it was
            torch.manual_seed(self.seed)
            generator = torch.Generator().manual_seed(self.seed)
            hops = self.heldout.hops([*prefix, stage.module])
            for i, batch in enumerate(self.heldout.batches(self.heldout.x, self.batch_size, generator, hops)):
                if kept is not None:
                    t = kept[i]
                else:
                    t = batch.t_in
                    for module in prefix:
                        t = module(t, *batch.context)
                    size += t.numel() * t.element_size()
                    keep = keep and size <= EPOCH_CACHE_BYTES
                    if keep:
                        inputs.append(t)
                yield dataclasses.replace(batch, t_in=t)
        if keep:  # every batch's input, within the budget
            self._kept = (k, inputs)

    def on_stage_begin(self, stage: Stage | None = None, batches_per_epoch: int | None = None, **kwargs):
        if stage is None or not batches_per_epoch:
            return
        self._due[stage.index] = check_steps(batches_per_epoch, checks_for(batches_per_epoch, self.checks_per_epoch))
        self._steps[stage.index] = 0

    def on_batch_end(self, stage: Stage | None = None, **kwargs):
        if stage is None or not self.stages or stage.index not in self._due:
            return
        k = stage.index
        self._steps[k] = step = self._steps.get(k, 0) + 1
        if step in self._due[k] and step != max(self._due[k]):  # within the epoch (its end: on_epoch_end)
            self._last[k] = (step, self._check(stage))

    def on_epoch_end(self, record: dict, stage: Stage | None = None, replayed: bool = False, **kwargs):
        if stage is None or replayed or not self.stages:
            return
        k = stage.index
        steps, last = self._steps.pop(k, None), self._last.pop(k, None)
        if last is not None and last[0] == steps:  # cut short right after a check: that check ends the epoch
            record[self.key] = last[1]
        else:
            record[self.key] = self._check(stage)
        due = self._due.get(k)
        if stage.converged and due and steps is not None and steps < max(due):
            record["fraction"] = steps / max(due)  # the share of the epoch's steps it took before it stopped

    def _check(self, stage: Stage) -> float:
        """One check: measure ``stage`` on the held-out data, update its best and patience, mark it converged."""
        loss = self.measure(stage)
        best = self.best.get(stage.index, math.inf)
        if not math.isfinite(best) or loss < best - self.tolerance * abs(best):
            self.best[stage.index], self.waited[stage.index] = loss, 0
        else:
            self.waited[stage.index] = self.waited.get(stage.index, 0) + 1
        stage.converged = self.waited[stage.index] >= self.patience
        return loss

    def state_dict(self) -> dict:
        return {"best": dict(self.best), "waited": dict(self.waited)}

    def load_state_dict(self, state: dict) -> None:
        self.best = {int(k): float(v) for k, v in state["best"].items()}
        self.waited = {int(k): int(v) for k, v in state["waited"].items()}
        for stage in self.stages:
            stage.converged = self.waited.get(stage.index, 0) >= self.patience


def holdout_positions(y: torch.Tensor, fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(kept, held-out) positions of ``y``: ``fraction`` of each class's labelled samples held out (at least one of
    a class with two or more), drawn with ``seed``; unlabelled samples (−1) are all kept."""
    generator = torch.Generator().manual_seed(seed)
    held = []
    labels = y.cpu()
    for c in torch.unique(labels[labels >= 0]).tolist():
        members = (labels == c).nonzero().flatten()
        n = min(len(members) - 1, max(1, round(fraction * len(members))))
        if n > 0:
            held.append(members[torch.randperm(len(members), generator=generator)[:n]])
    held = torch.cat(held).sort().values if held else torch.zeros(0, dtype=torch.long)
    keep = torch.ones(len(labels), dtype=torch.bool)
    keep[held] = False
    return keep.nonzero().flatten(), held
