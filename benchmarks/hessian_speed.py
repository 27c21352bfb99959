"""Hessian speed: matcalc's generated Hessian code against jax, torch and a hand-written closed form.

Method
------
* Problems (``PROBLEMS``): each is a scalar function given once as a matcalc string, once as a
  loss written for jax/torch (``jnp``/``torch`` ops, ``logaddexp`` for the softplus), and once as
  a hand-written numpy closed form of its Hessian (or, for ``hvp``, its Hessian-vector product).
* Contenders, all in this process on the same float64 inputs:
  - ``matcalc raw``: ``fn.function``, the generated python function, called with positional 2-D
    arrays in the order ``fn.params`` (vectors as ``(n, 1)``), without the input-checking wrapper;
  - ``matcalc wrapper``: ``fn(**arrays)``, the ``NumpyFunction`` a user calls (vectors as ``(n,)``);
  - ``hand-written``: the numpy closed form (the reference for the ratios and the checks);
  - ``jax``: ``jax.jit(jax.hessian(f))`` (for hvp ``jax.jit`` of ``jvp(grad(f))``), inputs already
    on the device, timed up to ``block_until_ready()``;
  - ``torch``: ``torch.func.hessian(f)`` (for hvp ``torch.func.jvp(torch.func.grad(f))``), eager.
  jax and torch are skipped when they cannot be imported, so the script runs with only numpy.
* Thread pools: numpy's OpenBLAS, torch's OpenMP/MKL and XLA's Eigen pool each want all cores,
  and an idle pool keeps spinning after a call (OpenBLAS by default for ~2^28 cycles, ~0.1 s),
  which on a small machine slows whichever library runs next - 2-3x, measured, in a round-robin.
  Before numpy and torch are imported the script therefore sets ``OPENBLAS_THREAD_TIMEOUT=18``
  (OpenBLAS threads spin ~2^18 cycles, then sleep; a shorter timeout made numpy's own small calls
  slower here) and ``OMP_WAIT_POLICY=PASSIVE``, unless they are already set (the report shows the
  values used), and each timed sample of a call shorter than ``SETTLE_BELOW_S`` is preceded by
  one untimed call of the same contender. Thread counts are left at their defaults.
* jax compile time, reported separately: ``jitted.lower(*args).compile()`` timed on its own
  (trace + XLA compile, no run; the jitted function then compiles once more at its warm-up).
* Warm-up (untimed): each contender is called once and the results are compared with the
  hand-written one (max |a - ref| / max |ref| < ``AGREE``; a warning line if not). Then
  ``number``, the calls per timed sample, is calibrated so that a sample lasts about
  ``MIN_SAMPLE_S`` (the per-call time is the sample's time / ``number``).
* Timed samples, interleaved: round after round, every contender that has not yet got both
  ``MIN_REPS`` samples and ``target_s`` seconds of samples (see ``DEFAULT``/``QUICK``) takes one
  sample (round-robin, in a fresh seeded random order each round, so that no contender always
  follows the same other one), with garbage collection off during each sample.
  A size where some contender's samples spread (interquartile range / median) over ``NOISY``
  - other work on the machine - is measured again, up to ``retries`` times, keeping the least
  noisy measurement; the summary lists the sizes measured again and any noise left.
  Tables give the median per-call time; ratios are to the hand-written closed form, and
  "speed-up vs jax/torch" is jax (torch) time / matcalc raw time.
* Derivation cost: ``mc.hessian(...)`` (or ``mc.hvp``) from the string, then ``.to_numpy()``
  (code generation + compile), each run with matcalc's simplification memo
  (``matcalc.rewrite._MEMO``) cleared first; median over ``derive_runs`` runs.

Usage: ``python benchmarks/hessian_speed.py [--quick] [--write]`` (``--quick``: small sizes, few
repetitions; ``--write``: also write the report to ``benchmarks/RESULTS-hessian.md``).
"""
from __future__ import annotations

