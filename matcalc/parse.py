"""Strings to expressions. Parsed, never evaluated.

One tokenizer and one Pratt parser read the expression language; the same parser reads the rules
in ``rules/``. Parsing gives a small syntax tree (``Node``) in which every node keeps its position
in the source, so errors can point at it. Building then happens in two passes:

1. shape inference over the tree: the shapes of declared names are known; undeclared names (and
   the pattern variables of rules) get unknown dimensions that are unified by the operations;
2. construction of the canonical ``Expr`` with the resolved shapes.

Syntax ("numpy", the default): ``@`` matrix product, ``*`` ``/`` elementwise (or by a scalar),
``**`` elementwise power by a scalar, ``+`` ``-``, unary ``-``, ``.T``, calls ``f(x)``, numbers.
"""
from __future__ import annotations

import functools
import heapq
import itertools
import math
import re
import unicodedata
import warnings
from collections import deque
from dataclasses import dataclass, field
from fractions import Fraction

from . import expr as E
from . import numbers as num
from .errors import LimitError, MatcalcError, NotationWarning, ParseError, ReadingWarning, ShapeError, UnknownNameError
from .shapes import SCALAR, DimVar, Unifier, broadcast, broadcast_all, parse_dim, shape_text

MAX_SOURCE_LENGTH = 100_000
MAX_EXACT_DIGITS = 300   # a plain decimal literal with more significant digits is read as a float


# ---------------------------------------------------------------------------------------
# Tokens
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Token:
    kind: str      # "num", "name", "op", "end"
    text: str
    pos: int


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<num>(?:[0-9]+\.[0-9]*|\.[0-9]+|[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>δ?[A-Za-z_][A-Za-z_0-9]*)   # (δh: a backward signal, in a claim)
  | (?P<op>\*\*|=>|\.\*|\./|\.\^|\.T\b|\.'|[-+*/@^(),'=:.\[\]])
