"""The rule set, loaded from ``rules/*.rules`` and validated at import.

A rules file holds one rule per line, in the expression syntax users type::

    vars: X: matrix; u v: vector; p: scalar
    d-inv:        d(inv(X))      => -inv(X) @ d(X) @ inv(X)
    log-exp:      log(exp(X))    => X
    d-pow-const:  d(X ** p)      => p * X ** (p - 1) * d(X)      if const(p)

``mistakes.rules`` holds wrong differentials that students write, each with a description in
double quotes; ``verify`` uses them to name the mistake in a claim.

``vars:`` declares the pattern variables of the file: a ``matrix`` matches any expression, a
``square`` matrix a square one, a ``vector`` a column vector, a ``scalar`` a ``1×1`` one. ``I``
and ``ones`` are an identity and a matrix of ones whose sizes are inferred; ``onecol`` is a
column of ones (``onecol.T`` a row). A rule whose left side is ``d(...)`` is a differential; any
other is a simplification (in ``properties.rules``, one that holds for variables with a
property, applied to results only).

Validation: names are unique; every variable is declared and the right side uses only variables
of the left side; both sides have the same shape (by unification of symbolic dimensions); guards
are known predicates of left-side variables; a simplification must not be one the canonical
form already applies.
"""
from __future__ import annotations

import functools
import itertools
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import expr as E
from .errors import MatcalcError, RuleError
from .ops import operation_key
from .parse import Builder, Extension, Node, Scope, parse
from .shapes import SCALAR, DimVar

RULES_DIR = Path(__file__).resolve().parent.parent / "rules"
if not RULES_DIR.is_dir():  # installed: the rules ship inside the package
    RULES_DIR = Path(__file__).resolve().parent / "_rules"
if os.environ.get("MATCALC_RULES_DIR"):   # another rule set (the mutation test uses this)
    RULES_DIR = Path(os.environ["MATCALC_RULES_DIR"])

_LINE = re.compile(r"^(?P<name>[a-z][a-z0-9-]*)\s*:\s*(?P<lhs>.+?)\s*=>\s*(?P<rhs>.+?)"
                   r'(?:\s+if\s+(?P<guard>[^"]+?))?(?:\s+"(?P<note>[^"]*)")?$')
_KINDS = ("matrix", "square", "vector", "scalar")


# properties that property rules may test (rules/properties.rules)
PROPERTY_NAMES = frozenset({"simplex", "simplex_rows", "onehot", "onehot_rows", "orthogonal", "diagonal"})


def _has_property(prop: str):
    """A guard: ``e`` is a variable declared with ``prop``."""
    return lambda e: e.op == "var" and prop in e.data[1]


GUARDS = {
    "const": lambda e: e.op == "const",
    "integer": lambda e: e.op == "const" and getattr(e.data, "denominator", 0) == 1,
    "symmetric": E.is_symmetric,
    "positive": E.is_positive,
    "square": lambda e: e.shape[0] == e.shape[1],
    "scalar": lambda e: e.shape == SCALAR,
    **{prop: _has_property(prop) for prop in PROPERTY_NAMES},
}


def _differential_extension():
    return Extension(shape_rule=lambda builder, node, shapes: _one_argument(builder, node, shapes),
                     build=lambda args, node: _no_hook(node))


def _one_argument(builder, node, shapes):
    if len(shapes) != 1:
        builder.shape_error(node, "d takes one argument")
    return shapes[0]


def _no_hook(node):
    raise MatcalcError("d(...) can only be used inside a differential rule")


@dataclass
class Rule:
    """One rule. ``pattern`` is the left side (inside ``d(...)`` for a differential) built from
    pattern variables; ``rhs`` is the right side's syntax tree, built anew for each match."""
    name: str
    kind: str            # "differential", "simplify", "mistake" or "property"
    pattern: E.Expr
    rhs: Node
    guards: tuple        # (predicate name, variable name)
    wildcards: dict      # name -> pattern variable
    builder: Builder
    text: str
    origin: str          # file:line
    note: str = ""       # for mistakes: what the student did, in words

    @property
    def head(self) -> str:
        return operation_key(self.pattern)

    @functools.cached_property
    def operand_ops(self) -> frozenset:
        """The operations that some operand of a matching product or sum must have (a subset of
        ``present_ops`` of it): ``inv`` for ``inv(X) @ X``, ``diag`` for ``diag(u) + diag(v)``. A quick
        filter before ``match_within``, which tries the operands of a long sum one by one."""
        if self.pattern.op not in ("matmul", "add", "mul"):
            return frozenset()
        skip = ("T", "const") if self.pattern.op == "matmul" else ()   # (a product also matches turned round)
        return frozenset(f.op for f in self.pattern.args if not _is_wildcard(f) and f.op not in skip)

    def instantiate(self, binding: Binding, hooks: dict | None = None) -> E.Expr:
        variables = {name: binding.exprs[w] for name, w in self.wildcards.items() if w in binding.exprs}
        return self.builder.construct(self.rhs, Scope(variables, binding.dims, hooks))

    def instantiate_pattern(self, binding: Binding) -> E.Expr:
        """The left side with the bound expressions and dimensions put in."""
        return _fill(self.pattern, binding, {})

    def guards_hold(self, binding: Binding) -> bool:
        return all(GUARDS[pred](binding.exprs[self.wildcards[var]]) for pred, var in self.guards)


