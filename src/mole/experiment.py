"""An experiment: one dataset, one model, several training methods side by side, one run folder.

This is what ``mole run`` does, as a function users can script:

    >>> from mole.experiment import ExperimentConfig, run_experiment
    >>> results = run_experiment(ExperimentConfig(dataset="wine", epochs=10, out="runs/wine"))

The run folder holds ``config.json`` (the resolved configuration), ``command.txt`` (how it was
started), ``results.json`` (the numbers), ``checkpoints/`` (for ``--resume``) and the figures
``tsne.png``, ``information_plane.png`` and ``curves.png`` (see :mod:`mole.plots`).

Besides accuracy, every run records what each module learned (:mod:`mole.analysis`): the
information plane ``I(T_k;X), I(T_k;Y)`` during training, a linear-probe test accuracy per module
and a t-SNE embedding of every module's output. With k-fold cross-validation these come from the
first fold.
"""
from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Optional, Union

import torch

from . import __version__
from .analysis import InformationMonitor, linear_probes, monitor_estimator, tsne_panels
from .api import RESULT_NEUTRAL, fit, validate_config
from .callbacks import Callback
from .config import EstimatorConfig, ObjectiveConfig, TrainConfig
from .adapters import NodeData, SampledNodeData, TensorData, TrainData
from .adapters.datasets import as_train_data
from .adapters.dataset_rows import worker_died
from .adapters.labels import budget_positions, describe_budget, parse_budget
from .distributed import WorkerFailure, is_primary
from .distributed.data_parallel import data_parallel, leave
from .data import GraphDataset, NodeDataset, dataset_defaults, load_dataset
from .data.images import ImageFolderDataset, changed_files
from .crash import one_line, out_of_memory, write_crash_report
from .errors import (ConfigError, CrashError, DataError, DiskFullError, MoleError, OutOfMemoryError, RunFinished,
                     disk_full)
from .modular import grouped
from .saving import build_network, model_path, save_model
from .logs import EpochMetrics
from .models import DEPTHS, MODELS
from .models.factory import is_factory
from .models.gnn import EDGE_WEIGHTED
from .rules import RULES, rule_resolver
from .validation import MAX_WIDTH, changed_settings, choose

RESULTS = "results.json"
METRICS = "metrics.csv"  # per-epoch metrics, written as they happen (mole.logs)
FAILURE = "failure.json"  # written instead of results.json when a worker process fails


@dataclass
class AnalysisConfig:
    """What to measure and draw besides accuracy."""

    monitor_every: Optional[int] = None  # epochs between information-plane points; None: epochs // 10; 0: off
    monitor_samples: int = 256  # fixed training samples the information plane is measured on (3 eigendecompositions
    # of n x n per module and measurement: 512 cost 8x as much and made the monitor as slow as MOLE's training)
    probes: bool = True  # linear-probe test accuracy of the input and every module
    probe_samples: int = 5000  # training samples each probe is fitted on (scored on the whole test split)
    plots: bool = True  # t-SNE embeddings and the PNG figures
    accuracy_every: int = 1  # epochs (of the last stage) between test-accuracy points in metrics.csv; 0: off
    tensorboard: bool = False  # also log to TensorBoard (run folder's tensorboard/), with per-layer embeddings
    tsne_samples: int = 300  # samples per t-SNE panel (test split; the training split if that is larger and the test has < 100)
    max_modules: int = 12  # deeper networks get probes and t-SNE panels for this many evenly spaced modules

    def validate(self, epochs: int) -> "AnalysisConfig":
        if self.monitor_every is None:
            self.monitor_every = max(1, epochs // 10)
        for name in ("monitor_every", "accuracy_every", "monitor_samples", "probe_samples", "tsne_samples",
                     "max_modules"):
            value = getattr(self, name)
            off = name in ("monitor_every", "accuracy_every")
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if off else 2):
                low = "0 (off)" if off else "2"
                raise ConfigError(f"{name} must be an integer >= {low}; got {value!r}")
        return self


