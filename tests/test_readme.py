"""The README tells the truth: its Python snippet runs, and its table of results is what derive prints."""
import pathlib
import re

import pytest

import matcalc as mc

README = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
SHAPES = {"x": "n", "a": "n", "b": "n", "y": "m", "t": "m", "A": "n,n", "B": "n,n", "X": "n,n", "W": "m,n",
          "W1": "h,n", "W2": "m,h", "S": mc.matrix("S", "n", "n", symmetric=True)}


def table_rows():
    rows = []
    for line in README.splitlines():
        m = re.match(r"^\| `([^`]+)`(?: \(([^)]*)\))?(?:, `S` symmetric)? \| `(\w+)` \| `([^`]+)` \|$", line)
        if m:
            rows.append((m.group(1), m.group(2) or "", m.group(3), m.group(4)))
    return rows


def test_the_table_was_found():
    assert len(table_rows()) >= 10


@pytest.mark.parametrize("expr, note, wrt, result", table_rows())
def test_table_row(expr, note, wrt, result):
    shapes = dict(SHAPES)
    if expr.startswith("sum(log(sigmoid(X"):
        shapes.update(X="N,n", w="n")
    if expr.startswith("sigmoid(W"):
        shapes.update(x="n")
    order = 2 if "Hessian" in note else 1
    assert str(mc.derive(expr, wrt, shapes=shapes, order=order)) == result


def test_quick_start_snippet_runs():
    block = re.search(r"## Quick start\n\n```python\n(.*?)```", README, re.S).group(1)
    namespace = {}
    exec(compile(block, "README quick start", "exec"), namespace)   # the README's own code
    assert str(namespace["g"]) == "(A + Aᵀ) x"
