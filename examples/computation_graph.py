"""Scalar derivations of the notes: two small computation graphs and one partial derivative.

The backpropagation notes' first circuit, at x = −2, y = 5, z = −4:
    q = x + y,  f = q z:          df/dx = df/dy = z = −4,   df/dz = q = 3
The computation graph of the "Derivatives and computation graph" notes, at a = 5, b = 3, c = 2:
    u = b c,  v = a + u,  J = 3 v:   dJ/dv = 3,  dJ/da = dJ/dv dv/da = 3   (by nudging a by 0.001)
The multivariable-calculus review (calc_intro_corrections notebook):
    ∂/∂x x² cos(x y) = 2x cos(x y) − x² sin(x y) y
"""
from _common import fail, show_steps, verify_claims

import matcalc as mc

CIRCUIT = """
q = x + y
f = q * z
"""
g = mc.derive(CIRCUIT, ["x", "y", "z"], {"x": "", "y": "", "z": ""})
print(CIRCUIT.strip())
print(g)
values = g.to_numpy()(x=-2.0, y=5.0, z=-4.0)
print("at x = −2, y = 5, z = −4:", ", ".join(f"d{k} = {v:g}" for k, v in values.items()))
if values != {"x": -4.0, "y": -4.0, "z": 3.0}:
    fail("the circuit's gradient is not the notes' [−4, −4, 3]")

GRAPH = """
u = b * c
v = a + u
J = 3 * v
"""
shapes = {"a": "", "b": "", "c": ""}
g = mc.derive(GRAPH, ["a", "b", "c"], shapes)
print(GRAPH.strip())
print(g)
show_steps(g["a"])
values = g.to_numpy()(a=5.0, b=3.0, c=2.0)


def J(a, b, c):
    return 3 * (a + b * c)


nudged = (J(5.001, 3, 2) - J(5, 3, 2)) / 0.001    # the notes' "a = 5 → 5.001, J = 33 → 33.003"
print(f"at a = 5, b = 3, c = 2: dJ/da = {values['a']:g} (nudging a: {nudged:.6f}), "
      f"dJ/db = {values['b']:g}, dJ/dc = {values['c']:g}")
if abs(values["a"] - nudged) > 1e-9 or (values["b"], values["c"]) != (6.0, 9.0):
    fail("dJ/da is not the notes' 3")
verify_claims(GRAPH, "b", "3 * c", "c", "the 3 of J = 3 v forgotten", "factor", shapes, of="J")

shapes = {"x": "", "y": ""}
f = "x**2 * cos(x * y)"
g = mc.derive(f, "x", shapes)
print("f =", g.f)
print("∂f/∂x =", g)
show_steps(g)
report = g.check(seed=0)
print(f"  {report}")
if not report.ok:
    fail("finite-difference check of ∂f/∂x")
verify_claims(f, "x", "2*x*cos(x*y) - x**2*sin(x*y)*y", "-x**2*sin(x*y)*y",
              "half of the product rule", "missing-term", shapes)
