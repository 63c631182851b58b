"""``mole run --config FILE``: an experiment in a file, flags on the command line overriding it.

A TOML file's keys are ``mole run``'s flags (without ``--``; ``batch-size`` or ``batch_size``)::

    dataset = "cora"
    methods = ["mole", "bp", "predsim"]     # lists: comma-joined (hidden, channels, methods) or repeated (rule-option)
    epochs = 100
    lr = 0.01
    rule-option = ["predsim.beta=0.9"]
    no-plots = true                         # switches: true sets them

A run folder's ``config.json`` (the resolved configuration ``mole run`` writes) is read too and re-runs that
run exactly (same data, model, every setting; a new ``--out``). Either becomes the flags it stands for, placed
before the command line's own, so values given on the command line win, and a bad value gets the same one-line
error as the flag. Unknown keys are errors with a suggestion.

A file is data: one that names a factory of the user's (``model = "net.py:build"``) is refused unless the command
line names the model itself (``--model net.py:build``), since building it imports and runs that code
(:func:`refuse_named_code`).
"""
from __future__ import annotations

import argparse
import difflib
import json
from pathlib import Path

from .config import TrainConfig
from .errors import ConfigError

#: estimator option -> its flag (the inverse of the CLI's flag -> option map)
ESTIMATOR_OPTIONS = {"alpha": "alpha", "sigma": "sigma", "normalize": "normalize", "label_kernel": "label-kernel",
                     "conditional": "conditional", "temperature": "temperature", "dim": "critic-dim"}


def _flags(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """``mole run``'s long flags (without ``--``) and their actions."""
    return {opt[2:]: action for action in parser._actions for opt in action.option_strings if opt.startswith("--")}


def _value(v) -> str:
    return ",".join(str(x) for x in v) if isinstance(v, (list, tuple)) else str(v)


def toml_argv(path: Path, parser: argparse.ArgumentParser) -> list[str]:
    """The command-line flags a TOML file of ``mole run`` flags stands for, in the file's order.

    Keys are ``parser``'s long flags without ``--`` (``_`` or ``-``); a switch takes true or false, a list value is
    comma-joined (repeated for a repeatable flag such as ``rule-option``). An unreadable file, an unknown key or a
    value of the wrong kind is a :class:`~mole.errors.ConfigError`.
    """
    import tomllib
    try:
        table = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read --config {path} ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"--config {path} is not valid TOML ({exc}); fix the file") from None
    flags, argv = _flags(parser), []
    for key, value in table.items():
        name = key.replace("_", "-")
        if name in ("config", "help") or name not in flags:
            close = difflib.get_close_matches(name, [f for f in flags if f not in ("config", "help")], n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{path.name}: unknown key {key!r}{hint} (the keys are `mole run` flags)")
        action = flags[name]
        if isinstance(value, dict):
            raise ConfigError(f"{path.name}: {key} must be a value, not a table")
        if action.nargs == 0:  # a switch
            if not isinstance(value, bool):
                raise ConfigError(f"{path.name}: {key} is a switch; set it to true or false, not {value!r}")
            argv += [f"--{name}"] if value else []
        elif isinstance(value, bool):
            raise ConfigError(f"{path.name}: {key} takes a value, not {str(value).lower()}")
        elif isinstance(action, argparse._AppendAction):
            for item in value if isinstance(value, list) else [value]:
                argv += [f"--{name}", str(item)]
        else:
            argv += [f"--{name}", _value(value)]
    return argv


def _put(argv: list, flag: str, value) -> None:
    if value is not None:
        argv += [f"--{flag}", _value(value)]


def json_argv(path: Path) -> list[str]:
    """The flags that rebuild the resolved configuration in a run folder's ``config.json`` (``--out``, ``--resume``
    excepted)."""
    try:
        c = json.loads(path.read_text())
        return _experiment_argv(c)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"--config {path} is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(f"--config {path} is not a mole config.json (missing or malformed {exc}); pass the "
                          "config.json of a `mole run` folder, or a TOML file of flags") from None


