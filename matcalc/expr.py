"""Expressions: immutable, interned nodes whose shapes are checked at construction.

Every node is a matrix with a shape ``(rows, cols)`` (see ``shapes``); a scalar is ``1×1``.
Nodes are interned: building the same expression twice gives the same object, so equality is
identity and shared subexpressions are shared in memory.

The constructors below (``add``, ``mul``, ``matmul``, ``transpose``, ``power``, ...) return
expressions in a canonical form, which is what makes like terms meet:

- sums and Hadamard products are flat and sorted; like terms are collected (``A x + 2 A x`` ->
  ``3 A x``) and equal Hadamard bases collect their exponents (``x ⊙ x⁻¹`` -> ``1``);
- numeric constants are exact ``Fraction``s where possible and are folded;
- matrix products are flat, without identities, and their scalar (``1×1``) segments are pulled
  out as factors: ``a bᵀ c dᵀ`` -> ``(bᵀ c) a dᵀ``; a ``1×1`` product is written the way round
  with fewer transposes;
- transposes sit on the leaves: ``(A B)ᵀ`` -> ``Bᵀ Aᵀ``; ``Sᵀ`` -> ``S`` for a symmetric ``S``;
- traces are rotated to a canonical cyclic order; ``tr(u vᵀ)`` -> ``vᵀ u``.

``mul`` is the elementwise (Hadamard) product, which also covers scaling by a scalar;
``matmul`` is the matrix product.
"""
from __future__ import annotations

import bisect
import collections
import hashlib
import math
import numbers
import re
import threading
import weakref
from fractions import Fraction

from . import numbers as num
from .errors import LimitError, MatcalcError, NotSupportedError, ShapeError
from .limits import guarded
from .shapes import SCALAR, broadcast, broadcast_all, shape_text

# The interning table: key -> weak reference to the node. A node lives as long as someone holds
# it (an expression, a result, a rule); then its entry goes too, so a long-running process does
# not grow with the number of expressions it has seen. Keys hold no nodes (see ``_node``).
# Creation is under a lock, so that two threads building the same expression get the same object.
_TABLE: dict = {}
_LOCK = threading.RLock()   # re-entrant: a weak-reference callback may run while it is held
# The most recently made nodes are held here, a bounded number, so that what a program builds
# again and again (an expression in a loop, the same derivation twice) is found, not remade.
RECENT = 8192
_RECENT: collections.deque = collections.deque(maxlen=RECENT)
SELF = object()            # a memo slot's value for "the node itself" (no reference cycle)

# Sort rank of each operation: decides the canonical (and printed) order of operands.
_RANK = {"const": 0, "dim": 0, "var": 1, "T": 2, "eye": 3, "ones": 3, "zero": 3, "commutation": 3, "lower_half": 3,
         "fn": 4,
         "pow": 5, "matmul": 6, "mul": 7, "add": 8}
_LEAVES = frozenset({"var", "T", "eye", "ones", "zero", "dim", "commutation", "lower_half", "dof"})


class Expr:
    """A node of an expression tree. Build them with the constructors or Python operators."""

    __slots__ = ("op", "args", "shape", "data", "_key", "_vars", "_top", "_head", "_first", "_digest", "depth",
                 "_transposed", "_marks", "_simplified", "__weakref__")

    op: str
    args: tuple
    shape: tuple
    data: object

    # -- identity -----------------------------------------------------------------------
    def __reduce__(self):
        return (_rebuild_pickled, (self.op, self.args, self.shape, self.data))

    @property
    def key(self) -> tuple:
        """A total order on expressions, used to sort the operands of commutative operations."""
        return self._key

    @property
    def free_vars(self) -> frozenset:
        """The variables (``op == "var"``) this expression contains."""
        return self._vars

    def depends_on(self, variable: Expr) -> bool:
        return variable in self.free_vars

    @property
    def is_scalar(self) -> bool:
        return self.shape == SCALAR

    @property
    def name(self) -> str:
        if self.op != "var":
            raise AttributeError("only variables have a name")
        return self.data[0]

    @property
    def props(self) -> frozenset:
        return self.data[1] if self.op == "var" else frozenset()

    # -- numpy-style operators (entry points: guarded like derive, see ``limits``) ----------
    @guarded
    def __add__(self, other):
        return add(self, as_expr(other))

    @guarded
    def __radd__(self, other):
        return add(as_expr(other), self)

    @guarded
    def __sub__(self, other):
        return add(self, neg(as_expr(other)))

    @guarded
    def __rsub__(self, other):
        return add(as_expr(other), neg(self))

    @guarded
    def __mul__(self, other):
        return mul(self, as_expr(other))

    @guarded
    def __rmul__(self, other):
        return mul(as_expr(other), self)

    @guarded
    def __truediv__(self, other):
        return divide(self, as_expr(other))

    @guarded
    def __rtruediv__(self, other):
        return divide(as_expr(other), self)

    @guarded
    def __pow__(self, other):
        return power(self, as_expr(other))

    @guarded
    def __rpow__(self, other):
        return power(as_expr(other), self)

    @guarded
    def __matmul__(self, other):
        return matmul(self, as_expr(other, "@"))

    @guarded
    def __rmatmul__(self, other):
        return matmul(as_expr(other, "@"), self)

    @guarded
    def __neg__(self):
        return neg(self)

    def __pos__(self):
        return self

    @property
    @guarded
    def T(self) -> Expr:
        return transpose(self)

    __array_ufunc__ = None  # numpy arrays must not swallow expressions in mixed operations

    def __bool__(self):
        raise MatcalcError("an expression has no truth value; compare numbers from to_numpy() instead")

    def __getitem__(self, index):
        raise NotSupportedError("an expression cannot be indexed or sliced (matcalc has no indexing); "
                                "index the arrays that to_numpy() returns instead")

    def __iter__(self):
        raise NotSupportedError("an expression is not a sequence: it cannot be iterated over")

    def __len__(self):
        raise NotSupportedError(f"an expression has no len(); its shape is {shape_text(self.shape)} (.shape)")

    # -- output ----------------------------------------------------------------------------
    @guarded
    def __str__(self):
        from .printing.text import to_text
        return to_text(self)

    def __repr__(self):
        return f"<matcalc {shape_text(self.shape)}: {self}>"

    @guarded
    def latex(self) -> str:
        from .printing.latex import to_latex
        return to_latex(self)

    def _repr_latex_(self):
        return f"${self.latex()}$"

    def to_numpy(self):
        """A numpy function of the variables (keyword arguments by name) that evaluates this."""
        from .printing.numpy import compile_numpy
        return compile_numpy(self)


def _rebuild_pickled(op, args, shape, data):
    """Unpickling goes through the constructors, so a node pickled by another process (another
    hash seed, another version) comes back in this process's canonical form."""
    builder = _BUILDERS.get(op)
    return builder(args, data) if builder is not None and args else _node(op, args, shape, data)


class _Ref(weakref.ref):
    """A weak reference to an interned node that knows its table key."""
    __slots__ = ("key",)

    def __new__(cls, node, key):
        ref = super().__new__(cls, node, _forget)
        ref.key = key
        return ref

    def __init__(self, node, key):
        super().__init__(node, _forget)


def _forget(ref: _Ref):
    """The node of ``ref`` is gone: drop its entry (unless a new node took the key meanwhile)."""
    with _LOCK:
        if _TABLE.get(ref.key) is ref:
            del _TABLE[ref.key]


