"""Short names for repeated subexpressions in printed results.

``Xᵀ diag(y∘² ⊙ σ(−y ⊙ (X w)) ⊙ (1 − σ(−y ⊙ (X w)))) X`` prints as
``Xᵀ diag(y∘² ⊙ s ⊙ (1 − s)) X, where s = σ(−y ⊙ (X w))``: a function application that occurs
more than once and is long enough gets a letter (``s`` for σ, ``p`` for softmax, ...), chosen
not to clash with the variables. Only printing changes; the expression is the same.
"""
from __future__ import annotations

from .. import expr as E

MIN_LENGTH = 10   # σ(W₁ x) and sin(aᵀ x) stay written out; σ(−y ⊙ (X w)) gets a name
_NAMEABLE = {"fn", "softmax", "log_softmax"}
_PREFERRED = {"sigmoid": "s", "softmax": "p", "log_softmax": "q", "tanh": "h", "relu": "r", "exp": "e"}
_FALLBACK = "uvwabcdgkpqrst"


def occurrences(e: E.Expr) -> dict:
    """How many times each subexpression appears in the printed tree of ``e``."""
    order = E.walk(e)
    count = {node: 0 for node in order}
    count[e] = 1
    for node in reversed(order):
        for a in node.args:
            count[a] += count[node]
    return count


def choose_names(e: E.Expr, text_of) -> dict:
    """Names for the repeated function applications of ``e``, outermost first.
    ``text_of(node)`` is the node's printed text (used to judge its length)."""
    taken = {v.name for v in e.free_vars}
    names: dict = {}
    count = occurrences(e)
    candidates = [n for n in E.walk(e) if n.op in _NAMEABLE and count[n] >= 2 and n is not e
                  and len(text_of(n)) >= MIN_LENGTH]
    for node in reversed(candidates):   # outermost first: inner ones may then occur once
        if any(node in E.walk(named) for named in names):
            continue
        key = node.data if node.op == "fn" else node.op
        for letter in [_PREFERRED.get(key, "u")] + list(_FALLBACK):
            if letter not in taken:
                taken.add(letter)
                names[node] = letter
                break
    return names
