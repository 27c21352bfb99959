"""``verify``: is a hand-derived derivative right, and if not, how is it wrong?

The claim is compared with matcalc's own derivative: first symbolically (the canonical form of
``claim − answer`` is zero), then numerically on several random inputs that respect the
variables' properties. A wrong claim gets a diagnosis in words, tried in this order:

- wrong shape — and whether the claim is the transpose of the answer (a layout mix-up), its
  diagonal given as a vector, or a matrix whose diagonal is the answer;
- the transpose of the answer (for a Jacobian: the other layout);
- off by a sign, or by a constant factor (which one);
- a term missing, a term extra, a term with its sign flipped or a wrong factor — by writing the
  answer (and the claim) as a sum of terms and fitting one to the other;
- right except for the derivative of an elementwise function: the answer is re-derived with
  each mistake of ``rules/mistakes.rules`` at each place it can happen;

and always a concrete counter-example: the sizes, the inputs, and the first entry where the
claim and the answer differ.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from . import expr as E
from .check import Sampler
from .derivative import Derivative, compute, derive, make_variables
from .errors import MatcalcError, ShapeError
from .factor import factor
from .limits import guarded
from .ops import operation_key
from .parse import build_expression
from .printing.numpy import NumpyFunction
from .printing.text import to_text
from .rewrite import simplify
from .rules import RULES, Binding, match
from .shapes import SCALAR, shape_text

CATEGORIES = ("correct", "shape", "transpose", "layout", "factor", "sign", "missing-term",
              "extra-term", "elementwise-derivative", "other")
TOLERANCE = 1e-7
MAX_TERMS = 24


@dataclass
class Counterexample:
    """Where a wrong claim and the answer differ."""
    sizes: dict
    inputs: dict
    index: tuple
    expected: float
    claimed: float

    def __str__(self):
        sizes = ", ".join(f"{k} = {v}" for k, v in sorted(self.sizes.items()))
        where = f"entry {self.index}" if self.index else "the value"
        lines = [f"counter-example{' (' + sizes + ')' if sizes else ''}: {where} of the answer is "
                 f"{self.expected:.6g}, the claim gives {self.claimed:.6g}, at"]
        with np.printoptions(precision=3, suppress=True, linewidth=100):
            for name, value in sorted(self.inputs.items()):
                text = np.array2string(np.asarray(value).squeeze()) if np.ndim(value) else f"{value:.3g}"
                lines.append(f"    {name} = {' '.join(text.split())}")
        return "\n".join(lines)


@dataclass
class Verdict:
    """The judgement of a claimed derivative. ``correct``; ``category`` (one of ``CATEGORIES``);
    ``method``: how it was decided, ``"symbolic"`` or ``"numeric"``; ``message``: the
    explanation; ``answer``: matcalc's derivative; ``counterexample`` for a wrong claim."""
    correct: bool
    category: str
    method: str
    message: str
    answer: Derivative
    claimed: E.Expr | None = None
    claimed_text: str = ""
    counterexample: Counterexample | None = None
    details: list = field(default_factory=list)

    def __bool__(self):
        return self.correct

    def __str__(self):
        head = "correct" if self.correct else f"wrong ({self.category.replace('-', ' ')})"
        lines = [f"{head}: {self.message}"]
        if self.claimed is not None:
            lines.append(f"  claim:  {to_text(self.claimed, True)}")
        lines.append(f"  answer: {self.answer}")
        lines += [f"  {d}" for d in self.details]
        if self.counterexample is not None:
            lines += ["  " + line for line in str(self.counterexample).splitlines()]
        return "\n".join(lines)

    def __repr__(self):
        return f"<Verdict {'correct' if self.correct else self.category}: {self.message}>"

    def _repr_markdown_(self):
        mark = "✅ **correct**" if self.correct else f"❌ **wrong ({self.category.replace('-', ' ')})**"
        parts = [f"{mark}: {self.message}", ""]
        if self.claimed is not None:
            parts.append(f"- claim: ${self.claimed.latex()}$")
        parts.append(f"- answer: ${self.answer.latex()}$")
        parts += [f"- {d}" for d in self.details]
        if self.counterexample is not None:
            parts += ["", "```", str(self.counterexample), "```"]
        return "\n".join(parts)


