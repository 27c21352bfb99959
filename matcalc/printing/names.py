"""Short names for repeated subexpressions in printed results.

``Xᵀ diag(y∘² ⊙ σ(−y ⊙ (X w)) ⊙ (1 − σ(−y ⊙ (X w)))) X`` prints as
``Xᵀ diag(y∘² ⊙ s ⊙ (1 − s)) X, where s = σ(−y ⊙ (X w))``: a function application that occurs
more than once and is long enough (or is short and printed four times or more) gets a letter
(``s`` for σ, ``p`` for softmax, ...), chosen not to clash with the variables. Names nest: in a
deep network every layer's activation that repeats gets a name defined through the one before
(``s₂ = σ(W₂ s₁)``), so the printed result grows with the depth, not with its square. Only
printing changes; the expression is the same.
"""
from __future__ import annotations

from .. import expr as E

MIN_LENGTH = 10   # σ(W₁ x) and sin(aᵀ x) stay written out; σ(−y ⊙ (X w)) gets a name
_NAMEABLE = {"fn", "softmax", "log_softmax"}
_PREFERRED = {"sigmoid": "s", "softmax": "p", "log_softmax": "q", "tanh": "h", "relu": "r", "exp": "e"}
_FALLBACK = "uvwabcdgkpqrst"


def occurrences(e: E.Expr, order: list | None = None) -> dict:
    """How many times each subexpression appears in the printed tree of ``e`` (``order``: its
    ``walk``, where the caller has it)."""
    order = E.walk(e) if order is None else order
    count = {node: 0 for node in order}
    count[e] = 1
    for node in reversed(order):
        for a in node.args:
            count[a] += count[node]
    return count


def choose_names(e: E.Expr, text_of) -> dict:
    """Names for the repeated function applications of ``e``, innermost first (the order their
    definitions print in). ``text_of(node)`` is the node's printed text (used to judge its length).

    Outermost first, a candidate is named if it still prints at least twice: once a node has a
    name, what is inside it prints once, in its definition."""
    order = E.walk(e)
    if not any(n.op in _NAMEABLE for n in order):   # nothing to name (one pass, not four)
        return {}
    count = occurrences(e, order)
    repeated = [n for n in order if n.op in _NAMEABLE and n is not e and count[n] >= 2]
    # worth a name: long and printed twice, or short and printed four times or more (the textbook
    # 2 ((W₂ᵀ (W₂ σ(W₁ x) − t)) ⊙ σ(W₁ x) ⊙ (1 − σ(W₁ x))) xᵀ keeps its three)
    leaves = _leaves_up_to(e, MIN_LENGTH)   # a node with that many leaves prints at least that long:
    worth = {n for n in repeated            # its text is only made when it is short
             if count[n] >= 4 or leaves[n] >= MIN_LENGTH or len(text_of(n)) >= MIN_LENGTH}
    chosen = _outermost_first(e, [n for n in repeated if n in worth])
    # once σ(W₂ σ(W₁ x)) has a name, the short σ(W₁ x) that repeats beside it gets one too
    kinds = {_kind(n) for n in chosen}
    if any(n not in worth and _kind(n) in kinds for n in repeated):
        chosen = _outermost_first(e, [n for n in repeated if n in worth or _kind(n) in kinds])
    return letters(e, chosen)


def _leaves_up_to(e: E.Expr, cap: int) -> dict:
    """How many leaves each subexpression has in its printed tree, counted up to ``cap``."""
    leaves: dict = {}
    for node in E.walk(e):
        leaves[node] = min(cap, sum(leaves[a] for a in node.args)) if node.args else 1
    return leaves


def _kind(node: E.Expr) -> str:
    return node.data if node.op == "fn" else node.op


def _outermost_first(e: E.Expr, candidates: list) -> list:
    """The candidates (in walk order) that still print twice when taken outermost first, innermost first."""
    count = occurrences(e)
    chosen = []
    for node in reversed(candidates):
        if count[node] < 2:
            continue
        chosen.append(node)
        for inner, times in occurrences(node).items():   # its subtree now prints once, not count[node] times
            if inner is not node:
                count[inner] -= (count[node] - 1) * times
    return chosen[::-1]


def letters(e: E.Expr, nodes: list) -> dict:
    """A letter for each node (by its function); several of one function get subscripts 1, 2, …
    from the inside out."""
    taken = {v.name for v in e.free_vars}
    groups: dict = {}
    for node in nodes:
        groups.setdefault(_kind(node), []).append(node)
    names: dict = {}
    for key, members in groups.items():
        for letter in [_PREFERRED.get(key, "u")] + list(_FALLBACK):
            wanted = [letter] if len(members) == 1 else [f"{letter}{i}" for i in range(1, len(members) + 1)]
            if letter not in taken and not taken & set(wanted):
                taken.update(wanted + [letter])
                names.update(zip(members, wanted))
                break
    return {node: names[node] for node in nodes}
