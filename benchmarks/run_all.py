"""All benchmarks in one command: evaluation speed of gradients and Hessians (matcalc's generated
code against a hand-written numpy closed form, jax, torch and sympy), derivation cost, and the
scaling of derivation with network depth. Writes ``benchmarks/RESULTS.md`` and
``benchmarks/speed.png``.

Method
------
* Problems (``_problems.py``): xᵀAx, ‖Ax − b‖², logistic regression Σ log(1 + exp(−y ⊙ Xw)), a
  two-layer network ‖W₂ σ(W₁ X) − Y‖² on a batch (gradient w.r.t. W₁) and logdet(X) + trace(A X);
  gradients of all five, Hessians of the three whose variable is a vector and the logistic
  Hessian-vector product (``mc.hvp``, no Hessian formed) (``TASKS``, with the sizes of each).
  Each problem is spelled once per contender and given the same float64 inputs.
* Contenders, all in this process (``contender_thunks``):
  - ``matcalc raw``: ``g.to_numpy().function``, the generated function, called with positional
    2-D arrays in the order ``fn.params`` (vectors as ``(n, 1)``), no input checking;
  - ``matcalc wrapper``: the ``NumpyFunction`` a user calls, ``fn(**arrays)`` (vectors ``(n,)``);
  - ``matcalc jax``: ``jax.jit(g.to_jax().function)`` on the same 2-D arrays, on the device;
  - ``hand-written``: the numpy closed form, the reference of the ratios and the checks;
  - ``jax``: ``jax.jit(jax.grad(f))`` / ``jax.jit(jax.hessian(f))`` / ``jax.jit`` of ``jvp(grad(f))``;
  - ``torch``: ``torch.func.grad(f)`` / ``torch.func.hessian(f)`` / ``jvp(grad(f))``, eager;
  - ``sympy``: ``lambdify(..., "numpy")`` of sympy's own derivative of the problem written with
    ``MatrixSymbol``s of the concrete sizes (``.diff``, twice for a Hessian). Where sympy raises,
    leaves a ``Derivative``, takes over ``SYMPY_LIMIT_S`` seconds or its answer is wrong, it is
    n/a for that problem and not tried at larger sizes; otherwise it is timed like the others
    (its code is matrix-level, so its cost does not grow with the size beyond the arithmetic).
  jax and torch are skipped where not installed.
* Timing (``_timing.py``): thread-pool settings, warm-up untimed (first call and calibration),
  every contender checked against the hand-written result before it is timed (one that fails or
  disagrees is reported and not timed), then interleaved round-robin samples in a shuffled order,
  garbage collection off, medians; noisy sizes measured again. jax compile time (ahead-of-time
  ``lower(...).compile()``) is reported separately and excluded from the medians.
* Derivation cost: ``mc.derive(f, wrt, shapes=...)`` (``mc.hessian``, ``mc.hvp``) from the
  string, then ``.to_numpy()`` (code generation + compile), and ``.to_jax()``, each run with
  matcalc's caches cleared first (``matcalc.expr.clear_caches``); median over
  ``Settings.derive_runs`` runs. sympy's ``diff`` + ``lambdify`` time at the smallest size, once.
* Depth scaling: the L-layer network h = σ(W_l h), l = 1..L, loss ‖h − t‖², gradient w.r.t. W₁,
  for L in ``DEPTHS``: derive and to_numpy time (medians, memo cleared), result size
  (``count_nodes(g.expr)``, ``len(str(g))``, length of the generated source), growth exponents
  (least-squares slope of log(quantity) against log(L) for L ≥ ``SLOPE_FROM``; 1 = linear),
  and the generated gradient checked against hand-written backpropagation (and ``jax.grad``).
* Targets (``targets``): PASS/MISS lines for the goals the project set itself.

Usage: ``python benchmarks/run_all.py [--quick] [--wait-quiet SECONDS]``. ``--quick``: sizes 10 and
100, few repetitions, well under a minute; it writes the same files. ``--wait-quiet``: first wait
(up to SECONDS) for other processes to leave the CPU; the report gives the CPU other processes
used before and during the run, since on a small machine they distort the timings.
"""
from __future__ import annotations

import argparse
import functools
import inspect
import math
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from _timing import (  # first: sets the thread-pool environment before numpy/torch load
    AGREE,
    DEFAULT,
    MIN_REPS,
    NOISY,
    OtherWork,
    QUICK,
    SETTLE_BELOW_S,
    Settings,
    cell,
    describe,
    environment,
    failing,
    fmt_ms,
    fmt_ratio,
    geometric_mean,
    jax_contender,
    load_average,
    load_jax,
    load_torch,
    measure_thunks,
    measure_with_retries,
    median_ms,
    other_work_now,
    relative_difference,
    time_limit,
    timed,
    timed_fresh,
)

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import matcalc as mc  # noqa: E402
import matcalc.expr  # noqa: E402

import _problems as P  # noqa: E402
from _problems import as_2d, raw_args  # noqa: E402

