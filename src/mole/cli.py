"""The ``mole`` command line: a thin face over :mod:`mole.experiment`.

    mole run                      # digits, MLP, MOLE next to backprop
    mole run --dataset wine --epochs 10 --methods mole
    mole plot runs/<run>          # redraw a finished run's figures from its results.json
    mole predict runs/<run> --data new.csv   # the run's saved network on new raw inputs
"""
from __future__ import annotations

import argparse
import logging
import sys
import traceback
from pathlib import Path

from .adapters.augment import AUGMENTATIONS, WEAK_AUGMENTATIONS
from .config import CONVERGENCE_CRITERIA, GRAPH_CRITICS, VIEW_TERMS, EstimatorConfig, ObjectiveConfig, TrainConfig
from .data import DATASETS
from .distributed.launcher import WorkerFailure
from .crash import one_line, write_crash_report
from .errors import ConfigError, CrashError, MoleError, RunFinished, UserCodeError
from .estimators import ESTIMATORS
from .estimators.kernels import LABEL_KERNELS, NORMALIZATIONS, WIDTH_RULES
from .estimators.renyi import CONDITIONALS
from .models import MODELS
from .objectives.reduce import REDUCTIONS
from .optim import LR_SCHEDULES, OPTIMIZERS
from .rules import RULES
from .schedules import SCHEDULES
from .schedules.base import CACHE_MODES
from .schedules.costs import BALANCES
from .stage import PRECISIONS
from .validation import MAX_WIDTH


def _ints(text: str) -> tuple:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 256,128; got {text!r}") from None
    if not values or min(values) < 1 or max(values) > MAX_WIDTH:
        raise argparse.ArgumentTypeError(f"expected positive widths up to {MAX_WIDTH} like 256,128; got {text!r}")
    return values


def _names(text: str) -> tuple:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated submodule names like layer1,layer2; got {text!r}")
    return names


def _sigma(text: str):
    if text in WIDTH_RULES:
        return text
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number or one of {', '.join(WIDTH_RULES)}; "
                                         f"got {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"sigma must be a positive finite number; got {text}")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line, ``mole: error: ...`` (the fix: ``mole run --help``), exit code 2."""

    def error(self, message):
        self.exit(2, f"mole: error: {message} (see `{self.prog} --help`)\n")


class _Help(argparse.ArgumentDefaultsHelpFormatter):
    """Shows defaults, except for options whose default is 'unset' (None)."""

    def _get_help_string(self, action):
        return action.help if action.default is None else super()._get_help_string(action)