import argparse
import functools
import gc
import math
import os
import platform
import random
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SETTLE_ENV = {"OPENBLAS_THREAD_TIMEOUT": "18", "OMP_WAIT_POLICY": "PASSIVE"}
for _key, _value in SETTLE_ENV.items():     # must precede the first import of numpy and torch
    os.environ.setdefault(_key, _value)

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import matcalc as mc  # noqa: E402
import matcalc.rewrite  # noqa: E402

try:
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
except ImportError:
    jax = None
try:
    import torch
    import torch.func
except ImportError:
    torch = None

RESULTS_FILE = HERE / "RESULTS-hessian.md"
AGREE = 1e-8                  # max relative difference allowed between contenders
MIN_SAMPLE_S = 0.01           # a timed sample repeats the call until it lasts about this long
SETTLE_BELOW_S = 0.02         # calls shorter than this get an untimed call before each sample
MIN_REPS = 3
NOISY = 0.25                  # a contender whose samples' IQR exceeds this fraction of their median
OVERHEAD_BELOW_MS = 1.0       # the wrapper's overhead is summarised over calls faster than this


@dataclass(frozen=True)
class Settings:
    target_s: float           # timed seconds wanted per contender per size
    max_reps: int
    derive_runs: int
    retries: int              # noisy sizes are measured again up to this many times
    quick: bool


DEFAULT = Settings(target_s=0.3, max_reps=200, derive_runs=7, retries=2, quick=False)
QUICK = Settings(target_s=0.05, max_reps=20, derive_runs=3, retries=0, quick=True)


# ---------------------------------------------------------------------------------------
# The problems: loss (for jax and torch), hand-written closed form, inputs
# ---------------------------------------------------------------------------------------

def quadratic_loss(ops, x, A):
    return x @ A @ x


def logistic_loss(ops, w, X, y):
    return ops.softplus(-y * (X @ w)).sum()


def least_squares_loss(ops, x, A, b):
    r = A @ x - b
    return (r * r).sum()


def logistic_weights(X, w, y):
    """``s (1 - s)`` with ``s = σ(-y ⊙ Xw)`` (the curvature weights; y² = 1)."""
    s = 1.0 / (1.0 + np.exp(y * (X @ w)))
    return s * (1.0 - s)


def hand_quadratic(A, x):
    return A + A.T


def hand_logistic(X, w, y):
    return X.T @ (logistic_weights(X, w, y)[:, None] * X)


def hand_least_squares(A, x, b):
    return 2.0 * (A.T @ A)


def hand_logistic_hvp(X, w, y, v):
    return X.T @ (logistic_weights(X, w, y) * (X @ v))


def quadratic_inputs(n, rng):
    return {"x": rng.normal(size=n), "A": rng.normal(size=(n, n))}


def logistic_inputs(n, rng, direction=False):
    N = 2 * n
    values = {"w": rng.normal(size=n), "X": rng.normal(size=(N, n)) / math.sqrt(n),
              "y": rng.choice([-1.0, 1.0], size=N)}
    if direction:
        values["v"] = rng.normal(size=n)
    return values


def least_squares_inputs(n, rng):
    m = 2 * n
    return {"x": rng.normal(size=n), "A": rng.normal(size=(m, n)), "b": rng.normal(size=m)}


@dataclass(frozen=True)
class Problem:
    name: str
    f: str                            # matcalc source
    wrt: str
    shapes: dict
    loss: Callable                    # loss(ops, wrt value, *others in `others` order)
    others: tuple                     # the other inputs of `loss`, in order
    hand: Callable                    # hand-written closed form, by keyword
    inputs: Callable                  # (n, rng) -> {name: array}, vectors 1-D
    sizes: tuple
    quick_sizes: tuple
    direction: str | None = None      # hvp: the name of the direction vector

    def derive(self):
        if self.direction:
            return mc.hvp(self.f, self.wrt, self.direction, shapes=dict(self.shapes))
        return mc.hessian(self.f, self.wrt, shapes=dict(self.shapes))


LOGISTIC = "sum(log(1 + exp(-y * (X @ w))))"
LOGISTIC_SHAPES = {"y": "N", "X": "N,n", "w": "n"}

