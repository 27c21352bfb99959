"""Simplification: the canonical form plus the rules of ``rules/simplify.rules``, to a fixed point.

Nodes are rebuilt bottom-up through the canonicalising constructors; at each node the
simplification rules whose pattern head matches are tried, and a rewritten node is simplified
again. Results are memoised per node (nodes are interned and immutable). A step limit guards
against rule sets that would loop.
"""
from __future__ import annotations

from . import expr as E
from .errors import MatcalcError
from .ops import operation_key
from .rules import RULES, match_within

MAX_REWRITES = 10_000

_MEMO: dict = {}


class Recorder:
    """Collects the rules applied, as ``(rule name, before, after)``, for the derivation steps."""

    def __init__(self):
        self.events: list = []

    def record(self, name: str, before: E.Expr, after: E.Expr):
        self.events.append((name, before, after))


def simplify(e: E.Expr, recorder: Recorder | None = None) -> E.Expr:
    """``e`` with every simplification rule applied, in canonical form."""
    budget = [MAX_REWRITES]
    memo = _MEMO if recorder is None else {}
    for node in E.walk(e):
        if node not in memo:
            memo[node] = _simplify_node(node, memo, recorder, budget)
    return memo[e]


def _simplify_node(node: E.Expr, memo: dict, recorder, budget) -> E.Expr:
    current = E.rebuild(node, [memo[a] for a in node.args]) if node.args else node
    while True:
        rewritten = _apply_once(current, recorder)
        if rewritten is None:
            return current
        budget[0] -= 1
        if budget[0] < 0:
            raise MatcalcError("simplification did not terminate (the rule set loops)")
        # the rewrite may expose new opportunities below the top: simplify its parts again
        for sub in E.walk(rewritten)[:-1]:   # the proper subexpressions, children first
            if sub not in memo:
                memo[sub] = _simplify_node(sub, memo, recorder, budget)
        current = E.rebuild(rewritten, [memo[a] for a in rewritten.args]) if rewritten.args else rewritten


def _apply_once(node: E.Expr, recorder):
    for rule in RULES.simplifications.get(operation_key(node), ()):
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
