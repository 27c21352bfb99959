"""Every operation: printed by every printer, evaluated by numpy, differentiated, and checked.

One table (``SAMPLES``) holds an expression for each operation; each is derived and checked
against finite differences. The coverage test fails when an operation of ``matcalc.ops``
lacks a sample, a printer entry, a numpy form, a derivative or an input domain.
"""
import pytest

import matcalc as mc
from matcalc import expr as E
from matcalc.ops import OPERATIONS, operation_key
from matcalc.printing.latex import LatexPrinter
from matcalc.printing.numpy import NUMPY
from matcalc.printing.text import TextPrinter
from matcalc.rules import RULES

SHAPES = {"x": "n", "y": "n", "z": "m", "A": "n,n", "B": "m,n", "C": "n,m", "X": "n,n",
          "c": "", "w": "1,n", "P": mc.matrix("P", "n", "n", spd=True),
          "p": mc.vector("p", "n", positive=True)}

# operation -> (expression, variable); the derivative of each is checked numerically
SAMPLES = {
    "add": ("sum(A @ x + y)", "x"),
    "T": ("sum(B.T @ z)", "z"),
    "trace": ("trace(A @ X @ A)", "X"),
    "sum": ("sum(A @ x) * sum(x)", "x"),
    "diag": ("x.T @ diag(y) @ A @ x", "x"),
    "diagvec": ("diag(X).T @ x", "X"),
    "vec": ("vec(X).T @ vec(A @ X)", "X"),
    "mul": ("sum(x * y * x)", "x"),
    "matmul": ("x.T @ A @ A @ x", "A"),
    "kron": ("sum(kron(A, X) * kron(X, A))", "X"),
    # the adjoints of ⊗ appear in gradients only: Σᵢⱼ Aᵢⱼ S₍ᵢⱼ₎ and [⟨S₍ᵢⱼ₎, D⟩]ᵢⱼ
    "kron_blocksum": lambda: (mc.sum(E.kron_blocksum(mc.matrix("A", 2, 3), mc.exp(mc.matrix("S", 8, 9)), (4, 3))),
                              mc.matrix("S", 8, 9)),
    "kron_blockdot": lambda: (mc.sum(mc.sin(E.kron_blockdot(mc.matrix("S", 8, 9), mc.matrix("D", 4, 3), (2, 3)))),
                              mc.matrix("D", 4, 3)),
    "unvec": (lambda: (mc.sum(mc.exp(E.unvec(mc.vector("v", 6), 2, 3))), mc.vector("v", 6))),
    "pow": ("sum(p ** 3) + sum(p ** 0.5) + (x.T @ x) ** c", "x"),
    "inv": ("x.T @ inv(P) @ y", "P"),
    "matpow": lambda: (mc.parse("trace(A*X^5) + y'*X^-4*x", SHAPES, syntax="matlab"), mc.matrix("X", "n", "n")),
    "det": ("det(X)", "X"),
    "logdet": ("logdet(P)", "P"),
    "norm2": ("norm2(B @ x - z)", "x"),
    "softmax": ("y.T @ softmax(A @ x)", "x"),
    "log_softmax": ("-y.T @ log_softmax(A @ x)", "x"),
    "fn:exp": ("sum(exp(A @ x))", "x"),
    "fn:log": ("sum(log(p)) + y.T @ log(p)", "p"),
    "fn:sin": ("sum(sin(X))", "X"),
    "fn:cos": ("cos(x)", "x"),
    "fn:tan": ("y.T @ tan(0.3 * x)", "x"),
    "fn:tanh": ("tanh(A @ x)", "x"),
    "fn:sigmoid": ("sum(sigmoid(w @ A))", "w"),
    "fn:relu": ("sum(relu(A @ x))", "A"),
    "fn:softplus": ("sum(softplus(A @ x))", "x"),
    "fn:abs": ("sum(abs(x))", "x"),
    "fn:step": ("y.T @ (step(x) * x)", "x"),
    "fn:sign": ("sign(x).T @ x", "x"),
    "fn:sinh": ("sum(sinh(A @ x))", "x"),
    "fn:cosh": ("y.T @ cosh(x)", "x"),
    "fn:arcsin": ("sum(arcsin(0.1 * A @ x))", "x"),
    "fn:arccos": ("y.T @ arccos(0.2 * x)", "x"),
    "fn:arctan": ("sum(arctan(B @ x))", "x"),
    "fn:log1p": ("sum(log1p(p * p))", "p"),
    "fn:expm1": ("sum(expm1(X))", "X"),
    "fn:erf": ("y.T @ erf(A @ x)", "x"),
    "fn:normcdf": ("sum(normcdf(w @ A))", "w"),
    "fn:normpdf": ("sum(normpdf(A @ x))", "x"),
    "fn:gelu": ("sum(gelu(A @ x))", "A"),
    "fn:silu": ("sum(silu(B @ x))", "x"),
    "pinv": ("z.T @ pinv(C) @ y", "C"),
    "softmax:0": ("sum(B * softmax(B @ X, axis=0))", "X"),
    "softmax:1": ("sum(softmax(C.T @ A, axis=1) * B)", "A"),
    "log_softmax:0": ("-sum(B * log_softmax(B @ X, axis=0))", "X"),
    "log_softmax:1": ("-sum(log_softmax(B, axis=1) @ X)", "B"),
    "expm": ("sum(A * expm(X))", "X"),
    "expm_frechet": lambda: (mc.sum(mc.matrix("A", "n", "n") * E.expm_frechet(mc.matrix("X", "n", "n"),
                                                                              mc.matrix("Y", "n", "n"))),
                             mc.matrix("Y", "n", "n")),
    "cholesky": ("trace(A @ cholesky(P))", "P"),
    "eigvalsh": ("y.T @ eigvalsh(X + X.T)", "X"),
    # eigenvectors appear in derivatives only (their sign is arbitrary: V ⊙ V is not)
    "eigvecsh": lambda: (mc.parse("x.T @ A", SHAPES) @ E.mul(E.eigvecsh(SHAPES["P"]), E.eigvecsh(SHAPES["P"]))
                         @ mc.vector("x", "n"), mc.vector("x", "n")),
}
LEAVES = {"var", "const", "dim", "zero", "ones", "eye", "commutation", "lower_half"}


