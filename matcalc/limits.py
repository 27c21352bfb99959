"""Budgets, and the guard around matcalc's entry points.

The budgets (each error names the one it hits, as a ``LimitError``):

- constants: an exact rational keeps at most ``MAX_EXACT_BITS`` bits in its numerator and its
  denominator; a larger one becomes the nearest float, and one beyond the float range (or a
  nonzero one that rounds to 0) is an error (``numbers``);
- exponents: ``c ** k`` of two constants is folded exactly only within the same budget, never by
  computing a gigantic integer (``numbers.power``); a matrix power ``X^k`` is one node, whatever
  ``k`` (``expr.matpow``), and its differential has ``|k|`` terms: one differentiation makes at
  most ``MAX_MATRIX_POWER`` of them (a first derivative of ``X^k`` up to that ``k``, a second
  derivative, with about ``k²/2`` terms, to ``k`` of about 140);
- input: at most ``parse.MAX_SOURCE_LENGTH`` characters, nested at most ``parse.MAX_DEPTH``
  levels; ``derive`` takes expressions up to ``derivative.MAX_DEPTH`` levels deep;
- printing: at most ``MAX_PRINTED_LENGTH`` characters; an expression that repeats its parts
  prints with names for them instead (``Derivative.text``, ``to_text(e, names=True)``), which
  ``str`` does by itself when the plain form would be longer;
- simplification: at most ``rewrite.MAX_REWRITES`` rule applications per call, plus
  ``rewrite.REWRITES_PER_NODE`` per subexpression simplified (a rule set that loops stops).

``guarded`` wraps the public entry points: it gives deep expressions room on the Python stack
(what still recurses: constructors on their operands, rules on their patterns), and turns what
escapes into a ``MatcalcError``: a ``RecursionError`` or ``MemoryError`` into a ``LimitError``,
anything else into an ``InternalError`` chained to the original (a bug: the fuzzers count them).
From Python 3.11 on, calls between Python functions do not grow the C stack, so the recursion
limit can be generous there.

The recursion limit is process-wide, so it is raised while at least one guarded call runs, in
any thread, and put back by the last one to finish (a count under a lock): concurrent calls
never leave it raised, nor lower it under each other. The same count pauses the cyclic garbage
collector: a derivation makes many small objects that live until it ends, which the collector
would scan again and again (a third of the time of a 10,000-term sum); what they leave behind is
freed by reference counting, and the few cycles (memos that point back to their node) at the next
collection once the collector runs again.
"""
from __future__ import annotations

import functools
import gc
import sys
import threading

from .errors import InternalError, LimitError, MatcalcError

RECURSION_LIMIT = 50_000 if sys.version_info >= (3, 11) else 8_000
MAX_EXACT_BITS = 256          # numerator and denominator of an exact constant
MAX_MATRIX_POWER = 10_000     # terms of the differentials of matrix powers in one differentiation
MAX_PRINTED_LENGTH = 1_000_000   # characters of a printed expression (text or LaTeX)

_LOCK = threading.Lock()
_active = 0                   # guarded calls running now, in all threads
_saved_limit = None           # the recursion limit before the first of them started
_collecting = False           # whether the cyclic garbage collector ran before the first of them


def _enter():
    global _active, _saved_limit, _collecting
    with _LOCK:
        if _active == 0:
            _saved_limit = sys.getrecursionlimit()
            if _saved_limit < RECURSION_LIMIT:
                sys.setrecursionlimit(RECURSION_LIMIT)
            _collecting = gc.isenabled()
            gc.disable()
        _active += 1


def _leave():
    global _active
    with _LOCK:
        _active -= 1
        if _active == 0:
            sys.setrecursionlimit(_saved_limit)
            if _collecting:
                gc.enable()


def guarded(fn):
    """Run ``fn`` with room for deep expressions; whatever it raises is a ``MatcalcError``."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        _enter()
        try:
            return fn(*args, **kwargs)
        except MatcalcError:
            raise
        except RecursionError:
            raise LimitError(f"the expression is nested too deeply for matcalc to handle "
                             f"(Python's recursion limit, {RECURSION_LIMIT})") from None
        except MemoryError:
            raise LimitError("matcalc ran out of memory on this input") from None
        except Exception as err:   # noqa: BLE001 - the last line of defence: a bug, reported as one
            raise InternalError(f"internal error in {fn.__qualname__}: {type(err).__name__}: {err} "
                                "(a bug in matcalc: please report it with this input)") from err
        finally:
            _leave()
    return wrapper
