"""A memory-mapped ``.npy`` array as :class:`~mole.adapters.rows.Rows`, read with ``os.pread``.

Each batch's rows are read into fresh buffers (runs of consecutive rows at once): nothing of the file stays mapped
into the process, so its resident memory stays flat however large the file (``numpy.load(path, mmap_mode="r")``
would map every page it touched).
"""
from __future__ import annotations

import contextlib
import os

import numpy as np
import torch

from ..errors import DataError
from .rows import Rows, _as_features


class ArrayRows(Rows):
    """The rows of a C-ordered ``.npy`` array on disk (a ``numpy.memmap``), read with ``os.pread``.

    Args:
        array: ``numpy.load(path, mmap_mode="r")``; only its file name, offset, dtype and shape are used.
    """

    def __init__(self, array: np.memmap):
        if not array.flags.c_contiguous or array.filename is None:
            raise DataError("a memory-mapped X must be a C-ordered array backed by a file "
                            "(numpy.load(path, mmap_mode='r') of a .npy saved from a C-ordered array)")
        if array.dtype.kind not in "biuf":
            raise DataError(f"a memory-mapped X must hold numbers; got dtype {array.dtype}")
        if array.ndim < 2 or array.shape[0] == 0:
            raise DataError(f"X must have shape (n_samples, n_features, ...); got {array.shape}")
        if 0 in array.shape[1:]:
            raise DataError(f"X has shape {array.shape}: a sample of size 0; each sample needs at least one feature")
        self.path, self.offset, self.file_dtype = str(array.filename), int(array.offset), array.dtype
        self.row_bytes, self.n_rows = int(np.prod(array.shape[1:])) * array.dtype.itemsize, array.shape[0]
        super().__init__(array.shape[0], tuple(array.shape[1:]))
        self._fd: int | None = None

    transient = ("_fd",)

    def __del__(self):
        if getattr(self, "_fd", None) is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)

    def read(self, source_positions, seed=None):
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        pos = source_positions.tolist()
        out = np.empty((len(pos), *self.sample_shape), dtype=self.file_dtype)
        flat = out.reshape(len(pos), -1).view(np.uint8).reshape(len(pos), self.row_bytes)
        i = 0
        while i < len(pos):  # runs of consecutive rows are read at once
            j = i + 1
            while j < len(pos) and pos[j] == pos[j - 1] + 1:
                j += 1
            raw = os.pread(self._fd, self.row_bytes * (j - i), self.offset + pos[i] * self.row_bytes)
            if len(raw) < self.row_bytes * (j - i):
                raise DataError(f"{self.path} ends before row {pos[i] + len(raw) // self.row_bytes} of the "
                                f"{self.n_rows} its header gave when the run opened it: the file was cut short or "
                                "replaced since; restore it, then resume (--resume; resume=True in mole.fit)")
            flat[i:j] = np.frombuffer(raw, dtype=np.uint8).reshape(j - i, self.row_bytes)
            i = j
        return _as_features(torch.from_numpy(out), pos)
