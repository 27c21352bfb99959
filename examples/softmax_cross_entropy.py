"""Softmax cross-entropy, from the classification part of the calc_intro_corrections notebook.

L = −Σₖ tₖ log p(k | x) with p = softmax(z), for a one-hot target t:
    ∇_z L = softmax(z) − t
and for a linear layer z = W x (chain rule, as for linear regression):
    ∇_W L = (softmax(W x) − t) xᵀ,   ∇_x L = Wᵀ (softmax(W x) − t)
matcalc does not know that t is one-hot, so it keeps the factor sum(t) (= 1 here): it judges the
notes' softmax(z) − t right once sum(t) is written, and wrong for a general t.
"""
import numpy as np
from _common import derive_and_compare, fail, random_inputs, show_steps, verify_claims

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
g = derive_and_compare(L, z, lambda t, z: softmax(z) - t, inputs, "softmax(z) − t", of="L")
show_steps(g)
verify_claims(L, z, "sum(t) * softmax(z) - t", "t - sum(t) * softmax(z)", "the sign flipped", "sign", of="L")
general = mc.verify(L, z, "softmax(z) - t")
print("verify ∂L/∂z = softmax(z) - t   (the notes' result as written, for a t not known to be one-hot)")
print("\n".join("  " + line for line in str(general).splitlines()))
if general.correct:
    fail("softmax(z) − t is judged right for a t that need not sum to 1")

W, x = mc.matrix("W", "K", "D"), mc.vector("x", "D")
L = -t.T @ mc.log_softmax(W @ x)
print("L =", L)
inputs = random_inputs(L, {"K": K, "D": D}, seed=6) | {"t": one_hot}
derive_and_compare(L, W, lambda t, W, x: (softmax(W @ x) - t) @ x.T, inputs,
                   "(softmax(W x) − t) xᵀ", of="L")
derive_and_compare(L, x, lambda t, W, x: W.T @ (softmax(W @ x) - t), inputs,
                   "Wᵀ (softmax(W x) − t)", of="L")
verify_claims(L, W, "(sum(t) * softmax(W @ x) - t) @ x.T", "x @ (sum(t) * softmax(W @ x) - t).T",
              "transposed", "transpose", of="L")
