"""A network with one hidden layer, from the calc_intro_corrections notebook.

Forward:   z = W₁ x,   h = σ(z),   y = W₂ h,   L = ‖y − t‖²
Backward:  ∇_y L = 2 (y − t),   ∇_h L = W₂ᵀ ∇_y L,   ∇_z L = ∇_h L ⊙ σ′(z)   (σ′(z) = h ⊙ (1 − h))
           ∇_W₂ L = (∇_y L) hᵀ = 2 (y − t) hᵀ
           ∇_W₁ L = (∇_z L) xᵀ = ((W₂ᵀ 2 (y − t)) ⊙ h ⊙ (1 − h)) xᵀ
First as one expression, then as the notes' four stages, whose backward signals δs = ∂L/∂s are
the notes' ∇_s L.
"""
import numpy as np
from _common import derive_and_compare, fail, random_inputs, run_stages, show_steps, verify_claims

import matcalc as mc

x, t = mc.vector("x", "D"), mc.vector("t", "M")
W1, W2 = mc.matrix("W1", "H", "D"), mc.matrix("W2", "M", "H")
L = mc.norm2(W2 @ mc.sigmoid(W1 @ x) - t) ** 2
print("L =", L)


def forward(W1, W2, x):
    h = 1 / (1 + np.exp(-W1 @ x))
    return h, W2 @ h


def grad_W2(W1, W2, x, t):
    h, y = forward(W1, W2, x)
    return 2 * (y - t) @ h.T


def grad_W1(W1, W2, x, t):
    h, y = forward(W1, W2, x)
    return ((W2.T @ (2 * (y - t))) * h * (1 - h)) @ x.T


inputs = random_inputs(L, {"D": 4, "H": 5, "M": 3}, seed=3)
derive_and_compare(L, W2, grad_W2, inputs, "2 (y − t) hᵀ", of="L")
derive_and_compare(L, W1, grad_W1, inputs, "((W₂ᵀ 2 (y − t)) ⊙ h ⊙ (1 − h)) xᵀ", of="L")

print("As a staged program:")
PROGRAM = """
z = W1 @ x
h = sigmoid(z)
y = W2 @ h
L = norm2(y - t)**2
"""
SHAPES = {"W1": "H,D", "W2": "M,H", "x": "D", "t": "M"}
print(PROGRAM.strip())
g = mc.derive(PROGRAM, ["W1", "W2"], SHAPES)
print(g)
show_steps(g["W1"])
for name in ("W1", "W2"):
    report = g[name].check(seed=0)
    print(f"  ∂L/∂{name}: {report}")
    if not report.ok:
        fail(f"finite-difference check of the staged ∂L/∂{name}")

# The backward signals, evaluated stage by stage, next to the notes' backward pass in numpy.
values = run_stages(g["W1"], inputs)
h, y = forward(inputs["W1"], inputs["W2"], inputs["x"])
dy = 2 * (y - inputs["t"])
dh = inputs["W2"].T @ dy
notes = {"y": dy, "h": dh, "z": dh * h * (1 - h)}
for stage, (delta, expression, _) in g["W1"].signals.items():
    error = np.max(np.abs(values[delta.name] - notes[stage]))
    print(f"  {delta.name} = {expression}   (notes' ∇_{stage} L; max difference {error:.1e})")
    if error > 1e-12:
        fail(f"{delta.name} differs from the notes' ∇_{stage} L")

verify_claims(PROGRAM, "W1", "(W2.T @ (2*(y - t)) * h * (1 - h)) @ x.T", "(W2.T @ (2*(y - t)) * h) @ x.T",
              "σ instead of σ (1 − σ)", "elementwise-derivative", SHAPES, of="L")
verify_claims(PROGRAM, "W2", "2*(y - t) @ h.T", "(y - t) @ h.T", "the forgotten 2", "factor", SHAPES, of="L")
