"""The entry point of one local worker process: ``python -m mole.distributed.process RUN_TMP``.

Reads the spec that :func:`mole.distributed.launch_local` saved, joins the process group from the
environment (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``), trains, and exits. Its
heartbeat file holds what it is doing (computing, waiting to receive, waiting to send), rewritten at every
change, so its mtime is the time of its last progress; on failure it writes a one-line report for the parent and
exits with code 1, or :data:`PEER_LOST` if it failed only because another worker did.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from .launcher import PEER_LOST, heartbeat_file
from .worker import WORKING


def _die_with_parent() -> None:
    """Linux: deliver SIGKILL to this process when its parent dies (no orphans)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes
            import signal
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except OSError:
            pass


def _beater(path: Path):
    """``beat(state)``: write the one-byte state at offset 0 (the write also refreshes the file's mtime).
    A non-empty file tells the parent that start-up is over and the hang timeout applies."""
    fd = os.open(path, os.O_WRONLY)

    def beat(state: bytes = WORKING) -> None:
        os.pwrite(fd, state, 0)
    return beat


def main(folder: str) -> int:
    """Run worker ``RANK`` of ``WORLD_SIZE`` (environment variables) on the spec saved in ``folder``; returns the exit
    code: 0, or 1 on failure, or :data:`~mole.distributed.launcher.PEER_LOST` if another worker failed first (both
    after writing a one-line report, ``worker<rank>.json``, into ``folder``)."""
    _die_with_parent()
    os.environ["MOLE_WORKER"] = "1"
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    beat_path = heartbeat_file(folder, rank)
    try:
        import torch

        from .worker import run_worker
        spec = torch.load(os.path.join(folder, "spec.pt"), weights_only=False)
        run_worker(spec, rank, world, beat=_beater(beat_path))
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, then the process ends
        lost = type(exc).__name__ == "PeerLost"
        line = str(exc).splitlines()[0] if str(exc) else ""
        Path(folder, f"worker{rank}.json").write_text(json.dumps(
            {"kind": "peer" if lost else "error", "message": f"{type(exc).__name__}: {line}"}))
        return PEER_LOST if lost else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
