"""Staged programs in the user's names, and the steps of a derivation."""
import numpy as np
import pytest

import matcalc as mc

NET = """
z = W1 @ x
h = sigmoid(z)
y = W2 @ h
L = norm2(y - t)**2
"""
NET_SHAPES = {"W1": "h,n", "W2": "m,h", "x": "n", "t": "m"}

NOTES = """
sigy = sigmoid(y)
num = x + sigy
sigx = sigmoid(x)
xpy = x + y
xpysqr = xpy**2
den = sigx + xpysqr
invden = 1/den
f = num * invden
"""


def test_network_gradients_in_the_stage_names():
    g1 = mc.derive(NET, "W1", NET_SHAPES)
    assert str(g1) == "2 ((W₂ᵀ (y − t)) ⊙ h ⊙ (1 − h)) xᵀ"
    assert g1.text(expand=True) == "2 ((W₂ᵀ (W₂ σ(W₁ x) − t)) ⊙ σ(W₁ x) ⊙ (1 − σ(W₁ x))) xᵀ"
    assert {k: str(v[1]) for k, v in g1.signals.items()} == {"y": "2 (y − t)", "h": "W₂ᵀ δy", "z": "δh ⊙ h ⊙ (1 − h)"}
    assert g1.check(seed=0).ok
    assert str(mc.derive(NET, "W2", NET_SHAPES)) == "2 (y − t) hᵀ"


def test_gradients_add_up_where_a_name_is_used_twice():
    g = mc.derive("u = A @ x\nf = u.T @ u + sum(u)", "x", {"A": "m,n", "x": "n"})
    assert str(g.signals["u"][1]) == "1 + 2 u"   # 1: the vector of ones, from sum(u)
    assert g.check(seed=0).ok


def test_the_notes_scalar_example_stage_by_stage():
    shapes = {"x": "", "y": ""}
    gx, gy = mc.derive(NOTES, "x", shapes), mc.derive(NOTES, "y", shapes)
    assert str(gx.stage_gradient[0]) == "δsigx sigx (1 − sigx) + δnum + δxpy"
    assert str(gx) == "invden − num sigx (1 − sigx) / den² − 2 num xpy / den²"
    # the notes' forward and backward pass at x = 3, y = -4
    x, y = 3.0, -4.0
    sigy, sigx = 1 / (1 + np.exp(-y)), 1 / (1 + np.exp(-x))
    num, xpy = x + sigy, x + y
    den = sigx + xpy ** 2
    invden = 1 / den
    dden = -1 / den ** 2 * num
    dxpy = 2 * xpy * dden
    dx = dxpy + sigx * (1 - sigx) * dden + invden
    dy = dxpy + sigy * (1 - sigy) * invden
    assert gx.to_numpy()(x=x, y=y) == pytest.approx(dx)
    assert gy.to_numpy()(x=x, y=y) == pytest.approx(dy)
    steps = str(gy.steps())
    assert "δden = −δinvden / den²" in steps and "δxpy = 2 δxpysqr xpy" in steps


def test_definitions_and_claims_in_stage_names():
    g = mc.derive("norm2(y - t)**2", "W1", NET_SHAPES,
                  definitions={"z": "W1 @ x", "h": "sigmoid(z)", "y": "W2 @ h"})
    assert str(g) == "2 ((W₂ᵀ (y − t)) ⊙ h ⊙ (1 − h)) xᵀ"
    v = mc.verify(NET, "W1", "(W2.T @ (2*(y - t)) * h * (1 - h)) @ x.T", NET_SHAPES)
    assert v.correct
    wrong = mc.verify(NET, "W1", "(W2.T @ (2*(y - t)) * h) @ x.T", NET_SHAPES)
    assert wrong.category == "elementwise-derivative"


def test_program_errors():
    with pytest.raises(mc.MatcalcError, match="defined twice"):
        mc.derive("a = x + x\na = x\nf = a.T @ a", "x", {"x": "n"})
    with pytest.raises(mc.ParseError, match="not 'name = expression'"):
        mc.derive("x + x\nf = x.T @ x", "x", {"x": "n"})


