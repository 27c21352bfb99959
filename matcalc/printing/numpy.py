"""numpy code from expressions, and callables that run it.

``numpy_source(expr)`` writes a plain Python function of 2-D arrays (vectors ``(n, 1)``, scalars
as floats) that imports only numpy; subexpressions used more than once are computed once.
``compile_numpy(expr)`` compiles that source (the one place in matcalc that calls ``exec``, on
code generated from a validated expression tree) and wraps it in a ``NumpyFunction``, which
takes arrays by variable name, checks their shapes, accepts vectors as ``(n,)`` or ``(n, 1)``,
and returns scalars as floats.
"""
from __future__ import annotations

import keyword
from fractions import Fraction

import numpy as np

from .. import expr as E
from ..errors import MatcalcError, ShapeError
from ..limits import guarded
from ..shapes import SCALAR, resolve_dim, shape_text

HELPERS = {
    "sigmoid": (
        "def sigmoid(z):\n"
        "    return np.exp(-np.logaddexp(0.0, -z))\n"),
    "softmax": (
        "def softmax(z):\n"
        "    e = np.exp(z - np.max(z))\n"
        "    return e / np.sum(e)\n"),
    "commutation": (
        "def commutation(m, n):\n"
        "    k = np.zeros((m * n, m * n))\n"
        "    i, j = np.meshgrid(np.arange(m), np.arange(n), indexing='ij')\n"
        "    k[(i * n + j).ravel(), (j * m + i).ravel()] = 1.0\n"
        "    return k\n"),
    "log_softmax": (
        "def log_softmax(z):\n"
        "    shifted = z - np.max(z)\n"
        "    return shifted - np.log(np.sum(np.exp(shifted)))\n"),
}

_FUNCTIONS = {
    "exp": "np.exp({})", "log": "np.log({})", "sin": "np.sin({})", "cos": "np.cos({})",
    "tan": "np.tan({})", "tanh": "np.tanh({})", "sigmoid": "sigmoid({})",
    "relu": "np.maximum({}, 0.0)", "softplus": "np.logaddexp(0.0, {})", "abs": "np.abs({})",
    "step": "np.heaviside({}, 0.0)", "sign": "np.sign({})",
}
_CALLS = {
    "inv": "np.linalg.inv({})", "det": "np.linalg.det({})", "logdet": "np.linalg.slogdet({})[1]",
    "trace": "np.trace({})", "sum": "np.sum({})", "norm2": "np.linalg.norm({})",
    "diag": "np.diagflat({})", "diagvec": "np.diag({}).reshape(-1, 1)",
    "softmax": "softmax({})", "log_softmax": "log_softmax({})",
}

MAX_NESTING = 30   # nested calls before the code takes a temporary (Python's parser allows 200)

# Python precedence levels of what a piece of generated code is
_ADD, _MUL, _UNARY, _POW, _ATOM = 1, 2, 3, 4, 5
_RESERVED = {"np", "sigmoid", "softmax", "log_softmax", "commutation"}


def python_name(name: str) -> str:
    safe = name if name.isidentifier() and not keyword.iskeyword(name) else "v_" + \
        "".join(ch if ch.isalnum() else "_" for ch in name)
    return safe + "_" if safe in _RESERVED else safe


def dim_name(d) -> str:
    return "size_" + "_".join(str(f) for f in (d if isinstance(d, tuple) else (d,)))


