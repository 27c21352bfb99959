"""Derivation cost on the families of issue 9 §3: long sums, long products, matrix powers,
nesting that shares subexpressions, long staged programs.

Method: every (family, size) runs in a fresh Python process (so that no interned node or memo of
an earlier case helps it), with a time limit. The time is that of ``mc.derive`` on the input
(parsing included for strings; building the expression, for the API cases, is timed apart),
then of printing the result (``str``). The growth exponent between two sizes n₁ < n₂ of the input
is ``log(t₂/t₁) / log(n₂/n₁)``: 1 is linear, 2 quadratic (for the nesting written as a string,
whose length doubles with each level, the size is its length). Garbage collection stays on, as
for a user. Each case runs ``--repeat`` times (3), each in a fresh process, and the fastest run is
reported: on a shared machine the slower runs measure the neighbours.

Usage: ``python benchmarks/limits.py [--quick] [--limit SECONDS] [--repeat N]``
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _names(count: int) -> list:
    """``count`` distinct short identifiers (``aab``, ``aac``, …), so that 10,000 terms fit the
    parser's 100,000-character limit."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    out = []
    for i in range(count):
        digits = ""
        for _ in range(3):
            i, r = divmod(i, 26)
            digits = letters[r] + digits
        out.append("a" + digits)
    return out


# family -> (sizes, quick sizes, code that sets `build` (untimed for strings) and `run`)
FAMILIES = {
    "sum of n distinct terms aᵢᵀ x (string, declared shapes)": ((1000, 3000, 10000), (300, 1000), """
        names = _names(n)
        text = "+".join(f"{a}.T@x" for a in names)
        shapes = {"x": "n", **{a: "n" for a in names}}
        run = lambda: mc.derive(text, "x", shapes)"""),
    "sum of n distinct terms aᵢᵀ x (string, shapes inferred)": ((1000, 3000, 10000), (300, 1000), """
        text = "+".join(f"{a}.T@x" for a in _names(n))
        run = lambda: mc.derive(text, "x")"""),
    "sum of n distinct terms aᵢᵀ x (API, expr.add(*terms): one call)": ((1000, 3000, 10000), (300, 1000), """
        x = mc.vector("x", "n")
        terms = [mc.vector(a, "n").T @ x for a in _names(n)]
        f = E.add(*terms)
        run = lambda: mc.derive(f, x)"""),
    "sum of n distinct terms aᵢᵀ x (API, Python's sum(): term by term)": ((250, 500, 1000), (100, 250), """
        x = mc.vector("x", "n")
        terms = [mc.vector(a, "n").T @ x for a in _names(n)]
        run = lambda: mc.derive(sum(terms), x)"""),
    "sum of n repeated terms xᵀ A x (string)": ((1000, 3000, 10000), (300, 1000), """
        text = "+".join(["x.T@A@x"] * n)
        run = lambda: mc.derive(text, "x", {"x": "n", "A": "n,n"})"""),
    "sum of n repeated terms sin(x) (API, Python's sum())": ((1000, 3000, 10000), (300, 1000), """
        x = mc.vector("x", "n")
        run = lambda: mc.derive(mc.sum(sum([mc.sin(x)] * n)), x)"""),
    "product of n distinct vectors, sum(a₁ ⊙ … ⊙ aₙ) (string)": ((50, 100, 200), (50, 100), """
        names = _names(n)
        text = "sum(" + "*".join(names) + ")"
        run = lambda: mc.derive(text, names[0], {a: "n" for a in names})"""),
    "matrix product xᵀ A₁ … Aₙ x (string)": ((50, 100, 200), (50, 100), """
        names = [a.upper() for a in _names(n)]
        text = "x.T@" + "@".join(names) + "@x"
        run = lambda: mc.derive(text, "x", {"x": "n", **{a: "n,n" for a in names}})"""),
    "matrix power tr(A Xᵏ), k = n (MATLAB string)": ((250, 500, 1000), (100, 250), """
        run = lambda: mc.derive(f"tr(A*X^{n})", "X", {"A": "n,n", "X": "n,n"}, syntax="matlab")"""),
    "sin(e) ⊙ cos(e) nested n deep (API)": ((5, 10, 20), (5, 10), """
        x = mc.vector("x", "n")
        f = x
        for _ in range(n):
            f = mc.sin(f) * mc.cos(f)
        run = lambda: mc.derive(mc.sum(f), x)"""),
    "sin(e) ⊙ cos(e) nested n deep (string of 2ⁿ⁺³ characters)": ((4, 8, 12), (4, 8), """
        text = "x"
        for _ in range(n):
            text = f"sin({text})*cos({text})"
        size = len(text)   # the input doubles with each level: growth is against its length
        run = lambda: mc.derive(f"sum({text})", "x", {"x": "n"})"""),
    "staged program, n lines eᵢ₊₁ = sin(eᵢ) ⊙ cos(eᵢ)": ((125, 250, 500), (20, 60), """
        text = "e0 = x\\n" + "\\n".join(f"e{i + 1} = sin(e{i}) * cos(e{i})" for i in range(n)) + f"\\nL = sum(e{n})"
        run = lambda: mc.derive(text, "x", {"x": "n"})"""),
    "staged program, n lines sᵢ = sᵢ₋₁ + tanh(Wᵢ x)ᵀ y": ((250, 500, 1000), (60, 120), """
        names = [a.upper() for a in _names(n)]
        text = f"s1 = tanh({names[0]} @ x).T @ y\\n" + "\\n".join(
            f"s{i + 1} = s{i} + tanh({w} @ x).T @ y" for i, w in enumerate(names) if i) + f"\\nL = s{n}"
        run = lambda: mc.derive(text, "x", {"x": "n", "y": "m", **{w: "m,n" for w in names}})"""),
}

