"""Saved networks: every run writes ``model-<method>.pt``, and :func:`load` gives back a ready network.

A model file holds the trained weights and what rebuilds the network without the run's code or data: the
registered model's name and build arguments (:func:`mole.models.build_model`), the module grouping, the input's
preprocessing (``((raw / scale) - mean) / std``, reshaped, and the original class labels; see
:func:`mole.data.base.preprocessing`) and the method that trained it. It is written atomically and read with
``torch.load(weights_only=True)``: plain tensors, numbers, strings, lists and dicts only.

    >>> net = mole.load("runs/my-run", method="mole")      # a ModularNetwork in evaluation mode
    >>> net(x).argmax(1)
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from .errors import CheckpointError, ConfigError, one_line
from .modular import ModularNetwork

FORMAT = 1


def model_path(run_dir: str | os.PathLike, method: str, fold: int | None = None) -> Path:
    """The path of ``method``'s model file in ``run_dir``: ``model-<method>.pt`` or ``model-<method>-fold<fold>.pt``."""
    return Path(run_dir) / (f"model-{method}.pt" if fold is None else f"model-{method}-fold{fold}.pt")


def save_model(path: str | os.PathLike, network: ModularNetwork, build: dict, method: str,
               preprocess: dict | None = None, rule_options: dict | None = None) -> Path:
    """Write ``network``'s weights with its ``build`` arguments (``{"name", "input_shape", "n_classes", ...}``) and
    the options of the rule that trained it (a rule may shape how the network predicts)."""
    path = Path(path)
    payload = {"format": FORMAT, "method": method, "rule_options": dict(rule_options or {}), "build": build,
               "groups": [list(g) for g in network.groups], "cuts": network.cuts, "preprocess": preprocess, "state_dict": {k: v.detach().cpu() for k, v in network.state_dict().items()}}
    tmp = path.with_name(path.name + ".partial")
    torch.save(payload, tmp)
    os.replace(tmp, path)
    return path


def why_unreadable(exc: BaseException) -> str:
    """Why ``torch.load(weights_only=True)`` refused a file, in a few words: a pickle of more than tensors and plain
    data (which is never unpickled: it could run code), or the first line of any other problem."""
    if "weights only load failed" in str(exc).lower() or isinstance(exc, __import__("pickle").UnpicklingError):
        return "it holds objects other than tensors and plain data, which mole never unpickles since that could run code"
    return one_line(exc)[:200]


def read_model(path: str | os.PathLike) -> dict:
    """The contents of a model file; a missing, unreadable or foreign file is one :class:`CheckpointError` line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist; pass a run folder of `mole run` and one of its methods "
                          f"({', '.join(sorted(p.stem[6:] for p in path.parent.glob('model-*.pt'))) or 'none saved'})")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, not a torch file, unsafe pickle: one problem
        raise CheckpointError(f"{path} is not a readable mole model ({why_unreadable(exc)}); re-run the training") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a mole model file of format {FORMAT}; re-run the training")
    kinds = {"method": str, "build": dict, "groups": list, "state_dict": dict, "rule_options": dict}
    wrong = [k for k, kind in kinds.items() if not isinstance(payload.get(k), kind)]
    if wrong or not isinstance(payload.get("preprocess"), (dict, type(None))):
        raise CheckpointError(f"{path} is damaged or was not written by mole (its {', '.join(wrong) or 'preprocess'} "
                              "is missing or of the wrong kind); re-run the training")
    return payload


def load(run_dir: str | os.PathLike, method: str = "mole", fold: int | None = None, *,
         device: str | torch.device = "cpu", model=None) -> ModularNetwork:
    """The network ``method`` trained in run folder ``run_dir`` (graph collections: ``fold``, default 0), with its
    weights, in evaluation mode. Its inputs are preprocessed data (see ``read_model(...)["preprocess"]``).

    Reading a run never runs code: a network that a factory of the user's built (``--model file.py:build``) is
    rebuilt only from a ``model`` passed here, the factory itself (a callable, or its name ``"file.py:build"``) or
    an untrained instance of the network; without it, a :class:`~mole.errors.ConfigError` says what to pass.
    """
    path = saved_model(run_dir, method, fold)
    return network_from(read_model(path), device, model=model, source=path)


def saved_model(run_dir: str | os.PathLike, method: str, fold: int | None = None) -> Path:
    """The model file of ``method`` in ``run_dir``: ``model-<method>.pt``, or fold 0's of a cross-validated run."""
    path = model_path(run_dir, method, fold)
    fold0 = model_path(run_dir, method, 0)
    return fold0 if fold is None and not path.is_file() and fold0.is_file() else path