class NumpyWriter:
    """Writes the body of a function that evaluates one or more expressions."""

    def __init__(self, exprs: list):
        self.exprs = exprs
        self.lines: list = []
        self.done: dict = {}
        self.levels: dict = {}   # how deep the code of a node nests (temporaries reset it)
        self.helpers: set = set()
        self.dims: set = set()
        self._temps = 0
        uses: dict = {}
        seen: set = set()
        for e in exprs:
            uses[e] = uses.get(e, 0) + 1   # a result is a use
            for node in E.walk(e):
                if node in seen:
                    continue
                seen.add(node)
                for a in node.args:
                    uses[a] = uses.get(a, 0) + 1
        self.shared = {n for n, k in uses.items() if k > 1 and n.args}

    def code(self, e: E.Expr) -> tuple:
        """``(code, precedence)``, with shared subexpressions assigned to temporaries."""
        hit = self.done.get(e)
        if hit is None:
            for node in E.walk(e):   # operands first, so that no call recurses deeply
                if node not in self.done:
                    self.done[node] = self._emit(node)
            hit = self.done[e]
        return hit

    def _emit(self, e: E.Expr) -> tuple:
        """The code of ``e`` (its operands are done); a temporary if ``e`` is used more than once,
        or if its code nests too deep for Python's parser."""
        text, prec = self._code(e)
        level = 1 + max((self.levels.get(a, 0) for a in e.args), default=0)
        if e in self.shared or level > MAX_NESTING:
            self._temps += 1
            temp = f"t{self._temps}"
            self.lines.append(f"{temp} = {text}")
            return temp, _ATOM
        self.levels[e] = level
        return text, prec

    def at(self, e: E.Expr, level: int) -> str:
        text, prec = self.code(e)
        return text if prec >= level else f"({text})"

    def number(self, value) -> tuple:
        if isinstance(value, Fraction):
            if value.denominator == 1:
                text = f"{value.numerator}"
            else:
                text = f"{value.numerator} / {value.denominator}"
                return (text, _MUL) if value > 0 else (text, _UNARY)
        else:
            text = repr(float(value))
        return text, (_UNARY if text.startswith("-") else _ATOM)

    def dim(self, d) -> str:
        if isinstance(d, int):
            return str(d)
        self.dims.add(d)
        return dim_name(d)

    def shape(self, shape) -> str:
        return f"({self.dim(shape[0])}, {self.dim(shape[1])})"

    def _code(self, e: E.Expr) -> tuple:
        op = e.op
        if op == "var":
            return python_name(e.data[0]), _ATOM
        if op == "const":
            return self.number(e.data)
        if op == "dim":
            return self.dim(e.data), _ATOM
        if op == "zero":
            return f"np.zeros({self.shape(e.shape)})", _ATOM
        if op == "ones":
            return f"np.ones({self.shape(e.shape)})", _ATOM
        if op == "eye":
            return f"np.eye({self.dim(e.shape[0])})", _ATOM
        if op == "add":
            return self.sum_code(e), _ADD
        if op == "mul":
            return self.product_code(e)
        if op == "matmul":
            return self.chain_code(e.args), _MUL
        if op == "pow":
            base, exponent = e.args
            if exponent.op == "const" and exponent.data == Fraction(1, 2):
                return f"np.sqrt({self.code(base)[0]})", _ATOM
            if exponent.op == "const" and exponent.data == -1:
                return f"1.0 / {self.at(base, _POW)}", _MUL
            return f"{self.at(base, _POW + 1)} ** {self.at(exponent, _POW)}", _POW
        if op == "T":
            return f"{self.at(e.args[0], _ATOM)}.T", _ATOM
        if op == "fn":
            if e.data in HELPERS:
                self.helpers.add(e.data)
            return _FUNCTIONS[e.data].format(self.code(e.args[0])[0]), _ATOM
        if op in _CALLS:
            if op in HELPERS:
                self.helpers.add(op)
            return _CALLS[op].format(self.code(e.args[0])[0]), _ATOM
        if op == "vec":
            return f"{self.at(e.args[0], _ATOM)}.reshape(-1, 1, order='F')", _ATOM
        if op == "unvec":
            return f"{self.at(e.args[0], _ATOM)}.reshape({self.dim(e.shape[0])}, {self.dim(e.shape[1])}, " \
                "order='F')", _ATOM
        if op == "commutation":
            self.helpers.add("commutation")
            return f"commutation({self.dim(e.data[0])}, {self.dim(e.data[1])})", _ATOM
        if op == "kron":
            return f"np.kron({self.code(e.args[0])[0]}, {self.code(e.args[1])[0]})", _ATOM
        raise MatcalcError(f"no numpy form for {op}")

    def chain_code(self, factors) -> str:
        """A matrix product; a diagonal factor scales rows or columns instead of being formed:
        ``diag(d) M`` -> ``d * M``, ``M diag(d)`` -> ``M * d.T``."""
        pieces = []
        pending_diag = None
        for f in factors:
            if f.op == "diag":
                d = self.at(f.args[0], _ATOM)
                if pieces:
                    pieces[-1] = f"({pieces[-1]} * {d}.T)"
                else:
                    pending_diag = d if pending_diag is None else f"({pending_diag} * {d})"
                continue
            code = self.at(f, _MUL + 1)
            if pending_diag is not None:
                code = f"({pending_diag} * {code})"
                pending_diag = None
            pieces.append(code)
        if pending_diag is not None:   # a chain that is only diagonal factors
            return f"np.diagflat({pending_diag})"
        return " @ ".join(pieces)

    def sum_code(self, e: E.Expr) -> str:
        pieces = []
        for i, term in enumerate(e.args):
            c, rest = E.split_coefficient(term)
            if c < 0 and i > 0:
                positive = E.scale(-c, rest) if rest is not None else E.const(-c)
                pieces.append(" - " + self.at(positive, _MUL))
            else:
                pieces.append((" + " if i else "") + self.at(term, _ADD if i == 0 else _MUL))
        return "".join(pieces)

    def product_code(self, e: E.Expr) -> tuple:
        top, bottom = [], []
        for f in e.args:
            if f.op == "pow" and f.args[1].op == "const" and f.args[1].data < 0:
                bottom.append(f.args[0] if f.args[1].data == -1 else E.power(f.args[0], E.const(-f.args[1].data)))
            else:
                top.append(f)
        negative = bool(top) and top[0].op == "const" and top[0].data == -1 and len(top) > 1
        if negative:
            top = top[1:]
        # * and @ share a precedence level, left to right: later factors need parentheses
        text = " * ".join(self.at(f, _MUL if i == 0 else _MUL + 1) for i, f in enumerate(top)) \
            if top else "1.0"
        for f in bottom:
            text += " / " + self.at(f, _MUL + 1)
        return (f"-({text})" if " " in text else f"-{text}", _UNARY) if negative else (text, _MUL)


