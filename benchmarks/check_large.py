"""``check()`` on large vectors: time and peak traced memory against the size.

At these sizes ``check`` compares along a few random and coordinate directions, never forming
a dense Jacobian, so the memory is a few vectors: linear in n.

Usage: ``python benchmarks/check_large.py [--sizes 10000 100000]``
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import matcalc as mc


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args(argv)
    g = mc.derive("sum(exp(x)) + x.T @ x", "x", {"x": "n"})
    g.check(seed=0, sizes={"n": 10})   # compile the code once, outside the measurements
    print(f"{'n':>8} {'check s':>8} {'peak MiB':>9} {'peak / n (bytes)':>17}  verdict")
    for n in args.sizes:
        tracemalloc.start()
        start = time.perf_counter()
        report = g.check(seed=0, sizes={"n": n})
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"{n:>8} {seconds:8.2f} {peak / 2**20:9.1f} {peak / n:17.0f}  {report.status}")


if __name__ == "__main__":
    main()
