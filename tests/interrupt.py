"""Helpers of the resume tests: interrupt a run after n steps, and compare histories without wall times."""
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
