"""Deep expressions: a higher recursion limit inside matcalc's entry points, a clear error past it.

Most of matcalc walks expressions iteratively; what still recurses (constructors on their
operands, rules on their patterns) gets room for deep input, and a ``RecursionError`` becomes a
``MatcalcError`` instead of a traceback. From Python 3.11 on, calls between Python functions do
not grow the C stack, so the limit can be generous there.
"""
from __future__ import annotations

import functools
import sys

from .errors import MatcalcError

RECURSION_LIMIT = 50_000 if sys.version_info >= (3, 11) else 8_000


def guarded(fn):
    """Run ``fn`` with room for deep expressions; report a depth it cannot handle clearly."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        old = sys.getrecursionlimit()
        if old < RECURSION_LIMIT:
            sys.setrecursionlimit(RECURSION_LIMIT)
        try:
            return fn(*args, **kwargs)
        except RecursionError:
            raise MatcalcError("the expression is nested too deeply for matcalc to handle") from None
        finally:
            sys.setrecursionlimit(old)
    return wrapper
