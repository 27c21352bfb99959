"""Hostile and malformed input: always a MatcalcError with a clear message — never another
exception, a hang, or a wrong answer."""
import re
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcalc as mc
from matcalc.fuzz import run_hostile

SHAPES = {"x": "n", "y": "n", "A": "n,n", "B": "m,n"}


@pytest.mark.parametrize("text", [
    "", "   ", "x +", "+", "* x", "x * * y", "x @", "(x", "x)", "((x)", "(x))", "[x]", "{x}", "x,y",
    "x.", "x..T", "2..3", "1e", "x # comment", "x;", "x = y", "x == y", "x => y", ".T", "exp()",
    "exp(x,", "exp(x y)", "sum(,)", "x ** ", "x ** * 2", "\\", "\"x\"", "'x'", "x\x00", "x\ty\n",
])
def test_syntax_errors(text):
    with pytest.raises(mc.MatcalcError):
        mc.derive(text, "x", SHAPES)


@pytest.mark.parametrize("text, same", [
    ("x − y", "x - y"), ("xᵀ x", "x.T @ x"), ("x · (xᵀ y)", "x * (x.T @ y)"), ("ｘ + y", "x + y"),
    ("σ(x) ⊙ y", "sigmoid(x) * y"), ("‖x − y‖²", "norm2(x - y) ** 2"),
])
def test_unicode_math_is_read_as_matcalcs_text_form(text, same):
    assert mc.parse(text, SHAPES) is mc.parse(same, SHAPES)


def test_unicode_the_text_form_cannot_read_keeps_the_numpy_hint():
    with pytest.raises(mc.ParseError, match="did you mean '.T'"):
        mc.parse("xᵀ @ x", SHAPES)


def test_a_megabyte_string_fails_fast():
    with pytest.raises(mc.ParseError, match="too long"):
        mc.parse("x + " * 250_000 + "x", SHAPES)


@pytest.mark.parametrize("text", [
    "x.__class__", "x.shape", "x.T.__dict__", "__import__('os')", "__builtins__", "x.__add__(x)",
    "lambda: x", "(lambda x: x)(y)", "[x for x in y]", "{x: y}", "eval(x)", "exec(x)", "open(x)",
    "getattr(x, 'T')", "import os", "os.system", "exp(x=y)", "exp(*x)", "exp(**x)", "foo(x)",
    "x if y else x", "not x", "x and y", "print(x)", "__x",
])
def test_no_escape_from_the_parser(text):
    with pytest.raises(mc.MatcalcError):
        mc.parse(text, SHAPES)


@pytest.mark.parametrize("name", ["x y", "1x", "x-y", "", "__class__", "x.T", 3])
def test_variable_names_must_be_identifiers(name):
    with pytest.raises(mc.MatcalcError):
        mc.derive("x.T @ x", "x", {name: "n", "x": "n"})
    with pytest.raises(mc.MatcalcError):
        mc.vector(name, "n")


def test_shape_mismatch_deep_in_an_expression_names_the_operation_and_both_shapes():
    text = "sum(exp(A @ (x + sigmoid(B @ (A @ x)))))"
    with pytest.raises(mc.ShapeError) as info:
        mc.parse(text, SHAPES)
    lines = str(info.value).splitlines()
    assert lines[0] == "cannot add n×1 and m×1"
    assert lines[-1].index("^") - 2 == text.index("+")
    with pytest.raises(mc.ShapeError, match="matrix product of m×n and m×1"):
        mc.parse("sum(exp(A @ (x + sigmoid(B @ (B @ x)))))", SHAPES)


@pytest.mark.parametrize("f, wrt, order, fragment", [
    ("x.T @ x", "x", 3, "order 3"),
    ("A @ x", "x", 2, "needs a scalar function"),
    ("x.T @ x", "q", 1, "unknown variable 'q'"),
])
def test_unsupported_derivatives_say_which_and_why(f, wrt, order, fragment):
    with pytest.raises(mc.MatcalcError, match=fragment):
        mc.derive(f, wrt, SHAPES, order=order)


