"""The user's own code raised: one line that says whose code it is, what it raised and where.

A Dataset's ``__getitem__`` / ``__iter__`` / ``__len__``, a model factory or a network's forward is the user's
code; an exception it raises is theirs to fix, not a bug in mole. :func:`user_code_error` turns it into a
:class:`~mole.errors.UserCodeError` whose message names the code (the innermost frame of the traceback outside
mole, torch, NumPy, Pillow and Python's own library), the original exception's type and message, on one line::

    your Dataset Broken raised ZeroDivisionError at item 7: division by zero (in Broken.__getitem__,
    data.py:12); fix your dataset

The caller raises it ``from`` the original, which stays the ``__cause__`` (``mole run -v`` prints its traceback).
A :class:`~mole.errors.MoleError` (mole's own readers check inputs inside a Dataset too) or a failed allocation
passes through as it is (:func:`passes_through`).
"""
from __future__ import annotations

import functools
import sysconfig
from pathlib import Path

import torch

from .errors import MoleError, UserCodeError

#: the longest part of the original message a line quotes
QUOTED = 300


@functools.lru_cache(maxsize=1)
def _library_roots() -> tuple[str, ...]:
    """Folders whose code is not the user's: mole, torch, NumPy, Pillow and Python's own library."""
    import numpy
    roots = [Path(__file__).parent, Path(torch.__file__).parent, Path(numpy.__file__).parent,
             Path(sysconfig.get_paths()["stdlib"])]
    try:
        import PIL
        roots.append(Path(PIL.__file__).parent)
    except ImportError:  # pragma: no cover - Pillow comes with matplotlib
        pass
    return tuple(str(r.resolve()) + "/" for r in roots)


def _is_users(filename: str) -> bool:
    if filename.startswith("<eval_with_key"):  # torch.fx's generated forward of a cut network
        return False
    return filename.startswith("<") or not str(Path(filename).resolve()).startswith(_library_roots())


def user_frame(exc: BaseException) -> str:
    """``"Broken.__getitem__, data.py:12"``: the innermost frame of ``exc``'s traceback in the user's code; empty
    where every frame is a library's."""
    found, tb = None, exc.__traceback__
    while tb is not None:
        if _is_users(tb.tb_frame.f_code.co_filename):
            found = tb
        tb = tb.tb_next
    if found is None:
        return ""
    code = found.tb_frame.f_code
    return f"{getattr(code, 'co_qualname', code.co_name)}, {Path(code.co_filename).name}:{found.tb_lineno}"


def raised_by_user(exc: BaseException) -> bool:
    """Whether the user's code raised ``exc`` itself: the innermost frame of its traceback is theirs (not torch's,
    as when a layer is given a tensor of the wrong shape)."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and _is_users(tb.tb_frame.f_code.co_filename)


def passes_through(exc: BaseException) -> bool:
    """Whether ``exc`` is reported as it is rather than as the user's: mole's own errors, failed allocations."""
    return isinstance(exc, (MoleError, MemoryError, torch.OutOfMemoryError))


def user_code_error(what: str, exc: BaseException, fix: str, *, at: str = "", code: str = "") -> UserCodeError:
    """The one-line error for ``exc``, raised by the user's ``what`` (e.g. ``"Dataset Broken"``); ``at`` says where
    in its data (``" at item 7"``), ``code`` names the function called where no frame of the traceback is the
    user's (e.g. ``"Broken.__len__"``), ``fix`` the remedy."""
    message = " ".join(str(exc).split())
    if len(message) > QUOTED:
        message = message[:QUOTED] + "…"
    where = user_frame(exc) or code
    return UserCodeError(f"your {what} raised {type(exc).__name__}{at}" + (f": {message}" if message else "")
                         + (f" (in {where})" if where else "") + f"; {fix}")
