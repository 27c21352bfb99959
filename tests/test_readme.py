"""The README tells the truth: its Python snippet runs, and its table of results is what derive prints."""
import pathlib
import re

import pytest

import matcalc as mc

README = (pathlib.Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
SHAPES = {"x": "n", "a": "n", "b": "n", "y": "m", "t": "m", "A": "n,n", "B": "n,n", "X": "n,n", "W": "m,n",
          "W1": "h,n", "W2": "m,h", "S": mc.matrix("S", "n", "n", symmetric=True)}


# shapes for rows whose names mean something else than in SHAPES
OVERRIDES = [("(X @ w)", {"X": "N,n", "w": "n", "y": "N"}), ("sigmoid(X @ w)", {"X": "N,n", "w": "n"}),
             ("B @ x - b", {"B": "m,n", "b": "m"}), ("log_softmax(z)", {"t": "n", "z": "n"})]


def table_rows():
    """Rows ``| `f` | `wrt` | `result` |`` of the README's result tables, with their order."""
    rows = []
    order = 1
    for line in README.splitlines():
        if line.startswith("| function |"):
            order = 2 if "Hessian" in line else 1
        m = re.match(r"^\| `([^`]+)`(?: \(([^)]*)\))?(?:, `S` symmetric)? \| `(\w+)` \| `([^`]+)` \|$", line)
        if m:
            rows.append((m.group(1), 2 if "Hessian" in (m.group(2) or "") else order, m.group(3), m.group(4)))
    return rows


def test_the_table_was_found():
    assert len(table_rows()) >= 14


@pytest.mark.parametrize("expr, order, wrt, result", table_rows())
def test_table_row(expr, order, wrt, result):
    shapes = dict(SHAPES)
    for key, extra in OVERRIDES:
        if key in expr:
            shapes.update(extra)
    assert str(mc.derive(expr, wrt, shapes=shapes, order=order)) == result


def test_quick_start_snippet_runs():
    block = re.search(r"## Quick start\n\n```python\n(.*?)```", README, re.S).group(1)
    namespace = {}
    exec(compile(block, "README quick start", "exec"), namespace)   # the README's own code
    assert str(namespace["g"]) == "(A + Aᵀ) x"
    shown = re.search(r"print\(g\.check\(seed=0\)\)\s+# (.*?) \.\.\.", block).group(1)
    def without_error(text):   # the rounding error's digits depend on the BLAS
        return re.sub(r"error \S+", "error …", text)
    assert without_error(str(namespace["g"].check(seed=0))).startswith(without_error(shown))


def test_interactive_examples_print_what_the_readme_shows():
    import doctest
    path = pathlib.Path(__file__).resolve().parent.parent / "README.md"
    result = doctest.testfile(str(path), module_relative=False, globs={"mc": mc}, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 3 and result.failed == 0


def test_the_jax_and_torch_example_prints_what_the_readme_shows():
    pytest.importorskip("jax")
    pytest.importorskip("torch")
    import contextlib
    import io
    section = README.split("### Inside jax and torch programs", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    shown = re.search(r"prints\n\n```\n(.*?)```", section, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README jax and torch example", "exec"), {})  # noqa: S102 - the README's own code
    assert out.getvalue() == shown


def _section_blocks(title: str) -> list:
    section = README.split(title, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_dask_example_runs_scaled_down():
    pytest.importorskip("dask.distributed")
    import numpy as np
    code = _section_blocks("### Beyond one machine")[0]
    small = code.replace("2_000_000", "20_000").replace("100_000", "2_000").replace("100)", "5)")
    small = small.replace("np.zeros(100)", "np.zeros(5)").replace("LocalCluster(n_workers=2)",
                                                                  "LocalCluster(n_workers=2, dashboard_address=None)")
    namespace = {"mc": mc, "np": np}
    exec(compile(small, "README dask example", "exec"), namespace)  # noqa: S102 - the README's own code
    H = namespace["H"]
    assert H.shape == (5, 5) and np.allclose(H, H.T)


def test_the_sharded_jax_example_runs_on_eight_devices():
    pytest.importorskip("jax")
    import subprocess
    import sys
    code = _section_blocks("### Beyond one machine")[1]
    prelude = ('import os\nos.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"\n'
               "import jax, numpy as np\njax.config.update('jax_enable_x64', True)\nimport matcalc as mc\n"
               "shapes = {'X': 'N,n', 'y': 'N', 'w': 'n'}\nloss = 'sum(log(1 + exp(-y * (X @ w))))'\n"
               "rng = np.random.default_rng(0)\n"
               "X, y, w = rng.standard_normal((80, 3)), rng.choice([-1.0, 1.0], 80), rng.standard_normal(3)\n"
               "X0, y0 = X, y\n")
    check = ("single = mc.derive(loss, 'w', shapes, order=2).to_jax()(X=X0, y=y0, w=w)\n"
             "print(len(X.sharding.device_set), float(abs(H - single).max()))\n")
    out = subprocess.run([sys.executable, "-c", prelude + code + check], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    devices, difference = out.stdout.split()
    assert devices == "8" and float(difference) < 1e-12
