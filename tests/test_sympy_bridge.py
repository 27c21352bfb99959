"""SymPy in, SymPy out: matcalc reads SymPy matrix expressions, writes its results as SymPy matrix
expressions in the user's MatrixSymbols, and the two directions agree."""
import numpy as np
import pytest
import sympy as sp
from sympy.printing.codeprinter import PrintMethodNotImplementedError

import matcalc as mc
from matcalc.sympy_bridge import from_sympy, to_sympy

n, m, N = sp.symbols("n m N")
x, a, b = (sp.MatrixSymbol(s, n, 1) for s in "xab")
y = sp.MatrixSymbol("y", m, 1)
A, B, X = (sp.MatrixSymbol(s, n, n) for s in "ABX")
W = sp.MatrixSymbol("W", m, n)
c = sp.Symbol("c")
SHAPES = {"x": "n", "a": "n", "b": "n", "y": "m", "A": "n,n", "B": "n,n", "X": "n,n", "W": "m,n", "c": ""}
ONES = sp.OneMatrix(1, n)


def sigmoid(t):
    return 1 / (1 + sp.exp(-t))


# the same function built with SymPy objects and written as a string; the variable
COOKBOOK = [
    (x.T * a, "x.T @ a", "x"),
    (x.T * A * x, "x.T @ A @ x", "x"),
    (a.T * X * b, "a.T @ X @ b", "X"),
    (a.T * X.T * b, "a.T @ X.T @ b", "X"),
    (sp.Trace(X), "trace(X)", "X"),
    (sp.Trace(A * X), "trace(A @ X)", "X"),
    (sp.Trace(A * X * B), "trace(A @ X @ B)", "X"),
    (sp.Trace(X.T * A), "trace(X.T @ A)", "X"),
    (sp.Trace(X * X), "trace(X @ X)", "X"),
    (sp.Trace(X.T * X), "trace(X.T @ X)", "X"),
    (sp.Determinant(X), "det(X)", "X"),
    (sp.log(sp.Determinant(X)), "logdet(X)", "X"),
    (sp.Trace(sp.Inverse(X)), "trace(inv(X))", "X"),
    (a.T * sp.Inverse(X) * b, "a.T @ inv(X) @ b", "X"),
    (sp.Trace(A * X.I * B), "trace(A @ inv(X) @ B)", "X"),
    ((W * x - y).T * (W * x - y), "(W @ x - y).T @ (W @ x - y)", "x"),
    ((W * x - y).T * (W * x - y), "(W @ x - y).T @ (W @ x - y)", "W"),
    (x.T * x, "x.T @ x", "x"),
    (sp.Trace(X ** 2), "trace(matrix_power(X, 2))", "X"),
    (sp.Trace(X ** 3), "trace(matrix_power(X, 3))", "X"),
    (sp.Trace(A * X.T * B * X), "trace(A @ X.T @ B @ X)", "X"),
    (x.T * A * x + b.T * x, "x.T @ A @ x + b.T @ x", "x"),
    (ONES * x.applyfunc(sp.exp), "sum(exp(x))", "x"),
    (ONES * (A * x).applyfunc(sp.log), "sum(log(A @ x))", "x"),
    (ONES * sp.HadamardProduct(x, x), "sum(x * x)", "x"),
    (ONES * sp.HadamardPower(x, 3), "sum(x ** 3)", "x"),
    (sp.log(sp.Determinant(X.T * X)), "logdet(X.T @ X)", "X"),
    (sp.Trace(sp.DiagMatrix(x) * A), "trace(diag(x) @ A)", "x"),
    (x.T * sp.DiagonalOf(A), "x.T @ diag(A)", "A"),
    (sp.Rational(1, 2) * (A * x - b).T * (A * x - b), "0.5 * (A @ x - b).T @ (A @ x - b)", "x"),
    (ONES * (A * x).applyfunc(sigmoid), "sum(sigmoid(A @ x))", "x"),
    (c * x.T * A * x, "c * x.T @ A @ x", "c"),
]
IDS = [t + " / " + w for _, t, w in COOKBOOK]


def _symbol(name):
    if name == "c":
        return c
    rows, _, cols = SHAPES[name].partition(",")
    return sp.MatrixSymbol(name, sp.Symbol(rows), sp.Symbol(cols) if cols else 1)


