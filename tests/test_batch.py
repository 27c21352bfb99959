"""Batch forms and the operations built from the engine's own (``matcalc.composites``): reductions
along an axis, mean, logsumexp, softmax along an axis, solve, matrix_power, kron. Values are
compared with numpy/scipy, derivatives with finite differences (``check``) and with the closed
forms textbooks give."""
import numpy as np
import pytest
from scipy import special

import matcalc as mc
from matcalc.errors import MatcalcError, ParseError, ShapeError
from matcalc.parse import parse, unparse

SHAPES = {"X": "m,n", "T": "m,n", "x": "n", "S": "n,n", "B": "n,p", "W": "n,m"}
RNG = np.random.default_rng(3)
VALUES = {"X": RNG.standard_normal((4, 3)), "T": RNG.standard_normal((4, 3)), "x": RNG.standard_normal((3, 1)),
          "S": RNG.standard_normal((3, 3)) + 4 * np.eye(3), "B": RNG.standard_normal((3, 2))}

# the string, and what numpy says it is
VALUE_CASES = [
    ("sum(X, axis=0)", lambda v: v["X"].sum(axis=0, keepdims=True)),
    ("sum(X, axis=1)", lambda v: v["X"].sum(axis=1, keepdims=True)),
    ("sum(X, axis=-1)", lambda v: v["X"].sum(axis=1, keepdims=True)),
    ("sum(X, axis=-2)", lambda v: v["X"].sum(axis=0, keepdims=True)),
    ("mean(X)", lambda v: v["X"].mean()),
    ("mean(X, axis=0)", lambda v: v["X"].mean(axis=0, keepdims=True)),
    ("mean(X, axis=1)", lambda v: v["X"].mean(axis=1, keepdims=True)),
    ("mean(x)", lambda v: v["x"].mean()),
    ("logsumexp(X)", lambda v: special.logsumexp(v["X"])),
    ("logsumexp(X, axis=0)", lambda v: special.logsumexp(v["X"], axis=0, keepdims=True)),
    ("logsumexp(X, axis=1)", lambda v: special.logsumexp(v["X"], axis=1, keepdims=True)),
    ("softmax(X, axis=0)", lambda v: special.softmax(v["X"], axis=0)),
    ("softmax(X, axis=1)", lambda v: special.softmax(v["X"], axis=1)),
    ("softmax(X)", lambda v: special.softmax(v["X"])),
    ("softmax(x, axis=0)", lambda v: special.softmax(v["x"])),
    ("softmax(x, axis=1)", lambda v: np.ones((3, 1))),
    ("log_softmax(X, axis=0)", lambda v: special.log_softmax(v["X"], axis=0)),
    ("log_softmax(X, axis=1)", lambda v: special.log_softmax(v["X"], axis=1)),
    ("log_softmax(X)", lambda v: special.log_softmax(v["X"])),
    ("solve(S, B)", lambda v: np.linalg.solve(v["S"], v["B"])),
    ("solve(S, x)", lambda v: np.linalg.solve(v["S"], v["x"])),
    ("matrix_power(S, 3)", lambda v: np.linalg.matrix_power(v["S"], 3)),
    ("matrix_power(S, 0)", lambda v: np.eye(3)),
    ("matrix_power(S, -2)", lambda v: np.linalg.matrix_power(np.linalg.inv(v["S"]), 2)),
    ("kron(S, B)", lambda v: np.kron(v["S"], v["B"])),
    ("gelu(x)", lambda v: v["x"] * special.ndtr(v["x"])),
    ("silu(x)", lambda v: v["x"] * special.expit(v["x"])),
    ("erf(x) + normcdf(x) + normpdf(x)",
     lambda v: special.erf(v["x"]) + special.ndtr(v["x"]) + np.exp(-v["x"] ** 2 / 2) / np.sqrt(2 * np.pi)),
    ("sinh(x) * cosh(x) + arctan(x) + expm1(x) + log1p(x * x)",
     lambda v: np.sinh(v["x"]) * np.cosh(v["x"]) + np.arctan(v["x"]) + np.expm1(v["x"]) + np.log1p(v["x"] ** 2)),
    ("arcsin(0.3 * x) + arccos(0.3 * x)", lambda v: np.full((3, 1), np.pi / 2)),
]


