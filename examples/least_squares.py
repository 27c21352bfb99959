"""Solving A X = b for the 3×3 linear system of the linear-algebra notes, by least squares.

    x + 2y + 3z = 12,   2x + 3y + 4z = 11,   3x + 4y + 5z = 10     (A X = b)

A is singular (rank 2), so A⁻¹ b does not exist; but the system is consistent, and least squares
solves it: minimise f = ‖A x − b‖², whose gradient ∇ₓ f = 2 Aᵀ (A x − b) vanishes at the
solutions (the normal equations Aᵀ A x = Aᵀ b), where the minimum of f is 0. The notes write A
in MATLAB notation ('1 2 3; 2 3 4; 3 4 5'); matcalc reads the loss in that notation too.
"""
import numpy as np
from _common import derive_and_compare, fail, show_steps, verify_claims

import matcalc as mc

A_notes = np.array([[1, 2, 3], [2, 3, 4], [3, 4, 5]], dtype=float)
b_notes = np.array([12, 11, 10], dtype=float)

A, x, b = mc.matrix("A", 3, 3), mc.vector("x", 3), mc.vector("b", 3)
f = mc.norm2(A @ x - b) ** 2
print("f =", f)

point = {"A": A_notes, "b": b_notes, "x": np.array([1.0, 1.0, 1.0])}
g = derive_and_compare(f, x, lambda A, b, x: 2 * A.T @ (A @ x - b), point, "2 Aᵀ (A x − b)")
show_steps(g)
gradient = g.to_numpy()
print("at x = [1, 1, 1]: ∇f =", gradient(**point))

# The string forms give the same derivative: numpy notation, and MATLAB notation with the shapes
# inferred from the expression.
same = mc.derive("(A @ x - b).T @ (A @ x - b)", "x", shapes={"A": "3,3", "x": "3", "b": "3"})
print("string form:", same)
matlab = mc.derive("(A*x - b)'*(A*x - b)", "x", syntax="matlab")
print("MATLAB form:", matlab)
if str(same) != "2 Aᵀ (A x − b)" or str(matlab) != "2 Aᵀ (A x − b)":
    fail(f"the string forms give {same} and {matlab}")

verify_claims(f, x, "2 * A.T @ (A @ x - b)", "A.T @ (A @ x - b)", "the forgotten 2", "factor")

# The notes' A happens to be symmetric: 2 A (A x − b) is right for it, but not for every A.
print("verify ∂f/∂x = 2 * A @ (A @ x - b)   (A general, then A declared symmetric)")
general = mc.verify(f, x, "2 * A @ (A @ x - b)")
symmetric = mc.verify("norm2(A @ x - b)**2", "x", "2 * A @ (A @ x - b)",
                      {"A": mc.matrix("A", 3, 3, symmetric=True), "x": "3", "b": "3"})
print("\n".join("  " + line for line in f"{general}\n{symmetric}".splitlines()))
if general.correct or not symmetric.correct:
    fail("2 A (A x − b) should be wrong for a general A and right for a symmetric one")

solution = np.linalg.lstsq(A_notes, b_notes, rcond=None)[0]
at_solution = gradient(A=A_notes, b=b_notes, x=solution)
print("least-squares solution x* =", solution.round(6))
print("A x* − b =", (A_notes @ solution - b_notes).round(12))
print("at x*: ∇f =", at_solution.round(12))
if not np.allclose(at_solution, 0, atol=1e-9) or not np.allclose(A_notes @ solution, b_notes):
    fail("x* does not solve A X = b, or the gradient does not vanish there")