@guarded
def verify(f, wrt, claimed, shapes: dict | None = None, *, order: int = 1, syntax: str = "numpy",
           layout=None, symmetric_gradient: str = "sym", definitions: dict | None = None, seed: int = 0,
           trials: int = 4) -> Verdict:
    """Judge ``claimed`` as the derivative of ``f`` w.r.t. ``wrt`` (arguments as in ``derive``;
    ``claimed`` is a string or an expression). For a staged program, the claim may use the names
    of its stages."""
    answer = derive(f, wrt, shapes, order=order, layout=layout, syntax=syntax,
                    symmetric_gradient=symmetric_gradient, definitions=definitions)
    variables = {v.name: v for v in answer.variables}
    variables.update({k: v for k, v in make_variables(shapes).items() if k not in variables})
    program = answer.program
    if program is not None:
        variables.update(program.stage_vars)
    text = claimed if isinstance(claimed, str) else str(claimed)
    try:
        claim = claimed if isinstance(claimed, E.Expr) else build_expression(claimed, variables, syntax,
                                                                             infer=False)
    except ShapeError as err:
        return Verdict(False, "shape", "symbolic",
                       f"the claim does not type-check, so its shape cannot be right: {err.message}",
                       answer, None, text)
    if program is not None:
        claim = program.inline(claim)
    verdict = Judge(answer, claim, text, variables, seed, trials).verdict()
    if program is not None and verdict.claimed is not None:   # shown in the user's names
        verdict.claimed = program.rename(verdict.claimed)
    return verdict


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

    # -- the verdict ----------------------------------------------------------------------------
    def verdict(self) -> Verdict:
        expected = self.answer.expr
        if self.claim.shape != expected.shape:
            return self.wrong_shape()
        if self.answer.form != "differential" and self.same_symbolically(expected):
            return self.make(True, "correct", "symbolic",
                             f"the claim equals the {self.describe_kind()} (their canonical forms agree)")
        samples = self.samples()
        if samples is None:
            return self.make(False, "other", "numeric", "the claim cannot be evaluated where the answer can")
        differences = [_relative(c, t) for t, c in samples]
        if max(differences) <= TOLERANCE:
            sizes = ", ".join(f"{k} = {v}" for k, v in sorted(self.sizes.items()))
            return self.make(True, "correct", "numeric",
                             f"the claim equals the {self.describe_kind()} on {len(samples)} random inputs"
                             + (f" ({sizes})" if sizes else ""))
        return self.diagnose(samples)

    def same_symbolically(self, expected: E.Expr) -> bool:
        """Whether ``claim − answer`` is zero in canonical form, also with products expanded."""
        if E.is_zero(simplify(E.add(self.claim, E.neg(expected)))):
            return True
        terms = expand_terms(self.claim) + [E.neg(t) for t in expand_terms(expected)]
        return len(terms) <= 2 * MAX_TERMS and E.is_zero(simplify(E.add(*terms)))

    def make(self, correct, category, method, message, details=(), counterexample=None) -> Verdict:
        return Verdict(correct, category, method, message, self.answer, self.claim, self.text,
                       counterexample, list(details))

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
        return inputs

    def samples(self):
        """``[(answer, claim)]`` values at random inputs (redrawn where the answer is all zero or
        not finite), or ``None`` if the claim is never finite where the answer is."""
        inputs = self.functions()
        rng = np.random.default_rng(self.seed)
        sampler = self.sampler = Sampler(self.answer.f, inputs, rng, self.truth_fn.free_dims + self.claim_fn.free_dims)
        self.sizes = sampler.sizes
        self.inputs, out = [], []
        fallback = None
        for _ in range(self.trials * 10):
            values = sampler.draw()
            t = self.evaluate(self.truth_fn, values)
            if not np.all(np.isfinite(t)):
                continue
            c = self.evaluate(self.claim_fn, values)
            if np.max(np.abs(t), initial=0.0) == 0.0 and fallback is None:
                fallback = (values, t, c)
                continue
            self.inputs.append(values)
            out.append((t, c))
            if len(out) == self.trials:
                break
        if not out and fallback is not None:
            self.inputs.append(fallback[0])
            out.append(fallback[1:])
        if not out or not any(np.all(np.isfinite(c)) for _, c in out):
            return None
        return out

    @staticmethod
    def evaluate(fn, values) -> np.ndarray:
        return np.atleast_2d(np.asarray(fn(**{k: v for k, v in values.items() if k in fn.accepts}), dtype=float))

    def values_of(self, e: E.Expr) -> list:
        fn = NumpyFunction(e, "term", "matrix", required=frozenset(self.answer.variables) | e.free_vars)
        return [np.broadcast_to(self.evaluate(fn, values), np.shape(t)) for values, (t, _) in
                zip(self.inputs, self._samples)]

    def counterexample(self, samples, transform=None) -> Counterexample:
        for values, (t, c) in zip(self.inputs, samples):
            c = transform(c) if transform else c
            if c.shape != t.shape:
                continue
            scale = max(1.0, float(np.max(np.abs(t))))
            bad = np.argwhere(~np.isclose(c, t, rtol=1e-6, atol=1e-9 * scale) | ~np.isfinite(c))
            if len(bad):
                index = tuple(int(i) for i in bad[0])
                shown = {k: v for k, v in values.items() if k in self.truth_fn.accepts or k in self.claim_fn.accepts}
                return Counterexample(self.sizes, shown, index if t.size > 1 else (), float(t[index]),
                                      float(c[index]))
        values, (t, c) = self.inputs[0], samples[0]
        return Counterexample(self.sizes, values, (), float(np.ravel(t)[0]), float(np.ravel(c)[0]))

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
                                     f"this {self.answer.kind} is asked for in {layout} layout")
                return self.make(False, "transpose", "numeric",
                                 f"{base}: the claim is the transpose of the answer")
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
        return self.make(False, "shape", "symbolic", base)

    def samples_if_possible(self):
        try:
            self._samples = self.samples()
        except (MatcalcError, ValueError):
            return None
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
        ratio = _common_ratio(samples)
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
        for diagnosis in (self.mistake_diagnosis, self.symmetry_diagnosis, self.term_diagnosis):
            found = diagnosis(samples)
            if found is not None:   # (a Verdict is falsy when the claim is wrong)
                return found
        return self.make(False, "other", "numeric", f"the claim differs from the answer {answer_text}",
                         counterexample=self.counterexample(samples))

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
        """At least ``count`` inputs where the answer is finite (more than the comparison used)."""
        while len(self.extra_inputs) < count:
            values = self.sampler.draw()
            if np.all(np.isfinite(self.evaluate(self.truth_fn, values))):
                self.extra_inputs.append(values)
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
        e = factor(simplify(e))
        return to_text(self.program.rename(e) if self.program is not None else e)

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
        f, wrt = self.answer.f, self.answer.wrt
        if self.symmetric:
            return None
        for node in E.walk(f):
            if not node.depends_on(wrt):
                continue
            for rule in RULES.mistakes.get(operation_key(node), ()):
                if not any(rule.guards_hold(b) for b in match(rule.pattern, node, Binding())):
                    continue
                try:
                    _, _, result, _ = compute(f, wrt, self.answer.order, override={node: rule})
                except MatcalcError:
                    continue
                if self.answer.layout == "numerator" and self.answer.kind == "gradient" or \
                        self.answer.layout == "denominator" and self.answer.kind == "jacobian":
                    result = simplify(E.transpose(result))
                if result.shape != self.claim.shape:
                    continue
                values = self.values_of(result)
                if all(_relative(c, v) <= TOLERANCE for v, (_, c) in zip(values, samples)):
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
            values = self.values_of(result)
            if all(_relative(c, v) <= TOLERANCE for v, (_, c) in zip(values, samples)):
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
    return [e]


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
    """``x`` as a fraction with a small denominator, if it is one."""
    fr = Fraction(x).limit_denominator(12)
    return fr if abs(float(fr) - x) <= 1e-6 * max(1.0, abs(x)) else None


def _common_ratio(samples):
    """``c`` if the claim is ``c`` times the answer on every sample (``c`` a nice number)."""
    ratios = []
    for t, c in samples:
        tt = float(np.sum(t * t))
        if tt == 0:
            continue
        r = float(np.sum(c * t)) / tt
        if _relative(c, r * t) > 1e-7:
            return None
        ratios.append(r)
    if not ratios or max(ratios) - min(ratios) > 1e-7 * max(1.0, abs(ratios[0])):
        return None
    nice = _nice(ratios[0])
    return nice if nice not in (None, 1, 0) else None


def _fraction_text(c: Fraction) -> str:
    return str(c.numerator) if c.denominator == 1 else f"{c.numerator}/{c.denominator}"

