"""Derivation speed: matcalc against sympy's ``MatrixSymbol.diff`` on cookbook-sized expressions.

Method
------
* Every expression in ``CASES`` is given once as a matcalc string (with its ``shapes``) and once
  as a sympy matrix expression built from ``sympy.MatrixSymbol`` with symbolic dims (``n``, ``m``,
  ...), so both tools see the same function of the same symbols.
* Warm-up (untimed): each expression is derived once by each tool. This gives the result text,
  a finite-difference check of each answer, and tells which expressions sympy cannot do
  (exception, an unevaluated ``Derivative`` in its answer, or more than ``SYMPY_LIMIT_S``
  seconds); those are reported as ``n/a`` and not timed again.
* Timed rounds, interleaved: in every round, for each expression, matcalc is timed, then sympy.
  The table reports the median over the rounds.
* matcalc: the timed call is ``mc.derive(f_string, wrt, shapes=...)`` - parsing, differentiation
  and simplification. Before each call matcalc's caches are cleared (``matcalc.expr.clear_caches``:
  recently made nodes, memos on live nodes) and the expression is rebuilt from the string, so
  every repetition is a first derivation. (Nodes still held elsewhere stay: they only make node
  construction a dictionary hit.)
* sympy: before each call its cache is cleared (``sympy.core.cache.clear_cache``) and the
  expression is rebuilt (untimed); the timed call is ``expr.diff(wrt)`` only, so sympy's timing
  does not include building the expression, while matcalc's includes parsing.
* Garbage collection is disabled during each timed call (as ``timeit`` does).
* Checks (untimed): matcalc's ``Derivative.check`` (finite differences on random inputs);
  sympy's answer is evaluated at small concrete sizes (dims substituted, symbols replaced by
  numeric matrices, ``doit``/``as_explicit``) and compared with central differences of sympy's
  own expression. For a Jacobian either layout (J or Jᵀ) is accepted.

Usage: ``python benchmarks/derive_speed.py [--rounds N | --quick] [--write]``
(``--write`` also writes the report to ``benchmarks/RESULTS-derive.md``).
"""
from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from _timing import cell, describe, time_limit, timed, timed_fresh  # first: thread settings

import numpy as np  # noqa: E402
import sympy  # noqa: E402
from sympy import (  # noqa: E402
    Derivative,
    Determinant,
    HadamardProduct,
    ImmutableMatrix,
    Inverse,
    MatrixSymbol,
    S,
    Symbol,
    Trace,
    exp,
    log,
)
from sympy.core.cache import clear_cache  # noqa: E402

from _problems import ew, log_softmax, sig, sq, total  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import matcalc as mc  # noqa: E402

RESULTS_FILE = HERE / "RESULTS-derive.md"
DEFAULT_ROUNDS = 7
QUICK_ROUNDS = 2
SYMPY_LIMIT_S = 5.0
CHECK_SIZES = (3, 4, 2, 5, 6)      # concrete sizes given to the dims, in order of appearance
CHECK_TOLERANCE = 1e-5
FD_STEP = 1e-6


# ---------------------------------------------------------------------------------------
# The expressions
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Case:
    f: str                                   # matcalc source
    wrt: str
    shapes: dict                             # name -> dims string ("n", "n,m", "1,n", "")
    sympy: Callable | None = None            # namespace of sympy symbols -> sympy expression


