"""Run every script in examples/ and check that it succeeds and prints its key results."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

EXPECTED = {
    "least_squares.py": ["∂f/∂x = 2 Aᵀ (A x − b)", "string form: 2 Aᵀ (A x − b)",
                         "at x*: ∇f = [0. 0. 0.]"],
    "linear_regression.py": ["∂L/∂w = 2 (wᵀ x − t) x", "∂L/∂W = 2 (W x − t) xᵀ"],
    "two_layer_network.py": ["∂L/∂W₂ = 2 (W₂ σ(W₁ x) − t)",
                             "∂L/∂W₁ = 2 ((W₂ᵀ (W₂ σ(W₁ x) − t)) ⊙ σ(W₁ x) ⊙ (1 − σ(W₁ x))) xᵀ"],
    "matrix_product.py": ["∂L/∂W = G Xᵀ", "∂L/∂X = Wᵀ G"],
    "softmax_cross_entropy.py": ["∂L/∂z = sum(t) softmax(z) − t",
                                 "∂L/∂W = (sum(t) softmax(W x) − t) xᵀ",
                                 "∂L/∂x = Wᵀ (sum(t) softmax(W x) − t)"],
    "relu_batch.py": ["∂L/∂W = 2 ((wᵀ (w relu(W X) − y)) ⊙ [W X > 0]) Xᵀ",
                      "∂L/∂W = 2 Xᵀ (((relu(X W) w − y) wᵀ) ⊙ [X W > 0])",
                      "max |∇W_sample − ∇W_dimᵀ| = 0.0e+00"],
    "sigmoid_neuron.py": ["∂f/∂w = s (1 − s) x, where s = σ(wᵀ x + b)",
                          "∂f/∂x = s (1 − s) w, where s = σ(wᵀ x + b)",
                          "∂f/∂b = s (1 − s), where s = σ(wᵀ x + b)",
                          "dx = [ 0.3932 -0.5898]"],
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
