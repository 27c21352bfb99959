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


def test_exit_statuses_say_what_happened(tmp_path, capsys, monkeypatch):
    import matcalc.cli as cli
    assert main(["verify", "x.T @ x", "--wrt", "x", "--claimed", "2 * x", "--shape", "x=n"]) == cli.OK
    assert main(["verify", "x.T @ x", "--wrt", "x", "--claimed", "x", "--shape", "x=n"]) == cli.FAILED
    assert main(["derive", "10**400 * sum(x)", "--wrt", "x", "--shape", "x=n"]) == cli.BAD_INPUT
    assert "the constant 10**400 exceeds the float range" in capsys.readouterr().err

    def broken(*args, **kwargs):
        raise KeyError("n")
    monkeypatch.setattr(cli, "derive", broken)
    assert main(["derive", "sum(x)", "--wrt", "x"]) == cli.INTERNAL_ERROR == 3
    err = capsys.readouterr().err
    assert err.startswith("matcalc: internal error: KeyError: 'n'") and err.count("\n") == 1
    assert "3: an internal error" in cli.__doc__ and "2: bad input" in cli.__doc__


def test_a_program_file_is_read_within_the_input_limit(tmp_path):
    program = tmp_path / "net.txt"
    program.write_text("z = W1 @ x\nh = sigmoid(z)\nL = sum(h)\n", encoding="utf-8")
    result = run("derive", "--file", str(program), "--wrt", "W1", "--shape", "W1=h,n", "--shape", "x=n")
    assert result.returncode == 0 and result.stdout == "(h ⊙ (1 − h)) xᵀ\n"
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"x + \xff\xfe y")
    result = run("derive", "--file", str(binary), "--wrt", "x")
    assert result.returncode == 2 and f"{binary} is not UTF-8 text: byte 0xff at offset 4" in result.stderr
    result = run("derive", "--file", str(tmp_path), "--wrt", "x")
    assert result.returncode == 2 and "cannot read" in result.stderr


def test_a_device_as_a_program_file_is_refused_without_reading_it_all():
    result = subprocess.run([sys.executable, "-m", "matcalc", "derive", "--file", "/dev/zero", "--wrt", "x"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr == ("matcalc: error: /dev/zero is too long: more than 400,000 bytes (a program has at "
                             "most 100,000 characters)\n")


@pytest.mark.parametrize("seed", ["-1", "x", str(2**32)])
def test_bad_seeds_are_usage_errors(seed):
    result = run("derive", "x.T @ x", "--wrt", "x", "--check", "--seed", seed)
    assert result.returncode == 2 and "--seed" in result.stderr and "Traceback" not in result.stderr


def test_an_expression_or_a_claim_may_start_with_a_minus(capsys):
    assert main(["derive", "-t.T @ log_softmax(W @ x)", "--wrt", "W", "--shape", "t=K:onehot", "--shape", "W=K,n",
                 "--shape", "x=n"]) == 0
    assert capsys.readouterr().out == "(softmax(W x) − t) xᵀ\n"
    assert main(["verify", "x.T @ x", "--wrt", "x", "--claimed", "-2*x", "--shape", "x=n"]) == 1
    assert capsys.readouterr().out.startswith("wrong (sign)")


def test_several_wrt_derive_each(capsys):
    assert main(["derive", "norm2(W2 @ sigmoid(W1 @ x) - t)**2", "--wrt", "W1", "--wrt", "W2", "--shape", "x=n",
                 "--shape", "t=m", "--shape", "W1=h,n", "--shape", "W2=m,h"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == ["∂/∂W1:", "2 ((W₂ᵀ (W₂ σ(W₁ x) − t)) ⊙ σ(W₁ x) ⊙ (1 − σ(W₁ x))) xᵀ", "∂/∂W2:",
                   "2 (W₂ σ(W₁ x) − t) σ(W₁ x)ᵀ"]


def test_version_backend_latex_syntax_and_latex_verdicts(capsys):
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip().startswith("matcalc ")
    assert main(["derive", r"x^\top A x", "--wrt", "x", "--syntax", "latex", "--shape", "x=n", "--shape", "A=n,n",
                 "--backend", "torch"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("(A + Aᵀ) x\nimport torch") and "A @ x + A.T @ x" in out
    assert main(["verify", "x.T @ A @ x", "--wrt", "x", "--claimed", "(A + A.T) @ x", "--shape", "x=n",
                 "--shape", "A=n,n", "--latex"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(r"\begin{aligned}&\text{correct (proved")
    assert main(["derive", "W2 @ sigmoid(W1 @ x)", "--wrt", "W1", "--shape", "W1=h,n", "--shape", "W2=m,h",
                 "--shape", "x=n", "--steps", "--latex"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith(r"\begin{aligned}\mathrm{d}")


def test_serve_options_are_checked():
    from matcalc.cli import build_parser
    args = build_parser().parse_args(["serve", "--workers", "3", "--time-limit", "2.5", "--port", "0"])
    assert (args.workers, args.time_limit, args.port, args.host) == (3, 2.5, 0, "127.0.0.1")
    for bad in (["serve", "--workers", "0"], ["serve", "--time-limit", "-1"], ["serve", "--time-limit", "inf"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(bad)
