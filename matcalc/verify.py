"""``verify``: is a hand-derived derivative right, and if not, how is it wrong?

A verdict says how it knows (``Verdict.proved``, ``Verdict.method``):

- **correct, proved** (``"symbolic"``): the canonical form of ``claim − answer`` is zero (also with
  products expanded);
- **numerically consistent, not proved** (``"numeric"``): the canonical difference is not zero,
  but the claim agrees with the answer at every input of the ``check.Sampler`` — small sizes and
  sizes larger than every literal, magnitudes 1e-3 to 1e3, both sides of every kink — and sympy
  finds no exact difference at the inputs it can evaluate. ``correct`` is ``True`` for these too;
- **wrong**: the shapes differ (``"symbolic"``), or an input where the two differ — proved in
  exact arithmetic (``"exact"``: sympy at concrete sizes and rational inputs, the claim and the
  answer entry by entry, a transcendental difference decided to 30 digits) where sympy can
  evaluate them, found in floating point (``"numeric"``) where it cannot.

Numbers are compared term by term: ``claim − answer``, simplified, is evaluated itself and judged
against the size of each of its own terms, never against the claim's or the answer's size, so that
a large term common to both cannot hide a 100% error in a small one (``2e8 x + 2 eˣ`` for
``2e8 x + eˣ``, ``2 x + 1e-30 x∘²`` for ``2 x``). A claim whose canonical form differs from the
answer's goes to sympy even when the numbers agree — at the first input and at the two across a
kink where they differ most — so that a difference that floating point cannot see (a term zero
below a kink and 1e-200 of the answer above it) is still found.

A wrong claim gets a diagnosis in words, tried in this order:

- wrong shape — and whether the claim is the transpose of the answer (a layout mix-up), its
  diagonal given as a vector, or a matrix whose diagonal is the answer;
- the transpose of the answer (for a Jacobian: the other layout);
- off by a sign, or by a constant factor (which one);
- a term missing, a term extra, a term with its sign flipped or a wrong factor — by writing the
  answer (and the claim) as a sum of terms and fitting one to the other;
- right except for the derivative of an elementwise function: the answer is re-derived with
  each mistake of ``rules/mistakes.rules`` at each place it can happen;
- the answer with one slip (``slips``): a factor or a term left out, an inverse or a transpose
  left off or put on, the sign inside a function flipped;

and always a concrete counter-example: the sizes, the inputs, and the entry where the claim and
the answer differ most — exact where sympy could decide it.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from . import expr as E
from .api import check_distinct
from .check import Sampler, Setting, largest_array
from .derivative import Derivative, compute, derive, make_variables
from .diff import differential_variable
from .errors import MatcalcError, NotationWarning, ReadingWarning, ShapeError
from .factor import factor
from .latex_claims import DERIVATIVE_TERM
from .latex_matrices import top_level_split
from .limits import guarded
from .ops import operation_key
from .parse import build_expression, claim_steps
from .printing.latex import prose, to_latex
from .printing.numpy import NumpyFunction
from .printing.text import to_text
from .rewrite import simplify
from .rules import RULES, Binding, match
from .shapes import SCALAR, resolve_dim, shape_text
from .slips import slips
from .staged import expand_signals

if TYPE_CHECKING:
    import sympy as sp

CATEGORIES = ("correct", "shape", "transpose", "layout", "factor", "sign", "missing-term",
              "extra-term", "elementwise-derivative", "other")
METHODS = ("symbolic", "exact", "numeric")
TOLERANCE = 1e-7      # the largest difference, relative to the terms, that counts as agreement
MAX_TERMS = 24
MAX_FACTOR_CANDIDATES = 20   # products of the answer tried by the missing-factor diagnosis
EXACT_ENTRIES = 400   # sympy only where no array has more entries than this
EXACT_DIGITS = 50     # transcendental functions are evaluated to this many digits …
EXACT_EQUAL = 1e-30   # … and a difference below this fraction of the entries counts as none
RATIONAL_FUNCTIONS = frozenset({"relu", "step", "abs", "sign"})   # rational at rational inputs
EXACT_ATTEMPTS = 2    # inputs given to sympy at most
KINK_ATTEMPTS = 2     # and, where the numbers agree everywhere, inputs across a kink besides
EXACT_PRODUCTS = 60   # matrix factors beyond which sympy computes with digits, not rationals
MAX_EXACT_PRODUCTS = 1500   # and beyond which it is not asked at all (each factor a sympy product)
MISTAKE_WORK = 2400   # nodes re-derived with a classic mistake, in all, for a diagnosis
EXACT_ENTRY_TRIES = 4  # entries tried where the numbers agree everywhere
INVERTED = ("inv", "det", "logdet")


@dataclass
class Counterexample:
    """Where a wrong claim and the answer differ. ``exact``: computed by sympy in rational
    arithmetic at exactly these inputs (shown to their 3 significant digits)."""
    sizes: dict
    inputs: dict
    index: tuple
    expected: float
    claimed: float
    exact: bool = False
    difference: float | None = None   # claim − answer there, computed exactly (when exact)
    shown: tuple | None = None        # (answer, claim) as text where they are beyond floats

    def __str__(self):
        sizes = ", ".join(f"{k} = {v}" for k, v in sorted(self.sizes.items()))
        how = "exact, at these inputs" if self.exact else "in floating point"
        where = f"entry {self.index}" if self.index else "the value"
        expected, claimed = self.shown or _distinct(self.expected, self.claimed)
        if expected == claimed and self.difference is not None:   # a difference below floating point
            claimed += f" (claim − answer = {self.difference:.6g})"
        lines = [f"counter-example ({'; '.join(filter(None, [sizes, how]))}): {where} of the answer is "
                 f"{expected}, the claim gives {claimed}, at"]
        for name, value in sorted(self.inputs.items()):
            lines.append(f"    {name} = {_shown(value)}")
        return "\n".join(lines)


def _distinct(a: float, b: float) -> tuple:
    """``a`` and ``b`` as text, with 6 significant digits or as many more as tell them apart."""
    for digits in range(6, 18):
        texts = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if texts[0] != texts[1]:
            break
    return texts


def _shown(value) -> str:
    """A number or an array, each entry to 3 significant digits, on one line."""
    if not np.ndim(value):
        return f"{value:.3g}"
    text = np.array2string(np.asarray(value, dtype=float).squeeze(), max_line_width=100,
                           formatter={"float_kind": lambda v: f"{v:.3g}"})
    return " ".join(text.split())


@dataclass
class Verdict:
    """The judgement of a claimed derivative.

    ``correct``: ``True`` when the claim is proved equal to the answer *or* numerically
    consistent with it; ``False`` when it is shown wrong (never ``True`` then). ``proved``: the
    verdict is certain — correct by canonical forms, wrong by shapes or by an exact
    counter-example; a ``correct`` verdict that is not ``proved`` is *numerically consistent at
    ``points`` inputs*. ``method``: how it was decided — ``"symbolic"`` (canonical forms or
    shapes), ``"exact"`` (sympy at rational inputs) or ``"numeric"`` (floating point).
    ``category``: one of ``CATEGORIES``; ``message``: the explanation; ``answer``: matcalc's
    derivative; ``counterexample`` for a wrong claim (``.exact`` when proved)."""
    correct: bool
    category: str
    method: str
    message: str
    answer: Derivative
    claimed: E.Expr | None = None
    claimed_text: str = ""
    counterexample: Counterexample | None = None
    details: list = field(default_factory=list)
    proved: bool = False
    points: int = 0

    def __bool__(self):
        return self.correct

    @property
    def head(self) -> str:
        """``correct (proved: …)``, ``numerically consistent at N points (not proved)`` or ``wrong (…)``."""
        if not self.correct:
            return f"wrong ({self.category.replace('-', ' ')})"
        if self.proved:
            return "correct (proved: the canonical forms agree)"
        return f"numerically consistent at {self.points} points (not proved)"

    def __str__(self):
        lines = [f"{self.head}: {self.message}"]
        if self.claimed is not None:
            lines.append(f"  claim:  {to_text(self.claimed, True)}")
        lines.append(f"  answer: {self.answer}")
        lines += [f"  {d}" for d in self.details]
        if self.counterexample is not None:
            lines += ["  " + line for line in str(self.counterexample).splitlines()]
        return "\n".join(lines)

    def latex(self) -> str:
        """The verdict as an ``aligned`` block: the judgement in words, the claim and the answer."""
        lines = [rf"&\text{{{prose(self.head)}: {prose(self.message)}}}"]
        if self.claimed is not None:
            lines.append(rf"&\text{{claim: }} {to_latex(self.claimed, True)}")
        lines.append(rf"&\text{{answer: }} {self.answer.latex()}")
        lines += [rf"&\text{{{prose(d)}}}" for d in self.details]
        return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"

    def __repr__(self):
        label = self.category if not self.correct else "correct (proved)" if self.proved else "numerically consistent"
        return f"<Verdict {label}: {self.message}>"

    def _repr_markdown_(self):
        if not self.correct:
            mark = f"❌ **wrong ({self.category.replace('-', ' ')})**"
        elif self.proved:
            mark = "✅ **correct** (proved: the canonical forms agree)"
        else:
            mark = f"☑️ **numerically consistent at {self.points} points** (not proved)"
        parts = [f"{mark}: {self.message}", ""]
        if self.claimed is not None:
            parts.append(f"- claim: ${self.claimed.latex()}$")
        parts.append(f"- answer: ${self.answer.latex()}$")
        parts += [f"- {d}" for d in self.details]
        if self.counterexample is not None:
            parts += ["", "```", str(self.counterexample), "```"]
        return "\n".join(parts)


@dataclass(eq=False)
class Sample:
    """The answer and the claim at one input, the term-by-term relative difference there and the
    entry where it is largest."""
    setting: Setting
    values: dict
    truth: np.ndarray
    claim: np.ndarray
    error: float
    index: tuple


@guarded
def verify(f, wrt, claimed, shapes: dict | None = None, *, order: int = 1, syntax: str = "numpy",
           layout=None, symmetric_gradient: str = "sym", definitions: dict | None = None, seed: int = 0,
           trials: int = 4) -> Verdict:
    """Judge ``claimed`` as the derivative of ``f`` w.r.t. ``wrt`` (arguments as in ``derive``;
    ``claimed`` is a string or an expression): a ``Verdict`` — proved correct, numerically
    consistent (not proved) or wrong, with how it knows (see the module docstring). For a staged
    program, the claim may use the names of its stages. ``seed`` fixes the random inputs;
    ``trials``: the inputs at the small sizes and magnitude 1 (more follow at the other sizes,
    magnitudes and kinks)."""
    answer = derive(f, wrt, shapes, order=order, layout=layout, syntax=syntax,
                    symmetric_gradient=symmetric_gradient, definitions=definitions)
    variables = {v.name: v for v in answer.variables}
    variables.update({k: v for k, v in make_variables(shapes).items() if k not in variables})
    program = answer.program
    if program is not None:   # a claim may use the stage names and the backward signals (δh)
        variables.update(program.stage_vars)
        variables.update({var.name: var for var, _, _ in answer.signals.values()})
    dx = differential_variable(answer.wrt)   # a claim may be the differential, d f = tr(Gᵀ dX)
    if order == 1 and dx.name not in variables and "d" not in variables:   # (a variable d: d x is d times x)
        variables[dx.name] = dx
    if type(claimed).__module__.startswith("sympy."):   # a SymPy matrix expression: read as matcalc's
        from .sympy_bridge import from_sympy
        claimed = from_sympy(claimed, shapes)
    text = claimed if isinstance(claimed, str) else str(claimed)
    try:
        with warnings.catch_warnings(record=True) as caught:   # a hint (x.T * A: '@' meant?) for the verdict
            warnings.simplefilter("always", NotationWarning)
            claim = claimed if isinstance(claimed, E.Expr) else build_expression(
                claimed, variables, syntax, **_reading(claimed, answer, dx, order))
    except ShapeError as err:
        guesses = _guesses(caught)
        return Verdict(False, "shape", "symbolic",
                       f"the claim does not type-check, so its shape cannot be right: {err.message}"
                       + (f" (read with a guess: {'; '.join(guesses)})" if guesses else ""),
                       answer, None, text, proved=True)
    hints = list(dict.fromkeys(str(w.message).splitlines()[0] for w in caught if issubclass(w.category, NotationWarning)
                               and not issubclass(w.category, ReadingWarning)))
    guesses = _guesses(caught)
    if program is not None:   # (a claim about ∂f/∂(a stage) keeps that stage as its variable)
        claim = expand_signals(claim, answer.signals) if answer.signals else claim
        claim = program.inline_except(claim, answer.wrt.name) if answer.wrt.name in program.stage_vars \
            else program.inline(claim)
    if syntax in ("latex", "text") and isinstance(claimed, str):
        _check_differentiated(claimed, answer, variables, seed)
    differential = dx in claim.free_vars
    if differential:
        claim = _from_differential(claim, dx, answer)
    check_distinct(answer.variables | claim.free_vars)   # the claim's x is the answer's x
    with np.errstate(all="ignore"):   # overflow and nan at extreme inputs are judged, not warned about
        verdict = Judge(answer, claim, text, variables, seed, trials).verdict()
    if program is not None and verdict.claimed is not None:   # shown in the user's names
        verdict.claimed = program.rename(verdict.claimed)
    if verdict.correct and program is None and isinstance(claimed, str):
        wrong_step = _wrong_step(claimed, answer, variables, syntax, seed, trials, dx, order)
        if wrong_step is not None:
            return wrong_step
    if hints and not verdict.correct:
        verdict.message += f" (note: in the claim, {'; '.join(hints)})"
    if guesses:
        verdict.message += f" (read with a guess: {'; '.join(guesses)})"
    if differential:
        form = f"tr(Gᵀ {dx.name}), whose G is the gradient" if answer.kind == "gradient" \
            else f"J {dx.name}, whose J is the Jacobian"
        verdict.message += f" (the claim read as the differential d f = {form})"
    return verdict


def _check_differentiated(claimed: str, answer: Derivative, variables: dict, seed):
    """Refuse a claim whose left side writes out another function than f (``∂ xᵀAx / ∂x`` where f
    is ``xᵀAx + bᵀx``, ``∇_w ‖Xw − y‖₂`` where f is its square): its right side is about that one.
    Compared symbolically, then at two random inputs; what cannot be read or evaluated is let be."""
    from .check import draw, invertible_variables, positive_domain_variables, size_sets, spd_variables
    written = _written_function(top_level_split(claimed, "="))
    if not written or re.fullmatch(r"\\?[A-Za-z]+(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?(?:\s*\([^()]*\))?", written):
        return   # (a name: L, f_i, J(θ))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = build_expression(written, variables, "latex", infer=False)
        if g.shape != answer.f.shape or E.is_zero(simplify(E.add(g, E.neg(answer.f)))):
            return
        inputs = frozenset(answer.f.free_vars | g.free_vars)
        both = [NumpyFunction(e, "function", "matrix", required=inputs) for e in (g, answer.f)]
        positive = positive_domain_variables(answer.f) | positive_domain_variables(g)
        invertible = invertible_variables(answer.f) | invertible_variables(g)
        spd = spd_variables(answer.f) | spd_variables(g)
        dims = {d for v in inputs for d in v.shape if isinstance(d, str)}
        rng = np.random.default_rng(seed)
        for sizes in (size_sets(dims, rng, (g, answer.f)) * 2)[:2]:   # (the small sizes, then the large)
            values = {v.name: draw(v, sizes, rng, positive=v in positive, invertible=v in invertible or v in spd,
                                   spd=v in spd) for v in inputs}
            with np.errstate(all="ignore"):
                a, b = (np.asarray(fn(**{k: x for k, x in values.items() if k in fn.accepts}), dtype=float)
                        for fn in both)
            if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
                return
            if _relative(a, b) > 1e-6:
                raise MatcalcError(f"the left side is the derivative of {to_text(g)}, but f is {to_text(answer.f)}: "
                                   "the claim is about another function")
    except MatcalcError as err:
        if "another function" in str(err):
            raise
        return


def _written_function(sides: list) -> str:
    """The function a claim's left side writes out, if it has a left side (``\\frac{\\partial
    x^TAx}{\\partial x}``, ``\\nabla_w \\|Xw - y\\|_2``, ``d(\\|Xw\\|^2)``), else ``""``."""
    if len(sides) < 2:
        return ""
    m = DERIVATIVE_TERM.search(sides[0])
    if m is not None and (m.group("function") or m.group("function2")):
        return (m.group("function") or m.group("function2")).strip()
    nabla = re.match(r"\s*\\nabla\s*_\s*(?:\{(?:[^{}]|\{[^{}]*\})*\}|\\?[A-Za-z]+)\s*(?P<rest>\S.*)$", sides[0])
    if nabla is not None:
        return nabla.group("rest").strip()
    differential = re.fullmatch(r"\s*(?:\\mathrm\s*\{\s*d\s*\}|d)\s*(?:\\left)?\s*\((?P<inner>.*)\)\s*", sides[0])
    return re.sub(r"\\right\s*$", "", differential.group("inner")).strip() if differential is not None else ""


def _guesses(caught: list) -> list:
    """The guesses a reading made (its ``ReadingWarning``s), once each."""
    return list(dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, ReadingWarning)))


def _reading(text: str, answer: Derivative, dx: E.Expr, order: int) -> dict:
    """How ``build_expression`` reads a claim about ``answer`` (``dx``: the differential it may use)."""
    return dict(infer=False, derivative_by=answer.wrt.name,
                shape=answer.expr.shape if answer.form == "matrix" and not _mentions(text, dx) else None,
                softmax_axis=_softmax_axis(answer.f), jacobian=answer.kind == "jacobian",
                fixed=frozenset(v.name for v in answer.variables), order=order, context=answer.f)


def _wrong_step(claimed: str, answer: Derivative, variables: dict, syntax: str, seed, trials, dx: E.Expr,
                order: int):
    """The verdict on the first readable step before the last side of a LaTeX chain
    (``\\nabla_x f = 2Ax = (A + A^T) x``) that is not equal to the answer, or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for step in claim_steps(claimed, variables, syntax, answer.f):
            try:
                claim = build_expression(step, variables, syntax, **_reading(step, answer, dx, order))
                if dx in claim.free_vars:   # d f = 2 xᵀ A dx = …: a step that is a differential
                    claim = _from_differential(claim, dx, answer)
            except ShapeError as err:   # ∇f = 2X(Xw − y) = 2Xᵀ(Xw − y): a step that cannot be right
                return Verdict(False, "shape", "symbolic", f"the last side is right, but a step before it does not "
                               f"type-check: {err.message}", answer, None, step, proved=True)
            except MatcalcError as err:
                if "part of the range" in str(err):   # Σ_{i=1}^{N-1} …: another quantity, not an unread one
                    return Verdict(False, "other", "symbolic", "the last side is right, but a step before it sums "
                                   "over part of its index's range", answer, None, step, proved=True)
                continue   # (a step with words, or one no claim could be: not judged)
            with np.errstate(all="ignore"):
                verdict = Judge(answer, claim, step, variables, seed, trials).verdict()
            if not verdict.correct:
                verdict.message = f"the last side is right, but a step before it, {to_text(claim)}, is not: " \
                                  f"{verdict.message}"
                return verdict
    return None