""", re.VERBOSE)

_LOOKALIKES = {"−": "-", "–": "-", "—": "-", "×": "*", "·": "*", "÷": "/", "’": "'", "‘": "'",
               "ᵀ": ".T", "（": "(", "）": ")", "，": ","}


def tokenize(source: str) -> list:
    if len(source) > MAX_SOURCE_LENGTH:
        raise ParseError(f"input too long ({len(source)} characters; the limit is {MAX_SOURCE_LENGTH})")
    tokens = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            ch = source[pos]
            hint = _LOOKALIKES.get(ch)
            name = unicodedata.name(ch, f"U+{ord(ch):04X}")
            msg = f"unexpected character {ch!r} ({name})"
            if hint:
                msg += f"; did you mean {hint!r}?"
            raise ParseError(msg, source, pos)
        kind = m.lastgroup
        if kind != "space":
            tokens.append(Token(kind, m.group(), pos))
        pos = m.end()
    tokens.append(Token("end", "", len(source)))
    return tokens


# ---------------------------------------------------------------------------------------
# Syntax tree
# ---------------------------------------------------------------------------------------

@dataclass(eq=False)
class Node:
    kind: str                 # num name call binop neg T
    pos: int
    text: str = ""            # number text, name, function name or operator
    children: list = field(default_factory=list)
    axis: int | None = None   # a call's axis= keyword (sum, mean, logsumexp, softmax, log_softmax)


# binary operators: token -> (operation, left binding power, right-associative)
_NUMPY_BINARY = {
    "+": ("add", 10, False), "-": ("sub", 10, False),
    "*": ("mul", 20, False), "/": ("div", 20, False), "@": ("matmul", 20, False),
    "**": ("pow", 40, True),
}
_UNARY_POWER = 30   # -x**2 is -(x**2); 2*-x is 2*(-x)
_POSTFIX_POWER = 50


# MATLAB / matrixcalculus.org: * is the matrix product (scaling when a side is a scalar),
# .* ./ .^ are elementwise, ^ is a power (of a scalar, or an integer power of a square matrix),
# / divides by a scalar, ' and .' transpose; ^ is left-associative as in MATLAB.
_MATLAB_BINARY = {
    "+": ("add", 10, False), "-": ("sub", 10, False),
    "*": ("mtimes", 20, False), "/": ("mrdivide", 20, False), ".*": ("mul", 20, False),
    "./": ("div", 20, False), "^": ("mpower", 40, False), ".^": ("pow", 40, False),
}
SYNTAXES = ("numpy", "matlab")


class Parser:
    """A Pratt parser over the tokens of one expression."""

    def __init__(self, source: str, syntax: str = "numpy"):
        if syntax not in SYNTAXES:
            raise MatcalcError(f"unknown syntax {syntax!r}; use 'numpy', 'matlab', 'latex' or 'text'")
        self.source = source
        self.syntax = syntax
        self.tokens = tokenize(source)
        self.i = 0
        self.depth = 0
        self.binary = _NUMPY_BINARY if syntax == "numpy" else _MATLAB_BINARY
        self.postfix = (".T",) if syntax == "numpy" else ("'", ".'")

    @property
    def token(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def error(self, message: str, pos: int | None = None):
        raise ParseError(message, self.source, self.token.pos if pos is None else pos)

    def expect(self, text: str, what: str):
        if self.token.text != text or self.token.kind == "end":
            found = "the end of the input" if self.token.kind == "end" else repr(self.token.text)
            self.error(f"expected {text!r} {what}, found {found}")
        return self.advance()

    def parse(self) -> Node:
        if self.token.kind == "end":
            self.error("empty expression")
        node = self.expression(0)
        if self.token.kind != "end":
            if self.token.text == ")":
                self.error("unbalanced ')': no '(' matches it")
            self.error(f"unexpected {self.token.text!r} after a complete expression; "
                       "is an operator missing?")
        return node

    def expression(self, min_power: int) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.error(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
        try:
            return self.operators(self.prefix(), min_power)
        finally:
            self.depth -= 1

    def operators(self, left: Node, min_power: int) -> Node:
        while True:
            tok = self.token
            if tok.kind == "op" and tok.text in self.postfix:
                self.advance()
                left = Node("T", tok.pos, tok.text, [left])
                continue
            if tok.kind == "op" and tok.text == ".T" and self.syntax == "matlab":
                self.error("in MATLAB syntax a transpose is written x'")
            if tok.kind == "op" and tok.text == "(" and left.kind == "name":
                left = self.call(left)
                continue
            entry = self.binary.get(tok.text) if tok.kind == "op" else None
            if entry is None:
                if tok.kind in ("name", "num") or (tok.kind == "op" and tok.text == "("):
                    self.error(f"unexpected {tok.text!r}: is an operator missing before it?")
                if tok.kind == "op" and tok.text == ".":
                    self.error("only '.T' may follow a '.': attribute access is not allowed")
                if tok.kind == "op" and tok.text in ("'", ".'", "^", ".*", "./", ".^") and self.syntax == "numpy":
                    self.error(f"{tok.text!r} is MATLAB notation; use syntax='matlab' (or --syntax matlab), "
                               "or write it the numpy way (.T, **, *, /)")
                return left
            operation, power, right_assoc = entry
            if power < min_power or (power == min_power and not right_assoc):
                return left
            self.advance()
            if operation == "pow" and self.syntax == "numpy":   # 2 ** -1
                right = self.expression(_UNARY_POWER)
            else:
                right = self.expression(power if right_assoc else power + 1)
            left = Node("binop", tok.pos, operation, [left, right])

    def prefix(self) -> Node:
        tok = self.advance()
        if tok.kind == "num":
            return Node("num", tok.pos, tok.text)
        if tok.kind == "name":
            if tok.text.startswith("__") or (tok.text in _FORBIDDEN_NAMES and self.syntax == "numpy"):
                raise ParseError(f"{tok.text!r} is not allowed here", self.source, tok.pos)
            return Node("name", tok.pos, tok.text)
        if tok.kind == "op" and tok.text in ("-", "+"):
            operand = self.expression(_UNARY_POWER)
            return operand if tok.text == "+" else Node("neg", tok.pos, "-", [operand])
        if tok.kind == "op" and tok.text == "(":
            if self.token.text == ")":
                self.error("empty parentheses")
            inner = self.expression(0)
            if self.token.kind == "end":
                raise ParseError("unbalanced '(': no ')' closes it", self.source, tok.pos)
            self.expect(")", "to close the parenthesis")
            return inner
        if tok.kind == "end":
            self.i -= 1
            self.error("the expression ends too early: an operand is missing")
        self.i -= 1
        self.error(f"unexpected {tok.text!r}: expected a name, a number or '('")

    def call(self, function: Node) -> Node:
        open_tok = self.advance()
        args = []
        axis = None
        if self.token.text != ")":
            while True:
                if self.token.kind == "op" and self.token.text in ("*", "**"):
                    self.error("starred arguments are not allowed")
                if self.token.kind == "name" and self.tokens[self.i + 1].text == "=":
                    axis = self.axis_keyword(function, axis)
                elif axis is not None:
                    self.error("a positional argument cannot follow axis=")
                else:
                    args.append(self.expression(0))
                if self.token.text == ",":
                    self.advance()
                    continue
                break
        if self.token.kind == "end":
            raise ParseError("unbalanced '(': no ')' closes this call", self.source, open_tok.pos)
        self.expect(")", f"to close the call of {function.text}")
        name = "trace" if function.text == "tr" and self.syntax == "numpy" else function.text   # tr(A): the habit
        return Node("call", function.pos, name, args, axis)

    def axis_keyword(self, function: Node, earlier) -> int:
        """``axis=k`` in a call of a function that takes it: an integer literal 0, 1, -1 or -2."""
        keyword = self.advance()
        entry = FUNCTIONS.get(function.text)
        if keyword.text != "axis" or self.syntax != "numpy" or entry is None or not entry.axis:
            takers = ", ".join(sorted(name for name, f in FUNCTIONS.items() if f.axis))
            self.error(f"keyword arguments are not allowed ({keyword.text}=...); "
                       f"only {takers} take axis=", keyword.pos)
        if earlier is not None:
            self.error("axis= is given twice", keyword.pos)
        self.advance()   # '='
        sign = -1 if self.token.text == "-" else 1
        if sign < 0:
            self.advance()
        tok = self.token
        if tok.kind != "num" or not tok.text.isdigit() or int(tok.text) > 2 or sign * int(tok.text) == 2:
            self.error("axis must be 0, 1, -1 or -2 (an integer literal)")
        self.advance()
        return sign * int(tok.text) % 2


_FORBIDDEN_NAMES = frozenset({"lambda", "import", "eval", "exec", "open", "globals", "locals",
                              "getattr", "setattr", "compile", "for", "in", "if", "else", "not",
                              "and", "or", "is", "def", "class", "return", "yield", "with", "as",
                              "from", "global", "nonlocal", "del", "pass", "raise", "try",
                              "except", "while", "break", "continue", "None", "True", "False"})

MAX_DEPTH = 200  # nesting levels; deeper input fails clearly instead of overflowing the stack


_OPERATOR_TEXT = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**"}


def unparse(node: Node) -> str:
    """A syntax tree (numpy notation) back to text, fully parenthesised."""
    kind = node.kind
    if kind in ("num", "name"):
        return node.text
    if kind == "neg":
        return f"(-{unparse(node.children[0])})"
    if kind == "T":
        return f"({unparse(node.children[0])}).T"
    if kind == "binop":
        left, right = (unparse(c) for c in node.children)
        return f"({left} {_OPERATOR_TEXT[node.text]} {right})"
    axis = [] if node.axis is None else [f"axis={node.axis}"]
    return f"{node.text}({', '.join([unparse(c) for c in node.children] + axis)})"


def parse(source: str, syntax: str = "numpy", names=()) -> Node:
    """The syntax tree of one expression (in LaTeX, ``names`` are the declared names, which decide
    how a run of letters splits)."""
    if not isinstance(source, str):
        raise MatcalcError(f"expected a string to parse, got {type(source).__name__}")
    if syntax in ("latex", "text"):
        from .parse_latex import read_latex
        return read_latex(source, names).tree
    return Parser(source, syntax).parse()


# ---------------------------------------------------------------------------------------
# From a syntax tree to an expression: shape inference, then construction
# ---------------------------------------------------------------------------------------

class Extension:
    """A function known only in one context (``d(X)`` in rules): its shape rule and builder."""

    def __init__(self, shape_rule, build):
        self.shape_rule = shape_rule   # (inference, node, argument shapes) -> shape
        self.build = build             # (argument expressions, node) -> Expr


class Builder:
    """Builds expressions from syntax trees.

    ``variables`` maps names to expressions (usually variables; in rules, the bound pattern
    variables). ``unknown``: ``"error"`` (an undeclared name is an error) or ``"infer"`` (it gets
    a shape by inference; ``inferred`` holds the result). ``constants`` lists names that stand
    for constants whose shape is inferred from where they are used: ``I`` and ``ones``.

    Shape inference: operations whose shape rule is certain (``@``, ``trace``, …) unify at once;
    elementwise operations with broadcasting, and MATLAB's ``*`` (a matrix product, or scaling
    when a side is a scalar), wait until their operands are known enough. Names nothing decides
    get a kind by the naming convention (``conventions=True``): a name starting with an
    uppercase letter is a matrix, a Greek or multi-letter lowercase name in ``SCALAR_NAMES`` a
    scalar, any other lowercase name a vector. What is still open is then decided by default
    (same shapes; a matrix product), and dimensions left unknown get names ``n, m, p, …``.
    """

    def __init__(self, source: str, variables: dict, *, unknown: str = "error",
                 extensions: dict | None = None, constants: frozenset = frozenset(),
                 conventions: bool = False, syntax: str = "numpy"):
        self.source = source
        self.variables = variables
        self.unknown = unknown
        self.extensions = extensions or {}
        self.constants = constants
        self.conventions = conventions
        self.syntax = syntax
        self.unifier = Unifier(on_bind=self._wake)
        self.shapes: dict = {}          # id(node) -> inferred shape
        self.inferred: dict = {}        # undeclared name -> inferred shape
        self.deferred: dict = {}        # number -> (decide, node, a, b, result), still undecided
        self.undecided: set = set()     # the dims of the results of deferred operations
        self.order: deque = deque()     # the numbers of the deferred operations, in order
        self.counter = itertools.count()
        self.watchers: dict = {}        # unknown dim (a root) -> numbers of the operations it holds up
        self.woken: list = []           # a heap: numbers of deferred operations whose dims changed
        self.decisions: dict = {}       # id(node) -> how a MATLAB * or ^ was read
        self.named: dict = {}           # id(node) -> whether the subtree mentions a name
        self.scalars_by_default = False   # lowercase undeclared names are scalars (no matrix operation)
        self.softmax_axis = None          # the axis a softmax of a matrix is over where the text gives none
        self._fresh = 0

    # -- errors --------------------------------------------------------------------------------
    def shape_error(self, node: Node, message: str):
        raise ShapeError(message, self.source, node.pos)

    def fresh(self, hint: str) -> DimVar:
        self._fresh += 1
        return DimVar(f"{hint}{self._fresh}")

    def text(self, shape) -> str:
        r, c = self.unifier.resolve(shape)
        if isinstance(r, DimVar) or isinstance(c, DimVar):
            return "?×?" if isinstance(r, DimVar) and isinstance(c, DimVar) else \
                f"{'?' if isinstance(r, DimVar) else r}×{'?' if isinstance(c, DimVar) else c}"
        return shape_text((r, c))

    def is_one(self, d) -> bool:
        return self.unifier.find(d) == 1

    def is_scalar(self, shape) -> bool:
        return self.is_one(shape[0]) and self.is_one(shape[1])

    def known(self, shape) -> bool:
        return self.unifier.known(shape[0]) and self.unifier.known(shape[1])

    def unify(self, node: Node, a, b, message):
        if not self.unifier.unify(a, b):
            self.shape_error(node, message())

    # -- pass 1: shapes ---------------------------------------------------------------------------
    def run(self, node: Node, expected=None):
        """Infer the shapes of ``node`` and everything in it, deciding what can be decided.
        ``expected``: the shape ``node`` should have, for the dims its text leaves open (``2 I``)."""
        shape = self.infer(node)
        self.solve(shape if expected is not None else None, expected)
        return shape

    def infer(self, node: Node):
        shape = self.shapes.get(id(node))
        if shape is None:
            # a long chain a + b + c + … is a deep left spine: infer it from the bottom up, so
            # that no call recurses deeply
            inner = node.children[0] if node.kind == "binop" else None
            spine = []
            while inner is not None and inner.kind == "binop" and id(inner) not in self.shapes:
                spine.append(inner)
                inner = inner.children[0]
            for below in reversed(spine):
                self.infer(below)
            shape = self.shapes[id(node)] = self._infer(node)
        return shape

    def _infer(self, node: Node):
        kind = node.kind
        if kind == "num":
            return SCALAR
        if kind == "name":
            return self.infer_name(node)
        if kind == "neg":
            return self.infer(node.children[0])
        if kind == "T":
            r, c = self.infer(node.children[0])
            return (c, r)
        if kind == "binop":
            return self.infer_binop(node)
        if kind == "call":
            return self.infer_call(node)
        raise ParseError(f"unsupported syntax {kind!r}", self.source, node.pos)

    def infer_name(self, node: Node):
        name = node.text
        if name in self.variables:
            return self.variables[name].shape
        if name in self.constants:
            key = ("constant", name, id(node))
            if key not in self.inferred:
                d = self.fresh("n")
                self.inferred[key] = (d, d) if name == "I" else (d, 1) if name == "onecol" else (d, self.fresh("m"))
            return self.inferred[key]
        if name in self.function_names() or name in self.extensions:
            raise ParseError(f"{name!r} is a function: call it, as in {name}(x)", self.source, node.pos)
        if self.unknown == "infer":
            if name not in self.inferred:
                self.inferred[name] = (self.fresh("r"), self.fresh("c"))
            return self.inferred[name]
        raise UnknownNameError(f"unknown name {name!r}: declare its shape (shapes={{{name!r}: 'n'}} in "
                               f"Python, --shape {name}=n on the command line)", self.source, node.pos)

    def function_names(self):
        return FUNCTION_NAMES | (MATLAB_NAMES if self.syntax == "matlab" else frozenset())

    def infer_binop(self, node: Node):
        op = node.text
        left, right = (self.infer(c) for c in node.children)
        if op == "matmul":
            self.unify(node, left[1], right[0], lambda: (
                f"matrix product of {self.text(left)} and {self.text(right)}: inner dimensions differ"))
            return (left[0], right[1])
        if op in ("pow", "mrdivide"):
            what = "the exponent of '**'" if op == "pow" else "a divisor after '/'"
            for d in right:
                self.unify(node, d, 1, lambda: f"{what} must be a scalar, got {self.text(right)}")
            return left
        decide = {"mtimes": self.decide_mtimes, "cdot": self.decide_mtimes, "period": self.decide_mtimes,
                  "star": self.decide_mtimes, "mpower": self.decide_mpower}.get(op, self.decide_elementwise)
        shape = self.decide_or_defer(decide, node, left, right)
        if op in _JUXTAPOSED and self.decisions.get(id(node)) != "inner":
            # a scaling or a matrix product, undecided: what both readings agree on
            if self.surely_not_scalar(left):
                self.unify(node, shape[0], left[0], lambda: "internal: inconsistent shapes")
            if self.surely_not_scalar(right):
                self.unify(node, shape[1], right[1], lambda: "internal: inconsistent shapes")
        return shape

    def surely_not_scalar(self, shape) -> bool:
        """Whether a dim of ``shape`` is known and is not 1."""
        return any(self.unifier.known(d) and self.unifier.find(d) != 1 for d in shape)

    def decide_or_defer(self, decide, node, a, b):
        out = decide(node, a, b, False)
        if out is not None:
            return out
        result = (self.fresh("r"), self.fresh("c"))
        number = next(self.counter)   # increasing: the order of appearance
        self.deferred[number] = (decide, node, a, b, result)
        self.undecided.update(result)
        self.order.append(number)
        for d in (*a, *(b or ())):
            root = self.unifier.find(d)
            if isinstance(root, DimVar):
                self.watchers.setdefault(root, []).append(number)
        return result

    def _wake(self, var, value):
        """``var`` (a root) was bound: the operations it held up may be decidable now; if it
        joined another unknown, they wait on that one."""
        held = self.watchers.pop(var, ())
        for number in held:
            heapq.heappush(self.woken, number)
        if isinstance(value, DimVar) and held:
            self.watchers.setdefault(value, []).extend(held)

    def has_names(self, node: Node) -> bool:
        """Whether ``node`` mentions a name (a variable), not only numbers (memoised)."""
        stack = [node]
        while stack:
            top = stack[-1]
            if id(top) in self.named:
                stack.pop()
                continue
            pending = [c for c in top.children if id(c) not in self.named]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            self.named[id(top)] = top.kind == "name" or any(self.named[id(c)] for c in top.children)
        return self.named[id(node)]

    def decide_elementwise(self, node, a, b, final):
        """Broadcasting between known shapes; otherwise the same shape, axis by axis — except
        that a known scalar scales anything, and that adding a scalar that involves variables
        (``xᵀ A x + c``) makes the other side a scalar too."""
        if self.known(a) and self.known(b):
            out = broadcast(self.unifier.resolve(a), self.unifier.resolve(b))
            if out is None:   # a column and a row: they fit where the chain has a matrix (c − B + R)
                out = broadcast_all([self.unifier.resolve(a), self.unifier.resolve(b), self.outer(a, b)])
            if out is None:
                names = {"add": "add", "sub": "subtract", "mul": "multiply elementwise", "div": "divide"}
                self.shape_error(node, f"cannot {names.get(node.text, node.text)} {self.text(a)} and {self.text(b)}")
            return out
        for this, other, child in ((a, b, node.children[0]), (b, a, node.children[1])):
            if self.is_scalar(this):
                if node.text in ("add", "sub") and self.has_names(child) and not self.known(other) \
                        and not self.surely_not_scalar(other):
                    for d in other:
                        self.unify(node, d, 1, lambda: "internal")
                    return SCALAR
                return other
        decided = []
        for x, y in zip(a, b):
            fx, fy = self.unifier.find(x), self.unifier.find(y)
            if fx is fy:   # one dim on both sides: the result's
                decided.append(x)
            elif fx == 1 or fy == 1:   # broadcast along this axis, or the same: not yet known
                if not final and not (self.unifier.known(x) and self.unifier.known(y)):
                    return None
                decided.append(y if fx == 1 else x)
            elif not final and (isinstance(fx, DimVar) and isinstance(fy, DimVar)
                                or x in self.undecided or y in self.undecided):
                return None   # unknown, or the result of an operation not decided (a 1 that broadcasts?)
            else:
                self.unify(node, x, y, lambda: f"cannot combine {self.text(a)} and {self.text(b)} elementwise")
                decided.append(x)
        return tuple(decided)

    def outer(self, a, b):
        """The shape a column and a row would broadcast to (for ``broadcast_all`` to judge)."""
        rows, cols = (self.unifier.find(x) if self.unifier.find(x) != 1 else self.unifier.find(y)
                      for x, y in zip(a, b))
        return (rows, cols)

    def decide_mtimes(self, node, a, b, final):
        """MATLAB's ``*``: scaling if a side is a scalar, else the matrix product; a product of
        two vectors that needs one of them to be a scalar takes the left one (``c x``)."""
        if self.is_scalar(a) or self.is_scalar(b):
            self.decisions[id(node)] = "scale"
            return b if self.is_scalar(a) else a
        inner_a, inner_b = self.unifier.find(a[1]), self.unifier.find(b[0])
        certain = inner_a is inner_b or (self.unifier.known(a[1]) and self.unifier.known(b[0]) and inner_a == inner_b)
        if not certain and not final and not (self.known(a) and self.known(b)):
            return None
        if final and not certain and inner_a == 1 and self.is_one(b[1]) and not self.unifier.known(a[0]):
            self.unifier.unify(a[0], 1)
            self.decisions[id(node)] = "scale"
            return b
        if self.syntax in ("latex", "text") and self.known(a) and self.known(b) and not certain \
                and any(self.is_one(a[k]) and self.is_one(b[k])
                        and self.unifier.find(a[1 - k]) == self.unifier.find(b[1 - k]) for k in (0, 1)):
            # σ(z)(1 − σ(z)): two columns side by side, which no matrix product fits; a · b: their inner product
            if node.text == "period":   # (a.b: a dot product, or MATLAB's elementwise one?)
                raise ParseError(f"'.' between two vectors ({self.text(a)}): their inner product (\\cdot) or "
                                 "their elementwise product (\\odot)? Write one", self.source, node.pos)
            if node.text == "cdot":
                warnings.warn(ReadingWarning(f"a · b of two vectors ({self.text(a)}) is read as their inner product "
                                             "(no matrix product fits)"), stacklevel=_caller_level())
                self.decisions[id(node)] = "inner"
                return (1, 1)
            warnings.warn(ReadingWarning(f"two vectors ({self.text(a)}) side by side are read as their elementwise "
                                         "product ⊙ (no matrix product fits)"), stacklevel=_caller_level())
            self.decisions[id(node)] = "elementwise"
            return a
        if node.text == "star" and self.known(a) and self.known(b) and not certain \
                and all(self.unifier.find(x) == self.unifier.find(y) for x, y in zip(a, b)):
            # A * B of one shape, which no matrix product fits: Ng's elementwise *
            warnings.warn(ReadingWarning(f"{self.text(a)} * {self.text(b)} is read as their elementwise product ⊙ "
                                         "(no matrix product fits)"), stacklevel=_caller_level())
            self.decisions[id(node)] = "elementwise"
            return a
        self.unify(node, a[1], b[0], lambda: f"matrix product of {self.text(a)} and {self.text(b)}: "
                                             "inner dimensions differ")
        self.decisions[id(node)] = "matmul"
        return (a[0], b[1])

    def decide_mpower(self, node, a, b, final):
        """MATLAB's ``^``: a power of a scalar, or an integer power of a square matrix."""
        for d in b:
            self.unify(node, d, 1, lambda: f"an exponent must be a scalar, got {self.text(b)}")
        if self.is_scalar(a):
            self.decisions[id(node)] = "power"
            return a
        if not final and not self.known(a):
            return None
        if self.syntax in ("latex", "text") and self.known(a) and self.unifier.find(a[0]) != self.unifier.find(a[1]):
            vector = self.is_one(a[0]) or self.is_one(a[1])
            warnings.warn(ReadingWarning(
                f"a power of a {'vector' if vector else 'matrix that is not square'} ({self.text(a)}) is read "
                f"elementwise{' (the squared norm is ‖x‖² or xᵀx)' if vector else ''}"), stacklevel=_caller_level())
            self.decisions[id(node)] = "power"   # tanh(z)^2 of a vector: its entries squared
            return a
        self.unify(node, a[0], a[1], lambda: f"a matrix power needs a square matrix, got {self.text(a)}; "
                                             "use .^ for an elementwise power")
        self.decisions[id(node)] = "matrix power"
        return a

    def solve(self, shape=None, expected=None):
        """Decide the deferred operations: what is certain, then by the naming convention, then
        by default; finally name the dimensions nothing decided. Dims of ``shape`` still open
        before the defaults take those of ``expected``."""
        for number in self.deferred:
            heapq.heappush(self.woken, number)
        self._settle()
        if self.conventions:
            self.apply_conventions()
            self._settle()
        if expected is not None:
            for d, want in zip(shape, expected):
                if not self.unifier.known(d) and self.unifier.find(d) is not self.unifier.find(want):
                    self.unifier.unify(d, want)
            self._settle()
        while self.order:
            item = self.deferred.pop(self.order.popleft(), None)
            if item is not None:
                decide, node, a, b, result = item
                self._record(node, decide(node, a, b, True), result)
                self._settle()
        if self.conventions:
            self.name_dimensions()

    def _settle(self):
        """Decide what has become certain: the deferred operations whose dims changed, earliest
        first, until nothing changes (a worklist, so that each costs about its own changes)."""
        while self.woken:
            number = heapq.heappop(self.woken)
            item = self.deferred.get(number)
            if item is None:
                continue
            decide, node, a, b, result = item
            out = decide(node, a, b, False)
            if out is not None:
                del self.deferred[number]
                self._record(node, out, result)

    def _record(self, node, out, result):
        self.undecided.difference_update(result)
        for x, y in zip(result, out):
            self.unify(node, x, y, lambda: "internal: inconsistent shapes")

    def apply_conventions(self):
        """Kinds for undeclared names by how they are written (see the class docstring), one
        name at a time in order of appearance, each followed by what it lets be decided."""
        for name, shape in list(self.inferred.items()):
            if not isinstance(name, str) or self.known(shape):
                continue
            kind = naming_convention(name)
            if kind == "vector" and self.scalars_by_default:
                kind = "scalar"
            wanted = {"scalar": (1, 1), "vector": (None, 1)}.get(kind, (None, None))
            if all(w is None or not self.unifier.known(d) or self.unifier.find(d) == w for d, w in zip(shape, wanted)):
                for d, w in zip(shape, wanted):
                    if w is not None and not self.unifier.known(d):
                        self.unifier.unify(d, w)
                self._settle()

    def name_dimensions(self):
        """Give the dimensions left unknown the names n, m, p, … in order of appearance (then n1, n2, …)."""
        letters = None   # made at the first unknown dimension (a program's stages rarely have one)
        for shape in list(self.inferred.values()) + list(self.shapes.values()):
            for d in shape:
                root = self.unifier.find(d)
                if isinstance(root, DimVar):
                    if letters is None:
                        taken = {d for v in self.variables.values() for d in v.shape if isinstance(d, str)}
                        numbered = (f"n{i}" for i in itertools.count(1))
                        letters = (c for c in itertools.chain("nmpqklrsuvwabcdefghijo", numbered) if c not in taken)
                    self.unifier.unify(root, next(letters))

    def infer_call(self, node: Node):
        name = node.text
        if name in self.extensions:
            shapes = [self.infer(c) for c in node.children]
            return self.extensions[name].shape_rule(self, node, shapes)
        if self.syntax == "matlab" and name in MATLAB_NAMES:
            return self.infer_matlab_call(node)
        function = FUNCTIONS.get(name)
        if function is None:
            known = sorted(self.function_names())
            raise UnknownNameError(f"unknown function {name!r}; known: {', '.join(known)}", self.source, node.pos)
        if function.signature == "dims":
            return self.dims_shape(node)
        if function.binary:
            return self.infer_pair(node, function.signature)
        if len(node.children) != 1:
            self.shape_error(node, f"{name} takes one argument, got {len(node.children)}")
        shape = self.infer(node.children[0])
        signature = function.signature
        if signature == "elementwise":
            return shape
        if signature == "reduce":
            if node.axis is None:
                return SCALAR
            return (1, shape[1]) if node.axis == 0 else (shape[0], 1)
        if signature == "vector" and (node.axis is not None or self.surely_matrix(shape)):
            return shape
        if signature == "pinv":
            return (shape[1], shape[0])
        if signature == "eigvalsh":
            self.unify(node, shape[0], shape[1], lambda: f"{name} needs a square matrix, got {self.text(shape)}")
            return (shape[0], 1)
        if signature in ("square-scalar", "square"):
            self.unify(node, shape[0], shape[1],
                       lambda: f"{name} needs a square matrix, got {self.text(shape)}")
            return SCALAR if signature == "square-scalar" else shape
        if signature == "vector":
            if self.is_one(shape[0]) and not self.is_one(shape[1]):
                return shape
            self.unify(node, shape[1], 1, lambda: f"{name} needs a vector, got {self.text(shape)}")
            return shape
        if signature == "vec":
            r, c = (self.unifier.find(d) for d in shape)
            if isinstance(r, DimVar) or isinstance(c, DimVar):
                self.shape_error(node, "vec needs the shape of its argument; declare it")
            return (E._dim_product(r, c), 1)
        if signature == "diag":
            return self.decide_or_defer(self.decide_diag, node, shape, None)
        raise AssertionError(signature)

    def surely_matrix(self, shape) -> bool:
        """Whether both dims of ``shape`` are known and neither is 1."""
        return all(self.unifier.known(d) and self.unifier.find(d) != 1 for d in shape)

    def infer_pair(self, node: Node, signature: str):
        """The shapes of ``solve(A, B)``, ``kron(A, B)`` and ``matrix_power(X, k)``."""
        name = node.text
        if len(node.children) != 2:
            self.shape_error(node, f"{name} takes two arguments, got {len(node.children)}")
        a, b = (self.infer(c) for c in node.children)
        if signature == "matrix_power":
            for d in b:
                self.unify(node, d, 1, lambda: f"the exponent of matrix_power must be an integer, got {self.text(b)}")
            self.unify(node, a[0], a[1], lambda: f"matrix_power needs a square matrix, got {self.text(a)}")
            return a
        if signature == "solve":
            self.unify(node, a[0], a[1], lambda: f"solve(A, B) needs a square A, got {self.text(a)}")
            self.unify(node, a[1], b[0], lambda: (
                f"solve(A, B): A is {self.text(a)} and B {self.text(b)}; B needs as many rows as A"))
            return (a[0], b[1])
        dims = [self.unifier.find(d) for d in (*a, *b)]
        if any(isinstance(d, DimVar) for d in dims):   # (no claim is wrong for it: it is not read)
            raise ParseError("kron needs the shapes of its arguments: a bare I or 1 in a Kronecker product has no "
                             "size to read (write I_n, or declare the names)", self.source, node.pos)
        return (E._dim_product(dims[0], dims[2]), E._dim_product(dims[1], dims[3]))

    def decide_diag(self, node, shape, _, final):
        r, c = shape
        if self.is_one(c):
            return (r, r)
        if self.is_one(r):
            return (c, c)
        if self.known(shape) or self.unifier.find(r) is self.unifier.find(c) or final:
            # by default a non-vector argument is a square matrix, and diag gives its diagonal
            self.unify(node, r, c, lambda: f"diag needs a vector or a square matrix, got {self.text(shape)}")
            return (r, 1)
        return None

    def infer_matlab_call(self, node: Node):
        name = node.text
        if name in ("vector", "matrix"):   # vector(1): a vector of ones, sized by where it is used
            if len(node.children) != 1 or node.children[0].kind != "num":
                self.shape_error(node, f"{name}(c) takes one number: {name}(1) is all ones")
            key = ("constant", name, id(node))
            self.inferred[key] = (self.fresh("n"), 1 if name == "vector" else self.fresh("m"))
            return self.inferred[key]
        if len(node.children) != 1:
            self.shape_error(node, f"{name} takes one argument, got {len(node.children)}")
        shape = self.infer(node.children[0])
        if name == "tr":
            self.unify(node, shape[0], shape[1], lambda: f"tr needs a square matrix, got {self.text(shape)}")
        return SCALAR

    def dims_shape(self, node: Node):
        dims = []
        for c in node.children:
            if c.kind == "num" and c.text.isdigit():
                dims.append(parse_dim(c.text))
            elif c.kind == "name":
                dims.append(parse_dim(c.text))
            else:
                self.shape_error(c, f"{node.text} takes dimensions (names or integers)")
        if node.text == "eye":
            if len(dims) != 1:
                self.shape_error(node, "eye takes one dimension: eye(n)")
            return (dims[0], dims[0])
        if len(dims) not in (1, 2):
            self.shape_error(node, "ones takes one or two dimensions: ones(n) or ones(n, m)")
        return (dims[0], dims[1] if len(dims) == 2 else 1)

    # -- pass 2: construction -----------------------------------------------------------------
    def resolved(self, shape, dims: dict | None = None):
        """The concrete shape of an inferred one; ``dims`` renames dimensions (rule instances)."""
        r, c = self.unifier.resolve(shape)
        if dims:
            r, c = dims.get(r, r), dims.get(c, c)
        if isinstance(r, DimVar) or isinstance(c, DimVar):
            raise MatcalcError("internal: a dimension is still unknown after inference")
        return (r, c)

    def construct(self, node: Node, scope: Scope | None = None) -> E.Expr:
        """The canonical expression of ``node`` (after ``infer``)."""
        scope = scope or Scope(self.variables)
        try:
            return self._construct(node, scope)
        except ShapeError as err:
            if err.position is None:
                raise ShapeError(err.message, self.source, node.pos) from None
            raise

    def _construct(self, node: Node, scope: Scope) -> E.Expr:
        kind = node.kind
        if kind == "num":
            return E.const(_number(node.text))
        if kind == "name":
            return self.construct_name(node, scope)
        if kind == "call" and self.syntax == "matlab" and node.text in MATLAB_NAMES:
            return self.construct_matlab_call(node, scope)
        if kind == "call" and node.text not in self.extensions and FUNCTIONS[node.text].signature == "dims":
            shape = self.dims_shape(node)
            return E.eye(shape[0]) if node.text == "eye" else E.ones(shape)
        if kind == "binop" and node.text in _CHAINS:
            return self.construct_chain(node, scope)
        args = [self._construct(c, scope) for c in node.children]
        try:
            if kind == "neg":
                return E.neg(args[0])
            if kind == "T":
                return E.transpose(args[0])
            if kind == "binop":
                return self.construct_binop(node, args)
            if node.text in self.extensions:
                return scope.hooks[node.text](args, node) if node.text in scope.hooks \
                    else self.extensions[node.text].build(args, node)
            function = FUNCTIONS[node.text]
            if function.binary:
                return function.build(*args)
            axis = node.axis
            if axis is None and self.softmax_axis is not None and node.text in ("softmax", "log_softmax") \
                    and 1 not in args[0].shape:   # softmax(X W) in a claim about f's softmax(X W, axis=1)
                axis = self.softmax_axis
                warnings.warn(ReadingWarning(f"{node.text} of a matrix is read along axis {axis}, as f takes it"),
                              stacklevel=_caller_level())
            return function.build(args[0], axis=axis) if axis is not None else function.build(args[0])
        except ShapeError as err:
            if err.position is not None:
                raise
            raise ShapeError(err.message, self.source, node.pos) from None

    def construct_chain(self, node: Node, scope: Scope) -> E.Expr:
        """A chain ``a + b − c + …`` (or ``a * b * …``, ``A @ B @ …``) built by one call of its
        constructor: a sum of n terms is put in canonical form once, not at each of its n
        operators (which would cost n²); the chain is walked without recursion."""
        build = _CHAINS[node.text]
        links = []
        while node.kind == "binop" and _CHAINS.get(node.text) is build:
            links.append(node)
            node = node.children[0]
        links.reverse()
        operands = [self._construct(node, scope)]
        for link in links:
            operand = self._construct(link.children[1], scope)
            operands.append(E.neg(operand) if link.text == "sub" else operand)
        try:
            return build(*operands)
        except ShapeError as err:
            raise self.locate(err, build, links, operands) from None

    def locate(self, err: ShapeError, build, links: list, operands: list) -> ShapeError:
        """The error of the first operator of a chain at which its operands stop fitting."""
        value = operands[0]
        for link, operand in zip(links, operands[1:]):
            try:
                value = build(value, operand)
            except ShapeError as pairwise:
                return ShapeError(pairwise.message, self.source, link.pos)
        return ShapeError(err.message, self.source, links[-1].pos)

    def construct_binop(self, node: Node, args) -> E.Expr:
        op = node.text
        if op in _JUXTAPOSED:
            decision = self.decisions.get(id(node))
            if decision == "inner":   # a · b of two columns (or rows): aᵀ b (a bᵀ)
                a, b = args
                return E.matmul(E.transpose(a), b) if a.shape[1] == 1 else E.matmul(a, E.transpose(b))
            return E.matmul(*args) if decision == "matmul" else E.mul(*args)
        if op == "mpower":
            if self.decisions.get(id(node)) == "power":
                return E.power(*args)
            return _matrix_power(args[0], args[1], node, self.source)
        return _BINARY[op](args[0], args[1])

    def construct_name(self, node: Node, scope: Scope) -> E.Expr:
        name = node.text
        if name in scope.variables:
            return scope.variables[name]
        if name in self.constants:
            shape = self.resolved(self.inferred[("constant", name, id(node))], scope.dims)
            return E.eye(shape[0]) if name == "I" else E.ones(shape)
        raise UnknownNameError(f"unknown name {name!r}", self.source, node.pos)


    def construct_matlab_call(self, node: Node, scope) -> E.Expr:
        name = node.text
        if name in ("vector", "matrix"):
            shape = self.resolved(self.inferred[("constant", name, id(node))], scope.dims)
            return E.mul(E.const(_number(node.children[0].text)), E.ones(shape))
        arg = self._construct(node.children[0], scope)
        if name == "tr":
            return E.trace(arg)
        return E.sum_all(E.function("abs", arg))   # norm1


