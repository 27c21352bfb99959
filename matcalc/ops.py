"""The table of operations: what each one is called, how it is built, its shape rule, its
numeric form and the inputs it is checked on.

``OPERATIONS`` lists every node kind an expression can contain (``Expr.op``; elementwise
functions as ``"fn:NAME"``). The coverage test walks it: every operation must have a derivative
(a rule in ``rules/``; for the linear and multilinear ones, the engine's generic rule; for the
matrix power, whose differential has as many terms as its exponent, the engine's code), a
printer entry in each printer, a numpy form, and an input domain for random checks.

``FUNCTIONS`` maps the names users type (in strings and as ``mc.NAME``) to constructors and to
the shape rule the parser's inference uses.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from . import composites as C
from . import expr as E


@dataclass(frozen=True)
class Operation:
    """One node kind. ``derivative``: "linear", "multilinear", "rule" (a ``d-`` rule in
    ``rules/``), "engine" (code in ``diff``, where no rule can say it) or "constant"; ``domain``:
    the inputs it is checked on (see ``check``)."""
    key: str
    derivative: str
    domain: str = "any"


OPERATIONS = {op.key: op for op in [
    Operation("var", "constant"), Operation("const", "constant"), Operation("dim", "constant"),
    Operation("zero", "constant"), Operation("ones", "constant"), Operation("eye", "constant"),
    Operation("commutation", "constant"), Operation("lower_half", "constant"), Operation("vec", "linear"),
    Operation("unvec", "linear"),
    Operation("add", "linear"), Operation("T", "linear"), Operation("trace", "linear"),
    Operation("sum", "linear"), Operation("diag", "linear"), Operation("diagvec", "linear"),
    Operation("mul", "multilinear"), Operation("matmul", "multilinear"),
    Operation("kron", "multilinear"), Operation("kron_blocksum", "multilinear"),
    Operation("kron_blockdot", "multilinear"),
    Operation("pow", "rule", "positive"),
    Operation("inv", "rule", "invertible"), Operation("det", "rule", "invertible"),
    Operation("matpow", "engine", "invertible"),
    Operation("pinv", "rule"), Operation("expm", "engine"), Operation("expm_frechet", "engine"),
    Operation("cholesky", "engine", "spd"), Operation("eigvalsh", "engine", "symmetric"),
    Operation("eigvecsh", "engine", "symmetric"),
    Operation("logdet", "rule", "invertible"), Operation("norm2", "rule", "nonzero"),
    Operation("softmax", "rule"), Operation("log_softmax", "rule"),
    Operation("softmax:0", "rule"), Operation("softmax:1", "rule"),
    Operation("log_softmax:0", "rule"), Operation("log_softmax:1", "rule"),
    Operation("fn:exp", "rule"), Operation("fn:log", "rule", "positive"),
    Operation("fn:sin", "rule"), Operation("fn:cos", "rule"), Operation("fn:tan", "rule", "small"),
    Operation("fn:tanh", "rule"), Operation("fn:sigmoid", "rule"),
    Operation("fn:relu", "rule", "nonzero"), Operation("fn:softplus", "rule"),
    Operation("fn:abs", "rule", "nonzero"), Operation("fn:step", "rule", "nonzero"),
    Operation("fn:sign", "rule", "nonzero"),
    Operation("fn:sinh", "rule"), Operation("fn:cosh", "rule"), Operation("fn:arcsin", "rule", "small"),
    Operation("fn:arccos", "rule", "small"), Operation("fn:arctan", "rule"),
    Operation("fn:log1p", "rule", "positive"), Operation("fn:expm1", "rule"), Operation("fn:erf", "rule"),
    Operation("fn:normcdf", "rule"), Operation("fn:normpdf", "rule"), Operation("fn:gelu", "rule"),
    Operation("fn:silu", "rule"),
]}


def operation_key(e: E.Expr) -> str:
    """``fn:NAME`` for an elementwise function, ``softmax:0`` for a softmax along an axis, else the op."""
    if e.op == "fn":
        return f"fn:{e.data}"
    if e.op in ("softmax", "log_softmax") and e.data is not None:
        return f"{e.op}:{e.data}"
    return e.op


@dataclass(frozen=True)
class Function:
    """A function users can call by name. ``signature`` is the shape rule:

    ``elementwise`` same shape; ``reduce`` anything to a scalar (along an axis: a row or a
    column); ``square-scalar`` a square matrix to a scalar; ``square`` a square matrix to one
    of the same shape; ``vector`` a vector to one of the same shape (a matrix with ``axis=``, or
    over all its entries); ``diag`` a vector to a square matrix or a square matrix to a vector;
    ``dims`` takes dimensions, not expressions (``eye(n)``, ``ones(n, m)``); ``solve``,
    ``kron`` and ``matrix_power`` take two arguments; ``pinv`` transposes the shape; ``eigvalsh``
    takes a square matrix to a column.
    """
    name: str
    build: object
    signature: str
    summary: str
    axis: bool = False   # takes axis= (0, 1; keepdims), see ``composites``

    @property
    def binary(self) -> bool:
        """Whether it takes two arguments (``solve(A, B)``, ``kron(A, B)``, ``matrix_power(X, k)``)."""
        return self.signature in ("solve", "kron", "matrix_power")


def _sqrt(x):
    return E.power(x, E.const(Fraction(1, 2)))


def _elementwise(name):
    return lambda x: E.function(name, x)


FUNCTIONS = {f.name: f for f in [
    Function("exp", _elementwise("exp"), "elementwise", "exponential, elementwise"),
    Function("log", _elementwise("log"), "elementwise", "natural logarithm, elementwise"),
    Function("sin", _elementwise("sin"), "elementwise", "sine, elementwise"),
    Function("cos", _elementwise("cos"), "elementwise", "cosine, elementwise"),
    Function("tan", _elementwise("tan"), "elementwise", "tangent, elementwise"),
    Function("tanh", _elementwise("tanh"), "elementwise", "hyperbolic tangent, elementwise"),
    Function("sigmoid", _elementwise("sigmoid"), "elementwise", "logistic σ(x) = 1/(1 + e⁻ˣ)"),
    Function("relu", _elementwise("relu"), "elementwise", "max(x, 0), elementwise"),
    Function("softplus", _elementwise("softplus"), "elementwise", "log(1 + eˣ), elementwise"),
    Function("abs", _elementwise("abs"), "elementwise", "absolute value, elementwise"),
    Function("step", _elementwise("step"), "elementwise", "1 where x > 0, else 0 (relu')"),
    Function("sign", _elementwise("sign"), "elementwise", "sign of x, elementwise (abs')"),
    Function("sqrt", _sqrt, "elementwise", "square root, elementwise (x ** 0.5)"),
    Function("sinh", _elementwise("sinh"), "elementwise", "hyperbolic sine, elementwise"),
    Function("cosh", _elementwise("cosh"), "elementwise", "hyperbolic cosine, elementwise"),
    Function("arcsin", _elementwise("arcsin"), "elementwise", "inverse sine, elementwise (|x| < 1)"),
    Function("arccos", _elementwise("arccos"), "elementwise", "inverse cosine, elementwise (|x| < 1)"),
    Function("arctan", _elementwise("arctan"), "elementwise", "inverse tangent, elementwise"),
    Function("log1p", _elementwise("log1p"), "elementwise", "log(1 + x), elementwise (x > −1)"),
    Function("expm1", _elementwise("expm1"), "elementwise", "eˣ − 1, elementwise"),
    Function("erf", _elementwise("erf"), "elementwise", "the error function, elementwise"),
    Function("normcdf", _elementwise("normcdf"), "elementwise", "Φ(x), the standard normal cdf, elementwise"),
    Function("normpdf", _elementwise("normpdf"), "elementwise", "φ(x), the standard normal density, elementwise"),
    Function("gelu", _elementwise("gelu"), "elementwise", "x Φ(x) (the exact GELU), elementwise"),
    Function("silu", _elementwise("silu"), "elementwise", "x σ(x) (SiLU, swish), elementwise"),
    Function("sum", C.sum_along, "reduce", "sum of all entries, or along an axis (keepdims)", axis=True),
    Function("mean", C.mean, "reduce", "mean of all entries, or along an axis (keepdims)", axis=True),
    Function("logsumexp", C.logsumexp, "reduce", "log Σ exp, of all entries or along an axis", axis=True),
    Function("norm2", E.norm2, "reduce", "Euclidean norm of a vector, Frobenius norm of a matrix"),
    Function("trace", E.trace, "square-scalar", "trace of a square matrix"),
    Function("det", E.det, "square-scalar", "determinant"),
    Function("logdet", E.logdet, "square-scalar", "log |det X|"),
    Function("inv", E.inv, "square", "matrix inverse"),
    Function("pinv", E.pinv, "pinv", "Moore–Penrose pseudo-inverse (of a full-rank matrix)"),
    Function("expm", E.expm, "square", "matrix exponential"),
    Function("cholesky", E.cholesky, "square", "lower Cholesky factor L (L Lᵀ = S, of the symmetric part of S)"),
    Function("eigvalsh", E.eigvalsh, "eigvalsh", "eigenvalues of a symmetric matrix, ascending, as a column"),
    Function("vec", E.vec, "vec", "the columns of a matrix stacked into one vector"),
    Function("diag", E.diag, "diag", "vector -> diagonal matrix; square matrix -> its diagonal"),
    Function("softmax", C.softmax, "vector", "softmax of a vector; of a matrix along an axis", axis=True),
    Function("log_softmax", C.log_softmax, "vector", "log of the softmax (of a vector, or along an axis)",
             axis=True),
    Function("solve", C.solve, "solve", "solve(A, B) = A⁻¹ B, without forming the inverse"),
    Function("kron", E.kron, "kron", "Kronecker product"),
    Function("matrix_power", C.matrix_power, "matrix_power", "matrix_power(X, k) = Xᵏ for an integer k"),
    Function("eye", E.eye, "dims", "eye(n): the n×n identity"),
    Function("ones", None, "dims", "ones(n) a vector of ones, ones(n, m) a matrix of ones"),
]}
