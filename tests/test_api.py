"""The public contract: variables, shapes, numpy callables, checks, errors."""
import numpy as np
import pytest

import matcalc as mc

x = mc.vector("x", "n")
A = mc.matrix("A", "n", "n")
w = mc.matrix("w", 1, "n")
c = mc.scalar("c")


def test_variables_and_shapes():
    assert x.shape == ("n", 1) and A.shape == ("n", "n") and w.shape == (1, "n") and c.shape == (1, 1)
    assert mc.vector("v", 3).shape == (3, 1)
    with pytest.raises(mc.ShapeError, match=r"matrix product of scalar \(1×1\) and n×1"):
        c @ x
    with pytest.raises(mc.ShapeError, match="cannot add n×1 and 1×n"):
        x + w
    with pytest.raises(mc.ShapeError, match="'@' needs two matrices"):
        2 @ x


def test_properties():
    S = mc.matrix("S", "n", "n", symmetric=True)
    assert S.T is S
    P = mc.matrix("P", "n", "n", spd=True)
    assert P.T is P and mc.inv(P).T is mc.inv(P)
    with pytest.raises(TypeError):        # an unknown property is a bad keyword...
        mc.matrix("M", "n", "n", unitary=True)
    with pytest.raises(mc.MatcalcError):  # ...and a matcalc error
        mc.matrix("M", "n", "n", unitary=True)
    with pytest.raises(mc.MatcalcError, match="square"):
        mc.matrix("M", "n", "m", symmetric=True)
    with pytest.raises(mc.MatcalcError, match="identifier"):
        mc.vector("not a name", "n")


def test_broadcasting_bias_over_a_batch():
    W, X, b = mc.matrix("W", "h", "d"), mc.matrix("X", "d", "N"), mc.vector("b", "h")
    f = mc.sum(mc.tanh(W @ X + b))
    g = mc.derive(f, b)
    assert g.shape == ("h", 1)
    assert g.check(seed=3).ok
    row = mc.matrix("r", 1, "N")
    assert (W @ X + row).shape == ("h", "N")


def test_numpy_callable_accepts_vectors_either_way():
    g = mc.derive(x.T @ A @ x, x)
    fn = g.to_numpy()
    Av = np.arange(9.0).reshape(3, 3)
    xv = np.array([1.0, -2.0, 0.5])
    flat = fn(A=Av, x=xv)
    column = fn(A=Av, x=xv.reshape(3, 1))
    assert flat.shape == (3,) and column.shape == (3, 1)
    np.testing.assert_allclose(flat, (Av + Av.T) @ xv)
    np.testing.assert_allclose(column.ravel(), flat)
    value = (x.T @ A @ x).to_numpy()(A=Av, x=xv)
    assert isinstance(value, float) and np.isclose(value, xv @ Av @ xv)


def test_numpy_callable_checks_its_inputs():
    fn = mc.derive(x.T @ A @ x, x).to_numpy()
    with pytest.raises(mc.MatcalcError, match="missing input"):
        fn(x=np.ones(3))
    with pytest.raises(mc.ShapeError, match="dimension n is 4 here but 3"):
        fn(A=np.eye(3), x=np.ones(4))
    with pytest.raises(mc.MatcalcError, match="unknown input"):
        fn(A=np.eye(3), x=np.ones(3), z=1.0)


def test_jacobian_is_m_by_n():
    B = mc.matrix("B", "m", "n")
    g = mc.derive(mc.tanh(B @ x), x)
    assert g.kind == "jacobian" and g.shape == ("m", "n")
    J = g.to_numpy()(B=np.ones((2, 3)), x=np.zeros(3))
    assert J.shape == (2, 3)


def test_gradient_wrt_a_scalar_and_a_row_vector():
    y = mc.vector("y", "n")
    g = mc.derive(c * (y.T @ x) + c ** 2, c)
    assert str(g) == "xᵀ y + 2 c"
    assert g.check(seed=0).ok
    gw = mc.derive(mc.sum(mc.exp(w @ A)), w)
    assert gw.shape == (1, "n") and gw.check(seed=0).ok


def test_derivative_of_an_independent_variable_is_zero():
    y = mc.vector("y", "n")
    g = mc.derive(x.T @ x, y)
    assert str(g) == "0"
    np.testing.assert_array_equal(g.to_numpy()(x=np.ones(3), y=np.ones(3)), np.zeros(3))


def test_unsupported_derivatives_raise_clearly():
    W = mc.matrix("W", "m", "n")
    with pytest.raises(mc.UnsupportedDerivativeError, match="needs a scalar function"):
        mc.derive(W @ x, x, order=2)
    with pytest.raises(mc.UnsupportedDerivativeError, match="order 3"):
        mc.derive(x.T @ x, x, order=3)
    with pytest.raises(mc.UnknownNameError, match="unknown variable 'q'"):
        mc.derive(x.T @ x, "q")


def test_check_catches_a_wrong_result():
    from matcalc.check import check_derivative
    from matcalc.printing.numpy import NumpyFunction
    f = x.T @ A @ x
    wrong = NumpyFunction(2 * A @ x, "wrong")   # forgets the transpose
    report = check_derivative(f, x, wrong, "gradient", f.free_vars, seed=5)
    assert report.status == "wrong" and not report.ok and report.max_rel_error > 0.1
    right = NumpyFunction(mc.derive(f, x).expr, "right")
    assert check_derivative(f, x, right, "gradient", f.free_vars, seed=5).max_rel_error < 1e-8


def test_check_is_reproducible_with_a_seed():
    g = mc.derive(mc.sum(mc.log(mc.sigmoid(A @ x))), x)
    assert g.check(seed=11).max_rel_error == g.check(seed=11).max_rel_error


def test_check_avoids_relu_kinks_and_log_domain():
    assert mc.derive(mc.sum(mc.relu(A @ x)), A).check(seed=2).ok
    p = mc.vector("p", "n")
    assert mc.derive(mc.sum(mc.log(p)), p).check(seed=2).ok


def test_hessian_of_a_quadratic_form():
    H = mc.hessian(x.T @ A @ x, x)
    assert str(H) == "A + Aᵀ" and H.kind == "hessian"
    assert H.check(seed=0).ok


def test_layouts():
    a = mc.vector("a", "n")
    assert str(mc.derive(a.T @ x, x, layout="numerator")) == "aᵀ"
    B = mc.matrix("B", "m", "n")
    assert mc.derive(B @ x, x, layout="denominator").shape == ("n", "m")


def test_rendering_in_notebooks():
    g = mc.derive(x.T @ A @ x, x)
    assert g._repr_latex_() == r"$\left(A + A^{\top}\right) x$"
    assert (x.T @ A @ x)._repr_latex_().startswith("$")
    assert "n×1" in repr(x)
