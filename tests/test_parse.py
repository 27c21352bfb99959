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
    ("x − y", "MINUS SIGN", 2),
    ("x.shape", "only '.T'", 1),
    ("__import__('os')", "not allowed", 0),
    ("lambda: x", "not allowed", 0),
    ("exp(x=1)", "keyword arguments", 4),
    ("exp(*x)", "starred", 4),
    ("foo(x)", "unknown function 'foo'", 0),
    ("z + x", "unknown name 'z'", 0),
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
    assert execs == ["numpy.py"]
