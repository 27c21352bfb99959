"""Finite-difference checks, and the random inputs that ``check`` and ``verify`` share.

Inputs (``Sampler``) respect the variables' properties and the domains of the functions they
feed: ``spd`` matrices are ``M Mᵀ/n + I``; ``symmetric`` ones ``(M + Mᵀ)/2``; ``invertible`` ones
``M + 2√n I``; ``positive`` ones ``|M| + ½``; a variable that a ``log``, a ``sqrt`` or a fractional
power reads directly is drawn positive. They are chosen to be hard to fool — a point of a
``Setting`` is drawn at

- sizes: every symbolic dimension gets a *small* size (3–7, distinct, so that a transposed answer
  cannot pass by accident) and a *large* one (at least 8, and larger than every integer literal
  and integer dimension of the expressions, up to ``MAX_SIZE`` and ``MAX_ENTRIES`` entries per
  array), and sizes on both sides of every threshold that a kink puts on a dimension
  (``step(n/3 − 7)``: n = 22);
- magnitudes: entries of magnitude 1, 1e-3 and 1e3 (``SCALES``; every draw scaled, which keeps it
  in the domains above);
- kinks: for every operation that is not smooth at 0 (``relu``, ``step``, ``abs``, ``sign``: the
  ``"nonzero"`` domain of the operations table) in the expressions, points moved along a random
  line through a draw so that the operation's argument has entries on both sides of its
  threshold (a scalar argument: a point on each side). The threshold is solved for numerically
  along the line, whatever the argument (``x − 50``, ``W x − b``, …).

``check_derivative`` compares a derivative with Richardson-extrapolated central differences of
``f`` itself (second differences for Hessians): at the first inputs (the small sizes, magnitude
1) entry by entry while the variable has at most ``ENTRY_LIMIT`` entries (a symmetric variable:
each symmetric pair); beyond that, and at the other inputs, along random directions and a few
coordinate directions — memory linear in the size, no dense Jacobian that the derivative does
not have itself. Inputs where ``f`` is not finite, or where the differences at
two step sizes disagree (a kink), are redrawn. A comparison the finite differences cannot make —
the derivative below their noise, or a step of the variable lost to rounding inside ``f``
(``z`` in ``z + 1e20``) — is *inconclusive*, never ``ok`` nor ``wrong``.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from . import expr as E
from .errors import MatcalcError
from .limits import guarded
from .ops import OPERATIONS, operation_key
from .printing.numpy import NumpyFunction
from .shapes import resolve_dim

SIZES = (3, 4, 5, 6, 7)      # the small sizes
LARGE = 8                    # the least large size
MAX_SIZE = 64                # no size beyond this, whatever the literals
MAX_ENTRIES = 200_000        # nor, at the large sizes, an array with more entries than this
SCALES = (1.0, 1e-3, 1e3)    # the magnitudes of the entries drawn
MAX_DRAWS = 25
ENTRY_LIMIT = 64             # per-entry finite differences up to this many entries, directional beyond
RANDOM_DIRECTIONS = 4        # beyond ENTRY_LIMIT: this many random directions …
COORDINATE_DIRECTIONS = 2    # … and this many coordinate ones
BLIND = 1e-5                 # a sum in f hides more than this fraction of a step of the variable: no comparison
JITTER_TOLERANCE = 1e-6      # a derivative that moves more than this when its inputs move by 1e-12 is rounding
AMPLIFIED = 1e-8             # a power whose exponent times ε exceeds this turns its base's rounding into noise
KINKED = frozenset(key for key, op in OPERATIONS.items() if op.domain == "nonzero" and key.startswith("fn:"))
CONSTRAINED = frozenset({"spd", "symmetric", "invertible", "positive", "simplex", "simplex_rows", "onehot",
                         "onehot_rows", "orthogonal", "lower", "diagonal"})
# properties that fix the values' scale (a distribution sums to 1, QᵀQ = I): drawn at magnitude 1
SCALE_FREE = frozenset({"simplex", "simplex_rows", "onehot", "onehot_rows", "orthogonal"})


@dataclass
class CheckReport:
    """The verdict of a finite-difference check. ``status``: ``ok``, ``wrong`` or ``inconclusive``
    (with the reason in ``message``). ``trials``: the inputs compared; ``sizes``: the small sizes,
    ``size_sets``: every set of sizes used."""
    status: str
    max_rel_error: float
    trials: int
    sizes: dict
    seed: int
    tolerance: float
    errors: list = field(default_factory=list)
    message: str = ""
    size_sets: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def __bool__(self):
        return self.ok

    def __str__(self):
        sets = self.size_sets or [self.sizes]
        sizes = " / ".join(", ".join(f"{k}={v}" for k, v in sorted(s.items())) for s in sets if s) or "fixed sizes"
        head = {"ok": "ok", "wrong": "WRONG", "inconclusive": "inconclusive"}[self.status]
        setting = f"({sizes}; seed {self.seed}; tolerance {self.tolerance:g})"
        if self.trials == 0:
            text = f"check {head}: no random input could be compared {setting}"
        else:
            text = (f"check {head}: max relative error {self.max_rel_error:.1e} over {self.trials} "
                    f"random input(s) {setting}")
        return text + (f" — {self.message}" if self.message else "")

    def latex(self) -> str:
        from .printing.latex import prose
        return rf"\text{{{prose(str(self))}}}"

    def _repr_markdown_(self):
        mark = {"ok": "✅", "wrong": "❌", "inconclusive": "❔"}[self.status]
        return f"{mark} {self}"


# ---------------------------------------------------------------------------------------
# Random inputs
# ---------------------------------------------------------------------------------------

def positive_domain_variables(e: E.Expr) -> set:
    """Variables read by an operation that needs positive input (``log``, a fractional power),
    directly or through a positive combination (``sqrt(p + p)``, ``log(X @ w)``): drawn positive,
    they keep its argument positive."""
    out = set()
    for node in E.walk(e):
        if node.op == "fn" and node.data == "log" or node.op == "pow" and not (
                node.args[1].op == "const" and getattr(node.args[1].data, "denominator", 2) == 1):
            out |= _positive_combination(node.args[0]) or set()
    return out


def _positive_combination(e: E.Expr) -> set | None:
    """The variables of ``e`` if ``e`` is positive wherever they are (sums and products of them,
    transposed, with positive constants), else ``None``."""
    if e.op == "var":
        return {e}
    if e.op == "const":
        return set() if e.data > 0 else None
    if e.op == "ones":
        return set()
    if e.op not in ("add", "mul", "matmul", "T", "sum"):
        return None
    parts = [_positive_combination(a) for a in e.args]
    return None if any(p is None for p in parts) else set().union(*parts)


def invertible_variables(e: E.Expr) -> set:
    out = set()
    for node in E.walk(e):
        if node.op in ("inv", "det", "logdet"):
            target = node.args[0].args[0] if node.args[0].op == "T" else node.args[0]
            if target.op == "var":
                out.add(target)
    return out


def spd_variables(e: E.Expr) -> set:
    """Variables whose symmetric part a Cholesky factor reads (``chol(½ (S + Sᵀ))``): drawn spd."""
    out = set()
    for node in E.walk(e):
        if node.op == "cholesky":
            out |= {v for v in node.args[0].free_vars
                    if v.shape == node.shape and E.symmetric_part(v) is node.args[0]}
    return out


def draw(v: E.Expr, sizes: dict, rng, positive=False, invertible=False, scale: float = 1.0, spd=False):
    """A random value for ``v`` in its domain, with entries of magnitude about ``scale``."""
    shape = tuple(resolve_dim(d, sizes) for d in v.shape)
    props = v.data[1]
    if shape == (1, 1) and props & SCALE_FREE:   # a 1-entry distribution, one-hot or orthogonal: 1
        return 1.0
    if shape == (1, 1):
        x = rng.standard_normal()
        return scale * float(abs(x) + 0.5 if positive or "positive" in props else x)
    m = rng.standard_normal(shape)
    n = shape[0]
    if props & SCALE_FREE:
        return _structured(props, m, rng)
    if "lower" in props:     # lower triangular, its diagonal away from 0 (invertible)
        d = np.diag(m)
        m = np.tril(m, -1) + np.diag(np.sign(d) * (np.abs(d) + 0.5))
    elif "diagonal" in props:
        d = np.diag(m)
        d = np.abs(d) + 0.5 if props & {"positive", "spd", "invertible"} else np.sign(d) * (np.abs(d) + 0.2)
        m = np.diag(d)
    elif "spd" in props or spd:
        m = m @ m.T / n + np.eye(n)
    elif "symmetric" in props:
        m = (m + m.T) / 2
        if invertible or "invertible" in props:
            m += 2 * math.sqrt(n) * np.eye(n)
    elif "invertible" in props or invertible:
        m += 2 * math.sqrt(n) * np.eye(n)
    elif positive or "positive" in props:
        m = np.abs(m) + 0.5
    return m * scale if scale != 1.0 else m


def _structured(props: frozenset, m, rng):
    """A value with a property that fixes its scale: columns (rows) that are distributions or
    one-hot, orthonormal columns."""
    if "orthogonal" in props:
        q, r = np.linalg.qr(m)
        return q * np.sign(np.diag(r))
    rows = bool(props & {"simplex_rows", "onehot_rows"}) or m.shape[1] != 1 and m.shape[0] == 1
    a = m.T if rows else m
    if props & {"onehot", "onehot_rows"}:
        out = np.zeros_like(a)
        out[rng.integers(0, a.shape[0], a.shape[1]), np.arange(a.shape[1])] = 1.0
    else:
        out = np.abs(a) + 0.1
        out = out / out.sum(axis=0, keepdims=True)
    return out.T if rows else out


def _literals(exprs) -> set:
    """The integer literals of ``exprs`` up to ``MAX_SIZE``: constants (rounded up) and fixed dimensions."""
    literals = {0}
    for e in exprs:
        for node in E.walk(e):
            for d in node.shape:
                literals.update(f for f in (d if isinstance(d, tuple) else (d,)) if isinstance(f, int))
            if node.op == "const" and abs(node.data) <= MAX_SIZE:
                literals.add(math.ceil(abs(node.data)))
    return {k for k in literals if k <= MAX_SIZE}


def node_shapes(exprs) -> set:
    """The distinct shapes of the nodes of ``exprs``."""
    return {node.shape for e in exprs for node in E.walk(e)}


def largest_array(shapes, sizes: dict) -> int:
    """The most entries an array of one of ``shapes`` has at ``sizes``."""
    return max((math.prod(resolve_dim(d, sizes) for d in shape) for shape in shapes), default=1)


def size_sets(names, rng, exprs=(), fixed: dict | None = None) -> list:
    """The sets of sizes to draw at: the small sizes first, then the large ones, then those across
    the thresholds of kinks on dimensions. With ``fixed`` (name -> size), those sizes only (a name
    it lacks gets a small size)."""
    names = sorted(names)
    order = list(SIZES)
    rng.shuffle(order)
    while len(order) < len(names):
        order.append(order[-1] + 1)
    small = dict(zip(names, order))
    if fixed:
        unknown = sorted(set(fixed) - set(names))
        if unknown:
            raise MatcalcError(f"sizes: no dimension named {', '.join(map(repr, unknown))}; the dimensions are "
                               f"{', '.join(names) or 'none (all sizes are fixed)'}")
        return [{**small, **{k: int(v) for k, v in fixed.items()}}]
    if not names:
        return [{}]
    shapes = node_shapes(exprs)
    start = min(MAX_SIZE, max(LARGE, max(_literals(exprs)) + 1))
    rank = {name: k for k, name in enumerate(sorted(names, key=small.get))}   # in the order of the small sizes
    large = {}
    for first in range(start, LARGE - 1, -1):
        large = {name: first + rank[name] for name in names}
        if largest_array(shapes, large) <= MAX_ENTRIES:
            break
    out = [small, large]
    for name, size in _dimension_thresholds(exprs, small):
        candidate = {**small, name: size}
        if candidate not in out:
            out.append(candidate)
    return [_tall_where_orthogonal(sizes, exprs) for sizes in out]


def _tall_where_orthogonal(sizes: dict, exprs) -> dict:
    """``sizes`` with the dims of each variable with orthonormal columns (QᵀQ = I) swapped where
    it would be wide."""
    sizes = dict(sizes)
    for e in exprs:
        for v in e.free_vars:
            rows, cols = v.shape
            if "orthogonal" in v.data[1] and isinstance(rows, str) and isinstance(cols, str) \
                    and sizes.get(rows, 0) < sizes.get(cols, 0):
                sizes[rows], sizes[cols] = sizes[cols], sizes[rows]
    return sizes


def _kink_arguments(exprs) -> list:
    """The arguments of the kinked operations in ``exprs``, each once."""
    seen = {}
    for e in exprs:
        for node in E.walk(e):
            if operation_key(node) in KINKED:
                seen.setdefault(node.args[0], None)
    return list(seen)


def _dimension_thresholds(exprs, sizes: dict) -> list:
    """``(name, size)`` just beyond each threshold that a kink's argument, a function of the sizes
    alone (``n/3 − 7``), puts on a dimension: one size each side, within 1..MAX_SIZE."""
    out = []
    for argument in _kink_arguments(exprs):
        if argument.free_vars or argument.shape != E.SCALAR:
            continue
        fn = NumpyFunction(argument, "kink", "matrix")
        for name in fn.free_dims:
            at = {d: sizes.get(d, SIZES[0]) for d in fn.free_dims}
            with np.errstate(all="ignore"):
                g0 = float(np.ravel(fn(**at))[0])
                g1 = float(np.ravel(fn(**{**at, name: at[name] + 1}))[0])
            if g1 == g0 or not math.isfinite(g0 + g1):
                continue
            root = round(at[name] - g0 / (g1 - g0), 9)    # where the argument crosses 0 (linear in the size)
            for size in (math.floor(root) + 1, math.ceil(root) - 1):
                if 1 <= size <= MAX_SIZE and size != at[name]:
                    out.append((name, size))
    return out


@dataclass(frozen=True)
class Setting:
    """Where to draw a point: the sizes, the magnitude of the entries, and optionally a kink
    (its argument) to place the point across — ``side`` −1 or +1 picks which part of the
    argument's entries lies above its threshold (a scalar argument: below or above)."""
    sizes: tuple
    scale: float = 1.0
    kink: E.Expr | None = None
    side: int = 0

    @property
    def size_map(self) -> dict:
        return dict(self.sizes)


