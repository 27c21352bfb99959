"""verify: right claims are accepted (proved, or numerically consistent and said so), wrong ones are
diagnosed in words, with a counter-example."""
import numpy as np
import pytest

import matcalc as mc

LS = {"X": "N,D", "w": "D", "y": "N"}
QUAD = {"x": "n", "A": "n,n"}
MLP = {"W1": "h,n", "W2": "m,h", "x": "n", "t": "m"}
MLP_F = "norm2(W2 @ sigmoid(W1 @ x) - t) ** 2"


@pytest.mark.parametrize("f, wrt, claim, shapes, method", [
    ("x.T @ A @ x", "x", "(A + A.T) @ x", QUAD, "symbolic"),
    ("x.T @ A @ x", "x", "A @ x + A.T @ x", QUAD, "symbolic"),
    ("x.T @ A @ x", "x", "(x.T @ (A + A.T)).T", QUAD, "symbolic"),
    ("a.T @ X @ b", "X", "a @ b.T", {"a": "n", "b": "m", "X": "n,m"}, "symbolic"),
    ("norm2(X @ w - y) ** 2", "w", "2 * X.T @ X @ w - 2 * X.T @ y", LS, "symbolic"),
    ("log(sum(exp(z)))", "z", "exp(z) / sum(exp(z))", {"z": "n"}, "symbolic"),
    ("sum(log(sigmoid(X @ w)))", "w", "X.T @ sigmoid(-(X @ w))", LS, "numeric"),
    ("logdet(X)", "X", "inv(X.T)", {"X": "n,n"}, "symbolic"),
])
def test_right_claims_are_correct(f, wrt, claim, shapes, method):
    v = mc.verify(f, wrt, claim, shapes=shapes)
    assert v.correct and v.category == "correct" and v.method == method, str(v)
    if method == "symbolic":   # proved: the canonical forms agree
        assert v.proved and str(v).startswith("correct (proved: the canonical forms agree): the claim equals "
                                              "the gradient")
    else:                      # sampled only: said so
        assert not v.proved and v.points >= 7
        assert str(v).startswith(f"numerically consistent at {v.points} points (not proved): the claim agrees "
                                 "with the gradient")


@pytest.mark.parametrize("f, wrt, claim, shapes, category, words", [
    ("a.T @ X @ b", "X", "b @ a.T", {"a": "n", "b": "m", "X": "n,m"}, "transpose", "transpose of the answer"),
    ("norm2(W @ X - Y) ** 2", "W", "2 * X @ (W @ X - Y).T", {"W": "D,D", "X": "D,N", "Y": "D,N"}, "transpose",
     "transpose of the answer"),
    ("norm2(X @ w - y) ** 2", "w", "X.T @ (X @ w - y)", LS, "factor", "1/2 times the answer"),
    ("norm2(X @ w - y) ** 2", "w", "2 * X.T @ (y - X @ w)", LS, "sign", "wrong sign"),
    ("x.T @ A @ x", "x", "A @ x", QUAD, "missing-term", "Aᵀ x is part of the answer"),
    ("x.T @ A @ x", "x", "2 * A @ x", QUAD, "missing-term", "treats A as symmetric"),
    ("x.T @ A @ x + b.T @ x", "x", "(A + A.T) @ x + b + x", dict(QUAD, b="n"), "extra-term", "x does not belong"),
    ("x.T @ A @ x + b.T @ x", "x", "(A + A.T) @ x - b", dict(QUAD, b="n"), "sign", "sign error in one term"),
    ("x.T @ x", "x", "2 * x.T", {"x": "n"}, "layout", "numerator-layout form"),
    ("sigmoid(A @ x)", "x", "A.T @ diag(sigmoid(A @ x) * (1 - sigmoid(A @ x)))", QUAD, "layout", "denominator-layout"),
    ("sigmoid(x)", "x", "sigmoid(x) * (1 - sigmoid(x))", {"x": "n"}, "shape", "diagonal matrix"),
    ("x.T @ diag(y) @ x", "y", "x @ x.T", {"x": "n", "y": "n"}, "shape", "diagonal of the claim"),
    ("norm2(X @ w - y) ** 2", "w", "2 * (X @ w - y) @ X.T", LS, "shape", "does not type-check"),
    (MLP_F, "W1", "(W2.T @ (2 * (W2 @ sigmoid(W1 @ x) - t)) * sigmoid(W1 @ x)) @ x.T", MLP,
     "elementwise-derivative", "the derivative of σ was taken as σ itself"),
    ("sum(relu(A @ x))", "x", "A.T @ relu(A @ x)", QUAD, "elementwise-derivative", "relu(z) was used"),
    ("sum(log(1 + exp(x)))", "x", "exp(x)", {"x": "n"}, "elementwise-derivative", "1/(1 + eᶻ)"),
    ("sigmoid(c)", "c", "sigmoid(c) - (1 - sigmoid(c))", {"c": ""}, "elementwise-derivative",
     "a minus where the product σ (1 − σ) belongs"),
    ("sum(sigmoid(x))", "x", "1 - sigmoid(x)", {"x": "n"}, "elementwise-derivative", "the factor σ(z) is missing"),
    ("softmax(z)", "z", "diag(z) - z @ z.T", {"z": "n"}, "elementwise-derivative", "evaluated at the logits z"),
    ("norm2(W * (A - U @ V.T)) ** 2", "U", "2 * (W * (U @ V.T - A)) @ V", {"W": "m,q", "A": "m,q", "U": "m,r",
                                                                            "V": "q,r"},
     "other", "misses an elementwise factor W ⊙ in W∘² ⊙ (A − U Vᵀ)"),
    ("(sigmoid(w * a) - y) ** 2", "w", "a * sigmoid(w * a) * (1 - sigmoid(w * a))", {"w": "", "a": "", "y": ""},
     "other", "misses a factor 2 (σ(a w) − y)"),
])
def test_wrong_claims_are_diagnosed(f, wrt, claim, shapes, category, words):
    v = mc.verify(f, wrt, claim, shapes=shapes)
    assert not v.correct and v.category == category, str(v)
    assert words in v.message, v.message