def _node(op: str, args: tuple, shape: tuple, data=None) -> Expr:
    # the operands by identity: a key must not hold them (a memo on an operand that points to
    # its parent would then keep both alive through the table). A live node holds its operands,
    # and its entry goes before they can, so an identity here always means the same operand.
    key = (op, tuple(map(id, args)), shape, data)
    ref = _TABLE.get(key)
    node = ref() if ref is not None else None
    if node is None:
        with _LOCK:   # check again: another thread may have made it meanwhile
            ref = _TABLE.get(key)
            node = ref() if ref is not None else None
            if node is None:
                node = _make(op, args, shape, data)
                _TABLE[key] = _Ref(node, key)
                _RECENT.append(node)
    return node


def _make(op: str, args: tuple, shape: tuple, data) -> Expr:
    node = object.__new__(Expr)
    node.op = op
    node.args = args
    node.shape = shape
    node.data = data
    node._transposed = node._marks = node._simplified = None   # memos, filled on demand
    # computed once, from the operands' (which exist already): no recursion on deep trees.
    # The sort key looks two levels down, then at the first variable name and a digest of the
    # whole structure, so that comparing keys costs the same at any depth. Both depend on the expression alone (never
    # on the order of a set, which changes with PYTHONHASHSEED).
    sort_data = data
    if op == "var":
        sort_data = (data[0], tuple(sorted(data[1])))
    elif op == "const":
        sort_data = float(data)
    top = node._top = (_RANK.get(op, 9), op, sort_data)
    if op == "var":
        prefix = repr((op, sort_data, shape)).encode()
    else:   # operations repeat their (op, data, shape): made once (a sum of 10,000 products: 3 prefixes)
        prefix = _PREFIXES.get((op, data, shape))
        if prefix is None:
            prefix = repr((op, data, shape)).encode()
            if len(_PREFIXES) < MAX_PREFIXES:
                _PREFIXES[(op, data, shape)] = prefix
    if args:
        heads = tuple([a._head for a in args])
        node._head = top + (tuple([a._top for a in args]),)
        # the operands' digests have a fixed length: their concatenation is unambiguous
        node._digest = hashlib.blake2b(prefix + b"".join([a._digest for a in args]), digest_size=12).digest()
        node.depth = 1 + max([a.depth for a in args])
        node._vars = args[0]._vars if len(args) == 1 else frozenset().union(*[a._vars for a in args])
    else:
        heads = ()
        node._head = top + ((),)
        node._digest = hashlib.blake2b(prefix, digest_size=12).digest()
        node.depth = 1
        node._vars = frozenset((node,)) if op == "var" else _NO_VARIABLES
    # ties two levels down are broken by the first variable name inside (in natural order: e2
    # before e10), then by the digest
    if op == "var":
        node._first = _natural(data[0])
    else:
        node._first = min([a._first for a in args if a._first], default=())
    node._key = top + (heads, (str(shape[0]), str(shape[1])), node._first, node._digest)
    return node


_NO_VARIABLES = frozenset()
_PREFIXES: dict = {}     # (op, data, shape) -> the bytes its digest starts with
MAX_PREFIXES = 100_000   # (a bound: the shapes of one long session)
_ZERO, _ONE = Fraction(0), Fraction(1)   # (Fractions are immutable: shared, not made per call)
_DIGITS = re.compile(r"([0-9]+)")


def _natural(name: str) -> tuple:
    """A sort key for a name that orders its numbers by value (``W2`` before ``W10``): text and
    numbers alternate, text first, so keys of two names always compare part by part."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(_DIGITS.split(name)))


def live_nodes() -> int:
    """How many distinct expression nodes exist now (the size of the interning table)."""
    return len(_TABLE)


def clear_caches():
    """Let go of the recently made nodes and clear the memos kept on live nodes (transposes,
    simplified forms): what no one else holds is then freed, and the next derivation starts
    from scratch (for benchmarks that time first derivations, and tests of memory)."""
    _RECENT.clear()
    with _LOCK:
        refs = list(_TABLE.values())
    for ref in refs:
        node = ref()
        if node is not None:
            node._transposed = node._marks = node._simplified = None


def memo_get(node: Expr, slot: str):
    """The memo ``slot`` of ``node`` (``None`` when not computed yet)."""
    hit = getattr(node, slot)
    return node if hit is SELF else hit


def memo_set(node: Expr, slot: str, value: Expr):
    """Remember ``value`` in ``node``'s memo ``slot``; the memo lives and dies with the node."""
    setattr(node, slot, SELF if value is node else value)


def as_expr(value, context: str = "") -> Expr:
    if isinstance(value, Expr):
        return value
    if context == "@":
        raise ShapeError(f"'@' needs two matrices or vectors, got the number {value!r}; use '*' to scale")
    try:
        return const(value)
    except MatcalcError:
        if isinstance(value, numbers.Number):   # a number, but not one a constant can be: say why
            raise
        raise MatcalcError(
            f"cannot use {type(value).__name__} in an expression; make variables with "
            "mc.vector, mc.matrix or mc.scalar") from None


# ---------------------------------------------------------------------------------------
# Leaves
# ---------------------------------------------------------------------------------------

def variable(name: str, shape: tuple, props=frozenset()) -> Expr:
    return _node("var", (), shape, (name, frozenset(props)))


def const(value) -> Expr:
    if type(value) is int or (type(value) is Fraction and value.denominator == 1):
        hit = _SMALL_INTEGERS.get(int(value))
        if hit is not None:
            return hit
    return _node("const", (), SCALAR, num.to_number(value))


# the constants the rules make most (0, ±1, ±2), made once and held: found without hashing a Fraction
_SMALL_INTEGERS = {k: _node("const", (), SCALAR, Fraction(k)) for k in range(-2, 3)}


def zero(shape) -> Expr:
    return const(0) if shape == SCALAR else _node("zero", (), shape)


def ones(shape) -> Expr:
    return const(1) if shape == SCALAR else _node("ones", (), shape)


def eye(n) -> Expr:
    return const(1) if n == 1 else _node("eye", (), (n, n))


def dim_value(d) -> Expr:
    """The size ``d`` of a dimension as a scalar (``tr(I_n) = n``)."""
    return const(d) if isinstance(d, int) else _node("dim", (), SCALAR, d)


def is_const(e: Expr, value=None) -> bool:
    return e.op == "const" and (value is None or e.data == value)


def is_zero(e: Expr) -> bool:
    return e.op == "zero" or (e.op == "const" and e.data == 0)


def is_symmetric(e: Expr) -> bool:
    """Known symmetric from its properties (not by looking at values)."""
    if e.shape[0] != e.shape[1]:
        return False
    return transpose(e) is e


def is_positive(e: Expr) -> bool:
    """Known to have only positive entries."""
    if e.op == "var":
        return "positive" in e.data[1]
    if e.op == "const":
        return e.data > 0
    if e.op in ("ones", "dim"):
        return True
    if e.op == "fn":
        return e.data in ("exp", "sigmoid", "softplus", "cosh", "normcdf", "normpdf")
    if e.op == "softmax":
        return True
    if e.op == "pow":
        return is_positive(e.args[0])
    if e.op in ("mul", "add"):
        return all(is_positive(a) for a in e.args)
    if e.op == "T":
        return is_positive(e.args[0])
    if e.op == "norm2":
        return False
    return False


# ---------------------------------------------------------------------------------------
# Sums
# ---------------------------------------------------------------------------------------

def split_coefficient(e: Expr):
    """``(c, rest)`` with ``e = c · rest``, ``c`` a number; ``rest`` is ``None`` for a constant."""
    if e.op == "const":
        return e.data, None
    if e.op == "mul" and e.args[0].op == "const":
        rest = e.args[1:]
        return e.args[0].data, (rest[0] if len(rest) == 1 else _node("mul", rest, e.shape))
    return _ONE, e


def _term_order(e: Expr):
    c, rest = split_coefficient(e)
    if rest is None:
        return (c < 0, 0, ())
    return (c < 0, 2 if rest.op in _LEAVES else 1, rest.key)