class TensorWriter(NumpyWriter):
    """Writes a differential ``dF`` (linear in ``dX``) as the full array of the derivative:
    shape ``(rows of F, cols of F, rows of X, cols of X)``, entry ``[i, j, k, l] = ∂F_ij/∂X_kl``.

    Every node that depends on ``dX`` becomes a 4-D array whose last two axes follow ``dX``;
    products are ``einsum``s, so no Kronecker product is ever formed."""

    def __init__(self, exprs: list, dx: E.Expr):
        super().__init__(exprs)
        self.dx = dx

    def _code(self, e: E.Expr) -> tuple:
        if not e.depends_on(self.dx):
            return super()._code(e)
        op = e.op
        if e is self.dx:
            r, c = (self.dim(d) for d in self.dx.shape)
            return f"np.eye({r})[:, None, :, None] * np.eye({c})[None, :, None, :]", _MUL
        if op == "add":
            return " + ".join(self.at(a, _ADD + 1) for a in e.args), _ADD
        if op == "mul":
            inner = next(a for a in e.args if a.depends_on(self.dx))
            others = [a for a in e.args if a is not inner]
            scale = self.code(E.mul(*others))[0]
            return f"np.asarray({scale})[..., None, None] * {self.at(inner, _MUL + 1)}", _MUL
        if op == "matmul":
            i = next(k for k, a in enumerate(e.args) if a.depends_on(self.dx))
            if e.args[i] is self.dx:   # (L dX R)[i, j, k, l] = L[i, k] R[l, j]
                rows, cols = (self.dim(d) for d in self.dx.shape)
                left = self.code(E.matmul(*e.args[:i]))[0] if i > 0 else f"np.eye({rows})"
                right = self.code(E.matmul(*e.args[i + 1:]))[0] if i < len(e.args) - 1 else f"np.eye({cols})"
                return f"np.einsum('ik,lj->ijkl', {left}, {right})", _ATOM
            operands, spec = [], []
            if i > 0:
                operands.append(self.code(E.matmul(*e.args[:i]))[0])
                spec.append("ia")
            operands.append(self.code(e.args[i])[0])
            spec.append(("a" if i > 0 else "i") + ("b" if i < len(e.args) - 1 else "j") + "kl")
            if i < len(e.args) - 1:
                operands.append(self.code(E.matmul(*e.args[i + 1:]))[0])
                spec.append("bj")
            return f"np.einsum('{','.join(spec)}->ijkl', {', '.join(operands)})", _ATOM
        inner = self.at(e.args[0], _ATOM) if e.args else ""
        if op == "T":
            return f"{inner}.transpose(1, 0, 2, 3)", _ATOM
        if op == "trace":
            return f"np.einsum('iikl->kl', {inner})[None, None]", _ATOM
        if op == "sum":
            return f"{inner}.sum(axis=(0, 1), keepdims=True)", _ATOM
        if op == "diag":
            return f"np.einsum('ij,ikl->ijkl', np.eye({self.dim(e.shape[0])}), {inner}[:, 0])", _ATOM
        if op == "diagvec":
            return f"np.einsum('iikl->ikl', {inner})[:, None]", _ATOM
        if op == "vec":
            return f"{inner}.transpose(1, 0, 2, 3).reshape(-1, 1, *{inner}.shape[2:])", _ATOM
        if op == "unvec":
            rows, cols = (self.dim(d) for d in e.shape)
            return f"{inner}[:, 0].reshape({cols}, {rows}, *{inner}.shape[2:]).transpose(1, 0, 2, 3)", _ATOM
        raise MatcalcError(f"no array form for a derivative through {op}")


