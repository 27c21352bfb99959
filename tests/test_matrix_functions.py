"""Matrix functions: expm (and its Fréchet derivative), cholesky, eigvalsh, pinv — values against
numpy/scipy, derivatives against finite differences and the textbook closed forms."""
import numpy as np
import pytest
import scipy.linalg

import matcalc as mc
from matcalc import expr as E
from matcalc.errors import UnsupportedDerivativeError

RNG = np.random.default_rng(5)
N = 4
A = RNG.standard_normal((N, N))
G = RNG.standard_normal((N, N))
SPD = A @ A.T / N + np.eye(N)


def sym(m):
    return (m + m.T) / 2


def finite_jacobian(function, x, step=1e-6):
    """``J[i, j, k, l] = ∂F_ij / ∂X_kl`` (the axes of F, then those of X, as matcalc's arrays are),
    by central differences."""
    out = np.zeros(function(x).shape + x.shape)
    for k in range(x.shape[0]):
        for l in range(x.shape[1]):
            e = np.zeros_like(x)
            e[k, l] = step
            out[..., k, l] = (function(x + e) - function(x - e)) / (2 * step)
    return out


def test_expm_gradient_is_the_frechet_derivative_at_the_transpose():
    """∇_A sum(G ⊙ exp(A)) = L(Aᵀ, G) (Najfeld & Havel; Higham, Functions of Matrices §10.6)."""
    g = mc.derive("sum(G * expm(A))", "A", {"G": "n,n", "A": "n,n"})
    assert str(g) == "Lₑₓₚ(Aᵀ, G)" and g.latex() == r"L_{\exp}\left(A^{\top}, G\right)"
    want = scipy.linalg.expm_frechet(A.T, G, compute_expm=False)
    np.testing.assert_allclose(g.to_numpy()(A=A, G=G), want, rtol=1e-10)
    assert g.check(seed=3).ok


def test_expm_values_and_the_block_formula():
    e = mc.parse("expm(A)", {"A": "n,n"})
    np.testing.assert_allclose(e.to_numpy()(A=A), scipy.linalg.expm(A), rtol=1e-12)
    assert E.transpose(e) is mc.parse("expm(A.T)", {"A": "n,n"})   # exp(A)ᵀ = exp(Aᵀ)


def test_cholesky_jacobian_matches_differences_of_the_symmetric_part():
    """dL = L Φ(L⁻¹ dS L⁻ᵀ) with dS = sym(dX): the factor of the symmetric part, in every direction."""
    g = mc.derive("cholesky(S)", "S", {"S": "n,n"})
    want = finite_jacobian(lambda s: np.linalg.cholesky(sym(s)), SPD)
    np.testing.assert_allclose(g.to_numpy()(S=SPD), want, rtol=1e-6, atol=1e-8)
    assert "Ψ" in str(g)


def test_cholesky_of_an_spd_variable_reads_it_whole():
    S = mc.matrix("S", "n", "n", spd=True)
    assert str(mc.parse("cholesky(S)", {"S": S})) == "chol(S)"
    g = mc.derive("trace(cholesky(S))", S, symmetric_gradient="ignore")
    assert g.check(seed=2).ok


def test_eigenvalue_gradient_is_v_diag_w_vt():
    """∂(wᵀ λ(S))/∂S = V diag(w) Vᵀ for a symmetric S with eigenvectors V."""
    S = mc.matrix("S", "n", "n", symmetric=True)
    g = mc.derive("w.T @ eigvalsh(S)", S, {"w": "n"}, symmetric_gradient="ignore")
    w = RNG.standard_normal((N, 1))
    s = sym(A)
    values, vectors = np.linalg.eigh(s)
    np.testing.assert_allclose(g.to_numpy()(S=s, w=w), vectors @ np.diag(w.ravel()) @ vectors.T, atol=1e-12)
    np.testing.assert_allclose(mc.parse("eigvalsh(S)", {"S": S}).to_numpy()(S=s), values.reshape(-1, 1))


def test_eigenvalue_jacobian_of_x_plus_xt():
    """J_{i,(k,l)} = 2 v_ki v_li (the eigenvalues of X + Xᵀ)."""
    g = mc.derive("eigvalsh(X + X.T)", "X", {"X": "n,n"})
    vectors = np.linalg.eigh(A + A.T)[1]
    want = np.array([2 * np.outer(vectors[:, i], vectors[:, i]) for i in range(N)])   # [i, k, l]
    np.testing.assert_allclose(g.to_numpy()(X=A), want, atol=1e-12)


