"""The cost of calling a generated numpy function by name, against the raw generated function.

For the gradient of xᵀAx (``g = mc.derive("x.T @ A @ x", "x", ...).to_numpy()``), at n = 10, 100
and 1000, single-threaded BLAS, interleaved samples, minimum of the per-call means:

* raw: ``g.function(A, x2)``, positional 2-D arrays, no checks;
* by name: ``g(A=A, x=x)`` with 1-D ``x``, as users call it — the fast path once the inputs'
  signature (float64 arrays of these shapes) has been checked;
* checked: the same call with every check run again (the fast path disabled);
* floor: a hand-written wrapper that does only what the fast path must — the type, dtype and
  shape of each input checked, numpy's error state set (as the fast path sets it, through its
  context variable), the vector reshaped in and out, the
  result checked to be a fresh float64 array — with every constant at hand: the least any
  by-name call with these checks costs.

Usage: ``python benchmarks/call_overhead.py``; prints a table (µs per call and the ratios).
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import timeit  # noqa: E402

import numpy as np  # noqa: E402

import matcalc as mc  # noqa: E402


def measure(n: int, rounds: int = 15, number: int = 2000) -> dict:
    g = mc.derive("x.T @ A @ x", "x", {"x": "n", "A": "n,n"}).to_numpy()
    rng = np.random.default_rng(0)
    A, x = rng.standard_normal((n, n)), rng.standard_normal(n)
    column = x.reshape(-1, 1)
    checked = mc.derive("x.T @ A @ x", "x", {"x": "n", "A": "n,n"}).to_numpy()

    def slow():
        checked._fast = None
        return checked(A=A, x=x)

    raw, errstate, quiet = g.function, mc.printing.numpy._ERRSTATE, mc.printing.numpy._QUIET
    float64, a_shape, x_shape, column_shape = np.dtype(np.float64), A.shape, x.shape, column.shape

    def floor(A=None, x=None):
        if type(A) is np.ndarray and A.dtype is float64 and A.shape == a_shape \
                and type(x) is np.ndarray and x.dtype is float64 and x.shape == x_shape:
            token = errstate.set(quiet)   # numpy's error state, through its context variable
            try:
                result = raw(A, x.reshape(column_shape))
            finally:
                errstate.reset(token)
            if type(result) is np.ndarray and result.dtype is float64 and result.shape == column_shape \
                    and result.flags.owndata:
                return result.reshape(-1)

    thunks = {"raw": lambda: g.function(A, column), "by name": lambda: g(A=A, x=x), "checked": slow,
              "floor": lambda: floor(A=A, x=x)}
    np.testing.assert_allclose(g(A=A, x=x), g.function(A, column).ravel())
    times = {name: [] for name in thunks}
    for _ in range(rounds):
        for name, thunk in thunks.items():
            times[name].append(timeit.timeit(thunk, number=number) / number)
    return {name: min(values) for name, values in times.items()}


def main():
    print("| n | raw µs | by name µs | checked µs | floor µs | by name / raw | checked / raw | floor / raw |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in (10, 100, 1000):
        t = measure(n, number=2000 if n < 1000 else 200)
        print(f"| {n} | {t['raw'] * 1e6:.2f} | {t['by name'] * 1e6:.2f} | {t['checked'] * 1e6:.2f} | "
              f"{t['floor'] * 1e6:.2f} | {t['by name'] / t['raw']:.2f}× | {t['checked'] / t['raw']:.2f}× | "
              f"{t['floor'] / t['raw']:.2f}× |")


if __name__ == "__main__":
    main()
