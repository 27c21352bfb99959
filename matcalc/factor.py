"""Textbook form: common factors taken out of sums.

``A x + Aᵀ x`` -> ``(A + Aᵀ) x``; ``D (X b + c) bᵀ + Dᵀ (X b + c) bᵀ`` -> ``(D + Dᵀ)(X b + c) bᵀ``;
``2 A x + 2 B x`` -> ``2 (A + B) x``; ``δ ⊙ cos(z)∘² − δ ⊙ sin(z)∘²`` -> ``δ ⊙ (cos(z)∘² − sin(z)∘²)``.
Applied to final results only: the canonical form keeps sums expanded so that like terms meet,
and this pass writes them the way a textbook would. A sum of more than ``MAX_FACTOR_WORK``
factors in all (10,000 terms, or 100 chains of 150 factors) is left as it is.
"""
from __future__ import annotations

import math
from fractions import Fraction

from . import expr as E
from .shapes import SCALAR, broadcast_all


def factor(e: E.Expr) -> E.Expr:
    """``e`` with common left and right matrix factors, and common scalars, taken out of sums."""
    memo: dict = {}
    for node in E.walk(e):
        args = [memo[a] for a in node.args]
        if node.op == "add":
            memo[node] = factor_sum(args, node.shape)
        elif node.op == "mul" and len(args) == 2 and args[0].op == "const" and args[1].op == "add":
            # c (a + b + …): distribute, then take out what the terms really share
            memo[node] = factor_sum([E.scale(args[0].data, t) for t in args[1].args], node.shape)
        else:
            memo[node] = E.rebuild(node, args) if args else node
    return memo[e]


def _split(term: E.Expr):
    """``(scalars, chain)``: the scalar factors of a term and the matrix product that remains."""
    if term.shape == SCALAR:
        return [term], []
    scalars, core = [], term
    if term.op == "mul":
        scalars = [f for f in term.args if f.shape == SCALAR]
        if scalars:   # (without scalar factors the term is its own core: no node to make)
            rest = [f for f in term.args if f.shape != SCALAR]
            core = rest[0] if len(rest) == 1 else E.mul(*rest)
    return scalars, (list(core.args) if core.op == "matmul" else [core])


# factors in all, over the terms of one sum, beyond which the sum is left expanded: taking factors
# out one at a time rebuilds every term each time (k terms of L factors: k L² work)
MAX_FACTOR_WORK = 2_000


def factor_sum(terms: list, shape) -> E.Expr:
    parts = [_split(t) for t in terms]
    if sum(len(chain) + len(scalars) for scalars, chain in parts) > MAX_FACTOR_WORK:
        return E.add(*terms)
    best = None
    for side in (-1, 0):   # a common right factor first, then a common left one
        for alone in (False, True):   # terms with more factors; then terms that are only the factor
            groups: dict = {}
            for i, (_, chain) in enumerate(parts):
                if chain and (len(chain) == 1) == alone:
                    groups.setdefault(chain[side], []).append(i)
            for common, members in groups.items():
                if len(members) >= 2 and (best is None or len(members) > len(best[2])):
                    best = (side, common, members)
    if best is None:
        return _pull_common_hadamard_factor(terms, parts, shape)
    side, common, members = best
    if all(len(parts[i][1]) == 1 for i in members):  # a x + b x -> (a + b) x
        combined = E.mul(E.add(*[E.mul(*parts[i][0]) if parts[i][0] else E.const(1)
                                 for i in members]), common)
        others = [terms[i] for i in range(len(terms)) if i not in members]
        return factor_sum(others + [combined], shape) if others else combined
    inner_terms = []
    for i in members:
        scalars, chain = parts[i]
        rest = chain[:-1] if side == -1 else chain[1:]
        if not rest:
            size = common.shape[0] if side == -1 else common.shape[1]
            rest = [E.eye(size)]
        inner_terms.append(E.mul(*scalars, E.matmul(*rest)))
    inner_shape = inner_terms[0].shape
    inner = factor_sum(inner_terms, inner_shape)
    combined = E.matmul(inner, common) if side == -1 else E.matmul(common, inner)
    others = [terms[i] for i in range(len(terms)) if i not in members]
    if not others:
        return combined
    return factor_sum(others + [combined], shape)


