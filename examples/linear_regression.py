"""Linear regression, from the multivariable-calculus review (calc_intro_corrections notebook).

Scalar output:  y = wᵀx,  L = (y − t)²,   ∇_w L = 2 (y − t) x
Vector output:  y = W x,  L = ‖y − t‖²,   ∇_W L = 2 (y − t) xᵀ
"""
from _common import derive_and_compare, random_inputs, show_steps, verify_claims

import matcalc as mc

# Multivariate input, univariate output: Rᴹ → R.
w, x, t = mc.vector("w", "M"), mc.vector("x", "M"), mc.scalar("t")
L = (w.T @ x - t) ** 2
print("L =", L)
g = derive_and_compare(L, w, lambda w, x, t: 2 * (w.T @ x - t) * x,
                       random_inputs(L, {"M": 4}, seed=1), "2 (wᵀ x − t) x", of="L")
show_steps(g)
verify_claims(L, w, "2 * (w.T @ x - t) * x", "(w.T @ x - t) * x", "the forgotten 2", "factor", of="L")

# Multivariate input, multivariate output: Rᴰ → Rᴹ.
W, x, t = mc.matrix("W", "M", "D"), mc.vector("x", "D"), mc.vector("t", "M")
L = mc.norm2(W @ x - t) ** 2
print("L =", L)
g = derive_and_compare(L, W, lambda W, x, t: 2 * (W @ x - t) @ x.T,
                       random_inputs(L, {"M": 3, "D": 5}, seed=2), "2 (W x − t) xᵀ", of="L")
show_steps(g)
verify_claims(L, W, "2 * (W @ x - t) @ x.T", "2 * x @ (W @ x - t).T", "transposed", "transpose", of="L")
