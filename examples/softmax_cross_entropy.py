"""Softmax cross-entropy, from the classification part of the calc_intro_corrections notebook.

L = −Σₖ tₖ log p(k | x) with p = softmax(z), for a one-hot target t:
    ∇_z L = softmax(z) − t
and for a linear layer z = W x (chain rule, as for linear regression):
    ∇_W L = (softmax(W x) − t) xᵀ,   ∇_x L = Wᵀ (softmax(W x) − t)
matcalc does not know that t is one-hot, so it keeps the factor sum(t) (= 1 here).
"""
import numpy as np
from _common import derive_and_compare, random_inputs

import matcalc as mc


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


K, D = 4, 3
one_hot = np.zeros((K, 1))
one_hot[2] = 1.0

z, t = mc.vector("z", "K"), mc.vector("t", "K")
L = -t.T @ mc.log_softmax(z)
print("L =", L)
inputs = random_inputs(L, {"K": K}, seed=5) | {"t": one_hot}
derive_and_compare(L, z, lambda t, z: softmax(z) - t, inputs, "softmax(z) − t", of="L")

W, x = mc.matrix("W", "K", "D"), mc.vector("x", "D")
L = -t.T @ mc.log_softmax(W @ x)
print("L =", L)
inputs = random_inputs(L, {"K": K, "D": D}, seed=6) | {"t": one_hot}
derive_and_compare(L, W, lambda t, W, x: (softmax(W @ x) - t) @ x.T, inputs,
                   "(softmax(W x) − t) xᵀ", of="L")
derive_and_compare(L, x, lambda t, W, x: W.T @ (softmax(W @ x) - t), inputs,
                   "Wᵀ (softmax(W x) − t)", of="L")