class Sampler:
    """Random inputs for the variables of ``f``, in the domains ``f`` needs, at the settings of
    the module docstring. ``watch``: more expressions (a derivative, a claim) whose literals and
    kinks count; ``sizes``: fixed sizes instead of the small and large ones. ``sizes`` (the
    attribute) are the small sizes, at which ``draw()`` draws by default."""

    def __init__(self, f: E.Expr, variables, rng, extra_dims=(), *, watch=(), sizes: dict | None = None):
        self.variables = sorted(set(variables), key=lambda v: v.name)
        self.rng = rng
        self.extra_dims = list(extra_dims)
        exprs = [f, *watch]
        names = {d for v in self.variables for d in v.shape if isinstance(d, str)} | set(self.extra_dims)
        self.size_sets = size_sets(names, rng, exprs, sizes)
        self.sizes = self.size_sets[0]
        self.positive = positive_domain_variables(f)
        self.invertible = invertible_variables(f)
        self.spd = spd_variables(f)
        inputs = set(self.variables)
        self.kinks = [a for a in _kink_arguments(exprs) if a.free_vars and a.free_vars <= inputs]
        self._kink_functions: dict = {}

    def settings(self, base: int) -> list:
        """``base`` settings at the small sizes and magnitude 1, then one at each other set of
        sizes, one at each other magnitude, and two across each kink."""
        small = tuple(sorted(self.sizes.items()))
        out = [Setting(small) for _ in range(base)]
        out += [Setting(tuple(sorted(s.items()))) for s in self.size_sets[1:]]
        out += [Setting(small, scale) for scale in SCALES[1:]]
        out += [Setting(small, 1.0, kink, side) for kink in self.kinks for side in (-1, 1)]
        return out

    def draw(self, setting: Setting | None = None) -> dict | None:
        """Inputs by name (and the sizes of ``extra_dims``) at ``setting`` (default: the small
        sizes, magnitude 1); ``None`` when the kink of the setting cannot be crossed."""
        sizes = setting.size_map if setting is not None else self.sizes
        scale = setting.scale if setting is not None else 1.0
        inputs = {v.name: draw(v, sizes, self.rng, v in self.positive, v in self.invertible, scale, v in self.spd)
                  for v in self.variables}
        inputs.update({d: sizes[d] for d in self.extra_dims})
        if setting is not None and setting.kink is not None:
            return self.across(inputs, setting.kink, setting.side, scale)
        return inputs

    def across(self, inputs: dict, argument: E.Expr, side: int, scale: float) -> dict | None:
        """``inputs`` with one variable of ``argument`` moved along a random line so that the
        argument's entries fall on both sides of 0 (``side`` −1: a third of them above, +1: two
        thirds); a scalar argument: just below (−1) or above (+1) its threshold."""
        movable = [v for v in sorted(argument.free_vars, key=lambda v: v.name)
                   if not v.data[1] & (CONSTRAINED - {"positive", "symmetric"})]
        if not movable:
            return None
        v = movable[int(self.rng.integers(len(movable)))]
        fn = self._kink_functions.get(argument)
        if fn is None:
            fn = self._kink_functions[argument] = NumpyFunction(argument, "kink", "matrix",
                                                                required=argument.free_vars)
        x0 = inputs[v.name]
        u = scale * (self.rng.standard_normal(np.shape(x0)) if np.ndim(x0) else float(self.rng.choice((-1, 1))))
        if v in self.positive or "positive" in v.data[1]:   # along a positive line: positive on one side of x0
            u = np.abs(u)
        if "symmetric" in v.data[1] and np.ndim(u) == 2:   # a symmetric line for a symmetric variable
            u = (u + u.T) / 2

        def at(t):
            return {**{k: inputs[k] for k in fn.accepts}, v.name: x0 + t * u}
        try:
            g0 = np.ravel(fn(**at(0.0)))
            slope = np.ravel(fn(**at(1.0))) - g0
        except MatcalcError:
            return None
        moving = (slope != 0) & np.isfinite(slope) & np.isfinite(g0)
        if not moving.any():
            return None
        g0, slope = g0[moving], slope[moving]
        roots = np.sort(-g0 / slope)     # where each entry crosses 0 (linear along the line)
        if roots[-1] - roots[0] <= 1e-9 * max(1.0, abs(roots[0])):   # one threshold: a point on one side
            t = roots[0] + 0.5 * side * np.sign(np.sum(slope))
        else:   # between two roots, where the share of entries above is nearest a third (side −1) or two thirds
            middles = (roots[:-1] + roots[1:]) / 2
            middles = middles[np.linspace(0, len(middles) - 1, min(len(middles), 64)).astype(int)]
            above = np.mean(g0[None, :] + middles[:, None] * slope[None, :] > 0, axis=1)
            t = middles[int(np.argmin(np.abs(above - (1 if side < 0 else 2) / 3)))]
        return {**inputs, v.name: x0 + t * u}


