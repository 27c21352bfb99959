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
* Timing (``_timing.py``, shared with ``run_all.py``): thread-pool settings
  (``OPENBLAS_THREAD_TIMEOUT``, ``OMP_WAIT_POLICY``), warm-up untimed (first call, then the calls
  per sample calibrated to ~10 ms), every contender compared with the hand-written result first
  (one that fails or disagrees is reported and not timed), interleaved round-robin samples in a
  shuffled order with garbage collection off, medians; a size whose samples are noisy is measured
  again (up to ``retries`` times), keeping the least noisy measurement. jax compile time
  (ahead-of-time ``lower(...).compile()``) is reported separately. Tables give the median
  per-call time; ratios are to the hand-written closed form, and "speed-up vs jax/torch" is jax
  (torch) time / matcalc raw time.
* Derivation cost: ``mc.hessian(...)`` (or ``mc.hvp``) from the string, then ``.to_numpy()``
  (code generation + compile), each run with matcalc's simplification memo
  (``matcalc.rewrite._MEMO``) cleared first; median over ``derive_runs`` runs.

Usage: ``python benchmarks/hessian_speed.py [--quick] [--write]`` (``--quick``: small sizes, few
repetitions; ``--write``: also write the report to ``benchmarks/RESULTS-hessian.md``).
"""
from __future__ import annotations

import argparse
import functools
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from _timing import (  # first: sets the thread-pool environment before numpy/torch load
    AGREE,
    DEFAULT,
    MIN_REPS,
    NOISY,
    QUICK,
    SETTLE_BELOW_S,
    Settings,
    cell,
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
    timed,
    timed_fresh,
)

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import matcalc as mc  # noqa: E402

import _problems as P  # noqa: E402

RESULTS_FILE = HERE / "RESULTS-hessian.md"
OVERHEAD_BELOW_MS = 1.0       # the wrapper's overhead is summarised over calls faster than this


# ---------------------------------------------------------------------------------------
# The problems (spellings in _problems.py)
# ---------------------------------------------------------------------------------------

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


def problem(p: P.Problem, sizes: tuple, quick_sizes: tuple, name: str | None = None) -> Problem:
    """The Hessian of a shared problem."""
    return Problem(name or p.name, p.f, p.wrt, p.shapes, p.loss, p.others, p.hessian, p.inputs,
                   sizes, quick_sizes)


PROBLEMS = [
    problem(P.QUADRATIC, (100, 1000, 3000), (100,)),
    problem(P.LOGISTIC_REGRESSION, (100, 300, 1000), (100,), "logistic (N = 2n)"),
    problem(P.LEAST_SQUARES, (100, 300, 1000), (100,), "least squares (m = 2n)"),
    Problem("logistic hvp (N = 2n)", P.LOGISTIC, "w", {**P.LOGISTIC_SHAPES, "v": "n"},
            P.logistic_loss, ("X", "y"), P.logistic_hvp,
            functools.partial(P.logistic_inputs, direction=True), (1000,), (100,), direction="v"),
]


# ---------------------------------------------------------------------------------------
# Contenders: each a thunk computing the Hessian (or hvp) on inputs prepared in advance
# ---------------------------------------------------------------------------------------

def jax_thunk(problem: Problem, values: dict):
    """``(thunk, compile seconds)`` of ``jax.jit(jax.hessian(f))`` (hvp: of ``jvp(grad(f))``)."""
    jax = load_jax()
    f = functools.partial(problem.loss, P.jax_ops())
    if problem.direction:
        def product(w, v, *others):
            return jax.jvp(lambda u: jax.grad(f)(u, *others), (w,), (v,))[1]
        names = (problem.wrt, problem.direction) + problem.others
        return jax_contender(product, [values[k] for k in names])
    return jax_contender(jax.hessian(f), [values[k] for k in (problem.wrt,) + problem.others])


def torch_thunk(problem: Problem, values: dict):
    torch = load_torch()
    f = functools.partial(problem.loss, P.torch_ops())
    if problem.direction:
        def call(w, v, *others):
            return torch.func.jvp(lambda u: torch.func.grad(f)(u, *others), (w,), (v,))[1]
        names = (problem.wrt, problem.direction) + problem.others
    else:
        call = torch.func.hessian(f)
        names = (problem.wrt,) + problem.others
    args = [torch.from_numpy(values[k]) for k in names]
    return lambda: call(*args)


def contender_thunks(problem: Problem, fn, values: dict):
    """``({contender name: thunk}, {name: compile seconds})``; matcalc only where it derived the
    Hessian (``fn`` not None), jax and torch only where installed."""
    thunks, compile_s = {"hand-written": lambda: problem.hand(**values)}, {}
    if fn is not None:
        args = P.raw_args(fn, values)
        thunks["matcalc raw"] = lambda: fn.function(*args)
        thunks["matcalc wrapper"] = lambda: fn(**values)
    if load_jax() is not None:
        try:
            thunks["jax"], compile_s["jax"] = jax_thunk(problem, values)
        except Exception as exc:  # noqa: BLE001 - reported by its warm-up
            thunks["jax"] = failing(exc)
    if load_torch() is not None:
        thunks["torch"] = torch_thunk(problem, values)
    return thunks, compile_s


CONTENDERS = ("matcalc raw", "matcalc wrapper", "hand-written", "jax", "torch")
REFERENCE = "hand-written"


def measure_size(problem: Problem, fn, n: int, settings: Settings):
    """The contenders at size ``n`` (a ``_timing.Measurement``), measured again while noisy."""
    def run():
        values = problem.inputs(n, np.random.default_rng(n))
        thunks, compile_s = contender_thunks(problem, fn, values)
        return measure_thunks(problem, n, f"{problem.name}, n={n}", thunks, REFERENCE, settings,
                              compile_s)
    return measure_with_retries(run, settings)


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
            result, seconds = timed_fresh(problem.derive)
            derive_s.append(seconds)
            fn, seconds = timed(result.to_numpy)
            codegen_s.append(seconds)
    except Exception as exc:  # noqa: BLE001 - reported in the tables rather than stop
        return Derivation(problem, f"error: {type(exc).__name__}: {exc}"[:200], "", None, [], [])
    return Derivation(problem, str(result), fn.source, fn, derive_s, codegen_s)


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------

def timing_table(rows: list) -> list:
    head = ("| problem | n | matcalc raw ms | matcalc wrapper ms | hand-written ms | jax ms | torch ms "
            "| raw / hand | wrapper / hand | jax / hand | torch / hand "
            "| matcalc speed-up vs jax | vs torch | jax compile ms | max rel. diff |")
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        compile_ms = r.compile_ms("jax")
        lines.append(
            f"| {cell(r.problem.name)} | {r.n} | "
            + " | ".join(fmt_ms(r.ms(name)) for name in CONTENDERS) + " | "
            + " | ".join(fmt_ratio(r.ratio(name, REFERENCE)) for name in CONTENDERS if name != REFERENCE)
            + f" | {fmt_ratio(r.ratio('jax', 'matcalc raw'))} | {fmt_ratio(r.ratio('torch', 'matcalc raw'))}"
            + f" | {fmt_ms(compile_ms)} | {r.max_rel_diff():.1e} |")
    return lines


def derivation_table(derivations: list) -> list:
    lines = ["| problem | matcalc result | derive ms | to_numpy ms | total ms |",
             "|---|---|---:|---:|---:|"]
    for d in derivations:
        derive_ms, codegen_ms = median_ms(d.derive_s), median_ms(d.codegen_s)
        total_ms = median_ms([a + b for a, b in zip(d.derive_s, d.codegen_s)])
        lines.append(f"| {cell(d.problem.name)} | {cell(d.text)} | {fmt_ms(derive_ms)} "
                     f"| {fmt_ms(codegen_ms)} | {fmt_ms(total_ms)} |")
    return lines


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
    compiles = [r.compile_ms("jax") for r in rows if r.compile_ms("jax") is not None]
    if compiles:
        out.append(f"- jax compile (ahead-of-time lower + compile) total {sum(compiles) / 1000:.1f} s over "
                   f"{len(compiles)} shapes (max {max(compiles):.0f} ms); excluded from the medians")
    noisy = [f"{r.problem.name} n={r.n} {c.name} ({100 * c.spread:.0f}%)" for r in rows
             for c in r.contenders.values() if c.spread is not None and c.spread > NOISY]
    again = [f"{r.problem.name} n={r.n} ({r.attempts}×)" for r in rows if r.attempts > 1]
    out.append(f"- noisy timings (interquartile range over {100 * NOISY:.0f}% of the median) kept: "
               + (", ".join(noisy) if noisy else "none")
               + (f"; sizes measured again for noise: {', '.join(again)}" if again else ""))
    skipped = [name for name, mod in (("jax", load_jax()), ("torch", load_torch())) if mod is None]
    if skipped:
        out.append(f"- not installed, skipped: {', '.join(skipped)}")
    out.append(f"- numerical agreement (< {AGREE:.0e} relative): "
               + ("all contenders agree" if not warning_lines else f"{len(warning_lines)} warning(s)"))
    out.append(f"- whole run: {wall_s:.1f} s")
    return out


def report(rows, derivations, warning_lines, settings: Settings, wall_s: float, load_at_start: str) -> str:
    lines = [
        "# Hessian speed: matcalc's generated code vs jax, torch and a hand-written closed form",
        "",
        f"{environment(mc.__version__)}; 1-min load average {load_at_start} at the start, {load_average()} at the end.",
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
    load_jax(), load_torch()                                  # imports are not timed
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
