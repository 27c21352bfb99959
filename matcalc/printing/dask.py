"""dask: the generated function on chunked ``dask.array`` inputs, lazy until computed (an optional
dependency, ``pip install -e ".[dask]"``).

The code is numpy code in branch-free forms (as for XLA: no branch on a value, which would
compute it); numpy's functions dispatch to dask through ``__array_function__`` and
``__array_ufunc__``, so ``X.T @ (σ(X w) − y)`` over a dask ``X`` of many row blocks is a dask
graph: a sum over the blocks of ``Xᵢᵀ (σ(Xᵢ w) − yᵢ)`` that a cluster computes block by block. A
chain of products is taken from its narrower end (dask has no ``multi_dot``). Inputs may mix
dask and numpy arrays; results stay dask arrays until ``.compute()`` (or ``dask.compute`` of
several, which shares their common work).
"""
from __future__ import annotations

import dataclasses

from ..errors import MatcalcError, ShapeError
from .code import array_backend
from .numpy import coerce_input, fitted_shape, real_floats

# a chain of products from its narrower end: Xᵀ (X w) never forms Xᵀ X
_CHAIN = ("def chain(*factors):\n"
          "    if factors[-1].shape[1] <= factors[0].shape[0]:\n"
          "        out = factors[-1]\n"
          "        for f in reversed(factors[:-1]):\n"
          "            out = f @ out\n"
          "        return out\n"
          "    out = factors[0]\n"
          "    for f in factors[1:]:\n"
          "        out = out @ f\n"
          "    return out\n")

_BASE = array_backend("dask", "np", "import numpy as np", special="scipy.special", linalg="scipy.linalg")
DASK = dataclasses.replace(_BASE, multi_dot="chain({x})", helpers={**_BASE.helpers, "chain": _CHAIN})


class DaskAdapter:
    backend = DASK
    failures = ()

    def __init__(self):
        try:
            import dask.array as da
        except ImportError:   # pragma: no cover - depends on the environment
            raise MatcalcError('the dask backend needs dask: pip install "dask[array,distributed]"') from None
        self.da = da

    def coerce(self, name: str, value, shape, sizes: dict):
        """A dask array as it is (lazy; its float dtype kept, integers as float64); anything else
        checked as numpy input is. A scalar 0-d, the rest 2-D."""
        if not isinstance(value, self.da.Array):
            return coerce_input(name, value, shape, sizes)
        value = real_floats(name, value)
        if any(d != d for d in value.shape):   # nan: chunk sizes unknown (after a filter)
            raise ShapeError(f"{name}: a dask array of unknown chunk sizes; call .compute_chunk_sizes() first")
        return value.reshape(fitted_shape(name, value.shape, shape, sizes))

    def unify(self, arrays: list) -> list:
        return arrays

    def run(self, function, args: list):
        return function(*args)

    def result(self, value, full, keep=None, fresh=False, like=None):
        da = self.da
        a = value if isinstance(value, da.Array) else da.asarray(value)
        if tuple(a.shape) != full:
            a = da.broadcast_to(a, full)
        return a.reshape(keep) if keep is not None else a

    def scalar(self, value, like=None):
        return (value if isinstance(value, self.da.Array) else self.da.asarray(value)).reshape(())

    def zeros(self, shape, like=None):
        return self.da.zeros(shape)
