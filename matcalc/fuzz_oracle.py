"""Running one fuzz case, and the oracles that judge it.

``run_case(case)`` derives (or verifies), compiles, evaluates and checks the function of a case
(``fuzz_grammar.Case``) and classifies what happened:

- ``ok``; ``rejected``: a ``MatcalcError`` (the promise for bad input); ``inconclusive``:
  ``check()`` could not decide, or ``verify`` gave no verdict;
- ``crash``: any other exception, or a ``MatcalcError`` that says it is a bug (an
  ``InternalError``, a message starting "internal"); ``memory``: a ``MemoryError``, or a
  ``MatcalcError`` made of one (the sandbox bounds memory);
- ``wrong``: a silently wrong result — the derivative has the wrong shape; ``check()`` calls it
  wrong (told apart, by central differences of the reference, from ``check()`` calling a right
  derivative wrong); the generated code (numpy, and jax or torch when asked) evaluates to a
  complex number, to the wrong shape, or to a value that differs from ``Reference``, an
  independent node-by-node evaluation of the same expression in float64 numpy; two variables
  share a name, or a variable and a size parameter; ``verify`` calls the answer itself wrong, or
  a claim made slightly wrong (or wrong only far from the usual inputs) right.

Values are compared at three inputs: the standard draw of ``check`` (respecting properties and
domains), a hostile draw (each variable scaled by 10^±200, 10^±8 or 1 and negated where its
declared properties allow; a scalar sometimes -8, 3, -1…) and all zeros (there only exceptions,
types and shapes count). Where the reference overflows, is undefined (a singular matrix), or
where another order of a product could overflow or underflow, values are not compared; where it
is ``nan`` without any overflow (a domain error such as ``(-8)**(1/3)``), numpy semantics require
``nan`` from the generated code too. The tolerance follows the conditioning of the reference at
that input (the larger of its changes when the inputs move by 1e-12 relatively, in two random
directions) and the size of the terms that cancel in its sums; an entry that a move changes by
more than 1e-4 of itself (a condition number past 1e8: ``sin`` of 10¹⁶, where ``x/y`` and
``x·y⁻¹`` already differ) is not compared. Inputs are drawn in the order of the variables' names,
so a seed means one case whatever the hash seed.
"""
from __future__ import annotations

import importlib.util
import math
import re
import time
import traceback
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from scipy import special

from . import expr as E
from .errors import MatcalcError
from .fuzz_grammar import Case, api_variables, build_api
from .shapes import SCALAR, resolve_dim

OUTCOMES = ("ok", "rejected", "inconclusive", "crash", "hang", "memory", "wrong")
FAILURES = ("crash", "hang", "memory", "wrong")


@dataclass
class Result:
    """What happened to a case. ``phase``: where (``derive``, ``evaluate numpy at the hostile
    point``…); ``error``: the exception type, or a fixed label of what is wrong; ``location``:
    the innermost frame in matcalc (or in its generated code) for a crash."""
    outcome: str
    phase: str = ""
    error: str = ""
    message: str = ""
    location: str = ""
    seconds: float = 0.0
    wrt: str = ""       # the variable differentiated by, as the case resolved it

    @property
    def failed(self) -> bool:
        return self.outcome in FAILURES

    def signature(self) -> tuple:
        """Failures of one class: the same outcome, error and place (for a wrong value, the
        backend, wherever the inputs)."""
        return (self.outcome, self.error, self.location or re.sub(r" at the \w+ point", "", self.phase))

    def __str__(self):
        where = f" [{self.location}]" if self.location else ""
        return f"{self.outcome} in {self.phase}: {self.error}: {self.message}{where}"


class Failure(Exception):
    """Raised inside a case to stop it with a ``wrong`` result."""

    def __init__(self, error: str, message: str):
        super().__init__(message)
        self.error = error


# ---------------------------------------------------------------------------------------
# The reference: node by node, float64 numpy, independent of the code generator
# ---------------------------------------------------------------------------------------

class Unavailable(Exception):
    """The reference cannot evaluate this expression (an operation it does not know)."""


