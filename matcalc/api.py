"""The public constructors: variables, constants and the functions users call by name."""
from __future__ import annotations

from . import expr as E
from .errors import MatcalcError, ShapeError
from .limits import guarded
from .ops import FUNCTIONS
from .parse import build_expression
from .shapes import SCALAR, parse_dim, parse_dims, shape_text

PROPERTIES = ("symmetric", "spd", "positive", "invertible", "simplex", "onehot", "orthogonal", "lower",
              "diagonal")
ORIENTED = ("simplex", "onehot")   # True: the vector, or each column of a matrix; "rows": each row
SQUARE_ONLY = ("symmetric", "spd", "invertible", "lower", "diagonal")


class PropertyError(MatcalcError, TypeError):
    """An unknown or inconsistent variable property (also a ``TypeError``, as for a bad keyword)."""


def _props(name: str, shape, given: dict) -> frozenset:
    """The property names of a variable from keyword flags: ``symmetric=True``, ``simplex="rows"``
    (stored as ``simplex_rows``; ``simplex_rows=True`` is the same), ``onehot=True`` (a simplex of
    0/1 entries: it implies ``simplex`` in the same orientation)."""
    given = dict(given)
    for p in ORIENTED:   # simplex_rows=True (as the command line writes it) is simplex="rows"
        if given.pop(p + "_rows", False):
            given[p] = "rows"
    unknown = sorted(set(given) - set(PROPERTIES))
    if unknown:
        raise PropertyError(f"unknown propert{'y' if len(unknown) == 1 else 'ies'} "
                            f"{', '.join(unknown)} for {name!r}; known: {', '.join(PROPERTIES)}")
    props = set()
    for p, value in given.items():
        if value in ("rows", "columns") and p in ORIENTED:
            if value == "rows" and shape[0] != 1 and shape[1] == 1:
                raise PropertyError(f"{name!r} is a column: {p}='rows' is for a matrix (each row) or a row vector")
            props.add(p + "_rows" if value == "rows" else p)
        elif isinstance(value, bool) or value in (0, 1):
            if value:   # a row vector is a distribution along its one row
                row = p in ORIENTED and shape[0] == 1 and shape[1] != 1
                props.add(p + "_rows" if row else p)
        else:
            raise PropertyError(f"{p}={value!r} for {name!r}: give True or False"
                                + (" (or 'rows')" if p in ORIENTED else ""))
    square = sorted(props & set(SQUARE_ONLY))
    if square and shape[0] != shape[1]:
        raise PropertyError(f"{name!r} is {shape[0]}×{shape[1]}: only a square matrix can be {' or '.join(square)}")
    if "orthogonal" in props and isinstance(shape[0], int) and isinstance(shape[1], int) and shape[0] < shape[1]:
        raise PropertyError(f"{name!r} is {shape[0]}×{shape[1]}: orthonormal columns (QᵀQ = I) need rows ≥ columns")
    if "spd" in props:
        props |= {"symmetric", "invertible"}
    for p in ("onehot", "onehot_rows"):   # one-hot columns (rows) are distributions
        if p in props:
            props.add(p.replace("onehot", "simplex"))
    return frozenset(props)


def check_name(name) -> str:
    """A variable name: a plain identifier, not a dunder."""
    if not isinstance(name, str) or not name.isidentifier() or name.startswith("__"):
        raise MatcalcError(f"a variable name must be a plain identifier, got {name!r}")
    return name


def check_distinct(variables) -> None:
    """Refuse two different variables with one name (``x`` of n×1 and of m×1, a plain and a
    symmetric ``X``): inputs are given by name, so they could not be told apart."""
    seen: dict = {}
    for v in sorted(variables, key=lambda v: v.key):
        other = seen.setdefault(v.name, v)
        if other is not v:
            raise MatcalcError(f"two different variables are named {v.name!r}: {_described(other)} and "
                               f"{_described(v)}; give them different names")


def _described(v: E.Expr) -> str:
    props = sorted(v.props - {"invertible"} if "spd" in v.props else v.props)
    return shape_text(v.shape) + "".join(f", {p}" for p in props)


def vector(name: str, dim, **props) -> E.Expr:
    """A column vector ``dim×1``; ``dim`` is an int or a name like ``"n"``."""
    shape = (parse_dim(dim, f" for {name!r}"), 1)
    return E.variable(check_name(name), shape, _props(name, shape, props))