@dataclass
class ExperimentConfig:
    dataset: str = "digits"
    model: Optional[str] = None  # None: the dataset's (mlp: vectors, digits; cnn: signals, images; gcn/gin: graphs)
    # None: mole and bp, and bp-semi (backprop with MOLE's unlabelled-data terms) under a label budget
    methods: Optional[tuple] = None
    seed: int = 0  # data split, weight initialization and batch order
    hidden: Optional[tuple] = None  # MLP/GNN hidden widths, one module each (None: the dataset's, else 256,128)
    channels: tuple = (32, 64)  # CNN conv channels (one module each)
    depth: Optional[int] = None  # ResNet depth (6n + 2; default 20) or VGG depth (default 11)
    module_size: int = 1  # consecutive layers (ResNet: blocks) per module; the head is always its own
    batch_norm: bool = True  # BatchNorm after each hidden layer (MLP, CNN)
    dropout: float = 0.5  # dropout after each GNN hidden layer
    folds: int = 10  # stratified cross-validation folds for graph collections (TU datasets)
    # label budget: None (every training label), "N" labels per class or "P%" of each class (stratified, seeded);
    # the other training samples stay as unlabelled data (mole.adapters.labels)
    labels: Optional[str] = None
    # the few-label settings the run took as defaults (mole.data.few_labels), recorded in results.json
    few_label_defaults: dict = field(default_factory=dict)
    pool: str = "mean"  # graph-level read-out: mean or sum
    # any nn.Module (e.g. --model torchvision.models:resnet18) cut into modules after these submodules (mole.cuts)
    cuts: Optional[tuple] = None
    image_size: Optional[int] = None  # a folder of images: resize to this square size (None: as stored)
    loader_workers: int = 0  # DataLoader worker processes reading data held on disk (image folders)
    # node-level graphs: "on" trains on sampled neighbourhoods of target-node batches, "off" on the whole graph
    # every step, "auto" samples when a full-graph step would exceed sampling_budget_mb (see mole.adapters)
    neighbor_sampling: str = "auto"
    fanout: int = 10  # in-edges kept per node and hop in sampled training steps (-1: all)
    sampling_budget_mb: float = 1024.0  # largest estimated full-graph step of "auto"
    train: TrainConfig = field(default_factory=TrainConfig)
    data_root: Optional[str] = None  # folder with dataset files; default $MOLE_DATA
    download: bool = False  # fetch missing files (needs internet)
    out: Optional[str] = None  # run folder; default runs/<time>-<dataset>-<model>
    resume: bool = False  # continue an interrupted run in `out`
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)

    def validate(self) -> "ExperimentConfig":
        if self.methods is None:
            self.methods = ("mole", "bp") + (("bp-semi",) if self.labels is not None else ())
        self.methods = tuple(choose("method", m, RULES) for m in self.methods)
        if not self.methods:
            raise ConfigError(f"methods is empty; pass at least one of {', '.join(RULES)}")
        if len(set(self.methods)) != len(self.methods):
            raise ConfigError(f"methods lists a method twice ({', '.join(self.methods)}); name each once")
        defaults = dataset_defaults(str(self.dataset))
        if self.model is None:
            self.model = defaults["model"]
        if self.hidden is None:
            self.hidden = tuple(defaults.get("hidden", (256, 128)))
        if not (self.hidden and all(isinstance(w, int) and 1 <= w <= MAX_WIDTH for w in self.hidden)):
            raise ConfigError(f"hidden must list widths in 1..{MAX_WIDTH}; got {self.hidden!r}")
        if self.out is not None and (not str(self.out).strip() or "\x00" in str(self.out)):
            raise ConfigError(f"out must name a folder for the run; got {self.out!r}")
        if self.labels is not None:
            self.labels = str(self.labels).strip()
            parse_budget(self.labels)
        if not (isinstance(self.folds, int) and self.folds >= 2):
            raise ConfigError(f"folds must be an integer >= 2; got {self.folds!r}")
        if not (isinstance(self.module_size, int) and self.module_size >= 1):
            raise ConfigError(f"module_size must be a positive integer; got {self.module_size!r}")
        if not (isinstance(self.dropout, (int, float)) and 0 <= self.dropout < 1):
            raise ConfigError(f"dropout must be in [0, 1); got {self.dropout!r}")
        self.neighbor_sampling = choose("neighbor_sampling", self.neighbor_sampling, SAMPLING)
        if not (isinstance(self.fanout, int) and (self.fanout >= 1 or self.fanout == -1)):
            raise ConfigError(f"fanout must be a positive integer, or -1 for every neighbour; got {self.fanout!r}")
        if not (isinstance(self.sampling_budget_mb, (int, float)) and 0 < self.sampling_budget_mb < float("inf")):
            raise ConfigError(f"sampling_budget_mb must be a positive number; got {self.sampling_budget_mb!r}")
        if self.cuts is not None:
            self.cuts = tuple(str(c).strip() for c in self.cuts if str(c).strip())
            if not self.cuts:
                raise ConfigError("cuts is empty; name at least one submodule to cut the model after")
        if self.image_size is not None and not (isinstance(self.image_size, int) and self.image_size >= 1):
            raise ConfigError(f"image_size must be a positive integer (pixels); got {self.image_size!r}")
        if not (isinstance(self.loader_workers, int) and self.loader_workers >= 0):
            raise ConfigError(f"loader_workers must be an integer >= 0; got {self.loader_workers!r}")
        if not is_factory(self.model):
            self.model = choose("model", self.model, MODELS)
        if self.depth is not None and self.model not in DEPTHS:
            raise ConfigError(f"depth applies to --model resnet or vgg, not {self.model!r}; drop --depth")
        self.train.seed = self.seed
        validate_config(self.train)
        self.analysis.validate(self.train.epochs)
        return self


