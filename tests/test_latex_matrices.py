"""Matrices written entry by entry in LaTeX (with ellipses), read as the general entry they show."""
import numpy as np
import pytest

import matcalc as mc
from matcalc.errors import ParseError

SOFTMAX_AT_P = (r"\begin{pmatrix} p_1 (1 - p_1) & -p_1 p_2 & \cdots & -p_1 p_n \\"
                r" -p_2 p_1 & p_2 (1 - p_2) & \cdots & -p_2 p_n \\ \vdots & & \ddots & \vdots \\"
                r" -p_n p_1 & -p_n p_2 & \cdots & p_n (1 - p_n) \end{pmatrix}")

# (LaTeX, shapes, the same matrix in numpy syntax)
MATRICES = [
    (SOFTMAX_AT_P, {"p": "n"}, "diag(p) - p @ p.T"),
    (r"\begin{pmatrix} x_1 y_1 \\ \vdots \\ x_n y_n \end{pmatrix}", {"x": "n", "y": "n"}, "x * y"),
    (r"\begin{bmatrix} \sigma'(z_1) & 0 & \cdots & 0 \\ 0 & \sigma'(z_2) & \cdots & 0 \\"
     r" \vdots & & \ddots & \vdots \\ 0 & 0 & \cdots & \sigma'(z_n) \end{bmatrix}", {"z": "n"},
     "diag(sigmoid(z) * (1 - sigmoid(z)))"),
    (r"\begin{pmatrix} a_{11} & a_{12} & \cdots & a_{1n} \\ \vdots & & & \vdots \\"
     r" a_{n1} & a_{n2} & \cdots & a_{nn} \end{pmatrix}", {"a": "n,n"}, "a"),
    (r"\begin{pmatrix} A_{11} & A_{21} \\ A_{12} & A_{22} \end{pmatrix}", {"A": "n,n"}, "A.T"),
    (r"\left[\begin{matrix} 2 x_1 & \dots & 2 x_n \end{matrix}\right]", {"x": "n"}, "2 * x.T"),   # a row
    (r"-\begin{pmatrix} u_1 v_1 & \cdots & u_1 v_m \\ \vdots & \ddots & \vdots \\ u_n v_1 & \cdots & u_n v_m"
     r" \end{pmatrix}", {"u": "n", "v": "m"}, "-(u @ v.T)"),
    (r"\begin{pmatrix} e^{x_1} / \sum_k e^{x_k} \\ \vdots \\ e^{x_n} / \sum_k e^{x_k} \end{pmatrix}", {"x": "n"},
     "softmax(x)"),
]
SIZES = {"n": 4, "m": 3}


@pytest.mark.parametrize("latex, shapes, numpy", [m for m in MATRICES if m[2]], ids=lambda v: str(v)[:30])
def test_a_matrix_written_entry_by_entry_equals_its_matrix_form(latex, shapes, numpy):
    read, expected = mc.parse(latex, shapes, syntax="latex"), mc.parse(numpy, shapes)
    assert read.shape == expected.shape
    rng = np.random.default_rng(3)
    for _ in range(3):
        values = {name: rng.standard_normal(tuple(SIZES[d] for d in dims.split(","))) for name, dims in shapes.items()}
        np.testing.assert_allclose(read.to_numpy()(**values), expected.to_numpy()(**values), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("latex, message", [
    (r"\begin{pmatrix} x_1 & x_2 \\ x_2 & x_1 \end{pmatrix}", "which row"),
    (r"\begin{pmatrix} x_1 & x_1 x_2 \\ x_2 x_1 & x_2 \\ x_3 x_1 & x_3 + x_2 \end{pmatrix}", "no single pattern"),
    (r"\begin{pmatrix} x_1 & -x_1 x_2 \\ x_2 x_1 & x_2 \end{pmatrix}", "no single pattern"),
    (r"\begin{vmatrix} x_1 & 0 \\ 0 & x_2 \end{vmatrix}", "vmatrix environment is not read"),
    (r"2 \begin{pmatrix} x_1 \\ \vdots \\ x_n \end{pmatrix} + x", "whole right side"),
    (r"\frac{\partial f}{\partial x_i} = \begin{pmatrix} x_1 \\ \vdots \\ x_n \end{pmatrix}", "one entry"),
])
def test_a_matrix_with_no_single_pattern_is_refused(latex, message):
    with pytest.raises(ParseError, match=message):
        mc.parse(latex, {"x": "n"}, syntax="latex")


def test_the_softmax_jacobian_written_out_is_judged_and_its_mistake_named():
    p_shapes = {"z": "n"}
    right = SOFTMAX_AT_P.replace("p_", r"\operatorname{softmax}(z)_")
    assert mc.verify("softmax(z)", "z", right, p_shapes, syntax="latex").correct
    at_logits = SOFTMAX_AT_P.replace("p_", "Z^{O}_")   # the logits for p, and a layer's label on them
    verdict = mc.verify("softmax(z)", "z", at_logits, p_shapes, syntax="latex")
    assert not verdict.correct and "evaluated at the logits" in verdict.message and "Z is read as z" in verdict.message


def test_a_layer_label_in_a_superscript_is_part_of_the_name():
    shapes = {"W1": "h,d", "x": "d", "b": "h"}
    assert mc.parse(r"W^{[1]} x + b", shapes, syntax="latex") == mc.parse("W1 @ x + b", shapes)
    assert mc.parse(r"W^{(1)} x", shapes, syntax="latex") == mc.parse("W1 @ x", shapes)
    assert mc.parse(r"W^{[1]T} b", shapes, syntax="latex") == mc.parse("W1.T @ b", shapes)
    z = {"z": "n", "a": "n"}
    assert mc.parse(r"z^{L} \odot a^{L}", z, syntax="latex") == mc.parse("z * a", z)
