"""The errors matcalc raises. Every failure a user can cause is a ``MatcalcError``."""
from __future__ import annotations


class MatcalcError(Exception):
    """Base class of every error matcalc raises on bad input or unsupported requests."""


class NotationWarning(UserWarning):
    """Input that is valid but probably not what was meant (``x.T * A * x`` in numpy syntax, where
    ``*`` multiplies elementwise and ``@`` is the matrix product)."""


class ReadingWarning(NotationWarning):
    """A guess made to read a claim at all (``W`` read as the declared ``w``); a verdict always
    says it."""


class _PositionedError(MatcalcError):
    """An error about a place in a source string: the message, then the line and a caret."""

    def __init__(self, message: str, source: str = "", position: int | None = None):
        self.message = message
        self.source = source
        self.position = position
        super().__init__(self._format())

    def _format(self) -> str:
        if self.position is None or not self.source:
            return self.message
        lines = self.source.split("\n")
        start = 0
        for line in lines:
            if self.position <= start + len(line):
                column = self.position - start
                where = f" (line {lines.index(line) + 1})" if len(lines) > 1 else ""
                return f"{self.message}{where}\n  {line}\n  {' ' * column}^"
            start += len(line) + 1
        return f"{self.message}\n  {lines[-1]}\n  {' ' * len(lines[-1])}^"


class ParseError(_PositionedError):
    """A string could not be read. Carries the source text and the 0-based position."""


class ShapeError(_PositionedError):
    """Operands whose shapes do not fit the operation. The message names the operation and both shapes."""


class UnknownNameError(_PositionedError):
    """A variable or function name that matcalc does not know."""


class UnsupportedDerivativeError(MatcalcError):
    """A derivative matcalc does not (yet) compute; the message says which and why."""


class RuleError(MatcalcError):
    """A malformed or inconsistent rule in ``rules/``."""


class LimitError(MatcalcError):
    """An input beyond one of matcalc's budgets (constant size, exponents, expansion, input
    size, nesting); the message names the limit."""


class InternalError(MatcalcError):
    """A failure inside matcalc that is not the input's fault (a bug: please report it). It is
    chained to the original exception (``__cause__``), so the traceback stays available."""


class NotSupportedError(MatcalcError, TypeError):
    """A Python operation expressions do not have: indexing, slicing, iteration, ``len`` (also a
    ``TypeError``, as Python's protocols expect)."""
