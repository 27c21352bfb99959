"""Hessians, Hessian-vector products, order-3 and order-4 derivatives, several variables,
layouts and symmetric variables (issue: Hessians and matrix-valued derivatives)."""
import numpy as np
import pytest

import matcalc as mc
from matcalc.printing.text import to_text

SHAPES = {"x": "n", "A": "n,n", "b": "m", "B": "m,n", "X": "N,n", "y": "N", "w": "n", "t": "n", "z": "n",
          "v": "n", "W": "n,p", "Y": "N,p"}

HESSIANS = [
    ("x.T @ A @ x", "x", "A + Aᵀ"),
    ("norm2(B @ x - b) ** 2", "x", "2 Bᵀ B"),
    ("sum(exp(x))", "x", "diag(exp(x))"),
    ("sum(log(1 + exp(-y * (X @ w))))", "w", "Xᵀ diag(y∘² ⊙ s ⊙ (1 − s)) X, where s = σ(−y ⊙ (X w))"),
    ("-t.T @ log_softmax(z)", "z", "sum(t) (diag(p) − p pᵀ), where p = softmax(z)"),
    ("log(sum(exp(z)))", "z", "diag(p) − p pᵀ, where p = softmax(z)"),
    ("norm2(x)", "x", "I / ‖x‖ − x xᵀ / ‖x‖³"),
]


@pytest.mark.parametrize("f, wrt, expected", HESSIANS, ids=[h[0] for h in HESSIANS])
def test_hessian_closed_forms(f, wrt, expected):
    H = mc.hessian(f, wrt, SHAPES)
    assert H.kind == "hessian" and H.form == "matrix" and H.shape == ("n", "n")
    assert str(H) == expected
    assert H.check(seed=4).ok


def test_hessian_vector_product_without_the_hessian():
    p = mc.hvp("sum(log(1 + exp(-y * (X @ w))))", "w", "v", SHAPES)
    assert str(p) == "Xᵀ (y∘² ⊙ (X v) ⊙ s ⊙ (1 − s)), where s = σ(−y ⊙ (X w))"
    assert "diag" not in str(p)
    assert p.check(seed=0).ok
    rng = np.random.default_rng(0)
    Xv, yv = rng.standard_normal((5, 3)), rng.choice([-1.0, 1.0], 5)
    wv, vv = rng.standard_normal(3), rng.standard_normal(3)
    H = mc.hessian("sum(log(1 + exp(-y * (X @ w))))", "w", SHAPES).to_numpy()(X=Xv, y=yv, w=wv)
    np.testing.assert_allclose(p.to_numpy()(X=Xv, y=yv, w=wv, v=vv), H @ vv, rtol=1e-12)


ORDER_3_4 = [
    # f, wrt, order, differential, vec form, full array from numpy inputs
    ("P @ W @ Q", "W", 1, "P dW Q", "Qᵀ ⊗ P", lambda P, Q, W: np.einsum("ik,lj->ijkl", P, Q)),
    ("W", "W", 1, "dW", "I", lambda W: np.einsum("ik,jl->ijkl", np.eye(W.shape[0]), np.eye(W.shape[1]))),
    ("W.T", "W", 1, "dWᵀ", "K(n,p)", lambda W: np.einsum("il,jk->ijkl", np.eye(W.shape[1]), np.eye(W.shape[0]))),
    ("norm2(X @ W - Y) ** 2", "W", 2, "2 Xᵀ X dW", "2 I ⊗ (Xᵀ X)",
     lambda X, W, Y: 2 * np.einsum("ik,jl->ijkl", X.T @ X, np.eye(W.shape[1]))),
    ("sigmoid(B @ x)", "B", 1, "(dB x) ⊙ σ(B x) ⊙ (1 − σ(B x))", "diag(σ(B x) ⊙ (1 − σ(B x))) (xᵀ ⊗ I)", None),
    ("B @ x", "B", 1, "dB x", "xᵀ ⊗ I", lambda B, x: np.einsum("ik,l->ikl", np.eye(B.shape[0]), x.ravel())),
]


@pytest.mark.parametrize("f, wrt, order, differential, vec_form, truth", ORDER_3_4, ids=[c[0] for c in ORDER_3_4])
def test_order_3_and_4_forms(f, wrt, order, differential, vec_form, truth):
    shapes = dict(SHAPES, P="m,n", Q="p,q")
    g = mc.derive(f, wrt, shapes, order=order)
    assert g.is_tensor and g.form == "vec"
    assert str(g.differential) == differential
    assert str(g) == vec_form
    assert g.check(seed=2).ok
    if truth is not None:
        rng = np.random.default_rng(1)
        sizes = {"m": 2, "n": 3, "p": 4, "q": 5, "N": 6}
        inputs = {name: rng.standard_normal(tuple(sizes.get(d, 1) for d in (dims + ",1").split(",")[:2]))
                  for name, dims in shapes.items() if name in {v.name for v in g.variables}}
        got = g.to_numpy()(**inputs)
        want = truth(**inputs)
        np.testing.assert_allclose(got, want.reshape(got.shape), atol=1e-12)


