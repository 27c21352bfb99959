"""Gradients through a matrix-matrix product, from the backpropagation notes.

The notes' backward pass of D = W X, given the upstream gradient dD = G:
    dW = dD Xᵀ,   dX = Wᵀ dD
The derivative of the matrix D itself is a 4th-order object; the upstream gradient stands for
a scalar loss whose gradient w.r.t. D is G, L = sum(G ⊙ (W X)), so that ∂L/∂W = G Xᵀ and
∂L/∂X = Wᵀ G. Shapes as in the notes: W 5×10, X 10×3.
"""
from _common import derive_and_compare, random_inputs, show_steps, verify_claims

import matcalc as mc

W, X, G = mc.matrix("W", "m", "k"), mc.matrix("X", "k", "p"), mc.matrix("G", "m", "p")
try:
    mc.derive(W @ X, W)
except mc.UnsupportedDerivativeError as e:
    print("∂D/∂W:", e)

L = mc.sum(G * (W @ X))
print("L =", L)

inputs = random_inputs(L, {"m": 5, "k": 10, "p": 3}, seed=4)
g = derive_and_compare(L, W, lambda G, W, X: G @ X.T, inputs, "dW = dD Xᵀ", of="L")
show_steps(g)
derive_and_compare(L, X, lambda G, W, X: W.T @ G, inputs, "dX = Wᵀ dD", of="L")
verify_claims(L, W, "G @ X.T", "X @ G.T", "transposed", "transpose", of="L")
verify_claims(L, X, "W.T @ G", "G.T @ W", "transposed", "transpose", of="L")
