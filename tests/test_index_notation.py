"""Index notation in LaTeX (Σᵢ over entries and rows) read as the matrix expression it equals."""
import warnings

import numpy as np
import pytest

import matcalc as mc
from matcalc.errors import ParseError, ReadingWarning

VECTORS = {"x": "n", "a": "n", "b": "n", "A": "n,n", "c": ""}
ROWS = {"y": "N", "X": "N,D", "w": "D", "m": "D", "B": "D,D", "c": ""}

# (index notation, shapes, the matrix form in numpy syntax)
SUMS = [
    (r"\sum_i x_i^2", VECTORS, "x.T @ x"),
    (r"\sum_{i=1}^{n} a_i b_i", VECTORS, "a.T @ b"),
    (r"\sum_{i,j} A_{ij} x_i x_j", VECTORS, "x.T @ A @ x"),
    (r"\sum_i \sum_j A_{ij} a_i b_j", VECTORS, "a.T @ A @ b"),
    (r"c \sum_i x_i", VECTORS, "c * sum(x)"),
    (r"\sum_i (a_i - b_i)^2", VECTORS, "norm2(a - b) ** 2"),
    (r"\sum_j A_{ij} x_j", VECTORS, None),   # i is not summed: refused below
    (r"\sum_{i} \log(1 + e^{-y_i w^T x_i})", ROWS, "sum(log(1 + exp(-y * (X @ w))))"),
    (r"\sum_i (\sigma(w^T x_i) - y_i) x_i", ROWS, "X.T @ (sigmoid(X @ w) - y)"),
    (r"\sum_i x_i x_i^T w", ROWS, "X.T @ X @ w"),
    (r"\sum_i \|x_i - m\|^2", ROWS, "norm2(X - ones(N) @ m.T) ** 2"),
    (r"\sum_i \|x_i\|", ROWS, "sum(sqrt(sum(X ** 2, axis=1)))"),
    (r"\sum_{i=1}^N \frac{x_i y_i}{1 + e^{w^T x_i}}", ROWS, "X.T @ (y / (1 + exp(X @ w)))"),
    (r"\sum_i x_i^T B x_i", ROWS, "sum((X @ B) * X)"),
    (r"\sum_i y_i x_i x_i^T", ROWS, "X.T @ (y * X)"),
    (r"\frac{1}{2}\sum_{i=1}^{N} (w^T x_i - y_i)^2", ROWS, "0.5 * norm2(X @ w - y) ** 2"),
    (r"\sum_i y_i x_i^T", ROWS, "y.T @ X"),
    (r"\frac{\partial L}{\partial w_j} = \sum_i (\sigma(w^T x_i) - y_i) x_{ij}", ROWS, "X.T @ (sigmoid(X @ w) - y)"),
    (r"\frac{\partial f}{\partial B_{ij}} = (B m - m)_i m_j", ROWS, "(B @ m - m) @ m.T"),
    (r"\nabla_{B_{ji}} f = m_i (B m)_j", ROWS, "(B @ m) @ m.T"),
    (r"\sum_{i,j} 1_{i=j} A_{ij}", VECTORS, "trace(A)"),
    (r"\sum_i \sum_j \delta_{ij} A_{ij} x_j", VECTORS, "sum(diag(A) * x)"),
    (r"-\sum_{i=1}^N ( \frac{x_i(y_i-1)e^{w^Tx_i}}{e^{w^Tx_i}+1} + \frac{x_iy_i}{e^{w^Tx_i}+1})", ROWS,
     "-X.T @ ((y - 1) * exp(X @ w) / (exp(X @ w) + 1) + y / (exp(X @ w) + 1))"),
]
SIZES = {"n": 4, "N": 5, "D": 3}


def _values(shapes, rng):
    values = {}
    for name, dims in shapes.items():
        shape = tuple(SIZES[d] for d in dims.split(",")) if dims else ()
        values[name] = rng.standard_normal(shape) if shape else float(rng.standard_normal())
    return values


@pytest.mark.parametrize("latex, shapes, numpy", [s for s in SUMS if s[2]], ids=[s[0] for s in SUMS if s[2]])
def test_an_index_sum_equals_its_matrix_form(latex, shapes, numpy):
    read, expected = mc.parse(latex, shapes, syntax="latex"), mc.parse(numpy, shapes)
    assert read.shape == expected.shape
    rng = np.random.default_rng(7)
    for _ in range(3):
        values = _values(shapes, rng)
        used = {v.name for v in read.free_vars}
        got = read.to_numpy()(**{k: v for k, v in values.items() if k in used})
        want = expected.to_numpy()(**{k: v for k, v in values.items() if k in {v.name for v in expected.free_vars}})
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_index_sums_come_out_in_textbook_form():
    assert str(mc.parse(r"\sum_{i,j} A_{ij} x_i x_j", VECTORS, syntax="latex")) == "xᵀ A x"
    assert str(mc.parse(r"\sum_i (\sigma(w^T x_i) - y_i) x_i", ROWS, syntax="latex")) == "Xᵀ (σ(X w) − y)"
    assert str(mc.parse(r"\sum_i x_i x_i^T w", ROWS, syntax="latex")) == "Xᵀ X w"