VEC_FORMS = [c[:3] for c in ORDER_3_4] + [
    ("(A @ W).T", "W", 1), ("trace(S) * x", "S", 1), ("sum(W) * x", "W", 1), ("W + s", "s", 1),
    ("W + x", "x", 1), ("W + y.T", "y", 1), ("x * s + W", "s", 1), ("trace(S @ S @ S)", "S", 2),
    ("x @ y.T + x", "x", 1), ("exp(x @ y.T) + s * x", "x", 1),   # a sum with a broadcast term
]


@pytest.mark.parametrize("f, wrt, order", VEC_FORMS, ids=[c[0] for c in VEC_FORMS])
def test_vec_form_equals_the_checked_full_array(f, wrt, order):
    """The Kronecker (vec) form is printed, the full array is computed from the differential and
    checked against finite differences: evaluated, the two must be the same matrix."""
    from matcalc.check import as_vec_jacobian
    from matcalc.printing.numpy import NumpyFunction
    from matcalc.shapes import resolve_dim
    shapes = dict(SHAPES, P="m,n", Q="p,q", A="m,n", S="n,n", s="1,1", y="p")
    g = mc.derive(f, wrt, shapes, order=order)
    assert g.form == "vec" and g.check(seed=3).ok
    sizes = {"m": 2, "n": 3, "p": 4, "q": 5, "N": 6}
    rng = np.random.default_rng(4)
    inputs = {v.name: rng.standard_normal(tuple(resolve_dim(d, sizes) for d in v.shape)) for v in g.variables}
    inputs.update(sizes)
    vec_function = NumpyFunction(g.expr, "J", output="matrix")
    vec_form = vec_function(**{k: v for k, v in inputs.items() if k in vec_function.accepts})
    of = g.f if order == 1 else mc.derive(g.f, wrt, shapes).expr
    out_shape = tuple(resolve_dim(d, sizes) for d in of.shape)
    in_shape = tuple(resolve_dim(d, sizes) for d in g.wrt.shape)
    tensor = g.to_numpy()
    full = as_vec_jacobian(tensor(**{k: v for k, v in inputs.items() if k in tensor.accepts}), out_shape, in_shape)
    np.testing.assert_allclose(vec_form, full, rtol=1e-12, atol=1e-12)


def test_a_row_broadcast_has_a_gradient():
    g = mc.derive("sum((A + y.T) ** 2)", "y", {"A": "m,p", "y": "p"})
    assert str(g) == "2 (y + Aᵀ) 𝟏"   # Σ_i (A_i + yᵀ)ᵀ: the rows of A plus m copies of y
    assert g.check(seed=0).ok


def test_full_array_axes_are_output_then_variable():
    g = mc.derive("A @ W", "W", {"A": "m,n", "W": "n,p"})
    arr = g.to_numpy()(A=np.ones((2, 3)), W=np.ones((3, 4)))
    assert arr.shape == (2, 4, 3, 4)
    assert g.describe() == "d(A W) = A dW\n∂vec(A W)/∂vec(W)ᵀ = I ⊗ A\nJ[V] = A V"


def test_hessian_of_trace_cubed_needs_a_commutation_matrix():
    H = mc.hessian("trace(X @ X @ X)", "X", {"X": "n,n"})
    assert str(H.expr) == "3 (X ⊗ I + I ⊗ Xᵀ) K(n,n)"
    assert str(H) == "H[V] = 3 (V X + X V)ᵀ"   # the linear map prints shorter
    assert H.check(seed=0).ok


def test_names_nest_through_a_deep_network():
    g = mc.derive("norm2(sigmoid(W3 @ sigmoid(W2 @ sigmoid(W1 @ x))) - t)**2", "W1", {"x": "n", "t": "m"})
    assert str(g) == ("2 ((W₂ᵀ ((W₃ᵀ (s₃ ⊙ (1 − s₃) ⊙ (s₃ − t))) ⊙ s₂ ⊙ (1 − s₂))) ⊙ s₁ ⊙ (1 − s₁)) xᵀ, "
                      "where s₁ = σ(W₁ x), s₂ = σ(W₂ s₁), s₃ = σ(W₃ s₂)")
    assert r"s_{3} = \sigma\left(W_{3} s_{2}\right)" in g.latex()

    def printed_length(layers):
        f = "x"
        for i in range(1, layers + 1):
            f = f"sigmoid(W{i} @ {f})"
        return len(str(mc.derive(f"norm2({f} - t)**2", "W1", {"x": "n", "t": "m"})))
    assert printed_length(32) < 2.2 * printed_length(16)   # linear in depth, not quadratic