def _mentions(claimed, dx: E.Expr) -> bool:
    """Whether a claim's text may be a differential (``dx``, ``\\mathrm{d}x``, ``d\\mathbf{x}``): its shape
    is then that of f, not the derivative's, and a bare ``𝟏`` in it is sized by its use."""
    if not isinstance(claimed, str):
        return False
    compact = claimed.replace(" ", "")
    return dx.name in compact or r"\mathrm{d}" in compact or r"d\mathbf" in compact or r"d\boldsymbol" in compact


def _softmax_axis(f: E.Expr):
    """The one axis ``f`` takes its softmaxes of matrices along, if it takes them along one."""
    axes = {node.data for node in E.walk(f) if node.op in ("softmax", "log_softmax") and 1 not in node.shape}
    return axes.pop() if len(axes) == 1 and None not in axes else None


def _from_differential(claim: E.Expr, dx: E.Expr, answer: Derivative) -> E.Expr:
    """The derivative a differential claim gives: ``G`` of ``d f = tr(Gᵀ dX)`` (the gradient of the
    claim as a function of ``dX``), or the Jacobian ``J`` of ``d f = J dx``. A claim with a part free
    of ``dX``, or not linear in it, is no differential: a ``MatcalcError``."""
    claim = simplify(claim)
    if claim.shape != answer.f.shape:
        raise ShapeError(f"the claim is a differential of shape {shape_text(claim.shape)}, but f is "
                         f"{shape_text(answer.f.shape)}")
    if not E.is_zero(simplify(E.substitute(claim, {dx: E.zero(dx.shape)}))):
        raise MatcalcError(f"the claim has {dx.name} in it, but also a part without it: a differential d f is "
                           f"linear in {dx.name}")
    _, _, result, _ = compute(claim, dx, 1)
    if result.depends_on(dx):
        raise MatcalcError(f"the claim has {dx.name} in it, but is not linear in it: a differential d f is")
    return result