PROBLEMS = [
    Problem("quadratic xᵀAx", "x.T @ A @ x", "x", {"x": "n", "A": "n,n"},
            quadratic_loss, ("A",), hand_quadratic, quadratic_inputs, (100, 1000, 3000), (100,)),
    Problem("logistic (N = 2n)", LOGISTIC, "w", LOGISTIC_SHAPES,
            logistic_loss, ("X", "y"), hand_logistic, logistic_inputs, (100, 300, 1000), (100,)),
    Problem("least squares (m = 2n)", "norm2(A @ x - b)**2", "x", {"A": "m,n", "x": "n", "b": "m"},
            least_squares_loss, ("A", "b"), hand_least_squares, least_squares_inputs,
            (100, 300, 1000), (100,)),
    Problem("logistic hvp (N = 2n)", LOGISTIC, "w", {**LOGISTIC_SHAPES, "v": "n"},
            logistic_loss, ("X", "y"), hand_logistic_hvp,
            functools.partial(logistic_inputs, direction=True), (1000,), (100,), direction="v"),
]


# ---------------------------------------------------------------------------------------
# Contenders: each a thunk computing the Hessian (or hvp) on inputs prepared in advance
# ---------------------------------------------------------------------------------------

class JaxOps:
    @staticmethod
    def softplus(z):
        return jnp.logaddexp(z, 0.0)


class TorchOps:
    @staticmethod
    def softplus(z):
        return torch.logaddexp(z, torch.zeros_like(z))


def jax_call(problem: Problem, values: dict):
    """``(jitted function, its arguments on the device)``."""
    f = functools.partial(problem.loss, JaxOps)
    if problem.direction:
        def product(w, v, *others):
            return jax.jvp(lambda u: jax.grad(f)(u, *others), (w,), (v,))[1]
        jitted = jax.jit(product)
        names = (problem.wrt, problem.direction) + problem.others
    else:
        jitted = jax.jit(jax.hessian(f))
        names = (problem.wrt,) + problem.others
    return jitted, [jax.device_put(values[k]).block_until_ready() for k in names]


def jax_thunk(problem: Problem, values: dict):
    jitted, args = jax_call(problem, values)
    return lambda: jitted(*args).block_until_ready()


def jax_compile_s(problem: Problem, values: dict) -> float:
    """Seconds to trace and compile ahead of time (``lower(...).compile()``), without a run."""
    jitted, args = jax_call(problem, values)
    return timed(lambda: jitted.lower(*args).compile())[1]


def torch_thunk(problem: Problem, values: dict):
    f = functools.partial(problem.loss, TorchOps)
    if problem.direction:
        def call(w, v, *others):
            return torch.func.jvp(lambda u: torch.func.grad(f)(u, *others), (w,), (v,))[1]
        names = (problem.wrt, problem.direction) + problem.others
    else:
        call = torch.func.hessian(f)
        names = (problem.wrt,) + problem.others
    args = [torch.from_numpy(values[k]) for k in names]
    return lambda: call(*args)


def raw_args(fn, values: dict) -> list:
    """Positional arguments of the generated function: 2-D arrays in ``fn.params`` order."""
    if fn.free_dims:
        raise NotImplementedError(f"free sizes {fn.free_dims} are not supported here")
    return [values[name].reshape(-1, 1) if values[name].ndim == 1 else values[name]
            for name in fn.params]


def contender_thunks(problem: Problem, fn, values: dict) -> dict:
    """``{contender name: thunk}``; matcalc only where it derived the Hessian (``fn`` not None),
    jax and torch only where installed."""
    thunks = {"hand-written": lambda: problem.hand(**values)}
    if fn is not None:
        args = raw_args(fn, values)
        thunks["matcalc raw"] = lambda: fn.function(*args)
        thunks["matcalc wrapper"] = lambda: fn(**values)
    if jax is not None:
        thunks["jax"] = jax_thunk(problem, values)
    if torch is not None:
        thunks["torch"] = torch_thunk(problem, values)
    return thunks