# ---------------------------------------------------------------------------------------
# Finite differences
# ---------------------------------------------------------------------------------------

def _symmetric(v: E.Expr, shape) -> bool:
    return bool(v.data[1] & {"symmetric", "spd"}) and len(shape) == 2 and shape[0] == shape[1] and shape[0] > 1


def directions(v: E.Expr, value, rng=None, limit: int = ENTRY_LIMIT):
    """Perturbations of ``v``: each entry (each symmetric pair for a symmetric ``v``), as large as
    the entry, while there are at most ``limit``; beyond that (``rng`` given) ``RANDOM_DIRECTIONS`` random ones and
    ``COORDINATE_DIRECTIONS`` unit ones at random entries. A generator: one direction in memory at
    a time."""
    shape = np.shape(value)
    symmetric = _symmetric(v, shape)
    n = shape[0] if shape else 1
    units = [(i, j) for i in range(n) for j in range(i, n)] if symmetric else range(int(np.prod(shape, dtype=int)))
    if rng is None or len(units) <= max(limit, RANDOM_DIRECTIONS + COORDINATE_DIRECTIONS):
        chosen = units
    else:
        for _ in range(RANDOM_DIRECTIONS):
            d = rng.standard_normal(shape)
            yield (d + d.T) / 2 if symmetric else d
        chosen = [units[int(k)] for k in rng.choice(len(units), COORDINATE_DIRECTIONS, replace=False)]
    # a unit direction is scaled to its entry (1e-2 of the largest at least): the step is then
    # relative to each entry, not to the largest (σ at −16 beside 2,000 needs a step of 0.02, not 2)
    magnitude = np.abs(np.asarray(value, dtype=float))
    top = float(np.max(magnitude, initial=0.0))
    floor = 1e-2 * top

    def scaled(index):
        return max(float(magnitude[index]), floor) / top if top > 0 else 1.0

    for unit in chosen:
        d = np.zeros(shape)
        if symmetric:
            i, j = unit
            d[i, j] = d[j, i] = scaled((i, j))
        else:
            d.reshape(-1)[unit] = scaled(np.unravel_index(unit, shape) if shape else ())
        yield d