def add(*terms) -> Expr:
    """The sum, with broadcasting: flat, like terms collected, sorted (see the module docstring)."""
    terms = [as_expr(t) for t in terms]
    if len(terms) == 1:   # a canonical expression is its own sum
        return terms[0]
    if len(terms) == 2:   # a sum built one term at a time, as Python's + and sum() do
        quick = _add_to_sum(*terms) if terms[0].op == "add" else _add_to_sum(*terms[::-1])
        if quick is not None:
            return quick
    shape = broadcast_all([t.shape for t in terms])
    if shape is None:
        raise ShapeError(f"cannot add {' and '.join(dict.fromkeys(shape_text(t.shape) for t in terms))}")
    flat = []
    for t in terms:
        flat.extend(t.args if t.op == "add" else (t,))
    constant = _ZERO
    coefficients: dict = {}
    order = []
    for t in flat:
        if is_zero(t):
            continue
        c, rest = split_coefficient(t)
        if rest is None or (rest.op == "ones" and rest.shape == shape):  # c·1 broadcast is the constant c
            constant = num.normal(constant + c, "a sum's constant term")
            continue
        if rest not in coefficients:
            coefficients[rest] = c
            order.append(rest)
        else:
            coefficients[rest] = num.normal(coefficients[rest] + c, "a sum's coefficient")
    out = [scale(coefficients[r], r) for r in order if coefficients[r] != 0]
    if constant != 0:
        out.append(const(constant))
    if not out:
        return zero(shape)
    if len(out) == 1:
        return _broadcast_to(out[0], shape)
    out.sort(key=_term_order)
    if all(t.shape != shape for t in out):   # the shape came from c·𝟏 or 0: keep it, (c − 1) 𝟏
        return _broadcast_sum(out, shape)
    return _node("add", tuple(out), shape)


def _add_to_sum(total: Expr, term: Expr):
    """``total + term`` for a canonical sum ``total`` and one more term of its shape, found by
    bisection among the sorted terms instead of re-sorting them all: with it, a sum built term
    by term costs little more than one built at once. ``None`` where the general case is needed
    (a constant, a sum, a term that cancels the last full-shaped one)."""
    if total.op != "add" or term.op == "add" or term.shape != total.shape or term.op in ("const", "zero", "ones"):
        return None
    c, rest = split_coefficient(term)
    if rest.op == "ones":
        return None
    args = list(total.args)
    for negative in (False, True):   # a like term, with either sign, sorts by (sign, kind, key)
        i = bisect.bisect_left(args, (negative, 2 if rest.op in _LEAVES else 1, rest.key), key=_term_order)
        if i < len(args) and split_coefficient(args[i])[1] is rest:
            c = num.normal(split_coefficient(args.pop(i))[0] + c, "a sum's coefficient")
            break
    if c != 0:
        new = scale(c, rest)
        bisect.insort(args, new, key=_term_order)
    if len(args) < 2 or all(a.shape != total.shape for a in args):
        return None
    return _node("add", tuple(args), total.shape)


def _broadcast_sum(terms: list, shape) -> Expr:
    """A sum none of whose terms has its shape: the smaller sum times ``𝟏``, so that every sum
    node has a term of its full shape (``sum``, ``tr``, ``ᵀ`` and rebuilding rely on it); an
    outer sum (a column plus a row) broadcasts each term."""
    covered = SCALAR
    for t in terms:
        covered = covered and broadcast(covered, t.shape)
    if covered is None:
        return _node("add", tuple(sorted((_broadcast_to(t, shape) for t in terms), key=_term_order)), shape)
    return mul(_node("add", tuple(terms), covered), ones(shape))


def _broadcast_to(e: Expr, shape) -> Expr:
    return e if e.shape == shape else mul(e, ones(shape))


def scale(c, e: Expr) -> Expr:
    if c == 1:
        return e
    return mul(const(c), e)


def neg(e: Expr) -> Expr:
    return mul(const(-1), e)


# ---------------------------------------------------------------------------------------
# Hadamard products and powers
# ---------------------------------------------------------------------------------------

# Order of the factors of a Hadamard product: scalars, leaves, products (an upstream signal),
# functions, sums: y ⊙ σ(X w), (W₂ᵀ δ) ⊙ σ(z) ⊙ (1 − σ(z)).
_FACTOR_RANK = {"var": 0, "T": 0, "matmul": 1, "fn": 2, "pow": 2, "add": 3, "dof": 4}


def _factor_order(e: Expr):
    base = e.args[0] if e.op == "pow" else e
    rank = _FACTOR_RANK.get(base.op, 2)
    if base.op == "var" and "differential" in base.data[1]:
        rank = 4   # the differential last: 2 x dx
    elif base.op == "var" and "intermediate" in base.data[1]:
        # a backward signal comes first, the name of a stage is a function value: δh ⊙ h ⊙ (1 − h)
        rank = 1 if base.data[0].startswith("δ") else 2
    return (0 if e.shape == SCALAR else 1, rank, base.key, e.key)


_NOT_PLAIN_FACTORS = frozenset({"const", "mul", "zero", "ones"})


def mul(*factors) -> Expr:
    """The elementwise (Hadamard) product, with broadcasting; scaling by a scalar included."""
    factors = [as_expr(f) for f in factors]
    if len(factors) == 2:
        c, other = factors if factors[0].op == "const" else factors[::-1]
        if c.op == "const" and other.op not in _NOT_PLAIN_FACTORS and c.data != 0 and c.data != 1:
            return _node("mul", (c, other), other.shape)   # c ⊙ e, e no product: (c, e) as it stands
        # a product built a few factors at a time (a chain rule, stage by stage)
        big, small = factors if len(factors[0].args) >= len(factors[1].args) else factors[::-1]
        quick = _mul_into_product(big, small)
        if quick is not None:
            return quick
    shape = broadcast_all([f.shape for f in factors])
    if shape is None:
        raise ShapeError(f"elementwise product of {' and '.join(dict.fromkeys(shape_text(f.shape) for f in factors))}: "
                         "shapes do not fit")
    flat = []
    for f in factors:
        flat.extend(f.args if f.op == "mul" else (f,))
    coefficient = _ONE
    exponents: dict = {}
    order = []
    for f in flat:
        if f.op == "const":
            coefficient = num.normal(coefficient * f.data, "a product's coefficient")
            continue
        if is_zero(f):
            return zero(shape)
        if f.op == "pow" and f.args[1].op == "const":
            base, e = f.args[0], f.args[1].data
        else:
            base, e = f, _ONE
        if base not in exponents:
            exponents[base] = e
            order.append(base)
        else:
            exponents[base] = num.normal(exponents[base] + e, "an exponent")
    if coefficient == 0:
        return zero(shape)
    rest = []
    for base in order:
        e = exponents[base]
        if e == 0:
            continue
        p = base if e == 1 else power(base, const(e))
        if p.op == "const":
            coefficient = num.normal(coefficient * p.data, "a product's coefficient")
        elif p.op == "mul":  # a power that distributed, e.g. (2x)² -> 4 x²
            for g in p.args:
                if g.op == "const":
                    coefficient = num.normal(coefficient * g.data, "a product's coefficient")
                else:
                    rest.append(g)
        else:
            rest.append(p)
    # ones are neutral where the other factors already have the full shape; where a cancelled
    # factor carried the shape (x ⊙ x⁻¹ ⊙ c), the ones keep it
    others = [f for f in rest if f.op != "ones"]
    covered = broadcast_all([f.shape for f in others]) if others else SCALAR
    rest = others if covered == shape else others + [ones(shape)]
    if not rest:
        return _broadcast_to(const(coefficient), shape) if coefficient != 1 or shape == SCALAR \
            else ones(shape)
    rest.sort(key=_factor_order)
    if coefficient != 1:
        rest.insert(0, const(coefficient))
    if len(rest) == 1 and rest[0].shape == shape:
        return rest[0]
    return _node("mul", tuple(rest), shape)