CASES = [
    Case("x.T@A@x", "x", {"x": "n", "A": "n,n"},
         lambda s: s.x.T * s.A * s.x),
    Case("a.T@X@b", "X", {"a": "n", "X": "n,m", "b": "m"},
         lambda s: s.a.T * s.X * s.b),
    Case("trace(A@X@B)", "X", {"A": "p,n", "X": "n,m", "B": "m,p"},
         lambda s: Trace(s.A * s.X * s.B)),
    Case("norm2(A@x-b)**2", "x", {"A": "m,n", "x": "n", "b": "m"},
         lambda s: sq(s.A * s.x - s.b)),
    Case("0.5*norm2(W@x-y)**2", "W", {"W": "m,n", "x": "n", "y": "m"},
         lambda s: S.Half * sq(s.W * s.x - s.y)),
    Case("logdet(X)", "X", {"X": "n,n"},
         lambda s: log(Determinant(s.X))),
    Case("det(X)", "X", {"X": "n,n"},
         lambda s: Determinant(s.X)),
    Case("a.T@inv(X)@b", "X", {"a": "n", "X": "n,n", "b": "n"},
         lambda s: s.a.T * Inverse(s.X) * s.b),
    Case("sum(exp(x))", "x", {"x": "n"},
         lambda s: total(ew(s.x, exp))),
    Case("sum(log(sigmoid(X@w)))", "w", {"X": "m,n", "w": "n"},
         lambda s: total(ew(s.X * s.w, lambda u: log(sig(u))))),
    Case("norm2(W2@sigmoid(W1@x)-t)**2", "W1", {"W1": "h,n", "W2": "k,h", "x": "n", "t": "k"},
         lambda s: sq(s.W2 * ew(s.W1 * s.x, sig) - s.t)),
    Case("sigmoid(W@x)", "x", {"W": "m,n", "x": "n"},
         lambda s: ew(s.W * s.x, sig)),
    Case("trace(X.T@B@X)", "X", {"X": "n,m", "B": "n,n"},
         lambda s: Trace(s.X.T * s.B * s.X)),
    Case("(X@b+c).T@D@(X@b+c)", "X", {"X": "n,m", "b": "m", "c": "n", "D": "n,n"},
         lambda s: (s.X * s.b + s.c).T * s.D * (s.X * s.b + s.c)),
    Case("trace(A@X@B@X)", "X", {"A": "n,n", "X": "n,n", "B": "n,n"},
         lambda s: Trace(s.A * s.X * s.B * s.X)),
    Case("-t.T@log_softmax(W@x)", "x", {"t": "m", "W": "m,n", "x": "n"},
         lambda s: -s.t.T * log_softmax(s.W * s.x)),
    Case("sum(log(1+exp(-y*(X@w)))) + lam*(w.T@w)", "w",
         {"y": "m", "X": "m,n", "w": "n", "lam": ""},
         lambda s: total(ew(HadamardProduct(s.y, s.X * s.w), lambda u: log(1 + exp(-u))))
         + s.lam * (s.w.T * s.w)),
    Case("x.T@inv(A)@x", "x", {"x": "n", "A": "n,n"},
         lambda s: s.x.T * Inverse(s.A) * s.x),
]


# ---------------------------------------------------------------------------------------
# Shapes, sympy symbols and numeric values
# ---------------------------------------------------------------------------------------

def dims_of(spec: str) -> tuple:
    """The dims of a shapes entry as a tuple of names/ints: ``"n"`` -> ``("n", 1)``, ``""`` -> ()."""
    if not spec.strip():
        return ()
    parts = [p.strip() for p in spec.split(",")]
    parts = [int(p) if p.isdigit() else p for p in parts]
    return (parts[0], 1) if len(parts) == 1 else tuple(parts)


def dim_names(case: Case) -> list:
    names = []
    for spec in case.shapes.values():
        names += [d for d in dims_of(spec) if isinstance(d, str) and d not in names]
    return names


def sympy_symbols(case: Case) -> SimpleNamespace:
    """A ``MatrixSymbol`` (symbolic dims) or ``Symbol`` (scalar) for each variable of ``case``."""
    def sym_dim(d):
        return Symbol(d) if isinstance(d, str) else d
    ns = {}
    for name, spec in case.shapes.items():
        dims = dims_of(spec)
        ns[name] = MatrixSymbol(name, *map(sym_dim, dims)) if dims else Symbol(name)
    return SimpleNamespace(**ns)


def build_sympy(case: Case):
    """``(expression, wrt)`` in sympy, freshly built."""
    s = sympy_symbols(case)
    return case.sympy(s), getattr(s, case.wrt)


def numeric_point(case: Case, rng) -> tuple[dict, dict]:
    """Concrete sizes for the dims and random values (numpy arrays) for the variables. Square
    matrices get a large diagonal so that they are safely invertible with a positive determinant."""
    sizes = dict(zip(dim_names(case), CHECK_SIZES))
    values = {}
    for name, spec in case.shapes.items():
        shape = tuple(sizes.get(d, d) for d in dims_of(spec))
        value = rng.normal(size=shape) if shape else rng.normal()
        if len(shape) == 2 and shape[0] == shape[1] > 1:
            value = 0.3 * value + shape[0] * np.eye(shape[0])
        values[name] = value
    return sizes, values


def sympy_value(expr, sizes: dict, values: dict) -> np.ndarray:
    """``expr`` evaluated at concrete sizes and values, as a float array."""
    e = expr.subs({Symbol(d): v for d, v in sizes.items()})
    e = e.xreplace({(MatrixSymbol(k, *v.shape) if np.ndim(v) else Symbol(k)):
                    (ImmutableMatrix(v) if np.ndim(v) else sympy.Float(v))
                    for k, v in values.items()})
    e = e.doit()
    if hasattr(e, "as_explicit"):
        e = e.as_explicit()
    if hasattr(e, "tolist"):
        return np.array(e.tolist(), dtype=float)
    return np.array(float(e))


