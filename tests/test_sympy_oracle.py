"""An exact oracle: at small concrete sizes, sympy differentiates the explicit matrix of
symbols entry by entry, and the closed form must agree exactly (rational functions compare as
exact rationals at random rational points; transcendental ones to 50 significant digits)."""
import zlib
from fractions import Fraction

import numpy as np
import pytest
import sympy as sp

import matcalc as mc
from matcalc import expr as E
from matcalc.printing.sympy import symbols_for, to_sympy

SHAPES = {"x": "n", "a": "n", "b": "m", "y": "m", "A": "n,n", "B": "m,n", "X": "n,n",
          "W": "m,n", "c": "", "P": mc.matrix("P", "n", "n", spd=True),
          "q": mc.vector("q", "n", positive=True)}
SIZES = {"n": 2, "m": 3}

CASES = [
    ("x.T @ A @ x", "x"),
    ("a.T @ X @ a", "X"),
    ("trace(A @ X @ X.T)", "X"),
    ("norm2(W @ x - y) ** 2", "x"),
    ("0.5 * norm2(W @ x - y) ** 2", "W"),
    ("logdet(X)", "X"),
    ("det(X)", "X"),
    ("a.T @ inv(X) @ a", "X"),
    ("sum(exp(x))", "x"),
    ("sum(log(sigmoid(B @ x)))", "x"),
    ("norm2(W @ tanh(A @ x) - y) ** 2", "A"),
    ("sigmoid(W @ x)", "x"),
    ("x @ x.T @ x", "x"),
    ("-y.T @ log_softmax(W @ x)", "x"),
    ("softmax(W @ x)", "x"),
    ("(q.T @ q) ** 0.5 * c", "q"),
    ("sum(q ** 3 / (a * a + 1))", "q"),
    ("x.T @ inv(P) @ x + logdet(P)", "x"),
    ("x.T @ A @ x", "x", 2),
    ("sum(log(1 + exp(-y * (W @ x))))", "x", 2),
    ("log(sum(exp(x)))", "x", 2),
    ("A @ X @ A", "X", 1),
    ("sigmoid(W @ x)", "W", 1),
    ("norm2(W @ x - y) ** 2", "W", 2),
    ("trace(X @ X @ X)", "X", 2),
    ("trace(A @ X @ X @ X @ X @ X)", "X"),                 # X⁵: a matrix power
    ("a.T @ inv(X) @ inv(X) @ inv(X) @ inv(X) @ a", "X"),   # X⁻⁴
    # the batch forms, the new elementwise functions and the matrix functions sympy can evaluate
    ("sum(W * log_softmax(W, axis=0))", "W"),
    ("sum(softmax(B, axis=1) * W)", "B", 2),
    ("mean(logsumexp(W, axis=1))", "W"),
    ("a.T @ solve(X, x)", "X"),
    ("sum(sinh(x) * cosh(a) + arctan(x) + log1p(q) + expm1(x))", "x"),
    ("sum(arcsin(x / 4) + arccos(x / 5))", "x"),
    ("sum(erf(x) + gelu(x) + silu(x))", "x", 2),
    ("a.T @ pinv(W) @ y", "W"),
    ("trace(A @ cholesky(X @ X.T + eye(n)))", "X"),
]


def _random_rational(rng):
    return sp.Rational(int(rng.integers(-9, 10)) or 1, int(rng.integers(1, 7)))


def _values(variables, rng):
    symbols = {v: symbols_for(v, SIZES) for v in variables}
    point = {}
    for v, m in symbols.items():
        for s in m.free_symbols:
            r = _random_rational(rng)
            point[s] = abs(r) + 1 if s.is_positive else r
        if v.data[1] & {"spd"}:  # make the point positive definite: a dominant diagonal
            for i in range(m.rows):
                point[m[i, i]] = sp.Integer(10)
    return symbols, point


def _is_zero(entry) -> bool:
    if entry.is_Rational:
        return entry == 0
    return abs(sp.N(entry, 60)) < sp.Float(10) ** -45


def _vec(m: sp.Matrix) -> sp.Matrix:
    return sp.Matrix(list(m.T))   # column-major


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]} / {c[1]}" + (" (order 2)" if len(c) > 2 else "") for c in CASES])
def test_closed_form_equals_entrywise_sympy(case):
    text, wrt, order = case if len(case) == 3 else (*case, 1)
    rng = np.random.default_rng(zlib.crc32(text.encode()))
    g = mc.derive(text, wrt, shapes=SHAPES, order=order)
    f, var = g.f, g.wrt
    symbols, point = _values(f.free_vars | {var}, rng)
    f_sym = to_sympy(f, symbols, SIZES)
    wrt_sym = symbols[var]
    if g.kind == "gradient":
        truth = wrt_sym.applyfunc(lambda s: sp.diff(f_sym[0, 0], s))
    else:
        target = wrt_sym.applyfunc(lambda s: sp.diff(f_sym[0, 0], s)) if g.kind == "hessian" else f_sym
        truth = _vec(target).jacobian(_vec(wrt_sym))   # ∂vec(F)/∂vec(X)ᵀ; the ordinary one for vectors
    ours = to_sympy(g._check_form, symbols, SIZES)
    assert ours.shape == truth.shape
    difference = (ours - truth).subs(point)
    bad = [e for e in difference if not _is_zero(e)]
    assert not bad, f"{g} differs from sympy: {bad[:3]}"


def test_exact_rational_arithmetic_in_constants():
    x = mc.vector("x", 2)
    g = mc.derive((x.T @ x) ** Fraction(1, 3), x)
    assert str(g) == "2 x / (3 (xᵀ x)^⅔)"
    assert E.walk(g.expr)  # built only from exact constants
    assert all(not isinstance(n.data, float) for n in E.walk(g.expr) if n.op == "const")