def test_a_wrong_claim_comes_with_an_exact_counterexample():
    v = mc.verify("x.T @ A @ x", "x", "A @ x", shapes=QUAD)
    ce = v.counterexample
    assert v.proved and v.method == "exact" and ce.exact
    assert set(ce.inputs) == {"A", "x"} and ce.sizes == {"n": 2}   # the smallest sizes where it is wrong
    # the inputs shown are the inputs used: 3 significant digits, and the entries are the real values there
    assert all(float(f"{a:.3g}") == a for a in np.ravel(ce.inputs["A"]))
    answer = mc.derive("x.T @ A @ x", "x", QUAD).to_numpy()(**ce.inputs)
    assert ce.expected == pytest.approx(answer[ce.index[0]]) and abs(ce.expected - ce.claimed) > 1e-3
    assert "counter-example (n = 2; exact, at these inputs): entry " in str(v)


def test_hessian_claims():
    assert mc.verify("norm2(X @ w - y) ** 2", "w", "2 * X.T @ X", shapes=LS, order=2).correct
    v = mc.verify("norm2(X @ w - y) ** 2", "w", "X.T @ X", shapes=LS, order=2)
    assert v.category == "factor"


def test_expressions_and_layouts():
    x, A = mc.vector("x", "n"), mc.matrix("A", "n", "n")
    assert mc.verify(x.T @ A @ x, x, (A + A.T) @ x).correct
    assert mc.verify("x.T @ A @ x", "x", "x.T @ (A + A.T)", shapes=QUAD, layout="numerator").correct


def test_symmetric_variables():
    S = mc.matrix("S", "n", "n", spd=True)
    v = mc.verify("logdet(S) + y.T @ inv(S) @ y", "S", "inv(S) - inv(S) @ y @ y.T @ inv(S)",
                  shapes={"S": S, "y": "n"})
    assert v.correct


def test_bad_claims_raise_clear_errors():
    with pytest.raises(mc.ParseError):
        mc.verify("x.T @ x", "x", "2 * * x", shapes={"x": "n"})
    with pytest.raises(mc.UnknownNameError):
        mc.verify("x.T @ x", "x", "2 * z", shapes={"x": "n"})


def test_verdict_renders_in_a_notebook():
    v = mc.verify("x.T @ A @ x", "x", "A @ x", shapes=QUAD)
    md = v._repr_markdown_()
    assert md.startswith("❌ **wrong (missing term)**") and "$A x$" in md
    assert not bool(v) and repr(v).startswith("<Verdict missing-term")
    proved = mc.verify("x.T @ A @ x", "x", "(A + A.T) @ x", shapes=QUAD)
    assert proved._repr_markdown_().startswith("✅ **correct** (proved: the canonical forms agree): ")
    assert repr(proved).startswith("<Verdict correct (proved): ")
    sampled = mc.verify("sum(log(sigmoid(X @ w)))", "w", "X.T @ sigmoid(-(X @ w))", shapes=LS)
    assert sampled._repr_markdown_().startswith(f"☑️ **numerically consistent at {sampled.points} points** "
                                                "(not proved): ")
    assert repr(sampled).startswith("<Verdict numerically consistent: ")