def _float(value) -> float:
    """A constant in float64, overflowing to ±inf as numpy does."""
    try:
        return float(value)
    except OverflowError:
        return math.copysign(math.inf, value)


SQRT_2PI = math.sqrt(2 * math.pi)


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(z / 2))   # σ(z) = (1 + tanh(z/2))/2, with no overflow


def _norm2(a):
    big = np.max(np.abs(a)) if a.size else 0.0
    if big == 0 or not np.isfinite(big):
        return np.sqrt(np.sum(a * a))
    return big * np.sqrt(np.sum((a / big) ** 2))   # scaled: no overflow or underflow


ELEMENTWISE = {
    "exp": np.exp, "log": np.log, "sin": np.sin, "cos": np.cos, "tan": np.tan, "tanh": np.tanh,
    "sigmoid": _sigmoid, "relu": lambda z: np.maximum(z, 0.0), "softplus": lambda z: np.logaddexp(0.0, z),
    "abs": np.abs, "step": lambda z: np.heaviside(z, 0.0), "sign": np.sign, "sqrt": np.sqrt,
    "sinh": np.sinh, "cosh": np.cosh, "arcsin": np.arcsin, "arccos": np.arccos, "arctan": np.arctan,
    "log1p": np.log1p, "expm1": np.expm1, "erf": special.erf, "normcdf": special.ndtr,
    "normpdf": lambda z: np.exp(-0.5 * z * z) / SQRT_2PI, "gelu": lambda z: z * special.ndtr(z),
    "silu": lambda z: z * _sigmoid(z),
}