def test_steps_of_a_gradient_name_their_rules():
    steps = mc.derive("a.T @ inv(X) @ b", "X", {"a": "n", "b": "n", "X": "n,n"}).steps()
    text = str(steps)
    assert [s.rules[0] for s in steps][:3] == ["product rule", "d-inv", "chain rule"]
    assert "d(X⁻¹) = −X⁻¹ dX X⁻¹" in text
    assert "−aᵀ X⁻¹ dX X⁻¹ b = ⟨−X⁻ᵀ a bᵀ X⁻ᵀ, dX⟩" in text
    assert text.splitlines()[-1].split("[")[0].strip().endswith("∇_X f = −X⁻ᵀ a bᵀ X⁻ᵀ")
    latex = steps.latex()
    assert latex.startswith(r"\begin{aligned}") and r"&= " in latex and r"\text{derivative of the inverse}" in latex
    assert "[derivative of the inverse]" in text and "[cyclic property of the trace]" in text   # in words


def test_steps_show_simplification_rules_and_factoring():
    text = str(mc.derive("norm2(A @ x - b)**2", "x", {"A": "m,n", "x": "n", "b": "m"}).steps())
    for piece in ("[derivative of a constant power]", "[derivative of the norm]", "[the sum of a product as ⟨·,·⟩]",
                  "∇_x f = 2 Aᵀ (A x − b)"):
        assert piece in text
    text = str(mc.derive("x.T @ A @ x", "x", {"A": "n,n", "x": "n"}).steps())
    assert "∇_x f = A x + Aᵀ x" in text and "∇_x f = (A + Aᵀ) x" in text


def test_steps_of_jacobians_and_hessians():
    j = str(mc.derive("sigmoid(W @ x)", "x", {"W": "m,n", "x": "n"}).steps())
    assert "[derivative of σ]" in j and "diag(σ(W x) ⊙ (1 − σ(W x))) W" in j
    h = str(mc.hessian("sum(exp(x))", "x", {"x": "n"}).steps())
    assert "∇_x f = exp(x)" in h and "∇²f = diag(exp(x))" in h


def test_cli_steps_file_and_syntax(tmp_path):
    from matcalc.cli import main
    program = tmp_path / "net.txt"
    program.write_text(NET)
    assert main(["derive", "--file", str(program), "--wrt", "W2", "--shape", "W2=m,h", "--shape", "W1=h,n"]) == 0
    assert main(["derive", "x'*A*x", "--wrt", "x", "--syntax", "matlab", "--steps"]) == 0
    assert main(["verify", "--file", str(program), "--wrt", "W2", "--claimed", "2*(y - t) @ h.T"]) == 0
    assert main(["verify", "x.T @ x", "--wrt", "x", "--claimed", "x"]) == 1


def test_derivatives_by_a_stage_are_its_backward_signal():
    """∂L/∂h holds the inputs and the earlier stages fixed: what backpropagation calls δh."""
    g = mc.derive(NET, "h", NET_SHAPES)
    assert str(g) == "2 W₂ᵀ (y − t)"
    assert g.check(seed=2).ok
    assert str(mc.derive(NET, "z", NET_SHAPES)) == "2 (W₂ᵀ (y − t)) ⊙ h ⊙ (1 − h)"
    assert mc.verify(NET, "h", "2 * W2.T @ (y - t)", NET_SHAPES).correct
    assert not mc.verify(NET, "h", "2 * W2 @ (y - t)", NET_SHAPES).correct


def test_claims_may_use_the_backward_signals():
    assert mc.verify(NET, "W1", "δz @ x.T", NET_SHAPES).correct
    assert mc.verify(NET, "W1", "(δh * h * (1 - h)) @ x.T", NET_SHAPES).correct
    assert not mc.verify(NET, "W1", "δh @ x.T", NET_SHAPES).correct


def test_the_steps_header_shows_f_as_typed_and_identities_avoid_the_users_letters():
    steps = mc.derive("trace(S @ inv(Y) @ D)", "Y", {"S": "n,n", "Y": "n,n", "D": "n,n"}).steps()
    assert steps.title == "gradient of trace(S @ inv(Y) @ D) w.r.t. Y, where f = tr(D S Y⁻¹)"
    latex = steps.latex()
    cited = [part.split("&&")[1] for part in latex.split(r" \\ ") if "langle" in part.split("&&")[1]]
    assert cited and all(" S" not in c and "«" not in c for c in cited)
    assert r"\langle G, L E R\rangle = \langle L^{\top} G R^{\top}, E\rangle" in latex
    assert "[definition of the gradient]" in str(steps) and "dX" not in str(steps)
