"""Multi-process training on torch.distributed: modules in separate worker processes.

* :mod:`.channel`: activations ``T_k`` from one worker to the next (point-to-point, bounded in flight);
* :mod:`.worker`: one worker's loop over its modules;
* :mod:`.launcher`: K local worker processes, a watchdog, and clean failure.

Used by :class:`mole.schedules.AsynchronousSchedule` (``--schedule async``).
"""
from .launcher import WorkerFailure, free_port, launch_local
from .worker import WorkerSpec, is_primary, run_worker

__all__ = ["WorkerFailure", "WorkerSpec", "free_port", "is_primary", "launch_local", "run_worker"]