def build_parser() -> argparse.ArgumentParser:
    """The ``mole`` parser with its sub-commands ``run``, ``predict``, ``compare`` and ``plot``."""
    parser = _Parser(prog="mole", description="Train neural networks module by module by "
                                     "mutual-information maximization (MOLE), next to other layer-local rules "
                                     "and end-to-end backprop.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="train MOLE, other local rules and/or backprop on a dataset; write a run folder",
                         formatter_class=_Help)
    run.add_argument("--config", default=None, metavar="FILE", help="a TOML file of these flags (keys without "
                     "--), or a run folder's config.json (re-runs that run); flags given here override it")
    g = run.add_argument_group("data and model")
    g.add_argument("--dataset", default="digits", help=f"dataset name ({', '.join(DATASETS)}), sbm-N (a synthetic "
                   "graph of N nodes in 10 planted communities), a .npz (X, y) / .csv (label last) file, or a folder "
                   "of images with one subfolder per class (ImageFolder's layout; DIR/train + DIR/test, else 20 %% "
                   "held out)")
    g.add_argument("--image-size", type=int, default=None, metavar="N", help="a folder of images: resize every "
                   "image to N x N (default: as stored)")
    g.add_argument("--loader-workers", type=int, default=0, help="a folder of images: DataLoader worker processes "
                   "reading the images ahead of training")
    g.add_argument("--data-root", default=None, help="folder holding dataset files (e.g. MNIST/raw/); "
                   "default: $MOLE_DATA, else ~/.cache/mole/data")
    g.add_argument("--download", action="store_true", help="download missing dataset files (needs internet)")
    g.add_argument("--model", default=None, help=f"model: {', '.join(MODELS)} (default: the dataset's: mlp for "
                   "vectors and digits, cnn for signals and images, gcn for node-level and gin for graph-level graphs), "
                   "or your own model's factory, pkg.module:function or path/to/file.py:function (called with "
                   "num_classes / n_classes / input_shape, as it takes them)")
    g.add_argument("--cuts", type=_names, default=None, metavar="NAME,NAME", help="cut the model into modules after "
                   "these submodules (any nn.Module, traced with torch.fx; e.g. layer1,layer2,layer3,layer4 for a "
                   "torchvision ResNet); the part after the last cut is the head. Default: one module per layer of "
                   "an nn.Sequential")
    g.add_argument("--hidden", type=_ints, default=None, help="MLP/GNN hidden widths, one module each "
                   "(default: the dataset's, else 256,128)")
    g.add_argument("--channels", type=_ints, default=(32, 64), help="CNN conv channels, one module each")
    g.add_argument("--depth", type=int, default=None, help="resnet: depth 6n+2 (20, 32, 56, 110; default 20); "
                   "vgg: number of conv blocks (default 11)")
    g.add_argument("--module-size", type=int, default=1, help="consecutive layers (resnet: residual blocks) per "
                   "module; the head is always a module of its own")
    g.add_argument("--no-batch-norm", action="store_true", help="no BatchNorm after the hidden layers (MLP, CNN)")
    g.add_argument("--dropout", type=float, default=0.5, help="dropout after each GNN hidden layer")
    g.add_argument("--folds", type=int, default=10, help="stratified cross-validation folds for graph collections")
    g.add_argument("--pool", choices=("mean", "sum"), default="mean", help="graph-level read-out")
    g.add_argument("--neighbor-sampling", nargs="?", const="on", default="auto", choices=("auto", "on", "off"),
                   help="node-level graphs: train on batches of target nodes with sampled neighbourhoods (on; the flag "
                   "alone), on the whole graph every step (off), or sample only when a full-graph step would exceed "
                   "--sampling-budget-mb (auto, default)")
    g.add_argument("--fanout", type=int, default=10, help="sampled training: in-edges kept per node and hop (-1: all)")
    g.add_argument("--sampling-budget-mb", type=float, default=1024.0,
                   help="--neighbor-sampling auto: the largest estimated full-graph step, in MB")
    g = run.add_argument_group("training")
    g.add_argument("--methods", default=None, help="comma-separated training rules, run side by side on the "
                   "same network, initial weights and batches: " + "; ".join(f"{n}: {c.summary}" for n, c in RULES.items()))
    g.add_argument("--rule-option", action="append", default=[], metavar="RULE.KEY=VALUE",
                   help="an option of a rule, e.g. predsim.beta=0.99 or hsic-bottleneck.beta=100 (repeatable)")
    g.add_argument("--epochs", type=_epochs, help="epochs per module (local rules) and for the whole network (bp) "
                   f"(default: the dataset's, else {TrainConfig.epochs}); auto: a convergence budget, each module "
                   f"(and bp) trains until its local loss on held-out training data stops improving (--patience, "
                   f"default: a tenth of the epochs, at least 3 checks), at most the dataset's default epochs")
    g.add_argument("--patience", type=int, default=None, help="a convergence budget: a module stops after this many "
                   "checks without improvement of its local loss on held-out training data; --epochs is then the most "
                   "it trains (0: a fixed budget)")
    g.add_argument("--checks-per-epoch", type=int, default=TrainConfig.checks_per_epoch, help="with a convergence "
                   "budget: held-out checks per epoch, a module may stop at any of them (0: one per ~100 steps, at "
                   "least one per epoch)")
    g.add_argument("--converge-on", choices=CONVERGENCE_CRITERIA, default=TrainConfig.converge_on, help="with a "
                   "convergence budget: what each check measures on the held-out data, the module's own local loss or "
                   "the error of a linear (ridge) probe of its outputs")
    g.add_argument("--min-delta", type=float, default=TrainConfig.min_delta, help="with a convergence budget: the "
                   "relative improvement of the held-out loss that counts as one")
    g.add_argument("--holdout", type=float, default=TrainConfig.holdout, help="with a convergence budget: the "
                   "fraction of each class's training samples held out to measure it on (node-level Planetoid graphs "
                   "use their validation nodes)")
    g.add_argument("--batch-size", type=int, help="mini-batch size: samples, labelled nodes or graphs; the n of each "
                   f"Gram matrix (default: the dataset's, else {TrainConfig.batch_size})")
    g.add_argument("--lr", type=float, help=f"learning rate (default: the dataset's, else {TrainConfig.lr:g})")
    g.add_argument("--weight-decay", type=float, help=f"weight decay (default: the dataset's, else {TrainConfig.weight_decay:g})")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default=TrainConfig.optimizer, help="optimizer of every "
                   "stage (each module and its auxiliary parameters; the whole network under bp)")
    g.add_argument("--momentum", type=float, default=TrainConfig.momentum, help="sgd momentum")
    g.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=TrainConfig.lr_schedule, help="learning rate "
                   "over each stage's epochs: constant, cosine annealing, or x0.1 at 1/2 and 3/4")
    g.add_argument("--schedule", default="sequential", help=f"module schedule: {', '.join(SCHEDULES)}")
    g.add_argument("--workers", type=_workers, default=None, help="async: worker processes, each owning a contiguous "
                   "group of modules (1..number of modules), or auto (the default): as many as the cost model predicts "
                   "train soonest, start-up included; one means no pipeline (the modules train in this process)")
    g.add_argument("--balance", choices=BALANCES, default=TrainConfig.balance, help="async: how each module's step "
                   "is costed to split the modules among workers: model (counted: the same split on any machine and "
                   "load) or timed (measured on this machine at start-up)")
    g.add_argument("--stagger", type=int, default=TrainConfig.stagger, metavar="EPOCHS", help="async: module k starts "
                   "once module k-1 has trained this many epochs, then trains on its fresh outputs (0: all at once)")
    g.add_argument("--worker-timeout", type=float, default=TrainConfig.worker_timeout, help="async: seconds without progress before a "
                   "worker counts as hung and the run stops")
    g.add_argument("--augment", choices=AUGMENTATIONS, default=None, help="training-batch augmentation for every "
                   "method: random shifts (signals, images), random crop + horizontal flip (natural images) or a random "
                   "rotation, scaling and translation (affine; images); graph collections: GraphCL's feature masking and edge "
                   "dropping at 20 %% (mask)")
    g.add_argument("--augment-pixels", type=int, default=None, help="largest shift / crop padding / translation in pixels "
                   "(default: 2 for shift, 4 for crop-flip, 3 for affine)")
    g.add_argument("--weak-augment", choices=WEAK_AUGMENTATIONS, default=None, help="a batch of "
                   "several views (--lambda-view, --pseudo-labels): the first view's augmentation, FixMatch's weak one "
                   "that pseudo-labels are guessed on (the other views keep --augment): same, none or a lighter one")
    g.add_argument("--weak-augment-pixels", type=int, default=None, help="largest shift / crop padding / translation "
                   "of --weak-augment in pixels (default as for --augment-pixels)")
    g.add_argument("--cache", choices=CACHE_MODES, default=TrainConfig.cache, help="sequential: hold frozen "
                   "outputs in memory, in a memory-mapped file in the run folder (disk), not at all (recompute: the "
                   "frozen modules run on every batch), or auto: memory within --cache-limit-mb, else disk")
    g.add_argument("--cache-limit-mb", type=float, default=None, help="in-memory budget of --cache auto "
                   "(default: an eighth of the RAM, at most 3 GiB)")
    g.add_argument("--keep-cache", action="store_true", help="keep the disk cache's files in the run folder")
    g.add_argument("--checkpoint-every", type=float, default=TrainConfig.checkpoint_every, metavar="SECONDS",
                   help="seconds of training between checkpoints, written at the next epoch end and after every "
                   "module (0: after every epoch; a hard kill loses at most this much and one epoch)")
    g.add_argument("--labels", default=None, metavar="N|P%", help="label budget: keep N labels per class (e.g. 10) or "
                   "P%% of each class (e.g. 10%%), a stratified subset drawn from --seed; the other training samples "
                   "stay unlabelled (MOLE's label-free terms learn from them; backprop and the other rules train on "
                   "the labelled ones). Default: every label")
    g.add_argument("--seed", type=int, default=0, help="seed of the split, initialization, batch order and augmentation")
    g.add_argument("--seeds", type=_seeds, default=None, help="several seeds, e.g. 0,1,2 or 0-4: every method once "
                   "per seed, into --out/seed-<s>/, then the mean ± std per method (overrides --seed)")
    g.add_argument("--device", default=TrainConfig.device, help="torch device: cpu, cuda, cuda:N, or auto (cuda "
                   "where available)")
    g.add_argument("--precision", choices=PRECISIONS, default=TrainConfig.precision, help="module forward/backward "
                   "in float32, or under autocast in bfloat16 / float16 (with loss scaling); the MI estimators "
                   "always compute in float32")
    g = run.add_argument_group("local objective J = λY·I(T;Y) + λX·I(T;X) − β·I(T;T_prev) + λG·I(T;S) + λV·I(T;T')")
    g.add_argument("--lambda-y", type=float, default=1.0, help="weight of I(T;Y)")
    g.add_argument("--lambda-x", type=float, default=0.0, help="weight of I(T;X)")
    g.add_argument("--beta", type=float, default=0.0, help="weight of the bottleneck term I(T;T_prev)")
    g.add_argument("--lambda-graph", type=float, default=None, help="node-level graphs: weight of Deep Graph "
                   "Infomax's label-free I(T;S) over every node (the module on a row-shuffled graph gives the "
                   "negatives) (default: the dataset's, else 0)")
    g.add_argument("--lambda-view", type=float, default=None, help="signals and images: weight of the label-free "
                   "I(T;T') between the outputs on two augmentations of each sample (needs --augment; with "
                   "--estimator infonce, SimCLR's contrastive loss per module)")
    g.add_argument("--view-term", choices=VIEW_TERMS, default=None, help="how I(T;T') is measured: the run's "
                   "estimator against each row's sample identity (instance), or the exact MI of the two views' "
                   "soft assignments to as many clusters as classes (clusters: Invariant Information Clustering)")
    g.add_argument("--pseudo-labels", type=float, default=None, metavar="TAU", help="few labels (--labels): each "
                   "module's own classifier, and the head, label the unlabelled samples they predict with at "
                   "least this confidence, and learn from them on the other view (FixMatch; 0.95 is its choice); "
                   "0: off")
    g.add_argument("--graph-critic", choices=GRAPH_CRITICS, default="fixed", help="the bilinear critic of I(T;S): "
                   "a fixed random draw (default; trained the best Cora networks) or learned with the module (DGI's)")
    g.add_argument("--reduce", choices=REDUCTIONS, default="flatten", help="feature maps -> rows for the MI "
                   "estimator: all values, global average pooling, or a fixed random projection")
    g.add_argument("--project-dim", type=int, default=1024, help="output size of --reduce project")
    g = run.add_argument_group("estimator (options left unset take the estimator's defaults)")
    g.add_argument("--estimator", default=None, help=f"MI estimator: {', '.join(ESTIMATORS)} (default: the "
                   "dataset's, else renyi)")
    g.add_argument("--alpha", type=float, help="renyi: order α (default 1.01; 2 is the fast closed form with no eigendecomposition)")
    g.add_argument("--sigma", type=_sigma, help=f"renyi/hsic: kernel width, a number or {', '.join(WIDTH_RULES)} "
                   "(default median)")
    g.add_argument("--normalize", choices=NORMALIZATIONS, help="renyi/hsic: feature normalization before the kernel "
                   "(default standard)")
    g.add_argument("--label-kernel", choices=LABEL_KERNELS, help="renyi/hsic: kernel on the labels (default delta)")
    g.add_argument("--conditional", choices=CONDITIONALS, help="renyi: I(T;Y) from the joint entropy S(T,Y) or from "
                   "the class-averaged conditional entropy (equal at α = 1; default joint)")
    g.add_argument("--temperature", type=float, help="infonce/jsd: critic temperature τ (default 0.1)")
    g.add_argument("--critic-dim", type=int, help="infonce/jsd: critic projection dimension, 0 for none (default 64)")
    g.add_argument("--critic-hidden", type=int, help="infonce/jsd: hidden width of the critic projection, 0 for a "
                   "linear one (default: infonce 0, jsd 64)")
    g.add_argument("--renyi-project", type=int, help="renyi: width of a learned linear projection g of T before "
                   "its Gram matrix, I(g(T);Y) <= I(T;Y); 0 for none (default 0)")
    g = run.add_argument_group("output")
    g.add_argument("--out", default=None, help="run folder (default: runs/<time>-<dataset>-<model>)")
    g.add_argument("--resume", action="store_true", help="continue the interrupted run in --out from its checkpoint")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    g.add_argument("-v", "--verbose", action="store_true", help="log every epoch; show the traceback of a crash")
    g = run.add_argument_group("what each layer learned (information plane, linear probes, t-SNE)")
    g.add_argument("--no-plots", action="store_true", help="skip the t-SNE embedding and the PNG figures")
    g.add_argument("--monitor-every", type=int, default=None, help="epochs between information-plane "
                   "measurements, 0 = off (default: epochs // 10)")
    g.add_argument("--monitor-samples", type=int, default=256, help="training samples the information plane "
                   "is measured on")
    g.add_argument("--tsne-samples", type=int, default=300, help="samples in each t-SNE panel")
    g.add_argument("--no-probes", action="store_true", help="skip the linear probes of every layer")
    g.add_argument("--probe-samples", type=int, default=5000, help="training samples each linear probe is fitted on")
    g.add_argument("--max-modules", type=int, default=12, help="deeper networks: probes and t-SNE panels for this "
                   "many evenly spaced modules")
    g.add_argument("--accuracy-every", type=int, default=1, help="epochs (of the last module, or of backprop) "
                   "between test-accuracy points in metrics.csv and curves.png; 0 = off")
    g.add_argument("--tensorboard", action="store_true", help="also log every metric to TensorBoard "
                   "(RUN_DIR/tensorboard/, with each layer's embedding for the projector); needs "
                   "`pip install mole-mi[tensorboard]`")
    pred = sub.add_parser("predict", help="predict with a run's saved network for the rows of a .csv/.npz file",
                          formatter_class=_Help)
    pred.add_argument("run_dir", help="the run folder (holds model-<method>.pt)")
    pred.add_argument("--data", required=True, help=".npz (X, optional y) or .csv (header row, the model's features, "
                      "optional label last) of raw inputs, preprocessed as the run's training data was")
    pred.add_argument("--method", default=None, help="whose network (default: mole, or the only one saved)")
    pred.add_argument("--out", default=None, help="CSV of predictions (default: RUN_DIR/predictions-<method>.csv)")
    pred.add_argument("--model", default=None, metavar="FACTORY", help="a run whose network your own factory built: "
                      "that factory again, pkg.module:function or path/to/file.py:function (a run folder's record of "
                      "it is never imported: reading a run runs no code)")
    comp = sub.add_parser("compare", help="aggregate run folders (one dataset and model) into a table and a figure",
                          formatter_class=_Help)
    comp.add_argument("run_dirs", nargs="+", help="run folders, or folders holding run folders (e.g. a --seeds run)")
    comp.add_argument("--out", default=None, help="where compare.md and compare.png go (default: the first folder)")
    plot = sub.add_parser("plot", help="redraw the figures of a finished run from its results.json",
                          formatter_class=_Help)
    plot.add_argument("run_dir", help="the run folder (holds results.json)")
    for command in (pred, comp, plot):
        command.add_argument("-v", "--verbose", action="store_true", help="show the traceback of a crash")
    parser.run_parser = run  # --config files are read against run's flags
    return parser