CONTENDERS = ("matcalc raw", "matcalc wrapper", "hand-written", "jax", "torch")
REFERENCE = "hand-written"


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------

def timed(fn, number: int = 1):
    """``(last result, seconds per call)`` of ``number`` calls of ``fn``, garbage collection off."""
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            result = fn()
        return result, (time.perf_counter() - start) / number
    finally:
        if gc_was_enabled:
            gc.enable()


def relative_difference(a, reference: np.ndarray) -> float:
    a = np.asarray(a, dtype=float).reshape(reference.shape)
    return float(np.max(np.abs(a - reference)) / max(np.max(np.abs(reference)), 1e-300))


@dataclass
class Contender:
    name: str
    thunk: Callable
    number: int = 1                   # calls per timed sample
    settle: bool = True               # an untimed call before each sample
    samples: list = field(default_factory=list)
    error: str = ""
    rel_diff: float | None = None

    def warm_up(self):
        """The first call, then ``calibrate``. Returns the first result, or None when the call
        fails."""
        try:
            result = self.thunk()
            self.calibrate()
        except Exception as exc:  # noqa: BLE001 - a contender that fails is reported, not fatal
            self.error = f"{type(exc).__name__}: {exc}"[:120]
            return None
        return result

    def calibrate(self):
        """``number`` such that a sample lasts about ``MIN_SAMPLE_S``, from timing 1, 2, 5, 10,
        20, ... calls until together they last that long (as ``timeit``'s autorange). Calls
        shorter than that then all give samples of about the same length, so that contenders
        take their samples over the same rounds."""
        for number in (k * 10 ** e for e in range(7) for k in (1, 2, 5)):
            _, per_call = timed(self.thunk, number)
            if per_call * number >= MIN_SAMPLE_S:
                break
        if number == 1 and per_call < 10 * MIN_SAMPLE_S:   # one call may have been a slow one
            per_call = min(per_call, timed(self.thunk)[1])
        self.number = max(1, math.ceil(MIN_SAMPLE_S / per_call))
        self.settle = per_call < SETTLE_BELOW_S

    def sample(self):
        if self.settle:
            self.thunk()
        self.samples.append(timed(self.thunk, self.number)[1])

    def wants_more(self, settings: Settings) -> bool:
        if self.error:
            return False
        spent = sum(self.samples) * self.number
        return len(self.samples) < settings.max_reps and (
            len(self.samples) < MIN_REPS or spent < settings.target_s)

    @property
    def ms(self):
        return 1000 * statistics.median(self.samples) if self.samples else None

    @property
    def spread(self):
        """Interquartile range of the samples / their median (None with fewer than 4)."""
        if len(self.samples) < 4:
            return None
        q1, _, q3 = statistics.quantiles(self.samples, n=4)
        return (q3 - q1) / statistics.median(self.samples)


def measure(contenders: list, settings: Settings):
    """Interleaved samples, round-robin in a shuffled order, until each contender has enough."""
    order = random.Random(0)
    while True:
        active = [c for c in contenders if c.wants_more(settings)]
        if not active:
            return
        order.shuffle(active)
        for c in active:
            c.sample()


@dataclass
class Row:
    problem: Problem
    n: int
    contenders: dict                  # name -> Contender
    warnings: list = field(default_factory=list)
    jax_compile_s: float | None = None
    attempts: int = 1

    @property
    def worst_spread(self) -> float:
        return max((c.spread for c in self.contenders.values() if c.spread is not None), default=0.0)

    def ms(self, name):
        c = self.contenders.get(name)
        return None if c is None else c.ms

    def jax_compile_ms(self):
        return None if self.jax_compile_s is None else 1000 * self.jax_compile_s

    def ratio(self, top, bottom):
        a, b = self.ms(top), self.ms(bottom)
        return a / b if a is not None and b else None


