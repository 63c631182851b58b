"""The scripting API: ``mole.fit(model, X, y)`` trains a network with MOLE (or backprop).

    >>> import mole, torch
    >>> net = mole.models.MLP(64, 10, hidden=(256, 128))
    >>> result = mole.fit(net, X_train, y_train, config=mole.TrainConfig(epochs=20))
    >>> result.score(X_test, y_test)

This module is the core's front door: it never imports the CLI, plots or datasets.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from .backprop import train_backprop
from .callbacks import Callback, CallbackList, History
from .checkpoint import Checkpoint
from .config import ObjectiveConfig, TrainConfig
from .errors import ConfigError, DataError
from .estimators import estimator_resolver
from .memory import ActivationMemory
from .modular import ModularNetwork
from .objectives import CrossEntropyObjective, MutualInformationObjective
from .objectives.reduce import Reduce
from .adapters import TensorData, TrainData
from .adapters.augment import augmentation_resolver
from .schedules import schedule_resolver
from .stage import Stage
from .validation import as_features, as_labels, choose

METHODS = ("mole", "bp")


@dataclass
class FitResult:
    """A trained network and how its training went."""

    method: str
    network: ModularNetwork
    config: TrainConfig
    history: History
    train_seconds: float  # wall seconds of fit, without the time callbacks spent measuring
    peak_memory_mb: float
    estimator: dict = field(default_factory=dict)  # name and options (MOLE only)
    samples_per_second: float = 0.0  # epochs x training samples / seconds of the training loop
    schedule: dict = field(default_factory=dict)  # name and what the schedule recorded (e.g. workers)

    def predict_proba(self, X) -> torch.Tensor:
        """Class probabilities for features X (n, ...) or for the samples of a data adapter."""
        data = X if isinstance(X, TrainData) else TensorData(as_features(X), torch.zeros(len(X), dtype=torch.long))
        return data.to(torch.device(self.config.device)).logits(self.network).softmax(1).cpu()

    def predict(self, X) -> torch.Tensor:
        return self.predict_proba(X).argmax(1)

    def score(self, X, y=None) -> float:
        """Accuracy on (X, y), or on a data adapter's own labels."""
        if isinstance(X, TrainData):
            return float((self.predict(X) == X.y.cpu()).float().mean())
        y = as_labels(y, as_features(X).shape[0])
        return float((self.predict(X) == y).float().mean())

    def modules(self) -> list[dict]:
        """Per module: index, layer names, final local loss (mean over the last epoch)."""
        out = []
        for k, layers in enumerate(self.network.describe()):
            recs = self.history.for_module(k) if self.method == "mole" else []
            out.append({"index": k, "layers": layers, "final_loss": recs[-1]["loss"] if recs else None})
        if self.method == "bp" and len(self.history):
            out[-1]["final_loss"] = self.history[-1]["loss"]  # the end-to-end loss lives at the output
        return out


def _objectives_for(n_hidden: int, objective) -> list[ObjectiveConfig]:
    if isinstance(objective, ObjectiveConfig):
        return [objective] * n_hidden
    if len(objective) != n_hidden:
        raise ConfigError(f"objective lists {len(objective)} configs but the network has {n_hidden} hidden modules; "
                          "pass one ObjectiveConfig per hidden module, or a single one for all")
    return list(objective)


def build_stages(network: ModularNetwork, config: TrainConfig) -> list[Stage]:
    """One stage per module: MI objectives for hidden modules, cross-entropy for the head."""
    K = len(network)
    weights = _objectives_for(K - 1, config.objective)
    make_opt = lambda params: torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)  # noqa: E731
    stages = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)  # parametric critics start from the run's seed, globals untouched
        for k, block in enumerate(network.blocks):
            if k < K - 1:
                est = estimator_resolver(config.estimator.name, **config.estimator.options)
                w = weights[k]
                objective = MutualInformationObjective(est, w.lambda_y, w.lambda_x, w.lambda_xy, w.beta,
                                                       Reduce(w.reduce, w.project_dim, seed=config.seed + k))
            else:
                objective = CrossEntropyObjective()
            stages.append(Stage(k, K, block, objective.to(config.device), make_opt))
    return stages


