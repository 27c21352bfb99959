"""verify under attack: claims wrong only outside the usual inputs — beyond a threshold, at sizes
above 7, at other magnitudes, in a term hidden by a larger one, by an exact constant too small for
floating point — are never called correct, and a verdict says how it knows."""
from __future__ import annotations

import numpy as np
import pytest

import matcalc as mc
from matcalc.cli import main
from matcalc.printing.numpy import NumpyFunction

X = {"x": "n"}
LS = {"X": "N,n", "w": "n"}
NET = {"W": "m,n", "x": "n", "b": "m"}

WRONG = [
    # beyond a threshold of the claim (relu, step, abs of an affine argument), wherever it is
    ("x.T @ x", "x", "2*x + relu(x - 50)", X),
    ("x.T @ x", "x", "2*x - 1e-3 * abs(x + 1e4) + 1e-3 * (x + 1e4)", X),
    ("c * sum(x)", "x", "c * ones(n) + relu(c - 1e4) * x", {"x": "n", "c": ""}),
    ("sum(exp(x))", "x", "exp(x) * (1 + step(x - 100))", X),
    ("sum(relu(W @ x - b))", "x", "W.T @ step(W @ x - b - 30)", NET),
    ("sum(abs(x - 1000))", "x", "-ones(n)", X),
    ("(B @ p).T @ sqrt(p + p)", "p", "B.T @ sqrt(p + p) + (B @ p) / sqrt(p + p) + relu(p - 50)",
     {"B": "n,n", "p": "n"}),
    # wrong only at sizes of 8 and more
    ("x.T @ x", "x", "2*x + relu(sum(ones(n)) - 7.5) * x", X),
    ("x.T @ x", "x", "2*x + step(trace(eye(n)) - 7) * x", X),
    ("x.T @ x", "x", "2*x + step(sum(ones(n)) / 3 - 7) * x", X),
    ("x.T @ x", "x", "2*x + (sum(ones(n)) - 3) * (sum(ones(n)) - 4) * (sum(ones(n)) - 5) * (sum(ones(n)) - 6)"
                     " * (sum(ones(n)) - 7) * x", X),
    ("x.T @ x", "x", "(sum(ones(n)) - 3) * x", X),
    # a 100% error in one term, next to a term 1e8 times larger
    ("1e8 * x.T @ x + sum(exp(x))", "x", "2e8 * x + 2 * exp(x)", X),
    ("1e12 * sum(x) + sum(sin(x))", "x", "1e12 * ones(n) - cos(x)", X),
    # exact constants
    ("x.T @ x", "x", "2.0000001 * x", X),
    ("x.T @ x", "x", "2*x + 1e-30 * x * x", X),
    ("sum(log(sigmoid(X @ w)))", "w", "X.T @ sigmoid(-(X @ w)) + 1e-12 * w", LS),
]


@pytest.mark.parametrize("f, wrt, claim, shapes", WRONG, ids=[w[2] for w in WRONG])
def test_wrong_claims_are_never_correct(f, wrt, claim, shapes):
    v = mc.verify(f, wrt, claim, shapes=shapes)
    assert v.correct is False and not v, str(v)
    assert v.proved and v.method == "exact" and v.counterexample.exact, str(v)
    _assert_a_real_counterexample(f, wrt, claim, shapes, v.counterexample)


def _assert_a_real_counterexample(f, wrt, claim, shapes, ce):
    """At the inputs shown (and sizes), the answer and the claim have the values shown, and differ."""
    answer = mc.derive(f, wrt, shapes).expr
    claimed = mc.parse(claim, shapes)
    values = {**ce.inputs, **ce.sizes}
    got = []
    for expr in (answer, claimed):
        fn = NumpyFunction(expr, "f", "matrix", required=answer.free_vars | claimed.free_vars)
        got.append(np.atleast_2d(fn(**{k: v for k, v in values.items() if k in fn.accepts})))
    index = ce.index or (0, 0)
    assert got[0][index] == pytest.approx(ce.expected, rel=1e-12, abs=1e-300)
    assert np.broadcast_to(got[1], got[0].shape)[index] == pytest.approx(ce.claimed, rel=1e-12, abs=1e-300)
    assert ce.expected != ce.claimed or ce.difference != 0