def _experiment_argv(c: dict) -> list[str]:
    t, a, argv = c["train"], c["analysis"], []
    for key in ("dataset", "model", "seed", "hidden", "channels", "depth", "module_size", "dropout", "folds", "pool",
                "neighbor_sampling", "fanout", "sampling_budget_mb", "data_root"):
        _put(argv, key.replace("_", "-"), c[key])
    for key in ("cuts", "image_size", "loader_workers"):  # config.json files older than the flags have none
        _put(argv, key.replace("_", "-"), c.get(key))
    argv += ["--methods", _value(c["methods"])]
    argv += [] if c["batch_norm"] else ["--no-batch-norm"]
    argv += ["--download"] if c["download"] else []
    for key in ("epochs", "batch_size", "lr", "weight_decay", "optimizer", "momentum", "lr_schedule", "schedule",
                "worker_timeout", "augment", "augment_pixels", "device", "precision", "cache", "cache_limit_mb"):
        _put(argv, key.replace("_", "-"), t[key])
    for key in ("weak_augment", "weak_augment_pixels"):  # config.json files older than the flags have neither
        _put(argv, key.replace("_", "-"), t.get(key))
    if t["schedule"] == "async":
        _put(argv, "workers", t["workers"])
        _put(argv, "balance", t.get("balance", "timed"))  # config.json files older than the flag were timed
        _put(argv, "stagger", t.get("stagger", 0))
    argv += ["--keep-cache"] if t["keep_cache"] else []
    _put(argv, "checkpoint-every", t.get("checkpoint_every", TrainConfig.checkpoint_every))  # older files lack it
    if t.get("cache_dir"):
        raise ConfigError("config.json sets train.cache_dir, which has no flag; run it through the Python API")
    argv += ["--estimator", t["estimator"]["name"]]
    for option, value in t["estimator"]["options"].items():
        if option not in ESTIMATOR_OPTIONS:
            raise ConfigError(f"config.json sets estimator option {option!r}, which has no flag; run it through the "
                              "Python API")
        _put(argv, ESTIMATOR_OPTIONS[option], value)
    o = t["objective"]
    if not isinstance(o, dict) or o.get("lambda_xy"):
        raise ConfigError("config.json holds per-module objectives or lambda_xy, which have no flags; run it "
                          "through the Python API")
    for key in ("lambda_y", "lambda_x", "beta", "reduce", "project_dim"):
        _put(argv, key.replace("_", "-"), o[key])
    for rule, options in t["rule_options"].items():
        for key, value in options.items():
            argv += ["--rule-option", f"{rule}.{key}={value!r}"]
    for key in ("monitor_every", "monitor_samples", "probe_samples", "tsne_samples", "max_modules", "accuracy_every"):
        _put(argv, key.replace("_", "-"), a[key])
    argv += ([] if a["probes"] else ["--no-probes"]) + ([] if a["plots"] else ["--no-plots"])
    argv += ["--tensorboard"] if a.get("tensorboard") else []
    return argv


def _flag_value(argv: list[str], flag: str):
    """The last value ``argv`` gives ``flag`` (``--flag V`` or ``--flag=V``), else None."""
    value = None
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            value = argv[i + 1]
        elif arg.startswith(flag + "="):
            value = arg.split("=", 1)[1]
    return value


def refuse_named_code(path: str, file_argv: list[str], command_line: list[str]) -> None:
    """A :class:`~mole.errors.ConfigError` if the config file ``path`` (its flags ``file_argv``) names a model factory
    that the ``command_line`` does not name itself: a file never makes mole import code."""
    from .models.factory import is_factory, untrusted_factory
    spec = _flag_value(file_argv, "--model")
    if spec is not None and is_factory(spec) and _flag_value(command_line, "--model") is None:
        raise untrusted_factory(spec, f"--config {path}", f"--model {spec} on the command line to run that code, or "
                                "--model with a built-in network")


def config_argv(path: str, parser: argparse.ArgumentParser) -> list[str]:
    """The flags a ``--config`` file stands for."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"--config {path} does not exist; pass a TOML file of flags or a run folder's config.json")
    if p.suffix == ".json":
        return json_argv(p)
    if p.suffix == ".toml":
        return toml_argv(p, parser)
    raise ConfigError(f"--config {path}: expected a .toml file of flags or a run folder's config.json")