@pytest.mark.parametrize("text, expected", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_value_is_numpys(text, expected):
    e = mc.parse(text, SHAPES)
    function = e.to_numpy()
    sizes = {d: {"m": 4, "n": 3, "p": 2}[d] for d in function.free_dims}   # a constant's size
    got = function(**{v.name: VALUES[v.name] for v in e.free_vars}, **sizes)
    want = expected(VALUES)
    assert np.shape(got) == np.shape(want) or np.ndim(want) == 0
    np.testing.assert_allclose(np.asarray(got, dtype=float).reshape(np.shape(want)), want, rtol=1e-12, atol=1e-12)


# functions of a batch: gradient (and Hessian) checked against finite differences
DERIVATIVE_CASES = [
    ("-sum(T * log_softmax(X, axis=0))", "X", 1),
    ("-sum(T * log_softmax(X, axis=1))", "X", 1),
    ("sum(T * softmax(X, axis=0))", "X", 2),
    ("sum(T * softmax(X, axis=1))", "X", 1),
    ("mean(sum((X - mean(X, axis=0)) ** 2, axis=0))", "X", 1),
    ("sum(logsumexp(X, axis=1))", "X", 2),
    ("logsumexp(X)", "X", 1),
    ("x.T @ solve(S, x)", "x", 2),
    ("sum(solve(S, B))", "S", 1),
    ("trace(matrix_power(S, 4))", "S", 1),
    ("sum(gelu(S @ x))", "x", 2),
    ("sum(silu(S @ x))", "S", 1),
    ("mean(log1p(exp(X)))", "X", 1),
]


@pytest.mark.parametrize("text, wrt, order", DERIVATIVE_CASES, ids=[c[0] for c in DERIVATIVE_CASES])
def test_derivative_is_right(text, wrt, order):
    g = mc.derive(text, wrt, SHAPES, order=order)
    report = g.check(seed=11)
    assert report.ok, f"{g}: {report}"


def test_cross_entropy_on_a_batch_has_the_textbook_value():
    """∂/∂Z of −Σ T ⊙ log_softmax(Z, axis=0) is softmax(Z) diag(𝟏ᵀ T) − T (softmax(Z) − T for one-hot columns)."""
    g = mc.derive("-sum(T * log_softmax(X, axis=0))", "X", SHAPES)
    X, T = VALUES["X"], VALUES["T"]
    want = special.softmax(X, axis=0) * T.sum(axis=0, keepdims=True) - T
    np.testing.assert_allclose(g.to_numpy()(X=X, T=T), want, rtol=1e-12)


def test_mean_gradient_is_ones_over_the_count():
    g = mc.derive("mean(X)", "X", SHAPES)
    np.testing.assert_allclose(g.to_numpy()(X=VALUES["X"]), np.full((4, 3), 1 / 12))
    assert str(mc.derive("mean(x)", "x", SHAPES)) == "𝟏 / n"


def test_axis_reductions_print_as_products_with_ones():
    assert str(mc.parse("sum(X, axis=0)", SHAPES)) == "𝟏ᵀ X"
    assert str(mc.parse("sum(X, axis=1)", SHAPES)) == "X 𝟏"
    assert str(mc.parse("solve(S, B)", SHAPES)) == "S⁻¹ B"


def test_generated_code_solves_instead_of_inverting():
    g = mc.derive("x.T @ solve(S, x)", "x", SHAPES)
    assert "solve" in g.source() and "inv(" not in g.source()


def test_the_api_takes_axis():
    X = mc.matrix("X", "m", "n")
    assert mc.sum(X, axis=0) is mc.parse("sum(X, axis=0)", {"X": X})
    assert mc.mean(X, axis=1) is mc.parse("mean(X, axis=1)", {"X": X})
    assert mc.softmax(X, axis=-1) is mc.parse("softmax(X, axis=1)", {"X": X})
    S = mc.matrix("S", "n", "n")
    assert mc.matrix_power(S, 5) is mc.parse("matrix_power(S, 5)", {"S": S})
    with pytest.raises(MatcalcError, match="axis must be"):
        mc.sum(X, axis=2)


def test_axis_is_parsed_and_printed_back():
    tree = parse("softmax(X @ W, axis=0) + sum(Y, axis=-1)")
    assert unparse(tree) == "(softmax((X @ W), axis=0) + sum(Y, axis=1))"


@pytest.mark.parametrize("text, error, message", [
    ("sum(X, axis=2)", ParseError, "axis must be 0, 1, -1 or -2"),
    ("sum(X, axis=x)", ParseError, "axis must be 0, 1, -1 or -2"),
    ("exp(X, axis=0)", ParseError, "only log_softmax, logsumexp, mean, softmax, sum take axis="),
    ("sum(X, keepdims=True)", ParseError, "keyword arguments are not allowed"),
    ("sum(X, axis=0, axis=1)", ParseError, "axis= is given twice"),
    ("sum(axis=0, X)", ParseError, "a positional argument cannot follow axis="),
    ("solve(X, B)", MatcalcError, "square"),
    ("solve(S, X)", MatcalcError, "rows"),
    ("matrix_power(X, 2)", MatcalcError, "square"),
    ("matrix_power(S, x)", MatcalcError, "integer"),
    ("matrix_power(S, 1.5)", MatcalcError, "integer"),
    ("kron(S)", MatcalcError, "two arguments"),
])
def test_bad_input_is_a_clear_error(text, error, message):
    with pytest.raises(error, match=message):
        mc.parse(text, SHAPES)


def test_shapes_of_undeclared_names_are_inferred_through_axis_reductions():
    g = mc.derive("sum(softmax(Z, axis=0) * T)", "Z")
    assert g.wrt.shape == {v.name: v for v in g.variables}["T"].shape
    assert g.check(seed=2).ok


def test_shape_errors_name_the_shapes():
    with pytest.raises(ShapeError):
        mc.parse("sum(X, axis=0) + sum(X, axis=1)", {"X": "m,n"})


@pytest.mark.parametrize("text", [
    "c - B + R", "R - B + c", "R + c - B", "ones(D).T @ (M * M).T - 2 * X @ M.T + (X * X) @ ones(D)",
])
def test_a_column_and_a_row_fit_beside_a_matrix_in_any_order(text):
    """The pairwise-distance form of k-means: c (N×1) and R (1×K) broadcast against B (N×K)."""
    shapes = {"c": "N", "B": "N,K", "R": "1,K", "X": "N,D", "M": "K,D"}
    e = mc.parse(text, shapes)
    assert e.shape == ("N", "K")
    assert str(e.T) and e.T.T is e   # transposing reorders the terms again


def test_layer_norm_with_a_gain_differentiates():
    """A column gain g ⊙ (A − 𝟏ᵀA/h) ⊘ (row of deviations): a column and a row against a matrix."""
    shapes = {"A": "h,N", "g": "h", "bb": "h", "G": "h,N"}
    f = "sum(G * (g * (A - mean(A, axis=0)) / sqrt(mean((A - mean(A, axis=0)) ** 2, axis=0) + 1e-5) + bb))"
    for wrt in ("A", "g", "bb", "G"):
        assert mc.derive(f, wrt, shapes).check(seed=4).ok


def test_a_broadcasting_product_is_not_expanded_into_outer_products():
    """g ⊙ (A − B) with a column g: expanding it into monomials would pair g with a row alone."""
    g = mc.derive("sum(G * (g * (A - B) + bb * (A + B)))", "G", {"G": "h,N", "A": "h,N", "B": "h,N", "g": "h",
                                                                 "bb": "h"})
    assert str(g) == "bb ⊙ (A + B) + g ⊙ (A − B)"


def test_an_outer_sum_alone_is_still_refused():
    with pytest.raises(ShapeError, match="cannot add n×1 and 1×m"):
        mc.parse("x + y.T", {"x": "n", "y": "m"})


def test_logsumexp_code_is_stable_where_exp_overflows():
    X = np.array([[1000.0, 1.0], [999.0, -5.0], [3.0, 2.0]])
    for text, want in [("logsumexp(X)", special.logsumexp(X)),
                       ("logsumexp(X, axis=0)", special.logsumexp(X, axis=0, keepdims=True)),
                       ("logsumexp(X, axis=1)", special.logsumexp(X, axis=1, keepdims=True))]:
        np.testing.assert_allclose(mc.parse(text, {"X": "m,n"}).to_numpy()(X=X), want, rtol=1e-12)
    g = mc.derive("sum(logsumexp(X, axis=0))", "X", {"X": "m,n"})
    assert str(g) == "softmax(X, axis=0)"
    np.testing.assert_allclose(g.to_numpy()(X=X), special.softmax(X, axis=0), rtol=1e-12)


def test_softmax_along_an_axis_transposes_to_the_other_axis():
    Z = mc.matrix("Z", "m", "n")
    assert mc.softmax(Z, axis=0).T is mc.softmax(Z.T, axis=1)
    assert str(mc.softmax(Z, axis=1)) == "softmax(Z, axis=1)"
    assert mc.softmax(Z, axis=0).latex() == r"\operatorname{softmax}\left(Z, \mathrm{axis}=0\right)"


def test_batch_cross_entropy_has_its_textbook_gradient():
    T = mc.matrix("T", "K", "N", onehot=True)
    g = mc.derive("-mean(sum(T * log_softmax(Z, axis=0), axis=0))", "Z", {"T": T, "Z": "K,N"})
    assert str(g) == "(softmax(Z, axis=0) − T) / N"
    assert g.check(seed=5).ok


# found by an independent review of this work
def test_logsumexp_lowering_needs_a_single_row_of_ones():
    """log(𝟏_{K×m} exp(X)) is K rows of log-sums, not one: the stable helper is for 𝟏ᵀ only."""
    g = mc.derive("a * sum(log(ones(K, m) @ exp(X))) + trace(E)", "a", {"X": "m,n", "a": "", "E": "K,K"})
    X = np.random.default_rng(11).normal(size=(3, 4))
    np.testing.assert_allclose(g.to_numpy()(a=0.7, X=X, E=np.eye(2)), np.sum(np.log(np.ones((2, 3)) @ np.exp(X))))


def test_a_column_and_a_row_scaling_the_variable():
    g = mc.derive("sum(B * c + B * R)", "B", {"B": "m,n", "c": "m", "R": "1,n"})
    assert g.check(seed=1).ok


@pytest.mark.parametrize("text", ["sum(G * B * R / sqrt(mean(B**2, axis=1) + 1))", "sum(B * R / (B @ ones(n) + 3))"])
def test_hessians_through_a_row_beside_a_column(text):
    g = mc.derive(text, "B", {"B": "m,n", "R": "1,n", "G": "m,n"}, order=2)
    assert g.check(seed=2).ok


def test_eigenvectors_are_orthonormal_in_results():
    assert str(mc.derive("sum(eigvalsh(X))", "X", {"X": "n,n"})) == "I"
    assert mc.verify("sum(eigvalsh(X)) + trace(X)", "X", "2*eye(n)", {"X": "n,n"}).correct
