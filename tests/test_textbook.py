"""Results read like the Matrix Cookbook (issue table), and each one passes its numeric check."""
import pytest

import matcalc as mc

n, m, h, N = "n", "m", "h", "N"
x, a, b = mc.vector("x", n), mc.vector("a", n), mc.vector("b", n)
A, B = mc.matrix("A", n, n), mc.matrix("B", n, n)
X = mc.matrix("X", n, n)
S = mc.matrix("S", n, n, symmetric=True)
W, y = mc.matrix("W", m, n), mc.vector("y", m)
Xd, w = mc.matrix("X", N, n), mc.vector("w", n)
W1, W2, t = mc.matrix("W1", h, n), mc.matrix("W2", m, h), mc.vector("t", m)

CASES = [
    (x.T @ A @ x, x, {"(A + Aᵀ) x"}),
    (x.T @ S @ x, x, {"2 S x"}),
    (a.T @ X @ b, X, {"a bᵀ"}),
    (mc.trace(A @ X @ B), X, {"Aᵀ Bᵀ"}),
    (mc.norm2(W @ x - y) ** 2, x, {"2 Wᵀ (W x − y)"}),
    (0.5 * mc.norm2(W @ x - y) ** 2, W, {"(W x − y) xᵀ"}),
    (mc.logdet(X), X, {"X⁻ᵀ"}),
    (mc.det(X), X, {"det(X) X⁻ᵀ"}),
    (a.T @ mc.inv(X) @ b, X, {"−X⁻ᵀ a bᵀ X⁻ᵀ"}),
    (mc.sum(mc.exp(x)), x, {"exp(x)"}),
    (mc.sum(mc.log(mc.sigmoid(Xd @ w))), w, {"Xᵀ (1 − σ(X w))"}),
    (mc.norm2(W2 @ mc.sigmoid(W1 @ x) - t) ** 2, W1,
     {"2 ((W₂ᵀ (W₂ σ(W₁ x) − t)) ⊙ σ(W₁ x) ⊙ (1 − σ(W₁ x))) xᵀ"}),
    (mc.sigmoid(W @ x), x, {"diag(σ(W x) ⊙ (1 − σ(W x))) W"}),
    (mc.trace(X.T @ A @ X), X, {"(A + Aᵀ) X"}),
    ((x - a).T @ (x - a), x, {"2 (x − a)"}),
    (mc.norm2(x - a), x, {"(x − a) / ‖x − a‖"}),
    (mc.trace(X @ X), X, {"2 Xᵀ"}),
    (3 * mc.trace(X), X, {"3 I"}),
    # binary cross-entropy: σ ⊙ (1 − t) − t ⊙ (1 − σ) expands and cancels to σ − t
    (-mc.sum(mc.vector("t", N) * mc.log(mc.sigmoid(Xd @ w)) + (1 - mc.vector("t", N)) * mc.log(1 - mc.sigmoid(Xd @ w))),
     w, {"Xᵀ (σ(X w) − t)"}),
]


def test_binary_cross_entropy_hessian_is_x_t_diag_s_one_minus_s_x():
    t_ = mc.vector("t", N)
    f = -mc.sum(t_ * mc.log(mc.sigmoid(Xd @ w)) + (1 - t_) * mc.log(1 - mc.sigmoid(Xd @ w)))
    h = mc.derive(f, w, order=2)
    assert str(h) == "Xᵀ diag(σ(X w) ⊙ (1 − σ(X w))) X"
    assert h.check(seed=2).ok


def test_an_expanded_polynomial_stays_as_written():
    """2 x cos(x y) − x² y sin(x y) is not refactored into x (2 cos(x y) − x y sin(x y))."""
    g = mc.derive("x ** 2 * cos(x * y)", "x", {"x": "", "y": ""})
    assert str(g) == "2 x cos(x y) − x² y sin(x y)"


@pytest.mark.parametrize("f, wrt, expected", CASES, ids=[str(c[0]) + " / " + c[1].name for c in CASES])
def test_textbook_form(f, wrt, expected):
    g = mc.derive(f, wrt)
    assert str(g) in expected
    report = g.check(seed=1)
    assert report.ok, report


def test_latex_of_quadratic_form():
    g = mc.derive(x.T @ A @ x, x)
    assert g.latex() == r"\left(A + A^{\top}\right) x"
    assert mc.derive(mc.logdet(X), X).latex() == r"X^{-\top}"
    assert mc.derive(mc.norm2(x - a), x).latex() == r"\frac{x - a}{\left\|x - a\right\|}"


def test_string_form_gives_the_same_result():
    g = mc.derive("x.T @ A @ x", "x", shapes={"x": "n", "A": "n,n"})
    assert str(g) == "(A + Aᵀ) x"
    assert g.expr is mc.derive(x.T @ A @ x, x).expr


def test_result_is_no_larger_than_its_input_needs():
    # the gradient of a long sum of quadratic forms stays a single factored product
    f = sum((x.T @ A @ x for _ in range(5)), start=0 * x.T @ x)
    assert str(mc.derive(f, x)) == "5 (A + Aᵀ) x"


@pytest.mark.parametrize("text, shapes, expected", [
    ("det(X @ X)", {"X": "n,n"}, "det(X)²"),
    ("logdet(A @ B.T)", {"A": "n,n", "B": "n,n"}, "log det(A) + log det(B)"),
    ("inv(L @ L.T) @ L", {"L": "n,n"}, "L⁻ᵀ"),
    ("inv(X @ X.T) @ X", {"X": "m,n"}, "(X Xᵀ)⁻¹ X"),   # not square: no inverse of X
    ("(exp(u) - exp(-u)) / (exp(u) + exp(-u))", {"u": "n"}, "tanh(u)"),
    ("mean(x) * 5", {"x": "5"}, "sum(x)"),
    ("sum(ones(5)) / 5", {}, "1"),
])
def test_identities_textbooks_use(text, shapes, expected):
    from matcalc.rewrite import simplify
    assert str(simplify(mc.parse(text, shapes))) == expected


@pytest.mark.parametrize("text, shapes, expected", [
    ("-(x + exp(x))", {"x": "n"}, ("−(exp(x) + x)", r"-\left(\exp\left(x\right) + x\right)")),
    ("-(A @ x + b)", {"A": "n,n", "x": "n", "b": "n"}, ("−(A x + b)", r"-\left(A x + b\right)")),
    ("-(x @ x.T)", {"x": "n"}, ("−x xᵀ", r"-x x^{\top}")),
])
def test_a_negated_sum_keeps_its_brackets(text, shapes, expected):
    """−(1 + log t) once printed as −1 + log(t): a wrong formula on the screen."""
    e = mc.parse(text, shapes)
    assert (str(e), e.latex()) == expected


def test_the_entropy_gradient_prints_its_brackets():
    assert str(mc.derive("-sum(t * log(t))", "t", {"t": "K"})) == "−(1 + log(t))"
