"""Finite-difference checks: is a closed-form derivative right on random inputs?

Inputs respect the variables' properties and the domains of the functions they feed:
symbolic dimensions get distinct small sizes (so a transposed answer cannot pass by accident);
``spd`` matrices are ``M Mᵀ/n + I``; ``symmetric`` ones ``(M + Mᵀ)/2``; ``invertible`` ones
``M + 2√n I``; ``positive`` ones ``|M| + ½``; a variable that a ``log``, a ``sqrt`` or a
fractional power reads directly is drawn positive. Inputs where ``f`` is not finite, or where
the differences at two step sizes disagree (a kink of ``relu`` or ``abs``), are redrawn.

The derivative is compared with Richardson-extrapolated central differences of ``f`` itself
(second differences for Hessians), entry by entry. A symmetric variable is perturbed
symmetrically, so only the derivative's action on symmetric directions is compared.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from . import expr as E
from .limits import guarded
from .printing.numpy import NumpyFunction
from .shapes import resolve_dim

SIZES = (3, 4, 5, 6, 7)
MAX_DRAWS = 25


@dataclass
class CheckReport:
    """The verdict of a finite-difference check. ``status``: ``ok``, ``wrong`` or ``inconclusive``."""
    status: str
    max_rel_error: float
    trials: int
    sizes: dict
    seed: int
    tolerance: float
    errors: list = field(default_factory=list)
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def __bool__(self):
        return self.ok

    def __str__(self):
        sizes = ", ".join(f"{k}={v}" for k, v in sorted(self.sizes.items())) or "fixed sizes"
        head = {"ok": "ok", "wrong": "WRONG", "inconclusive": "inconclusive"}[self.status]
        text = (f"check {head}: max relative error {self.max_rel_error:.1e} over {self.trials} "
                f"random input(s) ({sizes}; seed {self.seed}; tolerance {self.tolerance:g})")
        return text + (f" — {self.message}" if self.message else "")


# ---------------------------------------------------------------------------------------
# Random inputs
# ---------------------------------------------------------------------------------------

def assign_sizes(variables, rng, extra=()) -> dict:
    names = sorted({d for v in variables for d in v.shape if isinstance(d, str)} | set(extra))
    order = list(SIZES)
    rng.shuffle(order)
    while len(order) < len(names):
        order.append(order[-1] + 1)
    return dict(zip(names, order))


def positive_domain_variables(e: E.Expr) -> set:
    """Variables read directly by an operation that needs positive input."""
    out = set()
    for node in E.walk(e):
        if node.op == "fn" and node.data == "log" or node.op == "pow" and not (
                node.args[1].op == "const" and getattr(node.args[1].data, "denominator", 2) == 1):
            target = node.args[0]
            if target.op == "T":
                target = target.args[0]
            if target.op == "var":
                out.add(target)
    return out


def invertible_variables(e: E.Expr) -> set:
    out = set()
    for node in E.walk(e):
        if node.op in ("inv", "det", "logdet"):
            target = node.args[0].args[0] if node.args[0].op == "T" else node.args[0]
            if target.op == "var":
                out.add(target)
    return out


def draw(v: E.Expr, sizes: dict, rng, positive=False, invertible=False):
    shape = tuple(resolve_dim(d, sizes) for d in v.shape)
    props = v.data[1]
    if shape == (1, 1):
        x = rng.standard_normal()
        return float(abs(x) + 0.5 if positive or "positive" in props else x)
    m = rng.standard_normal(shape)
    n = shape[0]
    if "spd" in props:
        return m @ m.T / n + np.eye(n)
    if "symmetric" in props:
        s = (m + m.T) / 2
        return s + 2 * math.sqrt(n) * np.eye(n) if invertible or "invertible" in props else s
    if "invertible" in props or invertible:
        return m + 2 * math.sqrt(n) * np.eye(n)
    if positive or "positive" in props:
        return np.abs(m) + 0.5
    return m


class Sampler:
    """Random inputs for the variables of ``f``, in the domains ``f`` needs (see the module
    docstring); sizes of symbolic dimensions are drawn once, distinct and small."""

    def __init__(self, f: E.Expr, variables, rng, extra_dims=()):
        self.variables = sorted(set(variables), key=lambda v: v.name)
        self.rng = rng
        self.extra_dims = list(extra_dims)
        self.sizes = assign_sizes(self.variables, rng, self.extra_dims)
        self.positive = positive_domain_variables(f)
        self.invertible = invertible_variables(f)

    def draw(self) -> dict:
        inputs = {v.name: draw(v, self.sizes, self.rng, v in self.positive, v in self.invertible)
                  for v in self.variables}
        inputs.update({d: self.sizes[d] for d in self.extra_dims})
        return inputs


# ---------------------------------------------------------------------------------------
# Finite differences
# ---------------------------------------------------------------------------------------

def directions(v: E.Expr, value) -> list:
    """Unit perturbations of ``v``: each entry, or each symmetric pair for a symmetric ``v``."""
    value = np.asarray(value, dtype=float)
    shape = value.shape
    if v.data[1] & {"symmetric", "spd"} and len(shape) == 2 and shape[0] == shape[1] and shape[0] > 1:
        out = []
        n = shape[0]
        for i in range(n):
            for j in range(i, n):
                d = np.zeros(shape)
                d[i, j] = d[j, i] = 1.0
                out.append(d)
        return out
    out = []
    for k in range(value.size):
        d = np.zeros(value.size)
        d[k] = 1.0
        out.append(d.reshape(shape))
    return out


def _central(fun, x, d, h):
    return (np.asarray(fun(x + h * d), dtype=float) - np.asarray(fun(x - h * d), dtype=float)) / (2 * h)


def richardson(fun, x, d, h):
    """The directional derivative of ``fun`` at ``x`` along ``d``, and a noise estimate."""
    coarse = _central(fun, x, d, h)
    fine = _central(fun, x, d, h / 2)
    value = (4 * fine - coarse) / 3
    noise = float(np.max(np.abs(fine - coarse), initial=0.0))
    return value, noise


def step_for(x) -> float:
    return 1e-3 * max(1.0, float(np.max(np.abs(x), initial=0.0)))


UNRESOLVED = "unresolved"   # _compare's outcome when the derivative is lost in the differences' noise


def _verdict(predicted, measured, noise: float):
    """``(relative error, the same less the differences' noise)``, or ``UNRESOLVED`` when a nonzero
    predicted derivative and the measured one are both within the noise: nothing was compared,
    so the check must not say ``ok``."""
    predicted = np.asarray(predicted, dtype=float).reshape(-1)
    measured = np.asarray(measured, dtype=float).reshape(-1)
    scale = max(float(np.linalg.norm(predicted)), float(np.linalg.norm(measured)))
    if np.any(predicted != 0) and scale <= 10 * noise:
        return UNRESOLVED
    return relative_error(predicted, measured), relative_error(predicted, measured, noise)


def relative_error(got, want, noise: float = 0.0) -> float:
    """``‖got − want‖ / ‖want‖``, where a difference within the finite differences' own noise
    (10× the Richardson estimate) counts as none: a zero derivative measured as roundoff is
    not an error."""
    got = np.asarray(got, dtype=float).reshape(-1)
    want = np.asarray(want, dtype=float).reshape(-1)
    diff = max(0.0, float(np.linalg.norm(got - want)) - 10 * noise)
    scale = max(float(np.linalg.norm(want)), float(np.linalg.norm(got)))
    return diff / scale if scale > 0 else 0.0


def pair(a, b) -> float:
    """The Frobenius inner product."""
    return float(np.sum(np.asarray(a, dtype=float) * np.asarray(b, dtype=float)))


def vec(a) -> np.ndarray:
    """Column-major vectorisation, the convention of the vec/Kronecker identities."""
    return np.asarray(a, dtype=float).reshape(-1, order="F")


@guarded
def check_derivative(f: E.Expr, wrt: E.Expr, numeric, kind: str, variables, seed=None,
                     trials: int = 3, tolerance: float = 1e-6, entries: bool = False,
                     direction: E.Expr | None = None) -> CheckReport:
    """Compare a derivative, evaluated by ``numeric`` (a ``NumpyFunction``), with finite
    differences of ``f``.

    ``kind``: ``"gradient"`` (shaped like ``wrt``; with ``entries`` each entry is compared with
    the derivative by that entry, a symmetric pair counting once), ``"jacobian"`` (a matrix
    ``numel(f) × numel(wrt)`` or the full array), ``"hessian"`` (the same for the gradient) or
    ``"hvp"`` (the Hessian times the variable ``direction``)."""
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    rng = np.random.default_rng(seed)
    variables = sorted(set(variables) | f.free_vars | {wrt}, key=lambda v: v.name)
    f_num = NumpyFunction(f, "f", required=variables)
    sampler = Sampler(f, variables, rng, f_num.free_dims + numeric.free_dims)
    sizes = sampler.sizes
    errors: list = []     # relative errors, one per trial
    beyond_noise: list = []   # the same, less the finite differences' noise: the verdict's measure
    unresolved = 0
    with np.errstate(all="ignore"):   # inputs outside the domain are found and redrawn, not reported
        for _ in range(trials):
            for _attempt in range(MAX_DRAWS):
                inputs = sampler.draw()
                outcome = _compare(f_num, numeric, wrt, kind, inputs, entries, direction)
                if outcome is UNRESOLVED:   # a trial without a verdict either way
                    unresolved += 1
                    break
                if outcome is not None:
                    errors.append(outcome[0])
                    beyond_noise.append(outcome[1])
                    break
            else:
                break
    if not errors:
        reason = ("the derivative is below what finite differences can resolve at every input tried "
                  "(a vanishing gradient?)" if unresolved else "no input was found where f is finite and smooth")
        return CheckReport("inconclusive", math.nan, 0, sizes, seed, tolerance, [], reason)
    worst = max(errors)
    status = "ok" if max(beyond_noise) <= tolerance else "wrong"
    message = ""
    if status == "ok" and worst > tolerance:
        message = "the differences are within the finite differences' own noise"
    if len(errors) < trials:
        message = f"only {len(errors)} of {trials} trials found usable inputs"
        if status == "ok":
            status = "inconclusive"
    return CheckReport(status, worst, len(errors), sizes, seed, tolerance, errors, message)


def _subset(function, inputs: dict) -> dict:
    return {k: v for k, v in inputs.items() if k in function.accepts}


def as_vec_jacobian(value, out_shape, in_shape) -> np.ndarray:
    """A derivative array (matrix or full array, unit axes of vectors dropped or not) as the
    matrix ``∂vec(F)/∂vec(X)ᵀ`` with column-major vec."""
    r, c = out_shape
    k, l = in_shape
    full = np.asarray(value, dtype=float).reshape(r, c, k, l)
    return full.transpose(1, 0, 3, 2).reshape(r * c, k * l)


def _compare(f_num, numeric, wrt, kind, inputs, entries=False, direction=None):
    """The relative error at one input, or ``None`` if the input is unusable."""
    x0 = np.asarray(inputs[wrt.name], dtype=float)

    def f_at(x):
        args = _subset(f_num, inputs)
        args[wrt.name] = x
        return np.asarray(f_num(**args), dtype=float)

    base = f_at(x0)
    if not np.all(np.isfinite(base)):
        return None
    got = np.asarray(numeric(**_subset(numeric, inputs)), dtype=float)
    if not np.all(np.isfinite(got)):
        return None
    h = step_for(x0)
    dirs = directions(wrt, x0)

    def rounding(step, count):   # the roundoff in `count` differences of f over `step` (≈ ε |f| / step each)
        return 4 * np.finfo(float).eps * float(np.max(np.abs(base), initial=0.0)) / step * np.sqrt(count)

    in_shape = x0.shape if x0.ndim == 2 else (x0.size, 1)
    predicted, measured, noises = [], [], []
    if kind in ("hessian", "hvp"):
        if kind == "hvp":
            v = np.asarray(inputs[direction.name], dtype=float)
            pairs = [(d, v) for d in dirs]
        else:
            matrix = as_vec_jacobian(got, in_shape, in_shape)
            pairs = [(di, dj) for i, di in enumerate(dirs) for dj in dirs[i:]]
        for di, dj in pairs:
            value, noise = _second_difference(lambda x: vec(f_at(x)), x0, di, dj, h)
            noises.append(noise)
            if not np.isfinite(value) or noise > 1e-4 * max(1.0, abs(value)):
                return None
            predicted.append(pair(got.reshape(x0.shape), di) if kind == "hvp" else vec(di) @ matrix @ vec(dj))
            measured.append(value)
        return _verdict(predicted, measured, max(float(np.linalg.norm(noises)), rounding(h * h, len(pairs))))
    if kind == "jacobian":
        out_shape = base.shape if base.ndim == 2 else (base.size, 1)
        matrix = as_vec_jacobian(got, out_shape, in_shape)
    for d in dirs:
        value, noise = richardson(lambda x: vec(f_at(x)), x0, d, h)
        noises.append(noise)
        if not np.all(np.isfinite(value)) or noise > 1e-4 * max(1.0, float(np.max(np.abs(value)))):
            return None
        measured.append(value)
        if kind == "gradient":
            g = got.reshape(x0.shape) if x0.ndim else got
            estimate = pair(g, d) / (pair(d, d) if entries else 1.0)
            predicted.append(np.array([estimate]))
        else:
            predicted.append(matrix @ vec(d))
    return _verdict(np.concatenate(predicted), np.concatenate(measured),
                    max(float(np.linalg.norm(noises)), rounding(h, len(dirs))))


def _second_difference(f_at, x0, di, dj, h):
    def at(step):
        def value(si, sj):
            return f_at(x0 + si * step * di + sj * step * dj)[0]
        return (value(1, 1) - value(1, -1) - value(-1, 1) + value(-1, -1)) / (4 * step * step)
    coarse, fine = at(h), at(h / 2)
    return (4 * fine - coarse) / 3, abs(fine - coarse)