def _matrix_power(base: E.Expr, exponent: E.Expr, node: Node, source: str) -> E.Expr:
    if exponent.op != "const" or getattr(exponent.data, "denominator", 0) != 1:
        raise ShapeError("a matrix power needs an integer exponent; use .^ for an elementwise power",
                         source, node.pos)
    return E.matpow(base, int(exponent.data))


def naming_convention(name: str) -> str:
    """The kind an undeclared name gets: ``matrix``, ``vector`` or ``scalar``."""
    base = re.sub(r"[_0-9]+$", "", name)
    if name[:1].isupper():
        return "matrix"
    if base in SCALAR_NAMES or (base.startswith("δ")):
        return "scalar"
    return "vector"


SCALAR_NAMES = frozenset({
    "alpha", "beta", "gamma", "delta", "epsilon", "eps", "zeta", "eta", "theta", "kappa", "lam",
    "lambda", "lmbda", "mu", "nu", "xi", "rho", "sigma", "tau", "phi", "chi", "psi", "omega",
    "lr", "reg", "scale", "temp", "temperature", "bias_scalar", "c0"})
MATLAB_NAMES = frozenset({"tr", "norm1", "vector", "matrix"})


class Scope:
    """What names mean while constructing: variables, renamed dims, and hooks for extensions."""

    def __init__(self, variables: dict, dims: dict | None = None, hooks: dict | None = None):
        self.variables = variables
        self.dims = dims
        self.hooks = hooks or {}


