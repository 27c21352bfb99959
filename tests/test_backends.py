"""The generated code: the same derivative from numpy, jax and torch, structure-aware lowering,
value-and-gradient. jax and torch are optional: their tests are skipped when absent."""
import subprocess
import sys

import numpy as np
import pytest

import matcalc as mc

CASES = [
    ("x.T @ A @ x", "x", 1, {"x": "n", "A": "n,n"}),
    ("sum(log(1 + exp(-y * (X @ w))))", "w", 2, {"X": "N,n", "y": "N", "w": "n"}),
    ("norm2(W2 @ sigmoid(W1 @ x) - t) ** 2", "W1", 1, {"W1": "h,n", "W2": "m,h", "x": "n", "t": "m"}),
    ("a.T @ inv(X) @ b", "X", 1, {"a": "n", "b": "n", "X": "n,n"}),
    ("logdet(X) + trace(A @ X)", "X", 1, {"X": "n,n", "A": "n,n"}),
    ("-t.T @ log_softmax(W @ x)", "W", 1, {"W": "m,n", "x": "n", "t": "m"}),
    ("sum(softplus(A @ x)) + sum(relu(A @ x)) + sum(abs(x))", "x", 1, {"A": "m,n", "x": "n"}),
    ("A @ X @ B", "X", 1, {"A": "m,n", "X": "n,p", "B": "p,q"}),
    ("norm2(X @ W - Y) ** 2", "W", 2, {"X": "N,n", "W": "n,p", "Y": "N,p"}),
    ("trace(X @ X @ X)", "X", 2, {"X": "n,n"}),
    ("sum(gelu(A @ x)) + sum(silu(x)) + sum(erf(x)) + sum(normpdf(x))", "x", 2, {"A": "m,n", "x": "n"}),
    ("sum(sinh(x) + cosh(x) + arctan(x) + expm1(x) + arcsin(0.1 * x) + arccos(0.1 * x) + log1p(x * x))",
     "x", 1, {"x": "n"}),
    ("-sum(T * log_softmax(X @ W, axis=1)) + mean(logsumexp(W, axis=0))", "W", 1, {"X": "N,n", "W": "n,m", "T": "N,m"}),
    ("sum(G * expm(A)) + trace(cholesky(S @ S.T)) + sum(eigvalsh(A + A.T) ** 3)", "A", 1,
     {"G": "n,n", "A": "n,n", "S": "n,n"}),
    ("cholesky(S)", "S", 1, {"S": "n,n"}),
    ("sum(G * kron(A, S)) + sum(kron(S, A) @ z)", "S", 1, {"G": "6,6", "A": "2,2", "S": "3,3", "z": "6"}),
    ("norm2(y - X @ pinv(X) @ y) ** 2", "X", 1, {"y": "N", "X": "N,n"}),
    ("sum(G * (softmax(X @ W, axis=0) @ B)) + sum(solve(S, W), axis=0) @ ones(m)", "W", 1,
     {"X": "N,n", "W": "n,m", "G": "N,p", "B": "m,p", "S": "n,n"}),
]
SIZES = {"n": 3, "m": 4, "N": 5, "h": 2, "p": 3, "q": 2}


