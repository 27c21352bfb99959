"""A sigmoid neuron, from the backpropagation notes ("Intuition with gates").

f = σ(wᵀx + b). With ddot = f (1 − f), the derivative of the sigmoid, the notes backpropagate
    dx = w · ddot,   dw = x · ddot,   db = ddot
and evaluate at w = [2, −3], b = −3, x = [−1, −2] (the notes keep b as w[2]).
"""
import numpy as np
from _common import derive_and_compare, fail, random_inputs, show_steps, verify_claims

import matcalc as mc


def sigma(z):
    return 1 / (1 + np.exp(-z))


def ddot(w, x, b):
    f = sigma(w.T @ x + b)
    return f * (1 - f)


w, x, b = mc.vector("w", "n"), mc.vector("x", "n"), mc.scalar("b")
f = mc.sigmoid(w.T @ x + b)
print("f =", f)

formulas = {
    w: (lambda w, x, b: x * ddot(w, x, b), "dw = x · ddot"),
    x: (lambda w, x, b: w * ddot(w, x, b), "dx = w · ddot"),
    b: (lambda w, x, b: ddot(w, x, b).item(), "db = ddot"),
}
inputs = random_inputs(f, {"n": 4}, seed=8)
derivatives = {v: derive_and_compare(f, v, formula, inputs, notes)
               for v, (formula, notes) in formulas.items()}
show_steps(derivatives[w])

print("at the notes' point (w = [2, −3], b = −3, x = [−1, −2]):")
notes_point = {"w": np.array([2.0, -3.0]), "x": np.array([-1.0, -2.0]), "b": -3.0}
for v, g in derivatives.items():
    value = g.to_numpy()(**notes_point)
    print(f"  d{v} =", np.round(value, 4))
    if not np.allclose(value, formulas[v][0](**notes_point)):
        fail(f"d{v} at the notes' point")

# ddot = f (1 − f): the classic mistake takes the derivative of σ as σ itself.
verify_claims(f, w, "sigmoid(w.T @ x + b) * (1 - sigmoid(w.T @ x + b)) * x", "sigmoid(w.T @ x + b) * x",
              "σ instead of σ (1 − σ)", "elementwise-derivative")