_CASE = """
import gc, json, time
import matcalc as mc
from matcalc import expr as E
{names}
n = {n}
start = time.perf_counter()
{code}
built = time.perf_counter() - start
start = time.perf_counter()
g = run()
derived = time.perf_counter() - start
start = time.perf_counter()
text = str(g)
printed = time.perf_counter() - start
print(json.dumps({{"build": built, "derive": derived, "print": printed, "size": globals().get("size", n)}}))
"""


def measure(code: str, n: int, limit: float) -> dict:
    import inspect
    program = _CASE.format(names=inspect.getsource(_names), n=n, code=textwrap.dedent(code).strip())
    try:
        done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=limit,
                              cwd=ROOT, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    except subprocess.TimeoutExpired:
        return {"error": f"over {limit:.0f} s"}
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1][:80]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def exponent(a: tuple, b: tuple):
    (n1, t1), (n2, t2) = a, b
    return math.log(t2 / t1) / math.log(n2 / n1) if t1 > 0 and t2 > 0 else math.nan


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (about a minute)")
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per case")
    parser.add_argument("--repeat", type=int, default=3,
                        help="fresh processes per case; the fastest is kept (this machine is shared and noisy)")
    args = parser.parse_args(argv)
    print(f"{'family':66} {'n':>6} {'derive s':>9} {'print s':>8} {'growth':>7}")
    for family, (sizes, quick, code) in FAMILIES.items():
        points = []
        for n in quick if args.quick else sizes:
            runs = [measure(code, n, args.limit) for _ in range(max(args.repeat, 1))]
            failed = [r for r in runs if "error" in r]
            result = failed[0] if failed else min(runs, key=lambda r: r["derive"])
            if "error" in result:
                print(f"{family:66} {n:>6} {result['error']}", flush=True)
                break
            growth = f"{exponent(points[-1], (result['size'], result['derive'])):7.2f}" if points else ""
            points.append((result["size"], result["derive"]))
            print(f"{family:66} {n:>6} {result['derive']:9.3f} {result['print']:8.3f} {growth:>7}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