def _check_network(network: ModularNetwork, data: TrainData, n_classes: int) -> None:
    try:
        with torch.no_grad():
            was = network.training
            batch = next(iter(data.batches(data.x, 2, torch.Generator().manual_seed(0))))
            out = batch.readout(network.eval()(batch.t_in, *batch.context))
            network.train(was)
    except RuntimeError as exc:
        raise DataError(f"the network cannot take inputs of shape {tuple(data.x.shape[1:])}: {str(exc).splitlines()[0]}; "
                        "build the model for this input size") from None
    if out.dim() != 2 or out.shape[1] < n_classes:
        raise DataError(f"the network outputs shape {tuple(out.shape[1:])} but the labels have {n_classes} classes; "
                        f"the head must output (n, {n_classes}) logits")


def fit(model: nn.Module | Sequence[nn.Module], X, y=None, *, method: str = "mole", config: TrainConfig | None = None,
        groups: Sequence[Sequence[int]] | None = None, callbacks: Iterable[Callback] = (),
        checkpoint: str | None = None, resume: bool = False) -> FitResult:
    """Train ``model`` on (X, y) with MOLE (``method="mole"``) or end-to-end backprop (``"bp"``).

    Args:
        model: an ``nn.Sequential``, a list of layers, or a :class:`ModularNetwork`.
        X: features (n, ...) with y, integer class labels (n,) in 0..C-1; or a data adapter
            (:class:`mole.adapters.TrainData`, e.g. a graph) that carries its labels (y is then None).
        config: a :class:`TrainConfig` (defaults if None).
        groups: explicit module grouping of the model's top-level layers.
        callbacks: extra :class:`Callback` objects (progress bars, logging).
        checkpoint: file written after every finished module (MOLE only);
        resume: continue from ``checkpoint`` if it exists.
    """
    config = (config or TrainConfig()).validate()
    method = choose("method", method, METHODS)
    if isinstance(X, TrainData):
        data = X
    else:
        x = as_features(X)
        data = TensorData(x, as_labels(y, x.shape[0]))
    augmentation = augmentation_resolver(config.augment, config.augment_pixels)
    if augmentation is not None:
        data = data.augmented(augmentation)
    if len(data) < 2:
        raise DataError(f"need at least 2 training samples; got {len(data)}")
    network = model if isinstance(model, ModularNetwork) else ModularNetwork(model, groups)
    device = torch.device(config.device)
    network.to(device)
    data = data.to(device)
    _check_network(network, data, int(data.y.max()) + 1)
    generator = torch.Generator().manual_seed(config.seed)
    history = History()
    cbs = CallbackList([history, *callbacks])
    memory = ActivationMemory(device)
    estimator: dict = {}
    tic = time.perf_counter()
    cbs.on_train_begin(n_stages=len(network) if method == "mole" else 1, network=network, data=data)
    schedule: dict = {}
    measuring = lambda: sum(cb.measuring_seconds() for cb in cbs.callbacks)  # noqa: E731
    loop_tic, measured_before = time.perf_counter(), measuring()
    loop = None  # seconds of the training loop, if the schedule times it itself (asynchronous workers)
    if method == "bp":
        train_backprop(network, data, epochs=config.epochs, batch_size=config.batch_size, lr=config.lr,
                       weight_decay=config.weight_decay, generator=generator, callbacks=cbs, memory=memory)
    else:
        stages = build_stages(network, config)
        estimator = {"name": config.estimator.name, "options": stages[0].objective.estimator.options()}
        start = 0
        if checkpoint is not None:
            ckpt = Checkpoint(checkpoint, network, {"layers": network.describe(), "config": config.to_dict()})
            if resume and ckpt.path.exists():
                start = ckpt.load()
            cbs.callbacks.append(ckpt)
        runner = schedule_resolver(config.schedule, config)
        runner.run(stages, data, epochs=config.epochs, batch_size=config.batch_size, generator=generator,
                   callbacks=cbs, memory=memory, start=start)
        loop = runner.loop_seconds
        schedule = {"name": runner.name, **runner.info}
    if loop is None:  # timed here: callbacks measuring inside the loop (InformationMonitor) are not training
        loop = time.perf_counter() - loop_tic - (measuring() - measured_before)
    cbs.on_train_end()
    network.eval()
    rate = config.epochs * len(data) / loop if loop > 0 else 0.0
    seconds = time.perf_counter() - tic - measuring()
    return FitResult(method, network, config, history, seconds, memory.peak_mb, estimator, rate, schedule)