def test_a_claim_of_the_wrong_shape_comes_with_a_counterexample():
    """The first entry that the answer and the transposed claim both have, where they differ."""
    v = mc.verify("a.T @ X @ b", "X", "b @ a.T", shapes={"a": "n", "b": "m", "X": "n,m"})
    assert v.category == "transpose" and v.counterexample is not None
    i, j = v.counterexample.index
    assert v.counterexample.expected != v.counterexample.claimed and (i, j) != (0, 0)


@pytest.mark.parametrize("f, claimed, category, words", [
    ("x.T @ A @ x", "2 * A.T @ x", "missing-term", ["treats A as symmetric", "would be right"]),
    ("x.T @ A @ x", "-2 * A @ x", "sign", ["two mistakes", "treats A as symmetric", "the sign is wrong"]),
    ("x.T @ A @ x", "-A @ x", "factor", ["three mistakes", "the sign is wrong", "a factor 2 is missing"]),
    ("sum(exp(A @ x))", "-A @ exp(A @ x)", "sign", ["A where the answer has Aᵀ", "the sign is wrong"]),
    ("sum(exp(A @ x))", "2 * exp(A @ x).T @ A", "shape", ["two mistakes", "transposed", "extra factor 2"]),
])
def test_several_mistakes_at_once_are_each_named(f, claimed, category, words):
    verdict = mc.verify(f, "x", claimed, {"x": "n", "A": "n,n"})
    assert not verdict.correct and verdict.category == category
    for word in words:
        assert word in verdict.message, verdict.message


@pytest.mark.parametrize("f, wrt, shapes, claim, said", [
    ("-0.5 * (x - mu).T @ inv(Sigma) @ (x - mu)", "mu", {"x": "n", "mu": "n", "Sigma": "n,n:spd"}, "x - mu",
     "the factor Σ⁻¹ of Σ⁻¹ (x − μ) is left out"),
    ("0.5 * logdet(L) - 0.5 * (x - mu).T @ L @ (x - mu)", "L", {"x": "n", "mu": "n", "L": "n,n:spd"},
     "0.5 * L - 0.5 * (x - mu) @ (x - mu).T", "L is written where L⁻¹ belongs"),
    ("a.T @ inv(X) @ b", "X", {"a": "n", "b": "n", "X": "n,n"}, "-inv(X) @ a @ b.T @ inv(X)",
     "X⁻¹ is written where X⁻ᵀ belongs"),
    ("sum(log(1 + exp(-y * (X @ w))))", "w", {"X": "N,D", "y": "N", "w": "D"}, "-X.T @ (y * sigmoid(y * (X @ w)))",
     "the sign of its argument flipped"),
    ("norm2(X - X @ W @ W.T)**2", "W", {"X": "N,D", "W": "D,k"}, "-2 * X.T @ (X - X @ W @ W.T) @ W",
     "is left out"),
    ("-sum(y * log(sigmoid(X @ w)) + (1 - y) * log(1 - sigmoid(X @ w)))", "w", {"X": "N,D", "y": "N", "w": "D"},
     "X.T @ ((sigmoid(X @ w) - y) * sigmoid(X @ w) * (1 - sigmoid(X @ w)))", "an extra factor σ(X w) ⊙ (1 − σ(X w))"),
])
def test_one_slip_in_writing_the_answer_down_is_named(f, wrt, shapes, claim, said):
    verdict = mc.verify(f, wrt, claim, shapes=shapes)
    assert not verdict.correct and "the claim is the answer with one slip" in verdict.message, verdict.message
    assert said in verdict.message, verdict.message


def test_two_matrices_treated_as_symmetric_at_once_are_named():
    shapes = {"A": "n,n", "B": "n,n", "X": "n,n"}
    verdict = mc.verify("trace(A @ X @ B @ X.T)", "X", "2 * A @ X @ B", shapes=shapes)
    assert not verdict.correct and "it treats A and B as symmetric" in verdict.message, verdict.message
