"""A user's model factory by name: ``--model pkg.module:build`` or ``--model path/to/file.py:build``.

The factory is called with the arguments it declares among ``num_classes`` / ``n_classes`` (the classes),
``input_shape`` (one sample's shape), ``in_channels`` / ``in_features`` (its first entry), so
``torchvision.models:resnet18`` (``num_classes``) and a user's ``build(input_shape, n_classes)`` both work. It
returns any ``nn.Module``; one that is not an ``nn.Sequential`` is cut by ``--cuts`` (:mod:`mole.cuts`).

Naming a factory imports and runs code, so only the user names one: a factory recorded in a file (a model file, a
run folder's ``config.json``, a config file) is never imported on the file's word. Whoever reads such a file passes
the factory again (``mole.load(run, model=build)``, ``mole predict RUN --model file.py:build``, ``mole run --config
RUN/config.json --model file.py:build``); :func:`untrusted_factory` is the one-line error that says so.
"""
from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path

from torch import nn

from ..errors import ConfigError
from ..user_code import passes_through, user_code_error


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


def untrusted_factory(spec: str, source, how: str) -> ConfigError:
    """The error for a factory ``spec`` that the file ``source`` names: reading a file never imports code, so the
    user passes the factory themselves (``how``: the flag or argument that does)."""
    return ConfigError(f"{source} builds its network with {spec}, code that mole imports and runs only when you name "
                       f"it yourself: pass {how} (a file's record is data and never imports code)")


def build_from_factory(spec, input_shape: tuple, n_classes: int) -> nn.Module:
    """The model the factory ``spec`` builds for samples of ``input_shape`` and ``n_classes`` classes: its name
    (``pkg.module:function``, ``path/to/file.py:function``, imported) or the callable itself."""
    factory = spec if callable(spec) else load_factory(spec)
    spec = getattr(spec, "__qualname__", spec) if callable(spec) else spec
    offered = {"num_classes": n_classes, "n_classes": n_classes, "input_shape": tuple(input_shape),
               "in_channels": input_shape[0], "in_features": input_shape[0]}
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):
        signature = None
    kwargs = {k: v for k, v in offered.items() if signature is not None and k in signature.parameters}
    try:
        if signature is not None:
            signature.bind(**kwargs)
    except TypeError as exc:  # it needs arguments mole does not offer
        raise ConfigError(f"--model {spec!r} cannot be called with {kwargs} ({exc}); let it take num_classes or "
                          "n_classes (and input_shape)") from None
    try:
        model = factory(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the user's factory: its own error, named as theirs
        if passes_through(exc):
            raise
        raise user_code_error(f"model factory (--model {spec})", exc, "fix the factory",
                              code=getattr(factory, "__qualname__", "")) from exc
    if not isinstance(model, nn.Module):
        raise ConfigError(f"--model {spec!r} returned a {type(model).__name__}, not an nn.Module; make it return "
                          "the network")
    return model