def build_network(build: dict, model=None, source="the model file"):
    """The untrained network a model file's ``build`` arguments describe (:func:`mole.models.build_model`).

    A registered model is built from its name; a user's factory only from ``model`` (the factory, its name, or an
    ``nn.Module``): the file's record of a factory is never imported (:func:`mole.models.factory.untrusted_factory`).
    """
    from .models import MODELS, build_model
    from .models.factory import build_from_factory, is_factory, untrusted_factory
    name = build.get("name") if isinstance(build, dict) else None
    if not isinstance(name, str) or not ("input_shape" in build and "n_classes" in build):
        raise CheckpointError(f"{source} does not say how its network is built (no model name, input shape and "
                              "classes); re-run the training")
    shape, n_classes = tuple(build["input_shape"]), build["n_classes"]
    if model is not None:
        if isinstance(model, nn.Module):
            return model
        if callable(model) or is_factory(model):
            return build_from_factory(model, shape, n_classes)
        raise ConfigError(f"model={model!r}: pass the factory that built the network (a function, or its name "
                          "'file.py:build' / 'pkg.module:build') or an untrained instance of it")
    if is_factory(name):
        raise untrusted_factory(name, source, f"model={name!r} (or the function itself) to mole.load, or --model "
                                f"{name} to mole predict")
    if name not in MODELS:
        raise CheckpointError(f"{source} names the model {name!r}, which this version of mole does not build; "
                              f"re-run the training (models: {', '.join(MODELS)})")
    kwargs = {k: tuple(v) if k in ("hidden", "channels") else v for k, v in build.items()
              if k not in ("name", "input_shape", "n_classes")}
    try:
        return build_model(name, shape, n_classes, **kwargs)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"{source} holds build arguments this version of mole cannot use ({one_line(exc)}); "
                              "re-run the training") from None


def network_from(payload: dict, device: str | torch.device = "cpu", *, model=None,
                 source="the model file") -> ModularNetwork:
    """The network a model file's contents (:func:`~mole.saving.read_model`) describe: rebuilt (a user's factory's
    network from ``model`` alone, see :func:`build_network`), its weights loaded and its rule's set-up applied, on
    ``device`` and in evaluation mode."""
    from .rules import RULES
    cuts = payload.get("cuts")  # a model cut after named submodules (mole.cuts), else a Sequential's groups
    network = ModularNetwork(build_network(payload["build"], model, source), None if cuts else payload["groups"], cuts)
    try:
        network.load_state_dict(payload["state_dict"])
    except RuntimeError as exc:  # missing / unexpected keys, other shapes: not the network that was saved
        raise ConfigError(f"{source}'s weights do not fit the network built for it ({one_line(exc)[:160]}); pass the "
                          "model that was trained") from None
    method = payload.get("method")
    if method in RULES:  # a rule's set-up without weights (Forward-Forward's normalization, read-out)
        try:
            rule = RULES[method](**payload.get("rule_options", {}))
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{source} holds options of rule {method!r} it does not take ({one_line(exc)}); "
                                  "re-run the training") from None
        rule.prepare_network(network, payload["build"]["n_classes"], graphs=payload["build"].get("task") in
                             ("node", "graph"), nodes=payload["build"].get("task") == "node")
    return network.to(device).eval()
