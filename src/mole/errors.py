"""One exception hierarchy for every user-facing problem.

Every message says what was expected, what arrived, and how to fix it, on one line.
The CLI turns any :class:`MoleError` into that line and exit code 2 (bad input, the user's own code, a full
disk), except :class:`WorkerFailure` and :class:`CrashError` (a process died; a bug in mole): exit code 1.
"""
import errno


class MoleError(Exception):
    """Base class of every error mole raises on purpose."""


class ConfigError(MoleError, ValueError):
    """A setting is invalid: an unknown name, a value out of range, an impossible combination."""


class DataError(MoleError, ValueError):
    """Input data is unusable: NaN features, labels that do not match the samples, wrong shapes."""


class DatasetNotFoundError(DataError, FileNotFoundError):
    """A dataset's files are not under the data root."""


class CheckpointError(MoleError, RuntimeError):
    """A checkpoint cannot be used to resume this run."""


class DivergenceError(MoleError, ArithmeticError):
    """Training diverged: a local loss (or a module output) became NaN or infinite."""


class RunFinished(MoleError):
    """``--resume`` on a run that already finished: there is nothing to do (the CLI says so and exits 0)."""


class OutOfMemoryError(MoleError, MemoryError):
    """The network, batch or data does not fit in the memory of this machine (or device)."""


class UserCodeError(MoleError, RuntimeError):
    """The user's own code raised: a Dataset's ``__getitem__`` / ``__iter__`` / ``__len__``, a model factory, a
    network's forward. The message names that code (class and function, a Dataset's item) and the original
    exception's type and message; the original is the ``__cause__`` (``mole run -v`` prints its traceback). The CLI
    exits with status 2: the fix is in the user's code, not in mole."""


class DiskFullError(MoleError, OSError):
    """A file of the run (a checkpoint, the disk cache of frozen outputs, a result) could not be written: no space is
    left on its device, or the disk quota is spent. What was written before (the last checkpoint) is intact."""


def disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` is a write that found no space left on its device (or a spent disk quota)."""
    if not isinstance(exc, OSError):
        return False
    # an OSError re-raised from a DataLoader worker keeps the message only
    return exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(exc)


class WorkerFailure(MoleError, RuntimeError):
    """A worker process died, failed or hung (an asynchronous schedule's worker, a DataLoader's); ``details`` says
    which and how. Not bad input: the CLI exits with status 1."""

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.details = details or {}


class CrashError(MoleError, RuntimeError):
    """A bug in mole, not bad input: the run stopped on an unexpected exception (the ``__cause__``).

    ``report`` is the crash report written for it (traceback, versions, command); the CLI prints one line naming
    it and exits with status 1.
    """

    def __init__(self, message: str, report):
        super().__init__(message)
        self.report = report


def one_line(exc: BaseException) -> str:
    """``Type: message`` of an exception, on one line."""
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