def add_within(shape, *terms) -> Expr:
    """The sum of ``terms``, parts of a sum of ``shape``: a column and a row alone, whose outer sum
    ``add`` refuses, are each taken broadcast to that shape (``c 𝟏ᵀ + 𝟏 r``)."""
    if broadcast_all([t.shape for t in terms]) is None:
        terms = [_broadcast_to(t, shape) for t in terms]
    return add(*terms)


def mul_within(shape, *factors) -> Expr:
    """The Hadamard product of ``factors``, the other operands of an elementwise product of
    ``shape``: columns and rows alone, whose broadcast product ``mul`` refuses, are their outer
    product (``c ⊙ r`` is ``c r``: ``c ⊙ r ⊙ D`` without ``D``); with a matrix among them, the 𝟏
    of that shape carries it."""
    if factors and broadcast_all([f.shape for f in factors]) is None:
        columns = [f for f in factors if f.shape[1] == 1 and f.shape != SCALAR]
        rows = [f for f in factors if f.shape[0] == 1 and f.shape != SCALAR]
        scalars = [f for f in factors if f.shape == SCALAR]
        if len(columns) + len(rows) + len(scalars) == len(factors):
            return mul(*scalars, matmul(mul(*columns), mul(*rows)))
        factors = (*factors, ones(shape))
    return mul(*factors) if factors else const(1)


def _mul_into_product(product: Expr, other: Expr):
    """``product ⊙ other`` for a canonical product and a few more factors whose bases it does not
    have yet (scalars or of its shape), each put in place by bisection (as ``_add_to_sum`` does
    for sums), so that a product built factor by factor costs little more than one built at
    once; ``None`` where the general case is needed (a base that is there already, a factor of
    ones or 0, a coefficient that cancels)."""
    if product.op != "mul" or (other.op == "mul" and len(other.args) > 4):
        return None
    args = list(product.args)
    coefficient = args.pop(0).data if args[0].op == "const" else _ONE
    if ones(product.shape) in args:
        return None
    for factor in other.args if other.op == "mul" else (other,):
        if factor.op == "const":
            coefficient = num.normal(coefficient * factor.data, "a product's coefficient")
            continue
        if factor.shape not in (product.shape, SCALAR) or factor.op in ("zero", "ones"):
            return None
        base = _base_of(factor)
        i = bisect.bisect_left(args, _factor_order(factor), key=_factor_order)
        if any(_base_of(args[j]) is base for j in (i - 1, i) if 0 <= j < len(args)):   # equal bases sort together
            return None
        args.insert(i, factor)
    if coefficient == 0 or (coefficient == 1 and len(args) == 1):
        return None
    head = [const(coefficient)] if coefficient != 1 else []
    return _node("mul", tuple(head + args), product.shape)


def _base_of(factor: Expr) -> Expr:
    return factor.args[0] if factor.op == "pow" and factor.args[1].op == "const" else factor


def divide(a: Expr, b: Expr) -> Expr:
    if b.op == "const" and b.data == 0:
        raise MatcalcError("division by the constant 0")
    return mul(a, power(b, const(-1)))


def power(base: Expr, exponent: Expr) -> Expr:
    """Elementwise power ``base ** exponent``; the exponent is a scalar. A power of two constants
    is folded within the constant budget (``numbers.power``: beyond floats, a ``LimitError``); a
    power of a product distributes over it unless a constant factor would not fit."""
    base, exponent = as_expr(base), as_expr(exponent)
    if exponent.shape != SCALAR:
        raise ShapeError(f"the exponent of '**' must be a scalar, got {shape_text(exponent.shape)}")
    if exponent.op != "const":
        if base.op == "const" and base.data == 1:
            return base
        return _node("pow", (base, exponent), base.shape)
    p = exponent.data
    if p == 0:
        return ones(base.shape)
    if p == 1:
        return base
    if base.op == "const":
        value = num.power(base.data, p)
        if value is not None:
            return const(value)
        if base.data == 0 and p < 0:
            raise MatcalcError("0 raised to a negative power")
    if base.op == "ones" or (base.op == "eye" and p > 0):
        return base
    if is_zero(base):
        if p < 0:
            raise MatcalcError("0 raised to a negative power")
        return base
    integer = num.is_integer(p)
    if base.op == "pow" and base.args[1].op == "const":
        inner = base.args[1].data
        if integer or (num.is_integer(inner) and inner % 2 == 1) or is_positive(base.args[0]):
            return power(base.args[0], const(inner * p))
    if base.op == "mul" and (integer or all(is_positive(f) for f in base.args)):
        try:
            return mul(*[power(f, exponent) for f in base.args])
        except LimitError:   # (2 x)²⁰⁰⁰: 2²⁰⁰⁰ is beyond floats, so the power stays as written
            pass
    return _node("pow", (base, exponent), base.shape)


# ---------------------------------------------------------------------------------------
# Matrix products
# ---------------------------------------------------------------------------------------

def _transpose_marks(chain) -> int:
    return sum(1 for f in chain if f.op == "T" or (f.op == "inv" and f.args[0].op == "T"))


def _scalar_chain(chain: list) -> Expr:
    """A ``1×1`` product, written the way round with fewer transposes (then by key); the other
    way round is made as a node only when the keys must decide."""
    backward_factors = [transpose(f) for f in reversed(chain)]
    if any(f.op == "matmul" for f in backward_factors):
        return _node("matmul", tuple(chain), SCALAR)
    ahead, behind = _orientation(chain), _orientation(backward_factors)
    if ahead != behind:
        return _node("matmul", tuple(chain if ahead < behind else backward_factors), SCALAR)
    # the keys of the two nodes would first differ in their operands' heads: compare those, and
    # make the node of the other way round only when they tie
    heads, back_heads = tuple(f._head for f in chain), tuple(f._head for f in backward_factors)
    if heads != back_heads:
        return _node("matmul", tuple(backward_factors if back_heads < heads else chain), SCALAR)
    forward = _node("matmul", tuple(chain), SCALAR)
    backward = _node("matmul", tuple(backward_factors), SCALAR)
    return backward if backward.key < forward.key else forward


def _orientation(chain) -> tuple:
    """Fewer transposes first; then a differential as far right as possible (xᵀ A dx)."""
    positions = [i for i, f in enumerate(chain) if "differential" in (f.args[0] if f.op == "T" else f).props]
    return (_transpose_marks(chain), -positions[0] if positions else 0)


# operations a matrix product looks into (flattening, scalars, zeros, identities, powers, ⊗)
_CHAIN_SPECIAL = frozenset(("matmul", "mul", "zero", "const", "eye", "kron", "matpow", "inv", "ones", "eigvecsh"))