def _central(fun, x, d, h):
    return (np.asarray(fun(x + h * d), dtype=float) - np.asarray(fun(x - h * d), dtype=float)) / (2 * h)


def richardson(fun, x, d, h, confirm: bool = False):
    """The directional derivative of ``fun`` at ``x`` along ``d``, and a noise estimate. With
    ``confirm``, the extrapolation is repeated at half the steps and the two must agree (else the
    noise is their difference): a step too long for ``fun`` (an oscillation at large ``x``) shows."""
    return _extrapolated(lambda step: _central(fun, x, d, step), h, confirm)


def _extrapolated(difference, h, confirm: bool):
    """Richardson's extrapolation of ``difference(step)`` (an error in step²) from ``h`` and
    ``h/2`` (with ``confirm``: also from ``h/2`` and ``h/4``), and the noise: the difference of
    the two steps, or of the two extrapolations."""
    coarse, fine = difference(h), difference(h / 2)
    value = (4 * fine - coarse) / 3
    noise = float(np.max(np.abs(fine - coarse), initial=0.0))
    if confirm:
        finer = difference(h / 4)
        again = (4 * finer - fine) / 3
        noise = max(noise, float(np.max(np.abs(again - value), initial=0.0)))
        value = again
    return value, noise


def step_for(x, scale: float = 1.0) -> float:
    """The finite-difference step: 1e-3 of the largest entry, or of the magnitude drawn at."""
    return 1e-3 * max(scale, float(np.max(np.abs(x), initial=0.0)))


