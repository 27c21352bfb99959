"""The staged computation of the backpropagation notes ("In practice: staged computation").

    f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²)

"To differentiate w.r.t. x or y is very complex", so the notes compute f in eight stages and
backpropagate through them one stage at a time, gradients adding up where a variable forks
(x and y are used twice). matcalc reads the same eight stages as a staged program: it gives ∂f/∂x
and ∂f/∂y in the stage names, with one backward signal δs = ∂f/∂s per stage, and its numbers at
the notes' point x = 3, y = −4 are those of the notes' backward pass.
"""
import math

from _common import fail, run_stages, verify_claims

import matcalc as mc

PROGRAM = """
sigy = sigmoid(y)
num = x + sigy
sigx = sigmoid(x)
xpy = x + y
xpysqr = xpy**2
den = sigx + xpysqr
invden = 1/den
f = num * invden
"""
SHAPES = {"x": "", "y": ""}


def notes_backward_pass(x, y):
    """The notes' forward and backward pass, line by line; returns all its values by name."""
    sigy = 1.0 / (1 + math.exp(-y))                          # (1)
    num = x + sigy                                           # (2)
    sigx = 1.0 / (1 + math.exp(-x))                          # (3)
    xpy = x + y                                              # (4)
    xpysqr = xpy**2                                          # (5)
    den = sigx + xpysqr                                      # (6)
    invden = 1.0 / den                                       # (7)
    f = num * invden                                         # (8)
    dnum = invden                                            # (8)
    dinvden = num                                            # (8)
    dden = (-1.0 / (den**2)) * dinvden                       # (7)
    dsigx = (1.0) * dden                                     # (6)
    dxpysqr = (1.0) * dden                                   # (6)
    dxpy = (2.0 * xpy) * dxpysqr                             # (5)
    dx = 1.0 * dxpy                                          # (4)
    dy = 1.0 * dxpy                                          # (4)
    dx += sigx * (1 - sigx) * dsigx                          # (3)
    dx += (1.0) * dnum                                       # (2)
    dsigy = (1.0) * dnum                                     # (2)
    dy += sigy * (1 - sigy) * dsigy                          # (1)
    return locals()


g = mc.derive(PROGRAM, ["x", "y"], SHAPES)
print("f(x, y) =", g["x"].program.function)
print(g)
for name in ("x", "y"):
    print(g[name].steps())
    report = g[name].check(seed=0)
    print(f"  {report}")
    if not report.ok:
        fail(f"finite-difference check of ∂f/∂{name}")

# matcalc's forward and backward pass, stage by stage, at the notes' point, next to the notes'
# numbers (δs is the notes' ds).
notes = notes_backward_pass(3.0, -4.0)
values = run_stages(g["x"], {"x": 3.0, "y": -4.0})
print(f"at x = 3, y = −4: f = {values['f']:.6f}   notes: f = {notes['f']:.6f}")
if not math.isclose(values["f"], notes["f"], rel_tol=1e-12):
    fail("the forward pass differs from the notes'")
for stage, (delta, expression, _) in g["x"].signals.items():
    print(f"  {delta.name} = {expression} = {values[delta.name]:.6f}   notes: d{stage} = {notes['d' + stage]:.6f}")
    if not math.isclose(values[delta.name], notes["d" + stage], rel_tol=1e-12):
        fail(f"{delta.name} differs from the notes' d{stage}")
gradient = g.to_numpy()(x=3.0, y=-4.0)
for name in ("x", "y"):
    print(f"  ∂f/∂{name} = {gradient[name]:.6f}   notes: d{name} = {notes['d' + name]:.6f}")
    if not math.isclose(gradient[name], notes["d" + name], rel_tol=1e-12):
        fail(f"∂f/∂{name} differs from the notes' d{name}")

# The notes' backward pass, written out in the stage names, and two classic mistakes: the
# derivative of σ taken as σ, and a branch of a fork forgotten (dy = ... instead of dy += ...).
verify_claims(PROGRAM, "x", "invden - num * sigx * (1 - sigx) / den**2 - 2 * num * xpy / den**2",
              "invden - num * sigx / den**2 - 2 * num * xpy / den**2",
              "σ instead of σ (1 − σ)", "elementwise-derivative", SHAPES)
verify_claims(PROGRAM, "y", "invden * sigy * (1 - sigy) - 2 * num * xpy / den**2",
              "invden * sigy * (1 - sigy)",
              "the branch through xpy forgotten", "missing-term", SHAPES)
