"""The matcalc command: output, flags, errors and exit codes."""
import subprocess
import sys

import pytest

from matcalc.cli import main


def run(*args):
    return subprocess.run([sys.executable, "-m", "matcalc", *args], capture_output=True, text=True)


def test_derive_prints_the_result(capsys):
    assert main(["derive", "x.T @ A @ x", "--wrt", "x", "--shape", "x=n", "--shape", "A=n,n"]) == 0
    assert capsys.readouterr().out == "(A + Aᵀ) x\n"


def test_latex_numpy_and_check(capsys):
    code = main(["derive", "sum(log(sigmoid(X @ w)))", "--wrt", "w", "--shape", "X=N,n", "--shape", "w=n",
                 "--latex", "--numpy", "--check", "--seed", "3"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[0] == "Xᵀ (1 − σ(X w))"
    assert out[1] == r"X^{\top} \left(1 - \sigma\left(X w\right)\right)"
    assert "def gradient(X, w):" in out
    assert out[-1].startswith("check ok: max relative error")


def test_properties_and_hessians(capsys):
    assert main(["derive", "x.T @ S @ x", "--wrt", "x", "--shape", "x=n", "--shape", "S=n,n:symmetric"]) == 0
    assert capsys.readouterr().out == "2 S x\n"
    assert main(["derive", "x.T @ A @ x", "--wrt", "x", "--shape", "x=n", "--shape", "A=n,n", "--order", "2"]) == 0
    assert capsys.readouterr().out == "A + Aᵀ\n"


@pytest.mark.parametrize("args, message", [
    (["derive", "x.T @ A @ foo(y)", "--wrt", "x", "--shape", "x=n", "--shape", "A=n,n"], "unknown function 'foo'"),
    (["derive", "A @ x", "--wrt", "x", "--shape", "x=m", "--shape", "A=n,n"], "matrix product of n×n and m×1"),
    (["derive", "x.T @ (A @ x", "--wrt", "x", "--shape", "x=n", "--shape", "A=n,n"], "unbalanced '('"),
    (["derive", "x.T @ x", "--wrt", "x", "--shape", "x"], "NAME=DIMS"),
    (["derive", "x.T @ x", "--wrt", "x", "--shape", "x=n:round"], "unknown property round"),
])
def test_errors_are_one_message_and_exit_2(args, message):
    result = run(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("matcalc: error: ")


def test_undeclared_shapes_are_inferred_and_reported():
    result = run("derive", "x.T @ A @ y", "--wrt", "x", "--shape", "x=n")
    assert result.returncode == 0 and result.stdout == "A y\n"
    assert "shapes inferred" in result.stderr and "A: n×m" in result.stderr and "y: m×1" in result.stderr


def test_syntax_errors_show_a_caret():
    result = run("derive", "x.T @ (A @ x", "--wrt", "x", "--shape", "x=n", "--shape", "A=n,n")
    lines = result.stderr.splitlines()
    assert lines[-2].strip() == "x.T @ (A @ x" and lines[-1].strip() == "^"
    assert lines[-1].index("^") == lines[-2].index("(")