class Reference:
    """Evaluates expressions at one input directly. ``overflowed``: an intermediate was ±inf or
    ``nan``; ``undefined``: a (numerically) singular matrix was inverted; ``fragile``: another order of a
    product could overflow or underflow; ``cancel``: the largest magnitude of terms added up (the
    scale of cancellation errors)."""

    def __init__(self, values: dict, sizes: dict):
        self.values = values            # variable -> array
        self.sizes = sizes
        self.memo: dict = {}
        self.overflowed = False
        self.undefined = False
        self.fragile = False
        self.cancel = 0.0

    def __call__(self, e: E.Expr) -> np.ndarray:
        with np.errstate(all="ignore"):
            for n in E.walk(e):
                if n not in self.memo:
                    value = np.asarray(self._node(n, [self.memo[a] for a in n.args]), dtype=float)
                    if not np.all(np.isfinite(value)):
                        self.overflowed = True
                    self.memo[n] = value
        return self.memo[e]

    def shape(self, e: E.Expr) -> tuple:
        return tuple(resolve_dim(d, self.sizes) for d in e.shape)

    def _factors(self, arrays):
        """Mark the reference ``fragile`` if some order of multiplying these factors could
        overflow or underflow although the one it took did not (the extremes of their magnitudes
        multiplied)."""
        logs = [math.log10(m) for m in (float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays)
                if 0 < m < math.inf]
        if sum(v for v in logs if v > 0) > 290 or sum(v for v in logs if v < 0) < -290:
            self.fragile = True

    def _terms(self, *arrays):
        for a in arrays:
            if a.size:
                self.cancel = max(self.cancel, float(np.max(np.abs(a))))

    def _node(self, e: E.Expr, args: list):
        op = e.op
        if op == "var":
            return np.asarray(self.values[e], dtype=float).reshape(self.shape(e))
        if op == "const":
            return np.full((1, 1), _float(e.data))
        if op == "dim":
            return np.full((1, 1), float(resolve_dim(e.data, self.sizes)))
        if op in ("zero", "ones"):
            return (np.zeros if op == "zero" else np.ones)(self.shape(e))
        if op == "eye":
            return np.eye(self.shape(e)[0])
        if op == "commutation":   # K vec(A) = vec(Aᵀ) for an m×n matrix A
            m, n = (resolve_dim(d, self.sizes) for d in e.data)
            k = np.zeros((m * n, m * n))
            for i in range(m):
                for j in range(n):
                    k[i * n + j, j * m + i] = 1.0
            return k
        if op == "add":
            self._terms(*args)
            total = args[0]
            for a in args[1:]:
                total = total + a
            return total
        if op in ("mul", "matmul", "kron"):
            self._factors(args)
        if op == "mul":
            out = args[0]
            for a in args[1:]:
                out = out * a
            return out
        if op == "matmul":
            out = args[0]
            for a in args[1:]:
                self._terms(np.abs(out) @ np.abs(a))
                out = out @ a
            return out
        if op == "pow":
            return np.power(args[0], args[1])
        if op == "T":
            return args[0].T
        if op in ("sum", "trace"):
            a = args[0] if op == "sum" else np.diag(args[0])
            self._terms(np.sum(np.abs(a)).reshape(1, 1))
            return np.sum(a).reshape(1, 1)
        if op == "diag":
            return np.diagflat(args[0])
        if op == "diagvec":
            return np.diag(args[0]).reshape(-1, 1)
        if op == "vec":
            return args[0].reshape(-1, 1, order="F")
        if op == "unvec":
            return args[0].reshape(self.shape(e), order="F")
        if op == "kron":
            return np.kron(args[0], args[1])
        if op in ("kron_blocksum", "kron_blockdot"):   # block by block (independent of the einsum code)
            small, s = (args[0], args[1]) if op == "kron_blocksum" else (args[1], args[0])
            rows, cols = (s.shape[0] // small.shape[0], s.shape[1] // small.shape[1]) if op == "kron_blocksum" \
                else small.shape
            grid = (s.shape[0] // rows, s.shape[1] // cols)

            def block(i, j):
                return s[i * rows:(i + 1) * rows, j * cols:(j + 1) * cols]
            if op == "kron_blocksum":
                return sum(small[i, j] * block(i, j) for i in range(grid[0]) for j in range(grid[1]))
            return np.array([[np.sum(block(i, j) * small) for j in range(grid[1])] for i in range(grid[0])])
        if op in ("inv", "det", "logdet"):
            return self._linear_algebra(op, args[0])
        if op == "norm2":
            return np.full((1, 1), _norm2(args[0]))
        if op in ("softmax", "log_softmax"):   # of a vector, or along an axis (e.data)
            return (special.softmax if op == "softmax" else special.log_softmax)(args[0], axis=e.data)
        if op == "fn" and e.data in ELEMENTWISE:
            return ELEMENTWISE[e.data](args[0])
        if op in ("pinv", "cholesky", "eigvalsh", "eigvecsh", "expm", "expm_frechet"):
            return self._matrix_function(op, args)
        if op == "lower_half":
            n = self.shape(e)[0]
            return np.tril(np.ones((n, n)), -1) + 0.5 * np.eye(n)
        raise Unavailable(f"no reference value for {op}")

    def _matrix_function(self, op: str, args: list):
        """The matrix functions, by numpy and scipy; where the input is not finite, or the
        factorisation fails (not positive definite), the reference is undefined."""
        import scipy.linalg
        a = args[0]
        if not all(np.all(np.isfinite(x)) for x in args):
            self.undefined = True
            return np.full(a.shape if op != "pinv" else a.T.shape, np.nan)
        try:
            if op == "pinv":
                if np.linalg.cond(a) > 1e12:   # rank-deficient in floating point
                    self.undefined = True
                return np.linalg.pinv(a)
            if op == "cholesky":
                return np.linalg.cholesky(a)
            if op == "eigvalsh":
                return np.linalg.eigvalsh(a).reshape(-1, 1)
            if op == "eigvecsh":
                return np.linalg.eigh(a)[1]
            if op == "expm":
                return scipy.linalg.expm(a)
            return scipy.linalg.expm_frechet(a, args[1], compute_expm=False)
        except (np.linalg.LinAlgError, ValueError):
            self.undefined = True
            return np.full(a.shape, np.nan)

    def saw_inf(self) -> bool:
        """Whether an intermediate overflowed to ±inf (not only a domain ``nan``)."""
        return any(np.any(np.isinf(v)) for v in self.memo.values())

    def _linear_algebra(self, op: str, a: np.ndarray):
        """``inv``, ``det``, ``logdet``; at a singular matrix (numerically: condition number past
        1e12, where the result is rounding noise) the reference is undefined."""
        if not np.all(np.isfinite(a)) or np.linalg.cond(a) > 1e12:
            self.undefined = True
            return np.full(a.shape if op == "inv" else (1, 1), np.nan)
        if op == "det":
            return np.linalg.det(a).reshape(1, 1)
        if op == "logdet":
            return np.full((1, 1), np.linalg.slogdet(a)[1])
        try:
            return np.linalg.inv(a)
        except np.linalg.LinAlgError:
            self.undefined = True
            return np.full(a.shape, np.nan)


def _as_array(value) -> np.ndarray:
    """A result of any backend as a numpy array (complex kept complex)."""
    if hasattr(value, "detach"):   # torch
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def disagreement(got, want: np.ndarray, moved: np.ndarray, references: tuple) -> str | None:
    """Why ``got`` (generated code) is not ``want`` (the reference), or ``None``: see the module
    docstring. ``moved``: the reference at inputs moved by 1e-12 relatively (its conditioning);
    ``references``: the ``Reference`` objects that computed them."""
    if any(r.undefined or r.fragile for r in references):
        return None
    got = np.asarray(got, dtype=float).reshape(want.shape)
    if any(r.overflowed for r in references):
        if any(r.saw_inf() for r in references):
            return None   # an overflow: another order of evaluation may rightly differ
        domain = np.isnan(want) & np.isnan(moved) & np.isfinite(got)
        if np.any(domain):
            i = tuple(int(k) for k in np.argwhere(domain)[0])
            return f"entry {i} is {got[i]:.6g} where numpy semantics give nan"
    # an entry whose reference changes by 1e-4 of itself when the inputs move by 1e-12 has a
    # condition number past 1e8: rounding alone (x/y against x·y⁻¹) moves it, so it is not compared
    finite = np.isfinite(want) & np.isfinite(moved) & ~(np.abs(moved - want) > 1e-4 * np.abs(want))
    tolerance = 1e-6 * np.abs(want) + 1e-8 * max(r.cancel for r in references) + 10 * np.abs(moved - want) + 1e-300
    bad = finite & ~(np.abs(got - want) <= tolerance)
    if np.any(bad):
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        return f"entry {i} is {got[i]:.10g}, the reference gives {want[i]:.10g}"
    return None


# ---------------------------------------------------------------------------------------
# Running a case
# ---------------------------------------------------------------------------------------

def available_backends() -> tuple:
    """numpy, and jax and torch where installed."""
    return ("numpy",) + tuple(b for b in ("jax", "torch") if importlib.util.find_spec(b) is not None)


def run_case(case: Case) -> Result:
    """Run ``case`` in this process (no time or memory bound: see ``fuzz_sandbox``)."""
    start = time.perf_counter()
    probe = Probe(case)
    try:
        probe.run()
        result = Result("inconclusive", *probe.inconclusive) if probe.inconclusive else Result("ok")
    except Failure as failure:
        result = Result("wrong", probe.phase, failure.error, str(failure))
    except MemoryError as err:
        result = Result("memory", probe.phase, type(err).__name__, _first_line(err), _location(err))
    except MatcalcError as err:
        result = _refusal(err, probe.phase)
    except Exception as err:   # noqa: BLE001 - every other exception is a finding
        result = Result("crash", probe.phase, type(err).__name__, _first_line(err), _location(err))
    result.seconds = time.perf_counter() - start
    result.wrt = probe.wrt
    return result


def _refusal(err: MatcalcError, phase: str) -> Result:
    """A ``MatcalcError`` is a rejection, unless it says it is a bug: an ``InternalError`` (an
    exception matcalc wrapped) or a message starting with "internal" are crashes, and one that
    stands for a ``MemoryError`` is a memory failure."""
    cause = err.__cause__ or err.__context__
    if isinstance(cause, MemoryError):
        return Result("memory", phase, f"{type(err).__name__} (from MemoryError)", _first_line(err), _location(cause))
    if type(err).__name__ == "InternalError" or str(err).startswith("internal"):
        name = f"{type(err).__name__}" + (f" ({type(cause).__name__})" if cause is not None else "")
        return Result("crash", phase, name, _first_line(err), _location(cause if cause is not None else err))
    return Result("rejected", phase, type(err).__name__, _first_line(err))


class Probe:
    """The steps of one case; ``phase`` says which step runs."""

    def __init__(self, case: Case):
        self.case = case
        self.phase = "build"
        self.inconclusive = ()   # (phase, what, why)
        self.wrt = ""
        self.standard = None     # (values by variable, sizes) of the standard input

    def run(self):
        from .derivative import derive, hvp
        case = self.case
        f, wrt, shapes, direction = self.function()
        self.wrt = wrt if isinstance(wrt, str) else wrt.name
        self.phase = "derive"
        if case.task == "hvp":
            g = hvp(f, wrt, direction, shapes, syntax=case.syntax)
        else:
            g = derive(f, wrt, shapes, order=2 if case.task == "hessian" else 1, syntax=case.syntax)
        self.phase = "the derivative's variables"
        names = [v.name for v in g.variables]
        if len(set(names)) < len(names):
            twice = sorted({n for n in names if names.count(n) > 1})
            raise Failure("two variables with one name", f"{', '.join(twice)} name two different variables "
                                                           "and were accepted")
        at_zero = self.evaluate(g)
        self.phase = "check"
        report = g.check(seed=case.seed % 2**32, trials=2)
        if report.status == "wrong":
            agrees = self.second_opinion(g)
            label = "check() calls a right derivative wrong" if agrees else "check() calls the derivative wrong"
            raise Failure(label, str(report).splitlines()[0] + ("" if agrees is None else
                          f"; central differences of the reference {'agree' if agrees else 'disagree'}"))
        if report.status == "inconclusive":
            self.inconclusive = ("check", "check() is inconclusive", report.message)
        if case.task in ("verify", "verify-wrong"):
            self.verify(f, wrt, shapes, g)
        at_zero()

    def function(self):
        """``(f, wrt, shapes, direction)`` as the user passes them."""
        case = self.case
        if case.source == "api":
            variables = api_variables(case.slots)
            f = build_api(case.tree, variables)
            direction = variables[case.direction] if case.direction is not None else None
            return f, variables[case.wrt] if case.wrt is not None else "x", None, direction
        shapes = {name: spec if not isinstance(spec, tuple) else api_variables([spec[1]])[0]
                  for name, spec in case.shapes().items()}
        text = case.string()
        wrt = case.wrt if case.wrt is not None else _first_variable(text, case.syntax)
        direction = case.slots[case.direction].name if case.direction is not None else None
        return text, wrt, shapes, direction

    # -- values ------------------------------------------------------------------------------------
    def evaluate(self, g):
        """Compile for each backend and compare at the standard and hostile inputs; returns the
        comparison at the zero input, to run last (singular inputs stop a case)."""
        from .check import Sampler, draw
        case = self.case
        compiled = {}
        for backend in [b for b in case.backends if b in available_backends()]:
            self.phase = f"compile {backend}"
            if backend == "jax":
                import jax
                jax.config.update("jax_enable_x64", True)
            compiled[backend] = (g.compile(backend), g.compile(backend, with_value=True))
        free = sorted({d for fns in compiled.values() for fn in fns for d in fn.free_dims})
        clash = sorted(set(free) & {v.name for v in g.variables})
        if clash:
            raise Failure("a variable and a size share a name", f"{', '.join(clash)} is both a variable and a "
                                                                 "size parameter of the generated function")
        self.phase = "draw inputs (check.Sampler)"
        rng = np.random.default_rng(case.seed % 2**32)
        sampler = Sampler(g.f, g.variables, rng, sorted(set(free) | _dims(g)))
        sizes = {d: sampler.sizes[d] for d in free}

        def inputs():   # by variable name, and the sizes the generated functions take
            drawn = {v.name: draw(v, sampler.sizes, rng, v in sampler.positive, v in sampler.invertible)
                     for v in sampler.variables}   # (sorted by name: the same draws under any hash seed)
            return {**drawn, **sizes}
        self.phase = "the derivative's shape"
        self.check_result_shape(g, sampler.sizes)
        standard = inputs()
        self.standard = ({v: standard[v.name] for v in g.variables}, sampler.sizes)
        for point, values in (("standard", standard), ("hostile", self.hostile(g, inputs(), rng))):
            self.compare(g, compiled, point, values, sampler.sizes)
        return lambda: self.compare(g, compiled, "zero", self.zero(g, standard), sampler.sizes)

    def compare(self, g, compiled: dict, point: str, inputs: dict, sizes: dict):
        """Every backend's derivative and value at ``inputs`` against the reference."""
        values = {v: inputs[v.name] for v in g.variables}
        self.phase = f"reference at the {point} point"
        expected = self.expected(g, values, sizes, compare=point != "zero")
        for backend, (derivative, both) in compiled.items():
            if backend == "jax" and point != "standard":
                continue   # jax compiles each operation for each new shape: one input is enough
            self.phase = f"evaluate {backend} at the {point} point"
            try:
                value, again = both(**_arguments(both, inputs))
                got = derivative(**_arguments(derivative, inputs)) if backend != "jax" else again
            except MatcalcError as err:
                if _refusal(err, self.phase).outcome != "rejected":
                    raise
                continue   # a refusal of these inputs, with a clear error, is allowed
            self.judge(value, expected["value"], "the value")
            # where f itself is nan or inf (outside its domain), its derivative's entries are not
            # numbers to compare: a structural 0 (diag(d) off its diagonal) against 0 · nan = nan
            derivative_expected = expected["derivative"] if _finite_reference(expected["value"]) else \
                expected["derivative"][:1] + (None, None, ())
            self.judge(got, derivative_expected, "the derivative")
            self.judge(again, derivative_expected, "the derivative (with_value=True)")

    def second_opinion(self, g) -> bool | None:
        """Whether the derivative matches central differences of the reference ``f`` along a
        random direction at the standard input (``None`` where that does not apply): tells a
        wrong derivative from a wrong verdict of ``check()``."""
        from .check import richardson, step_for
        if g.form != "matrix" or g.kind not in ("gradient", "jacobian") or self.standard is None:
            return None
        values, sizes = self.standard
        rng = np.random.default_rng(0)
        x = np.asarray(values[g.wrt], dtype=float).reshape(Reference(values, sizes).shape(g.wrt))
        d = rng.standard_normal(x.shape)
        if g.wrt.data[1] & {"symmetric", "spd"}:
            d = (d + d.T) / 2

        def f_at(point):
            return Reference({**values, g.wrt: point}, sizes)(g.f).reshape(-1, order="F")
        measured, noise = richardson(f_at, x, d, step_for(x))
        derivative = Reference(values, sizes)(g.expr)
        predicted = np.sum(derivative * d) if g.kind == "gradient" else derivative @ d.reshape(-1, order="F")
        scale = max(float(np.max(np.abs(measured), initial=0.0)), float(np.max(np.abs(predicted), initial=0.0)))
        return bool(np.all(np.abs(np.asarray(predicted).reshape(-1) - measured) <= 1e-5 * scale + 10 * noise))

    def check_result_shape(self, g, sizes: dict):
        """The derivative's shape follows the layout conventions (default layout)."""
        if g.form == "differential":
            return
        size = lambda shape: math.prod(resolve_dim(d, sizes) for d in shape)   # noqa: E731
        x = g.wrt
        if g.kind == "hvp" or (g.f.shape == SCALAR and g.order == 1):
            want = tuple(resolve_dim(d, sizes) for d in x.shape)
        elif g.order == 2:
            want = (size(x.shape), size(x.shape))
        else:
            want = (size(g.f.shape), size(x.shape))
        have = tuple(resolve_dim(d, sizes) for d in g.expr.shape)
        if have != want:
            raise Failure("wrong shape of the derivative",
                          f"{g.kind} of a {_shape(g.f.shape)} function w.r.t. a {_shape(x.shape)} variable is "
                          f"{_shape(g.expr.shape)}, expected {want[0]}×{want[1]} at {sizes}")

    def expected(self, g, values: dict, sizes: dict, compare: bool) -> dict:
        """For the value and the derivative: ``(shape, reference, moved reference, references)``;
        no references where values are not compared."""
        out = {}
        for key, e in {"value": g.f, "derivative": g.expr if g.form == "matrix" else None}.items():
            if e is None:   # an order-3/4 array: the axes of F then those of X, without unit axes
                dims = g.differential.shape + g.wrt.shape
                out[key] = (tuple(resolve_dim(d, sizes) for d in dims if d != 1), None, None, ())
                continue
            shape = () if e.shape == SCALAR else tuple(resolve_dim(d, sizes) for d in e.shape)
            # two moves, each entry judged by the larger change: one move of a chaotic function
            # (sin of 10¹⁶) can land near the value by chance
            references = (Reference(values, sizes),
                          Reference({v: _moved(a, k) for k, (v, a) in enumerate(values.items())}, sizes),
                          Reference({v: _moved(a, k + 1000) for k, (v, a) in enumerate(values.items())}, sizes))
            try:
                if compare:
                    want, first, second = (r(e) for r in references)
                    with np.errstate(invalid="ignore"):
                        moved = np.where(np.abs(second - want) > np.abs(first - want), second, first)
                    out[key] = (shape, want, moved, references)
                else:
                    out[key] = (shape, None, None, ())
            except Unavailable:
                out[key] = (shape, None, None, ())
        return out

    def judge(self, got, expected: tuple, what: str):
        shape, want, moved, references = expected
        if isinstance(got, complex) or np.iscomplexobj(_as_array(got)):
            raise Failure("complex result", f"{what} is complex: {got!r}"[:200])
        array = _as_array(got)
        if array.shape != shape:
            raise Failure("wrong shape of the evaluated result", f"{what} has shape {array.shape}, expected {shape}")
        if want is not None:
            problem = disagreement(array, want, moved, references)
            if problem:
                raise Failure("value differs from the reference", f"{what}: {problem}")

    def hostile(self, g, inputs: dict, rng) -> dict:
        """Each variable scaled by 10^±200, 10^±8 or 1 and negated where its properties allow; a
        scalar sometimes set to a value that breaks Python floats (-8 for a cube root, 3 for a
        1000th power)."""
        out = dict(inputs)
        for v in sorted(g.variables, key=lambda v: v.name):   # the same draws under any hash seed
            free = not v.data[1] & {"positive", "spd"}
            if v.shape == SCALAR and free and rng.integers(0, 2):
                out[v.name] = float(rng.choice(SPECIAL_SCALARS))
                continue
            scale = float(rng.choice([1e-200, 1e-8, 1.0, 1e8, 1e200]))
            if free and rng.integers(0, 2):
                scale = -scale
            out[v.name] = np.asarray(inputs[v.name], dtype=float) * scale
            if v.shape == SCALAR:
                out[v.name] = float(out[v.name])
        return out

    def zero(self, g, inputs: dict) -> dict:
        """Zeros for every variable without properties (singular, log(0), 0/0…)."""
        out = dict(inputs)
        for v in g.variables:
            if not v.data[1]:
                out[v.name] = 0.0 if v.shape == SCALAR else np.zeros_like(np.asarray(inputs[v.name], dtype=float))
        return out

    # -- verify ------------------------------------------------------------------------------------
    def verify(self, f, wrt, shapes, g):
        from .verify import verify
        case = self.case
        if case.task == "verify":
            self.phase = "verify the answer itself"
            verdict = verify(f, wrt, g.expr, shapes, syntax=case.syntax)
            if verdict.correct is False:
                raise Failure("verify calls the answer itself wrong", _first_line(verdict))
            return
        claim, how = wrong_claim(g, case.seed)
        if claim is None:
            return
        self.phase = f"verify a wrong claim ({how})"
        verdict = verify(f, wrt, claim, shapes, syntax=case.syntax)
        if verdict.correct is True:
            raise Failure("verify accepts a wrong claim", f"{how}: {_first_line(verdict)}")
        if verdict.correct is not False:
            self.inconclusive = (self.phase, "verify gives no verdict", _first_line(verdict))


SPECIAL_SCALARS = (-8.0, 3.0, -1.0, -0.5, 0.5, 1e8, -1e-8, 1e200, -1e200, 1e-200, 2.0 ** 0.5)


def _dims(g) -> set:
    """The named dimensions anywhere in the function and its derivative."""
    out = set()
    for e in (g.f, g.expr, g.differential, *g.variables):
        if e is None:
            continue
        for n in E.walk(e):
            for d in n.shape:
                out.update(f for f in (d if isinstance(d, tuple) else (d,)) if isinstance(f, str))
    return out


def _finite_reference(expected: tuple) -> bool:
    """Whether the reference values in an ``expected`` entry are all finite (or not computed)."""
    want = expected[1]
    return want is None or bool(np.all(np.isfinite(np.asarray(want, dtype=float))))


def wrong_claim(g, seed: int):
    """``(claim, how)``: the answer made wrong, by a little or only far from the usual inputs
    (``None`` where the change is lost: a zero answer, a constant that rounds to itself, even in
    the simplified claim)."""
    answer = g.expr
    if g.form != "matrix" or E.is_zero(answer):
        return None, ""
    like_wrt = answer.shape == g.wrt.shape
    options = [("scaled by 1 + 1e-7", E.mul(E.const(Fraction(10_000_001, 10_000_000)), answer)),
               ("doubled", E.mul(E.const(2), answer)),
               ("plus 1e-3", E.add(answer, E.mul(E.const(Fraction(1, 1000)), E.ones(answer.shape))))]
    if like_wrt:
        options.append(("plus relu(wrt - 50)", E.add(answer, E.function("relu", E.add(g.wrt, E.const(-50))))))
    how, claim = options[seed % len(options)]
    from .rewrite import simplify
    # the change must survive the canonical form: 1 + 1e-7 times a float constant of 1e-320 (a
    # subnormal, with 3 digits) is that constant again, in matcalc's arithmetic and numpy's
    lost = E.is_zero(simplify(E.add(claim, E.neg(answer))))
    return (None, "") if lost else (claim, how)


# ---------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------

def _first_variable(text: str, syntax: str) -> str:
    """The first variable (by name) of a string, or ``"x"`` if it has none or is a program."""
    from .api import parse
    from .staged import is_program
    if is_program(text):
        return "x"
    names = sorted(v.name for v in parse(text, syntax=syntax).free_vars)
    return names[0] if names else "x"


def _arguments(function, inputs: dict) -> dict:
    """The inputs ``function`` takes (fresh copies of the arrays)."""
    return {k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in inputs.items() if k in function.accepts}


def _moved(a, k: int):
    """``a`` moved by about 1e-12 relatively (deterministic)."""
    rng = np.random.default_rng(k)
    arr = np.asarray(a, dtype=float)
    moved = arr * (1 + 1e-12 * rng.standard_normal(arr.shape))
    return float(moved) if np.ndim(a) == 0 else moved


def _shape(shape) -> str:
    return f"{shape[0]}×{shape[1]}"


def _first_line(obj) -> str:
    text = str(obj).strip()
    return (text.splitlines()[0] if text else "")[:300]


def _location(err: BaseException) -> str:
    """The innermost frame of matcalc (``file:line (function)``), or, for an error inside
    generated code, ``generated code`` and the library function that raised."""
    frames = traceback.extract_tb(err.__traceback__)
    for i in range(len(frames) - 1, -1, -1):
        name = frames[i].filename
        if name.startswith("<matcalc"):
            inner = frames[i + 1] if i + 1 < len(frames) else None
            called = f" -> {_short(inner.filename)} ({inner.name})" if inner else ""
            return f"generated code{called}"
        if "/matcalc/" in name and "/matcalc/fuzz" not in name:
            return f"matcalc/{name.rsplit('/matcalc/', 1)[1]}:{frames[i].lineno} ({frames[i].name})"
    if frames:
        return f"{_short(frames[-1].filename)}:{frames[-1].lineno} ({frames[-1].name})"
    return ""


def _short(filename: str) -> str:
    """A library file without its installation prefix (``numpy/linalg/_linalg.py``)."""
    return filename.rsplit("site-packages/", 1)[-1]
