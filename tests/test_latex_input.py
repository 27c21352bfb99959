"""LaTeX input: the notation people write, read to the same expression as its numpy spelling."""
import pytest

import matcalc as mc
from matcalc.errors import MatcalcError, ParseError

SHAPES = {"x": "n", "y": "n", "b": "m", "a": "n", "A": "n,n", "B": "n,n", "C": "n,n", "M": "m,n", "X": "n,n",
          "W1": "m,n", "W2": "n,m", "lam": "", "w": "n", "t": "m", "c": "", "s": "n"}

# (LaTeX, the same in numpy syntax)
SAME = [
    (r"2Ax", "2 * A @ x"),
    (r"A^TAx", "A.T @ A @ x"),
    (r"x^{T}Ax", "x.T @ A @ x"),
    (r"x^\top A x", "x.T @ A @ x"),
    (r"x^\intercal A x", "x.T @ A @ x"),
    (r"x^t A x", "x.T @ A @ x"),
    (r"x'Ax", "x.T @ A @ x"),
    (r"\operatorname{Tr}(AB)", "trace(A @ B)"),
    (r"\mathrm{tr}(AB)", "trace(A @ B)"),
    (r"\mbox{tr}(AB)", "trace(A @ B)"),
    (r"{\rm Tr}(AB)", "trace(A @ B)"),
    (r"tr(AB)", "trace(A @ B)"),
    (r"trace(AB)", "trace(A @ B)"),
    (r"\operatorname{tr} A B", "trace(A @ B)"),
    (r"\frac{1}{2}\|Mx - b\|_2^2", "0.5 * norm2(M @ x - b) ** 2"),
    (r"\left\| M x - b \right\|^2", "norm2(M @ x - b) ** 2"),
    (r"\lVert Mx-b\rVert_2^2", "norm2(M @ x - b) ** 2"),
    (r"‖Mx − b‖²", "norm2(M @ x - b) ** 2"),
    (r"\sigma(Mx) \odot (1 - \sigma(Mx))", "sigmoid(M @ x) * (1 - sigmoid(M @ x))"),
    (r"\sigma'(Mx)", "sigmoid(M @ x) * (1 - sigmoid(M @ x))"),
    (r"x \circ y", "x * y"),
    (r"xᵀ A x", "x.T @ A @ x"),
    (r"x ⊙ y", "x * y"),
    (r"\nabla_x f = 2A^\top A x - 2 A^\top a", "2 * A.T @ A @ x - 2 * A.T @ a"),
    (r"\frac{\partial f}{\partial \mathbf{x}} = \left(\mathbf{A} + \mathbf{A}^T\right)\mathbf{x}", "(A + A.T) @ x"),
    (r"$\boldsymbol\theta$", "theta"),
    (r"W_1 x", "W1 @ x"),
    (r"W^{(1)} x", "W1 @ x"),
    (r"W_{1}^T t", "W1.T @ t"),
    (r"X^{-1}", "inv(X)"),
    (r"X^{-T}", "inv(X).T"),
    (r"X^{-\top} a", "inv(X).T @ a"),
    (r"\log\det X", "logdet(X)"),
    (r"\log \det(X)", "logdet(X)"),
    (r"\operatorname{diag}(x)", "diag(x)"),
    (r"\lambda x", "lam * x"),
    (r"λ x", "lam * x"),
    (r"\exp(x) \cdot c", "exp(x) * c"),
    (r"e^{-c}", "exp(-c)"),
    (r"\frac{x}{c}", "x / c"),
    (r"2 A^\intercal A x - 2 A^\intercal a = 0", "2 * A.T @ A @ x - 2 * A.T @ a"),
    (r"It seems the gradient is $(A + A^T) x$.", "(A + A.T) @ x"),
    (r"x^T(A^T+A) = x^T(2A^T) \quad (x^T2A^T)^T = 2Ax", "2 * A @ x"),
    (r"\sqrt{c} x", "c ** 0.5 * x"),
    (r"|x|", "abs(x)"),
    (r"A^2", "A @ A"),
    (r"x^{\circ 2}", "x ** 2"),
    (r"\tanh'(x)", "1 - tanh(x) ** 2"),
    (r"(I - A) x", "(eye(n) - A) @ x"),
    (r"\mathbf{1}^T x", "ones(n).T @ x"),
    (r"s \oslash x", "s / x"),
    (r"\operatorname{softmax}(x) - y", "softmax(x) - y"),
]


@pytest.mark.parametrize("latex, numpy", SAME, ids=[s[0] for s in SAME])
def test_latex_reads_as_its_numpy_spelling(latex, numpy):
    shapes = {**SHAPES, "theta": "n"}
    assert mc.parse(latex, shapes, syntax="latex") is mc.parse(numpy, shapes)


