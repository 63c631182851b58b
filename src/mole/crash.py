"""Crash reports: what a bug in mole leaves behind instead of a bare traceback.

A run that stops on an exception that is not a :class:`~mole.errors.MoleError` (bad input) writes
``crash.txt`` into its run folder (or, before the folder exists, into the system's temporary folder): the
command, the versions of Python, torch, torch_geometric and mole, the platform, and the full traceback. The
command line then prints one line naming that file and exits with status 1; ``-v`` prints the traceback too.
"""
from __future__ import annotations

import importlib.metadata
import platform
import sys
import tempfile
import time
import traceback
from pathlib import Path

from .errors import one_line  # noqa: F401 - reports and messages name an exception on one line

CRASH_REPORT = "crash.txt"


def versions() -> dict[str, str]:
    """Versions of Python, the platform and the packages a report needs."""
    from . import __version__
    found = {"mole": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for package in ("torch", "torch_geometric", "numpy", "scikit-learn"):
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def write_crash_report(exc: BaseException, argv: list[str] | None, folder: Path | None = None) -> Path:
    """Write the report of ``exc`` into ``folder`` (a fresh file in the temporary folder if None or unwritable)
    and return its path."""
    lines = ["mole crash report", f"time: {time.strftime('%Y-%m-%d %H:%M:%S')}",
             "command: " + " ".join(argv if argv is not None else sys.argv), ""]
    lines += [f"{k}: {v}" for k, v in versions().items()]
    lines += ["", "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))]
    text = "\n".join(lines)
    if folder is not None:
        try:
            path = Path(folder) / CRASH_REPORT
            path.write_text(text)
            return path
        except OSError:
            pass
    handle, name = tempfile.mkstemp(prefix="mole-crash-", suffix=".txt")
    with open(handle, "w") as f:
        f.write(text)
    return Path(name)


def out_of_memory(exc: BaseException) -> bool:
    """Whether ``exc`` is an allocation that failed (host or device memory), not a bug."""
    if isinstance(exc, MemoryError):
        return True
    import torch
    if isinstance(exc, torch.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(s in str(exc) for s in ("can't allocate memory", "out of memory"))
