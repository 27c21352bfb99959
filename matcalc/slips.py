"""One slip in writing a derivative down, as the expressions it gives: a factor of a product left
out (``Σ⁻¹`` of ``Σ⁻¹ (x − μ)``), an inverse left off or put on (``Λ`` for ``Λ⁻¹``), a transpose
left off or put on (``X⁻¹`` for ``X⁻ᵀ``), the sign inside a function flipped (``σ(y ⊙ X w)`` for
``σ(−y ⊙ X w)``), a term of a sum left out, an elementwise derivative put in as an extra factor
(σ′ in a cross-entropy's gradient). ``verify`` names a wrong claim's mistake when the claim is
the answer with one of these.
"""
from __future__ import annotations

from collections.abc import Iterator

from . import expr as E
from .derivative import compute
from .errors import MatcalcError
from .printing.text import to_text
from .rewrite import simplify

MAX_SLIPS = 120   # the answers with one slip tried, at most (each is compared with the claim)
_WRAPPING = ("inv", "T")   # what a slip inside is said of as a whole (X⁻¹ for X⁻ᵀ, not X for Xᵀ)


def slips(answer: E.Expr) -> Iterator[tuple]:
    """``(the answer with one slip, the slip in words, its verdict category)``, for each place a
    slip can happen in ``answer``, each distinct result once (and ``MAX_SLIPS`` of them at most)."""
    parents: dict = {}
    for node in E.walk(answer):
        for arg in node.args:
            parents.setdefault(arg, []).append(node)
    seen = {answer}
    derivatives = _elementwise_derivatives(answer)
    for node in E.walk(answer):
        for make, kind in [*_local_slips(node), *_extra_factors(node, derivatives)]:
            try:
                replacement = make()
                if replacement.shape != node.shape:
                    continue
                slipped = simplify(E.substitute(answer, {node: replacement}))
            except MatcalcError:   # (a factor left out of a matrix product that no longer fits)
                continue
            if slipped in seen or E.is_zero(slipped):
                continue
            seen.add(slipped)
            yield slipped, _words(node, replacement, kind, parents), "missing-term" if kind == "term" else "other"
            if len(seen) > MAX_SLIPS:
                return


def _local_slips(node: E.Expr) -> Iterator[tuple]:
    """The slips at ``node`` itself: ``(a function making what it becomes, the kind of slip)``."""
    if node.op in ("matmul", "mul") and len(node.args) > 1:   # a factor left out (each time it occurs)
        build = E.matmul if node.op == "matmul" else E.mul
        for factor in dict.fromkeys(node.args):
            rest = [arg for arg in node.args if arg is not factor]
            if factor.op != "const" and rest:
                yield (lambda rest=rest: build(*rest)), ("factor", factor)
    if node.op == "add" and len(node.args) > 1:   # a term left out
        for term in dict.fromkeys(node.args):
            yield (lambda term=term: E.add(*[arg for arg in node.args if arg is not term])), ("term", term)
    square = node.shape[0] == node.shape[1] != 1
    if node.op == "inv":   # Λ for Λ⁻¹
        yield (lambda: node.args[0]), ("inverse left off", None)
    if node.op == "var" and square:   # Λ⁻¹ for Λ, Xᵀ for X
        yield (lambda: E.inv(node)), ("inverse put on", None)
        yield (lambda: E.transpose(node)), ("transpose put on", None)
    if node.op == "T" and square:   # X⁻¹ for X⁻ᵀ
        yield (lambda: node.args[0]), ("transpose left off", None)
    if node.op == "fn" and len(node.args) == 1:   # σ(z) for σ(−z)
        yield (lambda: E.rebuild(node, [E.neg(node.args[0])])), ("sign flipped", None)


def _elementwise_derivatives(answer: E.Expr) -> list:
    """``(φ(z), φ'(z))`` for each activation φ of a vector or matrix in ``answer`` (its derivative
    as the rules give it): the factor a chain rule for another loss would put in (the squared
    error's σ' in a cross-entropy's gradient)."""
    found = []
    for node in E.walk(answer):
        if node.op == "fn" and node.data in _ACTIVATIONS and node.shape != (1, 1):
            z = E.variable("slip·z", node.args[0].shape)   # φ'(z) = ∇ Σ φ(z), entry by entry
            _, _, gradient, _ = compute(E.sum_all(E.rebuild(node, [z])), z, 1)
            found.append((node, simplify(E.substitute(gradient, {z: node.args[0]}))))
    return found


_ACTIVATIONS = ("sigmoid", "tanh", "softplus")   # whose derivative a wrong chain rule puts in


def _extra_factors(node: E.Expr, derivatives: list) -> Iterator[tuple]:
    """An elementwise derivative put in as a factor of ``node`` (of its shape), where it is a
    difference (σ(Xw) − y ⊙ σ' for σ(Xw) − y): ``(a function making it, the kind of slip)``."""
    if node.op != "add":
        return
    for function, derivative in derivatives:
        if derivative.shape == node.shape and function in E.walk(node):
            yield (lambda derivative=derivative: E.mul(node, derivative)), ("extra factor", derivative)


def _words(node: E.Expr, replacement: E.Expr, kind: tuple, parents: dict) -> str:
    """The slip in words, said of the whole it changes (``X⁻¹`` for ``X⁻ᵀ``, not ``X`` for ``Xᵀ``)."""
    what, part = kind
    if what == "factor":
        return f"the factor {to_text(part)} of {to_text(node)} is left out"
    if what == "term":
        return f"the term {to_text(part)} of {to_text(node)} is left out"
    if what == "extra factor":
        return f"{to_text(node)} is multiplied by an extra factor {to_text(part)}, a derivative the chain rule of " \
               "this f does not put there (as a squared error's gradient would?)"
    whole, changed = node, replacement
    while len(parents.get(whole, [])) == 1 and parents[whole][0].op in _WRAPPING:
        parent = parents[whole][0]
        whole, changed = parent, E.substitute(parent, {whole: changed})
    said = " (the sign of its argument flipped)" if what == "sign flipped" else ""
    return f"{to_text(simplify(changed))} is written where {to_text(whole)} belongs{said}"