def finite_difference(fn, values: dict, wrt: str) -> np.ndarray:
    """Central differences of ``fn(values)`` in each entry of ``values[wrt]``; the result has
    shape ``f.shape + wrt.shape`` (squeezed)."""
    base = np.asarray(values[wrt], dtype=float)
    f0 = np.asarray(fn(values)).ravel()
    out = np.empty((f0.size, base.size))
    for j in range(base.size):
        cols = []
        for step in (FD_STEP, -FD_STEP):
            moved = base.copy().ravel()
            moved[j] += step
            cols.append(np.asarray(fn({**values, wrt: moved.reshape(base.shape)})).ravel())
        out[:, j] = (cols[0] - cols[1]) / (2 * FD_STEP)
    return out


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(a - b)) / max(1.0, float(np.max(np.abs(b)))))


def check_sympy(case: Case, f, wrt, d, seed: int = 0) -> str:
    """Is sympy's derivative ``d`` of ``f`` right at a random point? ``ok``/``WRONG``/``?``."""
    try:
        sizes, values = numeric_point(case, np.random.default_rng(seed))
        got = sympy_value(d, sizes, values)
        fd = finite_difference(lambda v: sympy_value(f, sizes, v), values, case.wrt)
    except Exception as exc:  # noqa: BLE001 - any failure to evaluate means "can't tell"
        return f"? ({type(exc).__name__})"
    if fd.shape[0] == 1:                     # scalar f: the gradient, shaped like wrt
        candidates = {"": fd.reshape(np.shape(values[case.wrt]))}
    else:                                    # vector f: the Jacobian, either layout
        candidates = {"": fd, " (Jᵀ layout)": fd.T}
    for note, want in candidates.items():
        if got.size == want.size and relative_error(got.reshape(want.shape), want) < CHECK_TOLERANCE:
            return "ok" + note
    if got.size and not np.any(got) and np.any(fd):
        return "WRONG (returns 0)"
    if got.size != fd.size:
        return f"WRONG (shape {got.shape})"
    return f"WRONG (rel. error {relative_error(got.reshape(fd.shape), fd):.1e})"


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------

def run_matcalc(case: Case):
    """One fresh matcalc derivation (parse + derive + simplify): ``(Derivative, seconds)``."""
    return timed_fresh(lambda: mc.derive(case.f, case.wrt, shapes=dict(case.shapes)))


def run_sympy(case: Case):
    """One fresh sympy derivation: ``(f, wrt, derivative, seconds)``; raises on failure."""
    clear_cache()
    f, wrt = build_sympy(case)
    with time_limit(SYMPY_LIMIT_S):
        d, seconds = timed(lambda: f.diff(wrt))
    if d.has(Derivative):
        raise NotImplementedError("unevaluated Derivative")
    return f, wrt, d, seconds


@dataclass
class Row:
    case: Case
    matcalc_text: str = ""
    matcalc_error: str = ""                  # why matcalc failed, "" when it did not
    matcalc_check: str = ""
    matcalc_times: list = field(default_factory=list)
    sympy_text: str = ""
    sympy_check: str = ""
    sympy_na: str = ""                       # why sympy is n/a, "" when it is timed
    sympy_times: list = field(default_factory=list)

    @property
    def matcalc_ms(self):
        return 1000 * statistics.median(self.matcalc_times) if self.matcalc_times else None

    @property
    def sympy_ms(self):
        return 1000 * statistics.median(self.sympy_times) if self.sympy_times else None

    @property
    def ratio(self):
        if self.matcalc_ms and self.sympy_ms:
            return self.sympy_ms / self.matcalc_ms
        return None


def warm_up(case: Case) -> Row:
    """Derive once with each tool (untimed): results, checks, and whether sympy can do it."""
    row = Row(case)
    try:
        derivative, _ = run_matcalc(case)
        row.matcalc_text = str(derivative)
        row.matcalc_check = derivative.check(seed=0).status
    except Exception as exc:  # noqa: BLE001 - report it in the table rather than stop
        row.matcalc_error = row.matcalc_text = f"error: {describe(exc, 200)}"
    if case.sympy is None:
        row.sympy_na = "not written"
        return row
    try:
        f, wrt, d, _ = run_sympy(case)
    except Exception as exc:  # noqa: BLE001 - any failure means sympy cannot do it
        row.sympy_na = describe(exc)
        return row
    row.sympy_text = str(d)
    row.sympy_check = check_sympy(case, f, wrt, d)
    return row