def test_the_exact_witness_of_a_tiny_difference_is_named():
    # the difference is evaluated on its own, so a term 1e-30 times the answer is seen and named
    v = mc.verify("x.T @ x", "x", "2*x + 1e-30 * x * x", shapes=X)
    assert v.category == "extra-term"
    assert v.message == "the claim has an extra term: 1e-30 x∘² does not belong in the answer"
    ce = v.counterexample
    assert ce.exact and ce.sizes == {"n": 2} and ce.difference == pytest.approx(1e-30 * ce.expected ** 2 / 4)
    assert f"the claim gives {ce.expected:.6g} (claim − answer = {ce.difference:.6g}), at" in str(v)


def test_a_factor_too_close_to_one_for_floating_point_is_named_exactly():
    v = mc.verify("x.T @ x", "x", "2.0000000000000001 * x", shapes=X)
    assert not v.correct and v.proved and v.method == "exact"
    assert v.message == ("the claim is off by a constant factor: "
                         "it is 20000000000000001/20000000000000000 times the answer")


def test_a_term_hidden_below_a_huge_answer_is_found_across_its_kink():
    # relu(x − 50) is 0 below the kink, and 1e-200 of the answer above it: exact arithmetic there
    v = mc.verify("sum(s**32 * exp(10*x))", "x", "10 * s**32 * exp(10*x) + relu(x - 50)",
                  shapes={"s": "", "x": "n"})
    assert not v.correct and v.proved and v.counterexample.exact


def test_a_hidden_term_is_diagnosed_as_that_term():
    v = mc.verify("1e8 * x.T @ x + sum(exp(x))", "x", "2e8 * x + 2 * exp(x)", shapes=X)
    assert v.message == "one term has the wrong factor: the claim has 2 exp(x) where the answer has exp(x)"


def test_size_dependent_claims_show_a_large_size():
    v = mc.verify("x.T @ x", "x", "2*x + relu(sum(ones(n)) - 7.5) * x", shapes=X)
    assert v.counterexample.sizes["n"] >= 8
    assert v.message == "the claim is off by a constant factor: it is 7/4 times the answer"   # at n = 9


RIGHT_UNPROVED = [
    ("sum(log(sigmoid(X @ w)))", "w", "X.T @ sigmoid(-(X @ w))", LS),
    ("0.5 * x.T @ x", "x", "abs(x) * sign(x)", X),
    ("log(sum(exp(z)))", "z", "exp(log_softmax(z))", {"z": "n"}),
    ("sum(relu(x - 50))", "x", "0.5 * (sign(x - 50) + 1)", X),
]


@pytest.mark.parametrize("f, wrt, claim, shapes", RIGHT_UNPROVED, ids=[r[2] for r in RIGHT_UNPROVED])
def test_right_claims_that_differ_in_form_are_numerically_consistent(f, wrt, claim, shapes):
    v = mc.verify(f, wrt, claim, shapes=shapes)
    assert v.correct and not v.proved and v.method == "numeric" and v.points >= 7, str(v)
    assert str(v).startswith(f"numerically consistent at {v.points} points (not proved): the claim agrees with the "
                             "gradient")
    assert "entries of magnitude 0.001 to 1000" in v.message and "so this is not a proof" in v.message


def test_a_term_that_cancels_inside_a_linear_operation_is_judged_by_its_parts():
    # 1 − tanh(x)∘² rounds to 0 at |x| ~ 1000 while 1/cosh(x)∘² is ~1e-113: inside diag, the difference is
    # judged against the sizes of 1 and tanh², not against the 0 they cancel to (was a false "wrong")
    v = mc.verify("tanh(x)", "x", "diag(1 / cosh(x)**2)", shapes=X)
    assert v.correct and v.points >= 7, str(v)
    assert not mc.verify("tanh(x)", "x", "diag(1 / cosh(x))", shapes=X).correct


