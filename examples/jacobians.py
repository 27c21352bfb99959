"""Derivatives of vectors, from "Vector, Matrix, and Tensor Derivatives" in the linear-algebra notes.

Row vectors:  x is 1×D, W is D×C, y = x W:   ∂yⱼ/∂xᵢ = Wᵢⱼ, so "∂y/∂x = W"
Multiple data points:  X is N×D, Y = X W:    each row, ∂Yᵢ,:/∂Xᵢ,: = W
Chain rule:   y = V W x, m = W x:           dyᵢ/dxⱼ = Σₖ Vᵢₖ Wₖⱼ, so ∂y/∂x = V W

The notes' W, indexed [input, output], is the Jacobian in denominator layout (variables ×
outputs); matcalc's default Jacobian is outputs × variables (numerator layout), here Wᵀ.
"""
from _common import fail, show_steps, verify_claims

import matcalc as mc

shapes = {"x": "1,D", "W": "D,C"}
default = mc.derive("x @ W", "x", shapes)
g = mc.derive("x @ W", "x", shapes, layout="denominator")
print("y = x W:  ∂y/∂x =", default, "(outputs × variables);", g, "in denominator layout")
show_steps(g)
for d in (default, g):
    report = d.check(seed=0)
    print(f"  {report}")
    if not report.ok:
        fail(f"finite-difference check of {d}")
verify_claims("x @ W", "x", "W", "W.T", "the other layout", "layout", shapes, of="y", layout="denominator")

# Y = X W for a batch: the derivative of a matrix by a matrix, each row of Y depending on the
# same row of X only, through W — the identity over the rows in the Kronecker form.
batch = mc.derive("X @ W", "X", {"X": "N,D", "W": "D,C"})
print("Y = X W:")
print(batch.describe())

PROGRAM = """
m = W @ x
y = V @ m
"""
shapes = {"V": "N,M", "W": "M,D", "x": "D"}
g = mc.derive(PROGRAM, "x", shapes)
print(PROGRAM.strip())
print("∂y/∂x =", g)
show_steps(g)
verify_claims(PROGRAM, "x", "V @ W", "W @ V", "the factors in the wrong order", "shape", shapes, of="y")
