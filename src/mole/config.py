"""Typed training configuration.

Configs only store values; :meth:`TrainConfig.validate` reports every problem at once.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Optional, Union

from .validation import raise_all


@dataclass
class ObjectiveConfig:
    """Weights of the local objective J = λ_Y I(T;Y) + λ_X I(T;X) + λ_XY I(T;X,Y) − β I(T;T_prev)."""

    lambda_y: float = 1.0  # decoder-like term: information about the labels
    lambda_x: float = 0.0  # encoder-like term: information about the input (label-free)
    lambda_xy: float = 0.0  # multivariate term I(T; X, Y)
    beta: float = 0.0  # information-bottleneck compression of the previous representation
    reduce: str = "flatten"  # feature maps -> rows for the kernel: flatten, gap, project
    project_dim: int = 1024  # output size of reduce="project"


@dataclass
class EstimatorConfig:
    """An estimator by registered name, with its constructor options (see its docstring)."""

    name: str = "renyi"
    options: dict = field(default_factory=dict)  # e.g. {"alpha": 1.01, "sigma": "median"}


@dataclass
class TrainConfig:
    epochs: int = 30  # epochs per module (MOLE) and for the whole network (backprop)
    batch_size: int = 256  # samples per step; also the n of every Gram matrix
    lr: float = 1e-3  # learning rate of every stage (each module, each rule, the backprop baseline)
    weight_decay: float = 0.0
    optimizer: str = "adam"  # adam, adamw or sgd; one per stage (see mole.optim)
    momentum: float = 0.9  # sgd only
    lr_schedule: str = "constant"  # constant, cosine or step, over each stage's epochs
    schedule: str = "sequential"  # sequential, simultaneous or async
    workers: int = 2  # async: worker processes, each owning a contiguous group of modules
    worker_timeout: float = 60.0  # async: seconds without progress before a worker counts as hung
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)
    # one ObjectiveConfig for every hidden module, or a list with one per hidden module
    objective: Union[ObjectiveConfig, list] = field(default_factory=ObjectiveConfig)
    # options of the other rules, by rule name, e.g. {"predsim": {"beta": 0.99}} (see mole.rules)
    rule_options: dict = field(default_factory=dict)
    augment: str = "none"  # training-batch augmentation, every method alike: none, shift (signals, images), crop-flip (images)
    augment_pixels: Optional[int] = None  # largest shift / crop padding in pixels (None: 2 for shift, 4 for crop-flip)
    seed: int = 0  # batch order, augmentation and any parametric critic's initialization
    device: str = "cpu"

    def validate(self) -> "TrainConfig":
        problems = []
        if not isinstance(self.epochs, int) or self.epochs < 1:
            problems.append(f"epochs must be a positive integer; got {self.epochs!r}")
        if not isinstance(self.batch_size, int) or self.batch_size < 2:
            problems.append(f"batch_size must be an integer >= 2 (MI needs pairs of samples); got {self.batch_size!r}")
        from .optim import check as check_optimizer
        problems += check_optimizer(self.optimizer, self.lr, self.weight_decay, self.momentum, self.lr_schedule)
        if not isinstance(self.workers, int) or self.workers < 1:
            problems.append(f"workers must be an integer >= 1; got {self.workers!r}")
        if not (isinstance(self.worker_timeout, (int, float)) and self.worker_timeout > 0):
            problems.append(f"worker_timeout must be positive seconds; got {self.worker_timeout!r}")
        objectives = self.objective if isinstance(self.objective, list) else [self.objective]
        from .objectives.reduce import REDUCTIONS
        for o in objectives:
            if not isinstance(o, ObjectiveConfig):
                problems.append(f"objective must be an ObjectiveConfig or a list of them; got {type(o).__name__}")
            elif o.reduce not in REDUCTIONS:
                problems.append(f"objective reduce must be one of {', '.join(REDUCTIONS)}; got {o.reduce!r}")
            elif not (isinstance(o.project_dim, int) and o.project_dim >= 1):
                problems.append(f"objective project_dim must be a positive integer; got {o.project_dim!r}")
        raise_all(problems)
        from .adapters.augment import augmentation_resolver
        from .estimators import estimator_resolver
        from .schedules import schedule_resolver
        augmentation_resolver(self.augment, self.augment_pixels)
        estimator_resolver(self.estimator.name, **self.estimator.options)  # raises ConfigError with a hint
        schedule_resolver(self.schedule)
        from .rules import rule_resolver
        if not isinstance(self.rule_options, dict):
            raise_all([f"rule_options must be a dict of rule name -> options; got {type(self.rule_options).__name__}"])
        for name, options in self.rule_options.items():
            rule_resolver(name, **options)
        return self

    def to_dict(self) -> dict:
        return asdict(self)