def test_a_claim_equal_after_cancelling_is_proved():
    v = mc.verify("x.T @ x", "x", "2*x + relu(x - 50) - relu(x - 50)", shapes=X)
    assert v.correct and v.proved and v.method == "symbolic"


def test_the_command_line_prints_how_the_verdict_knows(capsys):
    assert main(["verify", "sum(log(sigmoid(X @ w)))", "--wrt", "w", "--claimed", "X.T @ sigmoid(-(X @ w))",
                 "--shape", "X=N,n", "--shape", "w=n"]) == 0
    assert capsys.readouterr().out.startswith("numerically consistent at ")
    assert main(["verify", "x.T @ x", "--wrt", "x", "--claimed", "2 * x", "--shape", "x=n"]) == 0
    assert capsys.readouterr().out.startswith("correct (proved: the canonical forms agree): ")
    assert main(["verify", "x.T @ x", "--wrt", "x", "--claimed", "2*x + relu(x - 50)", "--shape", "x=n"]) != 0
    assert capsys.readouterr().out.startswith("wrong (extra term): ")


def test_rounding_of_float_constants_is_no_proof():
    # found by the attack fuzzer: (1 + 1e-7) times an answer with the float constant 1e-320 (a
    # subnormal, 3 digits) expanded back to the answer in floating point, and was "proved" correct
    from fractions import Fraction

    from matcalc import expr as E
    p = mc.vector("p", "n", positive=True)
    f = 1e-320 * mc.softmax(p)
    answer = mc.derive(f, p).expr
    v = mc.verify(f, p, E.mul(E.const(Fraction(10_000_001, 10_000_000)), answer))
    assert not v.correct and v.proved and v.method == "exact"
    assert v.message.startswith("the claim differs from the answer by ") and "10000001/10000000 (" in v.message
    assert v.message.endswith("too little for floating point to see at the inputs tried, but not zero")


def test_the_answer_itself_is_proved_when_it_is_a_sum():
    # found by the attack fuzzer: claim − answer with the answer a sum kept −(a + b) as one term,
    # so the answer itself (a Jacobian by an spd matrix) was not proved, then called wrong
    T, S = mc.matrix("T", "n", "n"), mc.matrix("S", "n", "n", spd=True)
    f = mc.sum((mc.logdet(T) * S) ** 2.0000001) * mc.abs(S)
    g = mc.derive(f, S)
    assert g.expr.op == "add"
    v = mc.verify(f, S, g.expr)
    assert v.correct and v.proved and v.method == "symbolic"


def test_a_term_only_where_the_answer_overflows_is_found_in_exact_arithmetic():
    # found by the attack fuzzer: relu(x − 50) beside x∘⁹⁹⁹, which is inf wherever the relu is not 0
    v = mc.verify("sum(x ** 1000)", "x", "1000 * x ** 999 + relu(x - 50)", shapes=X)
    assert not v.correct and v.proved and v.method == "exact"
    assert v.message == ("the claim differs from the answer by relu(x − 50): only where the answer is beyond "
                         "floating point (seen in exact arithmetic), but not zero")


def test_a_constant_through_softmax_has_a_zero_gradient():
    """sum(softmax(f)) = 1: its gradient is 0 in canonical form (a claim scaled by 1 + 1e-7 of a
    nonzero-looking answer that is zero once was "numerically consistent")."""
    assert str(mc.derive("mean(softmax(f))", "f", {"f": "n"})) == "0"


def test_a_kink_of_a_symmetric_variable_is_crossed():
    """relu(B − 50) added to the gradient of logsumexp(B) for a symmetric B: verify must find where
    it is nonzero (the kink search once moved only unconstrained variables)."""
    B = mc.matrix("B", "n", "n", symmetric=True)
    g = mc.derive("logsumexp(B)", B)
    claim = g.expr + mc.relu(B - 50)
    assert mc.verify("logsumexp(B)", B, claim).correct is False
