"""Generated code never computes a wrong number: names that cannot collide, numpy semantics for
scalars, Jacobians of broadcast results, validated inputs, norms that neither overflow nor
underflow. Every test runs in numpy, jax and torch (skipped where jax or torch is absent)."""
import functools
import re
from fractions import Fraction

import numpy as np
import pytest

import matcalc as mc
from matcalc.printing.code import SIZE, TEMPORARY, CodeWriter, size_name
from matcalc.printing.jax import JAX
from matcalc.printing.numpy import NUMPY, CompiledFunction
from matcalc.printing.torch import TORCH

BACKENDS = ["numpy", "jax", "torch"]


@pytest.fixture(params=BACKENDS)
def backend(request):
    if request.param == "jax":
        pytest.importorskip("jax").config.update("jax_enable_x64", True)
    elif request.param == "torch":
        pytest.importorskip("torch")
    return request.param


def adapter(name):
    from matcalc.derivative import adapter_for
    return adapter_for(name)()


def numbers(value):
    """A result as a float64 numpy array (results of jax and torch too)."""
    if isinstance(value, dict):
        return {k: numbers(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(numbers(v) for v in value)
    out = np.asarray(value)
    assert out.dtype == np.float64, out.dtype
    return out


# ---------------------------------------------------------------------------------------------
# 1. Generated names never collide with user names
# ---------------------------------------------------------------------------------------------

def internal_names() -> list:
    """Every identifier the generator can put in a function besides the variables: the module
    aliases, helpers and builtins of each backend, temporaries, sizes, and their renamings."""
    reserved = sorted(set().union(*(b.reserved for b in (NUMPY, JAX, TORCH))))
    generated = [f"{TEMPORARY}{k}" for k in range(1, 5)] + [size_name("n"), size_name("k")]
    return reserved + generated + [f"{name}_1" for name in reserved + generated]


# one term per helper, then pairs: every name is a vector of dim n; k is a size no input has
HELPER_TERMS = ["sum(sigmoid({0} * {1}))", "{2}.T @ log_softmax({3})", "{4}.T @ softmax({5})",
                "sum(softplus({6}))", "norm2({7} - {8})", "sum(step({9}) * {10})", "trace(eye(k)) * sum({11})"]


@functools.cache
def helper_derivatives(names: tuple):
    """The gradients w.r.t. every name of a function that calls every helper."""
    used = len(HELPER_TERMS) + 5
    terms = [t.format(*names) for t in HELPER_TERMS]
    terms += [f"sum({a} * {b})" for a, b in zip(names[used - 1:], names[used:])]
    return mc.derive(" + ".join(terms), list(names), {n: "n" for n in names})


def test_internal_names_cover_every_table():
    names = internal_names()
    assert {"np", "sigmoid", "softmax", "log_softmax", "commutation", "norm2", "t1", "size_n"} <= set(names)
    src = helper_derivatives(tuple(f"a{i}" for i in range(len(names)))).source(with_value=True)
    for name in ("np", "sigmoid", "softmax", "log_softmax", "softplus", "norm2", "t1", "t2", "size_n", "size_k"):
        assert re.search(rf"\b{name}\b", src), (name, src)   # the test below exercises each


def test_user_names_like_internal_ones_do_not_change_the_numbers(backend):
    names = tuple(internal_names())
    harmless = tuple(f"a{i}" for i in range(len(names)))
    rng = np.random.default_rng(0)
    values = rng.standard_normal((len(names), 3))
    results = []
    for chosen in (names, harmless):
        fn = helper_derivatives(chosen).compile(backend, with_value=True)
        value, grads = fn(k=2, **dict(zip(chosen, values)))
        results.append((numbers(value), [numbers(grads[n]) for n in chosen]))
        assert fn.arguments == sorted(chosen) + ["k"]
    (value, grads), (expected_value, expected) = results
    np.testing.assert_allclose(value, expected_value, rtol=1e-12)
    for got, want in zip(grads, expected):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_the_commutation_helper_does_not_collide(backend):
    fns = []
    for chosen in ("commutation", "b"):
        d = mc.derive(f"X.T * {chosen}", "X", {"X": "n,m", chosen: "m,n"})
        fns.append((chosen, CompiledFunction(d.expr, "j", "matrix", adapter=adapter(backend))))
    assert "commutation(" in fns[1][1].source
    W = np.random.default_rng(1).standard_normal((3, 2))
    got, want = (numbers(fn(**{chosen: W})) for chosen, fn in fns)
    np.testing.assert_array_equal(got, want)
    assert want.shape == (6, 6) and np.count_nonzero(want) == 6


@pytest.mark.parametrize("internal", ["t1", "size_n", "sigmoid", "np"])
def test_issue_reproducers_for_collisions(backend, internal):
    x = np.array([1.0, 4.0])
    got = mc.derive("sum((t1 / s) ** 0.5)", "t1", {"t1": "n", "s": ""}).compile(backend)(t1=x, s=2.0)
    np.testing.assert_allclose(numbers(got).ravel(), 0.5 / np.sqrt(2 * x))   # was [0.5, 0.5]
    got = mc.derive("sum(x) * sum(size_n)", "x", {"x": "n", "size_n": "m"}).compile(backend)(
        x=np.ones(3), size_n=np.ones(10))
    np.testing.assert_allclose(numbers(got), [10.0, 10.0, 10.0])   # was [3, 3, 3]
    d = mc.derive(f"sum({internal} * np_) + sum(sigmoid(v_None))", internal,
                  {internal: "n", "np_": "n", "v_None": "n"})
    got = d.compile(backend)(**{internal: np.ones(2), "np_": [2.0, 3.0], "v_None": [0.0, 1.0]})
    np.testing.assert_allclose(numbers(got), [2.0, 3.0])


@pytest.mark.parametrize("pair", [("x", "ｘ"), ("fi", "ﬁ"), ("v_None", "None"), ("lambda", "match"),
                                  ("_", "case"), ("np", "ｎｐ"), ("np", "np_"), ("sigmoid", "sigmoid_")])
def test_keywords_and_nfkc_equal_names_get_distinct_identifiers(backend, pair):
    first, second = (mc.vector(name, "n") for name in pair)
    d = mc.derive(mc.sum(first * second) + mc.sum(mc.exp(second)), first)
    fn = d.compile(backend)
    got = fn(**{pair[0]: np.ones(2), pair[1]: np.array([2.0, 5.0])})
    np.testing.assert_allclose(numbers(got), [2.0, 5.0])
    assert len(set(fn.params)) == 2


@pytest.mark.parametrize("build", [
    lambda: mc.derive(mc.sum(mc.vector("x", "n")) + mc.sum(mc.vector("x", "m")), "x"),
    lambda: mc.derive(mc.trace(mc.matrix("X", "n", "n") @ mc.matrix("X", "n", "n", symmetric=True)), "X"),
    lambda: mc.derive("x.T @ x", mc.vector("x", "m"), {"x": "n"}),
    lambda: mc.hvp("x.T @ x", "x", mc.vector("x", "n", positive=True), {"x": "n"}),
    lambda: mc.verify("x.T @ x", "x", 2 * mc.vector("x", "n", positive=True), {"x": "n"}),
    lambda: (mc.vector("x", "n") + mc.vector("x", "n", positive=True)).to_numpy(),
    lambda: mc.derive("sum(x) + y", "y", {"x": mc.vector("y", "n")}),
])
def test_two_variables_with_one_name_are_refused(build):
    with pytest.raises(mc.MatcalcError, match=r"two different variables are named '[xX]'|names must agree"):
        build()


def test_a_symmetric_variable_still_differentiates_through_its_plain_twin():
    S = mc.matrix("S", "n", "n", symmetric=True)
    d = mc.derive("trace(S @ A @ S)", S, {"A": "n,n"})
    assert d.check(seed=0).ok
    assert mc.verify("trace(S @ A @ S)", S, d.expr, {"A": "n,n"}).correct


def test_a_variable_named_like_a_free_size_is_refused():
    n = mc.scalar("n")
    d = mc.derive(n * mc.trace(mc.eye("n")) * mc.sum(mc.vector("y", "m")), "y")
    with pytest.raises(mc.MatcalcError, match="'n' names both a variable and the size n"):
        d.to_numpy()
    # a size read from an input is no keyword: no clash
    got = mc.derive("n * sum(x)", "x", {"n": "", "x": "n"}).to_numpy()(n=2.0, x=np.ones(3))
    np.testing.assert_allclose(got, [2.0, 2.0, 2.0])


# ---------------------------------------------------------------------------------------------
# 2. Scalars follow numpy: float64, nan and inf, never a Python complex or an exception
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("f, inputs, value, gradient", [
    ("c ** (1/3) * sum(x)", {"c": -8.0}, np.nan, np.nan),                   # was 2.0 (a dropped imaginary part)
    ("(-8) ** (1/3) * sum(x)", {}, np.nan, np.nan),                         # was 1.0
    ("c ** 1000 * sum(x)", {"c": 3.0}, np.inf, np.inf),                     # was OverflowError
    ("exp(2) * sum(x)", {}, 2 * np.exp(2), np.exp(2)),                      # torch.exp(2): TypeError
    ("sqrt(2) * sum(x) + log(-1) * sum(x)", {}, np.nan, np.nan),            # log(-1) is nan, not an error
    ("2 ** c * sum(x)", {"c": 0.5}, 2 * 2 ** 0.5, 2 ** 0.5),
    ("sum(x) / (trace(eye(k)) - 3)", {"k": 3}, np.inf, np.inf),             # was ZeroDivisionError
    ("sum(x) * trace(eye(k)) ** 400", {"k": 10}, np.inf, np.inf),          # was OverflowError
    ("sum(x) * 3 ** 40", {}, 2 * 3.0 ** 40, 3.0 ** 40),
])
def test_scalars_have_numpy_semantics(backend, f, inputs, value, gradient):
    shapes = {"x": "n", **{name: "" for name in inputs if name != "k"}}
    d = mc.derive(f, "x", shapes)
    fn = d.compile(backend, with_value=True)
    got_value, got_gradient = numbers(fn(x=np.ones(2), **inputs))
    np.testing.assert_array_equal(got_value, value)
    np.testing.assert_array_equal(got_gradient, [gradient, gradient])


@pytest.mark.parametrize("f", ["step(x)", "sign(x)", "step(sqrt(x)) + 1"])
def test_nan_stays_nan_through_step_and_sign(backend, f):
    # found by the attack fuzzer: torch's heaviside and sign give 0 at nan, numpy gives nan
    fn = CompiledFunction(mc.parse(f, {"x": "n"}), adapter=adapter(backend))
    got = np.ravel(numbers(fn(x=np.array([np.nan, -1.0, 2.0]))))
    expected = {"step(x)": [np.nan, 0, 1], "sign(x)": [np.nan, -1, 1], "step(sqrt(x)) + 1": [np.nan, np.nan, 2]}[f]
    np.testing.assert_array_equal(got, expected)


def test_sizes_used_as_numbers_are_floats(backend):
    fn = CompiledFunction(mc.parse("1 / (trace(eye(k)) - 3)"), adapter=adapter(backend))
    assert float(fn(k=3)) == np.inf   # was ZeroDivisionError
    assert "1.0 / (" in fn.source and "(size_k" in fn.source


def test_scalar_inputs_reach_the_code_as_float64_scalars():
    fn = mc.parse("c", {"c": ""}).to_numpy()
    seen = []
    fn.function = lambda c: seen.append(c) or c
    fn(c=3)
    assert type(seen[0]) is np.float64


def test_constants_beyond_a_float_are_infinities_not_python_ints():
    writer = CodeWriter([mc.parse("1")], NUMPY)
    assert writer.number(Fraction(10 ** 400)) == ("np.inf", 5)
    assert writer.number(Fraction(-10 ** 400)) == ("-np.inf", 3)
    assert writer.number(Fraction(3 ** 40))[0] == repr(3.0 ** 40)
    assert writer.number(Fraction(1, 3 ** 40))[0] == repr(3.0 ** -40)
    assert writer.number(Fraction(-1, 3)) == ("-1 / 3", 2)


# ---------------------------------------------------------------------------------------------
# 3. Jacobians of broadcast results: the right shape, the right numbers
# ---------------------------------------------------------------------------------------------

SIZES = {"n": 3, "m": 4}
BROADCASTS = [
    ("c - ones(n, m)", "c", {"c": ""}),
    ("c*B - s*(s + 7.25)", "s", {"c": "", "B": "n,m", "s": ""}),
    ("X + c", "c", {"X": "n,m", "c": ""}),
    ("v + c", "c", {"v": "n", "c": ""}),
    ("r + c", "c", {"r": "1,m", "c": ""}),
    ("c * r", "c", {"r": "1,m", "c": ""}),
    ("X + v", "v", {"X": "n,m", "v": "n"}),
    ("X + r", "r", {"X": "n,m", "r": "1,m"}),
    ("X * r - v", "v", {"X": "n,m", "r": "1,m", "v": "n"}),
    ("exp(c) * ones(n, m) + B", "c", {"c": "", "B": "n,m"}),
    ("sigmoid(c + v)", "c", {"c": "", "v": "n"}),
    ("(c - 1) * v", "c", {"c": "", "v": "n"}),
    ("r * (c + 1) + c", "r", {"r": "1,m", "c": ""}),
    ("v.T + c", "v", {"v": "n", "c": ""}),
    ("c + v - v", "c", {"c": "", "v": "n"}),
    ("c + 2 * ones(n) + d", "d", {"c": "", "d": ""}),
]


def finite_differences(f, wrt, values, sizes):
    """``T[i, j, k, l] = ∂F_ij/∂X_kl`` by central differences (``f`` is linear or smooth here)."""
    x = np.atleast_2d(values[wrt]).astype(float)
    if np.ndim(values[wrt]) == 1:
        x = x.reshape(-1, 1)
    base = np.atleast_2d(f(**values, **sizes))
    out = np.zeros(base.shape + x.shape)
    for k, ell in np.ndindex(*x.shape):
        step = np.zeros_like(x)
        step[k, ell] = 1e-6
        plus, minus = (np.broadcast_to(np.atleast_2d(f(**{**values, wrt: x + s}, **sizes)), base.shape)
                       for s in (step, -step))
        out[:, :, k, ell] = (plus - minus) / 2e-6
    return out


def broadcast_case(f, wrt, shapes):
    """The derivative, inputs, and the finite-difference array ``∂F_ij/∂X_kl`` of a case."""
    d = mc.derive(f, wrt, shapes)
    variables = {v.name: v for v in d.variables}
    rng = np.random.default_rng(3)
    values = {name: rng.standard_normal(tuple(SIZES.get(s, s) for s in v.shape)) if v.shape != (1, 1)
              else rng.standard_normal() for name, v in variables.items()}
    f_fn = mc.parse(f, shapes).to_numpy()
    sizes = {k: v for k, v in SIZES.items() if k in f_fn.accepts}
    full = tuple(SIZES.get(s, s) if isinstance(s, str) else s for s in mc.parse(f, shapes).shape)
    expected = finite_differences(lambda **kw: np.broadcast_to(f_fn(**kw), full), wrt, values, sizes)
    return d, {**values, **SIZES}, expected


@pytest.mark.parametrize("f, wrt, shapes", BROADCASTS, ids=[c[0] for c in BROADCASTS])
def test_jacobians_of_broadcast_results(f, wrt, shapes):
    d, inputs, expected = broadcast_case(f, wrt, shapes)
    # the vec form: vec(dF) = J vec(dX), column-major
    vec_form = d.expr.to_numpy()
    got = vec_form(**{k: v for k, v in inputs.items() if k in vec_form.accepts})
    n_out, n_in = expected.shape[0] * expected.shape[1], expected.shape[2] * expected.shape[3]
    np.testing.assert_allclose(np.reshape(got, (n_out, n_in)),
                               expected.transpose(1, 0, 3, 2).reshape(n_out, n_in), rtol=1e-6, atol=1e-8)
    assert d.check(seed=0).ok


@pytest.mark.parametrize("f, wrt, shapes", BROADCASTS[:2] + BROADCASTS[6:9], ids=lambda c: str(c))
def test_generated_jacobians_of_broadcast_results(backend, f, wrt, shapes):
    d, inputs, expected = broadcast_case(f, wrt, shapes)
    fn = d.compile(backend)   # the full array: the axes of F, then those of X, without unit axes
    got = numbers(fn(**{k: v for k, v in inputs.items() if k in fn.accepts}))
    np.testing.assert_allclose(np.squeeze(got), np.squeeze(expected), rtol=1e-6, atol=1e-8)


def test_issue_reproducers_for_broadcast_jacobians():
    d = mc.derive("c - ones(n, m)", "c", {"c": ""})
    assert d.shape == (("m", "n"), 1) and str(d) == "𝟏"                     # was 1×1
    np.testing.assert_array_equal(d.to_numpy()(c=1.0, n=2, m=3), np.ones((2, 3)))
    d = mc.derive("c*B - s*(s + 7.25)", "s", {"c": "", "B": "n,m", "s": ""})
    assert str(d) == "(−29/4 − 2 s) 𝟏"
    np.testing.assert_array_equal(d.to_numpy()(c=1.0, B=np.ones((2, 3)), s=1.0), np.full((2, 3), -9.25))  # was 0-d
    assert d.check(seed=0).ok


def test_a_sum_that_broadcasts_keeps_its_shape_through_sum_trace_and_derivatives():
    assert str(mc.parse("sum(c - ones(n, m))", {"c": ""})) == "m n (c − 1)"
    assert str(mc.derive("sum(c - ones(n, m))", "c", {"c": ""})) == "m n"      # was 1
    assert str(mc.derive("trace(c - ones(n, n))", "c", {"c": ""})) == "n"      # was 1


# ---------------------------------------------------------------------------------------------
# 4. Inputs are validated, in every backend
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, message", [
    (np.array([1 + 2j, 3]), "complex numbers"),
    (np.array(["1", "3"]), "strings"),
    (["1", "3"], "strings"),
    (np.array([True, False]), "booleans"),
    (np.ma.array([1.0, 2.0], mask=[0, 1]), "masked"),
    (np.array([1.0, None], dtype=object), "Python objects"),
    ([[1.0], [2.0, 3.0]], "expected numbers"),
    (None, "Python objects"),
])
def test_inputs_that_are_not_real_numbers_are_refused(backend, value, message):
    fn = mc.derive("sum(x * x) * c", "x", {"x": "n", "c": ""}).compile(backend)
    with pytest.raises(mc.ShapeError, match=f"x: .*{message}"):
        fn(x=value, c=1.0)
    with pytest.raises(mc.ShapeError, match=f"c: .*{message}"):
        fn(x=np.ones(2), c=value)