@functools.lru_cache(maxsize=4096)   # the rules' right sides read the same few literals again and again
def _number(text: str):
    """The value of a number literal: exact for plain decimals (``0.1`` is 1/10), within the
    constant budget (``numbers``); a literal beyond the float range, or one that is not 0 but
    rounds to 0, is a ``LimitError``."""
    mantissa, _, exponent = text.lower().partition("e")
    if not mantissa.replace(".", "").strip("0"):
        return Fraction(0)
    if not exponent and len(mantissa) <= MAX_EXACT_DIGITS:
        return num.normal(Fraction(text), _short(text))   # exact: 0.1 is 1/10
    # float() is correctly rounded for any number of digits; a huge exponent is not computed
    value = float(text) if len(exponent.lstrip("+-").lstrip("0")) <= 6 else \
        (0.0 if exponent.startswith("-") else math.inf)
    if math.isinf(value):
        raise LimitError(f"the number {_short(text)} is beyond the float range (about ±1.8e308)")
    if value == 0:
        raise LimitError(f"the number {_short(text)} is too small for a float (it rounds to 0)")
    return num.to_number(value) if exponent else value


def _read(source: str, syntax: str, variables: dict, guess_case: bool = False, fixed=frozenset(),
          context=None, by: str | None = None) -> tuple:
    """``(reading, whether the LaTeX reader read it)``: a ``parse_latex.Reading`` (the tree, the
    text its positions are in, the variable a LaTeX left side names and the indices of the entry
    it names). Where the numpy reader stops at a unicode character (``xᵀ A x``, ``σ(W x) ⊙ h``,
    ``‖x‖²``), the text is read as matcalc's text form."""
    from .parse_latex import Reading, read_latex
    if syntax in ("latex", "text"):   # (the text form is read as the LaTeX it stands for)
        sizes = {name for name, v in variables.items() if getattr(v, "op", None) == "dim"}
        with warnings.catch_warnings(record=True) as caught:   # (kept only where the LaTeX is read)
            warnings.simplefilter("always")
            try:
                reading = read_latex(source, variables.keys(), guess_case, _shapes(variables), fixed, context, by,
                                     sizes)
            except ParseError as err:
                failed = err
            else:
                failed = None
        if failed is None:
            for caught_warning in caught:
                warnings.warn(caught_warning.message, stacklevel=_caller_level())
            return reading, True
        numpy, by = _numpy_in_latex(source) or (None, None)
        try:
            tree = parse(numpy, "numpy") if numpy is not None else None
        except ParseError:
            tree = None
        if tree is None:
            raise failed from None
        warnings.warn(ReadingWarning(f"{numpy.strip()} is read in numpy syntax"), stacklevel=_caller_level())
        return Reading(tree, numpy, by, order=1 if by else None), False
    try:
        return Reading(parse(source, syntax), source, None), False
    except ParseError as err:
        if syntax != "numpy" or source.isascii():
            raise
        try:
            return read_latex(source, variables.keys(), shapes=_shapes(variables)), True
        except ParseError:
            raise err from None