def _fill(e: E.Expr, binding: Binding, memo: dict) -> E.Expr:
    hit = memo.get(e)
    if hit is None:
        if e in binding.exprs:
            hit = binding.exprs[e]
        elif e.op in ("eye", "ones", "zero"):
            shape = tuple(binding.dims.get(d, d) for d in e.shape)
            hit = E.eye(shape[0]) if e.op == "eye" else E.ones(shape) if e.op == "ones" else E.zero(shape)
        elif e.args:
            hit = E.rebuild(e, [_fill(a, binding, memo) for a in e.args])
        else:
            hit = e
        memo[e] = hit
    return hit


class Binding:
    """What a match bound: pattern variables to expressions, rule dimensions to dimensions."""

    __slots__ = ("exprs", "dims")

    def __init__(self, exprs=None, dims=None):
        self.exprs = dict(exprs or {})
        self.dims = dict(dims or {})

    def copy(self) -> Binding:
        return Binding(self.exprs, self.dims)


def _is_wildcard(e: E.Expr) -> bool:
    return e.op == "var" and "pattern" in e.data[1]


def _bind_dims(pattern_shape, target_shape, binding: Binding) -> bool:
    for p, t in zip(pattern_shape, target_shape):
        if isinstance(p, str) and p.startswith("_"):
            bound = binding.dims.get(p)
            if bound is None:
                binding.dims[p] = t
            elif bound != t:
                return False
        elif p != t:
            return False
    return True


def match(pattern: E.Expr, target: E.Expr, binding: Binding):
    """Bindings under which ``pattern`` equals ``target`` (a generator; usually 0 or 1)."""
    if _is_wildcard(pattern):
        bound = binding.exprs.get(pattern)
        if bound is not None:
            if bound is target:
                yield binding
            return
        b = binding.copy()
        if not _bind_dims(pattern.shape, target.shape, b):
            return
        b.exprs[pattern] = target
        yield b
        return
    if pattern.op != target.op or pattern.data != target.data or len(pattern.args) != len(target.args):
        if pattern.op == "matmul" and target.op == "matmul" and target.shape == SCALAR:
            flipped = [E.transpose(f) for f in reversed(target.args)]
            if len(flipped) == len(pattern.args):
                yield from _match_sequence(pattern.args, flipped, binding)
        return
    if not pattern.args:
        b = binding.copy()
        if pattern.op in ("eye", "ones", "zero", "dim") and _bind_dims(pattern.shape, target.shape, b):
            yield b
        elif pattern is target:
            yield binding
        return
    if pattern.op in ("add", "mul"):
        for perm in itertools.permutations(target.args):
            yield from _match_sequence(pattern.args, perm, binding)
        return
    yield from _match_sequence(pattern.args, target.args, binding)
    if pattern.op == "matmul" and target.shape == SCALAR:
        flipped = [E.transpose(f) for f in reversed(target.args)]
        yield from _match_sequence(pattern.args, flipped, binding)


def _head_fits(pattern: E.Expr, target: E.Expr) -> bool:
    """Whether ``target`` could match ``pattern`` at the top: a quick filter before ``match``."""
    if _is_wildcard(pattern):
        return True
    if pattern.op == "const":
        return target.op == "const" and target.data == pattern.data
    return pattern.op == target.op and pattern.data == target.data


def _match_sequence(patterns, targets, binding):
    if not patterns:
        yield binding
        return
    for b in match(patterns[0], targets[0], binding):
        yield from _match_sequence(patterns[1:], targets[1:], b)


