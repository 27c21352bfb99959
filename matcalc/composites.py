"""Operations users call by name that are formulas in the engine's own operations.

Each is built from nodes the engine already differentiates, prints and compiles, so that its
derivative, its Hessian and its code come from theirs:

    sum(X, axis=0) = 𝟏ᵀ X  (1×n, the column sums)      sum(X, axis=1) = X 𝟏  (m×1, the row sums)
    mean(X) = sum(X) / (m n)                          mean(X, axis=k) = sum(X, axis=k) / (size of axis k)
    logsumexp(X, axis=k) = log(sum(exp(X), axis=k))
    softmax(X) = exp(X) ⊙ sum(exp(X))⁻¹ over all entries of a matrix (along an axis, and for
    a vector, softmax is a node of its own: stable code, and its own differential)
    log_softmax(X) = X − logsumexp(X)
    solve(A, B) = A⁻¹ B                               matrix_power(X, k) = Xᵏ

Axes follow numpy for a 2-D array, with keepdims: axis 0 runs down the rows (one result per
column), axis 1 along a row (one per row); ``-1`` is axis 1 and ``-2`` axis 0. Without an axis
the operation covers all entries.
"""
from __future__ import annotations

from . import expr as E
from .errors import MatcalcError, ShapeError
from .shapes import shape_text


def normal_axis(axis, name: str):
    """``axis`` as 0, 1 or ``None`` (all entries); anything else is an error naming ``name``."""
    if axis is None:
        return None
    if isinstance(axis, bool) or not isinstance(axis, int) or axis not in (-2, -1, 0, 1):
        raise MatcalcError(f"{name}: axis must be 0, 1, -1 or -2 (matrices have two axes), got {axis!r}")
    return axis % 2


def sum_along(x: E.Expr, axis=None) -> E.Expr:
    """The sum of all entries, or along an axis with keepdims: ``𝟏ᵀ X`` (axis 0), ``X 𝟏`` (axis 1)."""
    x = E.as_expr(x)
    axis = normal_axis(axis, "sum")
    if axis is None:
        return E.sum_all(x)
    if axis == 0:
        return E.matmul(E.ones((1, x.shape[0])), x)
    return E.matmul(x, E.ones((x.shape[1], 1)))


def _count(x: E.Expr, axis) -> E.Expr:
    """How many entries one result of a reduction along ``axis`` covers, as a scalar."""
    rows, cols = E.dim_value(x.shape[0]), E.dim_value(x.shape[1])
    return E.mul(rows, cols) if axis is None else (rows if axis == 0 else cols)


def mean(x: E.Expr, axis=None) -> E.Expr:
    """The mean of all entries, or along an axis (keepdims)."""
    x = E.as_expr(x)
    axis = normal_axis(axis, "mean")
    return E.mul(E.power(_count(x, axis), E.const(-1)), sum_along(x, axis))


def logsumexp(x: E.Expr, axis=None) -> E.Expr:
    """``log Σ exp``: over all entries, or along an axis (keepdims)."""
    x = E.as_expr(x)
    return E.function("log", sum_along(E.function("exp", x), normal_axis(axis, "logsumexp")))


def _node_form(x: E.Expr, axis) -> bool:
    """Whether softmax of ``x`` is the softmax node: along an axis, or over a whole vector (not
    over all the entries of a matrix, which is the formula)."""
    return axis is not None or x.shape[0] == 1 or x.shape[1] == 1


def softmax(x: E.Expr, axis=None) -> E.Expr:
    """``exp(X) / Σ exp(X)``: over all entries, or along an axis (each column for axis 0, each
    row for axis 1). Along a whole vector it is the softmax node (stable code, its own rule)."""
    x = E.as_expr(x)
    axis = normal_axis(axis, "softmax")
    if _node_form(x, axis):
        return E.softmax(x, axis)
    e = E.function("exp", x)
    return E.mul(e, E.power(sum_along(e, axis), E.const(-1)))


def log_softmax(x: E.Expr, axis=None) -> E.Expr:
    """``X − logsumexp(X)``: over all entries, or along an axis (keepdims, broadcast back)."""
    x = E.as_expr(x)
    axis = normal_axis(axis, "log_softmax")
    if _node_form(x, axis):
        return E.log_softmax(x, axis)
    return E.add(x, E.neg(logsumexp(x, axis)))


def solve(a: E.Expr, b: E.Expr) -> E.Expr:
    """``A⁻¹ B`` for a square invertible ``A`` (the generated code solves, never inverts)."""
    a, b = E.as_expr(a), E.as_expr(b)
    if a.shape[0] != a.shape[1]:
        raise ShapeError(f"solve(A, B) needs a square A, got {shape_text(a.shape)}")
    if b.shape[0] != a.shape[1]:
        raise ShapeError(f"solve(A, B): A is {shape_text(a.shape)} and B {shape_text(b.shape)}; "
                         f"B needs {a.shape[1]} rows")
    return E.matmul(E.inv(a), b)


def matrix_power(x: E.Expr, k) -> E.Expr:
    """``Xᵏ`` for an integer ``k`` (a number, not an expression): one node whatever ``k`` is."""
    if isinstance(k, E.Expr):
        if k.op != "const" or k.data != int(k.data):
            raise MatcalcError(f"matrix_power(X, k) needs an integer k, got {k}")
        k = int(k.data)
    return E.matpow(E.as_expr(x), k)
