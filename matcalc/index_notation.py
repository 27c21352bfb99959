"""Index notation to matrix form: ``\\sum_i x_i^2`` is ``xᵀx``-like, ``\\sum_i (σ(w^T x_i) − y_i) x_i``
is a product with the rows of ``X``.

The LaTeX reader marks a sum over ``i`` as an ``isum`` node and, inside it, ``y_i`` / ``A_{ij}`` /
``x_i`` as ``indexed`` nodes. This module rewrites such a tree into an ordinary syntax tree
(sums along an axis, matrix products, transposes, broadcasting elementwise operations), which the
expression builder then type-checks like any other.

The translation is an einsum with at most two axes. Every subexpression of a summand is a matrix
whose two axes carry *labels*: an index (``i``: the value at each i stacked along that axis) or
a dimension of the value at one i (its *entry*: ``x_i`` is a column of length D at each i, stored
as the matrix ``X`` whose axes are labelled ``(i, d)``). A product of entries contracts the
labels it joins (a matrix product, or an elementwise product summed along an axis), an
elementwise operation broadcasts over the labels one side lacks, and a sum over ``i`` sums along
the axis labelled ``i``. What would need three axes at once (an outer product of two vectors at
each i) is refused with a ``ParseError`` that says so.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from .errors import ParseError
from .ops import FUNCTIONS
from .parse import Node


def has_index_notation(tree: Node) -> bool:
    """Whether ``tree`` has a sum over an index (``\\sum_i``) or an indexed entry (``x_{ij}``)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.kind in ("isum", "indexed", "entry"):
            return True
        stack.extend(node.children)
    return False


def matrix_form(tree: Node, variables: dict, text: str, free=()) -> Node:
    """``tree`` with every index sum written in matrix form; ``variables`` (name -> Expr) give the
    shapes that decide what an index runs over, ``text`` the source the positions are in.
    ``free``: the indices of the entry the expression is (``∂L/∂W_{ij} = …``: ``("i", "j")``): the
    result is the matrix of those entries (rows along the first, columns along the second), or the
    column of them for one index."""
    translator = _Translator(variables, text)
    value = translator.value(tree)
    if free and (value.indices or value.entry == _SCALAR and value.known):   # (a constant entry: all alike)
        return translator.entries(value, tuple(free), tree)
    return translator.plain(value, tree)


@dataclass(frozen=True)
class _Value:
    """A subexpression as a matrix ``node`` whose axes carry ``axes`` (index letters, entry labels
    (ints), or None for an axis of size 1); ``entry`` labels the rows and columns of the value at
    one index. Index labels are letters, entry labels ``("entry", k)``. ``known``: whether the labels
    are known (an undeclared name's shape is not)."""
    node: Node
    axes: tuple
    entry: tuple
    known: bool = True
    factors: tuple = ()   # of an elementwise product: its factors, labelled (a sum contracts them in pairs)
    terms: tuple = ()     # of a sum: its terms, labelled (a sum over an index is taken term by term)

    @property
    def wide(self) -> bool:
        """A product with more than two labels, kept as its factors until a sum contracts them
        (Σᵢ yᵢ xᵢ xᵢᵀ); it has no ``node``."""
        return len(self.axes) > 2

    @property
    def parts(self) -> tuple:
        return self.factors or (self,)

    @property
    def indices(self) -> set:
        return {label for label in self.axes if isinstance(label, str)}


_SCALAR = (None, None)
_PRODUCTS = ("matmul", "mtimes", "cdot", "period", "star")
# functions whose value is a scalar whatever their argument's shape
_SCALAR_VALUED = {"trace", "det", "logdet", "norm2"}