def _numpy_in_latex(source: str):
    """``(the right side, the variable its left side is by)`` of a claim that is a plain left side in
    LaTeX and one side of numpy code (``\\nabla_w f = 2 * X.T @ (X @ w - y)``), if it is that and
    nothing else (no chain, no definition, no words, no comparison, no left side by Xᵀ, of a
    second order or at a point); ``(the code, None)`` for the code alone."""
    text = source.strip().strip("$").strip()
    sides = text.split("=")
    if len(sides) > 2 or re.search(r"[$;\n<>!]|==|\\quad|\\text", text):
        return None
    last = sides[-1]
    if "\\" in last or not re.search(r"@|\.T\b|\*\*", last):
        return None
    left = sides[0].strip() if len(sides) == 2 else ""
    if not left:
        return last, None
    m = _LEFT_SIDE.fullmatch(left)
    return (last, m.group("by") or m.group("by2")) if not left or m else None


# a plain left side before a numpy right side (the variable it is by): \nabla_w f, \frac{\partial f}{\partial w}
_LEFT_SIDE = re.compile(r"\\nabla\s*_\s*\{?\s*(?P<by>[A-Za-z][A-Za-z0-9]*)\s*\}?"
                        r"\s*(?:[A-Za-z]+\s*(?:\(\s*[A-Za-z]+\s*\))?)?"
                        r"|\\frac\s*\{\s*\\partial\s*[A-Za-z]+\s*\}\s*\{\s*\\partial\s*(?P<by2>[A-Za-z][A-Za-z0-9]*)\s*\}")


