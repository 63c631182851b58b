"""An experiment: one dataset, one model, several training methods side by side, one run folder.

This is what ``mole run`` does, as a function users can script:

    >>> from mole.experiment import ExperimentConfig, run_experiment
    >>> results = run_experiment(ExperimentConfig(dataset="wine", epochs=10, out="runs/wine"))

The run folder holds ``config.json`` (the resolved configuration), ``command.txt`` (how it was
started), ``results.json`` (the numbers) and ``checkpoints/`` (for ``--resume``).
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

import torch

from . import __version__
from .api import METHODS, fit
from .callbacks import Callback
from .config import EstimatorConfig, ObjectiveConfig, TrainConfig
from .data import default_model, load_dataset
from .errors import ConfigError
from .models import MODELS, build_model
from .validation import choose

RESULTS = "results.json"


@dataclass
class ExperimentConfig:
    dataset: str = "digits"
    model: Optional[str] = None  # None: the dataset's default (mlp for vectors and digits, cnn for signals/images)
    methods: tuple = ("mole", "bp")
    seed: int = 0  # data split, weight initialization and batch order
    hidden: tuple = (256, 128)  # MLP hidden layer widths (one module each)
    channels: tuple = (32, 64)  # CNN conv channels (one module each)
    batch_norm: bool = True  # BatchNorm after each hidden layer (both methods)
    train: TrainConfig = field(default_factory=TrainConfig)
    data_root: Optional[str] = None  # folder with dataset files; default $MOLE_DATA
    download: bool = False  # fetch missing files (needs internet)
    out: Optional[str] = None  # run folder; default runs/<time>-<dataset>-<model>
    resume: bool = False  # continue an interrupted run in `out`

    def validate(self) -> "ExperimentConfig":
        self.methods = tuple(choose("method", m, METHODS) for m in self.methods)
        if not self.methods:
            raise ConfigError("methods is empty; pass at least one of mole, bp")
        if self.model is None:
            self.model = default_model(str(self.dataset))
        self.model = choose("model", self.model, MODELS)
        self.train.seed = self.seed
        self.train.validate()
        return self


def run_folder(cfg: ExperimentConfig) -> Path:
    out = Path(cfg.out) if cfg.out else Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{cfg.dataset}-{cfg.model}"
    if (out / RESULTS).exists() and not cfg.resume:
        raise ConfigError(f"{out} already holds a finished run ({RESULTS}); choose a fresh --out folder")
    if cfg.resume and not out.exists():
        raise ConfigError(f"cannot resume: run folder {out} does not exist; pass the --out of the interrupted run")
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_experiment(cfg: ExperimentConfig, callbacks: Callable[[str], list[Callback]] = lambda method: [],
                   argv: Optional[list] = None) -> dict:
    """Train every method of ``cfg`` on its dataset; write and return the results dict.

    ``callbacks(method)`` supplies extra callbacks (e.g. progress bars) for each method's training.
    """
    cfg.validate()
    dataset = load_dataset(cfg.dataset, cfg.data_root, seed=cfg.seed, download=cfg.download)
    out = run_folder(cfg)
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2, default=str))
    (out / "command.txt").write_text(" ".join(argv if argv is not None else sys.argv) + "\n")
    results = {"dataset": cfg.dataset, "model": cfg.model, "seed": cfg.seed, "mole_version": __version__,
               "data": dataset.summary(), "run_dir": str(out), "runs": []}
    for method in cfg.methods:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.seed)  # both methods start from the same weights
            net = build_model(cfg.model, dataset.input_shape, dataset.n_classes, hidden=tuple(cfg.hidden),
                              channels=tuple(cfg.channels), batch_norm=cfg.batch_norm)
        ckpt = out / "checkpoints" / f"{method}.pt" if method == "mole" else None
        res = fit(net, dataset.x_train, dataset.y_train, method=method, config=cfg.train,
                  callbacks=callbacks(method), checkpoint=ckpt, resume=cfg.resume)
        run = {"method": method, "test_accuracy": res.score(dataset.x_test, dataset.y_test),
               "train_accuracy": res.score(dataset.x_train, dataset.y_train),
               "train_seconds": res.train_seconds, "peak_memory_mb": res.peak_memory_mb,
               "epochs": cfg.train.epochs, "modules": res.modules(), "history": res.history.records}
        if method == "mole":
            run.update(schedule=cfg.train.schedule, estimator=res.estimator)
        results["runs"].append(run)
    (out / RESULTS).write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return results


def make_train_config(*, epochs: int = 30, batch_size: int = 256, lr: float = 1e-3, schedule: str = "sequential",
                      estimator: str = "renyi", estimator_options: Optional[dict] = None,
                      objective: Union[ObjectiveConfig, list, None] = None, device: str = "cpu") -> TrainConfig:
    """A TrainConfig from flat keyword arguments (what the CLI collects)."""
    return TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, schedule=schedule,
                       estimator=EstimatorConfig(estimator, dict(estimator_options or {})),
                       objective=objective or ObjectiveConfig(), device=device)
