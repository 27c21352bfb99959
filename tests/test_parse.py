"""The parser reads the numpy notation, reports errors with a caret, and never evaluates."""
import pathlib
import re

import pytest

import matcalc as mc

SHAPES = {"x": "n", "A": "n,n", "B": "m,n", "y": "m", "c": ""}


@pytest.mark.parametrize("text, printed", [
    ("x.T @ A @ x", "xᵀ A x"),
    ("-x.T @ x", "−xᵀ x"),
    ("x ** 2", "x∘²"),
    ("-x ** 2", "−x∘²"),
    ("2 ** -1 * x", "½ x"),
    ("(A @ x).T", "xᵀ Aᵀ"),
    ("A.T.T @ x", "A x"),
    ("1 - sigmoid(B @ x)", "1 − σ(B x)"),
    ("x / c", "x / c"),
    ("c * x + x * c", "2 c x"),
    ("1.5e1 * c", "15 c"),
    ("sqrt(c)", "√(c)"),
    ("trace(eye(n))", "n"),
    ("ones(n).T @ x", "𝟏ᵀ x"),
])
def test_reads_the_numpy_notation(text, printed):
    assert str(mc.parse(text, SHAPES)) == printed


@pytest.mark.parametrize("text, message, caret", [
    ("x +", "ends too early", 3),
    ("(x", "unbalanced '('", 0),
    ("x)", "unbalanced ')'", 1),
    ("", "empty", 0),
    ("x y", "operator missing", 2),
    ("x ∫ y", "INTEGRAL", 2),
    ("x.shape", "only '.T'", 1),
    ("__import__('os')", "not allowed", 0),
    ("lambda: x", "not allowed", 0),
    ("exp(x=1)", "keyword arguments", 4),
    ("exp(*x)", "starred", 4),
    ("foo(x)", "unknown function 'foo'", 0),
    ("A @ y", "matrix product of n×n and m×1", 2),
    ("x + y", "cannot add n×1 and m×1", 2),
    ("trace(B)", "square", 0),
    ("x ** x", "exponent", 2),
    ("exp", "is a function", 0),
    ("[x]", "unexpected", 0),
])
def test_errors_point_at_the_position(text, message, caret):
    with pytest.raises(mc.MatcalcError) as info:
        mc.parse(text, SHAPES)
    assert message in str(info.value)
    assert getattr(info.value, "position", caret) == caret
    if text:
        lines = str(info.value).splitlines()
        assert lines[-1].index("^") - 2 == caret


@pytest.mark.parametrize("text, syntax, shapes", [
    ("x.T @ A @ x", "numpy", {"x": ("n", 1), "A": ("n", "n")}),
    ("norm2(A @ x - b) ** 2", "numpy", {"A": ("n", "m"), "x": ("m", 1), "b": ("n", 1)}),
    ("x.T @ A @ x + c", "numpy", {"x": ("n", 1), "A": ("n", "n"), "c": (1, 1)}),
    ("lam * (w.T @ w) + sum(exp(X @ w))", "numpy", {"lam": (1, 1), "w": ("n", 1), "X": ("m", "n")}),
    ("W @ X + b", "numpy", {"W": ("n", "m"), "X": ("m", "p"), "b": ("n", 1)}),
    ("alpha * x", "numpy", {"alpha": (1, 1), "x": (1, 1)}),   # no matrix operation: scalars
    ("alpha * sum(x)", "numpy", {"alpha": (1, 1), "x": ("n", 1)}),
    ("x'*A*x", "matlab", {"x": ("n", 1), "A": ("n", "n")}),
    ("c*x + A*x", "matlab", {"c": (1, 1), "x": ("n", 1), "A": ("n", "n")}),
    ("lambda*x'*x", "matlab", {"lambda": (1, 1), "x": ("n", 1)}),
    ("tr(X*A)", "matlab", {"X": ("n", "m"), "A": ("m", "n")}),
])
def test_shapes_are_inferred(text, syntax, shapes):
    f = mc.parse(text, syntax=syntax)
    assert {v.name: v.shape for v in f.free_vars} == shapes


def test_declared_shapes_win_and_ambiguity_is_reported():
    f = mc.parse("x.T @ A @ y", {"x": "k"})
    assert {v.name: v.shape for v in f.free_vars} == {"x": ("k", 1), "A": ("k", "n"), "y": ("n", 1)}
    with pytest.raises(mc.ShapeError, match="cannot add"):
        mc.parse("x + y", {"x": "n", "y": "m"})


@pytest.mark.parametrize("matlab, numpy", [
    ("x'*A*x", "x.T @ A @ x"),
    ("norm2(A*x - b)^2", "norm2(A @ x - b) ** 2"),
    ("sum(exp(x).*y)", "sum(exp(x) * y)"),
    ("x./y + x.^2", "x / y + x ** 2"),
    ("2*x'*x/3", "2 * (x.T @ x) / 3"),
    ("tr(X*A) + logdet(X)", "trace(X @ A) + logdet(X)"),
    ("norm1(x)", "sum(abs(x))"),
    ("vector(1)'*x", "ones(n).T @ x"),
    ("X^2", "X @ X"),
    ("X^-1 * y", "inv(X) @ y"),
    ("a^2", "a ** 2"),
])
def test_matlab_notation(matlab, numpy):
    shapes = {"x": "n", "y": "n", "A": "n,n", "b": "n", "X": "n,n", "a": ""}
    assert mc.parse(matlab, shapes, syntax="matlab") is mc.parse(numpy, shapes)


def test_matlab_errors():
    with pytest.raises(mc.ParseError, match="MATLAB notation"):
        mc.parse("x'*x", {"x": "n"})
    with pytest.raises(mc.ShapeError, match="square"):
        mc.parse("B^2", {"B": "n,m"}, syntax="matlab")


def test_deep_nesting_fails_clearly():
    with pytest.raises(mc.ParseError, match="nested too deeply"):
        mc.parse("(" * 1000 + "x" + ")" * 1000, SHAPES)


def test_huge_input_fails_clearly():
    with pytest.raises(mc.ParseError, match="too long"):
        mc.parse("x + " * 100_000 + "x", SHAPES)


def test_no_eval_in_the_package_and_exec_in_one_place():
    package = pathlib.Path(mc.__file__).parent
    evals, execs = [], []
    for path in package.rglob("*.py"):
        source = path.read_text()
        evals += [path.name for _ in re.finditer(r"(?<![\w.])eval\(", source)]
        execs += [path.name for _ in re.finditer(r"(?<![\w.])exec\(", source)]
    assert evals == []
    assert execs == ["code.py"]


def test_deep_and_wide_expressions_work_or_fail_clearly():
    x = mc.vector("x", "n")
    e = x
    for _ in range(300):
        e = mc.sin(e)
    g = mc.derive(mc.sum(e), x)   # 300 levels: fine
    assert g.check(seed=0, trials=1).ok
    for _ in range(10_000):
        e = mc.sin(e)
    with pytest.raises(mc.UnsupportedDerivativeError, match="levels deep"):
        mc.derive(mc.sum(e), x)
    total = " + ".join(f"x{i}.T @ A @ x{i}" for i in range(200))
    assert str(mc.derive(total, "x7", {"A": "n,n"})) == "(A + Aᵀ) x₇"