def test_integer_and_unmasked_inputs_are_numbers(backend):
    fn = mc.derive("sum(x * x) * c", "x", {"x": "n", "c": ""}).compile(backend)
    np.testing.assert_array_equal(numbers(fn(x=[1, 2], c=np.int32(3))), [6.0, 12.0])
    np.testing.assert_array_equal(numbers(fn(x=np.ma.array([1.0, 2.0]), c=np.float32(1))), [2.0, 4.0])


@pytest.mark.parametrize("size", [2.5, 2.0, -1, 0, True, "3", np.bool_(True)])
def test_sizes_must_be_positive_integers(backend, size):
    fn = mc.derive("trace(eye(n)) * sum(x)", "x", {"x": "m"}).compile(backend, with_value=True)
    with pytest.raises(mc.ShapeError, match="the size n must be a positive integer"):
        fn(x=np.ones(2), n=size)
    value, _ = fn(x=np.ones(2), n=np.int64(3))
    assert float(value) == 6.0


# ---------------------------------------------------------------------------------------------
# 5. norm2 neither overflows nor underflows
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("scale", [1e200, 1e-200, 1.0, 1e-310])
def test_norm2_and_its_gradient_at_extreme_scales(backend, scale):
    if backend == "jax" and scale < 1e-300:
        pytest.skip("XLA flushes subnormal numbers to zero on CPU")
    x = np.array([3.0, 4.0, 0.0]) * scale
    value, gradient = numbers(mc.derive("norm2(x)", "x", {"x": "n"}).compile(backend, with_value=True)(x=x))
    np.testing.assert_allclose(value / scale, 5.0, rtol=1e-15 if scale > 1e-300 else 1e-9)
    np.testing.assert_allclose(gradient, [0.6, 0.8, 0.0], rtol=1e-15 if scale > 1e-300 else 1e-9)


