"""Habits from MATLAB, textbooks and keyboards that matcalc forgives or explains."""
import warnings

import pytest

import matcalc as mc
from matcalc.errors import NotationWarning
from matcalc.shapes import parse_dims


def test_star_between_a_vector_and_a_matrix_warns_that_at_is_the_matrix_product():
    with pytest.warns(NotationWarning, match="'\\*' multiplies elementwise.*the matrix product is '@'"):
        g = mc.derive("x.T*A*x", "x", {"x": "n", "A": "n,n"})
    assert g.check(seed=1).ok   # (its order-3 Jacobian: factoring once looped on the ones of x ⊙ xᵀ)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # a column gain across a matrix, or two of one shape: no warning
        mc.parse("g * (A - B) + A * B", {"g": "n", "A": "n,m", "B": "n,m"})


def test_a_wrong_shape_verdict_says_what_star_means():
    v = mc.verify("x.T @ A @ x", "x", "(A + A.T)*x", {"x": "n", "A": "n,n"})
    assert not v.correct and v.category == "shape"
    assert "'*' multiplies elementwise" in v.message and "'@'" in v.message


@pytest.mark.parametrize("dims, shape", [("Dx,N", ("Dx", "N")), ("index,n", ("index", "n")), ("3x4", (3, 4)),
                                         ("D_x, D_z", ("D_x", "D_z")), ("n×m", ("n", "m"))])
def test_dimension_names_may_contain_x(dims, shape):
    assert parse_dims(dims) == shape


def test_tr_is_the_trace_in_numpy_syntax_too():
    assert mc.parse("tr(A @ B)", {"A": "n,n", "B": "n,n"}) is mc.parse("trace(A @ B)", {"A": "n,n", "B": "n,n"})


def test_names_of_an_expression_without_matrix_operations_are_scalars():
    """The notes' scalar examples: no @, no transpose, no reduction, no uppercase name."""
    g = mc.derive("3*(a + b*c)", "b")
    assert g.wrt.shape == (1, 1) and str(g) == "3 c"
    f = mc.parse("(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)")
    assert all(v.shape == (1, 1) for v in f.free_vars)
    assert mc.parse("sum(exp(x))").free_vars == {mc.vector("x", "n")}   # a reduction: x a vector
    assert mc.parse("A * x").shape != (1, 1)                              # A is written as a matrix


def test_a_program_decides_scalars_once_for_all_its_lines():
    """sin(x) alone has no matrix operation, but the program sums: x is a vector in every line."""
    g = mc.derive("e1 = sin(x)\nL = sum(e1 * y)", "x")
    assert g.wrt.shape == ("n", 1) and str(g) == "y ⊙ cos(x)"
    assert mc.derive("num = x + sigmoid(y)\nf = num / (1 + x**2)", "x").wrt.shape == (1, 1)