def numpy_source(exprs, name: str = "f", variables=None, writer=None) -> tuple:
    """``(source, parameter names, free dims)`` of a function returning ``exprs``.

    Dimensions are read from the shapes of the inputs; a dimension that no input has (as in
    ``trace(eye(n))``) becomes a parameter ``size_n`` after the variables, listed in free dims."""
    single = isinstance(exprs, E.Expr)
    exprs = [exprs] if single else list(exprs)
    if variables is None:
        variables = sorted(set().union(*(e.free_vars for e in exprs)), key=lambda v: v.name)
    writer = writer or NumpyWriter(exprs)
    results = [writer.code(e)[0] for e in exprs]
    params = [python_name(v.name) for v in variables]
    known = {d: f"{python_name(v.name)}.shape[{axis}]"
             for v in reversed(variables) for axis, d in enumerate(v.shape) if isinstance(d, str)}
    names = {f for d in writer.dims for f in (d if isinstance(d, tuple) else (d,)) if isinstance(f, str)}
    free_dims = sorted(names - known.keys())
    params += [dim_name(d) for d in free_dims]
    dim_lines = [f"{dim_name(d)} = {_dim_code(d, known)}" for d in sorted(writer.dims, key=str)
                 if d not in free_dims]
    body = dim_lines + writer.lines + [f"return {results[0] if single else '(' + ', '.join(results) + ',)'}"]
    parts = ["import numpy as np", ""]
    for h in sorted(writer.helpers):
        parts += ["", HELPERS[h]]
    parts += ["", f"def {name}({', '.join(params)}):"] + [f"    {line}" for line in body]
    return "\n".join(parts).strip() + "\n", params, free_dims


def _dim_code(d, known: dict) -> str:
    if isinstance(d, tuple):
        return " * ".join(_dim_code(f, known) if f in known else dim_name(f) for f in d)
    return known[d]


def compile_source(source: str, name: str):
    """Compile generated source. This is matcalc's only ``exec``: the code comes from a
    validated expression tree, never from user text."""
    namespace: dict = {}
    exec(compile(source, f"<matcalc {name}>", "exec"), namespace)  # noqa: S102
    return namespace[name]


def coerce_input(name: str, value, shape, sizes: dict) -> np.ndarray:
    """An input as a 2-D float array (a float for scalars), its dims checked and recorded."""
    try:
        a = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise ShapeError(f"{name}: expected numbers, got {type(value).__name__}") from None
    if shape == SCALAR:
        if a.size != 1:
            raise ShapeError(f"{name} is a scalar but got an array of shape {a.shape}")
        return float(a.reshape(-1)[0])
    rows, cols = shape
    if a.ndim == 1 and (rows == 1 or cols == 1):
        a = a.reshape(-1, 1) if cols == 1 else a.reshape(1, -1)
    if a.ndim != 2:
        raise ShapeError(f"{name} should be {shape_text(shape)}, got an array of shape {a.shape}")
    for declared, actual in zip(shape, a.shape):
        if isinstance(declared, int):
            if declared != actual:
                raise ShapeError(f"{name} should be {shape_text(shape)}, got {a.shape[0]}×{a.shape[1]}")
        elif isinstance(declared, str):
            seen = sizes.setdefault(declared, actual)
            if seen != actual:
                raise ShapeError(f"{name}: dimension {declared} is {actual} here but {seen} in an "
                                 f"earlier input")
    return a