def test_pinv_is_the_least_squares_solution():
    X, y = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 1))
    e = mc.parse("pinv(X) @ y", {"X": "n,m", "y": "n"})
    np.testing.assert_allclose(e.to_numpy()(X=X, y=y), np.linalg.lstsq(X, y, rcond=None)[0], rtol=1e-10)
    assert str(e) == "X⁺ y" and e.latex() == "X^{+} y"


def test_variable_projection_gradient_is_minus_two_r_beta_t():
    """f = ‖y − X X⁺ y‖² for a full-rank tall X: ∇_X f = −2 r βᵀ, β = X⁺ y, r = y − X β (Golub–Pereyra)."""
    X, y = RNG.standard_normal((6, 3)), RNG.standard_normal((6, 1))
    g = mc.derive("norm2(y - X @ pinv(X) @ y) ** 2", "X", {"y": "n", "X": "n,m"})
    beta = np.linalg.pinv(X) @ y
    r = y - X @ beta
    np.testing.assert_allclose(g.to_numpy()(X=X, y=y), -2 * r @ beta.T, atol=1e-10)


@pytest.mark.parametrize("text, shapes", [
    ("sum(eigvalsh(S) ** 2)", {"S": "n,n"}),
    ("sum(expm(A))", {"A": "n,n"}),
])
def test_second_derivatives_that_are_not_supported_say_so(text, shapes):
    with pytest.raises(UnsupportedDerivativeError, match="not supported"):
        mc.derive(text, list(shapes)[0], shapes, order=2)


def test_sympy_evaluates_pinv_and_cholesky_exactly():
    import sympy as sp

    from matcalc.printing.sympy import to_sympy
    X = mc.matrix("X", 3, 2)
    S = mc.matrix("S", 2, 2, spd=True)
    exact_x = sp.Matrix([[1, 2], [0, 1], [1, 0]])
    exact_s = sp.Matrix([[4, 2], [2, 3]])
    p = to_sympy(E.pinv(X), {X: exact_x}, {})
    assert p == (exact_x.T * exact_x).inv() * exact_x.T
    c = to_sympy(E.cholesky(S), {S: exact_s}, {})
    assert sp.simplify(c * c.T - exact_s) == sp.zeros(2, 2)


def _numeric_gradient(function, x, step=1e-6):
    out = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[index] = step
        out[index] = (function(x + e) - function(x - e)) / (2 * step)
    return out


@pytest.mark.parametrize("wrt", ["A", "B"])
def test_gradients_through_a_kronecker_product(wrt):
    """⟨C, A ⊗ B⟩: Σᵢⱼ Aᵢⱼ C₍ᵢⱼ₎ w.r.t. B (blocksum), [⟨C₍ᵢⱼ₎, B⟩]ᵢⱼ w.r.t. A (blockdot)."""
    shapes = {"A": "2,3", "B": "4,2", "C": "8,6"}
    g = mc.derive("sum(C * kron(A, B)) + norm2(kron(A, B) @ v) ** 2", wrt, {**shapes, "v": "6"})
    rng = np.random.default_rng(9)
    values = {"A": rng.normal(size=(2, 3)), "B": rng.normal(size=(4, 2)), "C": rng.normal(size=(8, 6)),
              "v": rng.normal(size=(6, 1))}

    def f(x):
        arrays = {**values, wrt: x}
        k = np.kron(arrays["A"], arrays["B"])
        return np.sum(arrays["C"] * k) + np.sum((k @ arrays["v"]) ** 2)
    np.testing.assert_allclose(g.to_numpy()(**values), _numeric_gradient(f, values[wrt]), rtol=1e-6, atol=1e-8)
    assert ("blocksum" if wrt == "B" else "blockdot") in str(g)


def test_hessian_and_jacobian_through_a_kronecker_product():
    h = mc.derive("norm2(kron(A, x)) ** 2", "x", {"A": "2,2", "x": "n"}, order=2)
    assert h.check(seed=1).ok   # 2 ‖A‖² I
    j = mc.derive("kron(x, y)", "x", {"x": "n", "y": "m"})
    assert str(j) == "I ⊗ y" and j.check(seed=1).ok
    for wrt in ("A", "B"):   # order-4 arrays of A ⊗ B, and a Hessian w.r.t. a matrix through the adjoints
        assert mc.derive("kron(A, B)", wrt, {"A": "2,3", "B": "3,2"}).check(seed=2).ok
        assert mc.derive("norm2(kron(A, B) @ v - y) ** 2", wrt, {"A": "2,3", "B": "2,2", "v": "6", "y": "4"},
                         order=2).check(seed=2).ok