@pytest.mark.parametrize("latex, message", [
    (r"\prod_i x_i", "products over an index"),
    (r"\frac{\partial L}{\partial W} + x", "derivative inside"),
    (r"\begin{pmatrix} a & b \end{pmatrix}", "entry by entry"),
    (r"(Ax", "unbalanced"),
    (r"x_{i+1}", "index notation"),
])
def test_what_latex_input_refuses_is_said(latex, message):
    with pytest.raises(ParseError, match=message):
        mc.parse(latex, SHAPES, syntax="latex")


def test_a_claim_with_the_left_side_of_another_variable_is_refused():
    f = mc.parse("x.T @ A @ x", SHAPES)   # (a string f would be read in LaTeX too)
    with pytest.raises(MatcalcError, match="w.r.t. A"):
        mc.verify(f, "x", r"\nabla_A f = x x^T", SHAPES, syntax="latex")
    assert mc.verify(f, "x", r"\nabla_x f = (A + A^T)x", SHAPES, syntax="latex").correct


def test_verify_reads_latex_claims_and_judges_them():
    shapes = {"x": "n", "A": "n,n"}
    f = r"x^\top A x"
    assert mc.verify(f, "x", r"\frac{\partial x^\top A x}{\partial x} = A x + A^\top x", shapes,
                     syntax="latex").proved
    wrong = mc.verify(f, "x", r"2Ax", shapes, syntax="latex")
    assert not wrong.correct and "symmetric" in wrong.message
    shape = mc.verify(f, "x", r"(AxA^t)x", shapes, syntax="latex")
    assert not shape.correct and shape.category == "shape"


def test_derive_reads_a_latex_function():
    g = mc.derive(r"\frac{1}{2} \| W_1 x - t \|^2", "W1", SHAPES, syntax="latex")
    assert str(g) == "(W₁ x − t) xᵀ"


def test_latex_output_reads_back():
    """What matcalc prints in LaTeX it reads back, to the same expression."""
    shapes = {"x": "n", "A": "n,n", "X": "N,n", "w": "n", "y": "N", "W1": "h,n", "W2": "m,h", "t": "m"}
    for f, wrt in [("x.T @ inv(A) @ x", "x"), ("sum(log(1 + exp(-y * (X @ w))))", "w"),
                   ("norm2(W2 @ sigmoid(W1 @ x) - t)**2", "W1"), ("logdet(A) + trace(A @ A.T)", "A"),
                   ("-t.T @ log_softmax(W2 @ sigmoid(W1 @ x))", "W2")]:
        g = mc.derive(f, wrt, shapes)
        assert mc.parse(g.latex(), shapes, syntax="latex") is g.expr, g.latex()


def test_printed_forms_read_back_over_random_expressions():
    """Round trip over the fuzzer's random expressions and their derivatives: the LaTeX and the
    text form, with and without named subexpressions, read back to the same expression (given
    its shape, for a bare 0, I or 𝟏). Kronecker forms of ones and identities have no shapes to
    read, and are left out."""
    from matcalc import fuzz
    from matcalc.parse import build_expression
    from matcalc.printing.latex import to_latex
    from matcalc.printing.text import to_text
    checked = 0
    for seed in range(200):
        f, wrt, order = fuzz.Generator(fuzz.RandomChooser(seed)).case(3)
        exprs = [f]
        try:
            d = mc.derive(f, wrt, order=order)
            exprs += [d.expr] if d.form == "matrix" else []
        except mc.MatcalcError:
            pass
        variables = {v.name: v for v in f.free_vars}
        for e in exprs:
            for syntax, printer in (("latex", to_latex), ("text", to_text)):
                for names in (False, True):
                    text = printer(e, names)
                    if "⊗" in text or r"\otimes" in text:
                        continue
                    assert build_expression(text, variables, syntax, infer=False, shape=e.shape) is e, text
                    checked += 1
    assert checked > 1400


def test_the_text_form_reads_back():
    shapes = {"x": "n", "A": "n,n", "X": "N,n", "w": "n", "y": "N", "W1": "h,n", "W2": "m,h", "t": "m"}
    for f, wrt in [("sum(log(1 + exp(-y * (X @ w))))", "w"), ("norm2(W2 @ sigmoid(W1 @ x) - t)**2", "W1"),
                   ("logdet(A) + trace(A @ A.T)", "A")]:
        for order in (1, 2) if wrt == "w" else (1,):
            g = mc.derive(f, wrt, shapes, order=order)
            assert mc.parse(str(g), shapes, syntax="text", shape=g.expr.shape) is g.expr, str(g)