ESTIMATOR_FLAGS = {"alpha": "alpha", "sigma": "sigma", "normalize": "normalize", "label_kernel": "label_kernel",
                   "conditional": "conditional",
                   "temperature": "temperature", "critic_dim": "dim", "critic_hidden": "hidden",
                   "renyi_project": "project"}


def estimator_options(args) -> dict:
    """The estimator options the user set; a flag the chosen estimator does not take is an error."""
    options = {opt: getattr(args, flag) for flag, opt in ESTIMATOR_FLAGS.items() if getattr(args, flag) is not None}
    cls = ESTIMATORS.get(args.estimator)
    if cls is not None:
        import inspect
        valid = inspect.signature(cls.__init__).parameters
        wrong = [f"--{flag.replace('_', '-')}" for flag, opt in ESTIMATOR_FLAGS.items()
                 if opt in options and opt not in valid]
        if wrong:
            chosen = "" if getattr(args, "estimator_given", True) else f" ({args.dataset}'s default)"
            raise ConfigError(f"estimator {args.estimator!r}{chosen} takes no {', '.join(wrong)}; drop the flag or "
                              "choose an estimator that uses it (--estimator renyi takes every kernel option)")
    return options


TRAIN_FALLBACKS = ("epochs", "batch_size", "lr", "weight_decay")  # the dataset's default, else TrainConfig's