@pytest.mark.parametrize("built, text, wrt", COOKBOOK, ids=IDS)
def test_a_sympy_expression_and_its_string_derive_alike(built, text, wrt):
    from_objects = mc.derive(built, _symbol(wrt), SHAPES)
    from_string = mc.derive(text, wrt, SHAPES)
    assert from_objects.expr is from_string.expr, (str(from_objects), str(from_string))


SIZES = {"n": 3, "m": 2, "N": 4}


def _values(rng):
    values = {}
    for name, spec in SHAPES.items():
        dims = tuple(SIZES[d] for d in spec.split(",")) if spec else ()
        square = len(dims) == 2 and dims[0] == dims[1]
        values[name] = rng.standard_normal(dims) + (3 * np.eye(dims[0]) if square else 0) if dims else 1.7
    return values


@pytest.mark.parametrize("built, text, wrt", COOKBOOK, ids=IDS)
def test_lambdify_of_to_sympy_equals_the_generated_numpy(built, text, wrt):
    g = mc.derive(text, wrt, SHAPES)
    concrete = g.to_sympy().subs({sp.Symbol(k): v for k, v in SIZES.items()})
    symbols = sorted(concrete.free_symbols, key=lambda s: s.name)
    try:
        f = sp.lambdify(symbols, concrete, "numpy")
    except (PrintMethodNotImplementedError, SyntaxError):   # Trace, Determinant, HadamardPower, applyfunc
        pytest.skip("SymPy cannot evaluate this form (its numpy printer has none)")
    values = _values(np.random.default_rng(0))
    as_sympy = {k: (v.reshape(-1, 1) if np.ndim(v) == 1 else v) for k, v in values.items()}
    got = np.asarray(f(*[as_sympy[s.name] for s in symbols]), dtype=float)
    numpy = g.to_numpy()
    want = np.asarray(numpy(**{k: v for k, v in values.items() if k in numpy.accepts}), dtype=float)
    np.testing.assert_allclose(got.reshape(want.shape), want, rtol=1e-9, atol=1e-12)


ROUND_TRIP = ["x", "A", "c", "2.5 * x", "x + a", "x.T", "A @ x", "x * a", "x ** 3", "inv(A)", "det(A)", "logdet(A)",
              "trace(A)", "sum(A)", "diag(x)", "diag(A)", "eye(n) + A", "ones(n) + x", "matrix_power(A, 3)",
              "c * x", "(x.T @ a) * b",
              *[f"{name}(x)" for name in ("exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "softplus", "abs",
                                          "sign", "sinh", "cosh", "arcsin", "arccos", "arctan", "log1p", "expm1",
                                          "erf", "normcdf", "normpdf", "gelu", "silu", "sqrt", "relu", "step")]]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_every_operation_sympy_can_express_round_trips(text):
    e = mc.parse(text, SHAPES)
    assert from_sympy(to_sympy(e), SHAPES) is e


def test_what_sympy_cannot_express_is_refused_clearly():
    with pytest.raises(mc.MatcalcError, match="no SymPy form"):
        to_sympy(mc.parse("softmax(x)", SHAPES))
    with pytest.raises(mc.MatcalcError, match="KroneckerProduct"):
        from_sympy(sp.KroneckerProduct(A, B))
    with pytest.raises(mc.MatcalcError, match="no matrix form"):
        mc.derive("softmax(W @ x)", "W", SHAPES).to_sympy()


def test_properties_come_from_shapes_by_symbol_name_and_claims_may_be_sympy():
    S = sp.MatrixSymbol("S", n, n)
    shapes = {"S": "n,n:spd", "A": "n,n"}
    g = mc.derive(sp.log(sp.Determinant(S)) + sp.Trace(S * A), S, shapes)
    assert g.expr is mc.derive("logdet(S) + trace(S @ A)", "S", shapes).expr
    assert mc.verify(x.T * A * x, x, 2 * A * x).category == "missing-term"


def test_hessians_and_hessian_vector_products_of_sympy_expressions():
    v = sp.MatrixSymbol("v", n, 1)
    assert mc.hessian(x.T * A * x, x).expr is mc.hessian("x.T @ A @ x", "x", SHAPES).expr
    assert str(mc.hvp(x.T * A * x, x, v)) == "(A + Aᵀ) v"