RESULTS_FILE = HERE / "RESULTS.md"
PLOT_FILE = HERE / "speed.png"
SYMPY_LIMIT_S = 10.0
DEPTHS = (1, 2, 4, 8, 16, 32, 64)
SLOPE_FROM = 8                # growth exponents are fitted over L >= this
DEPTH_CHECK_N = 6             # size of the depth-scaling correctness check
QUICK_SIZES = (10, 100)

REFERENCE = "hand-written"
CONTENDERS = ("matcalc raw", "matcalc wrapper", "matcalc jax", REFERENCE, "jax", "torch", "sympy")
JITTED = ("matcalc jax", "jax")

# The goals, and reference speed-ups measured elsewhere (matcalc raw vs the framework).
GRADIENT_TARGET = 1.2         # generated gradient / hand-written, at n >= GRADIENT_TARGET_FROM
GRADIENT_TARGET_FROM = 100
DERIVE_TARGET_MS = 10.0       # derive + to_numpy, per problem
DEPTH_TARGET_S = 1.0          # derive at the deepest L
LINEAR_SLOPE = 1.25           # a growth exponent up to this counts as linear
REFERENCE_SPEEDUPS = (("logistic", 1000, "jax", 2.0), ("logistic", 1000, "torch", 24.0),
                      ("quadratic", 3000, "jax", 45.0))


HVP = "Hessian-vector product"
DIRECTION = "v"                       # the direction of a Hessian-vector product


def declared(shapes: dict) -> dict:
    """``shapes`` for ``mc.derive``: a ``(property, dims)`` pair becomes a variable with it."""
    out = {}
    for name, spec in shapes.items():
        if isinstance(spec, tuple):
            prop, dims = spec
            out[name] = mc.matrix(name, *dims.split(","), **{prop: True})
        else:
            out[name] = spec
    return out


@dataclass(frozen=True, eq=False)        # hashed by identity: a key of the results
class Task:
    """A problem and a derivative of it (gradient, Hessian or ``HVP``), with the sizes to time."""
    problem: P.Problem
    kind: str                         # "gradient", "Hessian" or HVP
    sizes: tuple

    @property
    def label(self) -> str:
        return f"{self.problem.name}, {self.kind}"

    @property
    def second_order(self) -> bool:
        return self.kind != "gradient"

    def closed_form(self):
        return {"gradient": self.problem.gradient, "Hessian": self.problem.hessian, HVP: self.problem.hvp}[self.kind]

    def inputs(self, n: int, rng) -> dict:
        values = self.problem.inputs(n, rng)
        if self.kind == HVP:   # a direction shaped like the variable
            values[DIRECTION] = rng.normal(size=values[self.problem.wrt].shape)
        return values

    def derive(self):
        p = self.problem
        if self.kind == HVP:
            return mc.hvp(p.f, p.wrt, DIRECTION, shapes={**declared(p.shapes), DIRECTION: p.shapes[p.wrt]})
        if self.kind == "Hessian":
            return mc.hessian(p.f, p.wrt, shapes=declared(p.shapes))
        return mc.derive(p.f, p.wrt, shapes=declared(p.shapes))


# Sizes: the default run stays under ~8 minutes on a 2-core CPU; Hessians by jax/torch cost
# n jvps, ~1 s a call at the largest sizes.
TASKS = (
    Task(P.QUADRATIC, "gradient", (10, 100, 1000, 3000)),
    Task(P.QUADRATIC, "Hessian", (10, 100, 1000, 3000)),
    Task(P.LEAST_SQUARES, "gradient", (10, 100, 1000, 3000)),
    Task(P.LEAST_SQUARES, "Hessian", (10, 100, 300, 1000)),
    Task(P.LOGISTIC_REGRESSION, "gradient", (10, 100, 1000, 3000)),
    Task(P.LOGISTIC_REGRESSION, "Hessian", (10, 100, 300, 1000)),
    Task(P.LOGISTIC_REGRESSION, HVP, (10, 100, 1000, 3000)),
    Task(P.MLP, "gradient", (10, 100, 1000, 2000)),
    Task(P.LOGDET, "gradient", (10, 100, 1000, 2000)),
    Task(P.CROSS_ENTROPY, "gradient", (10, 100, 1000, 2000)),
    Task(P.LAYER_NORM, "gradient", (10, 100, 1000, 2000)),
    Task(P.ATTENTION, "gradient", (10, 100, 1000, 2000)),
    Task(P.GAUSSIAN_PROCESS, "gradient", (10, 100, 300, 1000)),
    Task(P.EXPM, "gradient", (10, 100, 300)),
)


# ---------------------------------------------------------------------------------------
# Derivation: matcalc (cost), sympy (per size)
# ---------------------------------------------------------------------------------------

@dataclass
class Derivation:
    task: Task
    text: str = ""
    fn: object = None                 # numpy CompiledFunction (None when matcalc failed)
    jax_fn: object = None             # jax CompiledFunction (None when unavailable)
    jax_error: str = ""
    derive_s: list = field(default_factory=list)
    codegen_s: list = field(default_factory=list)
    jax_codegen_s: list = field(default_factory=list)

    def total_ms(self):
        return median_ms([a + b for a, b in zip(self.derive_s, self.codegen_s)])


