"""Expressions as explicit sympy matrices, for exact checks at small concrete sizes.

``to_sympy(expr, values)`` evaluates an expression with every variable given as an explicit
sympy ``Matrix`` (a scalar as a ``1×1`` matrix); every value is a ``Matrix``. ``symbols_for``
makes a matrix of symbols for a variable, symmetric where the variable is.
"""
from __future__ import annotations

from fractions import Fraction

import sympy as sp

from .. import expr as E
from ..shapes import resolve_dim

# matcalc's elementwise functions as SymPy functions of a scalar (those SymPy has, as themselves)
SCALAR_FUNCTIONS = {
    "exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan, "tanh": sp.tanh,
    "sigmoid": lambda z: 1 / (1 + sp.exp(-z)), "relu": lambda z: sp.Max(z, 0),
    "softplus": lambda z: sp.log(1 + sp.exp(z)), "abs": sp.Abs,
    "step": lambda z: sp.Heaviside(z, 0), "sign": sp.sign,
    "sinh": sp.sinh, "cosh": sp.cosh, "arcsin": sp.asin, "arccos": sp.acos, "arctan": sp.atan,
    "log1p": lambda z: sp.log(1 + z), "expm1": lambda z: sp.exp(z) - 1, "erf": sp.erf,
    "normcdf": lambda z: (1 + sp.erf(z / sp.sqrt(2))) / 2,
    "normpdf": lambda z: sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi),
    "gelu": lambda z: z * (1 + sp.erf(z / sp.sqrt(2))) / 2, "silu": lambda z: z / (1 + sp.exp(-z)),
}


def symbols_for(v: E.Expr, sizes: dict) -> sp.Matrix:
    """A matrix of real symbols named after ``v`` (``x_0_1``); symmetric if ``v`` is."""
    rows, cols = (resolve_dim(d, sizes) for d in v.shape)
    props = v.data[1]
    positive = "positive" in props
    symmetric = bool(props & {"symmetric", "spd"})

    def entry(i, j):
        if symmetric and j < i:
            i, j = j, i
        return sp.Symbol(f"{v.name}_{i}_{j}", real=True, positive=positive or None)
    return sp.Matrix(rows, cols, entry)


def _number(value, digits: int | None = None):
    if isinstance(value, Fraction):
        exact = sp.Rational(value.numerator, value.denominator)
        return exact if digits is None else sp.Float(exact, digits)
    return sp.Float(value) if digits is None else sp.Float(value, digits)


def _broadcast(m: sp.Matrix, shape) -> sp.Matrix:
    if m.shape == shape:
        return m
    rows, cols = shape
    return sp.Matrix(rows, cols, lambda i, j: m[i if m.rows > 1 else 0, j if m.cols > 1 else 0])


def _elementwise(ms, shape, combine) -> sp.Matrix:
    ms = [_broadcast(m, shape) for m in ms]
    return sp.Matrix(shape[0], shape[1], lambda i, j: combine([m[i, j] for m in ms]))


def to_sympy(e: E.Expr, values: dict, sizes: dict, digits: int | None = None) -> sp.Matrix:
    """``e`` as an explicit matrix; ``values`` maps each variable to a sympy ``Matrix``. With
    ``digits``, constants are floats of that precision too (so that ``sin(3/2)`` nested in itself
    is a number, not an exact form that doubles with each level)."""
    memo: dict = {}
    for node in E.walk(e):
        memo[node] = _evaluate(node, [memo[a] for a in node.args], values, sizes, digits)
    return memo[e]


def _evaluate(e: E.Expr, args, values, sizes, digits=None) -> sp.Matrix:
    op = e.op
    shape = tuple(resolve_dim(d, sizes) for d in e.shape)
    if op == "var":
        return values[e]
    if op == "const":
        return sp.Matrix([[_number(e.data, digits)]])
    if op == "dim":
        return sp.Matrix([[sp.Integer(sizes[e.data])]])
    if op == "zero":
        return sp.zeros(*shape)
    if op == "ones":
        return sp.ones(*shape)
    if op == "eye":
        return sp.eye(shape[0])
    if op == "add":
        return _elementwise(args, shape, sp.Add.fromiter)
    if op == "mul":
        return _elementwise(args, shape, sp.Mul.fromiter)
    if op == "matmul":
        out = args[0]
        for a in args[1:]:
            out = out * a
        return out
    if op == "pow":
        p = args[1][0, 0]
        return args[0].applyfunc(lambda z: z ** p)
    if op == "T":
        return args[0].T
    if op == "fn":
        return args[0].applyfunc(SCALAR_FUNCTIONS[e.data])
    if op == "inv":
        return args[0].inv()
    if op == "pinv":
        return args[0].pinv()
    if op == "cholesky":
        return args[0].cholesky(hermitian=False)
    if op == "lower_half":
        return sp.Matrix(shape[0], shape[1], lambda i, j: 1 if i > j else (sp.Rational(1, 2) if i == j else 0))
    if op == "matpow":   # a negative power is a power of the inverse
        return args[0] ** e.data
    if op == "det":
        return sp.Matrix([[args[0].det()]])
    if op == "logdet":
        return sp.Matrix([[sp.log(sp.Abs(args[0].det()))]])
    if op == "trace":
        return sp.Matrix([[args[0].trace()]])
    if op == "sum":
        return sp.Matrix([[sum(args[0])]])
    if op == "norm2":
        return sp.Matrix([[sp.sqrt(sum(z ** 2 for z in args[0]))]])
    if op == "diag":
        return sp.diag(*list(args[0]))
    if op == "diagvec":
        return sp.Matrix([args[0][i, i] for i in range(args[0].rows)])
    if op in ("softmax", "log_softmax") and e.data is not None:   # each column (axis 0) or row (1)
        z = args[0] if e.data == 0 else args[0].T
        parts = [_evaluate(E.softmax(E.variable("z", (z.rows, 1)), None) if op == "softmax" else
                           E.log_softmax(E.variable("z", (z.rows, 1)), None), [z[:, j]], values, sizes, digits)
                 for j in range(z.cols)]
        out = sp.Matrix.hstack(*parts)
        return out if e.data == 0 else out.T
    if op in ("softmax", "log_softmax"):
        z = args[0]
        total = sum(sp.exp(v) for v in z)
        if op == "softmax":
            return z.applyfunc(lambda v: sp.exp(v) / total)
        return z.applyfunc(lambda v: v - sp.log(total))
    if op in ("kron_blocksum", "kron_blockdot"):   # by blocks of S
        if op == "kron_blocksum":
            a, s = args
            r, c = s.rows // a.rows, s.cols // a.cols
            blocks = (a[i, j] * s[i * r:(i + 1) * r, j * c:(j + 1) * c] for i in range(a.rows) for j in range(a.cols))
            return sum(blocks, sp.zeros(r, c))
        s, d = args
        p_, q_ = s.rows // d.rows, s.cols // d.cols
        return sp.Matrix(p_, q_, lambda i, j: sum(
            (s[i * d.rows:(i + 1) * d.rows, j * d.cols:(j + 1) * d.cols].multiply_elementwise(d)), 0))
    if op == "kron":
        return sp.kronecker_product(args[0], args[1])
    if op == "vec":
        return sp.Matrix(list(args[0].T))
    if op == "unvec":
        return args[0].reshape(shape[1], shape[0]).T
    if op == "commutation":
        m, n = (resolve_dim(d, sizes) for d in e.data)
        k = sp.zeros(m * n, m * n)
        for i in range(m):
            for j in range(n):
                k[i * n + j, j * m + i] = 1
        return k
    raise NotImplementedError(op)
