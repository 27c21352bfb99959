r"""LaTeX: ``\left(A + A^{\top}\right) x``, ``X^{-\top}``, ``\sigma\left(X w\right)``."""
from __future__ import annotations

import re
import unicodedata
from fractions import Fraction

from ..limits import guarded
from .infix import ATOM, GREEK, UNARY, InfixPrinter

GREEK_LATEX = {
    "alpha": r"\alpha", "beta": r"\beta", "gamma": r"\gamma", "delta": r"\delta",
    "epsilon": r"\epsilon", "eps": r"\epsilon", "zeta": r"\zeta", "eta": r"\eta",
    "theta": r"\theta", "kappa": r"\kappa", "lam": r"\lambda", "lambda": r"\lambda", "lambda_": r"\lambda",
    "lmbda": r"\lambda", "mu": r"\mu", "nu": r"\nu", "xi": r"\xi", "pi": r"\pi", "rho": r"\rho",
    "sigma": r"\sigma", "tau": r"\tau", "phi": r"\phi", "chi": r"\chi", "psi": r"\psi",
    "omega": r"\omega", "Gamma": r"\Gamma", "Delta": r"\Delta", "Theta": r"\Theta",
    "Lambda": r"\Lambda", "Sigma": r"\Sigma", "Phi": r"\Phi", "Psi": r"\Psi", "Omega": r"\Omega",
}
GREEK_MACROS = {GREEK[name]: macro for name, macro in GREEK_LATEX.items() if name in GREEK}   # λ -> \lambda
_TRAILING = re.compile(r"^(.*?[^\d_])_?(\d+)$")

FUNCTION_LATEX = {
    "exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos", "tan": r"\tan",
    "tanh": r"\tanh", "sigmoid": r"\sigma", "relu": r"\operatorname{relu}",
    "softplus": r"\operatorname{softplus}", "sign": r"\operatorname{sign}",
    "sinh": r"\sinh", "cosh": r"\cosh", "arcsin": r"\arcsin", "arccos": r"\arccos", "arctan": r"\arctan",
    "log1p": r"\operatorname{log1p}", "expm1": r"\operatorname{expm1}", "erf": r"\operatorname{erf}",
    "normcdf": r"\Phi", "normpdf": r"\phi", "gelu": r"\operatorname{GELU}", "silu": r"\operatorname{SiLU}",
}


def latex_name(name: str) -> str:
    """``W1`` -> ``W_{1}``, ``lam`` -> ``\\lambda``, ``x_max`` -> ``x_{\\mathrm{max}}``, a backward
    signal ``δh1`` -> ``\\delta h_{1}``."""
    if name.startswith("δ") and len(name) > 1:
        return r"\delta " + latex_name(name[1:])
    m = _TRAILING.match(name)
    base, sub = (m.group(1), m.group(2)) if m else (name, "")
    if not sub and "_" in base.strip("_"):
        base, sub = base.split("_", 1)
        sub = r"\mathrm{" + sub.replace("_", r"\_") + "}" if len(sub) > 1 else sub
    if base in GREEK_LATEX:
        base = GREEK_LATEX[base]
    elif len(base) > 1:
        base = r"\mathrm{" + base.replace("_", r"\_") + "}"
    return base + (f"_{{{sub}}}" if sub else "")


class LatexPrinter(InfixPrinter):
    transpose_mark = r"^{\top}"
    inverse_mark = "^{-1}"
    inverse_transpose_mark = r"^{-\top}"
    pseudo_inverse_mark = "^{+}"
    lower_half_symbol = r"\Psi"
    plus, minus, hadamard, hadamard_div, scalar_div, times, kron_sym = (
        " + ", " - ", r" \odot ", r" \oslash ", " / ", " ", r" \otimes ")

    def paren(self, text):
        return rf"\left({text}\right)"

    def leading_minus(self, text):
        return "-" + text

    def name(self, name, differential):
        if differential:
            return r"\mathrm{d}" + latex_name(name[1:])
        return latex_name(name)

    def number(self, value):
        if isinstance(value, Fraction):
            if value.denominator == 1:
                text = str(value.numerator)
            else:
                text = rf"\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"
                return ("-" + text, UNARY) if value < 0 else (text, ATOM)
        else:
            text = repr(value)
        return (text, UNARY) if text.startswith("-") else (text, ATOM)

    def divide(self, top, bottom, scalar_den):
        if scalar_den:
            return rf"\frac{{{_strip(top)}}}{{{_strip(bottom)}}}"
        return top + self.hadamard_div + bottom

    def superscript(self, base_text, exponent, elementwise):
        mark = r"\circ " if elementwise else ""
        if exponent.op == "const" and isinstance(exponent.data, Fraction):
            p = exponent.data
            power = str(p.numerator) if p.denominator == 1 else f"{p.numerator}/{p.denominator}"
        else:
            power = self(exponent)
        return f"{base_text}^{{{mark}{power}}}"

    def sqrt(self, inner_text):
        return rf"\sqrt{{{inner_text}}}"

    call_names = {"vec": r"\operatorname{vec}", "unvec": r"\operatorname{vec}^{-1}", "trace": r"\operatorname{tr}",
                  "det": r"\det", "logdet": r"\log\det", "sum": r"\operatorname{sum}", "diag": r"\operatorname{diag}",
                  "diagvec": r"\operatorname{diag}", "softmax": r"\operatorname{softmax}",
                  "log_softmax": r"\log\operatorname{softmax}", "cholesky": r"\operatorname{chol}",
                  "eigvalsh": r"\lambda", "eigvecsh": r"\operatorname{eigvecs}",
                  "expm_frechet": r"L_{\exp}",   # L(A, E): the Fréchet derivative of exp at A, along E
                  "kron_blocksum": r"\operatorname{blocksum}", "kron_blockdot": r"\operatorname{blockdot}"}
    identity, ones_column, ones_row, zero = "I", r"\mathbf{1}", r"\mathbf{1}^{\top}", "0"

    def render_fn(self, e):
        name = e.data
        inner = self(e.args[0])
        if name == "abs":
            return rf"\left|{inner}\right|", ATOM
        if name == "step":
            return rf"\left[{inner} > 0\right]", ATOM
        return rf"{FUNCTION_LATEX[name]}\left({inner}\right)", ATOM

    def render_norm2(self, e):
        return rf"\left\|{self(e.args[0])}\right\|", ATOM

    def where(self, body, definitions):
        return body + r", \quad \text{where } " + r",\ ".join(definitions)

    def commutation_symbol(self, m, n):
        return f"K_{{{m},{n}}}"

    def axis_text(self, axis: int) -> str:
        return rf", \mathrm{{axis}}={axis}"

    def render_expm(self, e):   # the matrix exponential, as textbooks write it
        return f"e^{{{self(e.args[0])}}}", ATOM

    def render_dof(self, e):
        return rf"\mathrm{{d}}\left({self(e.args[0])}\right)", ATOM

    def render_inner(self, e):
        return rf"\left\langle {self(e.args[0])}, {self(e.args[1])} \right\rangle", ATOM