def matmul(*factors) -> Expr:
    if len(factors) == 2:   # the common case of two plain factors: nothing to flatten or merge
        a, b = factors
        if isinstance(a, Expr) and isinstance(b, Expr) and a.op not in _CHAIN_SPECIAL \
                and b.op not in _CHAIN_SPECIAL and a.shape[1] == b.shape[0] != 1:
            shape = (a.shape[0], b.shape[1])
            return _scalar_chain([a, b]) if shape == SCALAR else _node("matmul", (a, b), shape)
    factors = [as_expr(f, "@") for f in factors]
    for a, b in zip(factors, factors[1:]):
        if a.shape[1] != b.shape[0]:
            raise ShapeError(
                f"matrix product of {shape_text(a.shape)} and {shape_text(b.shape)}: "
                f"inner dimensions {a.shape[1]} and {b.shape[0]} differ")
    shape = (factors[0].shape[0], factors[-1].shape[1])
    scalars = []
    chain = []
    pending = list(reversed(factors))
    while pending:
        g = pending.pop()
        if g.op == "matmul":
            pending.extend(reversed(g.args))
        elif g.op == "mul" and g.shape != SCALAR and any(a.shape == SCALAR for a in g.args):
            scalars.extend(a for a in g.args if a.shape == SCALAR)
            rest = [a for a in g.args if a.shape != SCALAR]
            pending.append(rest[0] if len(rest) == 1 else mul(*rest))
        else:
            chain.append(g)
    if any(is_zero(g) for g in chain) or any(is_zero(s) for s in scalars):
        return zero(shape)
    if len(chain) > 1 and all(g.op == "ones" for g in chain):   # 𝟏 𝟏ᵀ = 𝟏; 𝟏ᵀ 𝟏 = n: the inner sizes
        scalars.extend(dim_value(g.shape[1]) for g in chain[:-1])
        chain = [ones(shape)]
    if len(chain) > 1:
        chain = [g for g in chain if g.op != "eye"] or [chain[0]]
        chain = _merge_powers(_mixed_products(_cancel_orthogonal(chain)))
    # split at the interior dimensions equal to 1: the pieces between them are scalars
    dims = [chain[0].shape[0]] + [g.shape[1] for g in chain]
    ones_at = [i for i, d in enumerate(dims) if d == 1]
    if ones_at:
        first, last = ones_at[0], ones_at[-1]
        for a, b in zip(ones_at, ones_at[1:]):
            piece = chain[a:b]
            if piece:
                scalars.append(piece[0] if len(piece) == 1 else _scalar_chain(piece))
        chain = chain[:first] + chain[last:]
    if not chain:
        return mul(*scalars) if scalars else const(1)
    if len(chain) == 1:
        core = chain[0]
    else:
        core = _node("matmul", tuple(chain), (chain[0].shape[0], chain[-1].shape[1]))
    return mul(*scalars, core) if scalars else core


def _power_of(f: Expr) -> tuple:
    """``(X, k)`` with ``f = Xᵏ`` as a matrix power (``k = -1`` for ``X⁻¹``)."""
    if f.op == "matpow":
        return f.args[0], f.data
    if f.op == "inv":
        return f.args[0], -1
    return f, 1


def _merge_powers(chain: list) -> list:
    """Runs of one factor make a matrix power: ``X X X X`` -> ``X⁴``, ``X⁵ X`` -> ``X⁶``,
    ``X⁻¹ X⁻⁴`` -> ``X⁻⁵`` (a run keeps one sign: ``X X⁻¹`` is left to the simplification rules)."""
    runs: list = []   # [base, sign, members]
    for g in chain:
        base, k = _power_of(g)
        if runs and runs[-1][0] is base and runs[-1][1] == (k > 0):
            runs[-1][2].append(g)
        else:
            runs.append([base, k > 0, [g]])
    out = []
    for base, _, members in runs:
        total = sum(_power_of(g)[1] for g in members)
        if len(members) > 1 and (abs(total) >= MATPOW_FROM or any(g.op == "matpow" for g in members)):
            out.append(matpow(base, total))
        else:
            out.extend(members)
    return out


def _cancel_orthogonal(chain: list) -> list:
    """``V Vᵀ = Vᵀ V = I`` for the (square, orthonormal) eigenvectors ``V`` of a symmetric matrix."""
    out: list = []
    for g in chain:
        if out and (out[-1].op == "eigvecsh" and g.op == "T" and g.args[0] is out[-1]
                    or g.op == "eigvecsh" and out[-1].op == "T" and out[-1].args[0] is g):
            out.pop()
            continue
        out.append(g)
    return out or [eye(chain[0].shape[0])]


def _mixed_products(chain: list) -> list:
    """``(A ⊗ B)(C ⊗ D) = (A C) ⊗ (B D)`` where the shapes allow it."""
    out = [chain[0]]
    for g in chain[1:]:
        f = out[-1]
        if f.op == "kron" and g.op == "kron" and f.args[0].shape[1] == g.args[0].shape[0] \
                and f.args[1].shape[1] == g.args[1].shape[0]:
            out[-1] = kron(matmul(f.args[0], g.args[0]), matmul(f.args[1], g.args[1]))
        else:
            out.append(g)
    return out


MATPOW_FROM = 4   # X² and X³ are written as the products X X and X X X; from X⁴ on, as one node


def matpow(x: Expr, k: int) -> Expr:
    """The matrix power ``Xᵏ`` of a square ``X`` for an integer ``k`` (``X⁻ᵏ = (X⁻¹)ᵏ``): one node
    whatever ``k`` is, so that ``X^1000`` costs no more than ``X^4``; powers below
    ``MATPOW_FROM`` are products (``X²`` is ``X X``). Matrix products merge runs of one factor
    into powers (``X³ X`` is ``X⁴``)."""
    x = as_expr(x)
    if isinstance(k, bool) or not isinstance(k, int):
        raise MatcalcError(f"a matrix power needs an integer exponent, got {k!r}")
    _require_square(x, "a matrix power")
    if x.shape == SCALAR:
        return power(x, const(k))
    if x.op == "inv":   # (X⁻¹)ᵏ = X⁻ᵏ
        return matpow(x.args[0], -k)
    if x.op == "matpow":   # (Xʲ)ᵏ = Xʲᵏ
        return matpow(x.args[0], x.data * k)
    if k == 0 or x.op == "eye":
        return eye(x.shape[0])
    scalars, rest = _pull_scalars(x)
    if scalars:   # (c X)ᵏ = cᵏ Xᵏ
        return mul(power(mul(*scalars), const(k)), matpow(rest, k))
    if abs(k) < MATPOW_FROM or is_zero(x):
        return matmul(*[x if k > 0 else inv(x)] * abs(k))
    return _node("matpow", (x,), x.shape, k)


# ---------------------------------------------------------------------------------------
# Transpose
# ---------------------------------------------------------------------------------------

def transpose(e: Expr) -> Expr:
    e = as_expr(e)
    if e.shape == SCALAR:
        return e
    hit = memo_get(e, "_transposed")
    if hit is None:
        hit = _transpose(e)
        memo_set(e, "_transposed", hit)
        if memo_get(hit, "_transposed") is None:
            memo_set(hit, "_transposed", e)
    return hit


def _transpose(e: Expr) -> Expr:
    op = e.op
    if op == "var":
        props = e.data[1]
        if "symmetric" in props or "spd" in props:
            return e
        return _node("T", (e,), (e.shape[1], e.shape[0]))
    if op == "T":
        return e.args[0]
    if op == "add":
        return add(*[transpose(a) for a in e.args])
    if op == "mul":
        return mul(*[transpose(a) for a in e.args])
    if op == "matmul":
        return matmul(*[transpose(a) for a in reversed(e.args)])
    if op == "fn":
        return function(e.data, transpose(e.args[0]))
    if op == "pow":
        return power(transpose(e.args[0]), e.args[1])
    if op == "inv":
        return inv(transpose(e.args[0]))
    if op == "matpow":
        return matpow(transpose(e.args[0]), e.data)
    if op in ("softmax", "log_softmax") and e.data is not None:   # softmax by columns of Zᵀ: by rows of Z
        return _node(op, (transpose(e.args[0]),), (e.shape[1], e.shape[0]), 1 - e.data)
    if op == "expm":   # exp(X)ᵀ = exp(Xᵀ)
        return expm(transpose(e.args[0]))
    if op == "pinv":   # (X⁺)ᵀ = (Xᵀ)⁺
        return pinv(transpose(e.args[0]))
    if op in ("eye", "diag"):
        return e
    if op == "zero":
        return zero((e.shape[1], e.shape[0]))
    if op == "ones":
        return ones((e.shape[1], e.shape[0]))
    if op == "kron":
        return kron(transpose(e.args[0]), transpose(e.args[1]))
    if op == "commutation":
        return commutation(e.data[1], e.data[0])
    return _node("T", (e,), (e.shape[1], e.shape[0]))


