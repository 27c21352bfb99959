"""Run every script in examples/ and check that it succeeds and prints its key results."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# Key lines of each script's output: results, derivation steps, verdicts of verify on the notes'
# result ("correct (proved: …): …") and on a classic mistake ("wrong (…)").
EXPECTED = {
    "least_squares.py": ["∂f/∂x = 2 Aᵀ (A x − b)", "string form: 2 Aᵀ (A x − b)",
                         "MATLAB form: 2 Aᵀ (A x − b)",
                         "d(‖A x − b‖²) = 2 (A x − b)ᵀ A dx",
                         "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. x",
                         "wrong (factor): the claim is off by a constant factor: it is 1/2 times the answer",
                         "wrong (other): the claim treats A as symmetric",
                         "A x* − b = [0. 0. 0.]", "at x*: ∇f = [0. 0. 0.]"],
    "staged_scalar.py": ["∂/∂x: invden − num sigx (1 − sigx) / den² − 2 num xpy / den²",
                         "∂/∂y: invden sigy (1 − sigy) − 2 num xpy / den²",
                         "∇_x f = δsigx sigx (1 − sigx) + δnum + δxpy",
                         "∇_y f = δsigy sigy (1 − sigy) + δxpy",
                         "δden = −δinvden / den² = -0.791593   notes: dden = -0.791593",
                         "δxpy = 2 δxpysqr xpy = 1.583187   notes: dxpy = 1.583187",
                         "∂f/∂x = 2.059570   notes: dx = 2.059570",
                         "∂f/∂y = 1.592233   notes: dy = 1.592233",
                         "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. x",
                         "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. y",
                         "wrong (elementwise derivative): right except for the derivative of an "
                         "elementwise function at sigx = σ(x): the derivative of σ was taken as σ itself",
                         "claim:  invden sigy (1 − sigy)\n"],
    "sigmoid_neuron.py": ["∂f/∂w = s (1 − s) x, where s = σ(wᵀ x + b)",
                          "∂f/∂x = s (1 − s) w, where s = σ(wᵀ x + b)",
                          "∂f/∂b = s (1 − s), where s = σ(wᵀ x + b)",
                          "d(σ(wᵀ x + b)) = σ(wᵀ x + b) (1 − σ(wᵀ x + b)) d(wᵀ x + b)",
                          "dx = [ 0.3932 -0.5898]",
                          "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. w",
                          "wrong (elementwise derivative): right except for the derivative of an "
                          "elementwise function at σ(wᵀ x + b)"],
    "linear_regression.py": ["∂L/∂w = 2 (wᵀ x − t) x", "∂L/∂W = 2 (W x − t) xᵀ",
                             "d((wᵀ x − t)²) = 2 (wᵀ x − t) d(wᵀ x − t)",
                             "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. w",
                             "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. W",
                             "wrong (factor): the claim is off by a constant factor: it is 1/2 times the answer",
                             "wrong (transpose): wrong shape: the gradient w.r.t. W is M×D"],
    "two_layer_network.py": ["∂L/∂W₂ = 2 (W₂ σ(W₁ x) − t) σ(W₁ x)ᵀ",
                             "∂L/∂W₁ = 2 ((W₂ᵀ (W₂ σ(W₁ x) − t)) ⊙ σ(W₁ x) ⊙ (1 − σ(W₁ x))) xᵀ",
                             "∂/∂W₁: 2 ((W₂ᵀ (y − t)) ⊙ h ⊙ (1 − h)) xᵀ",
                             "∂/∂W₂: 2 (y − t) hᵀ",
                             "δy = 2 (y − t)", "δh = W₂ᵀ δy", "δz = δh ⊙ h ⊙ (1 − h)", "∇_W1 L = δz xᵀ",
                             "(notes' ∇_z L; max difference",
                             "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. W1",
                             "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. W2",
                             "wrong (elementwise derivative): right except for the derivative of an "
                             "elementwise function at h = σ(W₁ x)",
                             "wrong (factor): the claim is off by a constant factor: it is 1/2 times the answer"],
    "matrix_product.py": ["∂L/∂W = G Xᵀ", "∂L/∂X = Wᵀ G", "sum(G ⊙ (dW X)) = ⟨G Xᵀ, dW⟩",
                          "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. W",
                          "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. X",
                          "wrong (transpose): wrong shape: the gradient w.r.t. W is m×k",
                          "wrong (transpose): wrong shape: the gradient w.r.t. X is k×p"],
    "softmax_cross_entropy.py": ["∂L/∂z = sum(t) softmax(z) − t",
                                 "∂L/∂W = (sum(t) softmax(W x) − t) xᵀ",
                                 "∂L/∂x = Wᵀ (sum(t) softmax(W x) − t)",
                                 "d(log softmax(z)) = dz − (softmax(z)ᵀ dz) 𝟏",
                                 "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. z",
                                 "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. W",
                                 "wrong (sign): the claim has the wrong sign",
                                 "wrong (other): the claim misses a factor sum(t) in sum(t) softmax(z)",
                                 "wrong (transpose): wrong shape: the gradient w.r.t. W is K×D"],
    "relu_batch.py": ["∂L/∂W = 2 ((wᵀ (w relu(W X) − y)) ⊙ [W X > 0]) Xᵀ",
                      "∂L/∂W = 2 Xᵀ (((relu(X W) w − y) wᵀ) ⊙ [X W > 0])",
                      "d(relu(W X)) = [W X > 0] ⊙ d(W X)",
                      "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. W",
                      "wrong (elementwise derivative): right except for the derivative of an "
                      "elementwise function at relu(W X)",
                      "wrong (transpose): wrong shape: the gradient w.r.t. W is D×H",
                      "max |∇W_sample − ∇W_dimᵀ| = 0.0e+00"],
    "computation_graph.py": ["at x = −2, y = 5, z = −4: dx = -4, dy = -4, dz = 3",
                             "∂/∂b: 3 c", "δv = 3",
                             "at a = 5, b = 3, c = 2: dJ/da = 3 (nudging a: 3.000000), dJ/db = 6, dJ/dc = 9",
                             "∂f/∂x = 2 x cos(x y) − x² y sin(x y)",
                             "d(x² cos(x y)) = cos(x y) d(x²) + x² d(cos(x y))",
                             "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. b",
                             "correct (proved: the canonical forms agree): the claim equals the gradient w.r.t. x",
                             "wrong (factor): the claim is off by a constant factor: it is 1/3 times the answer",
                             "wrong (missing term): the claim misses a term: 2 x cos(x y)"],
    "jacobians.py": ["y = x W:  ∂y/∂x = Wᵀ (outputs × variables); W in denominator layout",
                     "d(x W) = dx W", "∂vec(X W)/∂vec(X)ᵀ = Wᵀ ⊗ I", "∂y/∂x = V W",
                     "correct (proved: the canonical forms agree): the claim equals the Jacobian w.r.t. x",
                     "wrong (layout): wrong shape",
                     "wrong (shape): the claim does not type-check"],
}

SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))


def test_every_example_has_expectations():
    assert SCRIPTS == sorted(EXPECTED)


@pytest.mark.parametrize("script", SCRIPTS)
def test_example_runs(script):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONIOENCODING="utf-8")
    result = subprocess.run([sys.executable, str(EXAMPLES / script)], cwd=ROOT, env=env,
                            capture_output=True, text=True, encoding="utf-8", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "check ok" in result.stdout
    for text in EXPECTED.get(script, []):
        assert text in result.stdout, f"{text!r} not in the output:\n{result.stdout}"
