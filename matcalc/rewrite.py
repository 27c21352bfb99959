"""Simplification: the canonical form plus the rules of ``rules/simplify.rules``, to a fixed point.

Nodes are rebuilt bottom-up through the canonicalising constructors; at each node the
simplification rules whose pattern head matches are tried, and a rewritten node is simplified
again. Results are memoised per node (nodes are interned and immutable). A step limit guards
against rule sets that would loop.
"""
from __future__ import annotations

from . import expr as E
from .errors import LimitError
from .ops import operation_key
from .rules import PROPERTY_NAMES, RULES, match_within, present_ops

MAX_REWRITES = 10_000        # rule applications per call, plus
REWRITES_PER_NODE = 10       # this many per subexpression to simplify (a long sum rewrites each term)


class NodeMemo:
    """The simplified form of each node, kept on the node itself (``expr.memo_get``): it is
    shared by every derivation and freed with the node."""

    def __contains__(self, node: E.Expr) -> bool:
        return node._simplified is not None

    def get(self, node: E.Expr):
        return E.memo_get(node, "_simplified")

    def __getitem__(self, node: E.Expr) -> E.Expr:
        return E.memo_get(node, "_simplified")

    def __setitem__(self, node: E.Expr, value: E.Expr):
        E.memo_set(node, "_simplified", value)


_MEMO = NodeMemo()


class Recorder:
    """Collects the rules applied, as ``(rule name, before, after)``, for the derivation steps.
    ``names_only``: the caller wants the names alone (a differential step is then not also
    written with its inner differentials left as ``d(…)``)."""

    def __init__(self, names_only: bool = False):
        self.events: list = []
        self.names_only = names_only

    def record(self, name: str, before: E.Expr, after: E.Expr):
        self.events.append((name, before, after))


def simplify(e: E.Expr, recorder: Recorder | None = None, properties: bool = False) -> E.Expr:
    """``e`` with every simplification rule applied, in canonical form. With ``properties``, also
    the identities that hold on the values the variables' properties allow (``sum(t) = 1`` for a
    distribution ``t``): for results, never for a function about to be differentiated."""
    if properties and not any(v.data[1] & PROPERTY_NAMES for v in e.free_vars):
        properties = False
    memo = _MEMO if recorder is None and not properties else {}
    todo = _unsimplified(e, memo)
    budget = [MAX_REWRITES + REWRITES_PER_NODE * len(todo)]
    for node in todo:
        memo[node] = _simplify_node(node, memo, recorder, budget, properties)
    return memo[e]


def _unsimplified(e: E.Expr, memo) -> list:
    """The subexpressions of ``e`` not simplified yet, each once, children first; the parts
    already simplified are not entered (so simplifying a simplified expression costs nothing)."""
    out, seen, stack = [], set(), [(e, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            out.append(node)
            continue
        if node in seen or memo.get(node) is not None:
            continue
        seen.add(node)
        stack.append((node, True))
        if memo is _MEMO:   # read the memos on the nodes directly (a long sum has many operands)
            stack.extend([(a, False) for a in reversed(node.args) if a._simplified is None and a not in seen])
        else:
            stack.extend([(a, False) for a in reversed(node.args) if a not in seen and a not in memo])
    return out


def _simplify_node(node: E.Expr, memo: dict, recorder, budget, properties=False) -> E.Expr:
    current = E.rebuild(node, _simplified_args(node, memo)) if node.args else node
    while True:
        rewritten = _apply_once(current, recorder, properties)
        if rewritten is None:
            return current
        budget[0] -= 1
        if budget[0] < 0:
            raise LimitError(f"simplification did not terminate: more than {MAX_REWRITES:,} rule applications "
                             f"(and {REWRITES_PER_NODE} per subexpression); the rule set loops")
        # the rewrite may expose new opportunities below the top: simplify its parts again
        for sub in _unsimplified(rewritten, memo):   # the proper subexpressions, children first
            if sub is not rewritten:
                memo[sub] = _simplify_node(sub, memo, recorder, budget, properties)
        current = E.rebuild(rewritten, _simplified_args(rewritten, memo)) if rewritten.args else rewritten


def _simplified_args(node: E.Expr, memo) -> list:
    if memo is _MEMO:   # read the memos on the nodes directly (a long sum has many operands)
        return [a if a._simplified is E.SELF else a._simplified for a in node.args]
    return [memo[a] for a in node.args]


def _apply_once(node: E.Expr, recorder, properties=False):
    rules = RULES.simplifications.get(operation_key(node), ())
    if properties:
        rules = (*rules, *RULES.properties.get(operation_key(node), ()))
    ops = present_ops(node) if rules else frozenset()
    for rule in rules:
        if not rule.operand_ops <= ops:   # an operand the pattern needs is missing: no match
            continue
        for binding, put_back in match_within(rule.pattern, node):
            if not rule.guards_hold(binding):
                continue
            replacement = put_back(rule.instantiate(binding))
            if replacement is node:
                continue
            if recorder is not None:
                recorder.record(rule.name, node, replacement)
            return replacement
    return None
