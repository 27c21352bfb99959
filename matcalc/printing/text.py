"""One readable line of unicode: ``(A + Aᵀ) x``, ``Xᵀ (1 − σ(X w))``, ``−X⁻ᵀ a bᵀ X⁻ᵀ``."""
from __future__ import annotations

import re
from fractions import Fraction

from ..limits import guarded
from .infix import ATOM, GREEK, MUL, UNARY, InfixPrinter

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_VULGAR = {Fraction(1, 2): "½", Fraction(1, 3): "⅓", Fraction(2, 3): "⅔", Fraction(1, 4): "¼",
           Fraction(3, 4): "¾", Fraction(1, 5): "⅕", Fraction(1, 6): "⅙", Fraction(1, 8): "⅛"}
_TRAILING_DIGITS = re.compile(r"^(.*?[^\d_])_?(\d+)$")

FUNCTION_TEXT = {"sigmoid": "σ", "normcdf": "Φ", "normpdf": "φ", "gelu": "GELU", "silu": "SiLU"}


def format_name(name: str) -> str:
    """``lam`` -> ``λ``, ``W1`` -> ``W₁``, ``x_2`` -> ``x₂``."""
    m = _TRAILING_DIGITS.match(name)
    base, digits = (m.group(1), m.group(2)) if m else (name, "")
    return GREEK.get(base, base) + digits.translate(_SUBSCRIPT)


class TextPrinter(InfixPrinter):
    transpose_mark = "ᵀ"
    inverse_mark = "⁻¹"
    inverse_transpose_mark = "⁻ᵀ"
    pseudo_inverse_mark = "⁺"
    lower_half_symbol = "Ψ"

    def name(self, name, differential):
        if differential:
            return "d" + format_name(name[1:])
        return format_name(name)

    def number(self, value):
        if isinstance(value, Fraction):
            if value.denominator == 1:
                text = str(value.numerator)
            elif abs(value) in _VULGAR:
                text = _VULGAR[abs(value)]
                return ("−" + text, UNARY) if value < 0 else (text, ATOM)
            else:
                text = f"{abs(value.numerator)}/{value.denominator}"
                return ("−" + text, UNARY) if value < 0 else (text, MUL)
        else:
            text = repr(abs(value)) if value < 0 else repr(value)
            if value < 0:
                text = "-" + text
        if text.startswith("-"):
            return "−" + text[1:], UNARY
        return text, ATOM

    def superscript(self, base_text, exponent, elementwise):
        mark = "∘" if elementwise else ""
        if exponent.op == "const" and isinstance(exponent.data, Fraction) and exponent.data.denominator == 1:
            return base_text + mark + str(exponent.data.numerator).translate(_SUPERSCRIPT)
        return f"{base_text}{mark}^{self.at(exponent, ATOM)}"

    def sqrt(self, inner_text):
        return f"√({inner_text})"

    call_names = {"vec": "vec", "unvec": "unvec", "trace": "tr", "det": "det", "logdet": "log det", "sum": "sum",
                  "diag": "diag", "diagvec": "diag", "softmax": "softmax", "log_softmax": "log softmax",
                  "expm": "expm", "cholesky": "chol", "eigvalsh": "eigvals", "eigvecsh": "eigvecs",
                  "expm_frechet": "Lₑₓₚ",   # L(A, E): the Fréchet derivative of exp at A, along E
                  "kron_blocksum": "blocksum", "kron_blockdot": "blockdot"}
    identity, ones_column, ones_row, zero = "I", "𝟏", "𝟏ᵀ", "0"

    def render_fn(self, e):
        name = e.data
        inner = self(e.args[0])
        if name == "abs":
            return f"|{inner}|", ATOM
        if name == "step":
            return f"[{inner} > 0]", ATOM
        return f"{FUNCTION_TEXT.get(name, name)}({inner})", ATOM

    def render_norm2(self, e):
        return f"‖{self(e.args[0])}‖", ATOM

    def commutation_symbol(self, m, n):
        return f"K({m},{n})"

    def render_dof(self, e):
        return f"d({self(e.args[0])})", ATOM

    def render_inner(self, e):
        return f"⟨{self(e.args[0])}, {self(e.args[1])}⟩", ATOM


@guarded
def to_text(e, names: bool = False) -> str:
    """One line of text; with ``names``, long repeated subexpressions get a name (``…, where s =
    σ(…)``), as they do anyway when the plain text would be too long (``limits.MAX_PRINTED_LENGTH``)."""
    return TextPrinter.printed(e, names)