def _count_or_auto(what: str):
    """An argparse type: a whole number of ``what``, or ``auto``."""
    def parse(text: str):
        if text.strip().lower() == "auto":
            return "auto"
        try:
            return int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number of {what} or auto; got {text!r}") from None
    return parse


_epochs = _count_or_auto("epochs")  # --epochs: a count, or auto (a convergence budget)
_workers = _count_or_auto("workers")  # --workers: a count, or auto (the cost model picks)


def _literal(text: str):
    """A flag value as a Python literal (number, bool, None) where it parses as one, else the string."""
    import ast
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def rule_options(pairs: list) -> dict:
    """``["predsim.beta=0.9", ...]`` -> ``{"predsim": {"beta": 0.9}}``; a malformed pair is a ConfigError."""
    options: dict = {}
    for pair in pairs:
        name, _, rest = pair.partition(".")
        key, eq, value = rest.partition("=")
        if not (name and key and eq):
            raise ConfigError(f"--rule-option expects RULE.KEY=VALUE, e.g. predsim.beta=0.9; got {pair!r}")
        options.setdefault(name, {})[key.replace("-", "_")] = _literal(value)
    return options


def _config(args):
    from .data import FEW_LABELS, dataset_defaults, few_label_kind
    from .experiment import AnalysisConfig, ExperimentConfig, make_train_config
    defaults = dataset_defaults(args.dataset, few_labels=args.labels is not None)
    few = {} if args.labels is None else {k: v for k, v in FEW_LABELS[few_label_kind(args.dataset)].items()
                                          if getattr(args, k) is None}  # the few-label settings no flag overrides

    def given(name: str, fallback):
        """The flag's value, else the dataset's (few-label) default, else ``fallback``."""
        value = getattr(args, name)
        return value if value is not None else defaults.get(name, fallback)
    if args.workers is not None and args.schedule != "async":
        raise ConfigError(f"--workers applies to --schedule async, not {args.schedule!r}; add --schedule async "
                          "or drop --workers")
    train_args = {k: getattr(args, k) if getattr(args, k) not in (None, "auto") else defaults.get(k, getattr(TrainConfig, k))
                  for k in TRAIN_FALLBACKS}
    from .convergence import patience_for
    if args.epochs == "auto" and args.patience == 0:
        raise ConfigError("--epochs auto asks for a convergence budget but --patience 0 for a fixed one; drop "
                          "--patience 0, or pass --epochs N for a fixed budget")
    patience = (args.patience if args.patience is not None else patience_for(train_args["epochs"])
                if args.epochs == "auto" else 0)
    args.estimator_given = args.estimator is not None
    if args.estimator is None:
        args.estimator = defaults.get("estimator", EstimatorConfig.name)
    # the dataset's estimator comes with its options (DEFAULTS' estimator_options); flags override them
    default_options = {} if args.estimator_given else defaults.get("estimator_options", {})
    train = make_train_config(
        **train_args, optimizer=args.optimizer, momentum=args.momentum, lr_schedule=args.lr_schedule,
        patience=patience, checks_per_epoch=args.checks_per_epoch, converge_on=args.converge_on, holdout=args.holdout,
        min_delta=args.min_delta,
        rule_options=rule_options(args.rule_option), cache=args.cache, cache_limit_mb=args.cache_limit_mb,
        keep_cache=args.keep_cache, checkpoint_every=args.checkpoint_every, precision=args.precision,
        schedule=args.schedule, workers="auto" if args.workers is None else args.workers,
        worker_timeout=args.worker_timeout, balance=args.balance, stagger=args.stagger,
        augment=given("augment", TrainConfig.augment), augment_pixels=args.augment_pixels,
        weak_augment=given("weak_augment", TrainConfig.weak_augment),
        weak_augment_pixels=given("weak_augment_pixels", TrainConfig.weak_augment_pixels),
        device=args.device,
        estimator=args.estimator,
        estimator_options={**default_options, **estimator_options(args)},
        objective=ObjectiveConfig(lambda_y=args.lambda_y, lambda_x=args.lambda_x, beta=args.beta,
                                  lambda_graph=defaults.get("lambda_graph", 0.0) if args.lambda_graph is None
                                  else args.lambda_graph, graph_critic=args.graph_critic,
                                  lambda_view=given("lambda_view", ObjectiveConfig.lambda_view),
                                  view_term=given("view_term", ObjectiveConfig.view_term),
                                  pseudo_labels=given("pseudo_labels", ObjectiveConfig.pseudo_labels),
                                  reduce=args.reduce, project_dim=args.project_dim))
    return ExperimentConfig(dataset=args.dataset, model=args.model, seed=args.seed,
                            methods=None if args.methods is None else tuple(
                                m.strip() for m in args.methods.split(",") if m.strip()),
                            hidden=args.hidden, channels=args.channels, depth=args.depth,
                            module_size=args.module_size, batch_norm=not args.no_batch_norm, train=train,
                            cuts=args.cuts, image_size=args.image_size, loader_workers=args.loader_workers,
                            dropout=args.dropout, folds=args.folds, pool=args.pool, labels=args.labels,
                            few_label_defaults=few,
                            neighbor_sampling=args.neighbor_sampling, fanout=args.fanout,
                            sampling_budget_mb=args.sampling_budget_mb,
                            data_root=args.data_root, download=args.download, out=args.out, resume=args.resume,
                            analysis=AnalysisConfig(monitor_every=args.monitor_every,
                                                    monitor_samples=args.monitor_samples,
                                                    plots=not args.no_plots, tsne_samples=args.tsne_samples,
                                                    probes=not args.no_probes, probe_samples=args.probe_samples,
                                                    max_modules=args.max_modules, accuracy_every=args.accuracy_every,
                                                    tensorboard=args.tensorboard))


