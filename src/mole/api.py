"""The scripting API: ``mole.fit(model, X, y)`` trains a network with MOLE, another local rule, or backprop.

    >>> import mole, torch
    >>> net = mole.models.MLP(64, 10, hidden=(256, 128))
    >>> result = mole.fit(net, X_train, y_train, config=mole.TrainConfig(epochs=20))
    >>> result.score(X_test, y_test)

This module is the core's front door: it never imports the CLI, plots or datasets.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from dataclasses import dataclass, field, replace
from collections.abc import Iterable, Sequence

import torch
from torch import nn

from .callbacks import Callback, CallbackList, History
from .checkpoint import Checkpoint
from .config import TrainConfig, resolve_device
from .convergence import Convergence, holdout_positions
from .errors import ConfigError, DataError, MoleError
from .memory import ActivationMemory
from .modular import ModularNetwork
from .adapters import GraphData, NodeData, SampledNodeData, TensorData, TrainData
from .adapters.datasets import as_train_data, carries_labels
from .adapters.dataset_rows import worker_died
from .adapters.augment import augmentation_resolver, weak_augmentation_resolver
from .rules import Rule, rule_resolver
from .schedules import schedule_resolver
from .stage import Stage
from .user_code import raised_by_user, user_code_error, user_frame
from .validation import raise_all

logger = logging.getLogger("mole")

#: fewer held-out samples than this make a convergence budget's stops noise (a warning says so)
FEW_HELDOUT = 100
#: settings that change how training runs but not its result: a checkpoint may be resumed with others
RESULT_NEUTRAL = ("cache", "cache_limit_mb", "cache_dir", "keep_cache", "worker_timeout", "checkpoint_every")


@dataclass
class FitResult:
    """A trained network and how its training went."""

    method: str
    network: ModularNetwork
    config: TrainConfig
    history: History
    train_seconds: float  # wall seconds of fit, without the time callbacks spent measuring
    peak_memory_mb: float
    rule: dict = field(default_factory=dict)  # the rule's name and what it records (options; MOLE: its estimator)
    samples_per_second: float = 0.0  # epochs x training samples / seconds of the training loop
    schedule: dict = field(default_factory=dict)  # name and what the schedule recorded (e.g. workers)
    end_to_end: bool = False  # one stage trained the whole network (backprop)
    epochs: list = field(default_factory=list)  # epochs each stage trained (a convergence budget: up to config.epochs)
    heldout: int = 0  # samples the convergence budget measured on (held out of training, or the validation data)
    input_shape: tuple = ()  # one training sample's shape as fit was given it: predict and score check theirs

    @property
    def estimator(self) -> dict:
        """Name and options of the MI estimator (MOLE), else empty."""
        return self.rule.get("estimator", {})

    def predict_proba(self, X) -> torch.Tensor:
        """Class probabilities for features X (n, ...), the samples of a ``Dataset`` or ``DataLoader`` (in the
        dataset's order), a memory-mapped array, or a data adapter."""
        data, _ = as_train_data(X)
        return self._logits(data).softmax(1).cpu()

    def _logits(self, data: TrainData) -> torch.Tensor:
        """The network's outputs on ``data``, whose samples must be shaped as the training samples were (the
        spatial size of a grid may differ where the network takes it): else one DataError line."""
        shape, trained = tuple(data.x.shape[1:]), tuple(self.input_shape)
        problem = (f"X has samples of shape {shape} but the network was trained on samples of shape {trained}; pass "
                   "samples shaped as the training data (the same features, in the same order)")
        if trained and (len(shape) != len(trained) or shape[:1] != trained[:1]):
            raise DataError(problem)
        try:
            return data.to(torch.device(self.config.device)).logits(self.network)
        except RuntimeError as exc:
            if isinstance(exc, MoleError) or not trained or shape == trained:
                raise
            raise DataError(f"{problem} ({str(exc).splitlines()[0][:200]})") from None

    def predict(self, X) -> torch.Tensor:
        return self.predict_proba(X).argmax(1)

    def score(self, X, y=None) -> float:
        """Accuracy on (X, y), or on the labels a ``Dataset``, ``DataLoader`` or data adapter carries."""
        if y is None and not carries_labels(X):
            raise DataError(f"score needs labels: pass y, or a Dataset / DataLoader of (x, y) items; got "
                            f"{type(X).__name__} without y")
        data, _ = as_train_data(X, y)
        if bool((data.y < 0).any()):
            raise DataError("score needs a class label for every sample; got unlabelled ones (-1): score the "
                            "labelled samples only")
        logits = self._logits(data)
        if int(data.y.max()) >= logits.shape[1]:
            raise DataError(f"y holds class {int(data.y.max())} but the network outputs {logits.shape[1]} classes "
                            f"(0..{logits.shape[1] - 1}); score on labels of the classes it was trained on, encoded "
                            "as in fit")
        return float((logits.argmax(1).cpu() == data.y.cpu()).float().mean())

    def modules(self) -> list[dict]:
        """Per module: index, layer names, final loss (mean over the last epoch): the module's local loss,
        or, when one stage trained the whole network, the end-to-end loss at the head."""
        out = []
        for k, layers in enumerate(self.network.describe()):
            recs = [] if self.end_to_end else self.history.for_module(k)
            out.append({"index": k, "layers": layers, "final_loss": recs[-1]["loss"] if recs else None})
        if self.end_to_end and len(self.history):
            out[-1]["final_loss"] = self.history[-1]["loss"]
        return out


def validate_config(config: TrainConfig) -> TrainConfig:
    """Every problem with ``config`` before a run: its own fields (:meth:`TrainConfig.validate`), then the options
    of each component it names, checked by that component (optimizer, precision, frozen-output cache, pipeline
    balance, reduction, augmentation, estimator, schedule, rule options). Raises :class:`~mole.errors.ConfigError`
    naming them; returns ``config``."""
    from .estimators import estimator_resolver
    from .objectives.reduce import REDUCTIONS
    from .optim import check as check_optimizer
    from .schedules.base import CACHE_MODES
    from .schedules.costs import BALANCES
    from .stage import PRECISIONS
    config.validate()
    problems = check_optimizer(config.optimizer, config.lr, config.weight_decay, config.momentum, config.lr_schedule)
    for name, value, allowed in (("precision", config.precision, PRECISIONS), ("cache", config.cache, CACHE_MODES),
                                 ("balance", config.balance, BALANCES)):
        if value not in allowed:
            problems.append(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    for o in config.objective if isinstance(config.objective, list) else [config.objective]:
        if o.reduce not in REDUCTIONS:
            problems.append(f"objective reduce must be one of {', '.join(REDUCTIONS)}; got {o.reduce!r}")
    raise_all(problems)
    augmentation_resolver(config.augment, config.augment_pixels)
    weak_augmentation_resolver(config.weak_augment, config.weak_augment_pixels, config.augment)
    estimator_resolver(config.estimator.name, **config.estimator.options)  # raises ConfigError with a hint
    schedule_resolver(config.schedule)
    for name, options in config.rule_options.items():
        rule_resolver(name, **options)
    return config


def build_stages(network: ModularNetwork, config: TrainConfig, method: str | Rule = "mole",
                 data: TrainData | None = None) -> list[Stage]:
    """The stages ``method`` trains ``network`` with. Rules with auxiliary heads need the modules' output
    shapes: pass ``data`` (a data adapter) or a network whose shapes the rule does not need (MOLE, bp)."""
    rule = _rule(method, config)
    shapes = _output_shapes(network, data) if data is not None else [() for _ in network.blocks]
    n_classes = int(data.y.max()) + 1 if data is not None else 0
    return rule.stages(network, shapes, n_classes, config)


def _rule(method: str | Rule, config: TrainConfig) -> Rule:
    """A rule instance as it is, or a registered name with its options from ``config.rule_options``."""
    return rule_resolver(method, **config.rule_options.get(method, {})) if isinstance(method, str) else method


def _output_shapes(network: ModularNetwork, data: TrainData) -> list[tuple]:
    """Per module, the shape of its read-out output per sample, from a forward pass over two samples (of a sample of
    two: an epoch's plan of batches of two would hold n/2 index tensors, ~100 MB per million samples)."""
    return _forward_shapes(network, _two_samples(data))


def _two_samples(data: TrainData):
    """A batch of two samples of ``data``."""
    small = data.sample(2)
    return next(iter(small.batches(small.x, 2, torch.Generator().manual_seed(0))))


def _forward_shapes(network: ModularNetwork, batch) -> list[tuple]:
    """Per module, the shape of its read-out output per sample of ``batch``."""
    was, shapes, t = network.training, [], batch.t_in
    with torch.no_grad():
        network.eval()
        for block in network.blocks:
            t = block(t, *batch.context)
            shapes.append(tuple(batch.readout(t).shape[1:]))
    network.train(was)
    return shapes


def _check_network(network: ModularNetwork, data: TrainData, n_classes: int) -> list[tuple]:
    """The modules' read-out output shapes; a network that cannot take the data, or whose head does not
    output one logit per class, raises DataError."""
    shapes = network_shapes(network, _two_samples(data))
    if len(shapes[-1]) != 1 or shapes[-1][0] < n_classes:
        raise DataError(f"the network outputs shape {shapes[-1]} but the labels have {n_classes} classes; "
                        f"the head must output (n, {n_classes}) logits")
    return shapes


def network_shapes(network: ModularNetwork, batch) -> list[tuple]:
    """The modules' read-out output shapes on ``batch``; a network that cannot take it raises one DataError line (an
    exception of the user's own forward: a UserCodeError naming it)."""
    try:
        return _forward_shapes(network, batch)
    except MoleError:
        raise
    except Exception as exc:  # noqa: BLE001 - the first forward: the data's shape, or the user's own code
        if raised_by_user(exc) or (user_frame(exc) and not isinstance(exc, RuntimeError)):
            raise user_code_error("network's forward", exc, "fix its forward") from exc
        if not isinstance(exc, RuntimeError):
            raise
        t = batch.t_in
        raise DataError(f"the network cannot take inputs of shape {tuple(t.shape[1:])} ({t.dtype}): "
                        f"{str(exc).splitlines()[0]}; build the model for this input, or pass inputs as it takes "
                        "them") from None


def _data_parallel(stages: list[Stage], config: TrainConfig, rule: Rule, data: TrainData,
                   device: torch.device) -> int:
    """Started by torchrun with the sequential or simultaneous schedule: join the process group and train every stage
    on this process's shard of each batch (:mod:`mole.distributed.data_parallel`); this process's rank (0 if alone)."""
    from .distributed.data_parallel import data_parallel, join
    if not data_parallel(config.schedule):
        return 0
    what = (f"{type(data).__name__}'s batches" if not isinstance(data, TensorData) else  # graphs, Forward-Forward
            "augmented views" if data.views > 1 else None)
    if what is not None:
        raise ConfigError(f"torchrun started {os.environ.get('WORLD_SIZE')} processes to train data-parallel, which "
                          f"shards batches of plain samples (one row each), not {what}: train in one process, or spread the modules "
                          "over the processes with --schedule async")
    rank, world = join(device)
    for stage in stages:
        stage.shards = (rank, world)
    return rank


def _epochs_trained(stage: Stage, records: list[dict]) -> int | float:
    """Epochs ``stage`` trained: whole epochs as an int; with an epoch cut short, to two decimals."""
    cut = sum(1.0 - r.get("fraction", 1.0) for r in records)
    done = max(stage.epochs_done, len(records))
    return round(done - cut, 2) if cut else done


def fit(model: nn.Module | Sequence[nn.Module], X, y=None, *, method: str | Rule = "mole",
        config: TrainConfig | None = None, groups: Sequence[Sequence[int]] | None = None,
        cuts: Sequence[str] | None = None, callbacks: Iterable[Callback] = (), checkpoint: str | None = None,
        resume: bool = False, validation=None) -> FitResult:
    """Train ``model`` on (X, y) with a local rule (``method``: ``"mole"``, ``"dgl"``, ``"predsim"``,
    ``"hsic-bottleneck"``, ``"infopro"``, ``"forward-forward"``, see :data:`mole.rules.RULES`) or end-to-end
    backprop (``"bp"``).

    Args:
        model: an ``nn.Sequential``, a list of layers, a :class:`ModularNetwork`, or any ``nn.Module`` with ``cuts``.
        X: features (n, ...) with y, integer class labels (n,) in 0..C-1, −1 for an unlabelled sample (a memory-mapped
            array, ``numpy.load(path, mmap_mode="r")``, is read from disk batch by batch, never whole); or a map-style
            ``Dataset`` of ``(x, y)`` items, a ``DataLoader`` over one (its batch size, ``shuffle``, workers,
            ``pin_memory`` and ``collate_fn``), or a data adapter (:class:`mole.adapters.TrainData`, e.g. a graph),
            each carrying its labels (y is then None). See :mod:`mole.adapters.datasets`.
            Unlabelled samples feed the label-free terms of rules that have them (MOLE's I(T;X) and views,
            :attr:`Rule.uses_unlabelled`); every other rule, and backprop, trains on the labelled samples only.
        method: a registered rule name (options from ``config.rule_options[name]``) or a :class:`Rule`.
        config: a :class:`TrainConfig` (defaults if None).
        groups: explicit module grouping of the model's top-level layers (an ``nn.Sequential``).
        cuts: names of submodules to cut any ``nn.Module`` after (:mod:`mole.cuts`: torch.fx); the part after the
            last cut is the head.
        callbacks: extra :class:`Callback` objects (progress bars, logging).
        checkpoint: file written at the end of an epoch once ``config.checkpoint_every`` seconds have passed since
            the last (0: every epoch), and after every finished stage (see :mod:`mole.checkpoint`);
        resume: continue from ``checkpoint`` if it exists, exactly where it stopped.
        validation: with a convergence budget (``config.patience``), the held-out samples it measures each stage on:
            (X, y), a ``Dataset`` / ``DataLoader``, or a data adapter (e.g. a graph's validation nodes); None holds
            out ``config.holdout`` of each class's training samples (they are not trained on). Never the test data.

    Example:
        .. code-block:: python

            net = mole.models.MLP(64, 10, hidden=(256, 128))
            result = mole.fit(net, X_train, y_train, config=mole.TrainConfig(epochs=30))
            result.score(X_test, y_test), result.train_seconds, result.epochs
            mole.fit(net, DataLoader(dataset, batch_size=128, shuffle=True), method="dgl")
            mole.fit(MyModel(), X_train, y_train, cuts=["layer1", "layer2"], checkpoint="run.pt", resume=True)
    """
    config = validate_config(config or TrainConfig())
    if config.device == "auto":
        config = replace(config, device=resolve_device(config.device))
    rule = _rule(method, config)
    if y is None and not carries_labels(X):
        raise DataError(f"y is missing: pass one class label per sample of X, or a Dataset / DataLoader of (x, y) "
                        f"items; got {type(X).__name__} without y")
    data, loader_batch = as_train_data(X, y)
    input_shape = tuple(data.x.shape[1:])  # as the user gave it (a rule may prepare the data for its modules)
    if loader_batch == 1:  # PyTorch's default: a batch of one sample holds no information to estimate from
        logger.info("the DataLoader's batch_size is 1 (PyTorch's default), and local objectives estimate over a batch; "
                    "training with batch_size=%d (TrainConfig.batch_size)", config.batch_size)
    elif loader_batch is not None and loader_batch != config.batch_size:  # a DataLoader's batch size is the user's
        config = replace(config, batch_size=loader_batch)
    heldout = None
    if config.patience:  # a convergence budget measures each stage on held-out training samples
        if validation is not None:
            heldout = as_train_data(*validation)[0] if isinstance(validation, tuple) else as_train_data(validation)[0]
        else:
            keep, held = holdout_positions(data.y, config.holdout, config.seed)
            data, heldout = data.take(keep.to(data.y.device)), data.take(held.to(data.y.device))
    if not rule.uses_unlabelled:
        data = data.labelled()
    augmentation = augmentation_resolver(config.augment, config.augment_pixels)
    weak = weak_augmentation_resolver(config.weak_augment, config.weak_augment_pixels, config.augment)
    views = rule.views(config)

    def batched(d: TrainData) -> TrainData:
        """``d`` batched as the rule trains on it: augmented, with its views."""
        d = d.augmented(augmentation, weak) if augmentation is not None else d
        return d.with_views(views) if views > 1 else d

    data = batched(data)
    if len(data) < 2:
        raise DataError(f"need at least 2 training samples; got {len(data)}")
    network = model if isinstance(model, ModularNetwork) else ModularNetwork(model, groups, cuts)
    device = torch.device(config.device)
    network.to(device)
    data = data.to(device)
    if heldout is not None:
        heldout = batched(heldout.labelled()).to(device)
        if len(heldout) < 2:
            fix = ("pass more validation samples" if validation is not None else
                   f"holding out {config.holdout:g} of each class's labelled samples, each class keeping one to train "
                   "on, leaves too few: raise holdout (--holdout) or label more samples (--labels)")
            raise DataError(f"the convergence budget needs at least 2 held-out samples; got {len(heldout)}: {fix}, "
                            "or train a fixed budget (patience 0, --epochs N)")
        if len(heldout) < FEW_HELDOUT:
            logger.warning("the convergence budget measures each stage on %d held-out samples: on so few its stops "
                           "follow noise (MUTAG, 17 graphs: backprop stopped at 73 %% against 86 %% with the fixed "
                           "budget); prefer a fixed budget or more validation samples", len(heldout))
    n_classes = int(data.y.max()) + 1
    classes = torch.unique(data.y[data.y >= 0])
    if int(classes.numel()) < 2:
        held = f"a single class ({int(classes[0])})" if len(classes) else "no labelled sample"
        raise DataError(f"the training labels hold {held}; a classifier needs labelled samples of at least 2 classes")
    graphs = isinstance(data, (GraphData, NodeData))
    nodes = isinstance(data, (NodeData, SampledNodeData))  # a node-level graph
    if rule.pseudo_labels(config) and not data.reads_out_unlabelled:
        raise ConfigError(f"pseudo_labels labels the unlabelled rows of a batch, but {type(data).__name__} reads out "
                          "its labelled samples only (node-level graphs); set pseudo_labels to 0 (node-level "
                          "label-free terms: lambda_graph, lambda_view)")
    objectives = config.objective if isinstance(config.objective, list) else [config.objective]
    if rule.uses_unlabelled and any(o.lambda_graph for o in objectives) and isinstance(data, SampledNodeData):
        data = data.with_label_free_targets(config.batch_size)  # the graph term reads every node, as on the graph
    data = rule.prepare_data(data, n_classes, network)
    if heldout is not None:
        if rule.uses_unlabelled and any(o.lambda_graph for o in objectives) and isinstance(heldout, SampledNodeData):
            heldout = heldout.with_label_free_targets(config.batch_size)
        heldout = rule.prepare_data(heldout, n_classes, network)
    shapes = _check_network(network, data, n_classes)
    rule.prepare_network(network, n_classes, graphs=graphs, nodes=nodes)
    stages = rule.stages(network, shapes, n_classes, config)
    rank = _data_parallel(stages, config, rule, data, device)
    generator = torch.Generator().manual_seed(config.seed)
    history = History()
    convergence = None
    if heldout is not None:  # before the history: each record carries its held-out loss
        convergence = Convergence(heldout, config.patience, config.batch_size, config.seed,
                                  config.min_delta, config.checks_per_epoch, config.converge_on).bind(stages)
    cbs = CallbackList([*([convergence] if convergence else []), history, *callbacks])
    memory = ActivationMemory(device)
    tic = time.perf_counter()
    start, start_epoch, restore = 0, 0, None
    if checkpoint is not None:
        settings = {k: v for k, v in config.to_dict().items() if k not in RESULT_NEUTRAL}
        fingerprint = {"layers": network.describe(), "config": settings, "method": rule.name}
        ckpt = Checkpoint(checkpoint, network, fingerprint, config.checkpoint_every).bind(stages, generator,
                                                                                         cbs.callbacks)
        if resume and ckpt.path.exists():
            start, start_epoch, restore = ckpt.load()
        ckpt.writes = rank == 0
        cbs.callbacks.append(ckpt)
    cbs.on_train_begin(n_stages=len(stages), network=network, data=data)
    measuring = lambda: sum(cb.measuring_seconds() for cb in cbs.callbacks)  # noqa: E731
    loop_tic, measured_before = time.perf_counter(), measuring()
    # a single stage (end-to-end) has nothing to schedule: every schedule would train it alike
    runner = schedule_resolver(config.schedule if len(stages) > 1 else "sequential", config)
    # training-time randomness of torch's global RNG (dropout) starts from the run's seed, so a run is
    # reproducible whatever ran before it in the process; the caller's RNG state is left as it was
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(config.seed)
        try:
            runner.run(stages, data, epochs=config.epochs, batch_size=config.batch_size, generator=generator,
                       callbacks=cbs, memory=memory, start=start, start_epoch=start_epoch, restore=restore,
                       snapshots=str(Path(checkpoint).with_suffix(".workers")) if checkpoint is not None else None,
                       resume=resume)
        except RuntimeError as exc:  # torch says a DataLoader worker died wherever training was when it noticed
            died = worker_died(exc)
            if died is None:
                raise
            raise died from None
    loop = runner.loop_seconds  # set by schedules that time the loop themselves (asynchronous workers)
    if loop is None:  # timed here: callbacks measuring inside the loop (InformationMonitor) are not training
        loop = time.perf_counter() - loop_tic - (measuring() - measured_before)
    cbs.on_train_end()
    network.eval()
    # epochs each stage trained: its records (asynchronous workers train other processes' copies of the stages), less
    # the part of an epoch a convergence budget cut short
    epochs = [_epochs_trained(stage, history.for_module(stage.index)) for stage in stages]
    rate = sum(epochs) / len(epochs) * len(data) / loop if loop > 0 else 0.0
    seconds = time.perf_counter() - tic - measuring()
    return FitResult(rule.name, network, config, history, seconds, memory.peak_mb, {"name": rule.name,
                     **rule.describe(config)}, rate, {"name": runner.name, **runner.info}, rule.end_to_end,
                     epochs, len(heldout) if heldout is not None else 0, input_shape)
