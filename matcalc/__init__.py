"""matcalc: symbolic matrix calculus with textbook results.

>>> import matcalc as mc
>>> x, A = mc.vector("x", "n"), mc.matrix("A", "n", "n")
>>> print(mc.derive(x.T @ A @ x, x))
(A + Aᵀ) x
"""
from .api import (
    PropertyError,
    abs,
    arccos,
    arcsin,
    arctan,
    cholesky,
    cos,
    cosh,
    det,
    diag,
    eigvalsh,
    erf,
    exp,
    expm,
    expm1,
    eye,
    gelu,
    inv,
    kron,
    log,
    log1p,
    log_softmax,
    logdet,
    logsumexp,
    matrix,
    matrix_power,
    mean,
    norm2,
    normcdf,
    normpdf,
    ones,
    parse,
    pinv,
    relu,
    scalar,
    sigmoid,
    sign,
    silu,
    sin,
    sinh,
    softmax,
    softplus,
    solve,
    sqrt,
    step,
    sum,
    tan,
    tanh,
    trace,
    vector,
)
from .check import CheckReport
from .derivative import Derivative, Derivatives, derive, hvp
from .errors import (
    InternalError,
    LimitError,
    MatcalcError,
    NotSupportedError,
    ParseError,
    RuleError,
    ShapeError,
    UnknownNameError,
    UnsupportedDerivativeError,
)
from .expr import Expr
from .verify import Verdict, verify

__version__ = "0.1.0"


def hessian(f, wrt, shapes=None, **options) -> Derivative:
    """The Hessian of a scalar ``f`` w.r.t. a vector: ``derive(f, wrt, order=2)``."""
    if "order" in options:
        raise MatcalcError("hessian() is derive(..., order=2): it takes no order")
    return derive(f, wrt, shapes, order=2, **options)


__all__ = [
    "CheckReport", "Derivative", "Derivatives", "Expr", "InternalError", "LimitError",
    "MatcalcError", "NotSupportedError", "ParseError", "PropertyError", "RuleError", "ShapeError",
    "UnknownNameError", "UnsupportedDerivativeError", "Verdict", "abs", "arccos", "arcsin",
    "arctan", "cholesky", "cos", "cosh", "derive", "det", "diag", "eigvalsh", "erf", "exp", "expm",
    "expm1", "eye", "gelu", "hessian", "hvp", "inv", "kron", "log", "log1p", "log_softmax",
    "logdet", "logsumexp", "matrix", "matrix_power", "mean", "norm2", "normcdf", "normpdf", "ones",
    "parse", "pinv", "relu", "scalar", "sigmoid", "sign", "silu", "sin", "sinh", "softmax",
    "softplus", "solve", "sqrt", "step", "sum", "tan", "tanh", "trace", "vector", "verify",
]
