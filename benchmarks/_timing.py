"""Shared measurement machinery of the benchmarks (``run_all.py`` and
``derive_speed.py``): thread settings, timing, interleaved sampling, agreement checks, formatting.

Import this module before numpy and torch: it sets the thread-pool environment they read once.

Method
------
* Thread pools: numpy's OpenBLAS, torch's OpenMP/MKL and XLA's Eigen pool each want all cores,
  and an idle pool keeps spinning after a call (OpenBLAS by default for ~2^28 cycles, ~0.1 s),
  which on a small machine slows whichever library runs next - 2-3x, measured, in a round-robin.
  This module therefore sets ``OPENBLAS_THREAD_TIMEOUT=18`` (OpenBLAS threads spin ~2^18 cycles,
  then sleep; a shorter timeout made numpy's own small calls slower) and
  ``OMP_WAIT_POLICY=PASSIVE``, unless they are already set (``environment()`` reports the values
  used), and each timed sample of a call shorter than ``SETTLE_BELOW_S`` is preceded by one
  untimed call of the same contender. Thread counts are left at their defaults.
* A contender is a thunk: a call with its inputs prepared in advance (for jax: on the device,
  timed up to ``block_until_ready()``).
* Warm-up (untimed, ``measure_thunks``): each contender is called once and its result compared
  with the reference contender's (max |a - ref| / max |ref| < ``AGREE``); a contender that fails
  or disagrees gets a warning and is not timed. Then ``number``, the calls per timed sample, is
  calibrated so that a sample lasts about ``MIN_SAMPLE_S`` (per-call time = sample / ``number``).
* Timed samples, interleaved (``measure``): round after round, every contender that has not yet
  got both ``MIN_REPS`` samples and ``Settings.target_s`` seconds of samples takes one sample,
  in a fresh seeded random order each round (so no contender always follows the same other
  one), with garbage collection off during each sample.
* Noise (``measure_with_retries``): a measurement where some contender's samples spread
  (interquartile range / median) over ``NOISY`` - other work on the machine - is taken again, up
  to ``Settings.retries`` times, keeping the least noisy one.
* jax compile time (``jax_contender``) is timed on its own, ahead of time
  (``jitted.lower(*args).compile()``: trace + XLA compile, no run, jax's caches cleared first);
  the jitted function then compiles once more at its warm-up, which is excluded from the samples.
"""
from __future__ import annotations

import functools
import gc
import math
import os
import platform
import random
import signal
import statistics
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

SETTLE_ENV = {"OPENBLAS_THREAD_TIMEOUT": "18", "OMP_WAIT_POLICY": "PASSIVE"}
for _key, _value in SETTLE_ENV.items():     # must precede the first import of numpy and torch
    os.environ.setdefault(_key, _value)

import numpy as np  # noqa: E402

AGREE = 1e-8                  # max relative difference allowed between contenders
MIN_SAMPLE_S = 0.01           # a timed sample repeats the call until it lasts about this long
SETTLE_BELOW_S = 0.02         # calls shorter than this get an untimed call before each sample
MIN_REPS = 3
NOISY = 0.25                  # a contender whose samples' IQR exceeds this fraction of their median


@dataclass(frozen=True)
class Settings:
    target_s: float           # timed seconds wanted per contender per measurement
    max_reps: int
    derive_runs: int          # fresh derivations timed per derivation-cost entry
    retries: int              # noisy measurements are taken again up to this many times
    quick: bool


DEFAULT = Settings(target_s=0.3, max_reps=200, derive_runs=7, retries=2, quick=False)
QUICK = Settings(target_s=0.05, max_reps=20, derive_runs=3, retries=0, quick=True)


# ---------------------------------------------------------------------------------------
# Optional frameworks (imported on first use: jax takes a second to import)
# ---------------------------------------------------------------------------------------

@functools.cache
def load_jax():
    """The ``jax`` module with float64 enabled, or None when it is not installed."""
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    return jax


@functools.cache
def load_torch():
    """The ``torch`` module (with ``torch.func``), or None when it is not installed."""
    try:
        import torch
        import torch.func  # noqa: F401
    except ImportError:
        return None
    return torch


def failing(exc: Exception):
    """A thunk that raises ``exc``: a contender that could not be set up is then reported by its
    warm-up like one that fails when called."""
    def thunk():
        raise exc
    return thunk


