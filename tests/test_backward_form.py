"""Gradients printed as backpropagation writes them: an RNN unrolled over T steps, as one
expression or as a staged program, prints with named states and backward signals, in a length
linear in T; every printed form has the value of the gradient."""
import numpy as np
import pytest

import matcalc as mc
from matcalc import expr as E


def rnn(steps: int) -> str:
    """The cross-entropy of an Elman network over ``steps`` steps, written as one expression."""
    h, terms = "h0", []
    for t in range(1, steps + 1):
        h = f"tanh(W @ {h} + U @ x{t} + b)"
        terms.append(f"- y{t}.T @ log_softmax(V @ {h} + c)")
    return " ".join(terms)


def rnn_shapes(steps: int, onehot: bool = True) -> dict:
    labels = {f"y{t}": mc.vector(f"y{t}", "K", onehot=True) if onehot else "K" for t in range(1, steps + 1)}
    return {"W": "h,h", "U": "h,D", "b": "h", "V": "K,h", "c": "K", "h0": "h",
            **{f"x{t}": "D" for t in range(1, steps + 1)}, **labels}


def test_an_unrolled_rnn_prints_as_backpropagation_through_time():
    g = mc.derive(rnn(3), "W", rnn_shapes(3))
    assert str(g) == (
        "(δh₁ ⊙ (1 − h₁∘²)) h₀ᵀ + (δh₂ ⊙ (1 − h₂∘²)) h₁ᵀ + (δh₃ ⊙ (1 − h₃∘²)) h₂ᵀ, "
        "where h₁ = tanh(U x₁ + W h₀ + b), h₂ = tanh(U x₂ + W h₁ + b), h₃ = tanh(U x₃ + W h₂ + b), "
        "δh₃ = Vᵀ (softmax(V h₃ + c) − y₃), δh₂ = Vᵀ (softmax(V h₂ + c) − y₂) + Wᵀ (δh₃ ⊙ (1 − h₃∘²)), "
        "δh₁ = Vᵀ (softmax(V h₁ + c) − y₁) + Wᵀ (δh₂ ⊙ (1 − h₂∘²))")
    assert r"\delta h_{3} = V^{\top}" in g.latex()
    assert g.check(seed=3).ok


def test_the_printed_length_grows_linearly_with_the_steps():
    lengths = {T: len(str(mc.derive(rnn(T), "W", rnn_shapes(T)))) for T in (4, 8, 12)}
    written_out = {T: len(mc.derive(rnn(T), "W", rnn_shapes(T)).text(expand=True)) for T in (4, 12)}
    step = (lengths[12] - lengths[8]) / 4
    assert abs((lengths[8] - lengths[4]) / 4 - step) <= 0.1 * step   # the same cost per step
    assert written_out[12] / written_out[4] > 5 > lengths[12] / lengths[4]   # quadratic vs linear


@pytest.mark.parametrize("wrt", ["W", "U", "b", "h0", "V"])
def test_the_backward_form_has_the_value_of_the_gradient(wrt):
    """States and signals substituted back, the printed form evaluates to the gradient."""
    g = mc.derive(rnn(4), wrt, rnn_shapes(4, onehot=False))
    form = g.backward_form()
    if form is None:
        assert "δ" not in str(g)
        return
    assert str(g) == form.text()
    expanded = form.body
    for var, e in reversed(form.definitions()):
        expanded = E.substitute(expanded, {var: e})
    rng = np.random.default_rng(5)
    sizes = {"h": 3, "D": 2, "K": 4}
    values = {v.name: rng.normal(size=tuple(sizes[d] if isinstance(d, str) else d for d in v.shape))
              for v in g.variables}
    want = g.to_numpy()(**values)
    got = expanded.to_numpy()(**{v.name: values[v.name] for v in expanded.free_vars})
    np.testing.assert_allclose(np.reshape(got, np.shape(want)), want, rtol=1e-10, atol=1e-12)


def test_a_staged_rnn_prints_its_signals_in_the_stage_names():
    program = "\n".join([
        "h1 = tanh(W @ h0 + U @ x1 + b)", "h2 = tanh(W @ h1 + U @ x2 + b)", "h3 = tanh(W @ h2 + U @ x3 + b)",
        "L = -y1.T @ log_softmax(V @ h1 + c) - y2.T @ log_softmax(V @ h2 + c) - y3.T @ log_softmax(V @ h3 + c)"])
    g = mc.derive(program, "W", rnn_shapes(3))
    assert str(g).startswith("(δh₁ ⊙ (1 − h₁∘²)) h₀ᵀ + ")
    assert "δh₃ = Vᵀ (softmax(V h₃ + c) − y₃)" in str(g)   # one-hot labels: 𝟏ᵀy = 1 in signals too
    assert "sum(y" not in g.text(expand=True)
    assert g.check(seed=2).ok


def test_short_gradients_keep_their_written_out_form():
    g = mc.derive("norm2(W2 @ sigmoid(W1 @ x) - t)**2", "W1", {"W1": "h,n", "W2": "m,h", "x": "n", "t": "m"})
    assert g.backward_form() is None
    assert str(g) == "2 ((W₂ᵀ (W₂ σ(W₁ x) − t)) ⊙ σ(W₁ x) ⊙ (1 − σ(W₁ x))) xᵀ"


def test_names_false_and_expand_print_the_gradient_written_out():
    g = mc.derive(rnn(3), "b", rnn_shapes(3))
    assert "δ" in str(g)
    assert "δ" not in g.text(names=False) and "δ" not in g.text(expand=True)
    assert r"\delta" not in g.latex(expand=True)