class NumpyFunction:
    """A compiled expression: call it with arrays by variable name.

    ``output``: ``"value"`` returns scalars as floats and other results as 2-D arrays (vectors
    as ``(n,)`` when every vector input was given 1-D); ``"matrix"`` always a 2-D array;
    ``("like", name)`` an array shaped like the input ``name`` was passed (gradients).
    """

    def __init__(self, exprs, name="f", output="value", required=(), accepted=(), differential_of=None):
        self.single = isinstance(exprs, E.Expr)
        self.exprs = [exprs] if self.single else list(exprs)
        used = set().union(*(e.free_vars for e in self.exprs)) | set(required)
        writer = None
        if differential_of is not None:   # ("tensor" output) the array of a differential
            self.dx, self.wrt = differential_of
            used.discard(self.dx)
            writer = TensorWriter(self.exprs, self.dx)
        self.variables = sorted(used, key=lambda v: v.name)
        self.source, self.params, self.free_dims = numpy_source(exprs, name, self.variables, writer)
        self.function = compile_source(self.source, name)
        self.output = output
        self.optional = [v for v in accepted if v not in used]

    @property
    def accepts(self) -> set:
        """The keyword arguments this function takes: variable names and free sizes."""
        return {v.name for v in self.variables} | {v.name for v in self.optional} | set(self.free_dims)

    def __call__(self, **arrays):
        missing = [v.name for v in self.variables if v.name not in arrays]
        missing += [f"{d} (a size)" for d in self.free_dims if d not in arrays]
        if missing:
            raise MatcalcError(f"missing input(s): {', '.join(missing)}")
        known = self.accepts
        unknown = sorted(set(arrays) - known)
        if unknown:
            raise MatcalcError(f"unknown input(s): {', '.join(unknown)}; expected "
                               f"{', '.join(sorted(known))}")
        sizes: dict = {}
        args = [coerce_input(v.name, arrays[v.name], v.shape, sizes) for v in self.variables]
        for v in self.optional:
            if v.name in arrays:
                coerce_input(v.name, arrays[v.name], v.shape, sizes)
        for d in self.free_dims:
            if sizes.setdefault(d, arrays[d]) != arrays[d]:
                raise ShapeError(f"the size {d}={arrays[d]} disagrees with the inputs ({d}={sizes[d]})")
            args.append(int(arrays[d]))
        with np.errstate(all="ignore"):
            results = self.function(*args)
        if self.single:
            results = (results,)
        shaped = [self._shape_output(r, e, arrays) for r, e in zip(results, self.exprs)]
        return shaped[0] if self.single else tuple(shaped)

    def _shape_output(self, value, e: E.Expr, arrays):
        a = np.asarray(value, dtype=float)
        if self.output == "tensor":   # out axes then variable axes, without the unit axes of vectors
            full = resolve_shape(e.shape, arrays, self.variables) + \
                resolve_shape(self.wrt.shape, arrays, self.variables)
            keep = [n for n, d in zip(full, e.shape + self.wrt.shape) if d != 1]
            if a.ndim < 4:   # a differential that does not depend on dX is zero
                return np.zeros(keep)
            return np.broadcast_to(a, full).reshape(keep).copy()
        if e.shape == SCALAR:
            return float(a.reshape(-1)[0])
        full = resolve_shape(e.shape, arrays, self.variables)
        a = np.broadcast_to(a, full).copy() if a.shape != full else a
        if self.output == "matrix":
            return a
        if self.output == "value":
            vectors = [np.ndim(arrays[v.name]) for v in self.variables
                       if v.shape != SCALAR and 1 in v.shape]
            if vectors and all(n == 1 for n in vectors) and 1 in e.shape:
                return a.reshape(-1)
            return a
        like = arrays[self.output[1]]
        if np.ndim(like) == 1 and 1 in e.shape:
            return a.reshape(-1)
        return a

    def __repr__(self):
        return f"<numpy function of {', '.join(self.params)}>"


def resolve_shape(shape, arrays, variables) -> tuple:
    sizes = {k: v for k, v in arrays.items() if isinstance(v, int)}
    for v in variables:
        a = np.asarray(arrays[v.name])
        for declared, axis in zip(v.shape, (0, 1)):
            if isinstance(declared, str):
                if a.ndim == 2:
                    sizes[declared] = a.shape[axis]
                elif a.ndim == 1:
                    sizes[declared] = a.shape[0]
    return tuple(resolve_dim(d, sizes) for d in shape)


@guarded
def compile_numpy(e: E.Expr) -> NumpyFunction:
    return NumpyFunction(e, "f")