def jax_contender(fn: Callable, args: list):
    """``(thunk, compile seconds)`` for ``jax.jit(fn)`` on ``args`` put on the device first. The
    compile time is that of an ahead-of-time ``lower(*args).compile()`` (no run), with jax's
    caches cleared first: a computation measured again (a noisy size) would otherwise find its
    executable cached and report a compile time of well under a millisecond."""
    jax = load_jax()
    jax.clear_caches()
    jitted = jax.jit(fn)
    args = [jax.device_put(a).block_until_ready() for a in args]
    compile_s = timed(lambda: jitted.lower(*args).compile())[1]
    return (lambda: jitted(*args).block_until_ready()), compile_s


# ---------------------------------------------------------------------------------------
# Timing
# ---------------------------------------------------------------------------------------

def timed(fn: Callable, number: int = 1):
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


def timed_fresh(derive: Callable):
    """``(result, seconds)`` of one matcalc derivation ``derive()`` from scratch: matcalc's
    caches (recently made nodes, the memos on live nodes) are cleared first
    (``matcalc.expr.clear_caches``)."""
    import matcalc.expr
    matcalc.expr.clear_caches()
    return timed(derive)


class TimeLimit(Exception):
    pass


@contextmanager
def time_limit(seconds: float):
    """Raise ``TimeLimit`` in the block after ``seconds`` (SIGALRM: main thread, and the block
    must return to Python now and then, as sympy does)."""
    def on_alarm(signum, frame):
        raise TimeLimit(f"over {seconds:g} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def describe(exc: BaseException, limit: int = 80) -> str:
    """A short reason for a failure; where the message is empty, the function that raised."""
    message = str(exc).strip().split("\n")[0]
    if not message and exc.__traceback__ is not None:
        tb = exc.__traceback__
        while tb.tb_next is not None:
            tb = tb.tb_next
        message = f"raised at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno}"
    return f"{type(exc).__name__}: {message}"[:limit]


def relative_difference(a, reference: np.ndarray) -> float:
    """max |a - reference| / max |reference|, ``a`` reshaped to the reference's shape (a vector
    may come back as ``(n,)`` or ``(n, 1)``)."""
    a = np.asarray(a, dtype=float)
    if a.size != reference.size:
        return math.inf
    a = a.reshape(reference.shape)
    return float(np.max(np.abs(a - reference)) / max(np.max(np.abs(reference)), 1e-300))


@dataclass
class Contender:
    name: str
    thunk: Callable
    number: int = 1                   # calls per timed sample
    settle: bool = True               # an untimed call before each sample
    samples: list = field(default_factory=list)
    error: str = ""                   # why it is not timed: it failed or disagrees
    rel_diff: float | None = None

    def warm_up(self):
        """The first call, then ``calibrate``. Returns the first result, or None when the call
        fails (``error`` then says why)."""
        try:
            result = self.thunk()
            self.calibrate()
        except Exception as exc:  # noqa: BLE001 - a contender that fails is reported, not fatal
            self.error = describe(exc, 120)
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
class Measurement:
    """The contenders of one problem at one size, measured together."""
    problem: object
    n: int
    contenders: dict                  # name -> Contender
    warnings: list = field(default_factory=list)
    compile_s: dict = field(default_factory=dict)   # name -> seconds (jitted contenders)
    attempts: int = 1

    @property
    def worst_spread(self) -> float:
        return max((c.spread for c in self.contenders.values() if c.spread is not None), default=0.0)

    def ms(self, name):
        c = self.contenders.get(name)
        return None if c is None else c.ms

    def compile_ms(self, name):
        seconds = self.compile_s.get(name)
        return None if seconds is None else 1000 * seconds

    def ratio(self, top, bottom):
        a, b = self.ms(top), self.ms(bottom)
        return a / b if a is not None and b else None

    def max_rel_diff(self):
        """The largest relative difference to the reference among the contenders timed."""
        return max((c.rel_diff for c in self.contenders.values()
                    if c.rel_diff is not None and not c.error), default=None)


def measure_thunks(problem, n: int, label: str, thunks: dict, reference: str, settings: Settings,
                   compile_s: dict | None = None) -> Measurement:
    """Warm up every thunk, check it against ``thunks[reference]`` (a contender that fails or
    disagrees gets a warning and is dropped from the timing), then ``measure`` the others."""
    contenders = {name: Contender(name, thunk) for name, thunk in thunks.items()}
    row = Measurement(problem, n, contenders, compile_s=dict(compile_s or {}))
    results = {name: c.warm_up() for name, c in contenders.items()}
    if contenders[reference].error:
        raise RuntimeError(f"{label}: the reference {reference} failed: {contenders[reference].error}")
    ref = np.asarray(results[reference], dtype=float)
    for name, c in contenders.items():
        if c.error:
            row.warnings.append(f"WARNING: {label}: {name} failed: {c.error}")
            continue
        c.rel_diff = relative_difference(results[name], ref)
        if not c.rel_diff < AGREE:
            c.error = f"disagrees with {reference} (max relative difference {c.rel_diff:.1e})"
            row.warnings.append(f"WARNING: {label}: {name} {c.error}; not timed")
    del results
    measure(list(contenders.values()), settings)
    return row


def measure_with_retries(run: Callable[[], Measurement], settings: Settings) -> Measurement:
    """``run()``, again (up to ``settings.retries`` times) while some contender's samples are
    noisy (spread over ``NOISY``); the least noisy measurement is kept."""
    rows = [run()]
    while rows[-1].worst_spread > NOISY and len(rows) <= settings.retries:
        rows.append(run())
    best = min(rows, key=lambda r: r.worst_spread)
    best.attempts = len(rows)
    return best


def median_ms(seconds: list):
    return 1000 * statistics.median(seconds) if seconds else None


# ---------------------------------------------------------------------------------------
# Formatting and the machine
# ---------------------------------------------------------------------------------------

def fmt_ms(value) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def fmt_ratio(value) -> str:
    return "n/a" if value is None else f"{value:.2f}×" if value < 10 else f"{value:.0f}×"


def cell(text) -> str:
    """``text`` made safe for a markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def geometric_mean(values):
    values = [v for v in values if v is not None]
    return float(np.exp(np.mean(np.log(values)))) if values else None


def environment(matcalc_version: str) -> str:
    """Versions, machine and thread settings, in one line."""
    parts = [f"matcalc {matcalc_version}", f"numpy {np.__version__}"]
    jax, torch = load_jax(), load_torch()
    if jax is not None:
        parts.append(f"jax {jax.__version__} ({jax.default_backend()})")
    if torch is not None:
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    settle = ", ".join(f"{k}={os.environ.get(k)}" for k in SETTLE_ENV)
    return (f"{', '.join(parts)}; Python {platform.python_version()} on {platform.machine()}, "
            f"{os.cpu_count()} CPU(s); {settle}; float64 throughout")


class OtherWork:
    """CPU time used by other processes since ``mark()``, in cores (averaged over the wall time):
    the machine's busy time from ``/proc/stat`` minus this process's own CPU time. Other work
    matters more than its share suggests: a multithreaded BLAS call whose helper thread finds its
    core taken waits a scheduler tick (~4-8 ms) for it. None where ``/proc/stat`` is missing."""

    def __init__(self):
        self.mark()

    @staticmethod
    def _read():
        try:
            with open("/proc/stat", encoding="ascii") as stat:
                ticks = [int(v) for v in stat.readline().split()[1:9]]
        except OSError:
            return None
        busy = sum(ticks) - ticks[3] - ticks[4]          # all but idle and iowait
        own = os.times()
        return busy / os.sysconf("SC_CLK_TCK"), own.user + own.system, time.perf_counter()

    def mark(self):
        self.start = self._read()

    def cores(self) -> float | None:
        now = self._read()
        if now is None or self.start is None or now[2] <= self.start[2]:
            return None
        busy, own, wall = (a - b for a, b in zip(now, self.start))
        return max(0.0, (busy - own) / wall)


def other_work_now(seconds: float = 1.0) -> float | None:
    """Cores used by other processes over the next ``seconds`` (this process sleeps)."""
    probe = OtherWork()
    time.sleep(seconds)
    return probe.cores()


def load_average() -> str:
    """The 1-minute load average (other work on the machine skews the timings)."""
    return f"{os.getloadavg()[0]:.2f}" if hasattr(os, "getloadavg") else "n/a"