def test_a_short_subexpression_printed_four_times_gets_a_name():
    g = mc.derive("sum(sigmoid(W1 @ x)) * sum(sigmoid(W1 @ x) ** 2)", "W1", {"x": "n"})
    assert str(g) == "((1 − s) ⊙ (2 sum(s) s∘² + sum(s∘²) s)) xᵀ, where s = σ(W₁ x)"
    # the common Hadamard factors taken out, σ(W₁ x) prints twice: it stays written out
    g = mc.derive("-t.T @ log_softmax(W2 @ sigmoid(W1 @ x))", "W1", {"x": "n", "t": "m"})
    assert str(g) == "((W₂ᵀ (sum(t) softmax(W₂ σ(W₁ x)) − t)) ⊙ σ(W₁ x) ⊙ (1 − σ(W₁ x))) xᵀ"


def test_several_variables_share_one_pass():
    x, b = mc.vector("x", "n"), mc.vector("b", "h")
    W1, W2, t = mc.matrix("W1", "h", "n"), mc.matrix("W2", "m", "h"), mc.vector("t", "m")
    grads = mc.derive(mc.norm2(W2 @ mc.sigmoid(W1 @ x + b) - t) ** 2, [W1, W2, b])
    assert list(grads) == ["W1", "W2", "b"] and grads[W2] is grads["W2"]
    assert str(grads["W2"]) == "2 (W₂ s − t) sᵀ, where s = σ(W₁ x + b)"
    assert all(report.ok for report in grads.check(seed=1).values())
    source = grads.source()
    assert source.count("sigmoid(") == 2     # the helper's definition and one call: computed once
    rng = np.random.default_rng(0)
    values = dict(W1=rng.standard_normal((4, 3)), W2=rng.standard_normal((2, 4)), b=rng.standard_normal(4),
                  x=rng.standard_normal(3), t=rng.standard_normal(2))
    together = grads.to_numpy()(**values)
    for name in ("W1", "W2", "b"):
        alone = grads[name].to_numpy()(**values)
        np.testing.assert_allclose(together[name], alone)
    assert together["b"].shape == (4,)


def test_layouts_of_the_bilinear_form():
    # ∇_A vᵀAu: v uᵀ in denominator layout (the shape of A), u vᵀ in numerator layout
    v, u, A = mc.vector("v", "m"), mc.vector("u", "n"), mc.matrix("A", "m", "n")
    g_den = mc.derive(v.T @ A @ u, A)
    g_num = mc.derive(v.T @ A @ u, A, layout="numerator")
    assert (str(g_den), str(g_num)) == ("v uᵀ", "u vᵀ")
    assert g_den.shape == ("m", "n") and g_num.shape == ("n", "m")
    assert g_den.check(seed=0).ok and g_num.check(seed=0).ok
    vals = dict(v=np.arange(2.0), u=np.arange(3.0) + 1, A=np.ones((2, 3)))
    np.testing.assert_allclose(g_num.to_numpy()(**vals), g_den.to_numpy()(**vals).T)
    J_den = mc.derive(A @ u, u, layout="denominator")
    assert str(J_den) == "Aᵀ" and J_den.check(seed=0).ok


@pytest.mark.parametrize("policy, expected", [
    ("sym", "½ (A + Aᵀ)"), ("cookbook", "A + Aᵀ − A ⊙ I"), ("ignore", "Aᵀ")])
def test_symmetric_gradient_policies(policy, expected):
    X = mc.matrix("X", "n", "n", symmetric=True)
    A = mc.matrix("A", "n", "n")
    g = mc.derive(mc.trace(A @ X), X, symmetric_gradient=policy)
    assert str(g) == expected
    assert g.check(seed=3).ok


def test_symmetric_properties_simplify_results():
    S = mc.matrix("S", "n", "n", spd=True)
    x, mu = mc.vector("x", "n"), mc.vector("mu", "n")
    g = mc.derive(0.5 * mc.logdet(S) + 0.5 * (x - mu).T @ mc.inv(S) @ (x - mu), S)
    assert str(g) == "½ (S⁻¹ − S⁻¹ (x − μ) (x − μ)ᵀ S⁻¹)"
    assert g.check(seed=0).ok
    assert str(mc.derive(x.T @ S @ x, x)) == "2 S x"
    assert mc.inv(S).T is mc.inv(S) and (S + S.T) is 2 * S


