"""The README's *Errors*, *Guarantees* and *Limits* sections are true: every error class in the
table is raised by an input of its row, every budget stated is the budget in the code (and hit
with the error it names), and every guarantee names the tests that check it."""
import importlib
import pathlib
import re

import numpy as np
import pytest

import matcalc as mc
from matcalc import cli, derivative, limits, rewrite
from matcalc.limits import guarded
from matcalc.rules import load_rules

parse = importlib.import_module("matcalc.parse")   # (the package's parse is the function)
ROOT = pathlib.Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    start = README.index(f"## {title}")
    return README[start:README.index("\n## ", start + 3)]


@guarded
def _a_bug():
    raise KeyError("a bug")


# one input for each row of the Errors table, raising exactly that class
RAISED_BY = {
    "ParseError": lambda: mc.parse("x +", {"x": "n"}),
    "ShapeError": lambda: mc.derive("x.T @ x", "x", {"x": "n"}).to_numpy()(x=np.array([1 + 1j, 2])),
    "UnknownNameError": lambda: mc.parse("foo(x)", {"x": "n"}),
    "UnsupportedDerivativeError": lambda: mc.hessian("A @ x", "x", {"x": "n", "A": "n,n"}),
    "LimitError": lambda: mc.parse("10**400 * sum(x)", {"x": "n"}),
    "PropertyError": lambda: mc.matrix("S", "n", "n", weird=True),
    "NotSupportedError": lambda: mc.vector("x", "n")[0],
    "RuleError": lambda: load_rules(pathlib.Path("no-such-directory")),
    "InternalError": _a_bug,
    "MatcalcError": lambda: mc.derive(mc.sum(mc.vector("x", "n")) + mc.sum(mc.vector("x", "m")), "x"),
}


def test_the_errors_table_has_a_row_for_each_error_and_each_is_raised():
    rows = re.findall(r"^\| `(\w+)` \|", section("Errors"), re.M)
    assert sorted(rows) == sorted(RAISED_BY)
    for name, cause in RAISED_BY.items():
        cls = getattr(mc, name)
        assert issubclass(cls, mc.MatcalcError)
        with pytest.raises(cls) as caught:
            cause()
        assert type(caught.value) is cls, (name, type(caught.value))


def test_the_stated_exit_statuses_are_the_command_line_s():
    text = " ".join(section("Errors").split())
    assert "exits with 0 when done" in text and "1 when the check failed or the claim is wrong" in text
    assert "2 on bad input" in text and "3 on an internal error" in text
    assert (cli.OK, cli.FAILED, cli.BAD_INPUT, cli.INTERNAL_ERROR) == (0, 1, 2, 3)


# each budget of the Limits section: the sentence's number, the constant, and an input that hits it
BUDGETS = [
    (r"strings of up to ([\d,]+) characters", parse.MAX_SOURCE_LENGTH,
     lambda n: mc.parse("x" * (n + 1), {}), mc.ParseError),
    (r"`--file` up to ([\d,]+) bytes", cli.MAX_FILE_BYTES, None, None),
    (r"nested up to ([\d,]+) levels", parse.MAX_DEPTH,
     lambda n: mc.parse("(" * (n + 1) + "x" + ")" * (n + 1), {"x": "n"}), mc.ParseError),
    (r"expressions up to ([\d,]+) levels deep", derivative.MAX_DEPTH, None, mc.UnsupportedDerivativeError),
    (r"exact rationals of up to ([\d,]+) bits", limits.MAX_EXACT_BITS, None, None),
    (r"more than ([\d,]+) significant digits", parse.MAX_EXACT_DIGITS, None, None),
    (r"up to \|k\| = ([\d,]+)", limits.MAX_MATRIX_POWER,
     lambda n: mc.derive(f"trace(X^{n + 1})", "X", {"X": "n,n"}, syntax="matlab"), mc.LimitError),
    (r"at most ([\d,]+) characters", limits.MAX_PRINTED_LENGTH, None, None),
    (r"([\d,]+) rule applications", rewrite.MAX_REWRITES, None, None),
    (r"plus ([\d,]+) per subexpression", rewrite.REWRITES_PER_NODE, None, None),
]


@pytest.mark.parametrize("pattern, constant, hit, error", BUDGETS, ids=[b[0] for b in BUDGETS])
def test_each_budget_stated_is_the_code_s(pattern, constant, hit, error):
    text = " ".join(section("Limits").split())
    found = re.search(pattern, text)
    assert found, pattern
    assert int(found.group(1).replace(",", "")) == constant
    if hit is not None:
        with pytest.raises(error):
            hit(constant)


def test_the_depth_budget_of_derive_is_hit_with_its_error():
    x = mc.vector("x", "n")
    f = x
    for _ in range(derivative.MAX_DEPTH):
        f = mc.sin(f)
    with pytest.raises(mc.UnsupportedDerivativeError, match="levels deep"):
        mc.derive(mc.sum(f), x)


def test_each_guarantee_names_the_tests_that_check_it():
    bullets = re.split(r"\n- ", section("Guarantees"))[1:]
    assert len(bullets) >= 8
    for bullet in bullets:
        cited = re.findall(r"`(tests/test_\w+\.py)`", bullet)
        named = re.findall(r"\b(test_\w+\.py)\b", bullet)
        assert cited or named or "table-driven" in bullet or "coverage test" in bullet or "oracle" in bullet, bullet
        for path in cited:
            assert (ROOT / path).exists(), path
