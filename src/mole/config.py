"""Typed training configuration.

Configs only store values, and sit below the code they configure: nothing here imports a component.
:meth:`TrainConfig.validate` reports every problem with the config's own fields at once; each component checks
the options it is given where it is resolved (:func:`mole.api.validate_config` asks them all before a run).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional, Union

from .validation import MAX_WIDTH, raise_all

MAX_EPOCHS = 1_000_000
#: the most held-out checks an epoch may hold (a check per step at most, and no more than this)
MAX_CHECKS = 10_000
MAX_TIMEOUT = 1e6  # seconds (11 days): longer waits overflow the timers of torch.distributed
GRAPH_CRITICS = ("fixed", "learned")
VIEW_TERMS = ("instance", "clusters")
#: what a convergence budget's check measures on held-out data (mole.convergence): the local loss or a probe's error
CONVERGENCE_CRITERIA = ("loss", "probe")


def _int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def resolve_device(device: str) -> str:
    """``"auto"``: ``"cuda"`` where this machine has CUDA, else ``"cpu"``; any other name as it is."""
    import torch
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def _device_problems(device) -> list[str]:
    """A torch device string that names a device this machine has, else the problem."""
    import torch
    if device == "auto":
        return []
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        return [f"device must be a torch device such as cpu, cuda or cuda:0; got {device!r}"]
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            return [f"device {device!r}: CUDA is not available on this machine; use --device cpu"]
        if dev.index is not None and dev.index >= count:
            return [f"device {device!r}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})"]
    elif dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        return [f"device {device!r}: MPS is not available on this machine; use --device cpu"]
    elif dev.type not in ("cpu", "cuda", "mps"):
        return [f"device {device!r} is not supported; use cpu or cuda"]
    return []


@dataclass
class ObjectiveConfig:
    """Weights of the local objective J = λ_Y I(T;Y) + λ_X I(T;X) + λ_XY I(T;X,Y) − β I(T;T_prev) + λ_G I(T;S)
    + λ_V I(T;T')."""

    lambda_y: float = 1.0  # decoder-like term: information about the labels
    lambda_x: float = 0.0  # encoder-like term: information about the input (label-free)
    lambda_xy: float = 0.0  # multivariate term I(T; X, Y)
    beta: float = 0.0  # information-bottleneck compression of the previous representation
    # label-free, node-level graphs: Deep Graph Infomax's I(T_i; S) between every node (labelled or not) and the
    # graph's summary, the module run on a row-shuffled graph giving the negatives (mole.estimators.graph_infomax)
    lambda_graph: float = 0.0
    graph_critic: str = "fixed"  # the bilinear critic of I(T;S): a fixed random draw, or learned (DGI's choice)
    # label-free, signals and images: MI between the outputs on two augmentations of each sample (needs --augment)
    lambda_view: float = 0.0
    # how I(T;T') is measured: "instance" (the run's estimator against each row's sample identity; InfoNCE: NT-Xent)
    # or "clusters" (IIC: the exact MI of the two views' soft assignments to n_classes clusters)
    view_term: str = "instance"
    # few labels: each module's own classifier labels the unlabelled samples it predicts with at least this
    # confidence, and its terms with Y read them too (FixMatch; mole.objectives.pseudo_labels). The head does the
    # same with its own logits, at the last hidden module's threshold. 0: off
    pseudo_labels: float = 0.0
    reduce: str = "flatten"  # module outputs -> rows for the kernel: flatten, gap, tokens, last (sequences), project
    project_dim: int = 1024  # output size of reduce="project"


@dataclass
class EstimatorConfig:
    """An estimator by registered name, with its constructor options (see its docstring)."""

    name: str = "renyi"
    options: dict = field(default_factory=dict)  # e.g. {"alpha": 1.01, "sigma": "median"}


@dataclass
class TrainConfig:
    """How every stage of a run trains: budget, optimizer, schedule, MI estimator and objective, augmentation,
    device, checkpoints. Field comments below give each one's meaning; :meth:`validate` checks them all at once.

    Example:
        .. code-block:: python

            config = mole.TrainConfig(epochs=20, batch_size=128, lr=5e-4, estimator="infonce",
                                      objective=mole.ObjectiveConfig(lambda_y=1.0, lambda_x=0.1),
                                      schedule="simultaneous", patience=3)
            result = mole.fit(net, X, y, config=config)
    """

    epochs: int = 30  # epochs per module (MOLE) and for the whole network (backprop); with patience: the most
    # a convergence budget (mole.convergence): a stage stops once its local loss on a held-out slice of the training
    # data has not improved for this many checks (every rule and backprop alike). 0: every stage trains `epochs`
    patience: int = 0
    # with patience: held-out checks per epoch (0: auto, one per ~100 steps and at least one per epoch, at its end);
    # a stage may stop at any of them, mid-epoch too (sequential schedule and backprop)
    checks_per_epoch: int = 0
    # with patience: what a check measures on the held-out data, "loss" (the stage's own local loss) or "probe" (the
    # error of a ridge probe of its outputs, mole.ridge_probe: how linearly decodable the labels are)
    converge_on: str = "loss"
    holdout: float = 0.1  # with patience: the fraction of each class's training samples held out to measure it on
    min_delta: float = 1e-3  # with patience: the relative improvement of the held-out loss that counts (τ)
    batch_size: int = 256  # samples per step; also the n of every Gram matrix
    lr: float = 1e-3  # learning rate of every stage (each module, each rule, the backprop baseline)
    weight_decay: float = 0.0
    optimizer: str = "adam"  # adam, adamw or sgd; one per stage (see mole.optim)
    momentum: float = 0.9  # sgd only
    lr_schedule: str = "constant"  # constant, cosine or step, over each stage's epochs
    schedule: str = "sequential"  # sequential, simultaneous or async
    # async: worker processes, each owning a contiguous group of modules; "auto" (`mole run`'s default): as many as
    # the cost model predicts train soonest, start-up included (one: no pipeline, the stages in the training process)
    workers: Union[int, str] = 2
    worker_timeout: float = 60.0  # async: seconds without progress before a worker counts as hung
    # async: how each module's step is costed to balance the workers: a counted cost model (deterministic: the
    # same command splits the same way on any machine and load) or timed on this machine (mole.schedules.costs)
    balance: str = "model"
    stagger: int = 0  # async: 0, or the epochs module k-1 trains before module k starts (a staggered pipeline)
    estimator: EstimatorConfig = field(default_factory=EstimatorConfig)  # or its name: its default options
    # one ObjectiveConfig for every hidden module, or a list with one per hidden module
    objective: Union[ObjectiveConfig, list] = field(default_factory=ObjectiveConfig)
    # options of the other rules, by rule name, e.g. {"predsim": {"beta": 0.99}} (see mole.rules)
    rule_options: dict = field(default_factory=dict)
    augment: str = "none"  # training-batch augmentation, every method alike: none, shift (signals, images), crop-flip (images)
    augment_pixels: Optional[int] = None  # largest shift / crop padding in pixels (None: 2 for shift, 4 for crop-flip)
    # a batch of several views (views, pseudo-labels): the first view's augmentation, FixMatch's weak one that
    # pseudo-labels guess from: same (as augment), none (unperturbed), shift, crop-flip or affine
    weak_augment: str = "same"
    weak_augment_pixels: Optional[int] = None  # its largest shift / crop padding / translation (None: its default)
    seed: int = 0  # batch order, augmentation, dropout and any parametric critic's initialization
    device: str = "cpu"  # cpu, cuda, cuda:N, or auto (cuda if this machine has it, else cpu)
    precision: str = "32"  # 32, bf16 or 16: module forward/backward under autocast; estimators stay in float32
    cache: str = "auto"  # sequential: how frozen outputs are held: auto, memory, disk (memory-mapped), recompute
    cache_limit_mb: Optional[float] = None  # the in-memory budget of cache="auto" (None: RAM/8, at most 3 GiB)
    cache_dir: Optional[str] = None  # folder of the disk cache (None: a temporary folder)
    keep_cache: bool = False  # leave the disk cache's files in cache_dir after training
    # seconds of training between checkpoints, written at the first epoch end after it (and after every finished
    # stage); 0: after every epoch. A hard kill loses at most this much and the epoch it interrupted.
    checkpoint_every: float = 30.0

    def __post_init__(self):
        if isinstance(self.estimator, str):  # TrainConfig(estimator="infonce"): the estimator with its defaults
            self.estimator = EstimatorConfig(self.estimator)

    def validate(self) -> "TrainConfig":
        problems = []
        if not _int(self.epochs) or not 1 <= self.epochs <= MAX_EPOCHS:
            problems.append(f"epochs must be an integer in 1..{MAX_EPOCHS}; got {self.epochs!r}")
        if not _int(self.patience) or not 0 <= self.patience <= MAX_EPOCHS:
            problems.append(f"patience must be an integer >= 0 (checks without improvement; 0: a fixed budget); got "
                            f"{self.patience!r}")
        elif self.patience and self.schedule == "async":
            problems.append("patience (a convergence budget) needs schedule sequential or simultaneous: the "
                            "asynchronous pipeline trains a fixed number of epochs; drop --patience or change --schedule")
        if not _int(self.checks_per_epoch) or not 0 <= self.checks_per_epoch <= MAX_CHECKS:
            problems.append(f"checks_per_epoch must be an integer in 0..{MAX_CHECKS} (0: one per ~100 steps); got "
                            f"{self.checks_per_epoch!r}")
        if self.converge_on not in CONVERGENCE_CRITERIA:
            problems.append(f"converge_on must be one of {', '.join(CONVERGENCE_CRITERIA)}; got {self.converge_on!r}")
        if not (_number(self.holdout) and 0 < self.holdout < 1):
            problems.append(f"holdout must be a fraction in (0, 1) of the training samples; got {self.holdout!r}")
        if not (_number(self.min_delta) and 0 <= self.min_delta < 1):
            problems.append(f"min_delta must be a relative improvement in [0, 1); got {self.min_delta!r}")
        if not _int(self.batch_size) or not 2 <= self.batch_size < 2 ** 31:
            problems.append(f"batch_size must be an integer in 2..2**31-1 (MI needs pairs of samples); got "
                            f"{self.batch_size!r}")
        if not _int(self.seed) or not 0 <= self.seed < 2 ** 32:
            problems.append(f"seed must be an integer in 0..2**32-1; got {self.seed!r}")
        if not isinstance(self.estimator, EstimatorConfig):
            problems.append(f"estimator must be an estimator's name or an EstimatorConfig; got {self.estimator!r}")
        if self.workers != "auto" and (not _int(self.workers) or self.workers < 1):
            problems.append(f"workers must be an integer >= 1 or 'auto'; got {self.workers!r}")
        if not (_number(self.worker_timeout) and 0 < self.worker_timeout <= MAX_TIMEOUT):
            problems.append(f"worker_timeout must be a number of seconds in (0, {MAX_TIMEOUT:g}]; got "
                            f"{self.worker_timeout!r}")
        problems += _device_problems(self.device)
        if not (isinstance(self.stagger, int) and not isinstance(self.stagger, bool) and self.stagger >= 0):
            problems.append(f"stagger must be an integer >= 0 (epochs); got {self.stagger!r}")
        elif self.stagger and self.schedule != "async":
            problems.append(f"stagger staggers the asynchronous pipeline; got schedule={self.schedule!r}: add "
                            "--schedule async or drop --stagger")
        if not (_number(self.checkpoint_every) and self.checkpoint_every >= 0):
            problems.append(f"checkpoint_every must be a number of seconds >= 0 (0: after every epoch); got "
                            f"{self.checkpoint_every!r}")
        if self.cache_limit_mb is not None and not (_number(self.cache_limit_mb) and self.cache_limit_mb >= 0):
            problems.append(f"cache_limit_mb must be a number >= 0; got {self.cache_limit_mb!r}")
        objectives = self.objective if isinstance(self.objective, list) else [self.objective]
        for o in objectives:
            if not isinstance(o, ObjectiveConfig):
                problems.append(f"objective must be an ObjectiveConfig or a list of them; got {type(o).__name__}")
            elif o.view_term not in VIEW_TERMS:
                problems.append(f"objective view_term must be one of {', '.join(VIEW_TERMS)}; got {o.view_term!r}")
            elif o.graph_critic not in GRAPH_CRITICS:
                problems.append(f"objective graph_critic must be one of {', '.join(GRAPH_CRITICS)}; got {o.graph_critic!r}")
            elif not (_int(o.project_dim) and 1 <= o.project_dim <= MAX_WIDTH):
                problems.append(f"objective project_dim must be an integer in 1..{MAX_WIDTH}; got {o.project_dim!r}")
            elif not (_number(o.pseudo_labels) and 0 <= o.pseudo_labels <= 1):
                problems.append(f"objective pseudo_labels is a confidence threshold in [0, 1] (0: off; 0.95 is "
                                f"FixMatch's); got {o.pseudo_labels!r}")
            else:
                weights = {"lambda_y": o.lambda_y, "lambda_x": o.lambda_x, "lambda_xy": o.lambda_xy, "beta": o.beta,
                           "lambda_graph": o.lambda_graph, "lambda_view": o.lambda_view}
                bad = [f"{k}={v!r}" for k, v in weights.items() if not (_number(v) and v >= 0)]
                if bad:
                    problems.append(f"objective weights must be finite numbers >= 0 (beta subtracts by itself); "
                                    f"got {', '.join(bad)}")
                elif not (o.lambda_y or o.lambda_x or o.lambda_xy or o.lambda_graph or o.lambda_view):
                    problems.append("the objective has no term to maximize (lambda_y, lambda_x, lambda_xy, "
                                    "lambda_graph and lambda_view are all 0); set --lambda-y 1 (labels) or "
                                    "--lambda-x 1 (input)")
        if not isinstance(self.rule_options, dict):
            problems.append(f"rule_options must be a dict of rule name -> options; got "
                            f"{type(self.rule_options).__name__}")
        raise_all(problems)
        return self

    def to_dict(self) -> dict:
        return asdict(self)
