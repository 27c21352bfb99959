"""Least squares for the 3×3 linear system of the linear-algebra notes.

    x + 2y + 3z = 12,   2x + 3y + 4z = 11,   3x + 4y + 5z = 10     (A X = b)

Derives ∇ₓ ‖A x − b‖² = 2 Aᵀ (A x − b), evaluates it with the generated numpy function at a
point, and at the least-squares solution, where it vanishes. (A is singular, rank 2, but the
system is consistent, so the minimum of the loss is 0.)
"""
import numpy as np
from _common import derive_and_compare, fail

import matcalc as mc

A_notes = np.array([[1, 2, 3], [2, 3, 4], [3, 4, 5]], dtype=float)
b_notes = np.array([12, 11, 10], dtype=float)

A, x, b = mc.matrix("A", 3, 3), mc.vector("x", 3), mc.vector("b", 3)
f = mc.norm2(A @ x - b) ** 2
print("f =", f)

point = {"A": A_notes, "b": b_notes, "x": np.array([1.0, 1.0, 1.0])}
g = derive_and_compare(f, x, lambda A, b, x: 2 * A.T @ (A @ x - b), point, "2 Aᵀ (A x − b)")
gradient = g.to_numpy()
print("at x = [1, 1, 1]: ∇f =", gradient(**point))

# The string form gives the same derivative.
same = mc.derive("(A @ x - b).T @ (A @ x - b)", "x", shapes={"A": "3,3", "x": "3", "b": "3"})
print("string form:", same)
if str(same) != "2 Aᵀ (A x − b)":
    fail(f"the string form gives {same}")

solution = np.linalg.lstsq(A_notes, b_notes, rcond=None)[0]
at_solution = gradient(A=A_notes, b=b_notes, x=solution)
print("least-squares solution x* =", solution.round(6))
print("at x*: ∇f =", at_solution.round(12))
if not np.allclose(at_solution, 0, atol=1e-9):
    fail("the gradient does not vanish at the least-squares solution")