def test_checks_at_singular_inputs_are_inconclusive_not_wrong():
    # A Aᵀ with A n×1 is singular everywhere: logdet is -inf, no usable input exists
    g = mc.derive("logdet(A @ A.T)", "A", {"A": "n,1"})
    report = g.check(seed=0, trials=2)
    assert report.status == "inconclusive" and not report.ok


def test_a_derivative_too_small_to_measure_is_inconclusive_not_ok():
    report = mc.derive("1 + 1e-20 * sum(x)", "x", {"x": "n"}).check(seed=0)
    assert report.status == "inconclusive" and "resolve" in report.message


def test_a_small_but_wrong_derivative_is_wrong():
    from matcalc.check import check_derivative
    from matcalc.printing.numpy import NumpyFunction
    x = mc.vector("x", "n")
    f = 1e-10 * (x.T @ x)
    wrong = NumpyFunction(1e-10 * x, "g")            # the gradient is 2e-10 x
    right = NumpyFunction(2e-10 * x, "g")
    assert check_derivative(f, x, wrong, "gradient", [x], seed=0).status == "wrong"
    assert check_derivative(f, x, right, "gradient", [x], seed=0).status == "ok"


def test_checks_near_kinks_redraw_instead_of_failing():
    g = mc.derive("sum(relu(x)) + sum(abs(x))", "x", {"x": "n"})
    assert g.check(seed=0).ok


def test_numeric_inputs_are_validated():
    fn = mc.derive("x.T @ A @ x", "x", SHAPES).to_numpy()
    with pytest.raises(mc.ShapeError):
        fn(A=np.eye(3), x="not numbers")
    with pytest.raises(mc.ShapeError):
        fn(A=np.ones((2, 3)), x=np.ones(3))
    with pytest.raises(mc.ShapeError):
        fn(A=np.eye(3), x=np.ones((3, 3)))


@settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.integers(0, 10**9))
def test_random_and_mutated_strings_never_crash(seed):
    # each string that derives is also compiled, evaluated against an independent reference and checked
    outcome, text = run_hostile(seed)
    assert outcome in ("ok", "rejected", "inconclusive"), text


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet="xyA.T@*+-()' ,=:/^12", max_size=20),
       st.lists(st.sampled_from(["--shape", "x=n", "A=n,n", "--latex", "--check", "--steps", "--syntax",
                                 "matlab", "--order", "2", "--wrt", "x", "y=", ":sym"]), max_size=6))
def test_the_command_line_never_crashes(expr, extra):
    from matcalc.cli import main
    try:
        code = main(["derive", expr, "--wrt", "x", *extra])
    except SystemExit as err:   # argparse's own usage errors
        code = err.code
    assert code in (0, 1, 2)