def claim_steps(source: str, variables: dict, syntax: str, context=None) -> tuple:
    """The sides of a LaTeX claim between its left side and its last one (``\\nabla_x f = 2Ax =
    (A + A^T) x``: ``("2Ax",)``), as written: steps of the derivation that ``verify`` also judges."""
    if syntax not in ("latex", "text"):
        return ()
    return _read(source, syntax, {**_sizes_as_scalars(variables), **variables}, guess_case=True,
                 context=context)[0].steps




def _sizes_as_scalars(variables: dict) -> dict:
    """In LaTeX, a dimension's name that is no variable is its size (``\\frac{1}{N}`` beside ``X`` of
    N×D): name -> the size as a scalar."""
    dims = {d for v in variables.values() if isinstance(v, E.Expr) for d in v.shape if isinstance(d, str)}
    return {d: E.dim_value(d) for d in sorted(dims) if d not in variables and re.fullmatch("[A-Za-z]+", d)}


def _shapes(variables: dict) -> dict:
    """The shapes of the names in scope (variables, stages, sizes), for the LaTeX reader."""
    return {name: v.shape for name, v in variables.items() if hasattr(v, "shape")}


def guess_syntax(source: str) -> str:
    """The notation ``source`` is most likely written in: ``"latex"`` (a backslash command, or a
    brace after ``^`` or ``_``), ``"matlab"`` (``.*``, ``./``, ``.^``, a transpose ``x'``, or ``^``
    and ``*`` without ``@`` or ``**``), ``"text"`` (matcalc's unicode: ``xᵀ``, ``⊙``, ``‖``), else
    ``"numpy"``."""
    if re.search(r"\\[A-Za-z|{]|[\^_]\{", source):
        return "latex"
    if "@" in source or "**" in source or ".T" in source:
        return "numpy"
    if re.search(r"\.[*/^]|[A-Za-z0-9)\]]'|\^", source):
        return "matlab"
    if re.search("[ᵀ⊙⊘‖σ∘⁻²³𝟏−]", source):
        return "text"
    return "numpy"


