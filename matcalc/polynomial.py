"""Elementwise polynomials in their shortest form.

A derivative often comes out as a Hadamard polynomial in a few atoms that cancels when expanded:
the binary cross-entropy gives ``σ ⊙ (1 − t) − t ⊙ (1 − σ)``, which is ``σ − t``; its Hessian
weight ``t ⊙ s ⊙ (1 − s) + s ⊙ (1 − t) ⊙ (1 − s)`` is ``s ⊙ (1 − s)``. ``shortest(e)`` expands
each elementwise sum of ``e`` into monomials (the canonical sum collects and cancels like terms),
pulls out the atoms every monomial shares (``s − s∘² = s ⊙ (1 − s)``) and keeps that form where
it is smaller than the one it replaces and has no more terms (``δ₁ ⊙ (1 − h₁∘²) + δ₂ ⊙ (1 − h₂∘²)``
stays: four monomials would be shorter, but each term is one backward signal's share). A sum
that is expanded already stays as it is. Atoms are whatever is not a sum, a Hadamard product, a
constant or a positive integer power: matrix products, functions, variables. Expansion is
bounded (``MAX_MONOMIALS``), so a product of long sums is left as it is.
"""
from __future__ import annotations

from fractions import Fraction

from . import expr as E
from .shapes import SCALAR

MAX_MONOMIALS = 64    # an expansion with more monomials is not tried
MAX_POWER = 4         # (a + b)ᵏ is expanded up to this k


def shortest(e: E.Expr) -> E.Expr:
    """``e`` with each elementwise polynomial in it replaced by its expanded (and refactored)
    form where that is smaller."""
    memo: dict = {}
    sizes: dict = {}
    for node in E.walk(e):
        rebuilt = E.rebuild(node, [memo[a] for a in node.args]) if node.args else node
        if rebuilt.op == "add":
            candidate = _condensed(rebuilt)
            if candidate is not None and _terms(candidate) <= len(rebuilt.args) \
                    and _size(candidate, sizes) < _size(rebuilt, sizes):
                rebuilt = candidate
        memo[node] = rebuilt
    return memo[e]


def _terms(e: E.Expr) -> int:
    return len(e.args) if e.op == "add" else 1


def _size(e: E.Expr, sizes: dict) -> int:
    """The size of ``e`` written out as a tree (a repeated part counts each time), as printed."""
    for node in E.walk(e):
        if node not in sizes:
            sizes[node] = 1 + sum(sizes[a] for a in node.args)
    return sizes[e]


def _condensed(e: E.Expr) -> E.Expr | None:
    """The sum ``e`` expanded into monomials, with the atoms they all share pulled out; ``None``
    where it would have too many monomials or has parts this form does not cover."""
    monomials = _expand(e)
    if monomials is None:
        return None
    total = E.add(*monomials)
    if total is e:   # already expanded (2 x cos(x y) − x² y sin(x y)): left as written
        return None
    return _pull_common_atoms(total) if total.op == "add" else total


def _expand(e: E.Expr) -> list | None:
    """Monomials (canonical Hadamard products of atoms and a coefficient) that sum to ``e``. A sum
    or product that broadcasts (a column beside a matrix) is an atom: its monomials could pair a
    column with a row alone, an outer product that is not elementwise."""
    if e.op in ("add", "mul") and any(a.shape not in (e.shape, SCALAR) for a in e.args):
        return [e]
    if e.op == "add":
        terms = []
        for a in e.args:
            part = _expand(a)
            if part is None or len(terms) + len(part) > MAX_MONOMIALS:
                return None
            terms.extend(part)
        return terms
    if e.op == "mul":
        return _product([_expand(f) for f in e.args])
    if e.op == "pow" and e.args[0].op == "add" and e.args[1].op == "const" \
            and e.args[1].data in range(2, MAX_POWER + 1):   # (a + b)ᵏ, a product of k copies
        return _product([_expand(e.args[0])] * int(e.args[1].data))
    return [e]


def _product(parts: list) -> list | None:
    """The monomials of a product of sums, each sum given by its monomials (``None``: too many)."""
    product = [E.const(1)]
    for part in parts:
        if part is None or len(product) * len(part) > MAX_MONOMIALS:
            return None
        product = [E.mul(p, q) for p in product for q in part]
    return product


def _powers(term: E.Expr) -> dict:
    """``{atom: exponent}`` of a monomial (positive integer exponents; constants left out)."""
    out = {}
    for f in (term.args if term.op == "mul" else (term,)):
        if f.op == "const":
            continue
        if f.op == "pow" and f.args[1].op == "const" and isinstance(f.args[1].data, Fraction) \
                and f.args[1].data.denominator == 1 and f.args[1].data > 0:
            out[f.args[0]] = out.get(f.args[0], 0) + int(f.args[1].data)
        else:
            out[f] = out.get(f, 0) + 1
    return out


def _pull_common_atoms(total: E.Expr) -> E.Expr:
    """``s − s∘² = s ⊙ (1 − s)``: the atoms of the shape of the sum that every monomial has, each
    to its smallest power, taken out."""
    powers = [_powers(t) for t in total.args]
    common = {atom: min(p.get(atom, 0) for p in powers) for atom in powers[0]
              if atom.shape in (total.shape, SCALAR)}
    common = {atom: k for atom, k in common.items() if k > 0}
    if not common:
        return total
    factor = E.mul(*[E.power(atom, E.const(k)) if k > 1 else atom for atom, k in common.items()])
    rest = E.add(*[E.mul(t, *[E.power(atom, E.const(-k)) for atom, k in common.items()]) for t in total.args])
    return E.mul(factor, rest)