def matrix(name: str, rows, cols, **props) -> E.Expr:
    """A ``rows×cols`` matrix. Properties: ``symmetric``, ``spd``, ``positive``, ``invertible``."""
    shape = (parse_dim(rows, f" for {name!r}"), parse_dim(cols, f" for {name!r}"))
    return E.variable(check_name(name), shape, _props(name, shape, props))


def scalar(name: str, **props) -> E.Expr:
    return E.variable(check_name(name), SCALAR, _props(name, SCALAR, props))


def eye(n) -> E.Expr:
    """The ``n×n`` identity."""
    return E.eye(parse_dim(n))


def ones(rows, cols=1) -> E.Expr:
    """A vector (``ones(n)``) or matrix (``ones(n, m)``) of ones."""
    return E.ones((parse_dim(rows), parse_dim(cols)))


@guarded
def parse(text: str, shapes: dict | None = None, syntax: str = "numpy", shape=None) -> E.Expr:
    """An expression from a string; ``shapes`` as in ``derive``; ``syntax`` ``"numpy"``,
    ``"matlab"`` or ``"latex"``. ``shape`` (a pair of dims): the shape of the expression, for
    the dims its text leaves open (``2 I``, ``c 𝟏``: a derivative printed and read back)."""
    from .derivative import make_variables
    expected = parse_dims(shape) if isinstance(shape, str) else tuple(shape) if shape is not None else None
    return build_expression(text, make_variables(shapes), syntax, shape=expected)


def _user_function(name):
    function = FUNCTIONS[name]
    build = function.build
    if function.binary:
        def call(a, b):
            return build(E.as_expr(a), b if function.signature == "matrix_power" else E.as_expr(b))
    elif function.axis:
        def call(x, axis=None):
            return build(E.as_expr(x), axis=axis)
    else:
        def call(x):
            return build(E.as_expr(x))
    call.__name__ = name
    call.__doc__ = function.summary
    return call


exp, log, sin, cos, tan, tanh = (_user_function(n) for n in ("exp", "log", "sin", "cos", "tan", "tanh"))
sigmoid, relu, softplus, sqrt = (_user_function(n) for n in ("sigmoid", "relu", "softplus", "sqrt"))
step, sign = _user_function("step"), _user_function("sign")
sinh, cosh, arcsin, arccos, arctan = (_user_function(n) for n in ("sinh", "cosh", "arcsin", "arccos", "arctan"))
log1p, expm1, erf, normcdf, normpdf = (_user_function(n) for n in ("log1p", "expm1", "erf", "normcdf", "normpdf"))
gelu, silu = _user_function("gelu"), _user_function("silu")
sum, trace, det, logdet, inv = (_user_function(n) for n in ("sum", "trace", "det", "logdet", "inv"))
mean, logsumexp = _user_function("mean"), _user_function("logsumexp")
diag, norm2, softmax, log_softmax = (_user_function(n) for n in ("diag", "norm2", "softmax", "log_softmax"))
solve, kron, matrix_power = (_user_function(n) for n in ("solve", "kron", "matrix_power"))
pinv, expm, cholesky, eigvalsh = (_user_function(n) for n in ("pinv", "expm", "cholesky", "eigvalsh"))
abs = _user_function("abs")

__all__ = ["PropertyError", "ShapeError", "vector", "matrix", "scalar", "eye", "ones", "parse",
           "exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "softplus", "sqrt", "step",
           "sign", "sinh", "cosh", "arcsin", "arccos", "arctan", "log1p", "expm1", "erf", "normcdf",
           "normpdf", "gelu", "silu", "sum", "mean", "logsumexp", "trace", "det", "logdet", "inv", "diag",
           "norm2", "softmax", "log_softmax", "solve", "kron", "matrix_power", "pinv", "expm", "cholesky",
           "eigvalsh", "abs"]


def declared(name: str, spec: str) -> E.Expr:
    """A variable from its declaration ``DIMS[:PROP,PROP]`` as the command line and the web page
    write it: ``"n"`` (a vector), ``"n,m"`` (a matrix), ``"1,n"`` (a row), ``""`` (a scalar),
    ``"n,n:symmetric"``."""
    if not isinstance(spec, str):
        raise MatcalcError(f"the shape of {name!r} must be a string like 'n,m', got {type(spec).__name__}")
    dims, _, props = spec.partition(":")
    flags = {p.strip(): True for p in props.split(",") if p.strip()}
    shape = parse_dims(dims, f" for {name!r}")
    if shape == SCALAR:
        return scalar(name, **flags)
    if shape[1] == 1 and "," not in dims:
        return vector(name, shape[0], **flags)
    return matrix(name, shape[0], shape[1], **flags)