def has_matrix_operations(tree: Node, variables: dict) -> bool:
    """Whether ``tree`` has a matrix operation (``@``, a transpose, a reduction, a matrix function),
    a declared variable that is not a scalar or a name written as a matrix (uppercase); without
    one, undeclared names are scalars
    (``3*(a + b*c)``, ``(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)``)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.kind == "T" or node.kind == "binop" and node.text in ("matmul", "mpower"):
            return True
        if node.kind == "call" and (node.text not in FUNCTIONS or FUNCTIONS[node.text].signature != "elementwise"):
            return True
        if node.kind == "name" and (variables[node.text].shape != SCALAR if node.text in variables
                                    else naming_convention(node.text) == "matrix"):
            return True   # a declared matrix or vector, or a name written as a matrix (A)
    return False


def _caller_level() -> int:
    """The ``stacklevel`` of the first caller outside matcalc (a warning points at the user's line)."""
    import os
    import sys
    here = os.path.dirname(__file__)
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(here):
        frame, level = frame.f_back, level + 1
    return level


def _elementwise_where_matmul_fits(tree: Node, builder: Builder) -> list:
    """The ``*`` of a row or column with a matrix (or a row with a column) where ``@`` would fit
    the shapes: ``x.T * A``, ``A * x``, ``x * x.T``."""
    found = []
    stack = [tree]
    while stack:
        node = stack.pop()
        stack.extend(node.children)
        if node.kind != "binop" or node.text != "mul":
            continue
        a, b = (builder.resolved(builder.shapes[id(c)]) for c in node.children)
        if a == SCALAR or b == SCALAR or a == b:
            continue
        if a[1] == b[0] and (1 in a or 1 in b):
            found.append(node)
    return found


def _short(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}…{text[-10:]} ({len(text)} characters)"


_JUXTAPOSED = ("mtimes", "cdot", "period", "star")   # LaTeX's products: by shapes, a scaling or a matrix product

_CHAINS = {"add": E.add, "sub": E.add, "mul": E.mul, "matmul": E.matmul}   # associative: built at once

_BINARY = {
    "mrdivide": E.divide,
    "add": E.add,
    "sub": lambda a, b: E.add(a, E.neg(b)),
    "mul": E.mul,
    "div": E.divide,
    "matmul": E.matmul,
    "pow": E.power,
}

from .index_notation import has_index_notation, matrix_form  # noqa: E402  (it builds parse.Node trees)
from .ops import FUNCTIONS  # noqa: E402  (ops imports expr only)

FUNCTION_NAMES = frozenset(FUNCTIONS)


def build_expression(source: str, variables: dict, syntax: str = "numpy", infer: bool = True,
                     derivative_by: str | None = None, shape=None, scalars: bool | None = None,
                     softmax_axis: int | None = None, jacobian: bool = False, fixed=frozenset(),
                     order: int | None = None, context: E.Expr | None = None) -> E.Expr:
    """Parse ``source`` and build it with the given variables (name -> Expr). Undeclared names
    get their shapes by inference (see ``Builder``) unless ``infer=False``; ``shape`` gives the
    dims the text leaves open (a bare ``I``, ``c 𝟏``); ``scalars``: whether undeclared lowercase
    names are scalars (by default: when the expression has no matrix operation; a program decides
    it once for all its lines); ``softmax_axis``: the axis a softmax of a matrix written without one
    is over (a claim about a function that takes its softmax so; a ``ReadingWarning``). In LaTeX a
    left side (``\\nabla_X f = …``) that names another variable than ``derivative_by`` is an error;
    one by ``X^\\top`` makes the claim the transpose of the gradient by X, unless the claim is a
    ``jacobian`` (∂y/∂xᵀ is the Jacobian as matcalc writes it). ``fixed``: names that a LaTeX
    definition after the claim may not give a value (the function's variables). ``order``: the
    derivative's order, which a left side that names one (``f'(t) =``, ``\\nabla^2 f =``) must match.
    ``context``: the function a LaTeX claim is about (an undefined ``p(\\mathbf{a})`` is its one part
    that is a function of a alone)."""
    if syntax in ("latex", "text"):
        variables = {**_sizes_as_scalars(variables), **variables}
    reading, as_latex = _read(source, syntax, variables, guess_case=not infer, fixed=fixed, context=context,
                              by=derivative_by)
    tree, source, label = reading.tree, reading.text, reading.label
    if as_latex and (reading.indices or has_index_notation(tree)):
        tree = matrix_form(tree, variables, source, reading.indices)
        if reading.row:   # a matrix written as one row of entries: the column of them, transposed
            tree = Node("T", tree.pos, "'", [tree])
    if reading.by_transpose and not jacobian:   # ∂f/∂Xᵀ of a scalar f: the transpose of ∂f/∂X
        tree = Node("T", tree.pos, "'", [tree])
    if reading.of_transpose and jacobian:   # ∂yᵀ/∂x: the Jacobian's transpose (the denominator layout)
        tree = Node("T", tree.pos, "'", [tree])
    if order is not None and reading.order is not None and reading.order != order:
        raise MatcalcError(f"the left side is a {'first' if reading.order == 1 else 'second'} derivative, but the "
                           f"{'gradient or Jacobian' if order == 1 else 'Hessian'} is asked for (order={order})")
    if derivative_by is not None and label is not None and label != derivative_by:
        raise MatcalcError(f"the claim is written as the derivative w.r.t. {label}, "
                           f"but the derivative asked for is w.r.t. {derivative_by}")
    constants = frozenset({"I", "onecol"}) - variables.keys() if as_latex else frozenset()
    builder = Builder(source, variables, unknown="infer" if infer else "error", conventions=True,
                      syntax=syntax, constants=constants)
    builder.scalars_by_default = not has_matrix_operations(tree, variables) if scalars is None else scalars
    builder.softmax_axis = softmax_axis
    builder.run(tree, shape)
    inferred = {name: E.variable(name, builder.resolved(shape)) for name, shape in builder.inferred.items()
                if isinstance(name, str)}
    built = builder.construct(tree, Scope({**variables, **inferred} if inferred else variables))
    if syntax == "numpy":
        for node in _elementwise_where_matmul_fits(tree, builder):
            warnings.warn(NotationWarning(
                f"'*' multiplies elementwise, broadcasting {builder.text(builder.shapes[id(node.children[0])])} "
                f"and {builder.text(builder.shapes[id(node.children[1])])}; the matrix product is '@'"
                f"\n  {source}\n  {' ' * node.pos}^"), stacklevel=_caller_level())
    if shape is not None and E.is_zero(built) and built.shape != tuple(shape):   # a bare 0 of that shape
        return E.zero(tuple(shape))
    return built