def test_jacobian_through_a_transpose_of_a_matrix_function():
    """vec((A X)ᵀ) = K (I ⊗ A) vec(X) = (A ⊗ I) K vec(X), as an array and as the Kronecker form."""
    import numpy as np
    g = mc.derive("(A @ X).T", "X", {"A": "n,n", "X": "n,n"})
    rng = np.random.default_rng(0)
    A, X = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    want = np.zeros((3, 3, 3, 3))   # ∂((A X)ᵀ)_ij / ∂X_kl = A_jk [i = l]
    for i in range(3):
        for j in range(3):
            for k in range(3):
                want[i, j, k, i] = A[j, k]
    np.testing.assert_allclose(g.to_numpy()(A=A, X=X), want, atol=1e-12)
    # the Kronecker form itself, (A ⊗ I) K (vec column-major: entry i + 3 j of vec(F), k + 3 l of vec(X))
    kronecker = g.expr.to_numpy()(A=A)
    np.testing.assert_allclose(kronecker, want.transpose(1, 0, 3, 2).reshape(9, 9), atol=1e-12)
    assert g.check(seed=1).ok


def _numeric_vec_jacobian(function, x, step=1e-6):
    """∂ vec(F) / ∂ vec(X), column-major vec, by central differences."""
    import numpy as np
    columns = []
    for b in range(x.size):
        e = np.zeros(x.size)
        e[b] = step
        e = e.reshape(x.shape, order="F")
        columns.append(((function(x + e) - function(x - e)) / (2 * step)).reshape(-1, order="F"))
    return np.array(columns).T


def test_kronecker_forms_through_diag_are_right():
    """vec(diag(M)) = (𝟏ᵀ ⊗ I) diag(vec I) vec(M); vec(diag(d)) = diag(vec I) (𝟏 ⊗ I) d — the
    printed Kronecker forms evaluated, not only the numeric arrays."""
    import numpy as np
    rng = np.random.default_rng(3)
    A, X, x = rng.normal(size=(3, 3)), rng.normal(size=(3, 3)), rng.normal(size=(3, 1))
    g = mc.derive("diag(X @ X)", "X", {"X": "n,n"})
    want = _numeric_vec_jacobian(lambda m: np.diag(m @ m).reshape(-1, 1), X)
    np.testing.assert_allclose(g.expr.to_numpy()(X=X), want, atol=1e-8)
    g = mc.derive("diag(A @ x)", "x", {"A": "n,n", "x": "n"})
    want = _numeric_vec_jacobian(lambda v: np.diagflat(A @ v), x)
    np.testing.assert_allclose(g.expr.to_numpy()(A=A), want, atol=1e-8)


LINEAR_MAP_CASES = [
    ("trace(X.T @ A @ X @ B)", "X", {"A": "n,n", "B": "m,m", "X": "n,m"}, 2),
    ("logdet(X)", "X", {"X": "n,n"}, 2),
    ("sum(G * (softmax(Q @ K.T, axis=1) @ V))", "Q", {"G": "N,d", "Q": "N,d", "K": "M,d", "V": "M,d"}, 2),
    ("sigmoid(W @ X)", "W", {"W": "m,n", "X": "n,N"}, 1),
    ("A @ inv(X) @ B", "X", {"A": "m,n", "X": "n,n", "B": "n,p"}, 1),
]


@pytest.mark.parametrize("f, wrt, shapes, order", LINEAR_MAP_CASES, ids=[c[0] for c in LINEAR_MAP_CASES])
def test_the_linear_map_is_the_full_array_applied_to_a_direction(f, wrt, shapes, order):
    """H[V] = Σₖₗ Hᵢⱼₖₗ Vₖₗ: the printed map and the numeric array agree."""
    g = mc.derive(f, wrt, shapes, order=order)
    direction, value = g.linear_map()
    assert direction.name not in {v.name for v in g.variables} and direction.shape == g.wrt.shape
    rng = np.random.default_rng(3)
    sizes = {"n": 3, "m": 4, "N": 5, "d": 2, "M": 3, "p": 2}
    values = {v.name: rng.normal(size=tuple(sizes[d] if isinstance(d, str) else d for d in v.shape))
              for v in g.variables}
    if f == "logdet(X)":
        values["X"] = values["X"] @ values["X"].T + 3 * np.eye(3)
    V = rng.normal(size=values[wrt].shape)
    array = g.to_numpy()(**values)
    want = np.tensordot(array, V, axes=V.ndim)
    got = value.to_numpy()(**{v.name: values[v.name] if v is not direction else V for v in value.free_vars})
    np.testing.assert_allclose(np.reshape(got, want.shape), want, rtol=1e-10, atol=1e-12)
    assert str(g) in (f"{'H' if order == 2 else 'J'}[{direction.name}] = {to_text(value, True)}", str(g.expr))