def test_norm2_inside_larger_expressions(backend):
    rng = np.random.default_rng(2)
    A, X = rng.standard_normal((3, 3)), rng.standard_normal((2, 3))
    x, b = rng.standard_normal((2, 3))
    shapes = {"A": "n,n", "x": "n", "b": "n", "X": "m,n"}
    d = mc.derive("norm2(A @ x - b) + 2 * norm2(X)", "x", shapes)
    fn = d.compile(backend, with_value=True)
    for scale in (1e200, 1e-200):
        value, gradient = numbers(fn(A=A, x=x * scale, b=b * scale, X=X * scale))
        r = A @ x - b
        np.testing.assert_allclose(value / scale, np.linalg.norm(r) + 2 * np.linalg.norm(X), rtol=1e-13)
        np.testing.assert_allclose(gradient, A.T @ r / np.linalg.norm(r), rtol=1e-13)


def test_norm2_of_zero_infinite_and_nan_vectors(backend):
    fn = mc.parse("norm2(x)", {"x": "n"}).to_numpy() if backend == "numpy" else \
        CompiledFunction(mc.parse("norm2(x)", {"x": "n"}), adapter=adapter(backend))
    assert float(fn(x=np.zeros(3))) == 0.0
    assert float(fn(x=np.array([1.0, np.inf]))) == np.inf
    assert np.isnan(float(fn(x=np.array([1.0, np.nan]))))
    assert re.search(r"\bnorm2\(x\)", fn.source) and SIZE not in fn.source


