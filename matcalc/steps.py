"""The steps of a derivation, as a student would write them.

1. the differential of each operation, outermost first, with the inner differentials left as
   ``d(…)`` — each step names its rule in ``rules/`` (``d-inv``, ``d-sigmoid``, ...) or
   ``linearity`` / ``product rule``;
2. the chain rule: the pieces put together, in canonical form;
3. the simplification rules that fired, by name;
4. the identification: each term of ``df`` written as ``⟨G, dX⟩`` by the trace identities that
   move everything off ``dX`` (for a Jacobian, ``vec(df) = J vec(dX)`` by the vec identities);
5. the result: the terms collected and common factors taken out.

Mechanical canonicalisation (flattening, sorting, collecting) is never a step of its own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import expr as E
from .diff import Differentiator, gradient_from_differential, jacobian_from_differential
from .factor import factor
from .limits import guarded
from .printing.latex import latex_name, prose, to_latex
from .printing.text import to_text
from .rewrite import Recorder, simplify
from .shapes import SCALAR


@dataclass
class Step:
    """``lhs = rhs`` by ``rules``. ``lhs`` is an expression or a ``(text, latex)`` label."""
    lhs: object
    rhs: E.Expr
    rules: tuple

    def text(self) -> str:
        lhs = self.lhs[0] if isinstance(self.lhs, tuple) else to_text(self.lhs)
        return f"{lhs} = {to_text(self.rhs)}"

    def reasons(self) -> list:
        """The rules of the step in words (``d-inv``: the derivative of the inverse)."""
        return list(dict.fromkeys(rule_words(r) for r in self.rules))

    def latex(self, taken=frozenset(), variable: str | None = None) -> str:
        """The step in LaTeX; the letters of the identities it cites avoid the names in ``taken``
        (the user's variables: an identity ``⟨S, L D R⟩`` beside a covariance ``S`` reads
        ``⟨G, L D R⟩``), and their ``dX`` is d of ``variable`` (the one differentiated by)."""
        lhs = self.lhs[1] if isinstance(self.lhs, tuple) else to_latex(self.lhs)
        rules = r",\ ".join(dict.fromkeys(_identity_latex(r, taken, variable) for r in self.rules))
        return rf"{lhs} &= {to_latex(self.rhs)} && {rules}"


# what the function of a differential rule d-NAME is called in words
_FUNCTION_WORDS = {"inv": "the inverse", "pinv": "the pseudo-inverse", "det": "the determinant",
                   "logdet": "log det", "norm2": "the norm", "pow": "a power", "pow-const": "a constant power",
                   "abs": "|·|", "sigmoid": "σ", "normcdf": "Φ", "normpdf": "φ", "log-softmax": "log softmax",
                   "step": "the step function", "sign": "sign"}
# identities and rules whose name is a formula or an id, in words
_RULE_WORDS = {
    "⟨S, L D R⟩ = ⟨Lᵀ S Rᵀ, D⟩": "cyclic property of the trace",
    "⟨S, C ⊙ D⟩ = ⟨C ⊙ S, D⟩": "a Hadamard factor moved across ⟨·,·⟩",
    "⟨S, Dᵀ⟩ = ⟨Sᵀ, D⟩": "transpose moved across ⟨·,·⟩",
    "⟨s, tr D⟩ = ⟨s I, D⟩": "a trace as ⟨·, I⟩",
    "⟨s, sum D⟩ = ⟨s 𝟏, D⟩": "a sum as ⟨·, 𝟏⟩",
    "⟨S, diag d⟩ = ⟨diag S, d⟩": "diag moved across ⟨·,·⟩",
    "⟨s, vec D⟩ = ⟨unvec s, D⟩": "vec moved across ⟨·,·⟩",
    "⟨S, unvec d⟩ = ⟨vec S, d⟩": "unvec moved across ⟨·,·⟩",
    "dy = J dx": "definition of the Jacobian",
    "df = ⟨∇f, dX⟩": "definition of the gradient",
    "vec(A dX B) = (Bᵀ ⊗ A) vec(dX)": "vec of a product, vec(A D B) = (Bᵀ ⊗ A) vec(D)",
    "sum-of-product": "the sum of a product as ⟨·,·⟩",
    "exp-log": "exp(log x) = x", "log-exp": "log(exp x) = x", "log-det": "log det",
    "penrose-1": "a Penrose identity (M M⁺ M = M)", "penrose-2": "a Penrose identity (M⁺ M M⁺ = M⁺)",
    "penrose-3": "a Penrose identity (M M⁺ symmetric)",
}


def rule_words(name: str) -> str:
    """A rule or identity as a step cites it: ``d-inv`` -> ``derivative of the inverse``,
    ``d-softmax-columns`` -> ``derivative of softmax by columns``; other names as they are,
    hyphens as spaces."""
    if name in _RULE_WORDS:
        return _RULE_WORDS[name]
    if name.startswith("d-"):
        function, by = name[2:], ""
        for suffix, words in (("-columns", " by columns"), ("-rows", " by rows")):
            if function.endswith(suffix):
                function, by = function[:-len(suffix)], words
        return f"derivative of {_FUNCTION_WORDS.get(function, function)}{by}"
    return name if any(c in name for c in "⟨=") else name.replace("-", " ")


# the identities of the identification step, in LaTeX, with their letters as «placeholders»
IDENTITY_LATEX = {
    "⟨S, C ⊙ D⟩ = ⟨C ⊙ S, D⟩": r"\langle «S», «C» \odot «D»\rangle = \langle «C» \odot «S», «D»\rangle",
    "⟨S, L D R⟩ = ⟨Lᵀ S Rᵀ, D⟩": r"\langle «S», «L» «D» «R»\rangle = \langle «L»^{\top} «S» «R»^{\top}, «D»\rangle",
    "⟨S, Dᵀ⟩ = ⟨Sᵀ, D⟩": r"\langle «S», «D»^{\top}\rangle = \langle «S»^{\top}, «D»\rangle",
    "⟨s, tr D⟩ = ⟨s I, D⟩": r"\langle «s», \operatorname{tr} «D»\rangle = \langle «s» I, «D»\rangle",
    "⟨s, sum D⟩ = ⟨s 𝟏, D⟩": r"\langle «s», \operatorname{sum} «D»\rangle = \langle «s» \mathbf{1}, «D»\rangle",
    "⟨S, diag d⟩ = ⟨diag S, d⟩":
        r"\langle «S», \operatorname{diag} «d»\rangle = \langle \operatorname{diag} «S», «d»\rangle",
    "⟨s, vec D⟩ = ⟨unvec s, D⟩":
        r"\langle «s», \operatorname{vec} «D»\rangle = \langle \operatorname{vec}^{-1} «s», «D»\rangle",
    "⟨S, unvec d⟩ = ⟨vec S, d⟩":
        r"\langle «S», \operatorname{vec}^{-1} «d»\rangle = \langle \operatorname{vec} «S», «d»\rangle",
    "linearity of ⟨·,·⟩": r"\text{linearity of } \langle\cdot,\cdot\rangle",
    "dy = J dx": r"\mathrm{d}«y» = J\,\mathrm{d}«x»",
    "df = ⟨∇f, dX⟩": r"\mathrm{d}f = \langle \nabla f, \mathrm{d}«X»\rangle",
    "vec(A dX B) = (Bᵀ ⊗ A) vec(dX)":
        r"\operatorname{vec}(«A»\,\mathrm{d}«X» «B») = («B»^{\top} \otimes «A») \operatorname{vec}(\mathrm{d}«X»)",
}
# the letters a placeholder may take, first choice first
_PLACEHOLDER_LETTERS = {"S": "SGHKQ", "C": "CKMPE", "D": "DEVZW", "L": "LPUEF", "R": "RTQHN", "s": "sghcu",
                        "d": "devzw", "A": "APUKF", "B": "BQTHN", "X": "XUVWZ", "x": "xuvwz", "y": "ytgqr"}


def _identity_latex(rule: str, taken=frozenset(), variable: str | None = None) -> str:
    """A cited identity or rule in LaTeX: the identity's formula with letters not in ``taken``
    (its ``X`` is ``variable`` where one is given), or the rule in words."""
    template = IDENTITY_LATEX.get(rule)
    if template is None:
        return r"\text{" + _latex_text(rule_words(rule)) + "}"
    chosen: dict = {"X": latex_name(variable)} if variable else {}
    for placeholder in dict.fromkeys(re.findall("«(.)»", template)):
        if placeholder in chosen:
            continue
        used = set(chosen.values())
        chosen[placeholder] = next((c for c in _PLACEHOLDER_LETTERS[placeholder] if c not in taken and c not in used),
                                   placeholder)
    return re.sub("«(.)»", lambda m: chosen[m.group(1)], template)


def _latex_text(text: str) -> str:
    return prose(text)


class Steps(list):
    """A list of ``Step``s; ``str()`` numbers them, ``latex()`` is an ``aligned`` block."""

    def __init__(self, title: str, steps, names=frozenset(), variable: str | None = None):
        super().__init__(steps)
        self.title = title
        self.names = frozenset(names)   # the user's variable names, which identities' letters avoid
        self.variable = variable        # the variable differentiated by (the dX of the identities)

    def __str__(self):
        width = max((len(s.text()) for s in self), default=0)
        lines = [self.title]
        for k, s in enumerate(self, 1):
            lines.append(f"{k:>3}. {s.text().ljust(min(width, 70))}   [{', '.join(s.reasons())}]")
        return "\n".join(lines)

    def latex(self) -> str:
        return r"\begin{aligned}" + r" \\ ".join(s.latex(self.names, self.variable) for s in self) \
            + r"\end{aligned}"

    def _repr_latex_(self):
        return f"$${self.latex()}$$"


_KIND_WORDS = {"gradient": "gradient", "jacobian": "Jacobian", "hessian": "Hessian",
               "hvp": "Hessian-vector product"}


@guarded
def derivation(derivative) -> Steps:
    """The steps that lead from ``derivative.f`` to ``derivative.expr``."""
    f, wrt = derivative.f, derivative.wrt
    name = wrt.name
    steps: list = []
    if derivative.signals:
        return _stage_steps(derivative)
    if derivative.kind == "gradient":
        df, dx = _differential_steps(f, wrt, steps)
        gradient = _gradient_steps(df, dx, steps, name)
        _final(steps, gradient, derivative._check_form, (f"∇_{name} f", rf"\nabla_{{{latex_name(name)}}} f"))
    elif derivative.kind in ("jacobian",):
        dy, dx = _differential_steps(f, wrt, steps)
        _jacobian_steps(dy, dx, steps, derivative._check_form, name)
    else:   # hessian and hvp: the gradient first, then its differential
        df, dx = _differential_steps(f, wrt, steps)
        raw = _gradient_steps(df, dx, steps, name)
        gradient = factor(simplify(raw))
        _final(steps, raw, gradient, (f"∇_{name} f", rf"\nabla_{{{latex_name(name)}}} f"))
        dg, dx = _differential_steps(gradient, wrt, steps)
        if derivative.kind == "hvp":
            product = simplify(E.substitute(dg, {dx: derivative.direction}))
            steps.append(Step(("H v", "H v"), product, (f"d{name} → {derivative.direction.name}",)))
            _final(steps, product, derivative.expr, ("H v", "H v"))
        else:
            _jacobian_steps(dg, dx, steps, derivative._check_form, name, hessian=True)
    written = to_text(f)
    source = derivative.source_text
    title = f"{_KIND_WORDS[derivative.kind]} of {source or written} w.r.t. {name}"
    if source and source != written:   # the steps write f in canonical form: say it is the same f
        title += f", where f = {written}"
    if derivative.layout and derivative.expr is not derivative._check_form:
        label = steps[-1].lhs if steps and isinstance(steps[-1].lhs, tuple) else ("result", r"\text{result}")
        steps.append(Step(label, derivative.expr, (f"transpose: {derivative.layout} layout",)))
    return Steps(title, steps, {v.name for v in derivative.variables}, name)


def _stage_steps(derivative) -> Steps:
    """Backpropagation through the stages of a program, one backward signal per stage."""
    program, name = derivative.program, derivative.wrt.name
    output = program.output
    steps = []
    for var, signal, rules in derivative.signals.values():
        steps.append(Step(var, signal, rules or ("chain rule",)))
    gradient, rules = derivative.stage_gradient
    label = (f"∇_{name} {output}", rf"\nabla_{{{latex_name(name)}}} {latex_name(output)}")
    steps.append(Step(label, gradient, rules or ("chain rule",)))
    _final(steps, gradient, derivative.named, label)
    title = (f"gradient of {output} w.r.t. {name}, stage by stage "
             f"(δs = ∂{output}/∂s for each stage s)")
    return Steps(title, steps)


def _differential_steps(f: E.Expr, wrt: E.Expr, steps: list):
    """The differential of each operation of ``f``, outermost first; then the chain rule."""
    recorder = Recorder()
    d = Differentiator(wrt, recorder=recorder)
    chained = d(f)
    events = {node: (rule, shown) for rule, node, shown in recorder.events}
    for node in _preorder(f):
        trivial = node.op == "T" and node.args[0] is wrt   # d(Xᵀ) = dXᵀ is shown in place
        if node in events and not trivial:
            rule, shown = events[node]
            steps.append(Step(E.differential_of(node), shown, (rule,)))
    if len(steps) > 1 and to_text(steps[-1].rhs) != to_text(chained) or len(steps) == 0:
        steps.append(Step(E.differential_of(f), chained, ("chain rule",)))
    rules = Recorder()
    simplified = simplify(chained, rules)
    for rule, before, after in rules.events:
        steps.append(Step(before, after, (rule,)))
    if rules.events:
        steps.append(Step(E.differential_of(f), simplified, ("simplification",)))
    return simplified, d.dx


def _preorder(e: E.Expr) -> list:
    seen, out, stack = set(), [], [e]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        out.append(node)
        stack.extend(reversed(node.args))
    return out


def _gradient_steps(df: E.Expr, dx: E.Expr, steps: list, name: str) -> E.Expr:
    """Each term of ``df`` as ``⟨G, dX⟩``; the gradient is the sum of the ``G``."""
    terms = list(df.args) if df.op == "add" else [df]
    parts = []
    for term in terms:
        used: list = []
        g = simplify(gradient_from_differential(term, dx, used))
        parts.append(g)
        steps.append(Step(term, E.inner_product(g, dx), tuple(dict.fromkeys(used)) or ("identification",)))
    gradient = E.add(*parts)
    steps.append(Step((f"∇_{name} f", rf"\nabla_{{{latex_name(name)}}} f"), gradient, ("df = ⟨∇f, dX⟩",)))
    return gradient


def _jacobian_steps(dy, dx, steps, result, name, hessian=False):
    jacobian = simplify(jacobian_from_differential(dy, dx))
    label = ("∇²f", r"\nabla^2 f") if hessian else \
        (f"∂f/∂{name}", rf"\frac{{\partial f}}{{\partial {latex_name(name)}}}")
    vectorial = dy.shape[1] == 1 or dy.shape == SCALAR
    steps.append(Step(label, jacobian, ("vec(A dX B) = (Bᵀ ⊗ A) vec(dX)",) if not vectorial else
                      ("dy = J dx",)))
    _final(steps, jacobian, result, label)


def _final(steps, current, result, label):
    if to_text(result) != to_text(current):
        steps.append(Step(label, result, ("collect, factor",)))