def present_ops(target: E.Expr) -> frozenset:
    """The operations of the operands of a product or sum (for a matrix product either way round:
    a transposed factor counts with its operand's): what ``Rule.operand_ops`` must be a subset of
    for a match; empty for other operations."""
    if target.op == "matmul":
        return frozenset([f.op for f in target.args] + [f.args[0].op for f in target.args if f.op == "T"])
    if target.op in ("add", "mul"):
        return frozenset([f.op for f in target.args])
    return frozenset()


def match_within(pattern: E.Expr, target: E.Expr):
    """Matches of ``pattern`` against ``target`` or, for sums and products, against part of it.

    Yields ``(binding, rebuild)``: ``rebuild(replacement)`` puts the replacement where the
    matched part was."""
    for b in match(pattern, target, Binding()):
        yield b, (lambda r: r)
    k = len(pattern.args)
    if pattern.op != target.op or len(target.args) <= k:
        return
    if pattern.op in ("add", "mul"):
        build = E.add if pattern.op == "add" else E.mul
        # each pattern operand can only match operands with its head: try those, in order
        candidates = [[i for i, a in enumerate(target.args) if _head_fits(p, a)] for p in pattern.args]
        for chosen in itertools.product(*candidates):
            if len(set(chosen)) < k:
                continue
            rest = [a for i, a in enumerate(target.args) if i not in chosen]
            for b in _match_sequence(pattern.args, [target.args[i] for i in chosen], Binding()):
                yield b, (lambda r, rest=rest: build(r, *rest))
    elif pattern.op == "matmul":
        args = target.args
        for start in range(len(args) - k + 1):
            for b in _match_sequence(pattern.args, args[start:start + k], Binding()):
                yield b, (lambda r, s=start: E.matmul(*args[:s], r, *args[s + k:]))


# ---------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------

def _declarations(text: str, origin: str) -> dict:
    kinds = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        if ":" not in part:
            raise RuleError(f"{origin}: bad declaration {part.strip()!r}; write 'X Y: matrix'")
        names, kind = part.split(":", 1)
        kind = kind.strip()
        if kind not in _KINDS:
            raise RuleError(f"{origin}: unknown kind {kind!r}; use one of {', '.join(_KINDS)}")
        for name in names.split():
            kinds[name] = kind
    return kinds


def _names(node: Node) -> set:
    out = {node.text} if node.kind == "name" else set()
    for c in node.children:
        out |= _names(c)
    return out