def test_cli_errors_are_one_line_and_status_2():
    result = subprocess.run([sys.executable, "-m", "matcalc", "derive", "x.__class__", "--wrt", "x"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr


# The exceptions other than MatcalcError that escaped (issue 9 §3), each a regression test.
def _derivatives():
    return mc.derive("x.T @ A @ x", ["x"], SHAPES)


@pytest.mark.parametrize("attempt, error, fragment", [
    (lambda: mc.derive("10**400 * sum(x)", "x", SHAPES), mc.LimitError, "10**400 exceeds the float range"),
    (lambda: mc.parse("9" * 5000 + " * x", SHAPES), mc.LimitError, "beyond the float range"),
    (lambda: mc.vector("x", "²"), mc.ShapeError, "bad dimension '²'"),
    (lambda: mc.derive("sum(x)", "x", {"x": "⁵"}), mc.ShapeError, "bad dimension '⁵'"),
    (lambda: mc.ones("²"), mc.ShapeError, "bad dimension"),
    (lambda: mc.parse("sum(ones(99999999999999999999))"), mc.ShapeError, "bad dimension"),
    (lambda: _derivatives()["zz"], KeyError, "no derivative w.r.t. 'zz'; there are: x"),
    (lambda: mc.hessian("x.T @ x", "x", SHAPES, order=3), mc.MatcalcError, "takes no order"),
    (lambda: mc.vector("x", "n")[0], TypeError, "cannot be indexed or sliced"),
    (lambda: list(mc.vector("x", "n")), TypeError, "cannot be iterated"),
    (lambda: len(mc.vector("x", "n")), TypeError, "its shape is n×1"),
    (lambda: mc.derive("sum(x)", "x", ["x"]), mc.MatcalcError, "shapes must map names to dims"),
    (lambda: mc.derive("sum(z)", "x", SHAPES, definitions=["z"]), mc.MatcalcError, "definitions must map"),
    (lambda: mc.derive("x.T @ x", "x", SHAPES).check(seed=-1), mc.MatcalcError, "seed must be"),
    (lambda: mc.derive("x.T @ x", "x", SHAPES).check(trials=0), mc.MatcalcError, "trials must be"),
    (lambda: mc.derive("x.T @ x", "x", SHAPES).check(tolerance="a"), mc.MatcalcError, "tolerance must be"),
    (lambda: mc.vector("x", "n") * 10**400, mc.LimitError, "exceeds the float range"),
    (lambda: mc.derive("y.T @ inv(A) @ x", "x", SHAPES).to_numpy()(A=np.zeros((3, 3)), x=np.ones(3), y=np.ones(3)),
     mc.MatcalcError, "singular"),
])
def test_what_used_to_escape_is_a_matcalc_error(attempt, error, fragment):
    with pytest.raises(error, match=re.escape(fragment)) as info:
        attempt()
    assert isinstance(info.value, mc.MatcalcError) and not isinstance(info.value, mc.InternalError)


def test_probes_of_every_entry_point_raise_only_matcalc_errors():
    x = mc.vector("x", "n")
    g = mc.derive("x.T @ A @ x", "x", SHAPES)
    attempts = [
        lambda: mc.derive(3, "x"), lambda: mc.derive(None, "x"), lambda: mc.derive(b"sum(x)", "x"),
        lambda: mc.derive("sum(x)", 3, SHAPES), lambda: mc.derive("sum(x)", [], SHAPES),
        lambda: mc.derive("sum(x)", "x", SHAPES, order="2"), lambda: mc.derive("sum(x)", "x", SHAPES, syntax=3),
        lambda: mc.derive("sum(x)", "x", SHAPES, layout=[]), lambda: mc.derive("sum(x)", "x", {1: "n"}),
        lambda: mc.derive("sum(x)", "x", {"x": None}), lambda: mc.hvp("x.T@x", "x", 3, SHAPES),
        lambda: mc.verify("x.T @ x", "x", None, SHAPES), lambda: mc.verify("x.T @ x", "x", "2*q", SHAPES),
        lambda: mc.parse(None), lambda: mc.parse("x", {"x": 3}), lambda: mc.parse("X^0.5", SHAPES, syntax="matlab"),
        lambda: mc.matrix("A", 1.5, "n"), lambda: mc.eye(None), lambda: mc.vector("x", 0),
        lambda: mc.exp(None), lambda: mc.sum("x"), lambda: x + "y", lambda: x @ [1, 2],
        lambda: g.compile("tf"), lambda: g.source(None), lambda: g.to_numpy()(A="abc", x=np.ones(3)),
        lambda: mc.derive("trace(X^(10^10))", "X", {"X": "n,n"}, syntax="matlab"),
        lambda: mc.derive("sum(x**1e308 * x**1e308)", "x", SHAPES), lambda: mc.derive("1e-400 * sum(x)", "x", SHAPES),
    ]
    for attempt in attempts:
        try:
            attempt()
        except mc.InternalError as err:   # a bug, not bad input
            raise AssertionError(f"internal error: {err}") from err
        except mc.MatcalcError:
            pass