@pytest.mark.parametrize("key", sorted(OPERATIONS))
def test_operation_is_covered(key):
    op = key.split(":")[0]
    if key not in LEAVES:
        assert key in SAMPLES, f"no sample expression for {key}"
    for printer in (TextPrinter(), LatexPrinter()):
        assert op in printer.call_names or hasattr(printer, "render_" + op), f"{printer} cannot print {key}"
    if op == "fn":
        assert key[3:] in NUMPY.functions
    assert OPERATIONS[key].domain in {"any", "positive", "invertible", "nonzero", "small", "spd", "symmetric"}
    if OPERATIONS[key].derivative == "rule":
        assert RULES.differentials.get(key), f"no differential rule for {key}"


def sample(key):
    """The expression and variable of a sample: from a string, or built in Python."""
    entry = SAMPLES[key]
    if callable(entry):
        return entry()
    f = mc.parse(entry[0], SHAPES)
    return f, next(v for v in f.free_vars if v.name == entry[1])


@pytest.mark.parametrize("key", [k for k, v in SAMPLES.items() if v])
def test_derivative_through_each_operation(key):
    f, wrt = sample(key)
    g = mc.derive(f, wrt)
    report = g.check(seed=7)
    assert report.ok, f"{key}: {g} — {report}"


@pytest.mark.parametrize("key", [k for k, v in SAMPLES.items() if v])
def test_each_sample_contains_its_operation_and_compiles(key):
    f, _ = sample(key)
    keys = {operation_key(node) for node in E.walk(f)}
    assert key in keys, f"the sample for {key} does not use it: {f}"
    assert str(f) and f.latex()
    assert f.to_numpy().source.startswith("import numpy as np")


def test_kron_prints_and_evaluates():
    import numpy as np
    a, b = mc.matrix("a", 2, 3), mc.matrix("b", 3, 2)
    k = E.kron(a, b)
    assert str(k) == "a ⊗ b" and k.latex() == r"a \otimes b" and k.shape == (6, 6)
    A, B = np.arange(6.0).reshape(2, 3), np.ones((3, 2))
    np.testing.assert_allclose(k.to_numpy()(a=A, b=B), np.kron(A, B))