def inputs(g, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for v in g.variables:
        shape = tuple(SIZES.get(d, d) if isinstance(d, str) else d for d in v.shape)
        a = rng.standard_normal(shape)
        if shape[0] == shape[1] and shape[0] > 1:
            a = a + 3 * np.eye(shape[0])
        out[v.name] = a
    return out


def reference(g, values):
    return np.asarray(g.to_numpy()(**values))


@pytest.mark.parametrize("f, wrt, order, shapes", CASES, ids=[c[0] for c in CASES])
def test_numpy_code_is_right(f, wrt, order, shapes):
    g = mc.derive(f, wrt, shapes, order=order)
    assert g.check(seed=1).ok
    assert "matcalc" not in g.source()


@pytest.mark.parametrize("backend", ["jax", "torch"])
@pytest.mark.parametrize("f, wrt, order, shapes", CASES, ids=[c[0] for c in CASES])
def test_jax_and_torch_agree_with_numpy(backend, f, wrt, order, shapes):
    if backend == "jax":
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
    else:
        pytest.importorskip("torch")
    g = mc.derive(f, wrt, shapes, order=order)
    values = inputs(g)
    got = np.asarray(g.compile(backend)(**values))
    np.testing.assert_allclose(got, reference(g, values), rtol=1e-10, atol=1e-12)
    assert "import numpy" not in g.source(backend) and "matcalc" not in g.source(backend)


def test_jax_function_is_jit_compatible():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    g = mc.hessian("sum(log(1 + exp(-y * (X @ w))))", "w", {"X": "N,n", "y": "N", "w": "n"})
    fn = g.to_jax()
    values = inputs(g)
    args = [jax.numpy.asarray(values[name].reshape(-1, 1) if values[name].ndim == 1 else values[name])
            for name in fn.params]
    np.testing.assert_allclose(np.asarray(jax.jit(fn.function)(*args)), reference(g, values), rtol=1e-10)
    # for XLA, Aᵀ v is written (vᵀ A)ᵀ
    source = mc.derive("norm2(A @ x - b) ** 2", "x", {"A": "m,n", "x": "n", "b": "m"}).source("jax")
    assert "((A @ x - b).T @ A).T" in source


def test_value_and_gradient_share_the_forward_pass():
    g = mc.derive("norm2(W2 @ sigmoid(W1 @ x) - t) ** 2", "W1", {"W1": "h,n", "W2": "m,h", "x": "n", "t": "m"})
    fn = g.to_numpy(with_value=True)
    assert fn.source.count("sigmoid(W1 @ x)") == 1
    values = inputs(g)
    value, gradient = fn(**values)
    assert np.isclose(value, (g.f.to_numpy())(**values))
    np.testing.assert_allclose(gradient, g.to_numpy()(**values))
    grads = mc.derive("norm2(W2 @ sigmoid(W1 @ x + b) - t) ** 2", ["W1", "W2", "b"],
                      {"W1": "h,n", "W2": "m,h", "x": "n", "t": "m", "b": "h"})
    value, parts = grads.to_numpy(with_value=True)(**inputs(grads["W1"]))
    assert isinstance(value, float) and set(parts) == {"W1", "W2", "b"}


@pytest.mark.parametrize("f, wrt, shapes, order, fragment", [
    ("sum(log(1 + exp(-y * (X @ w))))", "w", {"X": "N,n", "y": "N", "w": "n"}, 2, "t2.T @ t2"),   # Zᵀ Z
    ("a.T @ inv(X) @ b", "X", {"a": "n", "b": "n", "X": "n,n"}, 1, "np.linalg.solve("),
    ("norm2(A @ B @ C @ x) ** 2", "x", {"A": "n,n", "B": "n,n", "C": "n,n", "x": "n"}, 1,
     "chain(C.T, B.T, A.T, A, B, C, x)"),
    ("sigmoid(W @ x)", "x", {"W": "m,n", "x": "n"}, 1, "* W"),                                      # no diag
    ("logdet(P)", "P", {"P": mc.matrix("P", "n", "n", spd=True)}, 1, "spd_inv(P)"),   # by Cholesky
    ("0.5 * y.T @ solve(K, y) + 0.5 * logdet(K)", "K", {"K": mc.matrix("K", "n", "n", spd=True), "y": "n"}, 1,
     "chain(t1, y, y.T, t1)"),                                                            # K⁻¹ once
    ("x.T @ A @ x", "x", {"x": "n", "A": "n,n"}, 1, "A @ x + A.T @ x"),       # (A + Aᵀ) x distributed
    ("x.T @ (A - 3 * B) @ y", "x", {"x": "n", "y": "n"}, 1, "A @ y - 3 * (B @ y)"),
])
def test_structure_aware_lowering(f, wrt, shapes, order, fragment):
    g = mc.derive(f, wrt, shapes, order=order)
    src = g.source()
    assert fragment in src, src
    assert "diagflat" not in src
    assert g.check(seed=0).ok


def test_a_sum_is_not_distributed_when_it_is_formed_anyway():
    hessian = mc.derive("x.T @ A @ x", "x", {"x": "n", "A": "n,n"}, order=2).source()
    assert "A + A.T" in hessian
    from matcalc.printing.code import source
    from matcalc.printing.numpy import NUMPY
    A, B, x = mc.matrix("A", "n", "n"), mc.matrix("B", "n", "n"), mc.vector("x", "n")
    text, _, _ = source([(A + B) @ x, A + B], NUMPY)
    assert "t1 = A + B" in text and "t1 @ x" in text, text   # shared: formed once, then one product


def test_logdet_of_an_spd_matrix_uses_cholesky_and_trace_a_sum():
    P = mc.matrix("P", "n", "n", spd=True)
    f = mc.logdet(P) + mc.trace(mc.matrix("A", "n", "n") @ P @ mc.matrix("B", "n", "n"))
    src = f.to_numpy().source
    assert "cholesky" in src and "np.sum(" in src and "np.trace" not in src
    rng = np.random.default_rng(0)
    M, A, B = rng.standard_normal((3, 3, 3))
    Pv = M @ M.T + 3 * np.eye(3)
    assert np.isclose(f.to_numpy()(P=Pv, A=A, B=B), np.linalg.slogdet(Pv)[1] + np.trace(A @ Pv @ B))


def test_kronecker_products_are_applied_not_formed():
    from matcalc import expr as E
    A, B, v = mc.matrix("A", 2, 3), mc.matrix("B", 4, 5), mc.vector("v", 15)
    e = E.kron(A, B) @ v
    src = e.to_numpy().source
    assert "kron" not in src and "reshape" in src
    rng = np.random.default_rng(0)
    a, b, vv = rng.standard_normal((2, 3)), rng.standard_normal((4, 5)), rng.standard_normal(15)
    np.testing.assert_allclose(e.to_numpy()(A=a, B=b, v=vv).ravel(), np.kron(a, b) @ vv)


def test_unknown_backend():
    with pytest.raises(mc.MatcalcError, match="unknown backend"):
        mc.derive("x.T @ x", "x", {"x": "n"}).compile("fortran")


TAILS = np.array([-800.0, -40.0, -1.0, 0.0, 1e-9, 2.0, 40.0, 800.0])


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_stable_functions_are_accurate_in_both_tails_without_warnings(backend):
    if backend == "jax":
        pytest.importorskip("jax").config.update("jax_enable_x64", True)
    elif backend == "torch":
        pytest.importorskip("torch")
    exact_sigmoid = [0.0, np.exp(-40) / (1 + np.exp(-40)), 1 / (1 + np.e), 0.5, 0.5 + 0.25e-9,
                     1 / (1 + np.exp(-2)), 1 / (1 + np.exp(-40)), 1.0]
    exact_softplus = [0.0, np.log1p(np.exp(-40)), np.log1p(np.exp(-1)), np.log(2), np.log(2) + 0.5e-9,
                      2 + np.log1p(np.exp(-2)), 40 + np.log1p(np.exp(-40)), 800.0]
    for f, exact in (("sigmoid(z)", exact_sigmoid), ("softplus(z)", exact_softplus)):
        compiled = mc.derive(f"sum({f} * c)", "c", {"z": "k", "c": "k"}).compile(backend)
        z = compiled.adapter.coerce("z", TAILS.reshape(-1, 1), ("k", 1), {})
        with np.errstate(all="raise", under="ignore"):   # numpy: a warning it shows would fail this
            got = np.asarray(compiled.function(c=z, z=z)).ravel()   # the generated function itself
        np.testing.assert_allclose(got, exact, rtol=1e-14, atol=0)


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_result_never_shares_memory_with_an_input(backend):
    if backend == "torch":
        pytest.importorskip("torch")
    g = mc.derive("trace(A.T @ X) + x.T @ a", ["X", "x"], {"A": "n,m", "X": "n,m", "a": "n", "x": "n"})
    assert str(g) == "∂/∂X: A\n∂/∂x: a"   # the generated code returns the inputs themselves
    rng = np.random.default_rng(0)
    A, a = rng.standard_normal((3, 2)), rng.standard_normal((3, 1))
    out = g.compile(backend)(A=A, X=np.zeros((3, 2)), a=a, x=np.zeros((3, 1)))
    for result, given in ((out["X"], A), (out["x"], a)):
        result = np.asarray(result)
        assert np.array_equal(result, given) and not np.shares_memory(result, given)


def test_shared_ends_of_matrix_chains_are_computed_once():
    # sum(B A B A … B p) by B: k terms, each a product of up to 2k factors; with the vector ends
    # shared the code makes O(k) products, not O(k²)
    def products(k):
        g = mc.derive("sum(" + " @ ".join(["B @ A"] * k) + " @ p)", "B", {"B": "n,n", "A": "n,n", "p": "n"})
        assert g.check(seed=0).ok
        body = g.source()[g.source().rindex("def gradient"):]
        return body.count(" @ ") + body.count(", ")   # a product, or a factor of chain(…)
    assert products(20) < 2.3 * products(10)


LAYER_NORM = "sum(G * (g * (A - mean(A, axis=0)) / sqrt(mean((A - mean(A, axis=0)) ** 2, axis=0) + 1e-5)))"


def test_equal_rows_broadcast_instead_of_being_formed():
    """𝟏 (𝟏ᵀ M) / h inside sums and products is the row 𝟏ᵀ M / h, broadcast: the layer-norm
    gradient forms no h×h or h×N matrix of ones, computes its sum S once (S − 𝟏 𝟏ᵀ S / h), and
    scales rows before they broadcast."""
    g = mc.derive(LAYER_NORM, "A", {"A": "h,N", "g": "h", "G": "h,N"})
    src = g.source()
    assert "np.ones((size_h, 1))" not in src and "chain(" not in src, src
    assert src.count("t4 + t5") == 1 and "t6 - (np.ones((1, size_h)) @ t6 / np.float64(size_h))" in src, src
    assert g.check(seed=3).ok


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
@pytest.mark.parametrize("text, lowered", [
    ("X * (ones(m) @ r.T) + ones(m) @ r.T", True),         # a row beside a full matrix: broadcast
    ("(ones(m) @ r.T) * (c @ ones(n).T)", True),          # a row times a column: still m×n
    ("ones(m) @ r.T", False),                              # a result keeps its shape
    ("(ones(m) @ r.T) @ B", False),                        # a factor of a matrix product is formed
    ("exp(ones(m) @ r.T) + X", False),                     # a function's argument is formed
    ("3 * (ones(m) @ r.T) - 2 * (c @ ones(n).T)", True),   # scaled rows and columns, broadcast
])
def test_broadcast_rows_keep_every_shape_and_value(backend, text, lowered):
    if backend == "jax":
        jax = pytest.importorskip("jax")
        jax.config.update("jax_enable_x64", True)
    elif backend == "torch":
        pytest.importorskip("torch")
    from matcalc.derivative import adapter_for
    from matcalc.printing.code import source
    from matcalc.printing.numpy import NUMPY, CompiledFunction
    shapes = {"X": "m,n", "r": "n", "c": "m", "B": "n,p"}
    e = mc.parse(text, shapes)
    rng = np.random.default_rng(2)
    values = {"X": rng.normal(size=(4, 3)), "r": rng.normal(size=3), "c": rng.normal(size=4),
              "B": rng.normal(size=(3, 2))}
    ones_m, ones_n = np.ones((4, 1)), np.ones((3, 1))
    r, c = values["r"][:, None], values["c"][:, None]
    want = {
        "X * (ones(m) @ r.T) + ones(m) @ r.T": values["X"] * (ones_m @ r.T) + ones_m @ r.T,
        "(ones(m) @ r.T) * (c @ ones(n).T)": (ones_m @ r.T) * (c @ ones_n.T),
        "ones(m) @ r.T": ones_m @ r.T,
        "(ones(m) @ r.T) @ B": ones_m @ r.T @ values["B"],
        "exp(ones(m) @ r.T) + X": np.exp(ones_m @ r.T) + values["X"],
        "3 * (ones(m) @ r.T) - 2 * (c @ ones(n).T)": 3 * (ones_m @ r.T) - 2 * (c @ ones_n.T),
    }[text]
    function = CompiledFunction(e, "f", adapter=adapter_for(backend)())
    arguments = {**values, "m": 4, "n": 3}
    got = np.asarray(function(**{name: arguments[name] for name in function.accepts}))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12)
    code, _, _ = source([e], NUMPY)
    if lowered:   # no matrix of ones, and no product with one
        assert "np.ones(" not in code, code