def test_a_singular_matrix_is_a_clear_error_or_nan(backend):
    g = mc.derive("a.T @ inv(X) @ b", "a", {"a": "n", "b": "n", "X": "n,n"}).compile(backend)
    P = mc.matrix("P", "n", "n", spd=True)
    h = mc.derive(mc.logdet(P) * mc.sum(mc.vector("x", "n")), "x").compile(backend)
    if backend == "jax":   # XLA answers inf or nan
        assert not np.all(np.isfinite(numbers(g(a=np.ones(2), b=np.ones(2), X=np.zeros((2, 2))))))
        return
    with pytest.raises(mc.MatcalcError, match="cannot evaluate at these inputs: .*singular"):
        g(a=np.ones(2), b=np.ones(2), X=np.zeros((2, 2)))
    with pytest.raises(mc.MatcalcError, match="cannot evaluate at these inputs: .*positive.definite"):
        h(P=-np.eye(2), x=np.ones(2))


def multi_dot_arguments(source: str) -> list:
    """How many factors each ``multi_dot([…])`` (jax, torch) or ``chain(…)`` (numpy) call in the
    body of ``source`` takes."""
    counts = []
    body = source[source.rindex("\ndef "):]
    for start in (m.end() for m in re.finditer(r"multi_dot\(\[|\bchain\(", body)):
        depth, factors = 0, 1
        for ch in body[start:]:
            if ch in "([":
                depth += 1
            elif ch in ")]":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                factors += 1
        counts.append(factors)
    return counts


