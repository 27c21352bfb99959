"""A ReLU network on a mini-batch in the two conventions of the "Matrix Math" notes (petered).

Dimension first (mathematical notation): X is D×N, W is H×D, w is 1×H, y is 1×N,
    L = ‖w relu(W X) − y‖²,   ∇_W L = ((wᵀ δ) ⊙ [W X > 0]) Xᵀ,   δ = 2 (w relu(W X) − y)
Sample first (tensorflow, pytorch): X is N×D, W is D×H, w is H×1, y is N×1,
    L = ‖relu(X W) w − y‖²,   ∇_W L = Xᵀ ((δ wᵀ) ⊙ [X W > 0]),   δ = 2 (relu(X W) w − y)
The same data in both (X, W, w, y of one are the transposes of those of the other) gives the
same loss, so the two gradients w.r.t. W are transposes of each other.
"""
import numpy as np
from _common import derive_and_compare, fail, random_inputs, show_steps, verify_claims

import matcalc as mc

D, H, N = 3, 4, 5

print("Dimension first")
X, W = mc.matrix("X", "D", "N"), mc.matrix("W", "H", "D")
w, y = mc.matrix("w", 1, "H"), mc.matrix("y", 1, "N")
L_dim = mc.norm2(w @ mc.relu(W @ X) - y) ** 2
print("L =", L_dim)


def grad_dim(X, W, w, y):
    s = W @ X
    delta = 2 * (w @ np.maximum(s, 0) - y)
    return ((w.T @ delta) * (s > 0)) @ X.T


dim_first = random_inputs(L_dim, {"D": D, "H": H, "N": N}, seed=7)
g_dim = derive_and_compare(L_dim, W, grad_dim, dim_first, "((wᵀ δ) ⊙ [W X > 0]) Xᵀ", of="L")
show_steps(g_dim)
# The derivative of relu is the mask [z > 0] (step(z)); the classic mistake puts relu itself.
verify_claims(L_dim, W, "((w.T @ (2 * (w @ relu(W @ X) - y))) * step(W @ X)) @ X.T",
              "((w.T @ (2 * (w @ relu(W @ X) - y))) * relu(W @ X)) @ X.T",
              "relu instead of its derivative", "elementwise-derivative", of="L")

print("Sample first")
X, W = mc.matrix("X", "N", "D"), mc.matrix("W", "D", "H")
w, y = mc.vector("w", "H"), mc.vector("y", "N")
L_sample = mc.norm2(mc.relu(X @ W) @ w - y) ** 2
print("L =", L_sample)


def grad_sample(X, W, w, y):
    s = X @ W
    delta = 2 * (np.maximum(s, 0) @ w - y)
    return X.T @ ((delta @ w.T) * (s > 0))


sample_first = {name: value.T for name, value in dim_first.items()}
g_sample = derive_and_compare(L_sample, W, grad_sample, sample_first, "Xᵀ ((δ wᵀ) ⊙ [X W > 0])", of="L")
# The classic mistake here: the other convention's (transposed) gradient.
verify_claims(L_sample, W, "X.T @ ((2 * (relu(X @ W) @ w - y) @ w.T) * step(X @ W))",
              "((2 * (relu(X @ W) @ w - y) @ w.T) * step(X @ W)).T @ X",
              "the other convention's layout", "transpose", of="L")

dW_dim = g_dim.to_numpy()(**dim_first)
dW_sample = g_sample.to_numpy()(**sample_first)
print("∇W, dimension first (H×D):")
print(dW_dim.round(4))
print("∇W, sample first (D×H):")
print(dW_sample.round(4))
print("max |∇W_sample − ∇W_dimᵀ| =", f"{np.max(np.abs(dW_sample - dW_dim.T)):.1e}")
if not np.allclose(dW_sample, dW_dim.T, rtol=1e-12, atol=1e-12):
    fail("the two conventions' gradients are not transposes of each other")
