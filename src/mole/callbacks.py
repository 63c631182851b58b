"""Training callbacks: tiny hooks that take ``**kwargs`` (skorch style).

The training loops only emit events; recording, progress bars and checkpoints are callbacks.
Events: ``on_train_begin(n_stages, network, data)``, ``on_stage_begin(stage, epochs, first_epoch)``,
``on_batch_end(stage, loss)``, ``on_epoch_end(record)``, ``on_stage_end(stage)``, ``on_train_end()``.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable

logger = logging.getLogger("mole")


class Callback:
    """Base class of training callbacks: one method per event (see the module docstring), each taking keyword arguments
    only and doing nothing unless overridden."""

    def measuring_seconds(self) -> float:
        """Seconds this callback spent measuring (not training); fit leaves them out of training time."""
        return 0.0

    def on_train_begin(self, **kwargs): ...
    def on_stage_begin(self, **kwargs): ...
    def on_batch_end(self, **kwargs): ...
    def on_epoch_end(self, **kwargs): ...
    def on_stage_end(self, **kwargs): ...
    def on_train_end(self, **kwargs): ...


class CallbackList(Callback):
    """Several callbacks as one: calling any of its ``on_...`` events calls that event on each callback, in order, with
    the same keyword arguments."""

    def __init__(self, callbacks: Iterable[Callback] = ()):
        self.callbacks = list(callbacks)

    def __getattribute__(self, name):
        if name.startswith("on_"):
            return lambda **kw: [getattr(cb, name)(**kw) for cb in object.__getattribute__(self, "callbacks")]
        return object.__getattribute__(self, name)


class History(Callback):
    """Per-epoch records ``{'module', 'epoch', 'loss', 'seconds', <terms>...}``.

    ``history[:, 'loss']`` slices a key over all records; ``history.for_module(k)`` filters.
    """

    def __init__(self):
        self.records: list[dict] = []

    def on_epoch_end(self, record: dict, **kwargs):
        self.records.append(dict(record))

    def __len__(self):
        return len(self.records)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            rows, col = key
            return [r.get(col) for r in self.records[rows]]
        return self.records[key]

    def for_module(self, index: int) -> list[dict]:
        return [r for r in self.records if r["module"] == index]

    def state_dict(self) -> dict:
        return {"records": [dict(r) for r in self.records]}

    def load_state_dict(self, state: dict) -> None:
        self.records = [dict(r) for r in state["records"]]


class ProgressBar(Callback):
    """A tqdm bar per module (or per backprop run), showing the running local loss.

    Bars are keyed by ``stage.index``, so stages that train interleaved (simultaneous schedule)
    each advance their own bar; sequential stages open and close one bar at a time.
    """

    def __init__(self, desc: str = "", leave: bool = False, disable: bool | None = None):
        self.desc, self.leave, self.disable, self.bars = desc, leave, disable, {}

    def on_stage_begin(self, stage, epochs: int, batches_per_epoch: int, **kwargs):
        from tqdm.auto import tqdm
        self.bars[stage.index] = tqdm(total=epochs * batches_per_epoch, leave=self.leave, disable=self.disable,
                                      desc=f"{self.desc} module {stage.index + 1}/{stage.n_stages}".strip(),
                                      unit="batch")

    def on_batch_end(self, stage, loss: float, **kwargs):
        bar = self.bars.get(stage.index)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{loss:.4f}", refresh=False)

    def on_stage_end(self, stage, **kwargs):
        bar = self.bars.pop(stage.index, None)
        if bar is not None:
            bar.close()


class LogEpochs(Callback):
    """Logs one line per epoch at INFO level to the ``mole`` logger."""

    def on_epoch_end(self, record: dict, **kwargs):
        logger.info("module %d epoch %d loss %.5f", record["module"] + 1, record["epoch"] + 1, record["loss"])