def _parse_rule(name, lhs_text, rhs_text, guard_text, kinds, origin, note="", mistake=False,
                property_rule=False) -> Rule:
    source = f"{lhs_text} => {rhs_text}"
    try:
        lhs_tree = parse(lhs_text)
        rhs_tree = parse(rhs_text)
    except MatcalcError as err:
        raise RuleError(f"{origin}: rule {name}: {err}") from None
    kind = "differential" if lhs_tree.kind == "call" and lhs_tree.text == "d" else "simplify"
    if mistake:
        if kind != "differential":
            raise RuleError(f"{origin}: rule {name}: a mistake is a wrong differential, d(...) => ...")
        if not note:
            raise RuleError(f"{origin}: rule {name}: a mistake needs a description in double quotes")
        kind = "mistake"
    if property_rule:
        if kind != "simplify" or not guard_text:
            raise RuleError(f"{origin}: rule {name}: a property rule is a simplification with a guard")
        kind = "property"
    simplification = kind in ("simplify", "property")
    pattern_tree = lhs_tree if simplification else lhs_tree.children[0]
    if not simplification and len(lhs_tree.children) != 1:
        raise RuleError(f"{origin}: rule {name}: d takes one argument")
    constants = frozenset({"I", "ones", "onecol"})
    lhs_names = _names(pattern_tree) - constants
    undeclared = sorted(n for n in lhs_names | (_names(rhs_tree) - constants) if n not in kinds)
    if undeclared:
        raise RuleError(f"{origin}: rule {name}: undeclared variable(s) {', '.join(undeclared)}")
    unbound = sorted(_names(rhs_tree) - constants - lhs_names)
    if unbound:
        raise RuleError(f"{origin}: rule {name}: the right side uses {', '.join(unbound)}, "
                        "which the left side does not bind")

    builder = Builder(source, {}, unknown="infer", constants=constants,
                      extensions={"d": _differential_extension()})
    for var in lhs_names:
        if kinds[var] == "scalar":
            builder.inferred[var] = SCALAR
        elif kinds[var] == "square":
            d = builder.fresh("r")
            builder.inferred[var] = (d, d)
        elif kinds[var] == "vector":
            builder.inferred[var] = (builder.fresh("r"), 1)
        else:
            builder.inferred[var] = (builder.fresh("r"), builder.fresh("c"))
    try:
        left = builder.run(pattern_tree)
        before = _dimension_classes(builder, lhs_names)
        right = builder.run(rhs_tree)
        texts = builder.text(left), builder.text(right)
        same = all(builder.unifier.unify(a, b) for a, b in zip(left, right))
        if not same or _dimension_classes(builder, lhs_names) != before:
            raise RuleError(f"{origin}: rule {name}: the sides have different shapes ({texts[0]} and "
                            f"{texts[1]}) for some of the shapes the left side accepts")
    except MatcalcError as err:
        if isinstance(err, RuleError):
            raise
        raise RuleError(f"{origin}: rule {name}: {err}") from None

    # name the dimensions left unknown: they are bound afresh by each match
    counter = itertools.count(1)
    for shape in list(builder.shapes.values()) + list(builder.inferred.values()):
        for d in shape:
            root = builder.unifier.find(d)
            if isinstance(root, DimVar):
                builder.unifier.unify(root, f"_{next(counter)}")
    wildcards = {var: E.variable(var, builder.resolved(builder.inferred[var]), {"pattern"})
                 for var in lhs_names}
    builder.variables = wildcards
    try:
        pattern = builder.construct(pattern_tree)
        rhs_expr = builder.construct(rhs_tree, Scope(wildcards, hooks={"d": lambda args, node: args[0]}))
    except MatcalcError as err:
        raise RuleError(f"{origin}: rule {name}: {err}") from None
    if simplification and pattern is rhs_expr:
        raise RuleError(f"{origin}: rule {name} is redundant: the canonical form already does it")
    if pattern.shape != rhs_expr.shape:
        raise RuleError(f"{origin}: rule {name}: the sides have different shapes")

    guards = []
    for g in (guard_text or "").split(" and "):
        if not g.strip():
            continue
        m = re.fullmatch(r"\s*([a-z_]+)\(([A-Za-z_]\w*)\)\s*", g)
        if not m or m.group(1) not in GUARDS:
            raise RuleError(f"{origin}: rule {name}: bad guard {g.strip()!r}; "
                            f"known: {', '.join(GUARDS)}")
        if m.group(2) not in lhs_names:
            raise RuleError(f"{origin}: rule {name}: the guard names {m.group(2)}, not a left-side variable")
        guards.append((m.group(1), m.group(2)))
    return Rule(name, kind, pattern, rhs_tree, tuple(guards), wildcards, builder, source, origin, note)


def _dimension_classes(builder: Builder, names) -> list:
    """Which dims of the variables ``names`` are known equal (or fixed): a fingerprint."""
    dims = [d for n in sorted(names) for d in builder.inferred[n]]
    roots = [builder.unifier.find(d) for d in dims]
    return [next(i for i, r in enumerate(roots) if r is root or r == root) if isinstance(root, DimVar)
            else root for root in roots]


def load_rules(directory: Path = RULES_DIR) -> list:
    """Every rule of every ``*.rules`` file, validated."""
    rules = []
    seen = {}
    files = sorted(Path(directory).glob("*.rules"))
    if not files:
        raise RuleError(f"no rule files in {directory}")
    for path in files:
        kinds = {}
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            line = raw.split("#", 1)[0].strip()
            origin = f"{path.name}:{number}"
            if not line:
                continue
            if line.startswith("vars:"):
                kinds = _declarations(line[len("vars:"):], origin)
                continue
            m = _LINE.match(line)
            if not m:
                raise RuleError(f"{origin}: cannot read {line!r}; write 'name: lhs => rhs [if guard]'")
            name = m.group("name")
            if name in seen:
                raise RuleError(f"{origin}: rule {name} is defined twice (first at {seen[name]})")
            seen[name] = origin
            rules.append(_parse_rule(name, m.group("lhs"), m.group("rhs"), m.group("guard"), kinds, origin,
                                     m.group("note") or "", mistake=path.stem == "mistakes",
                                     property_rule=path.stem == "properties"))
    return rules


class RuleSet:
    """The loaded rules, indexed by the operation at the head of their pattern."""

    def __init__(self, rules: list):
        self.rules = rules
        self.by_name = {r.name: r for r in rules}
        self.differentials: dict = {}
        self.simplifications: dict = {}
        self.mistakes: dict = {}
        self.properties: dict = {}   # simplifications that hold on the values the properties allow
        tables = {"differential": self.differentials, "simplify": self.simplifications,
                  "mistake": self.mistakes, "property": self.properties}
        for r in rules:
            tables[r.kind].setdefault(r.head, []).append(r)


RULES = RuleSet(load_rules())
