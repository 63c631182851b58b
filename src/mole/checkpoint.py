"""Checkpoint and resume for module-by-module training.

After each module finishes, the network's weights and the number of finished modules are written
atomically to one file. Resuming loads the weights, skips the finished modules (their outputs are
computed once to rebuild the cache) and trains the rest, so a killed run loses at most one module.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from .callbacks import Callback
from .errors import CheckpointError
from .modular import ModularNetwork


class Checkpoint(Callback):
    def __init__(self, path: str | os.PathLike, network: ModularNetwork, fingerprint: dict):
        self.path, self.network, self.fingerprint = Path(path), network, fingerprint

    def on_stage_end(self, stage, **kwargs):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(self.path.suffix + ".tmp")
        torch.save({"network": self.network.state_dict(), "completed": stage.index + 1,
                    "fingerprint": self.fingerprint}, tmp)
        os.replace(tmp, self.path)  # atomic: a crash mid-write never leaves a torn checkpoint

    def load(self) -> int:
        """Load weights from the checkpoint file; return how many modules were finished."""
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user problem
            raise CheckpointError(f"cannot read checkpoint {self.path} ({exc}); delete it to start afresh") from None
        if state.get("fingerprint") != self.fingerprint:
            raise CheckpointError(f"checkpoint {self.path} was written by a different network or configuration; "
                                  "use another path or delete it to start afresh")
        self.network.load_state_dict(state["network"])
        return int(state["completed"])