def derive(task: Task, runs: int) -> Derivation:
    """``runs`` fresh derivations (memo cleared), each followed by ``to_numpy`` and ``to_jax``,
    timed separately. When matcalc fails, ``fn`` is None and ``text`` says why."""
    d = Derivation(task)
    try:
        for _ in range(runs):
            result, seconds = timed_fresh(task.derive)
            d.derive_s.append(seconds)
            d.fn, seconds = timed(result.to_numpy)
            d.codegen_s.append(seconds)
            if load_jax() is not None and not d.jax_error:
                try:
                    d.jax_fn, seconds = timed(result.to_jax)
                    d.jax_codegen_s.append(seconds)
                except Exception as exc:  # noqa: BLE001 - reported, the rest still runs
                    d.jax_error = describe(exc)
    except Exception as exc:  # noqa: BLE001 - reported in the tables rather than stop
        return Derivation(task, text=f"error: {describe(exc, 200)}")
    d.text = str(result)
    return d


@dataclass
class SympyState:
    """sympy on one task: n/a (and why) once it fails, else its derivation time and code."""
    na: str = ""
    derive_ms: float | None = None    # diff + lambdify at the first size
    derive_n: int | None = None
    source: str = ""


def sympy_thunk(task: Task, values: dict, state: SympyState):
    """A thunk evaluating sympy's derivative (lambdified) on ``values``, or None once sympy is
    n/a for this task (``state.na`` says why)."""
    if state.na or task.problem.sympy is None or task.kind == HVP:
        state.na = state.na or "not written"
        return None
    from sympy import Derivative, MatrixSymbol, lambdify
    from sympy.core.cache import clear_cache

    names = sorted(values)
    symbols = {k: MatrixSymbol(k, *as_2d(values[k]).shape) for k in names}
    wrt = symbols[task.problem.wrt]

    def derive_and_lambdify():
        d = task.problem.sympy(SimpleNamespace(**symbols)).diff(wrt)
        if task.kind == "Hessian":
            d = d.diff(wrt)
        if d.has(Derivative):
            raise NotImplementedError("unevaluated Derivative")
        return lambdify([symbols[k] for k in names], d, "numpy")

    clear_cache()
    try:
        with time_limit(SYMPY_LIMIT_S):
            fn, seconds = timed(derive_and_lambdify)
    except Exception as exc:  # noqa: BLE001 - any failure means sympy cannot do it
        state.na = describe(exc)
        return None
    if state.derive_ms is None:
        state.derive_ms, state.derive_n = 1000 * seconds, len(values[task.problem.wrt])
        state.source = inspect.getsource(fn)
    args = [as_2d(values[k]) for k in names]
    return lambda: fn(*args)


# ---------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------

def autodiff_thunks(task: Task, values: dict) -> tuple[dict, dict]:
    """``({name: thunk}, {name: compile seconds})`` for jax and torch, where installed."""
    p = task.problem
    names = (p.wrt, DIRECTION) + p.others if task.kind == HVP else (p.wrt,) + p.others
    args = [values[k] for k in names]
    thunks, compile_s = {}, {}
    jax, torch = load_jax(), load_torch()
    if jax is not None:
        try:
            thunks["jax"], compile_s["jax"] = jax_contender(
                derivative_of(task, functools.partial(p.loss, P.jax_ops()), jax.grad, jax.hessian, jax.jvp), args)
        except Exception as exc:  # noqa: BLE001 - reported by its warm-up
            thunks["jax"] = failing(exc)
    if torch is not None:
        f = functools.partial(p.loss, P.torch_ops())
        call = derivative_of(task, f, torch.func.grad, torch.func.hessian, torch.func.jvp)
        targs = [torch.from_numpy(a) for a in args]
        thunks["torch"] = lambda: call(*targs)
    return thunks, compile_s


def derivative_of(task: Task, f, grad, hessian, jvp):
    """The autodiff derivative of ``f(w, *others)`` that ``task`` asks for; a Hessian-vector
    product as ``jvp(grad f)``, taking ``(w, v, *others)``."""
    if task.kind == "gradient":
        return grad(f)
    if task.kind == "Hessian":
        return hessian(f)

    def product(w, v, *others):
        return jvp(lambda u: grad(f)(u, *others), (w,), (v,))[1]
    return product


def contender_thunks(task: Task, derivation: Derivation, values: dict, sympy: SympyState):
    """``({contender: thunk}, {contender: compile seconds})`` at one size."""
    closed = task.closed_form()
    thunks, compile_s = {REFERENCE: lambda: closed(**values)}, {}
    fn = derivation.fn
    if fn is not None:
        args = raw_args(fn, values)
        thunks["matcalc raw"] = lambda: fn.function(*args)
        thunks["matcalc wrapper"] = lambda: fn(**values)
    if derivation.jax_fn is not None:
        try:
            thunks["matcalc jax"], compile_s["matcalc jax"] = jax_contender(
                derivation.jax_fn.function, raw_args(derivation.jax_fn, values))
        except Exception as exc:  # noqa: BLE001 - reported by its warm-up
            thunks["matcalc jax"] = failing(exc)
    more, more_compile = autodiff_thunks(task, values)
    thunks.update(more)
    compile_s.update(more_compile)
    thunk = sympy_thunk(task, values, sympy)
    if thunk is not None:
        thunks["sympy"] = thunk
    return thunks, compile_s