class _Translator:
    def __init__(self, variables: dict, text: str):
        self.variables = variables
        self.text = text
        self.labels = itertools.count()

    def entry_label(self) -> tuple:
        return ("entry", next(self.labels))

    def error(self, message: str, node: Node):
        raise ParseError(message, self.text, node.pos)

    # -- the value of each node ------------------------------------------------------------------
    def value(self, node: Node) -> _Value:
        kind = node.kind
        if kind == "num":
            return _Value(node, _SCALAR, _SCALAR)
        if kind == "name":
            return self.name(node)
        if kind == "indexed":
            return self.indexed(node)
        if kind == "isum":
            return self.summed(self.value(node.children[0]), node.text, node)
        if kind == "entry":
            return self.entry_of(self.value(node.children[0]), [c.text for c in node.children[1:]], node)
        if kind == "neg":
            inner = self.value(node.children[0])
            minus_one = _Value(Node("num", node.pos, "-1"), _SCALAR, _SCALAR)
            negated = None if inner.wide else Node("neg", node.pos, "-", [inner.node])
            return _Value(negated, inner.axes, inner.entry, inner.known,
                          factors=(minus_one,) + inner.parts if inner.known else ())
        if kind == "T":
            inner = self.value(node.children[0])
            if not inner.known:
                return _Value(Node("T", node.pos, "'", [inner.node]), _SCALAR, _SCALAR, False)
            return _Value(inner.node, inner.axes, (inner.entry[1], inner.entry[0]),   # the entry transposed
                          factors=inner.factors, terms=inner.terms)
        if kind == "binop":
            return self.binop(node)
        if kind == "call":
            return self.call(node)
        self.error(f"{node.text!r} is not read inside a sum", node)

    def name(self, node: Node) -> _Value:
        if node.text not in self.variables:   # (its shape is inferred later, where no index meets it)
            return _Value(node, _SCALAR, _SCALAR, known=False)
        rows, cols = self.variables[node.text].shape
        labels = (None if rows == 1 else self.entry_label(), None if cols == 1 else self.entry_label())
        return _Value(node, labels, labels)

    def indexed(self, node: Node) -> _Value:
        """``y_i`` (an entry of a vector), ``A_{ij}`` (of a matrix), ``x_i`` (the i-th row of a
        matrix ``X``, as a column)."""
        indices = [child.text for child in node.children]
        name = node.text
        if name not in self.variables and name in ("delta", "δ") and len(indices) == 2:
            return _Value(Node("name", node.pos, "I"), tuple(indices), _SCALAR)   # δᵢⱼ: the identity's entries
        capital = next((other for other in (name.swapcase(), name.capitalize()) if other in self.variables), None)
        if name not in self.variables and capital is not None:
            name = capital   # x_i: a row of X; \phi_n: of Φ (Phi)
        if name not in self.variables:
            self.error(f"{node.text}_{''.join(indices)}: {node.text} is not declared (inside a sum, x_i is an entry of "
                       f"a vector x or the i-th row of a matrix X)", node)
        if len(set(indices)) < len(indices):
            self.error(f"{node.text}_{{{''.join(indices)}}}: a repeated index (a diagonal) is not read; "
                       "write diag(…)", node)
        rows, cols = self.variables[name].shape
        base = Node("name", node.pos, name)
        if len(indices) == 2 and rows != 1 and cols != 1:
            return _Value(base, tuple(indices), _SCALAR)
        if len(indices) == 1 and rows != 1 and cols == 1:
            return _Value(base, (indices[0], None), _SCALAR)
        if len(indices) == 1 and rows == 1 and cols != 1:
            return _Value(base, (None, indices[0]), _SCALAR)
        if len(indices) == 1 and rows != 1 and cols != 1:
            label = self.entry_label()
            return _Value(base, (indices[0], label), (label, None))
        what = "a scalar" if (rows, cols) == (1, 1) else "a vector" if 1 in (rows, cols) else "a matrix"
        self.error(f"{node.text}_{{{''.join(indices)}}}: {name} is {what}; it takes "
                   f"{'no index' if what == 'a scalar' else 'one index' if what == 'a vector' else 'one or two'}",
                   node)

    def entry_of(self, value: _Value, indices: list, node: Node) -> _Value:
        """``(W x − y)_i``: the entries of a vector (or matrix, with two indices) at the indices."""
        labels = [label for label in value.entry if label is not None]
        if not value.known or len(labels) != len(indices):
            self.error(f"the subscript {''.join(indices)} does not fit the shape of what it follows", node)
        if any(index in value.axes for index in indices):
            self.error("an index used twice in one entry is not read", node)
        for label, index in zip(labels, indices):
            value = _renamed(value, label, index)
        return _Value(value.node, value.axes, _SCALAR, factors=value.factors, terms=value.terms)

    def binop(self, node: Node) -> _Value:
        op = node.text
        if op in _PRODUCTS:
            return self.chain(node)
        a, b = (self.value(child) for child in node.children)
        if op == "mrdivide":
            op = "div"   # by a scalar
        if op == "mpower" and not a.indices and not b.indices and not a.wide:   # Σ⁻¹ beside a sum: as written
            return _Value(Node("binop", node.pos, "mpower", [a.node, b.node]), a.axes, a.entry, a.known)
        if op == "mpower":
            if b.indices or b.entry != _SCALAR or a.entry != _SCALAR and a.indices:
                self.error("a power of an indexed quantity needs a scalar at each index", node)
            op = "pow"
        base = node.children[0]
        if op == "pow" and a.indices and base.kind == "call" and base.text == "norm2" and _is_two(node.children[1]):
            return self.squared_norm(self.value(base.children[0]), node)   # ‖vᵢ‖² = Σ over the entry of vᵢ²
        if op == "pow" and a.indices and _is_two(node.children[1]):
            op, b = "mul", a   # x_i^2 = x_i x_i (a sum contracts it: xᵀx)
        return self.elementwise(a, b, op, node)

    def chain(self, node: Node) -> _Value:
        """A product ``a b c …``, associated from the left, or from the right where the left needs
        more than two axes (``x_i x_i^T w`` is ``x_i (x_i^T w)``)."""
        factors = _factors(node)
        values = [self.value(factor) for factor in factors]
        try:
            result = values[0]
            for value in values[1:]:
                result = self.times(result, value, node)
            return result
        except _TooManyIndices:
            try:
                result = values[-1]
                for value in reversed(values[:-1]):
                    result = self.times(value, result, node)
                return result
            except _TooManyIndices:
                self.too_wide(node)

    def times(self, a: _Value, b: _Value, node: Node) -> _Value:
        if a.entry != _SCALAR and b.entry != _SCALAR and a.known and b.known:
            return self.product(a, b, node)
        return self.elementwise(a, b, "mul", node)   # a scaling: a scalar entry

    def squared_norm(self, value: _Value, node: Node) -> _Value:
        square = self.elementwise(value, value, "mul", node)
        for label in square.entry:
            if label is not None:
                square = self.summed(square, label, node)
        return square

    def call(self, node: Node) -> _Value:
        args = [self.value(child) for child in node.children]
        if any(arg.wide for arg in args):
            self.too_wide(node)
        if not any(arg.indices for arg in args):   # no index inside: the call as written
            built = Node("call", node.pos, node.text, [self.plain(arg, child) for arg, child in
                                                      zip(args, node.children)], node.axis)
            function = FUNCTIONS.get(node.text)
            if len(args) == 1 and args[0].known and function is not None \
                    and function.signature in ("elementwise", "vector"):   # σ(z), softmax(z): z's shape
                entry = args[0].entry
                return _Value(built, entry, entry)
            if node.text in _SCALAR_VALUED or node.text in ("sum", "mean", "logsumexp") and node.axis is None:
                return _Value(built, _SCALAR, _SCALAR)
            return _Value(built, _SCALAR, _SCALAR, known=False)
        function = FUNCTIONS.get(node.text)
        if len(args) == 1 and function is not None and function.signature == "elementwise":
            arg = args[0]
            return _Value(Node("call", node.pos, node.text, [arg.node]), arg.axes, arg.entry)
        if node.text == "sum" and node.axis is None and len(args) == 1:   # Σ over the entry of vᵢ: ⟨w, xᵢ⟩
            total = args[0]
            for label in total.entry:
                if label is not None:
                    total = self.summed(total, label, node)
            return total
        if node.text == "diag" and len(args) == 1 and len(args[0].indices) == 1 and args[0].entry == _SCALAR:
            (index,) = args[0].indices   # diag(μ_i (1 − μ_i)): the diagonal matrix of those entries
            column = self.entries(args[0], (index,), node)
            labels = (self.entry_label(), self.entry_label())
            return _Value(Node("call", node.pos, "diag", [column]), labels, labels)
        if node.text == "norm2" and len(args) == 1:   # ‖vᵢ‖ = sqrt(Σ over the entry of vᵢ²)
            square = self.squared_norm(args[0], node)
            return _Value(Node("call", node.pos, "sqrt", [square.node]), square.axes, square.entry)
        self.error(f"{node.text} of a quantity that depends on the index of a sum is not read; "
                   "write it in matrix form", node)

    # -- the algebra of labelled axes -------------------------------------------------------------
    def summed(self, value: _Value, label, node: Node) -> _Value:
        """Σ over ``label``. Of a product, the factors that depend on the label are contracted
        (a matrix product where they share no other label: Σᵢ aᵢ bᵢ is aᵀb) and the others
        multiply the result; else the sum along the label's axis (keepdims)."""
        if not value.known:
            self.error("a name inside a sum is not declared, so the sum's shape is unknown", node)
        if label not in value.axes:
            self.error(f"the summand does not depend on the index {label}", node)
        entry = tuple(None if e == label else e for e in value.entry)
        if value.terms and all(label in term.axes for term in value.terms):   # Σᵢ (aᵢ + bᵢ) = Σᵢ aᵢ + Σᵢ bᵢ
            total = self.summed(value.terms[0], label, node)
            for term in value.terms[1:]:
                total = self.elementwise(total, self.summed(term, label, node), "add", node)
            return _Value(total.node, total.axes, entry, terms=total.terms)
        having = sorted((f for f in value.parts if label in f.axes), key=lambda f: len(_labels(f)))  # wide last
        rest = [f for f in value.parts if label not in f.axes]
        if len(having) == 1:
            reduced = _summed_along(having[0], label, node)
        else:
            first = having[0]
            for factor in having[1:-1]:
                first = self.multiply(first, factor, node)
            last = having[-1]
            if first.wide:
                self.too_wide(node)
            reduced = _matrix_product(first, last, label, node) if _labels(first) & _labels(last) == {label} \
                else _summed_along(self.multiply(first, last, node), label, node)
        for factor in rest:
            reduced = self.multiply(reduced, factor, node)
        return _Value(reduced.node, reduced.axes, entry, factors=reduced.factors)

    def elementwise(self, a: _Value, b: _Value, op: str, node: Node) -> _Value:
        if not (a.known and b.known):
            if a.indices or b.indices:
                self.error("a name inside a sum is not declared, so what it means beside an index is unknown", node)
            built = Node("binop", node.pos, op, [self.plain(a, node), self.plain(b, node)])
            return _Value(built, _SCALAR, _SCALAR, known=False)
        for k in (0, 1):   # the entries' rows meet rows, columns columns
            if a.entry[k] is not None and b.entry[k] is not None:
                b = _renamed(b, b.entry[k], a.entry[k])
        entry = (a.entry[0] or b.entry[0], a.entry[1] or b.entry[1])
        if op == "div" and b.entry == _SCALAR and b.indices:   # a factor 1/bᵢ (a sum contracts it like any other)
            b = _Value(Node("binop", node.pos, "div", [Node("num", node.pos, "1"), b.node]), b.axes, b.entry)
            op = "mul"
        if op == "mul":
            product = self.multiply(a, b, node)
            return _Value(product.node, product.axes, entry, factors=product.factors)
        try:
            frame = self.frame(a, b, node)
        except _TooManyIndices:
            self.too_wide(node)
        a_axes, b_axes = _axes_in(a, frame), _axes_in(b, frame)
        if None in a_axes and None in b_axes and a_axes != b_axes and _SCALAR not in (a_axes, b_axes):
            self.error("a column and a row meet here (two different indices): only their product is read", node)
        terms = ()
        if op in ("add", "sub"):
            negated = b if op == "add" else _Value(Node("neg", node.pos, "-", [b.node]), b.axes, b.entry)
            terms = a.terms + (negated,) if a.terms else (a, negated)
        return _Value(Node("binop", node.pos, op, [_oriented(a, frame, node), _oriented(b, frame, node)]),
                      frame, entry, terms=terms)

    def multiply(self, a: _Value, b: _Value, node: Node) -> _Value:
        """The elementwise product over the labels of both (an outer product where a column meets
        a row); its entry is left for the caller to say."""
        try:
            frame = self.frame(a, b, node)
        except _TooManyIndices:   # kept as its factors: a sum may contract them
            labels = tuple(dict.fromkeys(label for v in (a, b) for label in v.axes if label is not None))
            return _Value(None, labels, _SCALAR, factors=a.parts + b.parts)
        left, right = _oriented(a, frame, node), _oriented(b, frame, node)
        a_axes, b_axes = _axes_in(a, frame), _axes_in(b, frame)
        if a_axes == (frame[0], None) and b_axes == (None, frame[1]) and None not in frame:
            built = Node("binop", node.pos, "matmul", [left, right])
        elif b_axes == (frame[0], None) and a_axes == (None, frame[1]) and None not in frame:
            built = Node("binop", node.pos, "matmul", [right, left])
        else:
            built = Node("binop", node.pos, "mul", [left, right])
        return _Value(built, frame, _SCALAR, factors=a.parts + b.parts)

    def product(self, a: _Value, b: _Value, node: Node) -> _Value:
        """The matrix product of the entries: a's columns meet b's rows and are summed."""
        (a_rows, a_cols), (b_rows, b_cols) = a.entry, b.entry
        if a_cols is None and b_rows is None:   # a column times a row: their outer product
            return self.elementwise(a, b, "mul", node)
        if a_cols is None or b_rows is None:
            self.error("the shapes of the entries do not fit a matrix product here", node)
        b = _renamed(b, b_rows, a_cols)
        if _labels(a) & _labels(b) == {a_cols} and not (a.wide or b.wide):
            joined = _matrix_product(a, b, a_cols, node)
            return _Value(joined.node, joined.axes, (a_rows, b_cols))
        joined = self.summed(self.multiply(a, b, node), a_cols, node)
        return _Value(joined.node, joined.axes, (a_rows, b_cols), factors=joined.factors)

    def frame(self, a: _Value, b: _Value, node: Node) -> tuple:
        """The axes of an elementwise result: ``a``'s, with ``b``'s other labels where they fit."""
        if a.wide or b.wide:
            raise _TooManyIndices("more than two indices at once", self.text, node.pos)
        frame = list(a.axes)
        for position, label in enumerate(b.axes):
            if label is None or label in frame:
                continue
            if frame[position] is None:
                frame[position] = label
            elif frame[1 - position] is None:
                frame[1 - position] = label
            else:
                raise _TooManyIndices("more than two indices at once", self.text, node.pos)
        return tuple(frame)

    def too_wide(self, node: Node):
        self.error("this needs more than two indices at once (an entry that is a vector, at each pair of "
                   "indices) before a sum contracts them: write it in matrix form", node)

    # -- back to a plain tree ---------------------------------------------------------------------
    def entries(self, value: _Value, free: tuple, node: Node) -> Node:
        """The matrix (one index: the column) whose entries ``value`` gives at the ``free`` indices."""
        if value.wide:
            self.too_wide(node)
        rest = value.indices - set(free)
        if value.entry != _SCALAR or rest:
            self.error(f"the index {', '.join(sorted(rest))} is not summed over" if rest else
                       "the expression is not one entry at the indices its left side names", node)
        target = (free[0], free[1] if len(free) > 1 else None)
        # entries that do not depend on an index: the same along it (a column or row of ones)
        ones = {label: Node("name", node.pos, "onecol") for label in target if label and label not in value.indices}
        built = _Value(value.node, value.axes, _SCALAR)
        for label in target:
            if label in ones:
                column = _Value(ones[label], (label, None), _SCALAR)
                built = self.multiply(built, column, node)
        if built.axes == target:
            return built.node
        if built.axes == target[::-1]:
            return _transposed(built.node, node)
        self.error("the entries do not fit the shape the left side names", node)

    def plain(self, value: _Value, node: Node) -> Node:
        """The tree of a value that no longer depends on an index, oriented as its entry."""
        if value.wide:
            self.too_wide(node)
        if value.indices:
            free = ", ".join(sorted(value.indices))
            self.error(f"the index {free} is not summed over (\\sum_{free} …): an entry of the result is not read",
                       node)
        if not value.known or value.axes == value.entry:
            return value.node
        return _transposed(value.node, node)