@pytest.mark.parametrize("latex, shapes, message", [
    (r"\sum_j A_{ij} x_j", VECTORS, "index i is not summed"),
    (r"\sum_i c", VECTORS, "does not depend on the index i"),
    (r"\sum_i z_i", VECTORS, "z is not declared"),
    (r"\sum_i A_{ii}", VECTORS, "repeated index"),
    (r"\sum_i c_i", VECTORS, "c is a scalar"),
    (r"\sum_i \operatorname{tr}(x_i)", ROWS, "trace of a quantity that depends on the index"),
    (r"\sum x_i", VECTORS, "needs its index"),
    (r"1_2 + c", VECTORS, "subscript on a number"),
    (r"\frac{\partial f}{\partial x_j} = \sum_i A_{ik}", VECTORS, "index k is not summed"),
])
def test_index_notation_without_a_matrix_meaning_is_refused(latex, shapes, message):
    with pytest.raises(ParseError, match=message):
        mc.parse(latex, shapes, syntax="latex")


def test_verify_reads_a_logistic_regression_gradient_in_index_notation():
    f = mc.parse("-sum((1 - y) * log(1 - sigmoid(X @ w)) + y * log(sigmoid(X @ w)))", ROWS)
    right = mc.verify(f, "w", r"\nabla_w L = \sum_{i=1}^N (\sigma(w^T x_i) - y_i) x_i", ROWS, syntax="latex")
    assert right.correct
    wrong = mc.verify(f, "w", r"\sum_{i=1}^N (y_i - \sigma(w^T x_i)) x_i", ROWS, syntax="latex")
    assert not wrong.correct and wrong.category == "sign"


def test_a_letter_in_the_wrong_case_is_read_as_the_declared_one_and_the_verdict_says_so():
    f = mc.parse("0.5 * norm2(X @ w - y) ** 2", ROWS)
    verdict = mc.verify(f, "w", r"\sum_i (W^T x_i - y_i) x_i", ROWS, syntax="latex")
    assert verdict.correct and "W is read as w" in verdict.message
    with warnings.catch_warnings():   # derive may infer new names: no guess there, W stays W
        warnings.simplefilter("error", ReadingWarning)
        with pytest.raises(ParseError, match="not declared"):
            mc.derive(r"\sum_i (W^T x_i - y_i)^2", "w", ROWS, syntax="latex")


@pytest.mark.parametrize("latex, message", [
    (r"(A x)_1", "read only as an entry"),
    (r"A_{12}", "a single entry is not read"),
    (r"\sum_i x_i - y_i", "index i is not summed"),      # the second y_i is outside the sum
    (r"\sum_i x_i + y_i^2", "index i is not summed"),
])
def test_entries_outside_index_notation_are_refused_not_dropped(latex, message):
    with pytest.raises(ParseError, match=message):
        mc.parse(latex, {"x": "n", "y": "n", "A": "n,n"}, syntax="latex")


def test_entry_claims_are_judged_right_and_wrong():
    S = {"x": "n", "y": "n", "A": "n,n"}

    def verdict(f, claim):
        return mc.verify(mc.parse(f, S), "x", claim, S, syntax="latex")
    assert verdict("3 * sum(x)", r"\frac{\partial f}{\partial x_i} = 3").correct          # the same at every i
    assert verdict("x.T @ A @ x", r"\frac{\partial f}{\partial x_i} = ((A + A^T) x)_i").correct
    assert verdict("sum(x) * sum(y)", r"\frac{\partial f}{\partial x_i} = \sum_j y_j").correct
    assert not verdict("x.T @ A @ x", r"\frac{\partial f}{\partial x_i} = (A x)_i").correct
    with pytest.raises(ParseError, match="single entry"):
        verdict("x.T @ y", r"\frac{\partial f}{\partial x_i} = y_1")   # was read as y: a false "correct"
    # a scalar's number is a layer's name, as the notes write one-neuron networks: w_1 x + b_1
    with pytest.warns(ReadingWarning, match="w_1 is read as w"):   # (a guess: said)
        g = mc.derive(r"\sigma(w_1 x + b_1)", "w", {"w": "", "x": "", "b": ""}, syntax="latex")
    assert str(g) == "x s (1 − s), where s = σ(w x + b)"