def format_table(results: dict) -> str:
    """The table ``mole run`` prints: one row per method of a results dict (accuracy, seconds, throughput, memory)."""
    rows = [("method", "test acc", "epochs", "train s", "samples/s", "peak MB", "modules")]
    for r in results["runs"]:
        notes = [r["signal"]] if r.get("signal") else []  # what trains MOLE's modules, e.g. infonce
        if r.get("schedule", "sequential") != "sequential":
            auto = r.get("schedule_info", {}).get("auto")
            if auto:  # --workers auto: what the cost model predicted beside what was measured (samples/s)
                chosen = auto["candidates"][str(auto["chosen"])]
                notes.append(f"{r['schedule']}, auto: {auto['chosen']} worker{'s' if auto['chosen'] > 1 else ''}, "
                             f"predicted {chosen['samples_per_second']:.0f} samples/s")
            else:
                notes.append(r["schedule"] + (f", {r['workers']} workers" if r.get("workers") else ""))
        name = r["method"] + (f" ({', '.join(notes)})" if notes else "")
        epochs = str(r.get("epochs", ""))
        if r.get("module_epochs") and r.get("patience"):  # a convergence budget: the epochs each stage trained
            epochs = "/".join(map(str, r["module_epochs"])) + f" (≤{r['epochs']})"
        rows.append((name, f"{100 * r['test_accuracy']:.2f} %", epochs, f"{r['train_seconds']:.1f}",
                     f"{r.get('samples_per_second', 0):.0f}", f"{r['peak_memory_mb']:.2f}", str(len(r["modules"]))))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def format_probes(results: dict) -> str:
    """Linear-probe test accuracy per layer and method; empty if no probes were run."""
    runs = [r for r in results["runs"] if r.get("input_probe_accuracy") is not None]
    if not runs:
        return ""
    n = max(len(r["modules"]) for r in runs)
    rows = [("probe acc", "input", *[f"module {k + 1}" for k in range(n)])]
    for r in runs:
        accs = [r["input_probe_accuracy"]] + [m.get("probe_accuracy") for m in r["modules"]]
        rows.append((r["method"], *[f"{100 * a:.2f} %" if a is not None else "-" for a in accs]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows)


TIMED = (("train", "training"), ("information_plane", "information plane"), ("accuracy", "accuracy per epoch"),
         ("probes", "probes"), ("tsne", "t-SNE"))


def format_timings(results: dict) -> str:
    """One line: seconds per part over all methods, and the analysis' share of the run's wall time."""
    seconds = {key: sum(r.get("timings", {}).get(key, 0.0) for r in results["runs"]) for key, _ in TIMED}
    figures, wall = results.get("figures_seconds", 0.0), results.get("wall_seconds", 0.0)
    analysis = sum(seconds[key] for key, _ in TIMED[1:]) + figures
    parts = [f"{name} {seconds[key]:.1f} s" for key, name in TIMED] + [f"figures {figures:.1f} s"]
    share = f"analysis {100 * analysis / wall:.0f} % of {wall:.1f} s wall" if wall > 0 else f"analysis {analysis:.1f} s"
    return f"time: {', '.join(parts)} ({share})"


def cmd_plot(args) -> int:
    """``mole plot RUN_DIR``: redraw a finished run's figures from its results.json; the exit status."""
    import json
    from pathlib import Path
    from .plots import FIGURES, draw_run
    path = Path(args.run_dir) / "results.json"
    if not path.is_file():
        raise ConfigError(f"{path} not found; pass the folder of a finished `mole run` (it holds results.json)")
    try:
        results = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path} is not valid JSON ({exc.msg} at line {exc.lineno}); the run may have been cut "
                          "short: rerun it") from None
    if not isinstance(results, dict) or not isinstance(results.get("runs"), list):
        raise ConfigError(f"{path} is not a mole results file (no 'runs' list); pass a `mole run` folder")
    try:
        written = draw_run(results, args.run_dir)
    except (KeyError, TypeError, ValueError, IndexError) as exc:  # a results.json cut short or edited by hand
        raise ConfigError(f"{path} lacks what the figures need ({type(exc).__name__}: {exc}); it was not written "
                          "by a finished `mole run`: rerun it") from None
    for p in written:
        print(f"wrote {p}")
    for name in FIGURES:
        if name not in {p.name for p in written}:
            print(f"skipped {name}: the run did not record its data (e.g. run with --no-plots)")
    return 0


