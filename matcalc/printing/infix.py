"""What the text and LaTeX printers share: precedence, signs, fractions, when to parenthesise.

A printer subclass supplies the symbols; this class decides the layout:

- a sum prints its negative terms with a minus: ``A x − b``;
- a Hadamard product prints its constant first, then scalar factors side by side, then the
  matrix factors joined by ``⊙``; factors with negative exponents go to a denominator
  (``/`` when the denominator is a scalar, ``⊘`` otherwise);
- a matrix product is its factors side by side; a sum inside is parenthesised;
- a sum whose terms are all transposed products prints as one transpose: ``(X b + c)ᵀ``.
"""
from __future__ import annotations

from fractions import Fraction

from ..errors import LimitError
from ..expr import Expr, _marks, split_coefficient, transpose, walk
from ..limits import MAX_PRINTED_LENGTH
from ..shapes import SCALAR

# precedence of what an expression prints as
ADD, MUL, MATMUL, UNARY, POSTFIX, ATOM = 1, 2, 3, 4, 5, 6

GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eps": "ε", "zeta": "ζ",
    "eta": "η", "theta": "θ", "kappa": "κ", "lam": "λ", "lambda": "λ", "lambda_": "λ", "lmbda": "λ", "mu": "μ",
    "nu": "ν", "xi": "ξ", "pi": "π", "rho": "ρ", "sigma": "σ", "tau": "τ", "phi": "φ",
    "chi": "χ", "psi": "ψ", "omega": "ω", "Gamma": "Γ", "Delta": "Δ", "Theta": "Θ",
    "Lambda": "Λ", "Sigma": "Σ", "Phi": "Φ", "Psi": "Ψ", "Omega": "Ω",
}


def transpose_marks(e: Expr) -> int:
    """How many transposes ``e`` prints with (a cost for choosing between equal forms); memoised
    on the nodes, so that an expression with shared parts costs its size, not its printed length."""
    return _marks(e)


