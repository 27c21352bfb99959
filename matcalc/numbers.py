"""Numeric constants: exact ``Fraction``s where a value has a short exact form, floats otherwise."""
from __future__ import annotations

import math
import numbers
from fractions import Fraction

from .errors import MatcalcError


def to_number(value):
    """Normalise a Python or numpy number to a ``Fraction`` (exact) or a finite ``float``."""
    if isinstance(value, bool):
        raise MatcalcError(f"a boolean is not a number: {value!r}")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, numbers.Integral):
        return Fraction(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise MatcalcError(f"constants must be finite, got {value!r}")
        exact = Fraction(value).limit_denominator(10**6)
        return exact if float(exact) == value else value
    raise MatcalcError(f"not a real number: {value!r}")


def is_integer(value) -> bool:
    return isinstance(value, Fraction) and value.denominator == 1


def power(base, exponent):
    """``base ** exponent`` when the result is exact and real, else ``None`` (keep it symbolic)."""
    if not isinstance(base, Fraction) or not isinstance(exponent, Fraction):
        return None
    if base == 0 and exponent <= 0:
        return None
    if exponent.denominator == 1:
        return base ** int(exponent)
    if base < 0:
        return None
    root = Fraction(float(base) ** (1 / exponent.denominator)).limit_denominator(10**6)
    if root ** exponent.denominator != base:
        return None
    return root ** exponent.numerator
