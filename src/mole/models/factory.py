"""A user's model factory by name: ``--model pkg.module:build`` or ``--model path/to/file.py:build``.

The factory is called with the arguments it declares among ``num_classes`` / ``n_classes`` (the classes),
``input_shape`` (one sample's shape), ``in_channels`` / ``in_features`` (its first entry), so
``torchvision.models:resnet18`` (``num_classes``) and a user's ``build(input_shape, n_classes)`` both work. It
returns any ``nn.Module``; one that is not an ``nn.Sequential`` is cut by ``--cuts`` (:mod:`mole.cuts`).
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

from torch import nn

from ..errors import ConfigError


def is_factory(name: str) -> bool:
    """Whether a ``--model`` value names a factory (``module:function``) rather than a registered model."""
    return ":" in str(name)


def load_factory(spec: str):
    """The callable ``spec`` names: ``pkg.module:function`` (imported) or ``path/to/file.py:function``."""
    where, _, attr = str(spec).rpartition(":")
    if not where or not attr:
        raise ConfigError(f"--model {spec!r}: name a factory as pkg.module:function or path/to/file.py:function")
    try:
        if where.endswith(".py"):
            path = Path(where).expanduser()
            if not path.is_file():
                raise ConfigError(f"--model {spec!r}: {path} does not exist; pass an existing .py file")
            name = f"mole_user_model_{abs(hash(str(path.resolve())))}"
            module = sys.modules.get(name)
            if module is None:
                loader_spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(loader_spec)
                sys.modules[name] = module  # so its classes pickle for worker processes
                loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
    except ConfigError:
        raise
    except Exception as exc:  # noqa: BLE001 - a missing package or an error in the user's file: one line
        raise ConfigError(f"--model {spec!r}: importing {where} failed ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    factory = getattr(module, attr, None)
    if not callable(factory):
        raise ConfigError(f"--model {spec!r}: {where} has no function {attr!r}")
    return factory


def build_from_factory(spec: str, input_shape: tuple, n_classes: int) -> nn.Module:
    """The model ``spec``'s factory builds for samples of ``input_shape`` and ``n_classes`` classes."""
    factory = load_factory(spec)
    offered = {"num_classes": n_classes, "n_classes": n_classes, "input_shape": tuple(input_shape),
               "in_channels": input_shape[0], "in_features": input_shape[0]}
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    kwargs = {k: v for k, v in offered.items() if k in params}
    try:
        model = factory(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the user's factory: its own error, on one line
        raise ConfigError(f"--model {spec!r}: calling it with {kwargs} failed ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''}); let it take num_classes or n_classes "
                          "(and input_shape)") from None
    if not isinstance(model, nn.Module):
        raise ConfigError(f"--model {spec!r} returned a {type(model).__name__}, not an nn.Module")
    return model
