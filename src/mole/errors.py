"""One exception hierarchy for every user-facing problem.

Every message says what was expected, what arrived, and how to fix it, on one line.
The CLI turns any :class:`MoleError` into that line and exit code 2.
"""


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


class CrashError(MoleError, RuntimeError):
    """A bug in mole, not bad input: the run stopped on an unexpected exception (the ``__cause__``).

    ``report`` is the crash report written for it (traceback, versions, command); the CLI prints one line naming
    it and exits with status 1.
    """

    def __init__(self, message: str, report):
        super().__init__(message)
        self.report = report