# ---------------------------------------------------------------------------------------
# Elementwise functions
# ---------------------------------------------------------------------------------------

ELEMENTWISE = ("exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "softplus", "abs",
               "step", "sign", "sinh", "cosh", "arcsin", "arccos", "arctan", "log1p", "expm1", "erf",
               "normcdf", "normpdf", "gelu", "silu")

_EXACT_AT_ZERO = {"exp": 1, "sin": 0, "tan": 0, "tanh": 0, "cos": 1, "relu": 0, "abs": 0,
                  "sign": 0, "sigmoid": Fraction(1, 2), "sinh": 0, "cosh": 1, "arcsin": 0, "arctan": 0,
                  "log1p": 0, "expm1": 0, "erf": 0, "normcdf": Fraction(1, 2), "gelu": 0, "silu": 0}


def function(name: str, x: Expr) -> Expr:
    """An elementwise function ``name`` applied to ``x``."""
    x = as_expr(x)
    if is_zero(x) and name in _EXACT_AT_ZERO:
        return mul(const(_EXACT_AT_ZERO[name]), ones(x.shape)) if x.shape != SCALAR \
            else const(_EXACT_AT_ZERO[name])
    if x.op == "const":
        v = x.data
        if name == "log" and v == 1:
            return const(0)
        if name == "relu":
            return const(max(v, 0))
        if name == "abs":
            return const(abs(v))
        if name == "sign":
            return const((v > 0) - (v < 0))
        if name == "step" and v != 0:
            return const(1 if v > 0 else 0)
    if name == "abs" and is_positive(x):
        return x
    if name in ("sign", "step") and is_positive(x):
        return ones(x.shape)
    if name == "relu" and is_positive(x):
        return x
    if x.op == "ones" and name in ("log",):
        return zero(x.shape)
    flipped = _fewer_transposes(x)
    if flipped is not None:  # f(xᵀ Wᵀ) is written f(W x)ᵀ
        return _node("T", (function(name, flipped),), x.shape)
    return _node("fn", (x,), x.shape, name)


def _fewer_transposes(x: Expr):
    """``xᵀ`` when ``f(xᵀ)ᵀ`` is written with no more transposes than ``f(x)``, else ``None``."""
    if x.shape == SCALAR:
        return None
    flipped = transpose(x)
    return flipped if _marks(flipped) + 1 <= _marks(x) else None


def _marks(e: Expr) -> int:
    """How many transposes ``e`` is written with."""
    hit = e._marks
    if hit is None:
        hit = e._marks = (1 + _marks(e.args[0])) if e.op == "T" else sum(_marks(a) for a in e.args)
    return hit


# ---------------------------------------------------------------------------------------
# Matrix functions and reductions
# ---------------------------------------------------------------------------------------

def _require_square(x: Expr, what: str):
    if x.shape[0] != x.shape[1]:
        raise ShapeError(f"{what} needs a square matrix, got {shape_text(x.shape)}")


def _pull_scalars(x: Expr):
    """``(scalars, rest)`` for a Hadamard product with scalar factors, else ``([], x)``."""
    if x.op == "mul" and x.shape != SCALAR and any(a.shape == SCALAR for a in x.args):
        rest = [a for a in x.args if a.shape != SCALAR]
        return [a for a in x.args if a.shape == SCALAR], (rest[0] if len(rest) == 1 else mul(*rest))
    return [], x


def inv(x: Expr) -> Expr:
    x = as_expr(x)
    _require_square(x, "inv")
    if x.shape == SCALAR:
        return power(x, const(-1))
    if x.op == "inv":
        return x.args[0]
    if x.op == "matpow":
        return matpow(x.args[0], -x.data)
    if x.op == "eye":
        return x
    scalars, rest = _pull_scalars(x)
    if scalars:
        return mul(power(mul(*scalars), const(-1)), inv(rest))
    if is_zero(x):
        raise MatcalcError("the zero matrix has no inverse")
    return _node("inv", (x,), x.shape)


def pinv(x: Expr) -> Expr:
    """The Moore–Penrose pseudo-inverse (of a full-rank matrix: then ``X⁺ = (XᵀX)⁻¹Xᵀ`` for a
    tall ``X``, ``Xᵀ(XXᵀ)⁻¹`` for a wide one), of shape ``Xᵀ``'s."""
    x = as_expr(x)
    if x.shape == SCALAR:
        return power(x, const(-1))
    if x.op in ("pinv", "inv"):   # (X⁺)⁺ = X; an inverse is its own pseudo-inverse's inverse
        return x.args[0] if x.op == "pinv" else x
    if x.op == "eye":
        return x
    scalars, rest = _pull_scalars(x)
    if scalars:   # (c X)⁺ = X⁺ / c
        return mul(power(mul(*scalars), const(-1)), pinv(rest))
    if is_zero(x):
        return zero((x.shape[1], x.shape[0]))
    return _node("pinv", (x,), (x.shape[1], x.shape[0]))


def symmetric_part(x: Expr) -> Expr:
    """``(X + Xᵀ)/2``; ``X`` itself when it is known symmetric."""
    x = as_expr(x)
    _require_square(x, "a symmetric part")
    return x if is_symmetric(x) else mul(const(Fraction(1, 2)), add(x, transpose(x)))


def expm(x: Expr) -> Expr:
    """The matrix exponential ``exp(X) = Σ Xᵏ/k!`` of a square ``X``."""
    x = as_expr(x)
    _require_square(x, "expm")
    if x.shape == SCALAR:
        return function("exp", x)
    if is_zero(x):
        return eye(x.shape[0])
    return _node("expm", (x,), x.shape)


def expm_frechet(a: Expr, e: Expr) -> Expr:
    """``L(A, E)``, the Fréchet derivative of the matrix exponential at ``A`` in the direction
    ``E``: ``exp(A + E) = exp(A) + L(A, E) + O(‖E‖²)``; linear in ``E``."""
    a, e = as_expr(a), as_expr(e)
    if a.shape != e.shape:
        raise ShapeError(f"L(A, E) needs A and E of one shape, got {shape_text(a.shape)} and {shape_text(e.shape)}")
    if a.shape == SCALAR:
        return mul(function("exp", a), e)
    if is_zero(e):
        return e
    return _node("expm_frechet", (a, e), a.shape)


def cholesky(x: Expr) -> Expr:
    """The lower-triangular ``L`` with ``L Lᵀ = S`` of the symmetric part ``S`` of ``X`` (numpy
    reads one triangle of its argument; the symmetric part makes the derivative well defined in
    every direction), for an spd ``S``."""
    x = as_expr(x)
    _require_square(x, "cholesky")
    if x.shape == SCALAR:
        return power(x, const(Fraction(1, 2)))
    if x.op == "eye":
        return x
    return _node("cholesky", (symmetric_part(x),), x.shape)


def lower_half(n) -> Expr:
    """The ``n×n`` matrix with 1 below the diagonal, ½ on it and 0 above: ``M ⊙ Ψ`` is the
    lower triangle of ``M`` with half its diagonal (``Φ(M)`` in the Cholesky derivative)."""
    return const(Fraction(1, 2)) if n == 1 else _node("lower_half", (), (n, n))


