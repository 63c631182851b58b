"""Start K local worker processes, watch them, and fail cleanly.

``launch_local`` saves the worker spec once to a temporary folder and starts one fresh Python
process per worker (``python -m mole.distributed.process``; a new interpreter, so it works from
scripts without a ``__main__`` guard, notebooks and ``python -c``), each joining a gloo process group
through ``env://`` on a free local port. Workers die with their parent (Linux ``PR_SET_PDEATHSIG``).
The parent then only watches:

* a worker that exits with an error or is killed (e.g. SIGKILL, out of memory) stops the run: the
  other workers are terminated at once and :class:`WorkerFailure` names the worker and its modules;
  workers that merely lost their peer (exit code 3) are not blamed for it;
* a worker whose heartbeat (a file it rewrites with its state: computing, waiting to receive, waiting to
  send) is older than ``timeout`` seconds has stopped progressing; the run fails naming the worker the
  stopped ones wait on (:func:`hung_worker`), not one merely blocked behind it;
* every child is joined (terminate, then kill) before returning or raising: no zombies;
* the temporary folder (spec, heartbeats, result) is deleted at the end, and by a janitor process
  (:mod:`mole.distributed.janitor`) if this process is killed first.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch

from ..errors import WorkerFailure  # (re-exported: mole.distributed.WorkerFailure)
from .worker import RECEIVING, SENDING, STARTUP, WorkerSpec

PEER_LOST = 3  # exit code of a worker that failed only because another worker did


def _state(folder: str, rank: int) -> bytes:
    try:
        return heartbeat_file(folder, rank).read_bytes()[:1]
    except OSError:
        return b""


def _stopped(pid: int) -> bool:
    """Linux: the process is stopped (SIGSTOP, job control, a debugger): state T or t in /proc/PID/stat."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except (OSError, IndexError):
        return False


def hung_worker(stale: list[int], beats: dict[int, float], states: dict[int, bytes],
                stopped: tuple = ()) -> int:
    """The worker the stale ones wait on. A stopped process (``stopped``) is it. Otherwise a worker waiting
    to send waits on the next one, a worker waiting to receive on the previous one; following these from
    the stalest worker ends at one that is computing (itself hung), or at two that wait on each other (then
    the one whose progress stopped first)."""
    halted = [r for r in stopped if r in beats]
    if halted:
        return min(halted, key=beats.get)
    r, seen = min(stale, key=beats.get), []
    while r not in seen:
        seen.append(r)
        nxt = {SENDING: r + 1, RECEIVING: r - 1}.get(states.get(r))
        if nxt is None or nxt not in beats:
            return r
        r = nxt
    return min(seen[seen.index(r):], key=beats.get)


def heartbeat_file(folder: str, rank: int) -> Path:
    """Touched by worker ``rank`` after every batch; it holds one byte once training has begun."""
    return Path(folder, f"worker{rank}.alive")


def free_port() -> int:
    """A TCP port of 127.0.0.1 that was free a moment ago (the operating system picked it), for the workers to meet."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _how(code: int, report: dict | None) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    if report:
        return f"failed: {report['message']}"
    return f"exited with code {code}"


def _stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.time() + 5
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.time()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def launch_local(spec: WorkerSpec, world: int, describe: Callable[[int], str], timeout: float = 60.0,
                 poll: float = 0.1) -> list[dict]:
    """Run ``world`` local workers on ``spec``; return rank 0's gathered results.

    ``describe(rank)`` names a worker's modules in error messages (e.g. ``"modules 1-2"``).
    Raises :class:`WorkerFailure` if a worker dies, fails or hangs for ``timeout`` seconds.
    """
    tmp = tempfile.mkdtemp(prefix="mole-async-")
    spec = dataclasses.replace(spec, result_path=os.path.join(tmp, "result.pt"), timeout=timeout)
    torch.save(spec, os.path.join(tmp, "spec.pt"))
    port, started = free_port(), time.time()
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world)}
    procs: list[subprocess.Popen] = []
    # deletes tmp if this process is killed (SIGKILL included) before the finally below can
    janitor = subprocess.Popen([sys.executable, str(Path(__file__).with_name("janitor.py")), tmp], stdin=subprocess.PIPE)
    try:
        for r in range(world):
            heartbeat_file(tmp, r).touch()
            procs.append(subprocess.Popen([sys.executable, "-m", "mole.distributed.process", tmp],
                                          env={**env, "RANK": str(r), "LOCAL_RANK": str(r)}))
        first_failure = None
        while True:
            codes = [p.poll() for p in procs]
            if all(c == 0 for c in codes):
                return torch.load(spec.result_path, weights_only=False)
            failed = [r for r, c in enumerate(codes) if c not in (None, 0)]
            if failed:
                first_failure = first_failure or time.time()
                culprits = [r for r in failed if codes[r] != PEER_LOST]
                if culprits or time.time() - first_failure > 2.0:  # give the real cause a moment to show
                    _stop(procs)
                    rank = (culprits or failed)[0]
                    raise _failure(rank, _how(procs[rank].returncode, _report(tmp, rank)), procs, describe, tmp,
                                   started)
            now = time.time()
            beats = {r: heartbeat_file(tmp, r).stat().st_mtime for r in range(world) if codes[r] is None}
            # start-up (a fresh interpreter importing torch, the rendezvous) gets at least STARTUP seconds
            limit = {r: timeout if heartbeat_file(tmp, r).stat().st_size else max(timeout, STARTUP) for r in beats}
            stale = [r for r, t in beats.items() if now - t > limit[r]]
            if stale:
                rank = hung_worker(stale, beats, {r: _state(tmp, r) for r in beats},
                                   tuple(r for r in beats if _stopped(procs[r].pid)))
                _stop(procs)
                raise _failure(rank, f"hung: no progress for {now - beats[rank]:.0f} s (timeout {timeout:g} s)",
                               procs, describe, tmp, started)
            time.sleep(poll)
    finally:
        _stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)
        janitor.stdin.close()  # the janitor finds the folder gone and exits
        janitor.wait()


def _failure(rank: int, how: str, procs: list[subprocess.Popen], describe: Callable[[int], str], tmp: str,
             started: float) -> WorkerFailure:
    """The error naming worker ``rank`` and its modules, with every worker's exit code and report."""
    return WorkerFailure(f"worker {rank} ({describe(rank)}) {how}; the other workers were stopped",
                         {"worker": rank, "modules": describe(rank), "reason": how,
                          "exit_codes": [p.returncode for p in procs], "seconds": time.time() - started,
                          "reports": {r: _report(tmp, r) for r in range(len(procs))},
                          "states": {r: _state(tmp, r).decode() for r in range(len(procs))}})


def _report(tmp: str, rank: int) -> dict | None:
    path = Path(tmp, f"worker{rank}.json")
    return json.loads(path.read_text()) if path.exists() else None