# a difference beyond the tolerance is measured again with these smaller steps (relative to the
# first): where f varies faster than the step (tan at 1e3) a smaller step agrees, or cannot
# measure (the input is not used); where the derivative is wrong, every step disagrees
SMALLER_STEPS = (1e-2, 1e-4)
UNRESOLVED = "unresolved"   # _compare's outcome when the derivative is lost in the differences' noise


def _verdict(predicted, measured, noise: float, floor: float = 0.0):
    """``(relative error, the same less the differences' noise)``, or ``UNRESOLVED`` when a nonzero
    predicted derivative and the measured one are both within the noise (or below ``floor``, the
    rounding of the intermediate values of f over the step): nothing was compared, so the check
    must not say ``ok``."""
    predicted = np.asarray(predicted, dtype=float).reshape(-1)
    measured = np.asarray(measured, dtype=float).reshape(-1)
    top = max(float(np.max(np.abs(predicted), initial=0.0)), float(np.max(np.abs(measured), initial=0.0)))
    if top > 0:   # in units of the largest entry: norms of values near the float range do not overflow
        predicted, measured, noise, floor = predicted / top, measured / top, noise / top, floor / top
    scale = max(float(np.linalg.norm(predicted)), float(np.linalg.norm(measured)))
    if np.any(predicted != 0) and scale <= max(10 * noise, floor):
        return UNRESOLVED
    return relative_error(predicted, measured), relative_error(predicted, measured, noise)


def _norm(values) -> float:
    """The Euclidean norm, without overflow for entries near the float range."""
    values = np.abs(np.asarray(values, dtype=float).reshape(-1))
    top = float(np.max(values, initial=0.0))
    return top * float(np.linalg.norm(values / top)) if 0 < top < math.inf else top


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