def measure(rows: list, rounds: int):
    """Interleaved timed rounds: in each round, each expression with matcalc then sympy."""
    for _ in range(rounds):
        for row in rows:
            if not row.matcalc_error:
                row.matcalc_times.append(run_matcalc(row.case)[1])
            if row.sympy_na:
                continue
            try:
                row.sympy_times.append(run_sympy(row.case)[3])
            except Exception as exc:  # noqa: BLE001 - e.g. over the time limit this round
                row.sympy_na = describe(exc)
                row.sympy_times.clear()


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------

def ms(value) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def shorten(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def report(rows: list, rounds: int, wall_s: float) -> str:
    lines = [
        "# Derivation speed: matcalc vs sympy",
        "",
        (f"matcalc {mc.__version__}, sympy {sympy.__version__}, Python {platform.python_version()} "
         f"on {platform.machine()}; {rounds} interleaved round(s), median per expression; "
         "matcalc times parse + derive + simplify from a string with its memo cleared, sympy times "
         "`expr.diff(wrt)` with its cache cleared. Ratio = sympy / matcalc. "
         "Checks: finite differences at random points."),
        "",
        ("| # | f | wrt | matcalc result | matcalc check | matcalc ms | sympy ms | ratio "
         "| sympy check |"),
        "|---|---|---|---|---|---:|---:|---:|---|",
    ]
    for i, row in enumerate(rows, 1):
        ratio = "n/a" if row.ratio is None else f"{row.ratio:.1f}×"
        sympy_check = f"n/a ({row.sympy_na})" if row.sympy_na else row.sympy_check
        lines.append(f"| {i} | `{cell(row.case.f)}` | {row.case.wrt} | {cell(row.matcalc_text)} "
                     f"| {row.matcalc_check} | {ms(row.matcalc_ms)} | {ms(row.sympy_ms)} | {ratio} "
                     f"| {cell(sympy_check)} |")
    lines += ["", "sympy's answers:", "", "| # | sympy result |", "|---|---|"]
    for i, row in enumerate(rows, 1):
        text = f"n/a ({row.sympy_na})" if row.sympy_na else f"`{cell(shorten(row.sympy_text))}`"
        lines.append(f"| {i} | {text} |")
    lines += ["", *summary(rows), f"- whole run: {wall_s:.1f} s", ""]
    return "\n".join(lines)


def summary(rows: list) -> list:
    def median(values):
        return statistics.median(values) if values else None

    mc_all = [r.matcalc_ms for r in rows if r.matcalc_ms is not None]
    both = [r for r in rows if r.ratio is not None]
    right = [r for r in both if r.sympy_check.startswith("ok")]
    mc_med, sy_med = median(mc_all), median([r.sympy_ms for r in both])
    out = [f"- matcalc median over all {len(mc_all)} expressions: {ms(mc_med)} ms",
           f"- sympy median over the {len(both)} it differentiates: {ms(sy_med)} ms"
           + (f" (ratio to matcalc's median: {sy_med / mc_med:.1f}×)" if mc_med and sy_med else "")]
    for label, subset in (("those same", both), ("the sympy-correct", right)):
        if subset:
            mc_sub, sy_sub = median([r.matcalc_ms for r in subset]), median([r.sympy_ms for r in subset])
            geo = float(np.exp(np.mean(np.log([r.ratio for r in subset]))))
            out.append(f"- like for like on {label} {len(subset)}: matcalc {ms(mc_sub)} ms vs sympy "
                       f"{ms(sy_sub)} ms, ratio of medians {sy_sub / mc_sub:.1f}×, geometric mean "
                       f"of per-expression ratios {geo:.1f}×")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    how_many = parser.add_mutually_exclusive_group()
    how_many.add_argument("--rounds", type=int, default=DEFAULT_ROUNDS,
                          help=f"timed rounds (default {DEFAULT_ROUNDS})")
    how_many.add_argument("--quick", action="store_true", help=f"{QUICK_ROUNDS} rounds")
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS_FILE.name}")
    args = parser.parse_args(argv)
    rounds = QUICK_ROUNDS if args.quick else args.rounds
    if rounds < 1:
        parser.error("--rounds must be at least 1")

    start = time.perf_counter()
    rows = [warm_up(case) for case in CASES]
    measure(rows, rounds)
    text = report(rows, rounds, time.perf_counter() - start)
    print(text)
    if args.write:
        RESULTS_FILE.write_text(text, encoding="utf-8")
        print(f"written to {RESULTS_FILE}")


if __name__ == "__main__":
    main()
