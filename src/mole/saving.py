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

from .errors import CheckpointError, ConfigError
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


def read_model(path: str | os.PathLike) -> dict:
    """The contents of a model file; a missing, unreadable or foreign file is one :class:`CheckpointError` line."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path} does not exist; pass a run folder of `mole run` and one of its methods "
                          f"({', '.join(sorted(p.stem[6:] for p in path.parent.glob('model-*.pt'))) or 'none saved'})")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - truncated, not a torch file, unsafe pickle: one problem
        raise CheckpointError(f"{path} is not a readable mole model ({type(exc).__name__}); re-run the training") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise CheckpointError(f"{path} is not a mole model file of format {FORMAT}; re-run the training")
    return payload


def load(run_dir: str | os.PathLike, method: str = "mole", fold: int | None = None, *,
         device: str | torch.device = "cpu") -> ModularNetwork:
    """The network ``method`` trained in run folder ``run_dir`` (graph collections: ``fold``, default 0), with its
    weights, in evaluation mode. Its inputs are preprocessed data (see ``read_model(...)["preprocess"]``)."""
    return network_from(read_model(saved_model(run_dir, method, fold)), device)


def saved_model(run_dir: str | os.PathLike, method: str, fold: int | None = None) -> Path:
    """The model file of ``method`` in ``run_dir``: ``model-<method>.pt``, or fold 0's of a cross-validated run."""
    path = model_path(run_dir, method, fold)
    fold0 = model_path(run_dir, method, 0)
    return fold0 if fold is None and not path.is_file() and fold0.is_file() else path


def build_network(build: dict):
    """The untrained network a model file's ``build`` arguments describe (:func:`mole.models.build_model`)."""
    from .models import build_model
    kwargs = {k: tuple(v) if k in ("hidden", "channels") else v for k, v in build.items()
              if k not in ("name", "input_shape", "n_classes")}
    return build_model(build["name"], tuple(build["input_shape"]), build["n_classes"], **kwargs)


def network_from(payload: dict, device: str | torch.device = "cpu") -> ModularNetwork:
    """The network a model file's contents (:func:`~mole.saving.read_model`) describe: rebuilt, its weights loaded and
    its rule's set-up applied, on ``device`` and in evaluation mode."""
    from .rules import RULES
    cuts = payload.get("cuts")  # a model cut after named submodules (mole.cuts), else a Sequential's groups
    network = ModularNetwork(build_network(payload["build"]), None if cuts else payload["groups"], cuts)
    network.load_state_dict(payload["state_dict"])
    if payload.get("method") in RULES:  # a rule's set-up without weights (Forward-Forward's normalization, read-out)
        RULES[payload["method"]](**payload.get("rule_options", {})).prepare_network(
            network, payload["build"]["n_classes"], graphs=payload["build"].get("task") in ("node", "graph"),
            nodes=payload["build"].get("task") == "node")
    return network.to(device).eval()
