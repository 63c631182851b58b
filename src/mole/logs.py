"""Live logs: per-epoch metrics as they happen, in ``metrics.csv`` and (optionally) TensorBoard.

:class:`EpochMetrics` is a callback. After every epoch of every stage it logs the stage's local loss and the
terms its objective reports (e.g. MOLE's ``I_TY``, estimated on the training batches), the information plane's
points ``plane_I_TX`` / ``plane_I_TY`` (on its fixed sample; epoch 0 = before the module's first step) as the
:class:`~mole.analysis.InformationMonitor` measures them, the epoch's seconds, and — after each epoch of
the *last* stage (the head, or backprop's whole network) — the test accuracy of the network as trained so far.
Under the sequential schedule the head trains last, so the accuracy curve covers the head's epochs; under the
simultaneous schedule every epoch. (Asynchronous workers replay their epochs after training, when only the
final network exists: its accuracy is logged once, at the last epoch.)

``metrics.csv`` is long-format, one value per row, flushed as it is written (readable while the run goes on)::

    method,module,epoch,metric,value,time
    mole,1,3,loss,-0.8123,4.21          # module counts from 1; "" for the whole network; epoch: epochs finished

``pandas.read_csv("metrics.csv").pivot_table(index=["method", "module", "epoch"], columns="metric")`` gives one
column per metric. With TensorBoard (``tensorboard_dir``), every value is also a scalar ``<metric>/module<k>``
(``test_accuracy``) of a run named after the method. Evaluation time is excluded from training time.
"""
from __future__ import annotations

import csv
import os
import time
from pathlib import Path

import torch

from .callbacks import Callback
from .errors import ConfigError
from .modular import evaluating

COLUMNS = ("method", "module", "epoch", "metric", "value", "time")
SKIP = ("module", "epoch", "seconds")


class EpochMetrics(Callback):
    """
    Args:
        path: the CSV file (appended to; rows of other methods are kept).
        method: the method's name in every row.
        test: a data adapter to measure accuracy on after each epoch of the last stage (None: no accuracy).
        monitor: the run's information monitor, if any (its points of each epoch are logged).
        tensorboard_dir: also write TensorBoard event files there (needs ``pip install mole-mi[tensorboard]``).
        every: measure the accuracy after every ``every``-th epoch of the last stage (and after its last).
    """

    def __init__(self, path: str | os.PathLike, method: str, test=None, monitor=None, tensorboard_dir=None,
                 every: int = 1):
        self.path, self.method, self.test, self.monitor, self.every = Path(path), method, test, monitor, every
        self.rows: list[dict] = []
        # {"epoch", "test_accuracy", "seconds"}: the network after each epoch of the last stage, and the training seconds
        # that took
        self.accuracy: list[dict] = []
        self.seconds, self.network, self._start, self._seen, self._epochs = 0.0, None, time.perf_counter(), 0, 0
        self.writer = None
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter  # needs the tensorboard package
            except ImportError:
                raise ConfigError("--tensorboard needs the tensorboard package: pip install 'mole-mi[tensorboard]' "
                                  "(or pip install tensorboard)") from None
            self.writer = SummaryWriter(log_dir=str(Path(tensorboard_dir) / method))
        self._rewrite([])  # a fresh start of this method: no rows of an earlier, interrupted attempt

    def measuring_seconds(self) -> float:
        return self.seconds

    def on_train_begin(self, network=None, **kwargs):
        self.network = network
        if self.test is not None and network is not None:
            param = next(network.parameters(), None)
            if param is not None:
                self.test = self.test.to(param.device)

    def on_stage_begin(self, epochs: int = 0, **kwargs):
        self._epochs = epochs

    def on_epoch_end(self, record: dict, stage=None, replayed: bool = False, **kwargs):
        epoch = record["epoch"] + 1
        module = str(record["module"] + 1) if stage is None or stage.n_stages > 1 else ""
        rows = [(module, epoch, key, value) for key, value in record.items() if key not in SKIP]
        rows.append((module, epoch, "seconds", record.get("seconds", 0.0)))
        if self.monitor is not None:  # the points it measured since (epoch 0: before the module's first step)
            rows += [(str(r["module"] + 1), r["epoch"], f"plane_{key}", r[key]) for r in self.monitor.records[self._seen:]
                     for key in ("I_TX", "I_TY")]
            self._seen = len(self.monitor.records)
        last = stage is not None and stage.index == stage.n_stages - 1
        due = (epoch % self.every == 0 and not replayed) or epoch == self._epochs
        if last and due and self.test is not None and self.network is not None:
            rows.append(("", epoch, "test_accuracy", self._accuracy(epoch)))
        self._write([{"method": self.method, "module": m, "epoch": e, "metric": k, "value": float(v),
                      "time": round(time.perf_counter() - self._start, 3)} for m, e, k, v in rows])

    @torch.no_grad()
    def _accuracy(self, epoch: int) -> float:
        tic = time.perf_counter()
        with evaluating(self.network):  # training goes on exactly as without this
            accuracy = float((self.test.logits(self.network).argmax(1).cpu() == self.test.y.cpu()).float().mean())
        measured = self.seconds + (self.monitor.seconds if self.monitor is not None else 0.0)
        # seconds of training so far (start-up included, these measurements and the monitor's not): a time-to-accuracy curve
        self.accuracy.append({"epoch": epoch, "test_accuracy": accuracy, "seconds": tic - self._start - measured})
        self.seconds += time.perf_counter() - tic
        return accuracy

    def _write(self, rows: list[dict]) -> None:
        self.rows += rows
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, COLUMNS).writerows(rows)
        if self.writer is not None:
            for r in rows:
                tag = r["metric"] + (f"/module{r['module']}" if r["module"] else "")
                self.writer.add_scalar(tag, r["value"], global_step=r["epoch"])
            self.writer.flush()

    def _rewrite(self, rows: list[dict]) -> None:
        """The file with other methods' rows and ``rows`` for this method (a resumed run drops what followed its
        checkpoint, so no epoch appears twice)."""
        kept = []
        if self.path.exists():
            with open(self.path, newline="") as f:
                kept = [r for r in csv.DictReader(f) if r["method"] != self.method]
        tmp = self.path.with_name(self.path.name + ".partial")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, COLUMNS)
            w.writeheader()
            w.writerows(kept + rows)
        os.replace(tmp, self.path)

    def state_dict(self) -> dict:
        return {"rows": [dict(r) for r in self.rows], "accuracy": [dict(a) for a in self.accuracy], "seen": self._seen}

    def load_state_dict(self, state: dict) -> None:
        self.rows, self.accuracy = [dict(r) for r in state["rows"]], [dict(a) for a in state["accuracy"]]
        self._seen = state["seen"]
        self._rewrite(self.rows)

    def on_train_end(self, **kwargs):
        if self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
