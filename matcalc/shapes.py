"""Dimensions and shapes.

Every value is a matrix: a shape is a pair ``(rows, cols)`` whose entries are dimensions,
either a positive ``int`` or a symbolic name (``str``, e.g. ``"n"``). A column vector is
``(n, 1)``, a row vector ``(1, n)``, a scalar ``(1, 1)``.

Broadcasting, as in numpy but restricted to what textbooks write: a scalar goes everywhere;
a column vector ``(m, 1)`` goes across the columns of an ``(m, n)`` matrix (a bias over a batch)
and a row vector ``(1, n)`` across its rows.
"""
from __future__ import annotations

import re

from .errors import ShapeError

Dim = int | str
Shape = tuple  # (Dim, Dim)

SCALAR: Shape = (1, 1)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z_0-9]*$")
_DIGITS = re.compile(r"^[0-9]{1,18}$")   # a dimension of up to 18 digits (beyond, no array fits)


def dim_text(d) -> str:
    """A dimension as text; a product of dims (a tuple, from Kronecker products) reads ``n·m``."""
    if isinstance(d, tuple):
        return "·".join(str(f) for f in d)
    return str(d)


def resolve_dim(d, sizes: dict) -> int:
    """The integer value of a dimension, given integer values for the named ones."""
    if isinstance(d, int):
        return d
    if isinstance(d, tuple):
        value = 1
        for f in d:
            value *= resolve_dim(f, sizes)
        return value
    return sizes[d]


def shape_text(shape: Shape) -> str:
    """``n×m``; scalars read ``scalar``, vectors ``n×1``."""
    if shape == SCALAR:
        return "scalar (1×1)"
    return f"{dim_text(shape[0])}×{dim_text(shape[1])}"


def is_scalar(shape: Shape) -> bool:
    return shape == SCALAR


def is_column(shape: Shape) -> bool:
    return shape[1] == 1


def is_row(shape: Shape) -> bool:
    return shape[0] == 1


def is_vector(shape: Shape) -> bool:
    """A column or a row vector (scalars included)."""
    return shape[0] == 1 or shape[1] == 1


def numel_dims(shape: Shape) -> tuple:
    """The dims whose product is the number of entries, without the 1s."""
    return tuple(d for d in shape if d != 1)


def broadcast(a: Shape, b: Shape):
    """The shape of an elementwise operation on ``a`` and ``b``, or ``None`` if they do not fit."""
    if a == b:
        return a
    if a == SCALAR:
        return b
    if b == SCALAR:
        return a
    rows = _broadcast_dim(a[0], b[0])
    cols = _broadcast_dim(a[1], b[1])
    if rows is None or cols is None or (rows, cols) not in (a, b):
        return None   # a column and a row do not broadcast to their outer sum
    return (rows, cols)


def broadcast_all(shapes) -> Shape | None:
    """The shape of an elementwise operation on operands of all of ``shapes`` at once, or
    ``None``. Order does not matter: a column and a row fit when a matrix among the operands
    has both their dims (``c − B + R``), though not on their own (an outer sum)."""
    rows, cols = 1, 1
    for shape in shapes:
        rows, cols = _broadcast_dim(rows, shape[0]), _broadcast_dim(cols, shape[1])
        if rows is None or cols is None:
            return None
    return (rows, cols) if (rows, cols) in shapes or (rows, cols) == SCALAR else None


def _broadcast_dim(x, y):
    if x == y:
        return x
    if x == 1:
        return y
    if y == 1:
        return x
    return None


def parse_dim(token, context: str = "") -> Dim:
    """A dimension from user input: a positive int or an identifier."""
    if isinstance(token, bool):
        raise ShapeError(f"bad dimension {token!r}{context}")
    if isinstance(token, int):
        if token < 1:
            raise ShapeError(f"a dimension must be positive, got {token}{context}")
        return token
    if isinstance(token, str):
        text = token.strip()
        if _DIGITS.match(text):   # ASCII digits only: "²".isdigit() is true too
            return parse_dim(int(text), context)
        if _NAME.match(text):
            return text
    raise ShapeError(f"bad dimension {token!r}{context}: use a positive integer or a name like 'n'")


def parse_dims(text: str, context: str = "") -> Shape:
    """``"n"`` -> column vector, ``"n,m"`` -> matrix, ``"1,n"`` -> row vector, ``""`` -> scalar."""
    text = text.strip()
    if text == "":
        return SCALAR
    parts = [p for p in re.split(r"[,×\s]+", text) if p]   # (an x separates numbers only: 3x4; Dx,N is Dx × N)
    if len(parts) == 1 and re.fullmatch(r"[0-9]+x[0-9]+", parts[0]):
        parts = parts[0].split("x")
    if len(parts) == 1:
        return (parse_dim(parts[0], context), 1)
    if len(parts) == 2:
        return (parse_dim(parts[0], context), parse_dim(parts[1], context))
    raise ShapeError(f"bad shape {text!r}{context}: give one dim (vector) or two (matrix)")


class DimVar:
    """An unknown dimension during shape inference."""

    __slots__ = ("hint",)

    def __init__(self, hint: str):
        self.hint = hint

    def __repr__(self):
        return f"?{self.hint}"


class Unifier:
    """Union-find over dimensions: ``DimVar``s get bound to each other or to concrete dims.

    Union by size and path compression keep ``n`` unifications near ``n`` steps. ``on_bind(var,
    value)``, if given, is told each time an unknown's class is bound: to another unknown (then
    ``value`` is the root it joins) or to a concrete dim."""

    def __init__(self, on_bind=None):
        self.parent: dict = {}
        self.size: dict = {}
        self.on_bind = on_bind

    def find(self, d):
        root = d
        while isinstance(root, DimVar) and root in self.parent:
            root = self.parent[root]
        while isinstance(d, DimVar) and d is not root:   # path compression
            self.parent[d], d = root, self.parent[d]
        return root

    def unify(self, a, b) -> bool:
        a, b = self.find(a), self.find(b)
        if a is b or (not isinstance(a, DimVar) and not isinstance(b, DimVar) and a == b):
            return True
        if isinstance(a, DimVar) and isinstance(b, DimVar):
            if self.size.get(a, 1) > self.size.get(b, 1):   # the smaller class joins the larger
                a, b = b, a
            self.size[b] = self.size.get(a, 1) + self.size.get(b, 1)
            self._bind(a, b)
            return True
        if isinstance(a, DimVar):
            self._bind(a, b)
            return True
        if isinstance(b, DimVar):
            self._bind(b, a)
            return True
        return False

    def _bind(self, var, value):
        self.parent[var] = value
        if self.on_bind is not None:
            self.on_bind(var, value)

    def resolve(self, shape):
        return (self.find(shape[0]), self.find(shape[1]))

    def known(self, d) -> bool:
        return not isinstance(self.find(d), DimVar)