@pytest.mark.parametrize("head, tail", [("", ""), ("", " @ x"), ("x.T @ ", "")])
def test_long_matrix_chains(backend, head, tail):
    # jnp.linalg.multi_dot returns the transpose for 26 factors or more, numpy's orders a long chain
    # in cubic time: the code splits the chain into runs (of 25 and 8)
    f = mc.parse(head + " @ ".join(["A", "B"] * 15) + tail, {"A": "n,n", "B": "n,n", "x": "n"})
    rng = np.random.default_rng(5)
    A, B = 0.5 * rng.standard_normal((2, 3, 3))
    x = rng.standard_normal((3, 1))
    expected = np.linalg.multi_dot(([x.T] if head else []) + [A, B] * 15 + ([x] if tail else []))
    fn = CompiledFunction(f, "f", "matrix", adapter=adapter(backend))
    got = numbers(fn(**{k: v for k, v in {"A": A, "B": B, "x": x}.items() if k in fn.accepts}))
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    limit = {"numpy": 8, "jax": 25}.get(backend)
    if limit:
        calls = multi_dot_arguments(fn.source)
        assert len(calls) >= 2 and all(1 < n <= limit for n in calls), fn.source


def test_a_sum_of_thousands_of_terms_compiles():
    """sum(X^3000) has a 3000-term gradient: one line of it nested too deep for Python's compiler
    (a RecursionError the attack fuzzer found); the code writes partial sums."""
    import numpy as np
    g = mc.derive("sum(X^3000)", "X", {"X": "n,n"}, syntax="matlab")
    X = 0.9999 * np.eye(3) + 1e-5
    want = sum(np.linalg.matrix_power(X.T, i) @ np.ones((3, 3)) @ np.linalg.matrix_power(X.T, 2999 - i)
               for i in range(0, 3000, 1))
    np.testing.assert_allclose(g.to_numpy()(X=X), want, rtol=1e-8)