#: seeds one ``--seeds`` run may list
MAX_SEEDS = 1000


def _seeds(text: str) -> tuple:
    """``0,1,2`` or ``0-4`` (or a mix: ``0-2,7``)."""
    seeds = []
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            low, dash, high = part.partition("-")
            if dash and int(high) - int(low) >= MAX_SEEDS:
                raise argparse.ArgumentTypeError(f"at most {MAX_SEEDS} seeds in one run; got {text!r}")
            seeds += list(range(int(low), int(high) + 1)) if dash else [int(part)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seeds like 0,1,2 or 0-4; got {text!r}") from None
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"expected distinct seeds >= 0 like 0,1,2 or 0-4; got {text!r}")
    return tuple(seeds)


def cmd_run(args, argv: list) -> int:
    """``mole run``: train and evaluate the methods of the parsed ``args`` (``argv``: the command, recorded with the
    run), print the table; the exit status."""
    from .callbacks import LogEpochs, ProgressBar
    from .experiment import run_experiment
    cfg = _config(args)

    def callbacks(method: str):
        cbs = [] if args.quiet else [ProgressBar(desc=method)]
        return cbs + ([LogEpochs()] if args.verbose else [])

    if args.seeds:
        return _run_seeds(args, argv, cfg, callbacks)
    results = run_experiment(cfg, callbacks, argv=["mole", *argv])
    from .distributed import is_primary
    if not is_primary():
        return 0  # under torchrun, rank 0 reports
    _report(results)
    return 0