class Conditioning:
    """How well finite differences of ``f`` can see ``wrt`` at an input: the sums in ``f`` whose
    terms in ``wrt`` are small next to the others (``z + 1e20``), so that a step of ``wrt`` is
    lost to the rounding of the sum; the largest intermediate value of ``f``, whose rounding
    bounds the smallest derivative that differences of ``f`` can resolve (``log_softmax`` of
    entries near 1000 loses every derivative below ~1e-13); and the powers whose exponent
    amplifies the rounding of their base beyond use (``p^{1e308}`` is 0 or ∞ except where
    ``p`` rounds to exactly 1, and there neither ``f`` nor its derivative has a reliable value)."""

    def __init__(self, f: E.Expr, wrt: E.Expr, variables):
        self.wrt = wrt
        self.amplifiers = [node for node in E.walk(f) if node.op == "pow" and node.args[1].op == "const"
                           and abs(float(node.args[1].data)) * np.finfo(float).eps > AMPLIFIED]
        self.amplifiers_fn = NumpyFunction(self.amplifiers, "powers", "matrix", required=variables) \
            if self.amplifiers else None
        self.sums = [(node, E.add(*[a for a in node.args if a.depends_on(wrt)])) for node in E.walk(f)
                     if node.op == "add" and node.depends_on(wrt) and not all(a.depends_on(wrt) for a in node.args)]
        inner = [node for node in E.walk(f) if node.depends_on(wrt) and node.op not in ("var", "T")]
        exprs = [e for pair_ in self.sums for e in pair_] + inner
        self.fn = NumpyFunction(exprs, "parts", "matrix", required=variables) if exprs else None

    def amplified(self, inputs: dict) -> E.Expr | None:
        """A power whose value at ``inputs`` is finite and nonzero somewhere although its exponent
        turns the rounding of its base into noise there, if there is one."""
        if self.amplifiers_fn is None:
            return None
        values = self.amplifiers_fn(**{k: inputs[k] for k in self.amplifiers_fn.accepts})
        for node, value in zip(self.amplifiers, values):
            value = np.abs(np.asarray(value, dtype=float))
            if np.any((value > 0) & np.isfinite(value)):
                return node
        return None

    def at(self, inputs: dict, step: float, rng) -> tuple:
        """``(fraction, sum, magnitude)``: the largest ratio of a sum's rounding (ε |sum|) to the
        change a step ``step`` of ``wrt`` (along a random direction) makes in its terms in
        ``wrt``, that sum, and the largest magnitude of an intermediate value."""
        if self.fn is None:
            return 0.0, None, 0.0
        args = {k: inputs[k] for k in self.fn.accepts}
        before = self.fn(**args)
        finite = [np.abs(np.asarray(v, dtype=float)) for v in before[2 * len(self.sums):]]
        magnitude = max((float(np.max(v[np.isfinite(v)], initial=0.0)) for v in finite), default=0.0)
        if not self.sums:
            return 0.0, None, magnitude
        x0 = np.asarray(inputs[self.wrt.name], dtype=float)
        after = self.fn(**{**args, self.wrt.name: x0 + step * rng.standard_normal(x0.shape)})
        worst, where = 0.0, None
        for k, (node, _) in enumerate(self.sums):
            total = np.asarray(before[2 * k], dtype=float)
            part = np.abs(np.broadcast_to(np.asarray(before[2 * k + 1], dtype=float), total.shape))
            change = np.abs(np.broadcast_to(np.asarray(after[2 * k + 1]) - before[2 * k + 1], total.shape))
            seen = change > 1e-12 * part    # the part moves by more than its own rounding
            if not seen.any():
                continue
            lost = float(np.max(np.finfo(float).eps * np.abs(total)[seen] / change[seen]))
            if lost > worst:
                worst, where = lost, node
        return worst, where, magnitude