def test_the_fast_path_keeps_every_check():
    g = mc.derive("x.T @ A @ x", "x", {"x": "n", "A": "n,n"}).to_numpy()
    A, x = np.arange(9.0).reshape(3, 3), np.array([1.0, 2.0, 3.0])
    first, second = g(A=A, x=x), g(A=A, x=x)   # the second call takes the fast path
    assert first.shape == second.shape == (3,) and first is not second and not np.shares_memory(first, x)
    np.testing.assert_allclose(second, (A + A.T) @ x)
    assert g(A=A, x=x.reshape(-1, 1)).shape == (3, 1)   # another signature: checked again
    with pytest.raises(mc.ShapeError, match="dimension n"):
        g(A=A, x=np.ones(4))
    with pytest.raises(mc.ShapeError, match="expected real numbers"):
        g(A=A, x=np.array([1 + 1j, 2, 3]))
    with pytest.raises(mc.MatcalcError, match="missing input"):
        g(A=A)
    assert g(A=A.astype(np.float32), x=x).dtype == np.float64   # converted, not passed through


def test_the_by_name_call_takes_mappings_unknown_names_and_keyword_names():
    g = mc.derive("x.T @ A @ x", "x", {"x": "n", "A": "n,n"}).to_numpy()
    A, x = np.eye(3), np.array([1.0, 2.0, 3.0])
    g(A=A, x=x)
    np.testing.assert_allclose(g({"A": A}, x=x), 2 * x)   # a mapping of names: the general call
    with pytest.raises(mc.MatcalcError, match="unknown input"):
        g(A=A, x=x, z=x)
    with pytest.raises(mc.MatcalcError, match="given twice"):
        g({"A": A}, A=A, x=x)
    lam = mc.derive(mc.scalar("lambda") * mc.parse("sum(x ** 2)", {"x": "n"}), "x").to_numpy()
    np.testing.assert_allclose(lam(**{"lambda": 2.0, "x": x}), 4 * x)   # a keyword as a name: still by name
    assert isinstance(g, mc.printing.numpy.CompiledFunction) and "function of" in repr(g)


