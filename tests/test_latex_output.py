"""LaTeX out that renders everywhere: every LaTeX string matcalc produces for the examples is
plain ASCII (pdflatex stops on a raw δ or ᵀ), and KaTeX renders it without an error where KaTeX
is installed (``.ci/run`` installs it with npm into ``.ci/node``)."""
import json
import pathlib
import shutil
import subprocess

import pytest

import matcalc as mc

ROOT = pathlib.Path(__file__).resolve().parent.parent
KATEX = ROOT / ".ci" / "node" / "node_modules" / "katex"


def latex_strings() -> dict:
    """``{what: LaTeX}`` over results, steps, verdicts, check reports and describe()."""
    out = {}
    shapes = {"x": "n", "A": "n,n", "X": "N,n", "w": "n", "y": "N", "W1": "h,n", "W2": "m,h", "t": "m",
              "invden": "", "lam": "", "delta": "", "Phi": "N,D", "W": "D,K"}
    cases = [("x.T @ inv(A) @ x", "x", 1), ("sum(log(1 + exp(-y * (X @ w))))", "w", 2),
             ("norm2(W2 @ sigmoid(W1 @ x) - t)**2 + lam * norm2(W1)**2", "W1", 1), ("logdet(A) * invden", "A", 1),
             ("delta * sum(gelu(A @ x)) + trace(expm(A))", "A", 1), ("-sum(T * log_softmax(Phi @ W, axis=1))", "W", 2),
             ("trace(A @ A @ A)", "A", 2), ("A @ x", "A", 1), ("cholesky(A @ A.T)", "A", 1)]
    for f, wrt, order in cases:
        extra = {"T": mc.matrix("T", "N", "K", onehot="rows")}
        g = mc.derive(f, wrt, {**shapes, **extra}, order=order)
        out[f"{f} w.r.t. {wrt}"] = g.latex()
        out[f"steps of {f}"] = g.steps().latex()
        out[f"check of {f}"] = g.check(seed=0).latex()
        if g.form != "matrix":
            out[f"describe {f}"] = g.describe().latex()
    rnn = ("-y1.T @ log_softmax(V @ tanh(W @ h0 + U @ x1 + b) + c)"
           " - y2.T @ log_softmax(V @ tanh(W @ tanh(W @ h0 + U @ x1 + b) + U @ x2 + b) + c)")
    out["rnn"] = mc.derive(rnn, "W", {"W": "h,h", "U": "h,D", "V": "K,h", "h0": "h", "x1": "D", "x2": "D", "b": "h",
                                      "c": "K", "y1": "K", "y2": "K"}).latex()
    for claim in ("2 * A @ x", "(A + A.T) @ x", "A @ x", "x.T @ A"):
        out[f"verdict {claim}"] = mc.verify("x.T @ A @ x", "x", claim, {"x": "n", "A": "n,n"}).latex()
    program = "z = W1 @ x\nh = sigmoid(z)\ny = W2 @ h\nL = norm2(y - t)**2"
    out["staged steps"] = mc.derive(program, "W1", {"W1": "h,n", "W2": "m,h", "x": "n", "t": "m"}).steps().latex()
    return out


def test_latex_output_is_ascii_with_greek_as_macros():
    for what, text in latex_strings().items():
        assert text.isascii(), f"{what}: {[c for c in text if not c.isascii()]} in {text}"
    assert r"\mathrm{invden}" in latex_strings()["logdet(A) * invden w.r.t. A"]


def test_subscripts_are_consistent_in_labels():
    steps = mc.derive("norm2(W1 @ x)**2", "W1", {"W1": "h,n", "x": "n"}).steps().latex()
    assert r"\nabla_{W_{1}} f" in steps and "W1" not in steps


@pytest.mark.skipif(not (shutil.which("node") and KATEX.exists()), reason="KaTeX (npm) is not installed")
def test_katex_renders_every_latex_string():
    strings = latex_strings()
    script = (f"const katex = require({json.dumps(str(KATEX))});"
              "const items = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "const bad = [];"
              "for (const [what, tex] of Object.entries(items)) {"
              "  try { katex.renderToString(tex, {throwOnError: true, displayMode: true, strict: 'error'}); }"
              "  catch (e) { bad.push(what + ': ' + e.message); } }"
              "console.log(JSON.stringify(bad));")
    done = subprocess.run(["node", "-e", script], input=json.dumps(strings), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
