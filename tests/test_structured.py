"""Structured variables: simplex, onehot (per column or per row), orthogonal, lower, diagonal.
Properties only shape the random inputs and the final form of a result (``sum(t) = 1`` for a
distribution ``t``); a derivative is always the unconstrained one of the expression as written."""
import numpy as np
import pytest

import matcalc as mc
from matcalc.check import draw

SIZES = {"n": 5, "m": 3, "K": 4}


@pytest.mark.parametrize("make, holds", [
    (lambda: mc.vector("t", "n", simplex=True), lambda a: np.all(a >= 0) and np.isclose(a.sum(), 1)),
    (lambda: mc.matrix("T", "n", "m", simplex=True), lambda a: np.all(a >= 0) and np.allclose(a.sum(axis=0), 1)),
    (lambda: mc.matrix("T", "n", "m", simplex="rows"), lambda a: np.allclose(a.sum(axis=1), 1)),
    (lambda: mc.matrix("T", "n", "m", simplex_rows=True), lambda a: np.allclose(a.sum(axis=1), 1)),
    (lambda: mc.matrix("T", "n", "m", onehot=True),
     lambda a: set(np.unique(a)) <= {0.0, 1.0} and np.allclose(a.sum(axis=0), 1)),
    (lambda: mc.matrix("T", "n", "m", onehot="rows"),
     lambda a: set(np.unique(a)) <= {0.0, 1.0} and np.allclose(a.sum(axis=1), 1)),
    (lambda: mc.matrix("Q", "n", "m", orthogonal=True), lambda a: np.allclose(a.T @ a, np.eye(3))),
    (lambda: mc.matrix("L", "n", "n", lower=True), lambda a: np.allclose(np.triu(a, 1), 0) and np.all(np.diag(a) != 0)),
    (lambda: mc.matrix("D", "n", "n", diagonal=True), lambda a: np.allclose(a, np.diag(np.diag(a)))),
])
def test_random_inputs_have_the_property_at_every_scale(make, holds):
    v = make()
    rng = np.random.default_rng(0)
    for scale in (1.0, 1e3):
        assert holds(draw(v, SIZES, rng, scale=scale)), (v, sorted(v.props))


def test_onehot_implies_simplex_in_the_same_orientation():
    assert mc.vector("t", "n", onehot=True).props == {"onehot", "simplex"}
    assert mc.matrix("T", "n", "m", onehot="rows").props == {"onehot_rows", "simplex_rows"}


@pytest.mark.parametrize("make, message", [
    (lambda: mc.vector("t", "n", simplex="rows"), "a column"),
    (lambda: mc.matrix("L", "n", "m", lower=True), "square"),
    (lambda: mc.matrix("D", "n", "m", diagonal=True), "square"),
    (lambda: mc.matrix("Q", 2, 3, orthogonal=True), "rows ≥ columns"),
    (lambda: mc.vector("t", "n", simplex="diagonally"), "True or False"),
    (lambda: mc.vector("t", "n", stochastic=True), "unknown property"),
])
def test_inconsistent_properties_are_refused(make, message):
    with pytest.raises(mc.PropertyError, match=message):
        make()


def test_cross_entropy_with_a_onehot_target_is_the_textbook_gradient():
    """The notes: ∇_W −tᵀ log softmax(W x) = (softmax(W x) − t) xᵀ for a one-hot t (sum(t) = 1)."""
    t = mc.vector("t", "K", onehot=True)
    g = mc.derive("-t.T @ log_softmax(W @ x)", "W", {"t": t, "W": "K,n", "x": "n"})
    assert str(g) == "(softmax(W x) − t) xᵀ"
    assert g.check(seed=1).ok
    plain = mc.derive("-t.T @ log_softmax(W @ x)", "W", {"t": "K", "W": "K,n", "x": "n"})
    assert "sum(t)" in str(plain)


def test_verify_accepts_the_textbook_claim_only_for_a_onehot_target():
    claim = "(softmax(W @ x) - t) @ x.T"
    right = mc.verify("-t.T @ log_softmax(W @ x)", "W", claim, {"t": mc.vector("t", "K", onehot=True),
                                                                "W": "K,n", "x": "n"})
    assert right.correct
    wrong = mc.verify("-t.T @ log_softmax(W @ x)", "W", claim, {"t": "K", "W": "K,n", "x": "n"})
    assert not wrong.correct and wrong.counterexample is not None


def test_a_property_never_changes_the_derivative_of_the_function():
    """sum(t) = 1 on the simplex, but ∂ sum(t)/∂t is 𝟏: properties apply to results only."""
    t = mc.vector("t", "n", simplex=True)
    assert str(mc.derive("sum(t) * sum(x)", "t", {"t": t, "x": "n"})) == "sum(x) 𝟏"
    assert str(mc.derive("sum(t) * sum(x)", "x", {"t": t, "x": "n"})) == "𝟏"


def test_orthonormal_columns_cancel_in_results():
    Q = mc.matrix("Q", "n", "m", orthogonal=True)
    g = mc.derive("trace(Q.T @ Q @ X)", "X", {"Q": Q, "X": "m,m"})
    assert str(g) == "I"
    assert g.check(seed=2).ok   # drawn with n ≥ m, whatever sizes come first


def test_a_diagonal_matrix_drops_its_identity_mask():
    D = mc.matrix("D", "n", "n", diagonal=True)
    g = mc.derive("sum((D * eye(n)) @ x)", "x", {"D": D, "x": "n"})
    assert str(g) == "D 𝟏" and g.check(seed=3).ok   # (D ⊙ I)ᵀ 𝟏


def test_the_command_line_takes_properties(capsys):
    from matcalc.cli import main
    assert main(["derive", "-t.T @ log_softmax(W @ x)", "--wrt", "W", "--shape", "t=K:onehot",
                 "--shape", "W=K,n", "--shape", "x=n"]) == 0
    assert "(softmax(W x) − t) xᵀ" in capsys.readouterr().out


def test_a_row_vector_distribution_sums_along_its_row():
    """simplex=True on a 1×K row: its one row sums to 1 (not each column, which would make it all ones)."""
    r = mc.matrix("r", 1, "K", simplex=True)
    assert r.props == {"simplex_rows"}
    g = mc.derive("sum(r * x.T)", "x", {"r": r, "x": "K"})
    assert str(g) == "rᵀ" and g.check(seed=4).ok
    assert str(mc.derive("r @ ones(K) * sum(x)", "x", {"r": r, "x": "K"})) == "𝟏"