def _pull_common_hadamard_factor(terms: list, parts: list, shape) -> E.Expr:
    """``F ⊙ a + F ⊙ b`` -> ``F ⊙ (a + b)`` for the full-shaped Hadamard factor ``F`` that the most
    terms share (at least two, each with a cofactor); else the common scalars
    (``_pull_common_scalars``). Nested, a sum of such terms would otherwise double with every
    level (a backward signal used twice)."""
    groups: dict = {}
    for i, (scalars, chain) in enumerate(parts):
        if len(chain) == 1 and (scalars or chain[0].op == "mul"):   # F itself stays: A + Aᵀ − A ⊙ I
            for f in _hadamard_factors(chain[0]):
                if f.shape == shape and f.op != "ones":   # (𝟏 ⊙ a + 𝟏 ⊙ b: the ones only carry the shape)
                    groups.setdefault(f, []).append(i)
    common, members = max(groups.items(), key=lambda item: len(item[1]), default=(None, ()))
    if len(members) < 2:
        return _pull_common_scalars(terms, shape)
    rests = []
    for i in members:
        scalars, chain = parts[i]
        rest = list(scalars) + [f for f in _hadamard_factors(chain[0]) if f is not common]
        rests.append(E.mul_within(shape, *rest))
    if broadcast_all([r.shape for r in rests]) is None:   # a column and a row alone: no sum of them
        return _pull_common_scalars(terms, shape)
    combined = E.mul(common, factor_sum(rests, shape))
    others = [terms[i] for i in range(len(terms)) if i not in set(members)]
    return factor_sum(others + [combined], shape) if others else combined


def _hadamard_factors(core: E.Expr) -> tuple:
    return core.args if core.op == "mul" else (core,)


def _pull_common_scalars(terms: list, shape) -> E.Expr:
    """``2 A + 2 B`` -> ``2 (A + B)``; ``c A + c B`` -> ``c (A + B)`` for a common scalar ``c``."""
    if len(terms) < 2:
        return E.add(*terms)
    coefficients = [E.split_coefficient(t)[0] for t in terms]
    common = _common_coefficient(coefficients)
    if common.denominator != 1 and len({abs(c) for c in coefficients}) > 1:
        common = Fraction(1)   # ½ out of P⁻¹ + ½ A would put a 2 in: group equal coefficients instead
    scalar_sets = [set(_split(t)[0]) if t.shape != SCALAR else set(t.args if t.op == "mul" else (t,))
                   for t in terms]
    shared = set.intersection(*scalar_sets) - {f for f in scalar_sets[0] if f.op == "const"}
    if common == 1 and not shared:
        return _group_equal_coefficients(terms)
    factor_expr = E.mul(E.const(common), *sorted(shared, key=lambda f: f.key))
    inner = E.add(*[E.divide(t, factor_expr) for t in terms])
    if inner.op != "add":
        return E.add(*terms)
    return E.mul(factor_expr, inner)


def _group_equal_coefficients(terms: list) -> E.Expr:
    """``P⁻¹ + ½ A + ½ Aᵀ`` -> ``P⁻¹ + ½ (A + Aᵀ)``: terms with the same coefficient together."""
    groups: dict = {}
    for t in terms:
        c, rest = E.split_coefficient(t)
        if rest is not None and c not in (1, -1) and isinstance(c, Fraction):
            groups.setdefault(c, []).append(rest)
    out = [t for t in terms if not (E.split_coefficient(t)[1] is not None
                                    and len(groups.get(E.split_coefficient(t)[0], ())) >= 2)]
    for c, rests in groups.items():
        if len(rests) >= 2 and broadcast_all([r.shape for r in rests]) is None:   # (an outer sum)
            out.extend(E.scale(c, r) for r in rests)
        elif len(rests) >= 2:
            out.append(E.mul(E.const(c), E.add(*rests)))
    return E.add(*out)


def _common_coefficient(values) -> Fraction:
    if not all(isinstance(v, Fraction) for v in values):
        return Fraction(1)
    numerator = 0
    denominator = 1
    for v in values:
        numerator = math.gcd(numerator, abs(v.numerator))
        denominator = denominator * v.denominator // math.gcd(denominator, v.denominator)
    common = Fraction(numerator, denominator)
    if all(v < 0 for v in values):
        common = -common
    return common if common != 0 else Fraction(1)