@dataclass
class TaskResult:
    rows: list                        # _timing.Measurement per size
    sympy: SympyState
    other_cores: float | None         # CPU used by other processes meanwhile (cores)


def run_task(task: Task, derivation: Derivation, sizes: tuple, settings: Settings,
             start: float) -> TaskResult:
    """The measurements of ``task`` at each size."""
    sympy = SympyState()
    other = OtherWork()
    rows = []
    for n in sizes:
        label = f"{task.label}, n={n}"

        def run(n=n, label=label):
            values = task.inputs(n, np.random.default_rng(n))
            thunks, compile_s = contender_thunks(task, derivation, values, sympy)
            return measure_thunks(task, n, label, thunks, REFERENCE, settings, compile_s)

        row = measure_with_retries(run, settings)
        c = row.contenders.get("sympy")
        if c is not None and c.error and not sympy.na:
            sympy.na = "wrong answer" if "disagrees" in c.error else c.error
        for line in row.warnings:
            print(line, flush=True)
        rows.append(row)
        print(f"  done: {label} ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    return TaskResult(rows, sympy, other.cores())


# ---------------------------------------------------------------------------------------
# Depth scaling
# ---------------------------------------------------------------------------------------

@dataclass
class Depth:
    L: int
    derive_s: list
    codegen_s: list
    nodes: int
    text_len: int
    source_len: int
    rel_diff: float | None            # max over hand-written backprop and jax.grad


def depth_run(L: int, runs: int) -> Depth:
    problem = P.deep_mlp(L)
    derive_s, codegen_s = [], []
    for _ in range(runs):
        g, seconds = timed_fresh(lambda: mc.derive(problem.f, problem.wrt, shapes=declared(problem.shapes)))
        derive_s.append(seconds)
        fn, seconds = timed(g.to_numpy)
        codegen_s.append(seconds)
    values = problem.inputs(DEPTH_CHECK_N, np.random.default_rng(L))
    got = fn(**values)
    diffs = [relative_difference(got, problem.gradient(**values))]
    jax = load_jax()
    if jax is not None:
        f = functools.partial(problem.loss, P.jax_ops())
        ref = jax.grad(f)(*[values[k] for k in (problem.wrt,) + problem.others])
        diffs.append(relative_difference(got, np.asarray(ref)))
    return Depth(L, derive_s, codegen_s, matcalc.expr.count_nodes(g.expr), len(str(g)),
                 len(fn.source), max(diffs))


def growth_exponent(depths: list, value) -> float | None:
    """Slope of log(value(d)) against log(L) over the depths with L >= ``SLOPE_FROM``."""
    points = [(math.log(d.L), math.log(value(d))) for d in depths if d.L >= SLOPE_FROM]
    if len(points) < 2:
        return None
    xs, ys = zip(*points)
    return float(np.polyfit(xs, ys, 1)[0])


DEPTH_QUANTITIES = (
    ("derive time", lambda d: statistics.median(d.derive_s)),
    ("to_numpy time", lambda d: statistics.median(d.codegen_s)),
    ("nodes", lambda d: d.nodes),
    ("len(str(g))", lambda d: d.text_len),
    ("generated source length", lambda d: d.source_len),
)


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------

def sized_rows(rows: list, smallest: int) -> list:
    return [r for r in rows if r.n >= smallest]


def targets(results: dict, derivations: list, depths: list, settings: Settings) -> list:
    """PASS/MISS lines for the project's goals."""
    def verdict(ok):
        return "PASS" if ok else "MISS"

    out = []
    for task, result in results.items():
        rows = result.rows
        if task.second_order:
            continue
        ratios = [(r.ratio("matcalc raw", REFERENCE), r) for r in sized_rows(rows, GRADIENT_TARGET_FROM)]
        ratios = [(v, r) for v, r in ratios if v is not None]
        if not ratios:
            out.append(f"- MISS: gradient within {GRADIENT_TARGET:g}× of hand-written, "
                       f"{task.problem.name}: no matcalc timing at n ≥ {GRADIENT_TARGET_FROM}")
            continue
        worst, row = max(ratios, key=lambda t: t[0])
        wrapper = [r.ratio("matcalc wrapper", REFERENCE) for _, r in ratios]
        wrapper = max((w for w in wrapper if w is not None), default=None)
        out.append(f"- {verdict(worst <= GRADIENT_TARGET)}: gradient within {GRADIENT_TARGET:g}× of "
                   f"hand-written at n ≥ {GRADIENT_TARGET_FROM}, {task.problem.name}: matcalc raw / "
                   f"hand-written worst {fmt_ratio(worst)} (n={row.n}); wrapper worst {fmt_ratio(wrapper)}")
    for task, result in results.items():
        rows = result.rows
        if not task.second_order:
            continue
        for other in ("jax", "torch"):
            speedups = [(r.ratio(other, "matcalc raw"), r) for r in rows]
            speedups = [(v, r) for v, r in speedups if v is not None]
            if not speedups:
                continue
            least, row = min(speedups, key=lambda t: t[0])
            out.append(f"- {verdict(least > 1)}: generated {task.kind} ahead of {other}, "
                       f"{task.problem.name}: smallest speed-up {fmt_ratio(least)} (n={row.n}); "
                       "by size: " + ", ".join(f"n={r.n} {fmt_ratio(v)}" for v, r in speedups))
    for key, n, other, reference in REFERENCE_SPEEDUPS:
        rows = next((r.rows for t, r in results.items() if t.kind == "Hessian" and t.problem.key == key), [])
        row = next((r for r in rows if r.n == n), None)
        value = None if row is None else row.ratio(other, "matcalc raw")
        measured = "not measured" + (" (--quick)" if settings.quick else "") if value is None \
            else fmt_ratio(value)
        out.append(f"- reference point: {key} Hessian n={n}, matcalc speed-up vs {other}: "
                   f"{measured} (measured elsewhere: ~{reference:g}×)")
    for d in derivations:
        total = d.total_ms()
        out.append(f"- {verdict(total is not None and total < DERIVE_TARGET_MS)}: derive + to_numpy "
                   f"under {DERIVE_TARGET_MS:g} ms, {d.task.label}: {fmt_ms(total)} ms")
    deepest = max(depths, key=lambda d: d.L)
    seconds = statistics.median(deepest.derive_s)
    out.append(f"- {verdict(seconds < DEPTH_TARGET_S)}: derive of the {deepest.L}-layer MLP under "
               f"{DEPTH_TARGET_S:g} s: {1000 * seconds:.1f} ms")
    for name, value in DEPTH_QUANTITIES:
        slope = growth_exponent(depths, value)
        if slope is not None:
            out.append(f"- {verdict(slope <= LINEAR_SLOPE)}: {name} linear in depth (growth exponent "
                       f"≤ {LINEAR_SLOPE:g} for L ≥ {SLOPE_FROM}): {slope:.2f}")
    return out


def summary_table(results: dict) -> list:
    """Per task and contender: time / hand-written, geometric mean over n ≥ 100 (range)."""
    shown = [c for c in CONTENDERS if c != REFERENCE]
    lines = ["| problem | derivative | sizes | " + " | ".join(shown) + " |",
             "|---|---|---|" + "---:|" * len(shown)]
    for task, result in results.items():
        rows, sympy = result.rows, result.sympy
        rows_big = sized_rows(rows, GRADIENT_TARGET_FROM) or rows
        cells = []
        for name in shown:
            ratios = [r.ratio(name, REFERENCE) for r in rows_big]
            ratios = [v for v in ratios if v is not None]
            if ratios:
                text = fmt_ratio(geometric_mean(ratios))
                if len(ratios) > 1:
                    text += f" ({fmt_ratio(min(ratios))} – {fmt_ratio(max(ratios))})"
            elif name == "sympy" and sympy.na:
                text = f"n/a ({sympy.na})"
            else:
                text = "n/a"
            cells.append(cell(text))
        sizes = ", ".join(str(r.n) for r in rows_big)
        lines.append(f"| {cell(task.problem.name)} | {task.kind} | {sizes} | " + " | ".join(cells) + " |")
    return lines


def task_table(rows: list) -> list:
    """Per size: each contender's median ms (and ratio to hand-written), compile times, agreement."""
    lines = ["| n | " + " | ".join(CONTENDERS) + " | compile ms: jax / matcalc jax | max rel. diff |",
             "|---:|" + "---:|" * (len(CONTENDERS) + 2)]
    for r in rows:
        cells = []
        for name in CONTENDERS:
            ms, ratio = r.ms(name), r.ratio(name, REFERENCE)
            cells.append("n/a" if ms is None else fmt_ms(ms) if name == REFERENCE
                         else f"{fmt_ms(ms)} ({fmt_ratio(ratio)})")
        diff = r.max_rel_diff()
        compiles = " / ".join(fmt_ms(r.compile_ms(name)) for name in JITTED)
        lines.append(f"| {r.n} | " + " | ".join(cells)
                     + f" | {compiles} | {'n/a' if diff is None else f'{diff:.1e}'} |")
    return lines


def derivation_table(derivations: list, results: dict) -> list:
    lines = ["| problem | derivative | matcalc result | derive ms | to_numpy ms | derive + to_numpy ms "
             "| to_jax ms | sympy diff + lambdify ms |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for d in derivations:
        sympy = results[d.task].sympy if d.task in results else None
        if sympy is None:
            sympy_text = "not run"
        elif sympy.derive_ms is not None and not sympy.na:
            sympy_text = f"{fmt_ms(sympy.derive_ms)} (n={sympy.derive_n})"
        elif sympy.na == "wrong answer":
            sympy_text = f"n/a (wrong answer, {fmt_ms(sympy.derive_ms)} ms)"
        else:
            sympy_text = f"n/a ({sympy.na})"
        jax_ms = fmt_ms(median_ms(d.jax_codegen_s)) if d.jax_codegen_s else (d.jax_error or "n/a")
        lines.append(f"| {cell(d.task.problem.name)} | {d.task.kind} | {cell(d.text)} "
                     f"| {fmt_ms(median_ms(d.derive_s))} | {fmt_ms(median_ms(d.codegen_s))} "
                     f"| {fmt_ms(d.total_ms())} | {cell(jax_ms)} | {cell(sympy_text)} |")
    return lines


def depth_table(depths: list) -> list:
    lines = ["| L | derive ms | derive ms / L | to_numpy ms | nodes | nodes / L | len(str(g)) "
             "| source length | max rel. diff vs backprop / jax.grad |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for d in depths:
        derive = median_ms(d.derive_s)
        diff = "n/a" if d.rel_diff is None else f"{d.rel_diff:.1e}"
        lines.append(f"| {d.L} | {fmt_ms(derive)} | {fmt_ms(derive / d.L)} | "
                     f"{fmt_ms(median_ms(d.codegen_s))} | {d.nodes} | {d.nodes / d.L:.1f} | "
                     f"{d.text_len} | {d.source_len} | {diff} |")
    return lines


BUSY_CORES = 0.25             # other work above this (in cores) makes the timings suspect


@dataclass
class Conditions:
    """How the machine was during the run."""
    load_start: str                   # 1-min load average at the start
    other_start: float | None         # cores used by other processes, 1 s probe before the run
    other_during: float | None = None  # ... averaged over the whole run
    wall_s: float = 0.0

    def line(self) -> str:
        def cores(v):
            return "n/a" if v is None else f"{v:.2f}"
        text = (f"1-min load average {self.load_start} at the start, {load_average()} at the end; "
                f"other processes used {cores(self.other_start)} cores just before the run and "
                f"{cores(self.other_during)} on average during it")
        if max(self.other_start or 0.0, self.other_during or 0.0) > BUSY_CORES:
            text += (" — **the machine was not quiet: multithreaded numpy calls stall a scheduler "
                     "tick (~8 ms) when a BLAS helper thread finds its core taken; treat the "
                     "timings with care**")
        return text


def wait_quiet(seconds: float) -> float | None:
    """Wait up to ``seconds`` until other processes use under ``BUSY_CORES`` cores (probed for
    1 s every 5 s); the cores they use at the last probe."""
    deadline = time.perf_counter() + seconds
    while True:
        busy = other_work_now()
        if busy is None or busy <= BUSY_CORES or time.perf_counter() >= deadline:
            return busy
        print(f"  other processes use {busy:.2f} cores; waiting", file=sys.stderr, flush=True)
        time.sleep(min(4.0, max(0.0, deadline - time.perf_counter())))


def notes(results: dict, conditions: Conditions) -> list:
    rows = [r for result in results.values() for r in result.rows]
    out = []
    overhead = [r.ms("matcalc wrapper") - r.ms("matcalc raw") for r in rows
                if r.ms("matcalc wrapper") is not None and r.ms("matcalc raw") is not None
                and r.ms("matcalc raw") < 1.0]
    if overhead:
        out.append(f"- wrapper overhead (wrapper − raw) over the {len(overhead)} rows whose raw call is "
                   f"under 1 ms: median {1000 * statistics.median(overhead):.0f} µs")
    for name in JITTED:
        compiles = [r.compile_ms(name) for r in rows if r.compile_ms(name) is not None]
        if compiles:
            out.append(f"- {name} compile (ahead-of-time lower + compile), excluded from the medians: "
                       f"total {sum(compiles) / 1000:.1f} s over {len(compiles)} shapes, "
                       f"median {statistics.median(compiles):.0f} ms, max {max(compiles):.0f} ms")
    noisy = [f"{cell(r.problem.label)} n={r.n} {c.name} ({100 * c.spread:.0f}%)" for r in rows
             for c in r.contenders.values() if c.spread is not None and c.spread > NOISY]
    again = [f"{cell(r.problem.label)} n={r.n} ({r.attempts}×)" for r in rows if r.attempts > 1]
    out.append(f"- noisy timings (interquartile range over {100 * NOISY:.0f}% of the median) kept: "
               + (", ".join(noisy) if noisy else "none")
               + (f"; sizes measured again for noise: {', '.join(again)}" if again else ""))
    skipped = [name for name, mod in (("jax", load_jax()), ("torch", load_torch())) if mod is None]
    if skipped:
        out.append(f"- not installed, skipped: {', '.join(skipped)}")
    busy = [f"{cell(task.label)} ({r.other_cores:.2f})" for task, r in results.items()
             if r.other_cores is not None and r.other_cores > BUSY_CORES]
    if busy:
        out.append(f"- measured while other processes used over {BUSY_CORES:g} cores: {', '.join(busy)}")
    out.append(f"- whole run: {conditions.wall_s:.0f} s")
    return out


def report(results: dict, derivations: list, depths: list, warning_lines: list,
           settings: Settings, conditions: Conditions) -> str:
    lines = [
        "# matcalc benchmarks: evaluation speed, derivation cost, depth scaling",
        "",
        f"{environment(mc.__version__)}{'; **--quick run**' if settings.quick else ''}. "
        "Produced by `python benchmarks/run_all.py`; method in its docstring.",
        "",
        f"Machine: {conditions.line()}.",
        "",
        "## Targets",
        "",
        *targets(results, derivations, depths, settings),
        "",
        "## Summary: time / hand-written closed form",
        "",
        (f"Geometric mean over the sizes n ≥ {GRADIENT_TARGET_FROM} (range in brackets); lower is "
         "faster, 1× = as fast as the hand-written numpy. matcalc raw = generated numpy function "
         "with positional 2-D arrays; wrapper = the `NumpyFunction` called by name; matcalc jax = "
         "`jax.jit` of the generated jax function; jax = `jax.jit(jax.grad / jax.hessian / jvp(grad))`; "
         "torch = `torch.func.grad / hessian / jvp(grad)`, eager; sympy = `lambdify` of sympy's derivative."),
        "",
        *summary_table(results),
        "",
        "## Evaluation",
        "",
        (f"Median ms per call (ratio to hand-written) over interleaved round-robin samples "
         f"(≥ {MIN_REPS} samples and ≈ {settings.target_s:g} s per contender per size), warm-up "
         f"excluded; calls under {1000 * SETTLE_BELOW_S:g} ms get one untimed call before each "
         "sample. Every contender was checked against the hand-written result before timing "
         f"(max |a − ref| / max |ref| < {AGREE:.0e}; max rel. diff = the largest over the "
         "contenders timed). n/a: not installed, failed, or disagreed (see the warnings)."),
        "",
    ]
    for task, result in results.items():
        rows = result.rows
        lines += [f"### {task.label}", "", *task_table(rows), ""]
    lines += [
        "## Derivation cost",
        "",
        (f"Median of {settings.derive_runs} runs, matcalc's caches cleared before each (`clear_caches`): "
         "derive = `mc.derive` (`mc.hessian`, `mc.hvp`) from the string; to_numpy / to_jax = code generation "
         f"and compile. sympy: `diff` (twice for a Hessian) of the `MatrixSymbol` expression at the "
         f"smallest size + `lambdify`, once, cache cleared; n/a where it raises, takes over "
         f"{SYMPY_LIMIT_S:g} s, or is wrong."),
        "",
        *derivation_table(derivations, results),
        "",
        "## Derive time against depth",
        "",
        (f"L-layer MLP h = σ(W_l h), loss ‖h − t‖², gradient w.r.t. W₁, all W_l n×n. Median of "
         f"{settings.derive_runs} runs, memo cleared. nodes = `matcalc.expr.count_nodes(g.expr)`. "
         f"Correctness: the generated function at n={DEPTH_CHECK_N} against hand-written "
         "backpropagation and `jax.grad`."),
        "",
        *depth_table(depths),
        "",
        "Growth exponents (slope of log quantity vs log L, L ≥ "
        f"{SLOPE_FROM}; 1 = linear): "
        + ", ".join(f"{name} {growth_exponent(depths, value):.2f}" for name, value in DEPTH_QUANTITIES
                    if growth_exponent(depths, value) is not None),
        "",
        "## Notes",
        "",
        *notes(results, conditions),
        *([""] + warning_lines if warning_lines else []),
        "",
        "## Generated code",
        "",
    ]
    for d in derivations:
        if d.fn is None:
            continue
        lines += [f"{d.task.label}, numpy:", "", "```python", d.fn.source.rstrip(), "```", ""]
        if d.jax_fn is not None and d.jax_fn.source.replace("jnp.", "np.").replace(
                "import jax.numpy as jnp", "import numpy as np") != d.fn.source:
            lines += [f"{d.task.label}, jax (differs):", "", "```python",
                      d.jax_fn.source.rstrip(), "```", ""]
    for task, result in results.items():
        sympy = result.sympy
        if sympy.source and not sympy.na:
            lines += [f"{task.label}, sympy lambdify (n={sympy.derive_n}):", "", "```python",
                      sympy.source.rstrip(), "```", ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Plot
# ---------------------------------------------------------------------------------------

STYLE = {"matcalc raw": ("tab:blue", "o", "-"), "matcalc wrapper": ("tab:cyan", "s", ":"),
         "matcalc jax": ("tab:purple", "D", "-"), REFERENCE: ("black", "x", "--"),
         "jax": ("tab:orange", "^", "-"), "torch": ("tab:red", "v", "-"),
         "sympy": ("tab:green", "P", "-.")}


def plot(results: dict, depths: list, path: Path, quick: bool) -> str:
    """Time against size, log-log, one panel per task and one for derive time against depth.
    Returns a note for the report when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib not installed: no plot"
    panels = len(results) + 1
    cols = 3
    fig, axes = plt.subplots(math.ceil(panels / cols), cols, figsize=(15, 4.2 * math.ceil(panels / cols)))
    axes = list(np.ravel(axes))
    for ax, (task, result) in zip(axes, results.items()):
        rows = result.rows
        for name in CONTENDERS:
            points = [(r.n, r.ms(name)) for r in rows if r.ms(name) is not None]
            if points:
                color, marker, style = STYLE[name]
                ax.plot(*zip(*points), color=color, marker=marker, linestyle=style, label=name)
        ax.set(xscale="log", yscale="log", xlabel="n", ylabel="ms per call", title=task.label)
        ax.title.set_fontsize(9)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=8)
    ax = axes[len(results)]
    Ls = [d.L for d in depths]
    ax.plot(Ls, [median_ms(d.derive_s) for d in depths], "o-", color="tab:blue", label="derive")
    ax.plot(Ls, [median_ms(d.codegen_s) for d in depths], "s-", color="tab:cyan", label="to_numpy")
    last = depths[-1]
    ax.plot(Ls, [median_ms(last.derive_s) * L / last.L for L in Ls], "k:", label="linear")
    ax.set(xscale="log", yscale="log", xlabel="layers L", ylabel="ms",
           title="derive time vs depth (L-layer MLP gradient)")
    ax.title.set_fontsize(9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    for ax in axes[panels:]:
        ax.set_visible(False)
    fig.suptitle("matcalc benchmarks" + (" (--quick)" if quick else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return ""


# ---------------------------------------------------------------------------------------

def companion_sections(quick: bool) -> list:
    """The companion benchmarks' tables, each run in its own process: ``call_overhead.py`` (the
    by-name call against the raw function) and, where dask is installed, ``dask_glm.py`` (the GLM
    derivatives on a local cluster against hand-written dask; 2·10⁵ × 20 with ``--quick``)."""
    here = Path(__file__).parent
    lines = ["## Call overhead", "", "`python benchmarks/call_overhead.py` (method in its docstring):", ""]
    out = subprocess.run([sys.executable, str(here / "call_overhead.py")], capture_output=True, text=True)
    lines += out.stdout.strip().splitlines() if out.returncode == 0 else [f"failed: {out.stderr.strip()[-300:]}"]
    lines += ["", "## Dask on a local cluster", ""]
    try:
        import dask.distributed  # noqa: F401
    except ImportError:
        return lines + ["dask is not installed: not measured (`pip install -e \".[dask]\"`)."]
    size = ["--rows", "200000", "--cols", "20", "--chunk", "20000"] if quick else []
    out = subprocess.run([sys.executable, str(here / "dask_glm.py"), *size], capture_output=True, text=True)
    lines += [f"`python benchmarks/dask_glm.py {' '.join(size)}`".replace(" `", "`"), ""]
    lines += out.stdout.strip().splitlines() if out.returncode == 0 else [f"failed: {out.stderr.strip()[-300:]}"]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"sizes {QUICK_SIZES} only, few repetitions (about a minute)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help=f"first wait up to SECONDS for other processes to use under "
                             f"{BUSY_CORES:g} cores (polled every few seconds)")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else DEFAULT
    warnings.filterwarnings("ignore", category=UserWarning)   # e.g. torch/jax start-up notices

    load_jax(), load_torch()                                  # imports are not timed
    conditions = Conditions(load_average(), wait_quiet(args.wait_quiet))
    if conditions.other_start is not None and conditions.other_start > BUSY_CORES:
        print(f"WARNING: other processes are using {conditions.other_start:.2f} cores; the timings "
              "will be unreliable (see RESULTS.md)", file=sys.stderr, flush=True)
    other = OtherWork()
    start = time.perf_counter()

    derivations = [derive(task, settings.derive_runs) for task in TASKS]
    failures = [f"WARNING: {d.task.label}: matcalc failed, {d.text}" for d in derivations if d.fn is None]
    failures += [f"WARNING: {d.task.label}: to_jax failed, {d.jax_error}" for d in derivations if d.jax_error]
    for line in failures:
        print(line, flush=True)
    depths = [depth_run(L, settings.derive_runs) for L in DEPTHS]
    print(f"  done: derivation cost and depth scaling ({time.perf_counter() - start:.0f} s)",
          file=sys.stderr, flush=True)

    results = {}
    for task, derivation in zip(TASKS, derivations):
        sizes = tuple(n for n in task.sizes if n in QUICK_SIZES) if settings.quick else task.sizes
        results[task] = run_task(task, derivation, sizes, settings, start)
    warning_lines = failures + [line for result in results.values() for r in result.rows
                                for line in r.warnings]
    warning_lines += [f"WARNING: {d.L}-layer MLP: generated gradient disagrees (max rel. diff "
                      f"{d.rel_diff:.1e})" for d in depths if not d.rel_diff < AGREE]

    extra = companion_sections(settings.quick)
    print(f"  done: call overhead and dask ({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
    plot_note = plot(results, depths, PLOT_FILE, settings.quick)
    if plot_note:
        warning_lines.append(f"NOTE: {plot_note}")
    conditions.wall_s, conditions.other_during = time.perf_counter() - start, other.cores()
    text = report(results, derivations, depths, warning_lines, settings, conditions)
    text = text.replace("\n## Notes\n", "\n\n" + "\n".join(extra) + "\n\n## Notes\n", 1)
    RESULTS_FILE.write_text(text, encoding="utf-8")
    print(text)
    print(f"written: {RESULTS_FILE}" + ("" if plot_note else f", {PLOT_FILE}"))


if __name__ == "__main__":
    main()
