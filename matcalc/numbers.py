"""Numeric constants: exact ``Fraction``s where a value has a short exact form, floats otherwise.

A constant stays exact while its numerator and denominator have at most
``limits.MAX_EXACT_BITS`` bits each; a larger one becomes the nearest float. A constant beyond
the float range (about ±1.8e308), or a nonzero one so small that it rounds to 0, is a
``LimitError`` naming it — never an ``OverflowError``, never a silent 0 or inf. Powers of
constants are folded within the same budget without computing a gigantic integer first.
"""
from __future__ import annotations

import math
import numbers
from fractions import Fraction

from .errors import LimitError, MatcalcError
from .limits import MAX_EXACT_BITS

MAX_FLOAT_BITS = 1024          # 2**1024 is beyond the largest float
MIN_FLOAT_BITS = -1075         # 2**-1075 rounds to 0
MAX_ROOT_DEGREE = 64           # exact roots are looked for up to this degree
_EXACT_WORK_BITS = 1 << 17      # an exact power is computed when it has at most this many bits


def to_number(value):
    """Normalise a Python or numpy number to a ``Fraction`` (exact) or a finite ``float``."""
    if isinstance(value, bool):
        raise MatcalcError(f"a boolean is not a number: {value!r}")
    if isinstance(value, Fraction):
        return normal(value)
    if isinstance(value, numbers.Integral):
        return normal(Fraction(int(value)))
    if isinstance(value, numbers.Real):
        value = float(value)
        if math.isnan(value):
            raise MatcalcError("a constant must be a number, got nan")
        if math.isinf(value):
            raise LimitError(f"the constant {value!r} exceeds the float range (about ±1.8e308)")
        exact = Fraction(value).limit_denominator(10**6)
        return normal(exact) if float(exact) == value else value
    raise MatcalcError(f"not a real number: {value!r}")


def normal(value, text: str | None = None):
    """``value`` (a ``Fraction`` or a float) within the budget: exact if it is small enough,
    else the nearest float; ``text`` names it in the error if it does not fit a float either."""
    if not isinstance(value, Fraction):
        if not math.isfinite(value):
            raise LimitError(f"the constant {text or 'computed here'} exceeds the float range (about ±1.8e308)")
        return value
    if value.numerator.bit_length() <= MAX_EXACT_BITS and value.denominator.bit_length() <= MAX_EXACT_BITS:
        return value
    return _to_float(value, text or describe(value))


def _to_float(value: Fraction, text: str) -> float:
    try:
        result = float(value)   # correctly rounded: an integer division
    except OverflowError:
        raise LimitError(f"the constant {text} exceeds the float range (about ±1.8e308)") from None
    if result == 0 and value != 0:
        raise LimitError(f"the constant {text} is too small for a float (it rounds to 0)")
    return result


def describe(value: Fraction) -> str:
    """A short text for a constant of any size: its digits if short, else its magnitude."""
    if value.numerator.bit_length() <= 200 and value.denominator.bit_length() <= 200:
        return str(value)
    magnitude = _log2(value) * math.log10(2)
    return f"about {'-' if value < 0 else ''}1e{round(magnitude)}"


def _log2(value: Fraction) -> float:
    """``log2 |value|`` for a nonzero ``Fraction`` of any size."""
    return _log2_int(abs(value.numerator)) - _log2_int(value.denominator)


def _log2_int(n: int) -> float:
    shift = max(n.bit_length() - 64, 0)
    return math.log2(n >> shift) + shift


def is_integer(value) -> bool:
    return isinstance(value, Fraction) and value.denominator == 1


def power(base, exponent):
    """``base ** exponent`` for two constants: a constant when the result is real and has a short
    exact form or is a float in range; ``None`` to keep the power symbolic (a float operand, an
    irrational or complex root, ``0`` to a power ≤ 0). A result beyond the float range is a
    ``LimitError``; no integer larger than the budget is ever computed."""
    if not isinstance(base, Fraction) or not isinstance(exponent, Fraction):
        return _float_power(base, exponent)
    if base == 0:
        return Fraction(0) if exponent > 0 else None
    if exponent.denominator == 1:
        return _integer_power(base, int(exponent), f"{_operand(base)}**{_operand(exponent)}")
    if base < 0 or exponent.denominator > MAX_ROOT_DEGREE:
        return None
    root = _exact_root(base, exponent.denominator)
    if root is None:
        return None
    return _integer_power(root, exponent.numerator, f"{_operand(base)}**{_operand(exponent)}")


def _float_power(base, exponent):
    """``base ** exponent`` with a float operand: a float (``None`` where it is not real)."""
    text = f"{_operand(base)}**{_operand(exponent)}"
    try:
        result = float(base) ** float(exponent)
    except OverflowError:
        raise LimitError(f"the constant {text} exceeds the float range (about ±1.8e308)") from None
    except ZeroDivisionError:
        return None
    if isinstance(result, complex):
        return None
    if result == 0 and base != 0:
        raise LimitError(f"the constant {text} is too small for a float (it rounds to 0)")
    return normal(result, text)


def _operand(value) -> str:
    if not isinstance(value, Fraction):
        return repr(value)
    text = describe(value)
    return text if value.denominator == 1 and value >= 0 else f"({text})"


def _integer_power(base: Fraction, k: int, text: str):
    """``base ** k`` exactly when it fits the budget, else as a float; an error outside floats."""
    if abs(base) == 1:
        return Fraction(1) if base == 1 or k % 2 == 0 else Fraction(-1)
    size = max(base.numerator.bit_length(), base.denominator.bit_length()) * abs(k)
    magnitude = _log2(base) * k    # log2 |base ** k|
    if magnitude > MAX_FLOAT_BITS:
        raise LimitError(f"the constant {text} exceeds the float range (about ±1.8e308)")
    if magnitude < MIN_FLOAT_BITS:
        raise LimitError(f"the constant {text} is too small for a float (it rounds to 0)")
    if size <= _EXACT_WORK_BITS:
        return normal(base ** k, text)
    try:   # a float in range, from a base that is one (it has at most MAX_EXACT_BITS bits)
        return normal(float(base) ** k, text)
    except OverflowError:
        raise LimitError(f"the constant {text} exceeds the float range (about ±1.8e308)") from None


def _exact_root(base: Fraction, degree: int):
    """The rational ``r > 0`` with ``r ** degree == base``, if there is a short one."""
    root = Fraction(float(base) ** (1 / degree)).limit_denominator(10**6)
    bits = max(root.numerator.bit_length(), root.denominator.bit_length()) * degree
    if bits > _EXACT_WORK_BITS or root ** degree != base:
        return None
    return root
