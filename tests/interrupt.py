"""Helpers of the resume tests: interrupt a run after n steps (as Ctrl-C would, or by a real SIGKILL of a child
process at a known step), and compare histories without wall times."""
import mole


class StopAt(mole.Callback):
    """Interrupts training (as Ctrl-C would) after ``n`` local steps."""

    def __init__(self, n):
        self.n = n

    def on_batch_end(self, **kwargs):
        self.n -= 1
        if self.n == 0:
            raise KeyboardInterrupt


def losses(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history.records]


#: ``python -c KILL_AT_STEP mole-args...``: the CLI, SIGKILLed by itself at local step ``$KILL_AT_STEP`` (counted over
#: every method of the run), once a checkpoint exists: a real kill at a known moment, no race with the run's end
KILL_AT_STEP = """
import os, signal, sys
import mole.checkpoint
from mole.cli import main

steps = 0


def on_batch_end(self, **kwargs):
    global steps
    steps += 1
    if steps == int(os.environ["KILL_AT_STEP"]):
        assert self.path.exists(), "no checkpoint yet"
        os.kill(os.getpid(), signal.SIGKILL)


mole.checkpoint.Checkpoint.on_batch_end = on_batch_end
sys.exit(main(sys.argv[1:]))
"""


def steps_per_method(monkeypatch) -> dict:
    """Counts the local steps of an in-process run per checkpoint file (one per method), as KILL_AT_STEP counts
    them: patch, run, then read the returned dict."""
    import mole.checkpoint
    counts = {}
    before = mole.checkpoint.Checkpoint.on_batch_end

    def on_batch_end(self, **kwargs):
        counts[self.path.name] = counts.get(self.path.name, 0) + 1
        return before(self, **kwargs)
    monkeypatch.setattr(mole.checkpoint.Checkpoint, "on_batch_end", on_batch_end)
    return counts