#: which models take which kinds of data
MODEL_KINDS = {"mlp": ("vector", "grid"), "cnn": ("grid",), "resnet": ("grid",), "vgg": ("grid",),
               "gcn": ("node", "graph"), "gin": ("node", "graph"), "sage": ("node", "graph")}


def _check_model_for_data(model: str, dataset) -> None:
    kinds = MODEL_KINDS.get(model)
    if kinds is not None and dataset.kind not in kinds:
        fits = [m for m, k in MODEL_KINDS.items() if dataset.kind in k]
        what = {"vector": "feature vectors", "grid": "signals/images", "node": "a graph (node level)",
                "graph": "a collection of graphs"}.get(dataset.kind, dataset.kind)
        raise ConfigError(f"model {model!r} cannot take {what} ({getattr(dataset, 'name', 'the dataset')}); use "
                          f"--model {' or '.join(fits)}")


def default_folder(cfg: ExperimentConfig, suffix: str = "") -> Path:
    """``runs/<time>-<dataset>-<model><suffix>``; a dataset given as a path contributes its file name only, made of
    safe characters: always inside runs/."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(str(cfg.dataset)).stem).strip("._") or "data"
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{cfg.model}{suffix}"


def run_folder(cfg: ExperimentConfig) -> Path:
    """The run's output folder (``cfg.out``, else a new :func:`~mole.experiment.default_folder`), created.

    A :class:`~mole.errors.ConfigError` if it is a file, already holds a finished run, or (``cfg.resume``) does not
    exist; :class:`~mole.errors.RunFinished` when resuming a finished run with unchanged settings.
    """
    out = Path(cfg.out) if cfg.out else default_folder(cfg)
    try:
        finished = (out / RESULTS).exists()
    except OSError as exc:  # e.g. a name too long for the file system
        raise ConfigError(f"cannot use {str(out)[:80]} as the run folder ({exc.strerror or exc}); choose another "
                          "--out path") from None
    if finished:
        if cfg.resume:
            changed = _changed_since(out, cfg)
            if changed:
                why = ("; more epochs do not continue a finished run: each later module learned from the earlier "
                       "modules' outputs after their last epoch, so training those further means training every "
                       "later module again, which is a new run" if any(c.startswith("train.epochs") for c in changed)
                       else "")
                raise ConfigError(f"{out} holds a finished run with other settings ({'; '.join(changed[:6])}"
                                  f"{'; …' if len(changed) > 6 else ''}){why}; a finished run is not continued with "
                                  "new settings: drop them to keep it, or pass a fresh --out to train with them")
            raise RunFinished(f"{out} already holds a finished run ({RESULTS}); nothing to resume, nothing changed")
        raise ConfigError(f"{out} already holds a finished run ({RESULTS}); choose a fresh --out folder")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder; choose a folder path for the run")
    if cfg.resume and not out.exists():
        raise ConfigError(f"cannot resume: run folder {out} does not exist; pass the --out of the interrupted run")
    # a typo, another tool's folder: never train over it (a torchrun node's own folder holds its checkpoints alone)
    if cfg.resume and not ((out / "config.json").is_file() or (out / "checkpoints").is_dir()):
        raise ConfigError(f"cannot resume: {out} holds no mole run (no config.json, no checkpoints/), so nothing "
                          "there can be resumed; pass the --out of the interrupted run, or drop --resume to start a "
                          "new run")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"cannot create the run folder {out} ({exc.strerror or exc}); choose a writable --out "
                          "path") from None
    return out


#: what a resume may change without changing the run (where it runs, what is measured, how it is cached)
RESUME_NEUTRAL = ("out", "resume", "download", "data_root", "analysis", "loader_workers", *(f"train.{k}" for k in RESULT_NEUTRAL))


def _changed_since(out: Path, cfg: ExperimentConfig) -> list[str]:
    """The settings of ``cfg`` that differ from the run recorded in ``out/config.json`` (none if it is unreadable)."""
    try:
        recorded = json.loads((out / "config.json").read_text())
    except (OSError, ValueError):
        return []
    now = json.loads(json.dumps(asdict(cfg), default=str))
    return changed_settings(recorded, now, RESUME_NEUTRAL)


#: what a run records of the files it reads (a folder of images: :func:`~mole.data.images.image_files`)
FILES = Path("checkpoints") / "files.json"


def _record_files(out: Path, dataset, cfg: ExperimentConfig) -> None:
    """Records in ``out`` the files ``dataset`` reads (if it says: ``files``); resuming, a folder that changed since
    the run recorded it is refused (one line naming how), rather than training on other data."""
    files = getattr(dataset, "files", None)
    if files is None:
        return
    try:
        recorded = json.loads((out / FILES).read_text()) if cfg.resume else None
    except (OSError, ValueError):  # a run from before this record, or cut short writing it: record it now
        recorded = None
    if recorded is not None:
        changed = changed_files(recorded, files)
        if changed:
            raise DataError(f"the image folder {cfg.dataset} changed since the run started ({'; '.join(changed[:4])}"
                            f"{'; …' if len(changed) > 4 else ''}); restore it as it was to --resume, or train on it "
                            "as it is now in a fresh --out")
        return
    if is_primary():
        (out / FILES).parent.mkdir(parents=True, exist_ok=True)
        (out / FILES).write_text(json.dumps(files, indent=1))


SAMPLING = ("auto", "on", "off")


def full_graph_step_bytes(dataset: NodeDataset, width: int) -> int:
    """Rough size of one full-graph training step of a message-passing layer of ``width`` channels: the input
    features, and messages (one per edge) plus outputs (one per node), each with their gradients."""
    n, e, f = dataset.train.x.shape[0], dataset.train.edge_index.shape[1], dataset.input_shape[0]
    return 4 * (n * f + 2 * (n + e) * width)


def sampling_plan(cfg: ExperimentConfig, dataset) -> Optional[dict]:
    """Whether node-level training samples neighbourhoods (a dict saying why, for results.json) or not (None)."""
    if not isinstance(dataset, NodeDataset) or cfg.neighbor_sampling == "off":
        return None
    need = full_graph_step_bytes(dataset, max(cfg.hidden))
    if cfg.neighbor_sampling == "auto" and need <= cfg.sampling_budget_mb * 2**20:
        return None
    why = "forced" if cfg.neighbor_sampling == "on" else f"full-graph step ~{need / 2**20:.0f} MB over the budget"
    return {"fanout": cfg.fanout, "why": why}


def _budgeted(splits: list[tuple[TrainData, TrainData]], cfg: ExperimentConfig
              ) -> tuple[list[tuple[TrainData, TrainData]], Optional[list[dict]]]:
    """The splits with ``cfg.labels`` applied to each training part (the same subset for every method), and what
    results.json records of it per split (None without a budget)."""
    if cfg.labels is None:
        return splits, None
    out, records = [], []
    for train, test in splits:
        positions = budget_positions(train.y, cfg.labels, cfg.seed)
        out.append((train.with_labels(positions.to(train.y.device)), test))
        records.append(describe_budget(cfg.labels, positions, len(train)))
    return out, records


def _splits(dataset, cfg: ExperimentConfig, sampling: Optional[dict] = None) -> list[tuple[TrainData, TrainData]]:
    """(train, test) adapters: one split, or the k folds of a graph collection."""
    if isinstance(dataset, GraphDataset):
        return dataset.folds(cfg.folds, cfg.seed)
    if isinstance(dataset, NodeDataset) and sampling:
        train = SampledNodeData.of(dataset.train, fanout=cfg.fanout, weights=EDGE_WEIGHTED.get(cfg.model))
        return [(train, train.subset(dataset.test.index))]
    if isinstance(dataset, NodeDataset):
        return [(dataset.train, dataset.test)]
    if isinstance(dataset, ImageFolderDataset):  # read on demand, by DataLoaders of cfg.loader_workers workers
        return [tuple(as_train_data(d, loader={"num_workers": cfg.loader_workers})[0]
                      for d in (dataset.train, dataset.test))]
    return [(TensorData(dataset.x_train, dataset.y_train), TensorData(dataset.x_test, dataset.y_test))]


def _monitor(cfg: ExperimentConfig, train: TrainData) -> Optional[InformationMonitor]:
    if not cfg.analysis.monitor_every:
        return None
    estimator = monitor_estimator(cfg.train.estimator.name, cfg.train.estimator.options)
    return InformationMonitor(train.sample(cfg.analysis.monitor_samples, cfg.seed), estimator,
                              every=cfg.analysis.monitor_every)


def analysed_modules(n_modules: int, limit: int) -> list[int]:
    """Which modules get probes and t-SNE panels: all, or ``limit`` evenly spaced ones with the first and last."""
    if n_modules <= limit:
        return list(range(n_modules))
    return sorted({round(i * (n_modules - 1) / (limit - 1)) for i in range(limit)})


def _analyse(res, train: TrainData, test: TrainData, cfg: ExperimentConfig, run: dict, shared: dict) -> None:
    """Probe accuracies and t-SNE panels of a trained network, into ``run`` (first fold only).

    ``shared`` carries the input panel between methods: the raw data is embedded once. The seconds
    each part took (its forward passes included) go into ``run["timings"]`` (``probes``, ``tsne``).
    """
    a, blocks, timings = cfg.analysis, res.network.blocks, run.setdefault("timings", {})
    shown = analysed_modules(len(blocks), a.max_modules)  # deep networks: an evenly spaced selection
    pick = lambda rows: [rows[0], *(rows[k + 1] for k in shown)]  # noqa: E731 - the input and the shown modules
    tic = time.perf_counter()
    if a.probes:
        fit_on = train.sample(a.probe_samples, cfg.seed)
        acc = linear_probes(pick(fit_on.representations(blocks)), fit_on.y, pick(test.representations(blocks)),
                            test.y, cfg.seed)
        run["input_probe_accuracy"] = acc[0]
        for k, value in zip(shown, acc[1:]):
            run["modules"][k]["probe_accuracy"] = value
    timings["probes"] = time.perf_counter() - tic if a.probes else 0.0
    tic = time.perf_counter()
    if a.plots:
        small = len(test) < min(100, a.tsne_samples) and len(train) > len(test)
        split, source = ("train", train) if small else ("test", test)
        sample = source.sample(a.tsne_samples, cfg.seed)
        rows = pick(sample.representations(blocks))
        if "input" not in shared:
            shared["input"] = tsne_panels(rows[:1], cfg.seed)[0]
        panels = [shared["input"], *tsne_panels(rows[1:], cfg.seed)]
        run["embedding"] = {"split": split, "labels": sample.y.cpu().tolist(), "modules": shown,
                            "panels": [p.round(3).tolist() for p in panels]}
    timings["tsne"] = time.perf_counter() - tic if a.plots else 0.0


def _embeddings(writer, res, test: TrainData, cfg: ExperimentConfig) -> None:
    """Every analysed module's output on a fixed test sample, for TensorBoard's projector."""
    sample = test.sample(cfg.analysis.tsne_samples, cfg.seed)
    rows = sample.representations(res.network.blocks)
    labels = sample.y.cpu().tolist()
    writer.add_embedding(rows[0].flatten(1).float().cpu(), metadata=labels, tag="input")
    for k in analysed_modules(len(res.network.blocks), cfg.analysis.max_modules):
        writer.add_embedding(rows[k + 1].flatten(1).float().cpu(), metadata=labels, tag=f"module{k + 1}")


def labelled_epochs(train: TrainData, epochs: int, batch_size: int) -> int:
    """Epochs over the labelled samples of ``train`` that take as many optimizer steps as ``epochs`` over all of them:
    the budget of a rule that trains on the labelled samples alone (backprop, the supervised local rules) beside
    one that steps through every sample (MOLE, bp-semi). Node-level graphs take one step per batch of labelled
    target nodes either way."""
    if isinstance(train, (NodeData, SampledNodeData)):
        return epochs
    steps = lambda n: max(1, -(-n // batch_size))  # noqa: E731
    return max(epochs, round(epochs * steps(len(train)) / steps(len(train.labelled()))))


def signal(rule: dict, end_to_end: bool = False) -> str:
    """What trains MOLE's hidden modules, in a few words: the estimator's name, then its label-free terms,
    ``+ graph infomax``, ``+ views`` or ``+ view clusters``, and ``+ pseudo-labels τ`` (e.g. ``renyi + graph
    infomax``); ``end_to_end`` (semi-supervised backprop): ``cross-entropy`` and its terms."""
    objectives = rule.get("objective", [])
    extra = " + graph infomax" if any(o.get("lambda_graph") for o in objectives) else ""
    views = {o.get("view_term", "instance") for o in objectives if o.get("lambda_view")}
    extra += "".join(" + view clusters" if v == "clusters" else " + views" for v in sorted(views))
    tau = max((o.get("pseudo_labels") or 0.0 for o in objectives), default=0.0)
    extra += f" + pseudo-labels {tau:g}" if tau else ""
    if end_to_end:  # semi-supervised backprop: cross-entropy plus these terms
        return "cross-entropy" + extra
    return rule["estimator"]["name"] + extra


def _run_method(method: str, cfg: ExperimentConfig, dataset, splits, out: Path, callbacks, shared: dict) -> dict:
    accs, train_accs, seconds, memory, first, monitor, metrics = [], [], 0.0, 0.0, None, None, None
    module_epochs = []  # per fold: the epochs each stage trained
    for fold, (train, test) in enumerate(splits):
        # what builds the network, also saved with it (model-<method>.pt)
        kind = "vector" if cfg.model == "mlp" else dataset.kind  # an MLP flattens a grid: it takes vectors
        shape = rule_resolver(method, **cfg.train.rule_options.get(method, {})).input_shape(
            dataset.input_shape, dataset.n_classes, kind)  # Forward-Forward: + C node features or channels
        build = {"name": cfg.model, "input_shape": list(shape), "n_classes": dataset.n_classes,
                 "hidden": list(cfg.hidden), "channels": list(cfg.channels), "batch_norm": cfg.batch_norm,
                 "task": dataset.kind, "dropout": cfg.dropout, "depth": cfg.depth,
                 "edge_weights": isinstance(train, SampledNodeData)}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)  # every method (and fold) starts from the same weights
            net = build_network(build, cfg.model if is_factory(cfg.model) else None)  # the user named it
        groups = grouped(list(net.children()), cfg.module_size) if cfg.module_size > 1 and not cfg.cuts else None
        name = f"{method}.pt" if len(splits) == 1 else f"{method}-fold{fold}.pt"
        ckpt = out / "checkpoints" / name
        extra = callbacks(method)
        if fold == 0 and is_primary():  # under torchrun only rank 0 writes to the run folder
            monitor = _monitor(cfg, train.labelled())
            a = cfg.analysis
            metrics = EpochMetrics(out / METRICS, method, test=test if a.accuracy_every else None, monitor=monitor,
                                   tensorboard_dir=out / "tensorboard" if a.tensorboard else None,
                                   every=max(1, a.accuracy_every))
            extra = extra + ([monitor] if monitor else []) + [metrics]
        train_cfg = cfg.train if cfg.train.cache_dir else replace(cfg.train, cache_dir=str(out / "cache"))
        if cfg.labels is not None and not RULES[method].uses_unlabelled:  # as many steps as on every sample
            train_cfg = replace(train_cfg, epochs=labelled_epochs(train, train_cfg.epochs, train_cfg.batch_size))
        validation = None  # a convergence budget on a Planetoid graph: its validation nodes, as GCN's authors
        if train_cfg.patience and isinstance(dataset, NodeDataset) and dataset.val is not None:
            validation = train.subset(dataset.val.index)
        res = fit(net, train, method=method, config=train_cfg, groups=groups, cuts=cfg.cuts, callbacks=extra,
                  checkpoint=ckpt, resume=cfg.resume, validation=validation)
        if not is_primary():
            return {"method": method}  # another node's worker: rank 0 holds the trained network and reports
        save_model(model_path(out, method, None if len(splits) == 1 else fold), res.network, build, method,
                   getattr(dataset, "preprocess", None), cfg.train.rule_options.get(method, {}))
        accs.append(res.score(test))
        train_accs.append(res.score(train.labelled()))  # with a label budget: on the labelled samples
        seconds += res.train_seconds  # without the monitor's measurements (fit leaves them out)
        module_epochs.append(res.epochs)
        memory = max(memory, res.peak_memory_mb)
        first = first or (res, train, test)
    res, train, test = first
    run = {"method": method, "test_accuracy": sum(accs) / len(accs), "train_accuracy": sum(train_accs) / len(accs),
           "train_seconds": seconds, "samples_per_second": res.samples_per_second, "peak_memory_mb": memory,
           "epochs": train_cfg.epochs, "patience": train_cfg.patience, "heldout_samples": res.heldout,
           # the epochs each stage trained (mean over folds): the budget, or fewer under a convergence budget
           "module_epochs": [round(sum(f[k] for f in module_epochs) / len(module_epochs), 1) if len(module_epochs) > 1
                             else module_epochs[0][k] for k in range(len(module_epochs[0]))],
           "modules": res.modules(), "history": res.history.records}
    if len(splits) > 1:
        run.update(folds=len(splits), fold_accuracies=accs,
                   test_accuracy_std=float(torch.tensor(accs).std(unbiased=False)))
    run.update(rule=res.rule, end_to_end=res.end_to_end, schedule=res.schedule["name"])
    if res.schedule.get("cache"):
        run["cache"] = res.schedule["cache"]  # how each frozen module's output was held (sequential)
    if res.estimator:
        run["estimator"] = res.estimator
        run["signal"] = signal(res.rule, res.end_to_end)
    if res.schedule.get("workers"):
        run.update(workers=res.schedule["workers"], schedule_info=res.schedule)
    # seconds per part: training (all folds, without the monitor), information plane (the monitor's
    # measurements during training), accuracy per epoch (metrics.csv), probes and t-SNE (set by _analyse)
    run["timings"] = {"train": seconds, "information_plane": monitor.seconds if monitor else 0.0}
    tic = time.perf_counter()
    if monitor:
        run["monitor"] = {"estimator": {"name": monitor.estimator.name, "options": monitor.estimator.options()},
                          "samples": len(monitor.data), "every": monitor.every}
        for module in run["modules"]:
            trajectory = monitor.for_module(module["index"])
            module["information"] = [{k: r[k] for k in ("epoch", "I_TX", "I_TY")} for r in trajectory]
            if trajectory:
                module["I_TX"], module["I_TY"] = trajectory[-1]["I_TX"], trajectory[-1]["I_TY"]
    _analyse(res, train.labelled(), test, cfg, run, shared)
    if metrics is not None:
        run["accuracy_curve"] = metrics.accuracy  # test accuracy after each epoch of the last stage
        run["timings"]["accuracy"] = metrics.seconds
        if metrics.writer is not None:
            _embeddings(metrics.writer, res, test, cfg)
            metrics.close()
    run["analysis_seconds"] = (time.perf_counter() - tic + (monitor.seconds if monitor else 0.0)
                               + (metrics.seconds if metrics else 0.0))
    return run


def run_experiment(cfg: ExperimentConfig, callbacks: Callable[[str], list[Callback]] = lambda method: [],
                   argv: Optional[list] = None) -> dict:
    """Train every method of ``cfg`` on its dataset; write and return the results dict.

    ``callbacks(method)`` supplies extra callbacks (e.g. progress bars) for each method's training.
    Graph collections are evaluated by stratified ``cfg.folds``-fold cross-validation: the test
    accuracy is the mean over folds (``fold_accuracies`` lists them), the train seconds their sum.
    """
    start = time.perf_counter()
    cfg.validate()
    dataset = load_dataset(cfg.dataset, cfg.data_root, seed=cfg.seed, download=cfg.download, pool=cfg.pool,
                           image_size=cfg.image_size)
    _check_model_for_data(cfg.model, dataset)
    if isinstance(dataset, GraphDataset) and cfg.folds > len(dataset.graphs) // 2:
        raise ConfigError(f"--folds {cfg.folds} is too many for {len(dataset.graphs)} graphs: each test fold needs "
                          f"2 or more; use at most {len(dataset.graphs) // 2}")
    out = run_folder(cfg)
    try:
        results = _experiment(cfg, dataset, out, callbacks, argv, start)
        leave()  # data-parallel processes: every one done before any leaves
        return results
    except MoleError:
        raise
    except Exception as exc:  # a bug in mole: the run folder keeps a crash report and failure.json
        if out_of_memory(exc):
            raise OutOfMemoryError(f"out of memory ({one_line(exc)[:200]}); the network, batch or data is too large "
                                   "for this machine: use smaller --hidden, --batch-size or --augment-pixels") from None
        died = worker_died(exc)  # a DataLoader worker, noticed outside training (an evaluation)
        if died is not None:
            raise died from None
        if disk_full(exc):  # a result, a figure, metrics.csv: the checkpoints before it are intact
            raise DiskFullError(f"no space left on device ({one_line(exc)[:200]}); free space on the disk of {out}, "
                                "then continue with --resume") from None
        report = write_crash_report(exc, argv, out)
        if is_primary():
            (out / FAILURE).write_text(json.dumps({"error": one_line(exc), "kind": "crash", "report": str(report)},
                                                  indent=2))
        raise CrashError(f"mole crashed ({one_line(exc)}); this is a bug in mole, not in your input. The crash "
                         f"report {report} holds the traceback, versions and command", report) from exc


def _experiment(cfg: ExperimentConfig, dataset, out: Path, callbacks, argv, start: float) -> dict:
    """:func:`run_experiment` once its run folder ``out`` exists."""
    _record_files(out, dataset, cfg)
    if is_primary():  # the nodes of a torchrun launch may share the folder: one writer
        (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2, default=str))
        (out / "command.txt").write_text(" ".join(argv if argv is not None else sys.argv) + "\n")
    sampling = sampling_plan(cfg, dataset)
    results = {"dataset": cfg.dataset, "model": cfg.model, "seed": cfg.seed, "mole_version": __version__,
               "data": dataset.summary(), "run_dir": str(out), "runs": []}
    if isinstance(dataset, NodeDataset):
        results["data"]["neighbor_sampling"] = sampling or False
    splits, budget = _budgeted(_splits(dataset, cfg, sampling), cfg)
    shared = {}
    if budget is not None:
        results["labels"] = budget[0] if len(budget) == 1 else {**{k: v for k, v in budget[0].items()
                                                                   if k != "positions"},
                                                                "folds": budget}
        if cfg.few_label_defaults:
            results["labels"]["defaults"] = dict(cfg.few_label_defaults)
    for method in cfg.methods:
        try:
            results["runs"].append(_run_method(method, cfg, dataset, splits, out, callbacks, shared))
        except MoleError as exc:  # the run folder keeps what happened (a failed worker: which, why, exit codes)
            details = exc.details if isinstance(exc, WorkerFailure) else {"kind": type(exc).__name__}
            with contextlib.suppress(OSError):  # (a full disk: the one line says so)
                (out / FAILURE).write_text(json.dumps({"method": method, "error": str(exc), **details}, indent=2,
                                                      default=str))
            raise
        if not is_primary() and not data_parallel(cfg.train.schedule):
            return results  # the asynchronous pipeline under torchrun: rank 0 evaluates and writes
    figures, tic = [], time.perf_counter()
    try:
        if cfg.analysis.plots:
            from .plots import draw_run
            figures = [str(p) for p in draw_run(results, out)]
    finally:  # results.json is written even if a figure fails
        results["figures_seconds"] = time.perf_counter() - tic if cfg.analysis.plots else 0.0
        results["wall_seconds"] = time.perf_counter() - start  # the whole run_experiment, figures included
        (out / RESULTS).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    if figures:
        results["figures"] = figures
    return results


def make_train_config(*, estimator: str = EstimatorConfig.name, estimator_options: Optional[dict] = None,
                      objective: Union[ObjectiveConfig, list, None] = None, **train) -> TrainConfig:
    """A TrainConfig from flat keyword arguments (what the CLI collects): ``train`` are TrainConfig fields."""
    return TrainConfig(**train, estimator=EstimatorConfig(estimator, dict(estimator_options or {})),
                       objective=objective or ObjectiveConfig())