class Judge:
    """Compares one claim with the answer and explains the difference."""

    def __init__(self, answer: Derivative, claim: E.Expr, text: str, variables: dict, seed, trials):
        self.answer = answer
        self.claim = simplify(claim)
        self.text = text
        self.variables = variables
        self.seed = seed
        self.trials = trials
        self.symmetric = answer.kind == "gradient" and bool(answer.wrt.data[1] & {"symmetric", "spd"})
        self.program = answer.program
        self.extra_inputs: list = []
        self.found: Counterexample | None = None    # the counter-example of a wrong claim
        self.difference: E.Expr | None = None       # claim − answer, simplified
        self.difference_fn = None

    # -- the verdict ----------------------------------------------------------------------------
    def verdict(self) -> Verdict:
        expected = self.answer.expr
        if self.claim.shape != expected.shape:
            return self.wrong_shape()
        self.difference = _difference(self.claim, expected)
        if E.is_zero(self.difference):
            return self.make(True, "correct", "symbolic", f"the claim equals the {self.describe_kind()}",
                             proved=True)
        samples = self.sample_all()
        if samples is None:
            return self.make(False, "other", "numeric", "the claim cannot be evaluated where the answer can")
        failing = [s for s in samples if s.error > TOLERANCE]
        witness, artifacts = self.exact_witness(failing or self.telling(samples), everywhere=not failing)
        if witness is None and not failing:
            witness = self.exact_beyond_floats()
        failing = [s for s in failing if s not in artifacts]
        if witness is None and not failing:
            return self.consistent(samples)
        self.found = witness or self.numeric_counterexample(failing[0])
        if not failing:   # exact arithmetic sees a difference that floating point does not
            unseen = "too little for floating point to see at the inputs tried" if np.isfinite(self.found.expected) \
                else "only where the answer is beyond floating point (seen in exact arithmetic)"
            verdict = self.make(False, "other", "exact",
                                f"the claim differs from the answer by {self.show(self.difference)}: {unseen}, "
                                "but not zero", counterexample=self.found)
        else:
            verdict = self.diagnose(self.diagnosis_samples(failing[0]))
            verdict.counterexample = self.found
        verdict.method, verdict.proved, verdict.points = ("exact" if witness else "numeric"), witness is not None, \
            len(samples)
        return verdict

    def consistent(self, samples) -> Verdict:
        """The verdict on a claim that agrees with the answer everywhere tried, unproved."""
        sizes = []
        for s in samples:
            text = ", ".join(f"{k} = {v}" for k, v in s.setting.sizes)
            if text and text not in sizes:
                sizes.append(text)
        tried = [" and ".join(sizes)] if sizes else []
        scales = sorted({s.setting.scale for s in samples})
        if len(scales) > 1:
            tried.append(f"entries of magnitude {scales[0]:g} to {scales[-1]:g}")
        kinks = list(dict.fromkeys(s.setting.kink for s in samples if s.setting.kink is not None))
        if kinks:
            tried.append(f"both sides of {self.show(kinks[0])} = 0" if len(kinks) == 1 else
                         f"both sides of {len(kinks)} kinks")
        message = (f"the claim agrees with the {self.describe_kind()} at every input tried ({'; '.join(tried)}), "
                   "term by term; their canonical forms differ, so this is not a proof")
        return self.make(True, "correct", "numeric", message, points=len(samples))

    def make(self, correct, category, method, message, details=(), counterexample=None, proved=False,
             points=0) -> Verdict:
        return Verdict(correct, category, method, message, self.answer, self.claim, self.text,
                       counterexample, list(details), proved, points)

    def layout(self) -> str:
        """The layout of the answer: gradients default to denominator, Jacobians to numerator."""
        if self.answer.layout:
            return self.answer.layout
        return "denominator" if self.answer.kind == "gradient" else "numerator"

    def describe_kind(self) -> str:
        kind = {"gradient": "gradient", "jacobian": "Jacobian", "hessian": "Hessian"}[self.answer.kind]
        return f"{kind} w.r.t. {self.answer.wrt.name}"

    # -- numbers ------------------------------------------------------------------------------------
    def functions(self):
        expected = self.answer.expr if self.answer.form != "differential" else None
        if expected is None:
            raise MatcalcError("verify compares with a matrix form; this derivative has none")
        inputs = frozenset(self.answer.variables) | self.claim.free_vars
        self.truth_fn = NumpyFunction(expected, "answer", "matrix", required=inputs)
        self.claim_fn = NumpyFunction(self.claim, "claim", "matrix", required=inputs)
        if self.difference is not None:
            terms = _difference_terms(self.difference)
            self.difference_fn = NumpyFunction([self.difference, *terms], "difference", "matrix", required=inputs)
        return inputs

    def sample_all(self, extra: bool = True):
        """A ``Sample`` at each setting of the sampler (the small sizes first; then, with
        ``extra``, the large sizes, the other magnitudes, the kinks), or ``None`` if the claim is
        never finite where the answer is at the small sizes."""
        inputs = self.functions()
        rng = np.random.default_rng(self.seed)
        self.sampler = Sampler(self.answer.f, inputs, rng, self.truth_fn.free_dims + self.claim_fn.free_dims,
                               watch=(self.answer.expr, self.claim))
        settings = self.sampler.settings(self.trials)
        self.base = settings[0]
        if not extra:
            settings = settings[:self.trials]
        out = [s for s in (self.sample_at(setting) for setting in settings) if s is not None]
        self._all = out
        base = [s for s in out if s.setting == self.base]
        if not base or not any(np.all(np.isfinite(s.claim)) for s in base):
            return None
        return out

    def sample_at(self, setting: Setting, attempts: int = 10) -> Sample | None:
        """The answer and the claim at a random input of ``setting`` where the answer is finite
        (and, at the base setting, not all zero if that can be found; elsewhere, where the
        claim is finite too: an overflow at an extreme magnitude is no evidence)."""
        base = setting == self.base
        fallback = None
        for attempt in range(attempts):
            at = setting if attempt < attempts // 2 or setting.scale == 1.0 else \
                Setting(setting.sizes, 1.0, setting.kink, setting.side)
            values = self.sampler.draw(at)
            if values is None:
                return None
            try:
                t = self.evaluate(self.truth_fn, values)
                c = self.evaluate(self.claim_fn, values) if np.all(np.isfinite(t)) else None
            except MatcalcError:   # an input the answer or the claim cannot be evaluated at (singular): another
                continue
            if c is None:
                continue
            if base and np.max(np.abs(t), initial=0.0) == 0.0:
                fallback = fallback or (at, values, t, c)
                continue
            if not base and not np.all(np.isfinite(c)):
                continue
            try:
                return self.sample(at, values, t, c)
            except MatcalcError:
                continue
        return self.sample(*fallback) if fallback else None

    def sample(self, setting, values, t, c) -> Sample:
        error, index = self.term_error(values, t, c)
        return Sample(setting, values, t, c, error, index)

    def term_error(self, values, t, c) -> tuple:
        """``(error, entry)``: the largest difference of the claim from the answer, entry by entry,
        relative to the terms of ``claim − answer`` evaluated on their own (see the module
        docstring); the claim not finite, or of another shape, is an infinite error."""
        if c.shape != t.shape:
            try:
                c = np.broadcast_to(c, t.shape)
            except ValueError:
                return float("inf"), (0, 0)
        if not np.all(np.isfinite(c)):
            return float("inf"), tuple(int(i) for i in np.argwhere(~np.isfinite(c))[0])
        return _worst(*self.term_parts(values, t, c))

    def term_parts(self, values, t, c) -> tuple:
        """``(claim − answer, its scale)``, entry by entry: the simplified difference evaluated
        itself, and the sum of the magnitudes of its terms (the values themselves where the terms
        overflow)."""
        with np.errstate(all="ignore"):
            fn = self.difference_fn
            parts = [np.broadcast_to(np.asarray(p, dtype=float), t.shape)
                     for p in fn(**{k: v for k, v in values.items() if k in fn.accepts})] if fn else []
            if parts and all(np.all(np.isfinite(p)) for p in parts):
                difference, terms = parts[0], parts[1:]
            else:   # no difference to evaluate (shapes that differ), or its terms overflow: the values themselves
                difference, terms = c - t, [t, c]
            return difference, sum(np.abs(p) for p in terms)

    @staticmethod
    def evaluate(fn, values) -> np.ndarray:
        return np.atleast_2d(np.asarray(fn(**{k: v for k, v in values.items() if k in fn.accepts}), dtype=float))

    def claim_matches(self, candidate: E.Expr) -> bool:
        """Whether the claim equals ``candidate`` (another derivative) at every input of the
        diagnosis, compared term by term as the claim and the answer are."""
        difference = _difference(self.claim, candidate)
        if E.is_zero(difference):
            return True
        fn = NumpyFunction([difference, *_difference_terms(difference)], "match", "matrix",
                           required=frozenset(self.answer.variables) | self.claim.free_vars | candidate.free_vars)
        for values, (t, _) in zip(self.inputs, self._samples):
            try:
                parts = [np.broadcast_to(np.asarray(p, dtype=float), t.shape)
                         for p in fn(**{k: v for k, v in values.items() if k in fn.accepts})]
            except MatcalcError:
                return False
            with np.errstate(all="ignore"):
                scale = sum(np.abs(p) for p in parts[1:])
            if not all(np.all(np.isfinite(p)) for p in parts) or _worst(parts[0], scale)[0] > TOLERANCE:
                return False
        return True

    def diagnosis_samples(self, first: Sample) -> list:
        """``[(answer, claim)]`` for the diagnoses, all at the setting of ``first`` (a sample where
        the claim is wrong): the base samples if it is one, else ``first`` and fresh draws."""
        self.setting, self.sizes = first.setting, first.setting.size_map
        chosen = [first]
        if first.setting == self.base:
            chosen += [s for s in self._all if s.setting == self.base and s is not first]
        else:
            for _ in range(self.trials - 1):
                more = self.sample_at(first.setting)
                if more is not None:
                    chosen.append(more)
        self.inputs = [s.values for s in chosen]
        return [(s.truth, s.claim) for s in chosen]

    def numeric_counterexample(self, sample: Sample) -> Counterexample:
        t, c = sample.truth, np.broadcast_to(sample.claim, sample.truth.shape)
        return Counterexample(sample.setting.size_map, self.shown_inputs(sample.values),
                              sample.index if t.size > 1 else (), float(t[sample.index]), float(c[sample.index]))

    def shown_inputs(self, values: dict) -> dict:
        return {k: v for k, v in values.items() if k in self.truth_fn.accepts or k in self.claim_fn.accepts}

    def counterexample(self, samples, transform=None) -> Counterexample:
        """The counter-example of the verdict; with ``transform`` (of the claim's values), the
        first entry where the transformed claim and the answer differ."""
        if transform is None and self.found is not None:
            return self.found
        for values, (t, c) in zip(self.inputs, samples):
            c = transform(c) if transform else c
            if c.shape != t.shape and (c.ndim != 2 or t.ndim != 2):
                continue
            if c.shape != t.shape:   # a claim of another shape: the entries both have
                rows, cols = min(t.shape[0], c.shape[0]), min(t.shape[1], c.shape[1])
                t, c = t[:rows, :cols], c[:rows, :cols]
            scale = max(1.0, float(np.max(np.abs(t))))
            bad = np.argwhere(~np.isclose(c, t, rtol=1e-6, atol=1e-9 * scale) | ~np.isfinite(c))
            if len(bad):
                index = tuple(int(i) for i in bad[0])
                return Counterexample(self.sizes, self.shown_inputs(values), index if t.size > 1 else (),
                                      float(t[index]), float(c[index]))
        values, (t, c) = self.inputs[0], samples[0]
        return Counterexample(self.sizes, values, (), float(np.ravel(t)[0]), float(np.ravel(c)[0]))

    # -- exact arithmetic ----------------------------------------------------------------------------
    def exact_witness(self, candidates: list, everywhere: bool) -> tuple:
        """``(counter-example, artifacts)``: the first input where sympy proves the claim and the
        answer different — a draw like the first of ``candidates`` at the tiny sizes 2, 3, … if
        the numbers differ there (or ``everywhere``: they agree at every candidate), then the
        candidates, smallest sizes first, at most ``EXACT_ATTEMPTS`` — at the entry where the
        numbers differ most (``everywhere``: the entries of the largest differences); and the
        candidates where sympy finds them equal (a floating-point difference that is not there).
        ``(None, …)`` when sympy cannot decide."""
        artifacts = []
        if not self.exact_feasible():
            return None, artifacts
        limit = EXACT_ATTEMPTS + (KINK_ATTEMPTS if everywhere else 0)
        ordered = sorted(candidates, key=lambda s: largest_array(self.shapes, s.setting.size_map))[:limit]
        tiny = self.tiny_sample(candidates[0].setting)
        if tiny is not None and (everywhere or tiny.error > TOLERANCE):
            ordered.insert(0, tiny)
        for sample in ordered:
            if largest_array(self.shapes, sample.setting.size_map) > EXACT_ENTRIES:
                continue
            outcome = self.exact_at(sample, everywhere)
            if isinstance(outcome, Counterexample):
                return outcome, artifacts
            if outcome == "equal":
                artifacts.append(sample)
        return None, artifacts

    @staticmethod
    def telling(samples: list) -> list:
        """The samples for sympy when the numbers agree everywhere: the first, then the two across
        a kink where the claim and the answer differ most in floating point (a term that is zero
        on one side, like ``relu(x − 50)``, can hide there below the rounding of a huge answer)."""
        across = sorted((s for s in samples[1:] if s.setting.kink is not None), key=lambda s: -s.error)
        return samples[:1] + across[:KINK_ATTEMPTS]

    def exact_inputs(self, values: dict, sizes: dict, digits) -> dict:
        """The inputs of the claim and the answer as sympy matrices (see ``_exact_matrix``)."""
        return {v: _exact_matrix(v, values[v.name], sizes, digits)
                for v in self.answer.variables | self.claim.free_vars if v.name in values}

    def exact_beyond_floats(self) -> Counterexample | None:
        """A counter-example across a kink where floating point has no sample: the answer
        overflows there (``relu(x − 50)`` beside ``x∘¹⁰⁰⁰``, which is inf at x > 50), so sympy
        alone evaluates ``claim − answer``, in rational arithmetic, at the inputs drawn across the
        kink (not where the expressions are transcendental, whose exact forms swell)."""
        if not self.exact_feasible() or self.transcendental:
            return None
        from .printing.sympy import to_sympy
        kinks = [s for s in self.sampler.settings(self.trials) if s.kink is not None][:KINK_ATTEMPTS]
        for setting in kinks:
            values = self.sampler.draw(setting)
            sizes = setting.size_map
            if values is None or largest_array(self.shapes, sizes) > EXACT_ENTRIES:
                continue
            values = _rounded(values, 3)
            try:
                symbols = self.exact_inputs(values, sizes, None)
                exact = to_sympy(self.difference, symbols, sizes)
                entries = [(i, j) for i in range(exact.rows) for j in range(exact.cols)][:EXACT_ENTRIES]
                for i, j in entries:
                    if exact[i, j].is_Rational and exact[i, j] != 0:
                        t = to_sympy(self.answer.expr, symbols, sizes)[i, j]
                        c = t + exact[i, j]
                        return Counterexample(sizes, self.shown_inputs(values), (i, j) if exact.rows * exact.cols > 1
                                              else (), _as_float(t), _as_float(c), exact=True,
                                              difference=_as_float(exact[i, j]),
                                              shown=(_big_number(t), _big_number(c)))
            except (ArithmeticError, NotImplementedError, TypeError, ValueError, KeyError, AttributeError):
                continue
        return None

    def tiny_sample(self, setting: Setting) -> Sample | None:
        """A sample like ``setting`` but at the sizes 2, 3, … (in the order of the small sizes),
        where exact arithmetic is cheapest."""
        order = sorted(self.sampler.sizes, key=self.sampler.sizes.get)
        tiny = tuple(sorted((name, 2 + k) for k, name in enumerate(order)))
        if tiny == setting.sizes:
            return None
        return self.sample_at(Setting(tiny, setting.scale, setting.kink, setting.side))

    def exact_feasible(self) -> bool:
        """Whether sympy can be given the claim and the answer: no inverse or determinant of a
        matrix with transcendental entries (whose exact form swells), at most
        ``MAX_EXACT_PRODUCTS`` matrix factors in all. Transcendental functions, and more than
        ``EXACT_PRODUCTS`` matrix factors (whose rational entries grow with each product), are
        evaluated with ``EXACT_DIGITS`` digits instead of exactly."""
        exprs = (self.claim, self.answer.expr)
        self.shapes = {node.shape for e in exprs for node in E.walk(e)}
        factors = sum(len(node.args) for e in exprs for node in E.walk(e) if node.op == "matmul")
        if factors > MAX_EXACT_PRODUCTS:
            return False
        self.transcendental = factors > EXACT_PRODUCTS or \
            any(_transcendental(node) for e in exprs for node in E.walk(e))
        for e in exprs:
            for node in E.walk(e):
                if node.op in INVERTED and any(_transcendental(n) for n in E.walk(node.args[0])):
                    return False
        return True

    def exact_at(self, sample: Sample, everywhere: bool):
        """At ``sample``'s sizes and its inputs rounded to 3 (then 6) significant digits, or
        exactly, where the rounded inputs no longer show the difference: a ``Counterexample``
        when sympy proves an entry of ``claim − answer`` nonzero, ``"equal"`` when it finds the
        entries tried zero (to ``EXACT_EQUAL`` of their terms), ``None`` when it cannot decide."""
        for digits in (3, 6, None):
            values = _rounded(sample.values, digits)
            try:
                t, c = self.evaluate(self.truth_fn, values), self.evaluate(self.claim_fn, values)
                if not (np.all(np.isfinite(t)) and np.all(np.isfinite(c))):
                    continue
                difference, scale = self.term_parts(values, t, c)
            except MatcalcError:   # the rounded inputs are singular
                continue
            error, index = _worst(difference, scale)
            if error > TOLERANCE or everywhere:
                break
        else:
            return None
        from .printing.sympy import to_sympy  # (sympy is imported on first use: it is slow to import)
        sizes = sample.setting.size_map
        digits = EXACT_DIGITS if self.transcendental else None
        entries = [index] if not everywhere else _largest_entries(np.abs(difference) / scale, EXACT_ENTRY_TRIES)
        try:
            symbols = self.exact_inputs(values, sizes, digits)
            exact = to_sympy(self.difference, symbols, sizes, digits)
            signs = [_exact_sign(exact[i, j], scale[i, j]) for i, j in entries]
        except (ArithmeticError, NotImplementedError, TypeError, ValueError, KeyError, AttributeError):
            return None   # sympy cannot evaluate it: the numbers decide
        for sign, (i, j) in zip(signs, entries):
            if sign:
                return Counterexample(sizes, self.shown_inputs(values), (i, j) if t.size > 1 else (),
                                      float(t[i, j]), float(c[i, j]), exact=True, difference=float(exact[i, j]))
        return "equal" if all(sign == 0 for sign in signs) else None

    # -- diagnoses ----------------------------------------------------------------------------------
    def wrong_shape(self) -> Verdict:
        expected = self.answer.expr.shape
        got = self.claim.shape
        layout = self.layout()
        because = f"the {self.describe_kind()} is {shape_text(expected)}"
        if self.answer.kind == "gradient" and layout == "denominator":
            because += f" (the shape of {self.answer.wrt.name})"
        elif self.answer.kind == "jacobian":
            because += " (outputs × variables)" if layout == "numerator" else " (variables × outputs)"
        base = f"wrong shape: {because}, but the claim is {shape_text(got)}"
        samples = self.samples_if_possible()
        if got == (expected[1], expected[0]) and samples is not None:
            if all(_relative(c.T, t) <= TOLERANCE for t, c in samples):
                if self.answer.kind in ("gradient", "jacobian") and (1 in expected or self.answer.kind == "jacobian"):
                    other = "numerator" if layout == "denominator" else "denominator"
                    return self.make(False, "layout", "numeric",
                                     f"{base}: the claim is the transpose of the answer — the {other}-layout form; "
                                     f"this {self.answer.kind} is asked for in {layout} layout",
                                     counterexample=self.shape_counterexample(samples))
                return self.make(False, "transpose", "numeric",
                                 f"{base}: the claim is the transpose of the answer",
                                 counterexample=self.shape_counterexample(samples))
            ratio = _common_ratio([(t, c.T) for t, c in samples])
            if ratio is not None:
                mistakes = ["the claim is transposed", *_factor_mistakes(Fraction(ratio))]
                return self.make(False, "shape", "numeric",
                                 f"{base}: {_COUNTS[len(mistakes)]} mistakes: {'; '.join(mistakes)} (its transpose "
                                 f"is {_fraction_text(Fraction(ratio))} times the answer)",
                                 counterexample=self.counterexample(samples, lambda c: c.T))
            return self.make(False, "shape", "numeric", f"{base}; its transpose is not the answer either",
                             counterexample=self.counterexample(samples, lambda c: c.T))
        if samples is not None and expected[0] == expected[1] and got == (expected[0], 1):
            if all(_relative(np.diagflat(c), t) <= TOLERANCE for t, c in samples):
                return self.make(False, "shape", "numeric",
                                 f"{base}: the claim holds the diagonal entries; the {self.describe_kind()} is "
                                 f"the diagonal matrix diag({self.claim})")
        if samples is not None and got[0] == got[1] and expected == (got[0], 1):
            if all(_relative(np.diag(c).reshape(-1, 1), t) <= TOLERANCE for t, c in samples):
                return self.make(False, "shape", "numeric",
                                 f"{base}: the diagonal of the claim is the answer (an outer product where an "
                                 "elementwise product belongs?)")
        return self.make(False, "shape", "symbolic", base,
                         counterexample=self.shape_counterexample(samples) if samples is not None else None)

    def shape_counterexample(self, samples):
        """For a claim of the wrong shape: the first entry both have where they differ, if one does."""
        found = self.counterexample(samples)
        return found if found.index and not np.isclose(found.expected, found.claimed) else None

    def samples_if_possible(self):
        """``[(answer, claim)]`` at the base inputs, for the diagnoses of a wrong shape, or ``None``."""
        try:
            samples = self.sample_all(extra=False)
        except (MatcalcError, ValueError):
            return None
        if samples is None:
            return None
        self._all = samples
        self._samples = self.diagnosis_samples(next(s for s in samples if s.setting == self.base))
        return self._samples

    def diagnose(self, samples) -> Verdict:
        self._samples = samples
        answer_text = str(self.answer)
        if self.claim.shape[0] == self.claim.shape[1] and self.claim.shape != SCALAR and \
                all(_relative(c, t.T) <= TOLERANCE for t, c in samples):
            if self.answer.kind == "jacobian":
                other = "numerator" if self.layout() == "denominator" else "denominator"
                return self.make(False, "layout", "numeric",
                                 f"the claim is the transpose of the Jacobian: the {other}-layout form; the "
                                 f"Jacobian here is in {self.layout()} layout")
            return self.make(False, "transpose", "numeric",
                             "the claim is the transpose of the answer (with samples as rows instead of columns, "
                             "or the gradient w.r.t. the transposed variable?)")
        sized = self.size_factor()
        if sized is not None:
            return sized
        ratio = _exact_ratio(self.claim, self.answer.expr) or _common_ratio(samples)
        if ratio is not None:
            if ratio == -1:
                return self.make(False, "sign", "numeric", "the claim has the wrong sign: it is −1 times the answer")
            hint = ""
            if ratio == Fraction(1, 2):
                hint = " — a forgotten factor 2 (the 2 from differentiating a square or a quadratic form?)"
            elif ratio == 2:
                hint = " — an extra factor 2 (a quadratic form xᵀAx differentiated as 2Ax with A not symmetric?)"
            return self.make(False, "factor", "numeric",
                             f"the claim is off by a constant factor: it is {_fraction_text(ratio)} times the "
                             f"answer{hint}")
        for diagnosis in (self.mistake_diagnosis, self.symmetry_diagnosis, self.term_diagnosis,
                          self.missing_factor_diagnosis, self.symmetric_inputs_diagnosis, self.slip_diagnosis):
            found = diagnosis(samples)
            if found is not None:   # (a Verdict is falsy when the claim is wrong)
                return found
        return self.make(False, "other", "numeric",
                         f"the claim differs from the answer, {answer_text}, in a way none of the usual "
                         "mistakes explains",
                         counterexample=self.counterexample(samples))

    def size_factor(self):
        """The verdict where the claim is ``k dᵖ`` times the answer at every size tried (d a size the
        claim or the answer names, p = ±1, k a plain number): a 1/N written where f has the number ⅕
        is right only where N = 5. None where it is not."""
        dims = sorted({node.data for e in (self.claim, self.answer.expr) for node in E.walk(e) if node.op == "dim"}
                      | set(self.sampler.sizes))   # (a size in the answer, as mean's 1/m, or in the claim)
        ratios = [(s.setting.size_map, _ratio_of(s.truth, s.claim)) for s in self._all
                  if np.all(np.isfinite(s.truth)) and np.all(np.isfinite(s.claim))]
        if not dims or any(r is None for _, r in ratios) or len({sizes.get(d) for d in dims
                                                                for sizes, _ in ratios}) < 2:
            return None
        for d in dims:
            for power in (1, -1):
                factors = {_nice(r / sizes[d] ** power) for sizes, r in ratios if d in sizes}
                factor = factors.pop() if len(factors) == 1 else None
                if factor is None or factor == 0:
                    continue
                top = d if factor.numerator == 1 else f"{factor.numerator}{d}"
                written = (top if factor.denominator == 1 else f"{top}/{factor.denominator}") if power == 1 \
                    else f"{_fraction_text(factor)}/{d}"
                where = factor ** -1 if power == 1 else factor
                at = f"only where {d} = {_fraction_text(where)}" if where > 0 and where.denominator == 1 \
                    else "at no size"
                return self.make(False, "factor", "numeric",
                                 f"the claim is off by a factor that depends on the size {d}: it is {written} times "
                                 f"the answer, so it is right {at} (a size written where f has a fixed number, or "
                                 "the reverse?)", counterexample=self.found)
        return None

    def term_diagnosis(self, samples):
        """Write the answer (then the claim) as a sum of terms and fit the other to them: as
        printed first, then with products expanded."""
        for answer_terms in _term_levels(self.answer.expr):
            coefficients = self.fit(answer_terms, self.claim_fn)
            if coefficients is not None:
                found = self.explain_answer_fit(answer_terms, coefficients)
                if found is not None:
                    return found
        for claim_terms in _term_levels(self.claim):
            coefficients = self.fit(claim_terms, self.truth_fn)
            if coefficients is not None and all(c in (0, 1) for c in coefficients) and 0 in coefficients:
                extra = simplify(E.add(*[t for t, c in zip(claim_terms, coefficients) if c == 0]))
                return self.make(False, "extra-term", "numeric",
                                 f"the claim has an extra term: {self.show(extra)} does not belong in the answer",
                                 counterexample=self.counterexample(samples))
        return None

    def fit_inputs(self, count: int) -> list:
        """Up to ``count`` inputs where the answer is finite (more than the comparison used), at
        the setting of the diagnosis."""
        for _ in range(10 * count):
            if len(self.extra_inputs) >= count:
                break
            values = self.sampler.draw(self.setting)
            try:
                if values is not None and np.all(np.isfinite(self.evaluate(self.truth_fn, values))):
                    self.extra_inputs.append(values)
            except MatcalcError:
                continue
        return self.extra_inputs[:count]

    def fit(self, terms, target_fn):
        """Coefficients ``α`` (nice rationals) with ``target ≈ Σ α_i term_i`` on enough random
        inputs to determine them, or ``None``."""
        if not 1 < len(terms) <= MAX_TERMS:
            return None
        shape = np.shape(self._samples[0][0])
        size = max(1, int(np.prod(shape)))
        inputs = self.fit_inputs(max(self.trials, -(-3 * len(terms) // size) + 1))
        try:
            functions = [NumpyFunction(t, "term", "matrix", required=frozenset(self.answer.variables) | t.free_vars)
                         for t in terms]
            a = np.column_stack([np.concatenate([np.ravel(np.broadcast_to(self.evaluate(fn, v), shape))
                                                 for v in inputs]) for fn in functions])
            b = np.concatenate([np.ravel(self.evaluate(target_fn, v)) for v in inputs])
        except (MatcalcError, ValueError):
            return None
        if not np.all(np.isfinite(a)) or not np.all(np.isfinite(b)):
            return None
        alpha, *_ = np.linalg.lstsq(a, b, rcond=None)
        if np.linalg.norm(a @ alpha - b) > 1e-7 * max(np.linalg.norm(b), 1e-12):
            return None
        nice = [_nice(x) for x in alpha]
        if any(x is None for x in nice):
            return None
        if np.linalg.norm(a @ np.array([float(x) for x in nice]) - b) > 1e-6 * max(np.linalg.norm(b), 1e-12):
            return None
        return nice

    def show(self, e: E.Expr) -> str:
        """An expression as the user wrote it: factored, in the program's stage names."""
        factored = factor(simplify(e))
        if not E.is_zero(factored) or E.is_zero(e):   # (factoring float constants can round to 0)
            e = factored
        return to_text(self.program.rename(e) if self.program is not None else e)

    def slip_diagnosis(self, samples):
        """Is the claim the answer with one slip (``slips``): a factor or a term left out, an inverse
        or a transpose left off or put on, the sign inside a function flipped?"""
        for slipped, words, category in slips(self.answer.expr):
            if slipped.shape == self.claim.shape and self.claim_matches(slipped):
                return self.make(False, category, "numeric", f"the claim is the answer with one slip: {words}",
                                 counterexample=self.counterexample(samples))
        return None

    def missing_factor_diagnosis(self, samples):
        """Is the claim the answer with one factor of one of its products left out (``W ⊙`` of
        ``W∘² ⊙ R``; the ``2 (a − y)`` that a chain rule ends with), up to a constant?"""
        answer = self.answer.expr
        products = [node for node in E.walk(answer) if node.op == "mul"][:MAX_FACTOR_CANDIDATES]
        for node in products:
            for factor_ in node.args:
                if factor_.op == "const":
                    continue
                squared = factor_.op == "pow" and factor_.args[1].op == "const" and factor_.args[1].data > 1
                base = factor_.args[0] if squared else factor_   # W of W∘²: one power of it left out
                if base.shape not in (node.shape, SCALAR):
                    continue
                candidate = simplify(E.substitute(answer, {node: E.divide(node, base)}))
                if candidate.shape != self.claim.shape or E.is_zero(candidate):
                    continue
                ratio = _exact_ratio(self.claim, candidate)
                if ratio is None and not self.claim_matches(candidate):
                    continue
                missing = base if ratio is None else E.scale(Fraction(1) / Fraction(ratio), base)
                kind = "an elementwise factor" if base.shape != SCALAR and node.shape != SCALAR else "a factor"
                return self.make(False, "other", "numeric",
                                 f"the claim misses {kind} {self.show(missing)}{' ⊙' if kind != 'a factor' else ''} "
                                 f"in {self.show(node)} (a factor of the chain rule left out?)",
                                 counterexample=self.counterexample(samples))
        return None

    def explain_answer_fit(self, terms, coefficients):
        wrong = [(t, c) for t, c in zip(terms, coefficients) if c != 1]
        if not wrong:
            return None
        missing = [t for t, c in wrong if c == 0]
        flipped = [t for t, c in wrong if c == -1]
        scaled = [(t, c) for t, c in wrong if c not in (0, -1)]
        counterexample = self.counterexample(self._samples)
        if missing and not flipped and not scaled:
            return self.make(False, "missing-term", "numeric",
                             f"the claim misses a term: {self.show(E.add(*missing))} is part of the answer "
                             "but not of the claim", counterexample=counterexample)
        if flipped and not missing and not scaled:
            part = E.add(*flipped)
            return self.make(False, "sign", "numeric",
                             f"a sign error in one term: the claim has {self.show(E.neg(part))} where the answer "
                             f"has {self.show(part)}", counterexample=counterexample)
        if len(scaled) == 1 and not missing and not flipped:
            term, c = scaled[0]
            return self.make(False, "other", "numeric",
                             f"one term has the wrong factor: the claim has {self.show(E.scale(c, term))} where "
                             f"the answer has {self.show(term)}", counterexample=counterexample)
        return None

    def mistake_diagnosis(self, samples):
        """Re-derive the answer with each mistake of ``rules/mistakes.rules`` at each place it can
        happen, and compare the claim with each result. Each is a derivation of ``f``, and a long
        program has hundreds of places: ``MISTAKE_WORK`` nodes of ``f`` in all are re-derived (24
        places in an ``f`` of 100 nodes, 2 at least), the first places in ``f``'s order."""
        f, wrt = self.answer.f, self.answer.wrt
        if self.symmetric:
            return None
        nodes = list(E.walk(f))
        limit = max(2, MISTAKE_WORK // len(nodes))
        attempts = 0
        for node in nodes:
            if not node.depends_on(wrt):
                continue
            for rule in RULES.mistakes.get(operation_key(node), ()):
                if not any(rule.guards_hold(b) for b in match(rule.pattern, node, Binding())):
                    continue
                attempts += 1
                if attempts > limit:
                    return None
                try:
                    _, _, result, _ = compute(f, wrt, self.answer.order, override={node: rule})
                except MatcalcError:
                    continue
                if self.answer.layout == "numerator" and self.answer.kind == "gradient" or \
                        self.answer.layout == "denominator" and self.answer.kind == "jacobian":
                    result = simplify(E.transpose(result))
                if result.shape != self.claim.shape:
                    continue
                if self.claim_matches(result):
                    shown = self.show(result)
                    details = [] if shown == self.show(self.claim) else \
                        [f"(the claim is what the chain rule gives with that mistake: {shown})"]
                    where = self.show(node)
                    if where != to_text(node):   # a stage name: say what it stands for
                        where = f"{where} = {to_text(node)}"
                    return self.make(False, "elementwise-derivative", "numeric",
                                     f"right except for the derivative of an elementwise function at "
                                     f"{where}: {rule.note}", details=details,
                                     counterexample=self.counterexample(samples))
        return None


    def symmetry_diagnosis(self, samples):
        """Is the claim what the answer would be if a square matrix were symmetric?"""
        f, wrt = self.answer.f, self.answer.wrt
        for m in sorted(f.free_vars, key=lambda v: v.name):
            if m is wrt or m.shape[0] != m.shape[1] or m.shape == SCALAR or m.data[1] & {"symmetric", "spd"}:
                continue
            twin = E.variable(m.name, m.shape, m.data[1] | {"symmetric"})
            try:
                _, _, result, _ = compute(simplify(E.substitute(f, {m: twin})), wrt, self.answer.order)
            except MatcalcError:
                continue
            result = simplify(E.substitute(result, {twin: m}))
            if result.shape != self.claim.shape or E.is_zero(simplify(E.add(result, E.neg(self.answer.expr)))):
                continue
            if self.claim_matches(result):
                name = self.show(m)
                terms = expand_terms(self.answer.expr)
                mirror = E.transpose(m)
                mirrored = [t for t in terms if mirror in E.walk(t)]
                if mirrored and len(mirrored) < len(terms):   # (A + Aᵀ) x written as 2 A x
                    return self.make(False, "missing-term", "numeric",
                                     f"the claim treats {name} as symmetric, which it is not declared to be: the "
                                     f"term {self.show(E.add(*mirrored))} is missing and its mirror counted twice; "
                                     f"the claim is right only when {name} = {name}ᵀ",
                                     counterexample=self.counterexample(samples))
                return self.make(False, "other", "numeric",
                                 f"the claim treats {name} as symmetric, which it is not declared to be: it has "
                                 f"{name} where the answer has {name}ᵀ (a transpose is missing); the claim is right "
                                 f"only when {name} = {name}ᵀ", counterexample=self.counterexample(samples))
        return None


    def symmetric_inputs_diagnosis(self, samples):
        """Where a square matrix ``M`` is made symmetric, is the claim the answer, or a constant
        times it? Then the claim treats ``M`` as symmetric (``2 Aᵀ x`` for ``xᵀ A x``), and the
        constant is a second mistake, named too (``−2 A x``: that and the sign)."""
        wrt = self.answer.wrt
        squares = [m for m in sorted(self.answer.f.free_vars, key=lambda v: v.name) if m is not wrt
                   and m.shape[0] == m.shape[1] and m.shape != SCALAR and not m.data[1] & {"symmetric", "spd"}]
        for group in [[m] for m in squares] + ([squares] if len(squares) > 1 else []):   # (A and B both: tr(AXBXᵀ))
            pairs = []
            for values in self.inputs:
                symmetric = dict(values)
                for m in group:
                    value = np.asarray(values[m.name], dtype=float)
                    symmetric[m.name] = (value + value.T) / 2
                try:
                    pairs.append((self.evaluate(self.truth_fn, symmetric), self.evaluate(self.claim_fn, symmetric)))
                except MatcalcError:
                    break
            else:
                if not pairs or any(not np.all(np.isfinite(c)) for _, c in pairs):
                    continue
                same = all(_relative(c, t) <= TOLERANCE for t, c in pairs)
                ratio = 1 if same else _common_ratio(pairs)
                if ratio is None:
                    continue
                name = " and ".join(self.show(m) for m in group)
                terms = expand_terms(self.answer.expr)
                both = len(group) > 1 or any(E.transpose(m) in E.walk(t) for t in terms) and any(
                    m in E.walk(t) and E.transpose(m) not in E.walk(t) for t in terms)
                declared = "it is" if len(group) == 1 else "they are"
                mistakes = [f"it treats {name} as symmetric, which {declared} not declared to be" if both else
                            f"it has {name} where the answer has {name}ᵀ (a transpose is missing)"]
                if ratio == 1:
                    mistakes[0] += ": with " + " and ".join(f"{self.show(m)} = {self.show(m)}ᵀ" for m in group) + \
                        " it would be right"
                else:
                    mistakes += _factor_mistakes(Fraction(ratio))
                category = "sign" if ratio == -1 else "factor" if ratio != 1 else "missing-term" if both else "other"
                head = f"{_COUNTS[len(mistakes)]} mistakes: " if len(mistakes) > 1 else ""
                return self.make(False, category, "numeric",
                                 head + "; ".join(mistakes) + f" (the answer is {self.show(self.answer.expr)})",
                                 counterexample=self.counterexample(samples))
        return None


_COUNTS = {2: "two", 3: "three"}


def _factor_mistakes(ratio: Fraction) -> list:
    """A constant factor between a claim and the answer, as mistakes in words (−½: two)."""
    mistakes = ["the sign is wrong"] if ratio < 0 else []
    size = abs(ratio)
    if size == Fraction(1, 2):
        mistakes.append("a factor 2 is missing")
    elif size == 2:
        mistakes.append("it has an extra factor 2")
    elif size != 1:
        mistakes.append(f"it is off by a constant factor {_fraction_text(size)}")
    return mistakes


def _difference(claim: E.Expr, answer: E.Expr) -> E.Expr:
    """``claim − answer`` in canonical form: zero if it is zero as written or with products
    expanded; else with products expanded (like terms then cancel) when that stays within
    ``2 MAX_TERMS`` terms."""
    # the answer's terms negated one by one: −(a + b) is one term of a sum, and would not meet a + b
    negated = [E.neg(t) for t in answer.args] if answer.op == "add" else [E.neg(answer)]
    plain = simplify(E.add(claim, *negated))
    if E.is_zero(plain):
        return plain
    terms = expand_terms(claim) + [E.neg(t) for t in expand_terms(answer)]
    if len(terms) > 2 * MAX_TERMS:
        return plain
    expanded = simplify(E.add(*terms))
    if E.is_zero(expanded) and _has_float_constant(plain):
        return plain   # a zero from rounding products of float constants (1.0000001 · 1e-320) is no proof
    return expanded


def _has_float_constant(e: E.Expr) -> bool:
    """Whether ``e`` holds a constant kept as a float (beyond the exact budget), not a rational."""
    return any(node.op == "const" and isinstance(node.data, float) for node in E.walk(e))


def _difference_terms(e: E.Expr) -> list:
    """The terms of ``claim − answer`` whose sizes judge it: products expanded (up to
    ``MAX_TERMS``), else its top-level terms."""
    terms = expand_terms(e)
    return list(e.args) if len(terms) == 1 and e.op == "add" else terms


def _rounded(values: dict, digits) -> dict:
    """The inputs rounded to ``digits`` significant digits (``None``: as they are)."""
    if digits is None:
        return values
    rounder = np.vectorize(lambda v: float(f"{v:.{digits}g}"), otypes=[float])
    return {k: (v if isinstance(v, int) else float(rounder(v)) if not np.ndim(v) else rounder(v))
            for k, v in values.items()}


def _transcendental(node: E.Expr) -> bool:
    """Whether ``node`` can make an irrational number of rational inputs."""
    if node.op == "fn":
        return node.data not in RATIONAL_FUNCTIONS
    if node.op == "pow":
        return not (node.args[1].op == "const" and getattr(node.args[1].data, "denominator", 2) == 1)
    return node.op in ("softmax", "log_softmax", "norm2", "logdet")


def _exact_matrix(v: E.Expr, value, sizes: dict, digits) -> sp.Matrix:
    """An input as a sympy matrix: each float as the decimal it rounds to (a short one) or the
    binary fraction it is — exact rationals, or, with ``digits``, floats of that many digits
    (for expressions with transcendental functions, whose exact forms would swell)."""
    import sympy as sp
    rows, cols = (resolve_dim(d, sizes) for d in v.shape)
    flat = np.ravel(np.asarray(value, dtype=float)) if np.ndim(value) else [float(value)]

    def exact(x: float):
        short = Fraction(f"{x:.6g}")
        fr = short if float(short) == x else Fraction(x)
        number = sp.Rational(fr.numerator, fr.denominator)
        return number if digits is None else sp.Float(number, digits)
    return sp.Matrix(rows, cols, [exact(x) for x in flat])


def _big_number(number) -> str:
    """A sympy number to 6 significant digits, also beyond the float range (``1.23457e+1702``)."""
    import sympy as sp
    return str(sp.Float(number, 6)) if number != 0 else "0"


def _as_float(number) -> float:
    """A sympy number as a float (±inf beyond the float range)."""
    try:
        return float(number)
    except (OverflowError, TypeError, ValueError):
        return float("inf") if number > 0 else float("-inf")


def _exact_sign(difference, scale: float) -> int | None:
    """The sign of an entry of ``claim − answer`` computed by sympy: exact for a rational; for a
    float of ``EXACT_DIGITS`` digits, 0 when it is within ``EXACT_EQUAL`` of the size of its
    terms (``scale``); ``None`` when it is not a finite real number."""
    import sympy as sp
    if difference.is_Rational:
        return int(sp.sign(difference))
    if not (difference.is_number and difference.is_finite and difference.is_extended_real):
        return None
    value = sp.N(difference, 20)
    return 0 if abs(value) <= EXACT_EQUAL * scale else int(sp.sign(value))


def _worst(difference: np.ndarray, scale: np.ndarray) -> tuple:
    """``(ratio, entry)``: the largest ``|difference| / scale`` (0 where the difference is 0, ∞
    where the scale is 0 but the difference is not) and where it is."""
    with np.errstate(all="ignore"):
        ratio = np.where(difference == 0, 0.0, np.abs(difference) / scale)
    ratio = np.where(np.isnan(ratio), np.inf, ratio)
    index = np.unravel_index(int(np.argmax(ratio)), ratio.shape)
    return float(ratio[index]), tuple(int(i) for i in index)


def _largest_entries(ratio: np.ndarray, count: int) -> list:
    """The ``count`` entries where ``ratio`` is largest, as ``(row, column)``."""
    order = np.argsort(-np.nan_to_num(ratio, nan=np.inf), axis=None)[:count]
    return [tuple(int(i) for i in np.unravel_index(k, ratio.shape)) for k in order]


def _term_levels(e: E.Expr) -> list:
    """The terms of ``e``: as written (the top-level sum), then with products expanded."""
    top = list(e.args) if e.op == "add" else [e]
    top = [E.mul(t, E.ones(e.shape)) if t.shape != e.shape else t for t in top]
    expanded = expand_terms(e)
    return [top] if len(expanded) == len(top) else [top, expanded]


def expand_terms(e: E.Expr) -> list:
    """``e`` as a list of terms, products distributed over sums (up to ``MAX_TERMS`` terms)."""
    if e.op == "add":
        out = []
        for t in e.args:
            out += [E.mul(p, E.ones(e.shape)) if p.shape != e.shape else p for p in expand_terms(t)]
        return out
    if e.op in ("matmul", "mul"):
        combos = [[]]
        for a in e.args:
            parts = expand_terms(a)
            if len(combos) * len(parts) > MAX_TERMS:
                return [e]
            combos = [c + [p] for c in combos for p in parts]
        build = E.matmul if e.op == "matmul" else E.mul
        return [build(*c) for c in combos]
    if e.op == "T":
        return [E.transpose(t) for t in expand_terms(e.args[0])]
    if e.op in _LINEAR:   # diag(1 − t∘²): diag(1) − diag(t∘²), each judged by its own size
        return [E.rebuild(e, [t]) for t in expand_terms(e.args[0])]
    return [e]


_LINEAR = ("diag", "diagvec", "trace", "sum", "vec")   # the operations of one operand that are linear


def _relative(got, want) -> float:
    got = np.asarray(got, dtype=float)
    want = np.asarray(want, dtype=float)
    if got.shape != want.shape:
        try:
            got = np.broadcast_to(got, want.shape)
        except ValueError:
            return float("inf")
    if not np.all(np.isfinite(got)):
        return float("inf")
    scale = np.linalg.norm(want)
    return float(np.linalg.norm(got - want) / max(scale, 1e-12)) if scale > 1e-12 else float(np.linalg.norm(got))


def _nice(x: float):
    """``x`` as a fraction with a small denominator, if it is one (never for inf or nan)."""
    if not np.isfinite(x):
        return None
    fr = Fraction(x).limit_denominator(12)
    return fr if abs(float(fr) - x) <= 1e-6 * max(1.0, abs(x)) else None


def _exact_ratio(claim: E.Expr, answer: E.Expr):
    """``c`` if the claim is written as ``c`` times the answer's canonical form (``c ≠ 1``): a factor
    too close to 1 for the samples to tell (``2.0000001 x`` for ``2 x``) is still named exactly."""
    c1, rest1 = E.split_coefficient(claim)
    c0, rest0 = E.split_coefficient(answer)
    if rest0 is None or rest1 is not rest0 or c0 == 0 or c1 == c0:
        return None
    return Fraction(c1) / Fraction(c0)


def _ratio_of(t: np.ndarray, c: np.ndarray):
    """``r`` where ``c`` is ``r`` times ``t`` (``t`` not zero), else None."""
    tt = float(np.sum(t * t))
    if tt == 0 or not np.isfinite(tt):
        return None
    r = float(np.sum(c * t)) / tt
    return r if np.isfinite(r) and _relative(c, r * t) <= 1e-7 else None


def _common_ratio(samples):
    """``c`` if the claim is ``c`` times the answer on every sample (``c`` a nice number)."""
    ratios = []
    for t, c in samples:
        if float(np.sum(t * t)) == 0:
            continue
        r = _ratio_of(t, c)
        if r is None:
            return None
        ratios.append(r)
    if not ratios or max(ratios) - min(ratios) > 1e-7 * max(1.0, abs(ratios[0])):
        return None
    nice = _nice(ratios[0])
    return nice if nice not in (None, 1, 0) else None


def _fraction_text(c: Fraction) -> str:
    return str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"

