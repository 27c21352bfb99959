"""A network with one hidden layer, from the calc_intro_corrections notebook.

Forward:   z = W₁ x,   h = σ(z),   y = W₂ h,   L = ‖y − t‖²
Backward:  ∇_W₂ L = 2 (y − t) hᵀ
           ∇_W₁ L = ((W₂ᵀ 2 (y − t)) ⊙ h ⊙ (1 − h)) xᵀ       (σ′(z) = h ⊙ (1 − h))
"""
import numpy as np
from _common import derive_and_compare, random_inputs

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
