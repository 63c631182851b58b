"""``mole predict RUN_DIR --data FILE``: a saved network's predictions for raw inputs in a file.

The file's rows are preprocessed as the run's training data was (the record in the model file), predicted
in evaluation mode, and written as CSV: ``row, prediction[, label], p_<class>...`` with the original class
labels. When the file has labels, the accuracy is returned (and printed by the CLI).
"""
from __future__ import annotations

import csv
import math
from pathlib import Path

import torch

from .adapters import TensorData
from .data.files import read_inputs
from .errors import ConfigError, DataError
from .saving import network_from, read_model, saved_model


def default_method(run_dir: Path) -> str:
    """The method ``mole predict`` uses when none is given: ``mole`` if ``run_dir`` holds its model, else the only
    method saved; a :class:`~mole.errors.ConfigError` if none or several others are saved."""
    saved = sorted({p.stem[len("model-"):].split("-fold")[0] for p in run_dir.glob("model-*.pt")})
    if not saved:
        raise ConfigError(f"{run_dir} holds no saved model (model-<method>.pt); pass the folder of a finished `mole run`")
    if "mole" in saved:
        return "mole"
    if len(saved) == 1:
        return saved[0]
    raise ConfigError(f"{run_dir} holds models of {', '.join(saved)}; choose one with --method")


def _broadcast(values: list, shape: tuple) -> torch.Tensor:
    v = torch.tensor(values, dtype=torch.float32)
    if v.numel() == math.prod(shape):
        return v.reshape(shape)
    if v.numel() == shape[0]:  # per channel
        return v.reshape(shape[0], *[1] * (len(shape) - 1))
    return v.reshape(())


def predict_file(run_dir, data, method: str | None = None, out=None, model=None) -> dict:
    """Predict the raw inputs of file ``data`` (``.npz`` or ``.csv``) with the network ``method`` saved in ``run_dir``
    (default: :func:`~mole.predict.default_method`) and write the CSV ``out`` (default: ``predictions-<method>.csv``
    in ``run_dir``). A network a user's factory built is rebuilt from ``model`` alone (the factory or its name,
    ``--model file.py:build``): the run folder's record of it is never imported (:func:`mole.saving.build_network`).

    Returns ``{"method", "n", "accuracy", "out"}``; the accuracy is None unless the file holds labels.
    """
    run_dir = Path(run_dir)
    method = method or default_method(run_dir)
    path = saved_model(run_dir, method)
    payload = read_model(path)
    build, prep = payload["build"], payload["preprocess"]
    if build.get("task") in ("node", "graph"):
        raise ConfigError(f"{run_dir} trained on graphs; predictions from files take vectors, signals or images "
                          "(for graphs, load the network in Python: mole.load(run_dir, method))")
    shape = tuple(build["input_shape"])
    X, labels = read_inputs(data, math.prod(shape))
    x = torch.as_tensor(X, dtype=torch.float32)
    if x[0].numel() != math.prod(shape):
        raise DataError(f"{Path(data).name}: each sample has {x[0].numel()} values, the model takes {math.prod(shape)} "
                        f"({'×'.join(map(str, shape))})")
    x = x.reshape(-1, *shape)
    if prep:
        x = (x / prep["scale"] - _broadcast(prep["mean"], shape)) / _broadcast(prep["std"], shape)
    network = network_from(payload, model=model, source=path)
    proba = TensorData(x, torch.zeros(len(x), dtype=torch.long)).logits(network).softmax(1)
    classes = prep["classes"] if prep and prep.get("classes") else list(range(build["n_classes"]))
    predicted = [classes[i] for i in proba.argmax(1).tolist()]
    accuracy = None
    if labels is not None:
        accuracy = sum(str(p) == str(t) for p, t in zip(predicted, labels.tolist())) / len(predicted)
    out = Path(out) if out else run_dir / f"predictions-{method}.csv"
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["row", "prediction", *(["label"] if labels is not None else []),
                         *[f"p_{c}" for c in classes]])
        for i, (p, row) in enumerate(zip(predicted, proba.tolist())):
            writer.writerow([i, p, *([labels[i].item()] if labels is not None else []), *[f"{v:.6f}" for v in row]])
    return {"method": method, "n": len(predicted), "accuracy": accuracy, "out": str(out)}
