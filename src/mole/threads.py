"""Run small linear algebra on one thread.

The estimator's eigendecompositions (n x n, n a mini-batch) and the analysis (t-SNE, probes, the
information plane on a few hundred samples) work on small problems. On them extra threads gain
little, and when another process holds a core they lose a lot: OpenMP and BLAS threads wait at
every parallel region. Measured on 2 cores beside one busy process: ``eigvalsh`` of a 128 x 128
matrix took 760 ms with 2 threads and 0.74 ms with 1; scikit-learn's t-SNE of 500 points 74 s and 1.8 s.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch


@contextmanager
def one_thread(libraries: bool = False):
    """torch on one thread inside the block, and with ``libraries`` also the BLAS and OpenMP pools of
    NumPy/scikit-learn (a few ms to find them: leave it off for torch-only work); restored afterwards."""
    threads, limits = torch.get_num_threads(), None
    if libraries:
        try:
            from threadpoolctl import threadpool_limits  # scikit-learn's own dependency
            limits = threadpool_limits(1)
        except ImportError:  # pragma: no cover - scikit-learn always brings it
            pass
    if threads != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if threads != 1:
            torch.set_num_threads(threads)
        if limits is not None:
            limits.restore_original_limits()
