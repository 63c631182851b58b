"""Activations between workers: tensors of varying shape over torch.distributed point-to-point.

A message is a fixed-size int64 header ``[dtype code, ndim, d_0, ..., d_7]`` followed by the
tensor itself, so the receiver can allocate the right buffer (the last batch of an epoch is smaller;
graph batches vary in node count). Sends are non-blocking (``isend``) with at most ``max_in_flight``
messages outstanding: the sender runs ahead of its receiver by that many batches and then waits,
which bounds the memory held in buffers. A failure of the peer surfaces as :class:`PeerLost`.
"""
from __future__ import annotations

from collections import deque
from datetime import timedelta

import torch
import torch.distributed as dist

DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.int32, torch.bool]
HEADER = 10  # dtype, ndim, up to 8 dims


class PeerLost(RuntimeError):
    """The worker on the other end stopped answering (died, hung past the timeout, or failed)."""

    def __init__(self, peer: int, cause: BaseException):
        super().__init__(f"lost contact with worker {peer}: {str(cause).splitlines()[0] if str(cause) else cause!r}")
        self.peer = peer


def _header(t: torch.Tensor) -> torch.Tensor:
    if t.dim() > HEADER - 2:
        raise ValueError(f"can only send tensors with up to {HEADER - 2} dims; got {t.dim()}")
    h = torch.zeros(HEADER, dtype=torch.int64, device=t.device)  # nccl sends device tensors only
    h[0], h[1] = DTYPES.index(t.dtype), t.dim()
    h[2:2 + t.dim()] = torch.tensor(t.shape, dtype=torch.int64)
    return h


class Sender:
    """Sends tensors to worker ``peer``, keeping at most ``max_in_flight`` unfinished sends; a send that does not
    complete within ``timeout`` seconds (the peer died or hangs) raises :class:`PeerLost`."""

    def __init__(self, peer: int, max_in_flight: int = 4, timeout: float | None = None):
        self.peer, self.max_in_flight = peer, max(1, max_in_flight)
        self.timeout = timedelta(seconds=timeout) if timeout else None
        self.pending: deque = deque()  # (works, tensors kept alive until sent)

    def send(self, t: torch.Tensor) -> None:
        t = t.detach().contiguous()
        h = _header(t)
        try:
            works = [dist.isend(h, self.peer), dist.isend(t, self.peer)]
            self.pending.append((works, (h, t)))
            while len(self.pending) > self.max_in_flight:
                for w in self.pending.popleft()[0]:
                    _wait(w, self.timeout)
        except RuntimeError as exc:
            raise PeerLost(self.peer, exc) from exc

    def flush(self) -> None:
        try:
            while self.pending:
                for w in self.pending.popleft()[0]:
                    _wait(w, self.timeout)
        except RuntimeError as exc:
            raise PeerLost(self.peer, exc) from exc


def _wait(work, timeout: timedelta | None) -> None:
    if timeout is None:
        work.wait()
    elif not work.wait(timeout):  # gloo raises on timeout; a False return means the same
        raise RuntimeError(f"no answer within {timeout.total_seconds():g} s")


def receive(peer: int, device: torch.device | str = "cpu", timeout: float | None = None) -> torch.Tensor:
    """The next tensor sent by worker ``peer`` on ``device`` (the sender's device type), waiting at most
    ``timeout`` seconds for each part (None: the process group's timeout)."""
    limit = timedelta(seconds=timeout) if timeout else None
    h = torch.empty(HEADER, dtype=torch.int64, device=device)
    try:
        _wait(dist.irecv(h, peer), limit)
        t = torch.empty(h[2:2 + int(h[1])].tolist(), dtype=DTYPES[int(h[0])], device=device)
        _wait(dist.irecv(t, peer), limit)
    except RuntimeError as exc:
        raise PeerLost(peer, exc) from exc
    return t