def _run_seeds(args, argv: list, cfg, callbacks) -> int:
    """Every method once per seed (``--seeds`` overrides ``--seed``), each seed's run folder ``seed-<s>`` inside one
    parent folder; then the aggregate (``mole compare`` on the parent)."""
    import copy
    from .compare import compare_runs
    from .experiment import default_folder, run_experiment
    cfg.validate()  # resolves the model, for the folder's name
    parent = Path(cfg.out) if cfg.out else default_folder(cfg, "-seeds")
    for seed in args.seeds:
        one = copy.deepcopy(cfg)
        one.seed, one.out = seed, str(parent / f"seed-{seed}")
        one.resume = cfg.resume and Path(one.out).exists()  # --resume: the seeds not begun before start afresh
        try:
            results = run_experiment(one, callbacks, argv=["mole", *argv])
        except RunFinished:  # --resume: this seed finished before the interruption
            print(f"seed {seed}: finished earlier, kept")
            continue
        print(f"seed {seed}:")
        print(format_table(results))
    table, figure = compare_runs([parent], parent)
    print(f"\n{len(args.seeds)} seeds, mean ± std over seeds:\n{table}")
    print(f"results: {parent}/seed-*/results.json; comparison: {parent / 'compare.md'}"
          + (f", {figure}" if figure else ""))
    return 0