def _strip(text: str) -> str:
    """A fraction bar groups by itself: drop one pair of outer parentheses."""
    if text.startswith(r"\left(") and text.endswith(r"\right)"):
        inner = text[len(r"\left("):-len(r"\right)")]
        if _balanced(inner):
            return inner
    return text


def _balanced(text: str) -> bool:
    depth = 0
    for token in re.findall(r"\\left\(|\\right\)", text):
        depth += 1 if token == r"\left(" else -1
        if depth < 0:
            return False
    return depth == 0


# the unicode of matcalc's messages, as LaTeX math (pdflatex stops on a raw ᵀ or σ)
_PROSE_MATH = {
    "ᵀ": r"^{\top}", "⁻¹": r"^{-1}", "⁻ᵀ": r"^{-\top}", "⊙": r"\odot", "⊘": r"\oslash", "⊗": r"\otimes",
    "∘": r"\circ", "−": "-", "‖": r"\|", "∇": r"\nabla", "∂": r"\partial", "𝟏": r"\mathbf{1}", "×": r"\times",
    "⟨": r"\langle", "⟩": r"\rangle", "·": r"\cdot", "√": r"\surd", "≤": r"\le", "≥": r"\ge", "…": r"\ldots",
    "½": r"\tfrac{1}{2}", "→": r"\to", "⁺": "^{+}", **GREEK_MACROS}
_PROSE_TEXT = {"—": "---", "–": "--", "’": "'", "‘": "`", "“": "``", "”": "''", "é": "\\'e"}
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_SUBSCRIPT_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉ₑₓₚ", "0123456789exp")


_COMBINING = {"\u0302": r"\hat", "\u0304": r"\bar", "\u0303": r"\tilde"}   # the marks of ŷ, x̄, x̃


def prose(text: str) -> str:
    """A message in words and unicode math as the body of ``\\text{…}``: the math symbols in
    ``$…$`` as LaTeX, the characters LaTeX reserves escaped (renders in KaTeX and pdflatex)."""
    out = []
    i = 0
    while i < len(text):
        ch = text[i]
        two = text[i:i + 2]
        if len(two) == 2 and two[1] in _COMBINING:   # ŷ, x̄: a decorated name
            out.append(f"${_COMBINING[two[1]]}{{{_PROSE_MATH.get(ch, ch)}}}$")
            i += 2
            continue
        if two in _PROSE_MATH:
            out.append(f"${_PROSE_MATH[two]}$")
            i += 2
            continue
        if ch in _PROSE_MATH:
            out.append(f"${_PROSE_MATH[ch]}$")
        elif ch in "⁰¹²³⁴⁵⁶⁷⁸⁹":
            out.append(f"$^{{{ch.translate(_SUPERSCRIPT_DIGITS)}}}$")
        elif ch in "₀₁₂₃₄₅₆₇₈₉ₑₓₚ":
            out.append(f"$_{{{ch.translate(_SUBSCRIPT_DIGITS)}}}$")
        elif ch in "&%#_{}$":
            out.append("\\" + ch)
        elif ch == "\\":
            out.append(r"\textbackslash{}")
        elif ch in "^~":
            out.append("\\" + ch + "{}")
        elif ch in _PROSE_TEXT:
            out.append(_PROSE_TEXT[ch])
        elif ord(ch) > 127 and len(unicodedata.normalize("NFD", ch)) == 2 \
                and unicodedata.normalize("NFD", ch)[1] in _COMBINING:   # ŷ written as one character
            letter, mark = unicodedata.normalize("NFD", ch)
            out.append(f"${_COMBINING[mark]}{{{letter}}}$")
        elif ord(ch) > 127:
            out.append("?")   # (a character LaTeX has no plain form for)
        else:
            out.append(ch)
        i += 1
    return "".join(out).replace("$$", "")


@guarded
def to_latex(e, names: bool = False) -> str:
    """LaTeX; with ``names`` (or when the plain form would be too long, as in ``to_text``), long
    repeated subexpressions get a name."""
    return LatexPrinter.printed(e, names)