def run_size(problem: Problem, fn, n: int, settings: Settings) -> Row:
    values = problem.inputs(n, np.random.default_rng(n))
    contenders = {name: Contender(name, thunk)
                  for name, thunk in contender_thunks(problem, fn, values).items()}
    row = Row(problem, n, contenders)
    if "jax" in contenders:
        try:
            row.jax_compile_s = jax_compile_s(problem, values)
        except Exception:  # noqa: BLE001 - a failing jax is reported by its warm-up
            row.jax_compile_s = None
    results = {name: c.warm_up() for name, c in contenders.items()}
    reference = np.asarray(results[REFERENCE], dtype=float)
    for name, c in contenders.items():
        if c.error:
            row.warnings.append(f"WARNING: {problem.name}, n={n}: {name} failed: {c.error}")
            continue
        c.rel_diff = relative_difference(results[name], reference)
        if not c.rel_diff < AGREE:
            row.warnings.append(f"WARNING: {problem.name}, n={n}: {name} disagrees with the "
                                f"hand-written closed form: max relative difference {c.rel_diff:.1e}")
    del results
    measure(list(contenders.values()), settings)
    return row


def measure_size(problem: Problem, fn, n: int, settings: Settings) -> Row:
    """``run_size``, again (up to ``settings.retries`` times) while some contender's samples are
    noisy (spread over ``NOISY``: other work on the machine); the least noisy measurement is kept."""
    rows = [run_size(problem, fn, n, settings)]
    while rows[-1].worst_spread > NOISY and len(rows) <= settings.retries:
        rows.append(run_size(problem, fn, n, settings))
    best = min(rows, key=lambda r: r.worst_spread)
    best.attempts = len(rows)
    return best


# ---------------------------------------------------------------------------------------
# Derivation cost
# ---------------------------------------------------------------------------------------

@dataclass
class Derivation:
    problem: Problem
    text: str
    source: str
    fn: object
    derive_s: list
    codegen_s: list


def derive(problem: Problem, runs: int) -> Derivation:
    """``runs`` fresh derivations (memo cleared) and code generations, timed separately. When
    matcalc fails, the derivation has ``fn`` None and the error as its text (the other
    contenders are still timed)."""
    derive_s, codegen_s = [], []
    try:
        for _ in range(runs):
            matcalc.rewrite._MEMO.clear()
            result, seconds = timed(problem.derive)
            derive_s.append(seconds)
            fn, seconds = timed(result.to_numpy)
            codegen_s.append(seconds)
    except Exception as exc:  # noqa: BLE001 - reported in the tables rather than stop
        return Derivation(problem, f"error: {type(exc).__name__}: {exc}"[:200], "", None, [], [])
    return Derivation(problem, str(result), fn.source, fn, derive_s, codegen_s)


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------

