"""Pickled dataset files read without running code: Planetoid's raw ``ind.<name>.*`` files.

The Planetoid citation graphs (Cora, CiteSeer, PubMed) ship as Python pickles of numpy arrays, SciPy sparse
matrices, a ``defaultdict`` of adjacency lists and plain lists, and PyG's reader (``torch_geometric.io.planetoid``)
opens them with ``pickle.load``. A pickle can name any importable callable, so a crafted ``ind.cora.x`` would run
code the moment it was read. :func:`restricted_load` unpickles with an allow-list of exactly those data types
(the classes and the array rebuilders these files use, nothing that executes); anything else is refused with
:class:`~mole.errors.DataError`. :func:`planetoid_reads_safely` makes PyG's reader use it while a dataset is processed.
"""
from __future__ import annotations

import contextlib
import io
import pickle
import types

from ..errors import DataError

# the globals a Planetoid file may name: numpy arrays and dtypes (as numpy 1 and 2 spell them), SciPy's CSR matrix
# (old and new module paths), and the containers (Python 2's __builtin__, as the files were written)
_ALLOWED = frozenset({
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("scipy.sparse.csr", "csr_matrix"), ("scipy.sparse._csr", "csr_matrix"), ("scipy.sparse", "csr_matrix"),
    ("collections", "defaultdict"), ("__builtin__", "list"), ("builtins", "list"), ("__builtin__", "set"),
    ("builtins", "set"), ("copy_reg", "_reconstructor"), ("copyreg", "_reconstructor"), ("__builtin__", "object"),
    ("builtins", "object"),
})


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only the globals of numpy arrays, SciPy CSR matrices, lists, sets and dicts."""

    def find_class(self, module: str, name: str):
        if (module, name) not in _ALLOWED:
            raise DataError(f"a pickled dataset file names {module}.{name}, which is not data (a numpy array, a "
                            "sparse matrix, a list or dict); mole does not run code from data files: replace the "
                            "file with an intact copy of the dataset")
        return super().find_class(module, name)


def restricted_load(file, **kwargs):
    """``pickle.load`` that builds only those data types (``kwargs``: ``encoding``, ``errors``)."""
    return RestrictedUnpickler(file, **kwargs).load()


def restricted_loads(data: bytes, **kwargs):
    """``pickle.loads`` that builds only those data types."""
    return restricted_load(io.BytesIO(data), **kwargs)


@contextlib.contextmanager
def planetoid_reads_safely():
    """While active, PyG's Planetoid reader unpickles its raw files with :func:`restricted_load`."""
    import torch_geometric.io.planetoid as reader
    before = reader.pickle
    reader.pickle = types.SimpleNamespace(load=restricted_load, loads=restricted_loads,
                                          UnpicklingError=pickle.UnpicklingError)
    try:
        yield
    finally:
        reader.pickle = before