class _TooManyIndices(ParseError):
    """A product that would need a third axis (tried again, associated the other way)."""


def _is_two(node: Node) -> bool:
    return node.kind == "num" and node.text == "2"


def _summed_along(value: _Value, label, node: Node) -> _Value:
    axes = tuple(None if a == label else a for a in value.axes)
    return _Value(Node("call", node.pos, "sum", [value.node], value.axes.index(label)), axes, value.entry)


def _matrix_product(a: _Value, b: _Value, label, node: Node) -> _Value:
    """Σ over ``label`` of a ⊙ b, where it is their only shared label: a with that axis last
    times b with it first."""
    left = a.node if a.axes[1] == label else _transposed(a.node, node)
    right = b.node if b.axes[0] == label else _transposed(b.node, node)
    a_other = a.axes[0] if a.axes[1] == label else a.axes[1]
    b_other = b.axes[1] if b.axes[0] == label else b.axes[0]
    return _Value(Node("binop", node.pos, "matmul", [left, right]), (a_other, b_other), _SCALAR)


def _factors(node: Node) -> list:
    if node.kind == "binop" and node.text in _PRODUCTS:
        return _factors(node.children[0]) + _factors(node.children[1])
    return [node]


def _labels(value: _Value) -> set:
    return {label for label in value.axes if label is not None}


def _renamed(value: _Value, old, new) -> _Value:
    if old == new:
        return value
    def swap(label):
        return new if label == old else label
    return _Value(value.node, tuple(map(swap, value.axes)), tuple(map(swap, value.entry)), value.known,
                  tuple(_renamed(f, old, new) for f in value.factors),
                  tuple(_renamed(t, old, new) for t in value.terms))


def _axes_in(value: _Value, frame: tuple) -> tuple:
    """The axes ``value`` has once oriented to ``frame`` (its labels where the frame has them)."""
    labels = _labels(value)
    return tuple(label if label in labels else None for label in frame)


def _oriented(value: _Value, frame: tuple, node: Node) -> Node:
    target = _axes_in(value, frame)
    if value.axes == target:
        return value.node
    return _transposed(value.node, node)


def _transposed(tree: Node, node: Node) -> Node:
    return Node("T", node.pos, "'", [tree])
