"""Peak training memory of the autograd graph.

On CUDA, ``torch.cuda.max_memory_allocated``. On CPU, PyTorch exposes no allocator peak, so
mole measures what local learning is about: the bytes of tensors *saved for backward* (the
activation memory of the live autograd graph) at the most expensive training step, counted with
``torch.autograd.graph.saved_tensors_hooks`` (each storage counted once). End-to-end backprop keeps
every layer's activations alive until its backward; a local step keeps one module's.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch


class ActivationMemory:
    """Tracks the peak saved-for-backward bytes over steps (call :meth:`step` around each step)."""

    def __init__(self, device: torch.device | str = "cpu"):
        self.device = torch.device(device)
        self.peak_bytes = 0
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

    @contextmanager
    def step(self):
        if self.device.type == "cuda":
            yield
            self.peak_bytes = max(self.peak_bytes, torch.cuda.max_memory_allocated(self.device))
            return
        seen: dict[int, int] = {}

        def pack(t: torch.Tensor):
            try:
                key = t.untyped_storage().data_ptr()
                seen[key] = max(seen.get(key, 0), t.untyped_storage().nbytes())
            except RuntimeError:  # tensors without storage (e.g. sparse): count elements
                seen[id(t)] = t.numel() * t.element_size()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            yield
        self.peak_bytes = max(self.peak_bytes, sum(seen.values()))

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / 2**20