def test_variables_named_like_builtins_take_the_fast_path_safely():
    g = mc.derive("type.T @ A @ type", "type", {"type": "n", "A": "n,n"}).to_numpy()
    x, A = np.array([1.0, 2.0, 3.0]), np.arange(9.0).reshape(3, 3)
    first, second = g(type=x, A=A), g(type=x, A=A)
    np.testing.assert_allclose(second, (A + A.T) @ x)
    np.testing.assert_allclose(first, second)
    h = mc.derive("a.T @ list", "list", {"a": "n", "list": "n"}).to_numpy()   # the result is the input a
    a = np.ones(3)
    assert h(a=a, list=x) is not a and not np.shares_memory(h(a=a, list=x), a)


def test_the_fast_path_says_why_a_solve_fails_and_takes_numbers_given_as_arrays():
    g = mc.derive("c * x.T @ inv(A) @ x", "x", {"x": "n", "A": "n,n", "c": ""}).to_numpy()
    A, x, c = np.diag([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 3.0]), np.array(2.0)
    first, second = g(A=A, c=c, x=x), g(A=A, c=c, x=x)   # c, a 0-d array: the function takes a number
    np.testing.assert_allclose(second, 2 * 2.0 * np.linalg.solve(A, x))
    np.testing.assert_allclose(first, second)
    with pytest.raises(mc.MatcalcError, match="singular"):
        g(A=np.zeros((3, 3)), c=c, x=x)   # same signature: the fast path, then the same error
