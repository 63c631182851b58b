"""The entry point of one local worker process: ``python -m mole.distributed.process RUN_TMP``.

Reads the spec that :func:`mole.distributed.launch_local` saved, joins the process group from the
environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``), trains, and exits. It touches
its heartbeat file after every batch; on failure it writes a one-line report for the parent and
exits with code 1, or :data:`PEER_LOST` if it failed only because another worker did.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .launcher import PEER_LOST, heartbeat_file


def _die_with_parent() -> None:
    """Linux: deliver SIGKILL to this process when its parent dies (no orphans)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def _beat(path: Path) -> None:
    """After the first batch the file holds a byte: start-up is over, the hang timeout applies."""
    if path.stat().st_size:
        os.utime(path)
    else:
        path.write_text("1")


def main(folder: str) -> int:
    _die_with_parent()
    os.environ["MOLE_WORKER"] = "1"
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    beat_path = heartbeat_file(folder, rank)
    try:
        import torch

        from .worker import run_worker
        spec = torch.load(os.path.join(folder, "spec.pt"), weights_only=False)
        run_worker(spec, rank, world, beat=lambda: _beat(beat_path))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, then the process ends
        lost = type(exc).__name__ == "PeerLost"
        line = str(exc).splitlines()[0] if str(exc) else ""
        Path(folder, f"worker{rank}.json").write_text(json.dumps(
            {"kind": "peer" if lost else "error", "message": f"{type(exc).__name__}: {line}"}))
        return PEER_LOST if lost else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