def eigvalsh(x: Expr) -> Expr:
    """The eigenvalues of the symmetric part of ``X``, ascending, as a column."""
    x = as_expr(x)
    _require_square(x, "eigvalsh")
    if x.shape == SCALAR:
        return x
    return _node("eigvalsh", (symmetric_part(x),), (x.shape[0], 1))


def eigvecsh(x: Expr) -> Expr:
    """The orthonormal eigenvectors (columns, in the order of ``eigvalsh``) of a symmetric ``X``."""
    x = as_expr(x)
    return _node("eigvecsh", (symmetric_part(x),), x.shape)


def det(x: Expr) -> Expr:
    x = as_expr(x)
    _require_square(x, "det")
    if x.shape == SCALAR:
        return x
    if x.op == "T":
        return det(x.args[0])
    if x.op == "inv":
        return power(det(x.args[0]), const(-1))
    if x.op == "matpow":   # det(Xᵏ) = det(X)ᵏ
        return power(det(x.args[0]), const(x.data))
    if x.op == "eye":
        return const(1)
    if x.op == "matmul" and all(f.shape[0] == f.shape[1] for f in x.args):   # det(A B) = det(A) det(B)
        return mul(*[det(f) for f in x.args])
    return _node("det", (x,), SCALAR)


def logdet(x: Expr) -> Expr:
    """``log |det X|``."""
    x = as_expr(x)
    _require_square(x, "logdet")
    if x.shape == SCALAR:
        return function("log", function("abs", x))
    if x.op == "T":
        return logdet(x.args[0])
    if x.op == "inv":
        return neg(logdet(x.args[0]))
    if x.op == "matpow":   # log |det Xᵏ| = k log |det X|
        return mul(const(x.data), logdet(x.args[0]))
    if x.op == "eye":
        return const(0)
    if x.op == "matmul" and all(f.shape[0] == f.shape[1] for f in x.args):   # log |det A B| = Σ log |det|
        return add(*[logdet(f) for f in x.args])
    return _node("logdet", (x,), SCALAR)


def _rotations(chain: tuple):
    return [chain[i:] + chain[:i] for i in range(len(chain))]


def trace(x: Expr) -> Expr:
    x = as_expr(x)
    _require_square(x, "trace")
    if x.shape == SCALAR:
        return x
    op = x.op
    if op == "add" and all(t.shape == x.shape for t in x.args):
        return add(*[trace(t) for t in x.args])
    scalars, rest = _pull_scalars(x)
    if scalars:
        return mul(*scalars, trace(rest))
    if op == "T":
        return trace(x.args[0])
    if op in ("eye", "ones"):
        return dim_value(x.shape[0])
    if op == "zero":
        return const(0)
    if op == "diag":
        return sum_all(x.args[0])
    if op == "matmul":
        chain = x.args
        dims = [f.shape[0] for f in chain]
        for i, d in enumerate(dims):
            if d == 1:  # tr(u vᵀ) = vᵀ u
                return matmul(*(chain[i:] + chain[:i]))
        backward = tuple(transpose(f) for f in reversed(chain))
        candidates = [c for c in _rotations(chain) + _rotations(backward)]
        best = min(candidates, key=lambda c: (_transpose_marks(c), tuple(f.key for f in c)))
        return _node("trace", (matmul(*best),), SCALAR)
    return _node("trace", (x,), SCALAR)


def sum_all(x: Expr) -> Expr:
    """The sum of all entries."""
    x = as_expr(x)
    if x.shape == SCALAR:
        return x
    op = x.op
    if op == "add" and all(t.shape == x.shape for t in x.args):
        return add(*[sum_all(t) for t in x.args])
    scalars, rest = _pull_scalars(x)
    if scalars:
        return mul(*scalars, sum_all(rest))
    if op == "T":
        return sum_all(x.args[0])
    if op == "zero":
        return const(0)
    if op == "ones":
        return mul(dim_value(x.shape[0]), dim_value(x.shape[1]))
    if op == "eye":
        return dim_value(x.shape[0])
    if op == "diag":
        return sum_all(x.args[0])
    return _node("sum", (x,), SCALAR)


def norm2(x: Expr) -> Expr:
    """Euclidean norm of a vector, Frobenius norm of a matrix."""
    x = as_expr(x)
    if x.shape == SCALAR:
        return function("abs", x)
    if is_zero(x):
        return const(0)
    if x.op == "T":
        return norm2(x.args[0])
    if x.op == "mul" and x.args[0].op == "const":
        return mul(const(abs(x.args[0].data)), norm2(mul(*x.args[1:])))
    return _node("norm2", (x,), SCALAR)


def diag(x: Expr) -> Expr:
    """``diag`` of a vector is a diagonal matrix; of a square matrix, its diagonal as a vector."""
    x = as_expr(x)
    if x.shape == SCALAR:
        return x
    if x.shape[1] == 1:
        if x.op == "ones":
            return eye(x.shape[0])
        if is_zero(x):
            return zero((x.shape[0], x.shape[0]))
        return _node("diag", (x,), (x.shape[0], x.shape[0]))
    if x.shape[0] == 1:
        return diag(transpose(x))
    if x.shape[0] != x.shape[1]:
        raise ShapeError(f"diag needs a vector or a square matrix, got {shape_text(x.shape)}")
    if x.op == "diag":
        return x.args[0]
    if x.op == "eye":
        return ones((x.shape[0], 1))
    if is_zero(x):
        return zero((x.shape[0], 1))
    if x.op == "T":
        return diag(x.args[0])
    return _node("diagvec", (x,), (x.shape[0], 1))


def _vector_function(op: str, x: Expr) -> Expr:
    x = as_expr(x)
    if x.shape[0] == 1 and x.shape[1] != 1:
        return transpose(_vector_function(op, transpose(x)))
    if x.shape[1] != 1:
        raise ShapeError(f"{op} needs a vector, got {shape_text(x.shape)}")
    if x.shape == SCALAR:
        return const(1) if op == "softmax" else const(0)
    return _node(op, (x,), x.shape)


def _along_axis(op: str, x: Expr, axis) -> Expr | None:
    """``op`` of each column (axis 0) or row (axis 1) of a matrix: one node with the axis as its
    data; ``None`` where the axis runs along a whole vector (then it is the vector function)."""
    x = as_expr(x)
    if axis is None or (x.shape[1] == 1 and axis == 0) or (x.shape[0] == 1 and axis == 1):
        return None
    if x.shape[axis] == 1:   # each entry alone: softmax 1, log softmax 0
        return ones(x.shape) if op == "softmax" else zero(x.shape)
    return _node(op, (x,), x.shape, axis)


def softmax(x: Expr, axis=None) -> Expr:
    """The softmax of a vector; of each column (``axis=0``) or row (``axis=1``) of a matrix."""
    along = _along_axis("softmax", x, axis)
    return along if along is not None else _vector_function("softmax", x)


def log_softmax(x: Expr, axis=None) -> Expr:
    """The log softmax of a vector; of each column (``axis=0``) or row (``axis=1``) of a matrix."""
    along = _along_axis("log_softmax", x, axis)
    return along if along is not None else _vector_function("log_softmax", x)


def kron_blocksum(a: Expr, s: Expr, shape: tuple) -> Expr:
    """``Σᵢⱼ Aᵢⱼ S₍ᵢⱼ₎``: the blocks of ``S`` (each of ``shape``, one per entry of ``A``) weighted by
    the entries of ``A`` — the gradient of ``⟨S, A ⊗ D⟩`` w.r.t. ``D`` (of ``shape``)."""
    a, s = as_expr(a), as_expr(s)
    if is_zero(a) or is_zero(s):
        return zero(shape)
    return _node("kron_blocksum", (a, s), shape, shape)