def _report(results: dict) -> None:
    d = results["data"]
    size = (f"{d['n_graphs']} graphs, {results['runs'][0].get('folds', '?')}-fold CV" if d["kind"] == "graph"
            else f"{d['n_train']} train / {d['n_test']} test")
    if "labels" in results:
        b = results["labels"]
        size += f"; labels: {b['budget']}{'' if b['budget'].endswith('%') else ' per class'}, {b['labelled']} of {b['of']}"
    print(f"{results['dataset']} ({size}), model {results['model']}, seed {results['seed']}")
    if results.get("labels", {}).get("defaults"):
        print("few labels, measured to help on this kind of data (flags override): "
              + " ".join(f"--{k.replace('_', '-')} {v}" for k, v in results["labels"]["defaults"].items()))
    print(format_table(results))
    probes = format_probes(results)
    if probes:
        print("\nlinear-probe test accuracy per layer (logistic regression on each module's output):")
        print(probes)
    print("\n" + format_timings(results))
    print(f"results: {results['run_dir']}/results.json")
    if results.get("figures"):
        print(f"figures: {', '.join(Path(p).name for p in results['figures'])} in {results['run_dir']}")


def cmd_predict(args) -> int:
    """``mole predict RUN_DIR --data FILE``: predictions of a run's saved network, written as CSV; the exit status."""
    from .predict import predict_file
    res = predict_file(args.run_dir, args.data, args.method, args.out, model=args.model)
    acc = f", accuracy {100 * res['accuracy']:.2f} %" if res["accuracy"] is not None else ""
    print(f"{res['method']}: {res['n']} predictions{acc} -> {res['out']}")
    return 0


def _with_config(argv: list, parser: argparse.ArgumentParser) -> list:
    """``mole run --config FILE ...``: the file's flags first, then the command line's (which win)."""
    if not argv or argv[0] != "run":
        return argv
    path = None
    for i, arg in enumerate(argv):
        if arg == "--config" and i + 1 < len(argv):
            path = argv[i + 1]
        elif arg.startswith("--config="):
            path = arg.split("=", 1)[1]
    if path is None:
        return argv
    from .config_files import config_argv, refuse_named_code
    flags = config_argv(path, parser.run_parser)
    refuse_named_code(path, flags, argv[1:])
    return ["run", *flags, *argv[1:]]


def cmd_compare(args) -> int:
    """``mole compare DIR...``: aggregate run folders into compare.md and a figure; the exit status."""
    from .compare import compare_runs
    out = Path(args.out) if args.out else Path(args.run_dirs[0])
    table, figure = compare_runs([Path(p) for p in args.run_dirs], out)
    print(table)
    print(f"\ntable: {out / 'compare.md'}" + (f"; figure: {figure}" if figure else ""))
    return 0


def main(argv: list | None = None) -> int:
    """The ``mole`` command on ``argv`` (default: ``sys.argv[1:]``); returns the exit status: 0 done, 1 a failed
    worker or a bug in mole (one line naming the crash report), 2 bad input (one line), 130 interrupted."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        argv = _with_config(argv, parser)
    except MoleError as exc:
        print(f"mole: error: {exc}", file=sys.stderr)
        return 2
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # usage errors (one line, code 2) and --help (code 0)
        return exc.code if isinstance(exc.code, int) else 2
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return {"plot": cmd_plot, "predict": cmd_predict, "compare": cmd_compare}.get(
            args.command, lambda a: cmd_run(a, argv))(args)
    except RunFinished as exc:  # --resume on a finished run: nothing to do, nothing changed
        print(f"mole: {exc}")
        return 0
    except WorkerFailure as exc:  # not bad input: a process died or hung at run time
        print(f"mole: error: {exc} (details: failure.json in the run folder)", file=sys.stderr)
        return 1
    except CrashError as exc:  # a bug in mole inside a run: its folder holds the crash report
        return _crashed(exc, exc.__cause__ or exc, args)
    except MoleError as exc:
        if isinstance(exc, UserCodeError) and exc.__cause__ is not None and getattr(args, "verbose", False):
            cause = exc.__cause__  # the user's code raised: -v shows where
            traceback.print_exception(type(cause), cause, cause.__traceback__, file=sys.stderr)
        print(f"mole: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mole: interrupted; continue with `mole run ... --out RUN_DIR --resume`", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug in mole outside a run folder: the report goes to the temporary folder
        report = write_crash_report(exc, ["mole", *argv])
        return _crashed(f"mole crashed ({one_line(exc)}); this is a bug in mole, not in your input. The crash report "
                        f"{report} holds the traceback, versions and command", exc, args)


def _crashed(message, exc: BaseException, args) -> int:
    """One line naming the crash report (``-v``: the traceback first), exit status 1."""
    if getattr(args, "verbose", False):
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(f"mole: error: {message}; rerun with -v to see the traceback", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
