"""Memory of a long-running process: resident size and live expression nodes over many
distinct derivations (what a server that derives for its users does).

Each derivation is of a function of a variable no earlier derivation used, so nothing can be
reused: ``sum(log(sigmoid(X_k @ w))) + k * norm2(w)**2`` w.r.t. ``w``, printed and compiled to
numpy. Nothing is kept, so the nodes of each derivation must be freed once it is done.

Usage: ``python benchmarks/memory.py [--n 100000] [--every 10000]``
"""
from __future__ import annotations

import argparse
import gc
import time

import matcalc as mc
from matcalc import expr as E


def resident_mb() -> float:
    """The resident set size of this process now (Linux ``/proc``), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def derive_one(k: int):
    g = mc.derive(f"sum(log(sigmoid(X{k} @ w))) + {k} * norm2(w)**2", "w", {f"X{k}": "N,n", "w": "n"})
    str(g)
    g.to_numpy()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="derivations in all")
    parser.add_argument("--every", type=int, default=10_000, help="print a row after this many")
    args = parser.parse_args(argv)
    derive_one(0)
    gc.collect()
    start = time.perf_counter()
    print("| derivations | resident MB | live nodes | seconds |")
    print("|---:|---:|---:|---:|")
    print(f"| 0 | {resident_mb():.1f} | {E.live_nodes()} | 0 |")
    for k in range(1, args.n + 1):
        derive_one(k)
        if k % args.every == 0:
            print(f"| {k:,} | {resident_mb():.1f} | {E.live_nodes()} | {time.perf_counter() - start:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