def test_a_sum_containing_another_adds_to_it():
    from matcalc.printing.code import source
    from matcalc.printing.numpy import NUMPY
    A, B, C = (mc.matrix(name, "n", "n") for name in "ABC")
    text, _, _ = source([A + B + C, (A + B) @ C], NUMPY)
    assert "t1 = A + B" in text and "t1 + C" in text and text.count("A + B") == 1, text


def test_generated_code_is_written_without_the_backends_library():
    # the web page shows jax and torch code where neither is installed: writing code needs no import
    code = ("import sys; sys.modules['jax'] = None; sys.modules['torch'] = None\n"
            "import matcalc as mc\n"
            "g = mc.derive('sum(log(1 + exp(-y * (X @ w))))', 'w', {'X': 'N,n', 'y': 'N', 'w': 'n'}, order=2)\n"
            "print(g.source('jax').splitlines()[0]); print(g.source('torch').splitlines()[0])\n"
            "try:\n    g.to_jax()\nexcept mc.MatcalcError as err:\n    print(err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["import jax.numpy as jnp", "import torch",
                                       "the jax backend needs jax: pip install jax"]


@pytest.mark.parametrize("backend", ["numpy", "jax", "torch"])
def test_source_is_the_code_that_compile_runs(backend):
    pytest.importorskip({"numpy": "numpy", "jax": "jax", "torch": "torch"}[backend])
    for f, wrt, order in [("x.T @ A @ x", "x", 1), ("softmax(W @ x)", "W", 1), ("logdet(X)", "X", 2)]:
        g = mc.derive(f, wrt, order=order)
        assert g.source(backend) == g.compile(backend).source