def kron_blockdot(s: Expr, d: Expr, shape: tuple) -> Expr:
    """``[⟨S₍ᵢⱼ₎, D⟩]ᵢⱼ``: each block of ``S`` (shaped like ``D``) against ``D``, a matrix of
    ``shape`` — the gradient of ``⟨S, A ⊗ D⟩`` w.r.t. ``A`` (of ``shape``)."""
    s, d = as_expr(s), as_expr(d)
    if is_zero(s) or is_zero(d):
        return zero(shape)
    return _node("kron_blockdot", (s, d), shape, shape)


def kron(a: Expr, b: Expr) -> Expr:
    """The Kronecker product; shapes multiply."""
    a, b = as_expr(a), as_expr(b)
    if a.shape == SCALAR or b.shape == SCALAR:
        return mul(a, b)
    shape = (_dim_product(a.shape[0], b.shape[0]), _dim_product(a.shape[1], b.shape[1]))
    if is_zero(a) or is_zero(b):
        return zero(shape)
    scalars_a, a = _pull_scalars(a)
    scalars_b, b = _pull_scalars(b)
    if scalars_a or scalars_b:  # (c A) ⊗ B = c (A ⊗ B)
        return mul(*scalars_a, *scalars_b, kron(a, b))
    if a.shape[1] == 1 and b.shape[0] == 1:  # a ⊗ bᵀ = a bᵀ for a column and a row
        return matmul(a, b)
    if a.shape[0] == 1 and b.shape[1] == 1:
        return matmul(b, a)
    if a.op == "eye" and b.op == "eye":
        return eye(shape[0])
    return _node("kron", (a, b), shape)


def vec(x: Expr) -> Expr:
    """The columns of ``x`` stacked into one column (column-major vectorisation)."""
    x = as_expr(x)
    if x.shape[1] == 1:
        return x
    if x.shape[0] == 1:
        return transpose(x)
    if x.op == "unvec":
        return x.args[0]
    shape = (_dim_product(x.shape[0], x.shape[1]), 1)
    if is_zero(x):
        return zero(shape)
    if x.op == "ones":
        return ones(shape)
    scalars, rest = _pull_scalars(x)
    if scalars:
        return mul(*scalars, vec(rest))
    return _node("vec", (x,), shape)


def unvec(x: Expr, rows, cols) -> Expr:
    """The ``rows×cols`` matrix whose vec is the column ``x`` (the inverse of ``vec``)."""
    x = as_expr(x)
    if x.op == "vec" and x.args[0].shape == (rows, cols):
        return x.args[0]
    if rows == 1:
        return transpose(x)
    if cols == 1:
        return x
    if is_zero(x):
        return zero((rows, cols))
    scalars, rest = _pull_scalars(x)
    if scalars:
        return mul(*scalars, unvec(rest, rows, cols))
    return _node("unvec", (x,), (rows, cols), (rows, cols))


def differential_of(e: Expr) -> Expr:
    """``d(e)``, a display-only placeholder for the differential of ``e`` in derivation steps."""
    return _node("dof", (e,), e.shape)


def inner_product(a: Expr, b: Expr) -> Expr:
    """``⟨a, b⟩``, a display-only node for derivation steps (``tr(aᵀ b)``)."""
    return _node("inner", (a, b), SCALAR)


def commutation(m, n) -> Expr:
    """``K(m,n)``, the permutation with ``vec(Aᵀ) = K(m,n) vec(A)`` for an ``m×n`` matrix ``A``."""
    size = _dim_product(m, n)
    if m == 1 or n == 1:
        return eye(size)
    return _node("commutation", (), (size, size), (m, n))


def _dim_product(a, b):
    """The product of two dims: an int, a name, or a sorted tuple of factors (``n·m``)."""
    if a == 1:
        return b
    if b == 1:
        return a
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    factors = [f for d in (a, b) for f in (d if isinstance(d, tuple) else (d,))]
    number = math.prod(f for f in factors if isinstance(f, int))   # 2·2·n is 4·n
    names = sorted((f for f in factors if not isinstance(f, int)), key=str)
    factors = ([number] if number != 1 else []) + names
    return factors[0] if len(factors) == 1 else tuple(sorted(factors, key=str))


# ---------------------------------------------------------------------------------------
# Rebuilding a node from new operands
# ---------------------------------------------------------------------------------------

_BUILDERS = {
    "add": lambda args, data: add(*args),
    "mul": lambda args, data: mul(*args),
    "matmul": lambda args, data: matmul(*args),
    "T": lambda args, data: transpose(args[0]),
    "pow": lambda args, data: power(args[0], args[1]),
    "fn": lambda args, data: function(data, args[0]),
    "inv": lambda args, data: inv(args[0]),
    "pinv": lambda args, data: pinv(args[0]),
    "expm": lambda args, data: expm(args[0]),
    "expm_frechet": lambda args, data: expm_frechet(args[0], args[1]),
    "cholesky": lambda args, data: cholesky(args[0]),
    "eigvalsh": lambda args, data: eigvalsh(args[0]),
    "eigvecsh": lambda args, data: eigvecsh(args[0]),
    "matpow": lambda args, data: matpow(args[0], data),
    "det": lambda args, data: det(args[0]),
    "logdet": lambda args, data: logdet(args[0]),
    "trace": lambda args, data: trace(args[0]),
    "sum": lambda args, data: sum_all(args[0]),
    "norm2": lambda args, data: norm2(args[0]),
    "diag": lambda args, data: diag(args[0]),
    "diagvec": lambda args, data: diag(args[0]),
    "softmax": lambda args, data: softmax(args[0], data),
    "log_softmax": lambda args, data: log_softmax(args[0], data),
    "kron": lambda args, data: kron(args[0], args[1]),
    "kron_blocksum": lambda args, data: kron_blocksum(args[0], args[1], data),
    "kron_blockdot": lambda args, data: kron_blockdot(args[0], args[1], data),
    "vec": lambda args, data: vec(args[0]),
    "unvec": lambda args, data: unvec(args[0], *data),
}


def rebuild(e: Expr, args) -> Expr:
    """``e`` with its operands replaced by ``args``, in canonical form."""
    args = tuple(args)
    if args == e.args:
        return e
    return _BUILDERS[e.op](args, e.data)


def substitute(e: Expr, mapping: dict, _memo=None, only_variables: bool | None = None) -> Expr:
    """Replace subexpressions (keys of ``mapping``, usually variables) and re-canonicalise.

    Each distinct subexpression is rebuilt once (``_memo``), without recursion; a part free of
    the variables replaced is left as it is, unlooked-at. ``only_variables``: whether every key is
    a variable, if the caller knows (a mapping used many times)."""
    memo = {} if _memo is None else _memo
    if only_variables is None:
        only_variables = all(k.op == "var" for k in mapping)
    keys = mapping.keys()

    def settled(node):   # what node becomes, when that is known without rebuilding it
        hit = mapping.get(node)
        if hit is None:
            hit = memo.get(node)
        if hit is None and (not node.args or (only_variables and not (node.free_vars & keys))):
            hit = memo[node] = node
        return hit

    stack = [e]
    while stack:
        node = stack[-1]
        if settled(node) is not None:
            stack.pop()
            continue
        pending = [a for a in node.args if settled(a) is None]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        memo[node] = rebuild(node, [settled(a) for a in node.args])
    return settled(e)


def walk(e: Expr):
    """Every distinct subexpression once, children before parents."""
    seen = set()
    out = []
    stack = [(e, False)]
    while stack:
        node, expanded = stack.pop()
        if node in seen:
            continue
        if expanded or not node.args:
            seen.add(node)
            out.append(node)
            continue
        stack.append((node, True))
        for a in reversed(node.args):
            if a not in seen:
                stack.append((a, False))
    return out


def count_nodes(e: Expr) -> int:
    return len(walk(e))

