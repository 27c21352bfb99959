"""Logistic regression beyond one machine's memory layout: the gradient, Hessian and
Hessian-vector product that matcalc generates, run on chunked dask arrays on a local cluster,
against a hand-written dask version in the same run, and checked against numpy.

X is 2·10⁶ × 100 (1.6 GB) in blocks of 10⁵ rows, made block by block on the workers each time it
is used (``da.random``, never held whole: the workers stream it); two worker processes with one
thread each. For each derivative: the median time of three ``client.compute`` runs for matcalc's
code and for the hand-written one (both include making X), their ratio, and the largest relative
difference from numpy's (numpy on the same X, made in this process). Memory: before each version
of each derivative the workers' peak resident memory (``VmHWM``, Linux) is reset; the peak above
the resident memory then is given in blocks (80 MB): what that computation held at once.

Usage: ``python benchmarks/dask_glm.py [--rows 2000000] [--cols 100] [--chunk 100000]``.
"""
from __future__ import annotations

import argparse
import statistics
import time

import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster

import matcalc as mc

SHAPES = {"X": "N,n", "y": "N", "w": "n", "v": "n"}
LOSS = "sum(log(1 + exp(-y * (X @ w))))"


def hand_written(X, y, w, v):
    """The textbook forms, in dask: ∇ = −Xᵀ (y ⊙ s), H = Xᵀ diag(s ⊙ (1 − s)) X, H v."""
    s = 1 / (1 + da.exp(y * (X @ w)))
    d = s * (1 - s)
    return {"gradient": -(X.T @ (y * s)), "hessian": (X * d[:, None]).T @ X, "hvp": X.T @ (d * (X @ v))}


def generated(X, y, w, v):
    return {"gradient": mc.derive(LOSS, "w", SHAPES).compile("dask")(X=X, y=y, w=w),
            "hessian": mc.derive(LOSS, "w", SHAPES, order=2).compile("dask")(X=X, y=y, w=w),
            "hvp": mc.hvp(LOSS, "w", "v", SHAPES).compile("dask")(X=X, y=y, w=w, v=v)}


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def _reset_peak_mb() -> float:
    """Start the process's peak resident memory (``VmHWM``) afresh; its resident memory now, in MB.
    (``ru_maxrss`` cannot be reset, and a worker made by a process that once held X starts with
    that process's peak.)"""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    return _status_mb("VmHWM")


def timed(client, value, runs=3) -> tuple:
    """``(median seconds, result, the workers' peak memory in MB above their resident memory before)``."""
    baseline = client.run(_reset_peak_mb)
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = client.compute(value, sync=True)
        times.append(time.perf_counter() - start)
    peaks = client.run(_peak_mb)
    return statistics.median(times), result, [peaks[w] - baseline[w] for w in peaks]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--cols", type=int, default=100)
    ap.add_argument("--chunk", type=int, default=100_000)
    args = ap.parse_args()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        state = da.random.RandomState(0)
        X = state.standard_normal((args.rows, args.cols), chunks=(args.chunk, args.cols))
        y = da.sign(state.standard_normal(args.rows, chunks=args.chunk))
        w, v = np.linspace(-0.05, 0.05, args.cols), np.linspace(1.0, 2.0, args.cols)
        mine, theirs = generated(X, y, w, v), hand_written(X, y, w, v)
        X_, y_ = dask.compute(X, y, scheduler="synchronous")   # the same blocks, here
        numpy = {"gradient": mc.derive(LOSS, "w", SHAPES).to_numpy()(X=X_, y=y_, w=w),
                 "hessian": mc.derive(LOSS, "w", SHAPES, order=2).to_numpy()(X=X_, y=y_, w=w),
                 "hvp": mc.hvp(LOSS, "w", "v", SHAPES).to_numpy()(X=X_, y=y_, w=w, v=v)}
        del X_, y_
        print(f"X: {args.rows} × {args.cols} in blocks of {args.chunk} rows "
              f"({args.rows * args.cols * 8 / 1e9:.1f} GB; a block {args.chunk * args.cols * 8 / 1e6:.0f} MB), "
              "2 worker processes\n")
        block = args.chunk * args.cols * 8 / 1e6
        print("| derivative | matcalc s | hand-written s | ratio | max rel. diff from numpy "
              "| peak per worker, blocks: matcalc | hand-written |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name in mine:
            t_mine, got, held_mine = timed(client, mine[name])
            t_theirs, _, held_theirs = timed(client, theirs[name])
            diff = float(np.max(np.abs(got - numpy[name])) / np.max(np.abs(numpy[name])))
            print(f"| {name} | {t_mine:.2f} | {t_theirs:.2f} | {t_mine / t_theirs:.2f}× | {diff:.1e} "
                  f"| {', '.join(f'{mb / block:.1f}' for mb in held_mine)} "
                  f"| {', '.join(f'{mb / block:.1f}' for mb in held_theirs)} |")
        print(f"\n(X is {args.rows * args.cols * 8 / 1e6:.0f} MB, {-(-args.rows // args.chunk)} blocks of "
              f"{block:.0f} MB)")


if __name__ == "__main__":
    main()