class InfixPrinter:
    """Prints an expression with precedence-aware parentheses; symbols come from subclasses."""

    def __init__(self):
        self.memo: dict = {}

    @classmethod
    def printed(cls, e: Expr, names: bool = False) -> str:
        """``e`` printed; with ``names``, or when the plain form would be longer than
        ``MAX_PRINTED_LENGTH``, with its long repeated subexpressions named (``with_names``)."""
        if names:
            return cls().with_names(e)
        try:
            return cls()(e)
        except LimitError:
            return cls().with_names(e)

    def with_names(self, e: Expr) -> str:
        """``e`` with its repeated long function applications named: ``…, where s = σ(…)``."""
        from .names import choose_names
        names = choose_names(e, lambda node: TextPrinterProxy.text(node))
        if not names:
            return self(e)
        for node, letter in names.items():
            self.memo[node] = (self.name(letter, False), ATOM)
        # each definition is the node's own operation, over the names of the nodes inside it
        definitions = [self.definition(letter, self.render(node)[0]) for node, letter in names.items()]
        body = self.doc(e)[0]
        return self.where(body, definitions)

    def definition(self, letter: str, text: str) -> str:
        return f"{self.name(letter, False)} = {text}"

    def where(self, body: str, definitions: list) -> str:
        return f"{body}, where {', '.join(definitions)}"

    # -- symbols (overridden) --------------------------------------------------------------
    def name(self, name: str, differential: bool) -> str:
        raise NotImplementedError

    def number(self, value) -> tuple:
        raise NotImplementedError

    def paren(self, text: str) -> str:
        return f"({text})"

    plus, minus, hadamard, hadamard_div, scalar_div, times, kron_sym = " + ", " − ", " ⊙ ", " ⊘ ", " / ", " ", " ⊗ "

    # -- driver --------------------------------------------------------------------------------
    def __call__(self, e: Expr) -> str:
        return self.doc(e)[0]

    def doc(self, e: Expr) -> tuple:
        """``(text, precedence)`` of ``e``."""
        hit = self.memo.get(e)
        if hit is None:
            for node in walk(e)[:-1]:   # operands first, so that no call recurses deeply
                if node not in self.memo:
                    self.memo[node] = _bounded(self.render(node))
            hit = self.memo[e] = _bounded(self.render(e))
        return hit

    def at(self, e: Expr, level: int) -> str:
        """``e`` as text that can stand where precedence ``level`` is needed."""
        text, prec = self.doc(e)
        return text if prec >= level else self.paren(text)

    # operations printed as a named call f(x): op -> name, set by subclasses
    call_names: dict = {}
    identity, ones_column, ones_row, zero = "I", "1", "1ᵀ", "0"

    def render(self, e: Expr) -> tuple:
        if e.op in self.call_names:
            return self.call(self.call_names[e.op], e)
        method = getattr(self, "render_" + e.op)
        return method(e)

    def call(self, name: str, e: Expr) -> tuple:
        """``name(a, b, …)``; a softmax along an axis as written, ``softmax(Z, axis=0)``."""
        inner = ", ".join(self(a) for a in e.args)
        if e.op in ("softmax", "log_softmax") and e.data is not None:
            inner += self.axis_text(e.data)
        return f"{name}{self.paren(inner)}", ATOM

    def axis_text(self, axis: int) -> str:
        return f", axis={axis}"

    def render_eye(self, e):
        return self.identity, ATOM

    def render_ones(self, e):
        row = e.shape[0] == 1 and e.shape[1] != 1
        return (self.ones_row, POSTFIX) if row else (self.ones_column, ATOM)

    def render_zero(self, e):
        return self.zero, ATOM

    def render_commutation(self, e):
        return self.commutation_symbol(*e.data), ATOM

    # -- leaves ----------------------------------------------------------------------------------
    def render_var(self, e):
        return self.name(e.data[0], "differential" in e.data[1]), ATOM

    def render_const(self, e):
        return self.number(e.data)

    def render_dim(self, e):
        return self.name(str(e.data), False), ATOM

    # -- sums ------------------------------------------------------------------------------------
    def render_add(self, e):
        flipped = transpose(e)
        if flipped.op == "add" and transpose_marks(flipped) + 1 < transpose_marks(e):
            return self.postfix_transpose(self.doc(flipped)), POSTFIX
        parts = []
        for i, term in enumerate(e.args):
            c, rest = split_coefficient(term)
            negative = c < 0
            shown = term if not negative else _scaled(-c, rest)
            text = self.at(shown, ADD + 1) if shown.op != "add" else self.paren(self(shown))
            if i == 0:
                parts.append(self.leading_minus(text) if negative else text)
            else:
                parts.append((self.minus if negative else self.plus) + text)
        return "".join(parts), ADD

    def leading_minus(self, text: str) -> str:
        return "−" + text

    # -- Hadamard products -----------------------------------------------------------------------
    def render_mul(self, e):
        coefficient = Fraction(1)
        numerator, denominator = [], []
        for f in e.args:
            if f.op == "const":
                coefficient = f.data
            elif f.op == "pow" and f.args[1].op == "const" and f.args[1].data < 0:
                exponent = -f.args[1].data
                denominator.append(f.args[0] if exponent == 1 else _pow(f.args[0], exponent))
            else:
                numerator.append(f)
        negative = coefficient < 0
        coefficient = abs(coefficient)
        if denominator:
            text = self.fraction(coefficient, numerator, denominator)
        else:
            text = self.product(coefficient, numerator)
        if negative:
            if not denominator and coefficient == 1 and len(numerator) == 1 and self.doc(numerator[0])[1] < MUL:
                text = self.paren(text)   # −(1 + log t): a sum after the minus keeps its brackets
            return self.leading_minus(text), UNARY
        return text, (MUL if len(e.args) > 1 else self.doc(e.args[0])[1])

    def product(self, coefficient, factors) -> str:
        """``c s₁ s₂ M₁ ⊙ M₂``: the coefficient, scalar factors side by side, then ⊙."""
        scalars = [f for f in factors if f.shape == SCALAR]
        matrices = [f for f in factors if f.shape != SCALAR]
        pieces = []
        if coefficient != 1 or not factors:
            pieces.append(self.number(coefficient)[0])
        for i, s in enumerate(scalars):
            last = i == len(scalars) - 1 and not matrices
            pieces.append(self.at(s, MATMUL if last else POSTFIX))
        if matrices:
            if len(matrices) == 1:
                m = matrices[0]
                pieces.append(self.at(m, MATMUL) if pieces else self.doc(m)[0])
            else:
                level = POSTFIX if pieces else MATMUL + 1
                pieces.append(self.hadamard.join(self.at(m, max(level, MATMUL + 1)) for m in matrices))
        return self.times.join(pieces)

    def fraction(self, coefficient, numerator, denominator) -> str:
        """``top / bottom``: ``/`` for a scalar denominator, ``⊘`` for an elementwise one."""
        if isinstance(coefficient, Fraction):
            p, q = coefficient.numerator, coefficient.denominator
        else:
            p, q = coefficient, 1
        scalar_den = all(d.shape == SCALAR for d in denominator)
        return self.divide(self.grouped(p, numerator, loose=True), self.grouped(q, denominator),
                           scalar_den)

    def grouped(self, c, factors, loose=False) -> str:
        """A numerator or denominator, parenthesised unless it is one tight factor; a ``loose``
        numerator may also be a product written side by side (``2 x / ‖x‖``)."""
        if not factors:
            return self.number(c)[0]
        if c == 1 and len(factors) == 1:
            return self.at(factors[0], MATMUL if loose else POSTFIX)
        text = self.product(c, factors)
        side_by_side = sum(1 for f in factors if f.shape != SCALAR) <= 1
        return text if loose and side_by_side else self.paren(text)

    def divide(self, top: str, bottom: str, scalar_den: bool) -> str:
        return top + (self.scalar_div if scalar_den else self.hadamard_div) + bottom

    # -- matrix products -------------------------------------------------------------------------
    def render_matmul(self, e):
        return self.times.join(self.at(f, MATMUL + 1) for f in e.args), MATMUL

    def render_kron(self, e):
        return self.kron_sym.join(self.at(f, MATMUL + 1) for f in e.args), MATMUL

    # -- powers and postfix operators ------------------------------------------------------------
    def render_pow(self, e):
        base, exponent = e.args
        if exponent.op == "const" and exponent.data < 0:
            return self.fraction(Fraction(1), [], [e.args[0] if exponent.data == -1
                                                   else _pow(base, -exponent.data)]), MUL
        if exponent.op == "const" and exponent.data == Fraction(1, 2):
            return self.sqrt(self.doc(base)[0]), ATOM
        return self.superscript(self.at(base, ATOM), exponent, base.shape != SCALAR), POSTFIX

    def render_matpow(self, e):   # Xᵏ, a matrix power (k an integer, negative for powers of X⁻¹)
        return self.superscript(self.at(e.args[0], ATOM), _const(e.data), False), POSTFIX

    def render_pinv(self, e):   # X⁺
        return self.at(e.args[0], ATOM) + self.pseudo_inverse_mark, POSTFIX

    def render_lower_half(self, e):   # 1 below the diagonal, ½ on it
        return self.lower_half_symbol, ATOM

    def render_T(self, e):
        return self.postfix_transpose(self.doc(e.args[0])), POSTFIX

    def postfix_transpose(self, doc) -> str:
        text, prec = doc
        return (text if prec >= ATOM else self.paren(text)) + self.transpose_mark

    def render_inv(self, e):
        inner = e.args[0]
        if inner.op == "T":
            return self.at(inner.args[0], ATOM) + self.inverse_transpose_mark, POSTFIX
        flipped = transpose(inner)
        if transpose_marks(flipped) < transpose_marks(inner):   # (Bᵀ Xᵀ Aᵀ)⁻¹ is (A X B)⁻ᵀ
            return self.at(flipped, ATOM) + self.inverse_transpose_mark, POSTFIX
        return self.at(inner, ATOM) + self.inverse_mark, POSTFIX


def _bounded(doc: tuple) -> tuple:
    """A printed part, if it is not too long: an expression that repeats its parts prints as a
    tree, which can be exponentially longer than the expression."""
    if len(doc[0]) > MAX_PRINTED_LENGTH:
        raise LimitError(f"the expression prints as more than {MAX_PRINTED_LENGTH:,} characters (it repeats "
                         "its parts); print it with names for what repeats")
    return doc


class TextPrinterProxy:
    """The text printer, imported late (it subclasses this module's printer)."""

    @staticmethod
    def text(e: Expr) -> str:
        from .text import to_text
        return to_text(e)


def _const(value) -> Expr:
    from ..expr import const
    return const(value)


def _pow(base: Expr, exponent) -> Expr:
    from ..expr import const, power
    return power(base, const(exponent))


def _scaled(c, rest) -> Expr:
    from ..expr import const, scale
    return const(c) if rest is None else scale(c, rest)