def fmt_ms(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def fmt_ratio(value) -> str:
    return "n/a" if value is None else f"{value:.2f}×" if value < 10 else f"{value:.0f}×"


def cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def timing_table(rows: list) -> list:
    head = ("| problem | n | matcalc raw ms | matcalc wrapper ms | hand-written ms | jax ms | torch ms "
            "| raw / hand | wrapper / hand | jax / hand | torch / hand "
            "| matcalc speed-up vs jax | vs torch | jax compile ms | max rel. diff |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        compile_ms = r.jax_compile_ms()
        diffs = [c.rel_diff for c in r.contenders.values() if c.rel_diff is not None]
        lines.append(
            f"| {cell(r.problem.name)} | {r.n} | "
            + " | ".join(fmt_ms(r.ms(name)) for name in CONTENDERS) + " | "
            + " | ".join(fmt_ratio(r.ratio(name, REFERENCE)) for name in CONTENDERS if name != REFERENCE)
            + f" | {fmt_ratio(r.ratio('jax', 'matcalc raw'))} | {fmt_ratio(r.ratio('torch', 'matcalc raw'))}"
            + f" | {fmt_ms(compile_ms)} | {max(diffs):.1e} |")
    return lines


def derivation_table(derivations: list) -> list:
    lines = ["| problem | matcalc result | derive ms | to_numpy ms | total ms |",
             "|---|---|---:|---:|---:|"]
    def median_ms(seconds):
        return 1000 * statistics.median(seconds) if seconds else None

    for d in derivations:
        derive_ms, codegen_ms = median_ms(d.derive_s), median_ms(d.codegen_s)
        total_ms = median_ms([a + b for a, b in zip(d.derive_s, d.codegen_s)])
        lines.append(f"| {cell(d.problem.name)} | {cell(d.text)} | {fmt_ms(derive_ms)} "
                     f"| {fmt_ms(codegen_ms)} | {fmt_ms(total_ms)} |")
    return lines


def geometric_mean(values):
    values = [v for v in values if v is not None]
    return float(np.exp(np.mean(np.log(values)))) if values else None


def summary(rows: list, warning_lines: list, wall_s: float) -> list:
    out = []
    for name in CONTENDERS:
        ratios = [r.ratio(name, REFERENCE) for r in rows]
        if name != REFERENCE and any(v is not None for v in ratios):
            known = [v for v in ratios if v is not None]
            out.append(f"- {name} / hand-written: geometric mean {fmt_ratio(geometric_mean(known))} "
                       f"(range {fmt_ratio(min(known))} – {fmt_ratio(max(known))}) over {len(known)} rows")
    overhead = [r.ms("matcalc wrapper") - r.ms("matcalc raw") for r in rows
                if r.ms("matcalc wrapper") is not None and r.ms("matcalc raw") is not None
                and r.ms("matcalc raw") < OVERHEAD_BELOW_MS]
    if overhead:
        out.append(f"- wrapper overhead (wrapper − raw) on the {len(overhead)} rows whose raw call "
                   f"is under {OVERHEAD_BELOW_MS:g} ms (above, it is lost in the noise): median "
                   f"{1000 * statistics.median(overhead):.0f} µs (range {1000 * min(overhead):.0f} – "
                   f"{1000 * max(overhead):.0f} µs)")
    for other in ("jax", "torch"):
        speedups = [(r.ratio(other, "matcalc raw"), r) for r in rows if r.ratio(other, "matcalc raw")]
        if speedups:
            lo, hi = min(speedups, key=lambda t: t[0]), max(speedups, key=lambda t: t[0])
            out.append(f"- matcalc (raw) speed-up vs {other}: geometric mean "
                       f"{fmt_ratio(geometric_mean([s for s, _ in speedups]))}, from "
                       f"{fmt_ratio(lo[0])} ({lo[1].problem.name}, n={lo[1].n}) to "
                       f"{fmt_ratio(hi[0])} ({hi[1].problem.name}, n={hi[1].n})")
    compiles = [r.jax_compile_ms() for r in rows if r.jax_compile_ms() is not None]
    if compiles:
        out.append(f"- jax compile (ahead-of-time lower + compile) total {sum(compiles) / 1000:.1f} s over "
                   f"{len(compiles)} shapes (max {max(compiles):.0f} ms); excluded from the medians")
    noisy = [f"{r.problem.name} n={r.n} {c.name} ({100 * c.spread:.0f}%)" for r in rows
             for c in r.contenders.values() if c.spread is not None and c.spread > NOISY]
    again = [f"{r.problem.name} n={r.n} ({r.attempts}×)" for r in rows if r.attempts > 1]
    out.append(f"- noisy timings (interquartile range over {100 * NOISY:.0f}% of the median) kept: "
               + (", ".join(noisy) if noisy else "none")
               + (f"; sizes measured again for noise: {', '.join(again)}" if again else ""))
    skipped = [name for name, mod in (("jax", jax), ("torch", torch)) if mod is None]
    if skipped:
        out.append(f"- not installed, skipped: {', '.join(skipped)}")
    out.append(f"- numerical agreement (< {AGREE:.0e} relative): "
               + ("all contenders agree" if not warning_lines else f"{len(warning_lines)} warning(s)"))
    out.append(f"- whole run: {wall_s:.1f} s")
    return out


def environment() -> str:
    parts = [f"matcalc {mc.__version__}", f"numpy {np.__version__}"]
    if jax is not None:
        parts.append(f"jax {jax.__version__} ({jax.default_backend()})")
    if torch is not None:
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    settle = ", ".join(f"{k}={os.environ.get(k)}" for k in SETTLE_ENV)
    return (f"{', '.join(parts)}; Python {platform.python_version()} on {platform.machine()}, "
            f"{os.cpu_count()} CPU(s); {settle}; float64 throughout")


def load_average() -> str:
    """The 1-minute load average (other work on the machine skews the timings)."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"


def report(rows, derivations, warning_lines, settings: Settings, wall_s: float, load_at_start: str) -> str:
    lines = [
        "# Hessian speed: matcalc's generated code vs jax, torch and a hand-written closed form",
        "",
        f"{environment()}; 1-min load average {load_at_start} at the start, {load_average()} at the end.",
        "",
        (f"Median per-call time (ms) over interleaved round-robin samples (≥ {MIN_REPS} samples and "
         f"≈ {settings.target_s:g} s per contender per size{'; --quick' if settings.quick else ''}), "
         f"warm-up excluded; calls under {1000 * SETTLE_BELOW_S:g} ms get one untimed call before each "
         "sample. raw = the generated function with positional 2-D arrays; wrapper = the "
         "`NumpyFunction` called by name. jax = `jax.jit(jax.hessian(f))` (hvp: jit of "
         "`jvp(grad(f))`), torch = `torch.func.hessian(f)` (hvp: `torch.func.jvp(grad(f))`), eager. "
         "Ratios: contender / hand-written (lower is faster); speed-up = jax (torch) / matcalc raw. "
         "jax compile = `lower(...).compile()` (trace + XLA compile). Max rel. diff = largest max|a − ref| / max|ref| "
         "of any contender vs the hand-written form."),
        "",
        "## Evaluation",
        "",
        *timing_table(rows),
        "",
        "## Derivation cost",
        "",
        (f"Median of {settings.derive_runs} runs, `matcalc.rewrite._MEMO` cleared before each: "
         "derive = `mc.hessian(f, wrt, shapes=...)` (`mc.hvp` for the hvp) from the string; "
         "to_numpy = code generation and compile."),
        "",
        *derivation_table(derivations),
        "",
        "## Summary",
        "",
        *summary(rows, warning_lines, wall_s),
        *([""] + warning_lines if warning_lines else []),
        "",
        "## Generated code",
        "",
    ]
    for d in (d for d in derivations if d.source):
        lines += [f"{d.problem.name}:", "", "```python", d.source.rstrip(), "```", ""]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only, few repetitions")
    parser.add_argument("--write", action="store_true", help=f"also write {RESULTS_FILE.name}")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else DEFAULT
    warnings.filterwarnings("ignore", category=UserWarning)   # e.g. torch/jax start-up notices

    load_at_start = load_average()
    start = time.perf_counter()
    rows, derivations, derivation_failures = [], [], []
    for problem in PROBLEMS:
        derivation = derive(problem, settings.derive_runs)
        derivations.append(derivation)
        if derivation.fn is None:
            derivation_failures.append(f"WARNING: {problem.name}: matcalc failed, {derivation.text}")
            print(derivation_failures[-1], flush=True)
        for n in (problem.quick_sizes if settings.quick else problem.sizes):
            row = measure_size(problem, derivation.fn, n, settings)
            for line in row.warnings:
                print(line, flush=True)
            rows.append(row)
            print(f"  done: {problem.name}, n={n} ({time.perf_counter() - start:.0f} s)",
                  file=sys.stderr, flush=True)
    warning_lines = derivation_failures + [line for r in rows for line in r.warnings]
    text = report(rows, derivations, warning_lines, settings, time.perf_counter() - start, load_at_start)
    print(text)
    if args.write:
        RESULTS_FILE.write_text(text, encoding="utf-8")
        print(f"written to {RESULTS_FILE}")


if __name__ == "__main__":
    main()