def _check_options(seed, trials, tolerance, sizes=None):
    """``seed``: None or an integer ≥ 0; ``trials``: an integer ≥ 1; ``tolerance``: a number > 0;
    ``sizes``: None or a mapping of dimension names to integers ≥ 1."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise MatcalcError(f"seed must be None or an integer ≥ 0, got {seed!r}")
    if isinstance(trials, bool) or not isinstance(trials, numbers.Integral) or trials < 1:
        raise MatcalcError(f"trials must be an integer ≥ 1, got {trials!r}")
    if isinstance(tolerance, bool) or not isinstance(tolerance, numbers.Real) or not tolerance > 0:
        raise MatcalcError(f"tolerance must be a number > 0, got {tolerance!r}")
    if sizes is not None:
        if not isinstance(sizes, dict):
            raise MatcalcError(f"sizes must be a mapping of dimension names to sizes, got {sizes!r}")
        for name, size in sizes.items():
            if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
                raise MatcalcError(f"sizes: the size of {name!r} must be an integer ≥ 1, got {size!r}")


@guarded
def check_derivative(f: E.Expr, wrt: E.Expr, numeric, kind: str, variables, seed=None,
                     trials: int = 3, tolerance: float = 1e-6, entries: bool = False,
                     direction: E.Expr | None = None, sizes: dict | None = None,
                     written: E.Expr | None = None) -> CheckReport:
    """Compare a derivative, evaluated by ``numeric`` (a ``NumpyFunction``), with finite
    differences of ``f`` at the inputs of a ``Sampler``: ``trials`` at the small sizes, then one
    at each other set of sizes, each other magnitude and each side of each kink (those extra
    points are skipped where no usable input is found; the first ``trials`` are required).

    ``kind``: ``"gradient"`` (shaped like ``wrt``; with ``entries`` each entry is compared with
    the derivative by that entry, a symmetric pair counting once), ``"jacobian"`` (a matrix
    ``numel(f) × numel(wrt)`` or the full array), ``"hessian"`` (the same for the gradient) or
    ``"hvp"`` (the Hessian times the variable ``direction``). ``sizes``: sizes to check at
    (name -> int) instead of the small and large ones. ``written``: ``f`` as the user wrote it,
    before the simplification rules; at the first ``trials`` inputs it must have the value of
    ``f``, or the check is wrong (a rule changed the function, and the derivative with it)."""
    _check_options(seed, trials, tolerance, sizes)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    rng = np.random.default_rng(seed)
    written = f if written is None else written
    variables = sorted(set(variables) | f.free_vars | written.free_vars | {wrt}, key=lambda v: v.name)
    f_num = NumpyFunction(f, "f", required=variables)
    written_num = f_num if written is f else NumpyFunction(written, "f", required=variables)
    sampler = Sampler(written, variables, rng, f_num.free_dims + numeric.free_dims, watch=[f, *numeric.exprs],
                      sizes=sizes)
    conditioning = Conditioning(f, wrt, variables)
    errors: list = []     # relative errors, one per input compared
    beyond_noise: list = []   # the same, less the finite differences' noise: the verdict's measure
    undecided: list = []      # why the finite differences could not decide at a required input
    changed = None            # how the rules changed f, if they did
    with np.errstate(all="ignore"):   # inputs outside the domain are found and redrawn, not reported
        for index, setting in enumerate(sampler.settings(trials)):
            required = index < trials
            # entry by entry at the first inputs; at the others, directional and wary of rounding inside f
            def compare(inputs, scale, required=required):
                def at(step_scale):
                    return _compare(f_num, numeric, wrt, kind, inputs, entries, direction, scale, conditioning,
                                    rng, required, step_scale)
                outcome = at(1.0)
                for smaller in SMALLER_STEPS:   # a step too large for f (tan at 1e3) must not decide
                    if not isinstance(outcome, tuple) or outcome[1] <= tolerance:
                        break
                    again = at(smaller)
                    if not isinstance(again, tuple):   # unusable here, or below resolution: not evidence
                        return again
                    outcome = min(outcome, again, key=lambda pair: pair[1])
                return outcome
            outcome, inputs = _first_usable(sampler, setting, compare)
            if isinstance(outcome, tuple):
                errors.append(outcome[0])
                beyond_noise.append(outcome[1])
                if required and written_num is not f_num:
                    changed = changed or _rules_changed(f_num, written_num, inputs)
            elif required:
                undecided.append(outcome or "no input was found where f is finite and smooth")
                if outcome is None:
                    break
    used = [s for s in sampler.size_sets if s]
    if changed:
        return CheckReport("wrong", max(errors), len(errors), sampler.sizes, seed, tolerance, errors, changed, used)
    if not errors:
        return CheckReport("inconclusive", math.nan, 0, sampler.sizes, seed, tolerance, [],
                           _unresolved_text(undecided[0], everywhere=True), used)
    worst = max(errors)
    status = "ok" if max(beyond_noise) <= tolerance else "wrong"
    message = ""
    if status == "ok" and worst > tolerance:
        message = "the differences are within the finite differences' own noise"
    if undecided and status == "ok":
        status, message = "inconclusive", _unresolved_text(undecided[0], everywhere=False)
    return CheckReport(status, worst, len(errors), sampler.sizes, seed, tolerance, errors, message, used)


def _rules_changed(f_num, written_num, inputs) -> str | None:
    """Why ``f`` (simplified) is not the function as written, if at ``inputs`` their values differ
    (where the written form is finite)."""
    try:
        simplified = np.asarray(f_num(**_subset(f_num, inputs)), dtype=float)
        as_written = np.asarray(written_num(**_subset(written_num, inputs)), dtype=float)
    except MatcalcError:
        return None
    if not np.all(np.isfinite(as_written)):
        return None
    gap = _norm(simplified - as_written)
    if gap <= 1e-9 * max(_norm(as_written), _norm(simplified), 1e-300):
        return None
    return (f"f as written and f after the simplification rules differ (by {gap:.3g} at an input): a rule "
            "changes the function, so its derivative is not the derivative of f as written")


def _first_usable(sampler, setting, compare) -> tuple:
    """``(outcome, inputs)``: ``compare`` at the first usable input of ``setting`` (redrawn up to
    ``MAX_DRAWS`` times; at magnitude 1 after half of them) — its error pair, or a string saying
    why it cannot decide — or ``(None, None)`` when no usable input was found."""
    for attempt in range(MAX_DRAWS):
        if attempt == MAX_DRAWS // 2 and setting.scale != 1.0:
            setting = Setting(setting.sizes, 1.0, setting.kink, setting.side)
        inputs = sampler.draw(setting)
        if inputs is None:
            return None, None
        try:
            outcome = compare(inputs, setting.scale)
        except MatcalcError:   # an input f cannot be evaluated at (a singular matrix): another one
            continue
        if outcome is not None:
            return outcome, inputs
    return None, None


def _unresolved_text(reason: str, everywhere: bool) -> str:
    if reason is not UNRESOLVED:
        return reason
    return ("the derivative is below what finite differences can resolve "
            + ("at every input tried (a vanishing gradient?)" if everywhere else "at some of the inputs"))


def _subset(function, inputs: dict) -> dict:
    return {k: v for k, v in inputs.items() if k in function.accepts}


def as_vec_jacobian(value, out_shape, in_shape) -> np.ndarray:
    """A derivative array (matrix or full array, unit axes of vectors dropped or not) as the
    matrix ``∂vec(F)/∂vec(X)ᵀ`` with column-major vec."""
    r, c = out_shape
    k, l = in_shape
    full = np.asarray(value, dtype=float).reshape(r, c, k, l)
    return full.transpose(1, 0, 3, 2).reshape(r * c, k * l)


def _rounding_dominated(numeric, inputs: dict, got, rng) -> bool:
    """Whether the derivative at ``inputs`` is mostly rounding error (a closed form that cancels
    to almost nothing at extreme magnitudes): moving every input by a relative 1e-12 changes it
    by more than ``JITTER_TOLERANCE`` of itself."""
    moved = {k: v * (1 + 1e-12 * rng.standard_normal(np.shape(v))) if isinstance(v, (float, np.ndarray)) else v
             for k, v in _subset(numeric, inputs).items()}
    again = np.asarray(numeric(**moved), dtype=float)
    scale = _norm(got)
    return scale > 0 and _norm(again - got) > JITTER_TOLERANCE * scale


def _blind_reason(lost: float, where, h: float, wrt) -> str | None:
    if lost <= BLIND:
        return None
    by = "less than its rounding error" if lost >= 1 else f"only {1 / lost:.3g} times its rounding error"
    return (f"f is ill-conditioned here: the finite differences cannot resolve {wrt.name} in {where} (a step "
            f"of {h:.1g} in {wrt.name} changes that sum by {by})")


def _compare(f_num, numeric, wrt, kind, inputs, entries=False, direction=None, scale=1.0, conditioning=None,
             rng=None, thorough=True, step_scale=1.0):
    """The relative error and the same less the noise at one input, ``None`` if the input is
    unusable, or (a string: ``UNRESOLVED`` or another reason) why finite differences cannot decide.
    ``thorough``: entry by entry (up to ``ENTRY_LIMIT`` entries); else along a few directions, and
    no derivative below the rounding of f's largest intermediate value counts as compared."""
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
    if rng is not None and _rounding_dominated(numeric, inputs, got, rng):
        return ("the derivative's own value is lost to rounding at some inputs (it changes by more than 1e-6 "
                "of itself when they change by 1e-12 of theirs)")
    amplified = conditioning.amplified(inputs) if conditioning is not None else None
    if amplified is not None:
        return (f"{amplified} amplifies the rounding of its base {float(amplified.args[1].data):.3g}-fold, so at "
                "some inputs neither f nor its derivative has a reliable value")
    h = step_for(x0, scale) * step_scale
    lost, where, magnitude = conditioning.at(inputs, h, rng) if conditioning is not None else (0.0, None, 0.0)
    reason = _blind_reason(lost, where, h, wrt)
    if reason is not None:
        return reason
    dirs = list(directions(wrt, x0, rng, ENTRY_LIMIT if thorough else 0))
    if thorough:
        magnitude = 0.0

    def rounding(step, count, size=None):   # the roundoff in `count` differences over `step` of values of `size`
        size = float(np.max(np.abs(base), initial=0.0)) if size is None else size
        size = max(size, np.finfo(float).tiny)   # below the normal floats the spacing stays eps · tiny
        return 4 * np.finfo(float).eps * size / step * np.sqrt(count)

    in_shape = x0.shape if x0.ndim == 2 else (x0.size, 1)
    predicted, measured, noises = [], [], []
    if kind in ("hessian", "hvp"):
        if kind == "hvp":   # along v brought to x's magnitude (H v is linear in v: the prediction scales too)
            v = np.asarray(inputs[direction.name], dtype=float)
            v_top = float(np.max(np.abs(v), initial=0.0))
            v_scale = max(float(np.max(np.abs(x0), initial=0.0)), scale) / v_top if v_top > 0 else 1.0
            pairs = [(d, v * v_scale) for d in dirs]
        else:
            matrix = as_vec_jacobian(got, in_shape, in_shape)
            pairs = [(di, dj) for i, di in enumerate(dirs) for dj in dirs[i:]]
        for di, dj in pairs:
            value, noise = _second_difference(lambda x: vec(f_at(x)), x0, di, dj, h, scale != 1.0)
            noises.append(noise)
            if not np.isfinite(value) or noise > 1e-4 * max(1.0, abs(value)):
                return None
            predicted.append(v_scale * pair(got.reshape(x0.shape), di) if kind == "hvp" else vec(di) @ matrix @ vec(dj))
            measured.append(value)
        return _verdict(predicted, measured, max(_norm(noises), rounding(h * h, len(pairs))),
                        10 * rounding(h * h, len(pairs), magnitude))
    if kind == "jacobian":
        out_shape = base.shape if base.ndim == 2 else (base.size, 1)
        matrix = as_vec_jacobian(got, out_shape, in_shape)
    for d in dirs:
        value, noise = richardson(lambda x: vec(f_at(x)), x0, d, h, scale != 1.0)
        noises.append(noise)
        if not np.all(np.isfinite(value)) or noise > 1e-4 * max(1.0, float(np.max(np.abs(value)))):
            return None
        measured.append(value)
        if kind == "gradient":
            g = got.reshape(x0.shape) if x0.ndim else got
            # the derivative along d; by independent entries (a symmetric pair once): the upper triangle
            predicted.append(np.array([pair(g, np.triu(d) if entries else d)]))
        else:
            predicted.append(matrix @ vec(d))
    return _verdict(np.concatenate(predicted), np.concatenate(measured),
                    max(_norm(noises), rounding(h, len(dirs))), 10 * rounding(h, len(dirs), magnitude))


def _second_difference(f_at, x0, di, dj, h, confirm: bool = False):
    def at(step):
        def value(si, sj):
            return f_at(x0 + si * step * di + sj * step * dj)[0]
        return (value(1, 1) - value(1, -1) - value(-1, 1) + value(-1, -1)) / (4 * step * step)
    return _extrapolated(at, h, confirm)
