"""One code generator, several array libraries: numpy, jax (``jax.numpy``) and torch.

``source(exprs, backend)`` writes a plain Python function of 2-D arrays (vectors ``(n, 1)``)
that imports only its array library. The code is written for speed, not just transcribed:

- every subexpression used more than once is computed once (into ``t1``, ``t2``, …);
- a diagonal factor scales rows or columns instead of being formed (``diag(d) M`` -> ``d * M``);
- ``inv(A) B`` is ``solve(A, B)``; ``tr(A B)`` is ``sum(A ⊙ Bᵀ)``; a Kronecker product applied
  to a vector is two matrix products on the reshaped vector, never formed;
- a sum of matrices times a vector is distributed (``(A + Aᵀ) x`` -> ``A @ x + A.T @ x``);
- a product of three or more matrices is ``multi_dot``, which picks the cheapest order for the
  sizes at call time;
- ``Xᵀ diag(d) X`` with ``d ≥ 0`` is ``Zᵀ Z`` with ``Z = √d ⊙ X`` (a symmetric product);
- ``logdet`` of a positive definite variable goes through its Cholesky factor;
- for XLA (jax), ``Aᵀ x`` is written ``(xᵀ A)ᵀ``, which avoids materialising a transpose;
- ``sigmoid``, ``softplus`` and ``log_softmax`` are the numerically stable forms;
- a matrix of equal rows ``𝟏 r`` (or equal columns ``c 𝟏ᵀ``) that only enters sums and
  elementwise products with a full matrix is the row ``r`` (column ``c``), broadcast: never formed;
- a sum that contains every term of another sum computed in the function adds the rest to it
  (``S − 𝟏 𝟏ᵀ S / h`` with ``S = a + b``: ``a + b`` once).

``TensorWriter`` writes a differential as the full array of an order-3 or order-4 derivative
with ``einsum``.

The code computes the numbers numpy would, whatever the names and constants:

- one ``Namespace`` per function gives every variable, temporary and size a distinct Python
  identifier, none of them a global the code reads (the library, the helpers); a variable keeps
  its own name where that is free (``t1``, ``np`` or ``None`` as a variable becomes ``t1_1``,
  ``np_1``, ``None_1``);
- a constant or a size that ``**`` or a library function reads is a float64 scalar of the
  library, so ``(-8) ** (1/3)`` is nan and ``3.0 ** 1000`` inf (never a Python complex or an
  ``OverflowError``); sizes used as numbers are floats too; a constant beyond the exact floats is
  written as the nearest float (``±inf`` beyond the largest);
- ``norm2`` is scaled where its sum of squares would overflow or underflow (at 1e±200).
"""
from __future__ import annotations

import keyword
import math
import re
import unicodedata
from dataclasses import dataclass, field
from fractions import Fraction

from .. import expr as E
from ..errors import MatcalcError
from ..shapes import SCALAR

MAX_NESTING = 30   # nested calls before the code takes a temporary (Python's parser allows 200)
SUM_CHUNK = 100    # terms of a sum on one line of code
EXACT = 2 ** 53    # integers up to this size are exact floats: written as they are, larger ones as floats
TEMPORARY = "t"    # temporaries are t1, t2, …
SIZE = "size_"     # a size is size_n (size_m_n for the product of m and n)
SQRT_2PI = math.sqrt(2 * math.pi)   # the normal density's constant, written as a float literal

# Python precedence levels of what a piece of generated code is
ADD, MUL, UNARY, POW, ATOM = 1, 2, 3, 4, 5


@dataclass(frozen=True)
class Backend:
    """What one array library calls things. Templates take ``{x}`` (and ``{a}``, ``{b}``).

    ``module`` is the name the library is imported as; ``builtins`` the Python builtins the
    templates call. With the helpers, they are the global names the generated code reads
    (``reserved``): no variable, temporary or size may take them."""
    name: str
    header: str
    module: str
    functions: dict                 # elementwise function -> template
    calls: dict                     # operation -> template
    helpers: dict                   # helper function name -> source
    zeros: str
    ones: str
    eye: str
    solve: str
    multi_dot: str
    cholesky_logdet: str
    asarray: str
    scalar: str                     # a Python number or size as a float64 scalar of the library
    inf: str
    permute: str                    # axes (1, 0, 2, 3) of a 4-D array
    sum_first_two: str
    kron: str
    einsum: str
    transpose_free: bool = False    # write Aᵀ x as (xᵀ A)ᵀ (XLA)
    builtins: frozenset = field(default_factory=frozenset)
    multi_dot_limit: int = 0        # the most factors one multi_dot call takes (0: any number)
    # new arrays take the dtype (and device) of the inputs: the first line of a function that makes
    # one reads them from its first input ({x}), or takes the defaults where it has none; helpers
    # that make arrays take them as the keyword arguments ``like_args``
    prologue: str = ""
    prologue_default: str = ""
    like_args: str = ""

    @property
    def reserved(self) -> frozenset:
        return frozenset({self.module, *self.helpers, *self.builtins})


def array_backend(name: str, xp: str, header: str, transpose_free: bool = False,
                  eager: bool = False, multi_dot_limit: int = 0, special: str | None = None,
                  linalg: str | None = None) -> Backend:
    """The backend of a numpy-like library imported as ``xp`` (numpy, jax.numpy).

    ``eager``: each operation runs on its own (numpy), so the stable forms are written to make few
    passes over the data, and may branch on values; a compiler (XLA) fuses the elementwise forms
    itself, and traces the code, so it takes branch-free forms. New arrays in jax code take the
    inputs' dtype (float32 stays float32); numpy computes in float64."""
    like = "" if eager else ", dtype=dtype_"
    helpers = {
        # σ(z) = 1/(1 + e⁻ᶻ) is accurate in both tails (e⁻ᶻ = inf gives 0)
        "sigmoid": f"def sigmoid(z):\n    return 1 / (1 + {xp}.exp(-z))\n",
        "softmax": (f"def softmax(z, axis=None):\n    e = {xp}.exp(z - {xp}.max(z, axis=axis, keepdims=True))\n"
                    f"    return e / {xp}.sum(e, axis=axis, keepdims=True)\n"),
        "log_softmax": (f"def log_softmax(z, axis=None):\n    shifted = z - {xp}.max(z, axis=axis, keepdims=True)\n"
                        f"    return shifted - {xp}.log({xp}.sum({xp}.exp(shifted), axis=axis, keepdims=True))\n"),
        "commutation": (f"def commutation(m, n, dtype=float):\n"   # row i n + j has its 1 in column j m + i
                        f"    i, j = {xp}.meshgrid({xp}.arange(m), {xp}.arange(n), indexing='ij')\n"
                        f"    return {xp}.eye(m * n, dtype=dtype)[(j * m + i).ravel()]\n"),
        "norm2": scaled_norm(xp, f"{xp}.max", f"{xp}.linalg.norm"),
        # log Σ exp(z) = m + log Σ exp(z − m), m the largest entry (a finite one)
        "logsumexp": (f"def logsumexp(z, axis=None):\n"
                      f"    m = {xp}.max(z, axis=axis, keepdims=axis is not None)\n"
                      f"    m = {xp}.where({xp}.isfinite(m), m, 0.0)\n"
                      f"    return {xp}.log({xp}.sum({xp}.exp(z - m), axis=axis, keepdims=axis is not None)) + m\n"),
    }
    special = special or ("scipy.special" if eager else "jax.scipy.special")   # erf and the normal cdf
    linalg = linalg or ("scipy.linalg" if eager else "jax.scipy.linalg")       # expm and its Fréchet derivative
    helpers.update({
        "erf": f"def erf(z):\n    import {special}\n    return {special}.erf(z)\n",
        "normcdf": f"def normcdf(z):\n    import {special}\n    return {special}.ndtr(z)\n",
        # φ(z) = e^(−z²/2) / √(2π)
        "normpdf": f"def normpdf(z):\n    return {xp}.exp(-0.5 * z * z) / {SQRT_2PI!r}\n",
        "gelu": f"def gelu(z):\n    import {special}\n    return z * {special}.ndtr(z)\n",
        "silu": f"def silu(z):\n    return z / (1 + {xp}.exp(-z))\n",
        "expm": f"def expm(a):\n    import {linalg}\n    return {linalg}.expm(a)\n",
        # L(A, E), the Fréchet derivative of the matrix exponential
        "expm_frechet": (f"def expm_frechet(a, e):\n    import {linalg}\n"
                         f"    return {linalg}.expm_frechet(a, e, compute_expm=False)\n"),
        "lower_half": (f"def lower_half(n, dtype=float):\n"
                       f"    return {xp}.tril({xp}.ones((n, n), dtype=dtype), -1) + 0.5 * {xp}.eye(n, dtype=dtype)\n"),
        **kron_adjoint_helpers(f"{xp}.einsum"),
        # the inverse of a positive definite matrix from its Cholesky factor (half the work of LU)
        "spd_inv": (f"def spd_inv(a):\n    import {linalg}\n    factor = {linalg}.cho_factor(a)\n"
                    f"    return {linalg}.cho_solve(factor, {xp}.eye(a.shape[0], dtype=a.dtype))\n"),
    })
    softplus = f"{xp}.logaddexp(0.0, {{x}})"
    if eager:
        helpers["silu"] = (f"def silu(z):\n    with {xp}.errstate(over='ignore'):\n"
                           f"        return z / (1 + {xp}.exp(-z))\n")
        # numpy warns when e⁻ᶻ overflows (the result, 0, is right)
        helpers["sigmoid"] = (f"def sigmoid(z):\n    with {xp}.errstate(over='ignore'):\n"
                              f"        return 1 / (1 + {xp}.exp(-z))\n")
        # softplus(z) = max(z, 0) + log(1 + e^−|z|): fast passes where logaddexp is one slow one
        helpers["softplus"] = (f"def softplus(z):\n"
                               f"    return {xp}.maximum(z, 0.0) + {xp}.log1p({xp}.exp(-{xp}.abs(z)))\n")
        # the sum of squares is exact unless it overflows or underflows: scale only then
        helpers["norm2"] = (f"def norm2(z):\n    r = {xp}.linalg.norm(z)\n"
                            f"    if 1e-150 < r < 1e150:\n        return r\n"
                            f"    s = {xp}.max({xp}.abs(z))\n"
                            f"    return s * {xp}.linalg.norm(z / s) if 0 < s < {xp}.inf else r\n")
        softplus = "softplus({x})"
        # multi_dot orders any chain by a dynamic program in Python (30-100 µs for 4-8 factors);
        # square factors of one size between narrower ends need no search: sweep from the narrower end
        helpers["chain"] = (f"def chain(*factors):\n"
                            f"    first, last = factors[0], factors[-1]\n"
                            f"    d = first.shape[1]\n"
                            f"    if any(f.shape != (d, d) for f in factors[1:-1]) or last.shape[0] != d \\\n"
                            f"            or first.shape[0] > d or last.shape[1] > d:\n"
                            f"        return {xp}.linalg.multi_dot(factors)\n"
                            f"    if last.shape[1] <= first.shape[0]:\n"
                            f"        out = last\n"
                            f"        for f in reversed(factors[:-1]):\n"
                            f"            out = f @ out\n"
                            f"        return out\n"
                            f"    out = first\n"
                            f"    for f in factors[1:]:\n"
                            f"        out = out @ f\n"
                            f"    return out\n")
    return Backend(
        name=name, header=header, module=xp,
        functions={
            "exp": f"{xp}.exp({{x}})", "log": f"{xp}.log({{x}})", "sin": f"{xp}.sin({{x}})",
            "cos": f"{xp}.cos({{x}})", "tan": f"{xp}.tan({{x}})", "tanh": f"{xp}.tanh({{x}})",
            "sigmoid": "sigmoid({x})", "relu": f"{xp}.maximum({{x}}, 0.0)",
            "softplus": softplus, "abs": f"{xp}.abs({{x}})",
            "step": f"{xp}.heaviside({{x}}, 0.0)", "sign": f"{xp}.sign({{x}})", "sqrt": f"{xp}.sqrt({{x}})",
            "sinh": f"{xp}.sinh({{x}})", "cosh": f"{xp}.cosh({{x}})", "arcsin": f"{xp}.arcsin({{x}})",
            "arccos": f"{xp}.arccos({{x}})", "arctan": f"{xp}.arctan({{x}})", "log1p": f"{xp}.log1p({{x}})",
            "expm1": f"{xp}.expm1({{x}})", "erf": "erf({x})", "normcdf": "normcdf({x})",
            "normpdf": "normpdf({x})", "gelu": "gelu({x})", "silu": "silu({x})",
        },
        calls={
            "inv": f"{xp}.linalg.inv({{x}})", "det": f"{xp}.linalg.det({{x}})",
            "matpow": f"{xp}.linalg.matrix_power({{x}}, {{k}})",
            "logdet": f"{xp}.linalg.slogdet({{x}})[1]", "trace": f"{xp}.trace({{x}})",
            "sum": f"{xp}.sum({{x}})", "norm2": "norm2({x})", "diag": f"{xp}.diagflat({{x}})",
            "diagvec": f"{xp}.diag({{x}}).reshape(-1, 1)", "softmax": "softmax({x})",
            "log_softmax": "log_softmax({x})", "softmax_axis": "softmax({x}, axis={axis})",
            "log_softmax_axis": "log_softmax({x}, axis={axis})", "pinv": f"{xp}.linalg.pinv({{x}})",
            "expm": "expm({x})",
            "cholesky": f"{xp}.linalg.cholesky({{x}})", "eigvalsh": f"{xp}.linalg.eigvalsh({{x}}).reshape(-1, 1)",
            "eigvecsh": f"{xp}.linalg.eigh({{x}})[1]", "expm_frechet": "expm_frechet({a}, {b})",
            "kron_blocksum": "kron_blocksum({a}, {b})", "kron_blockdot": "kron_blockdot({a}, {b})",
        },
        helpers=helpers,
        zeros=f"{xp}.zeros({{x}}{like})", ones=f"{xp}.ones({{x}}{like})", eye=f"{xp}.eye({{x}}{like})",
        solve=f"{xp}.linalg.solve({{a}}, {{b}})",
        multi_dot="chain({x})" if eager else f"{xp}.linalg.multi_dot([{{x}}])",
        cholesky_logdet=f"2 * {xp}.sum({xp}.log({xp}.diag({xp}.linalg.cholesky({{x}}))))",
        asarray=f"{xp}.asarray({{x}})",
        # numpy's own float64; in jax a weakly typed float, which takes the dtype of what it meets
        scalar=f"{xp}.float64({{x}})" if eager else f"{xp}.asarray(float({{x}}))",
        inf=f"{xp}.inf", permute="{x}.transpose(1, 0, 2, 3)",
        sum_first_two="{x}.sum(axis=(0, 1), keepdims=True)", kron=f"{xp}.kron({{a}}, {{b}})",
        einsum=f"{xp}.einsum", transpose_free=transpose_free,
        builtins=frozenset() if eager else frozenset({"float", "dtype_"}), multi_dot_limit=multi_dot_limit,
        prologue="" if eager else "dtype_ = {x}.dtype", prologue_default="" if eager else "dtype_ = float",
        like_args=like,
    )


def kron_adjoint_helpers(einsum: str) -> dict:
    """The two adjoints of a Kronecker product, by blocks (``S[i r + k, j s + l]`` is entry
    ``(k, l)`` of block ``(i, j)``): ``Σᵢⱼ Aᵢⱼ S₍ᵢⱼ₎`` and ``[⟨S₍ᵢⱼ₎, D⟩]ᵢⱼ``."""
    return {
        "kron_blocksum": (f"def kron_blocksum(a, s):\n    p, q = a.shape\n"
                          f"    blocks = s.reshape(p, s.shape[0] // p, q, s.shape[1] // q)\n"
                          f"    return {einsum}('ij,irjs->rs', a, blocks)\n"),
        "kron_blockdot": (f"def kron_blockdot(s, d):\n    r, c = d.shape\n"
                          f"    blocks = s.reshape(s.shape[0] // r, r, s.shape[1] // c, c)\n"
                          f"    return {einsum}('irjs,rs->ij', blocks, d)\n"),
    }


def logsumexp_parts(e: E.Expr):
    """``(Z, axis)`` where ``e`` is a sum of ``exp(Z)``: of all entries (axis ``None``), of each
    column (``𝟏ᵀ exp(Z)``, axis 0) or of each row (``exp(Z) 𝟏``, axis 1); else ``None``."""
    def exp_of(f):
        return f.args[0] if f.op == "fn" and f.data == "exp" else None
    if e.op == "sum" and exp_of(e.args[0]) is not None:
        return exp_of(e.args[0]), None
    if e.op == "matmul" and len(e.args) == 2:
        first, second = e.args
        if first.op == "ones" and first.shape[0] == 1 and exp_of(second) is not None:   # 𝟏ᵀ exp(Z), one row
            return exp_of(second), 0
        if second.op == "ones" and second.shape[1] == 1 and exp_of(first) is not None:   # exp(Z) 𝟏, one column
            return exp_of(first), 1
    return None


def scaled_norm(xp: str, amax: str, norm: str) -> str:
    """A branch-free ‖z‖ that neither overflows nor underflows: ``s ‖z / s‖`` with ``s = max |z|``
    (``s = 1`` where that is 0, inf or nan, whose norms need no scaling)."""
    return (f"def norm2(z):\n    s = {amax}({xp}.abs(z))\n"
            f"    s = {xp}.where((s > 0) & (s < {xp}.inf), s, 1.0)\n"
            f"    return s * {norm}(z / s)\n")


class Namespace:
    """The identifiers of one generated function, all distinct as Python sees them: its parser
    compares identifiers after NFKC normalisation (``ｘ`` is ``x``, ``ﬁ`` is ``fi``). No name is a
    keyword or soft keyword, or one of the ``reserved`` globals. A wanted name that is taken gets
    a suffix (``np`` -> ``np_1``, ``None`` -> ``None_1``)."""

    def __init__(self, reserved=()):
        self._taken = {unicodedata.normalize("NFKC", name) for name in reserved}
        self._counters: dict = {}

    def free(self, name: str) -> bool:
        key = unicodedata.normalize("NFKC", name)
        return key.isidentifier() and not _is_keyword(key) and key not in self._taken

    def claim(self, wanted: str) -> str:
        """``wanted`` if it is free, else the first free ``wanted_1``, ``wanted_2``, …"""
        if not unicodedata.normalize("NFKC", wanted).isidentifier():   # check_name's names always are
            raise MatcalcError(f"{wanted!r} is not a Python identifier")
        name, k = wanted, 0
        while not self.free(name):
            k += 1
            name = f"{wanted}_{k}"
        self._taken.add(unicodedata.normalize("NFKC", name))
        return name

    def numbered(self, prefix: str) -> str:
        """The next free ``prefix1``, ``prefix2``, … (temporaries)."""
        k = self._counters.get(prefix, 0) + 1
        while not self.free(f"{prefix}{k}"):
            k += 1
        self._counters[prefix] = k
        return self.claim(f"{prefix}{k}")

    def variables(self, variables) -> dict:
        """A name for each variable: its own where that is free (those come first, so that a
        renamed one cannot take a name another variable has), then the others, suffixed."""
        names = {v: self.claim(v.name) for v in variables if self.free(v.name)}
        names.update({v: self.claim(v.name) for v in variables if v not in names})
        return names


def _is_keyword(name: str) -> bool:
    return keyword.iskeyword(name) or keyword.issoftkeyword(name)


def size_name(d) -> str:
    """The name a size is wanted under: ``size_n``, ``size_m_n`` for a product of dims."""
    return SIZE + "_".join(str(f) for f in (d if isinstance(d, tuple) else (d,)))


def complement_of_sigmoid(e: E.Expr) -> E.Expr | None:
    """``z`` if ``e`` is ``1 − σ(z)`` (of σ's shape), else ``None``."""
    if e.op != "add" or len(e.args) != 2:
        return None
    others = [a for a in e.args if not E.is_const(a, 1)]
    if len(others) != 1:
        return None
    c, rest = E.split_coefficient(others[0])
    if c == -1 and rest is not None and rest.op == "fn" and rest.data == "sigmoid" and rest.shape == e.shape:
        return rest.args[0]
    return None


def nonnegative(e: E.Expr) -> bool:
    """Known to be ``≥ 0`` everywhere (used to write ``Xᵀ diag(d) X`` as ``Zᵀ Z``)."""
    op = e.op
    if op == "const":
        return e.data >= 0
    if op in ("ones", "dim", "norm2", "softmax"):
        return True
    if op == "var":
        return E.is_positive(e)
    if op == "fn":
        return e.data in ("exp", "sigmoid", "softplus", "abs", "relu", "step") or \
            (e.data == "sign" and nonnegative(e.args[0]))
    if op == "pow":
        p = e.args[1]
        return p.op == "const" and (getattr(p.data, "denominator", 0) == 1 and p.data % 2 == 0
                                    or nonnegative(e.args[0]))
    if op == "mul":
        return all(nonnegative(a) for a in e.args)
    if op == "add":   # 1 − σ(z) is a probability too
        return complement_of_sigmoid(e) is not None or all(nonnegative(a) for a in e.args)
    if op == "T":
        return nonnegative(e.args[0])
    return False


class CodeWriter:
    """Writes the body of a function that evaluates one or more expressions with ``backend``.

    ``variables`` are its parameters (by default the variables of ``exprs``, by name); each has
    a Python name in ``names``, its own where that is free (see ``Namespace``)."""

    broadcasts = True   # whether equal rows may be written as one row that broadcasts (2-D code)

    def __init__(self, exprs: list, backend: Backend, variables=None):
        self.exprs = exprs
        self.backend = backend
        if variables is None:
            variables = sorted(set().union(*(e.free_vars for e in exprs)), key=lambda v: v.name)
        self.variables = list(variables)
        self.namespace = Namespace(backend.reserved)
        self.names = self.namespace.variables(self.variables)
        self.lines: list = []
        self.done: dict = {}
        self.levels: dict = {}   # how deep the code of a node nests (temporaries reset it)
        self.helpers: set = set()
        self.dims: dict = {}     # dim -> the name of its size
        uses: dict = {}
        seen: set = set()
        order: list = []   # every node once, operands first
        for e in exprs:
            uses[e] = uses.get(e, 0) + 1   # a result is a use
            for node in E.walk(e):
                if node in seen:
                    continue
                seen.add(node)
                order.append(node)
                for a in node.args:
                    uses[a] = uses.get(a, 0) + 1
        self.shared = {n for n, k in uses.items() if k > 1 and n.args}
        self.partial_sums = _partial_sums(order)
        self.shared |= set(self.partial_sums.values())
        self.broadcast = _broadcast_rows_and_columns(exprs, order) if self.broadcasts else {}
        # inverses used outside a matrix product (a term K⁻¹ of a sum): computed once, and then
        # multiplied where they also appear in products, rather than solved for again
        in_products = {a for node in seen if node.op == "matmul" for a in node.args}   # ((S⁻¹ + S⁻ᵀ) x: no)
        self.standalone_inverses = {a for node in seen if node.op != "matmul" and node not in in_products
                                    for a in node.args if a.op == "inv"}
        self.standalone_inverses |= {e for e in exprs if e.op == "inv"}
        # the ends of matrix chains that several chains share (see ``shared_chain_code``)
        self.chain_keys: dict = {}      # (factor, key of the rest) or (key of the rest, factor) -> key
        self.chain_uses: dict = {}      # key -> how many chains end (or begin) with it
        self.chain_temps: dict = {}     # key -> the temporary that holds it
        for node in seen:
            if node.op == "matmul" and all(_plain_factor(f) for f in node.args):
                for part, from_right in _vector_parts(node.args):
                    for key in self._end_keys(part, from_right)[2:]:
                        self.chain_uses[key] = self.chain_uses.get(key, 0) + 1

    # -- the driver ------------------------------------------------------------------------------
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
            return self.temporary(text), ATOM
        self.levels[e] = level
        return text, prec

    def temporary(self, text: str) -> str:
        temp = self.namespace.numbered(TEMPORARY)
        self.lines.append(f"{temp} = {text}")
        return temp

    def at(self, e: E.Expr, level: int) -> str:
        text, prec = self.code(e)
        return text if prec >= level else f"({text})"

    def number(self, value) -> tuple:
        """A constant as Python code: exact where a float holds it (``1 / 3`` is the float
        nearest ⅓), else the nearest float, or ±inf beyond the largest."""
        if isinstance(value, Fraction) and abs(value.numerator) <= EXACT and value.denominator <= EXACT:
            if value.denominator != 1:
                return f"{value.numerator} / {value.denominator}", MUL
            text = f"{value.numerator}"
        else:
            try:
                text = repr(float(value))
            except OverflowError:
                text = ("-" if value < 0 else "") + self.backend.inf
        return text, (UNARY if text.startswith("-") else ATOM)

    def argument(self, e: E.Expr) -> str:
        """The code of ``e`` where a library function or ``**`` takes it: a constant becomes a
        float64 scalar of the library, so that the result follows its rules (``(-8) ** (1/3)``
        is nan as in numpy, not a Python complex; ``3.0 ** 1000`` is inf, not an error)."""
        if e.op == "const":
            return self.call(self.backend.scalar, x=self.number(e.data)[0])
        return self.code(e)[0]

    def dim(self, d) -> str:
        """A size as a Python int (for shapes)."""
        if isinstance(d, int):
            return str(d)
        name = self.dims.get(d)
        if name is None:
            name = self.dims[d] = self.namespace.claim(size_name(d))
        return name

    def shape(self, shape) -> str:
        return f"({self.dim(shape[0])}, {self.dim(shape[1])})"

    def call(self, template: str, **parts) -> str:
        return template.format(**parts)

    # -- operations ---------------------------------------------------------------------------------
    def _code(self, e: E.Expr) -> tuple:
        b = self.backend
        op = e.op
        if op == "var":
            return self.names[e], ATOM
        if op == "const":
            return self.number(e.data)
        if op == "dim":   # a size as a number: float64, so that no Python int arithmetic follows
            return self.call(b.scalar, x=self.dim(e.data)), ATOM
        if op == "zero":
            return self.call(b.zeros, x=self.shape(e.shape)), ATOM
        if op == "ones":
            return self.call(b.ones, x=self.shape(e.shape)), ATOM
        if op == "eye":
            return self.call(b.eye, x=self.dim(e.shape[0])), ATOM
        if op == "add":
            part = self.partial_sums.get(e)
            if part is not None:   # the terms of another sum, computed once, and the rest
                inside = set(part.args)
                return self.sum_code([part] + [t for t in e.args if t not in inside]), ADD
            return self.sum_code(e.args), ADD
        if op == "mul":
            return self.product_code(e)
        if op == "matmul" and e in self.broadcast:   # 𝟏 r: the row r, broadcast where it is used
            factors = list(e.args)
            rest = factors[1:] if self.broadcast[e] == 0 else factors[:-1]
            return self.chain_code(rest) if len(rest) > 1 else self.code(rest[0])
        if op == "matmul":
            return self.chain_code(list(e.args))
        if op == "pow":
            base, exponent = e.args
            if exponent.op == "const" and exponent.data == Fraction(1, 2):
                return self.call(b.functions["sqrt"], x=self.argument(base)), ATOM
            if exponent.op == "const" and exponent.data == -1:
                return f"1.0 / {self.at(base, POW)}", MUL
            lifted = self.argument(base) if base.op == "const" else self.at(base, POW + 1)
            return f"{lifted} ** {self.at(exponent, POW)}", POW
        if op == "T":
            return f"{self.at(e.args[0], ATOM)}.T", ATOM
        if op == "fn" and e.data == "log" and (parts := logsumexp_parts(e.args[0])) is not None:   # log Σ exp
            inner, axis = parts   # (stable: shifted by the largest entry)
            self.helpers.add("logsumexp")
            return f"logsumexp({self.argument(inner)}, axis={axis})", ATOM
        if op == "fn":
            return self.helper_call(e.data, b.functions[e.data], self.argument(e.args[0])), ATOM
        if op == "trace" and e.args[0].op == "matmul":   # tr(A B) = sum(A ⊙ Bᵀ)
            *left, last = e.args[0].args
            product = self.chain_code(left)[0] if len(left) > 1 else self.at(left[0], ATOM)
            return self.call(b.calls["sum"], x=f"{_group(product)} * {self.at(last, ATOM)}.T"), ATOM
        if op == "inv" and e.args[0].op == "var" and "spd" in e.args[0].data[1]:   # by one Cholesky factor
            self.helpers.add("spd_inv")
            return f"spd_inv({self.argument(e.args[0])})", ATOM
        if op == "logdet" and e.args[0].op == "var" and "spd" in e.args[0].data[1]:
            return self.call(b.cholesky_logdet, x=self.code(e.args[0])[0]), MUL
        if op == "matpow":   # Xᵏ: a negative k is a power of the inverse, in every backend
            return self.call(b.calls[op], x=self.argument(e.args[0]), k=e.data), ATOM
        if op in ("softmax", "log_softmax") and e.data is not None:   # by columns (axis 0) or rows (1)
            if op in b.helpers:
                self.helpers.add(op)
            return self.call(b.calls[op + "_axis"], x=self.argument(e.args[0]), axis=e.data), ATOM
        if op in ("expm_frechet", "kron_blocksum", "kron_blockdot"):   # two operands
            if op in b.helpers:
                self.helpers.add(op)
            return self.call(b.calls[op], a=self.argument(e.args[0]), b=self.argument(e.args[1])), ATOM
        if op == "lower_half":
            self.helpers.add(op)
            return f"lower_half({self.dim(e.shape[0])}{b.like_args})", ATOM
        if op in b.calls:
            return self.helper_call(op, b.calls[op], self.argument(e.args[0])), ATOM
        if op == "vec":   # column-major: the rows of the transpose
            return f"{self.at(e.args[0], ATOM)}.T.reshape(-1, 1)", ATOM
        if op == "unvec":
            rows, cols = (self.dim(d) for d in e.shape)
            return f"{self.at(e.args[0], ATOM)}.reshape({cols}, {rows}).T", ATOM
        if op == "commutation":
            self.helpers.add("commutation")
            return f"commutation({self.dim(e.data[0])}, {self.dim(e.data[1])}{b.like_args})", ATOM
        if op == "kron":
            return self.call(b.kron, a=self.code(e.args[0])[0], b=self.code(e.args[1])[0]), ATOM
        raise MatcalcError(f"no {b.name} form for {op}")

    def helper_call(self, name: str, template: str, argument: str) -> str:
        if name in self.backend.helpers and template.startswith(name + "("):
            self.helpers.add(name)
        return self.call(template, x=argument)

    def _end_keys(self, factors: list, from_right: bool) -> list:
        """``keys[k]``: the key of the last (``from_right``) or first ``k`` factors, ``keys[0] = 0``;
        equal ends of different chains get equal keys, each made in constant time."""
        keys = [0]
        for f in (reversed(factors) if from_right else factors):
            pair = (f, keys[-1]) if from_right else (keys[-1], f)
            keys.append(self.chain_keys.setdefault(pair, len(self.chain_keys) + 1))
        return keys

    def shared_chain_code(self, factors: list):
        """A chain that ends in a vector (or begins with a row, or is an outer product of two such
        parts) computed from the vector, with every end that other chains share as a temporary:
        the k terms of a gradient through a product of k factors cost k matrix-vector products,
        not k². ``None`` when no end is shared."""
        if len(factors) < 3 or not all(_plain_factor(f) for f in factors):
            return None
        parts = _vector_parts(factors)
        if not parts or not any(self._longest_shared(part, from_right) for part, from_right in parts):
            return None
        codes = [self._end_code(part, from_right) for part, from_right in parts]
        if len(codes) == 1:
            return codes[0], (ATOM if codes[0].isidentifier() else MUL)
        return " @ ".join(_operand(c) for c in codes), MUL

    def _longest_shared(self, factors: list, from_right: bool, below: int | None = None) -> int:
        """How many factors at the vector end of ``factors`` other chains share (fewer than
        ``below``; 0: none)."""
        keys = self._end_keys(factors, from_right)
        top = len(keys) if below is None else below
        return max((k for k in range(2, top) if self.chain_uses.get(keys[k], 0) > 1), default=0)

    def _end_code(self, factors: list, from_right: bool, below: int | None = None) -> str:
        """The product, from its vector end, with the longest shared end (shorter than ``below``
        factors) a temporary: one matrix-vector product a factor."""
        k = self._longest_shared(factors, from_right, below)
        split = len(factors) - k if from_right else k
        rest, end = (factors[:split], factors[split:]) if from_right else (factors[split:], factors[:split])
        code = self._end_temporary(end, from_right) if k else None
        atom = True   # whether ``code`` is one operand (a name, a call) or a product
        for f in (reversed(rest) if from_right else rest):
            if code is None:
                code = self.at(f, ATOM)
                continue
            piece = self.at(f, MUL + 1)   # from the right: A @ (B @ v), a matrix-vector product at a time
            code = f"{piece} @ {code if atom else _group(code)}" if from_right else f"{code} @ {piece}"
            atom = False
        return code

    def _end_temporary(self, factors: list, from_right: bool) -> str:
        """The temporary that holds a shared end (made once; a shorter shared end inside it first)."""
        key = self._end_keys(factors, from_right)[-1]
        temp = self.chain_temps.get(key)
        if temp is None:
            temp = self.chain_temps[key] = self.temporary(self._end_code(factors, from_right, below=len(factors)))
        return temp

    def chain_code(self, factors: list) -> tuple:
        """A matrix product, with the lowerings of the module docstring."""
        b = self.backend
        shared = self.shared_chain_code(factors)
        if shared is not None:
            return shared
        distributed = self._distributed(factors)
        if distributed is not None:
            return self.sum_code(distributed), ADD
        symmetric = _symmetric_product(factors)
        if symmetric is not None:   # Xᵀ diag(d) X = Zᵀ Z, Z = √d ⊙ X
            x, d = symmetric
            z = self.temporary(f"{self.call(b.functions['sqrt'], x=self.code(d)[0])} * {self.at(x, ATOM)}")
            return f"{z}.T @ {z}", MUL
        for i, f in enumerate(factors):
            if f.op == "inv" and i < len(factors) - 1 and f not in self.standalone_inverses:
                # A⁻¹ B = solve(A, B), unless A⁻¹ is computed anyway (½(K⁻¹ − K⁻¹ y yᵀ K⁻¹))
                rest = self.chain_code(factors[i + 1:])
                solved = self.call(b.solve, a=self.code(f.args[0])[0], b=_group(rest[0]) if rest[1] < ATOM
                                   else rest[0])
                return (self.chain_code(factors[:i])[0] + " @ " + solved, MUL) if i else (solved, ATOM)
            if f.op == "kron" and i == len(factors) - 2 and factors[-1].shape[1] == 1:
                applied = self.kron_times_vector(f, factors[-1])
                return (self.chain_code(factors[:i])[0] + " @ " + applied, MUL) if i else (applied, ATOM)
        pieces = []
        pending = None
        for f in factors:
            if f.op == "diag":   # diag(d) M = d ⊙ M; M diag(d) = M ⊙ dᵀ
                d = self.at(f.args[0], ATOM)
                if pieces:
                    pieces[-1] = f"({pieces[-1]} * {d}.T)"
                else:
                    pending = d if pending is None else f"({pending} * {d})"
                continue
            code = self.at(f, MUL + 1)
            if pending is not None:
                code, pending = f"({pending} * {code})", None
            pieces.append(code)
        if pending is not None:   # only diagonal factors
            return self.call(b.calls["diag"], x=pending), ATOM
        if b.transpose_free and len(pieces) == 2 and factors[0].op == "T" and factors[-1].shape[1] == 1 \
                and not any(f.op == "diag" for f in factors):
            return f"({self.at(factors[-1], ATOM)}.T @ {self.at(factors[0].args[0], MUL + 1)}).T", ATOM
        if len(pieces) >= 3:
            limit = b.multi_dot_limit or len(pieces)
            from_right = factors[-1].shape[1] == 1   # a chain that ends in a vector: products with it first
            while len(pieces) > limit:   # a run of factors, multiplied first, is one factor of the rest
                if from_right:
                    pieces = pieces[:-limit] + [self.multi_dot(pieces[-limit:])]
                else:
                    pieces = [self.multi_dot(pieces[:limit])] + pieces[limit:]
            return self.multi_dot(pieces), ATOM
        return " @ ".join(pieces), MUL

    def multi_dot(self, pieces: list) -> str:
        return self.helper_call("chain", self.backend.multi_dot, ", ".join(pieces))

    def _distributed(self, factors: list):
        """``[A v, B v]`` for ``(A + B) v`` (and ``[vᵀ A, vᵀ B]`` for ``vᵀ (A + B)``) when the sum is
        used only here: two matrix-vector products read each matrix once, in place, where forming
        ``A + B`` first writes a new matrix (and reads ``Bᵀ`` across its rows when ``B = Aᵀ``)."""
        def distributable(e):   # a sum of matrices of its own shape (no broadcast terms)
            return e.op == "add" and e not in self.shared and all(t.shape == e.shape for t in e.args)

        if len(factors) < 2:
            return None
        if factors[-1].shape[1] == 1 and distributable(factors[-2]):
            *left, total, v = factors
            return [E.matmul(*left, term, v) for term in total.args]
        if factors[0].shape[0] == 1 and distributable(factors[1]):
            u, total, *right = factors
            return [E.matmul(u, term, *right) for term in total.args]
        return None

    def kron_times_vector(self, k: E.Expr, v: E.Expr) -> str:
        """``(A ⊗ B) v = vec(B V Aᵀ)`` with ``V`` the ``cols(B) × cols(A)`` reshape of ``v``."""
        a, bm = k.args
        rows_b, cols_b = (self.dim(d) for d in bm.shape)
        cols_a = self.dim(a.shape[1])
        v_matrix = f"{self.at(v, ATOM)}.reshape({cols_a}, {cols_b}).T"
        product = f"{self.at(bm, MUL + 1)} @ {v_matrix} @ {self.at(a, ATOM)}.T"
        return f"({product}).T.reshape(-1, 1)"

    def sum_code(self, terms) -> str:
        """``a + b − c …``; a sum of more than ``SUM_CHUNK`` terms in partial sums, each a
        temporary (a longer line nests too deep for Python's compiler: ``sum(X^3000)``)."""
        if len(terms) > SUM_CHUNK:
            parts = [self.temporary(self.sum_code(terms[i:i + SUM_CHUNK])) for i in range(0, len(terms), SUM_CHUNK)]
            while len(parts) > SUM_CHUNK:
                parts = [self.temporary(" + ".join(parts[i:i + SUM_CHUNK])) for i in range(0, len(parts), SUM_CHUNK)]
            return " + ".join(parts)
        pieces = []
        for i, term in enumerate(terms):
            c, rest = E.split_coefficient(term)
            if c < 0 and i > 0 and term not in self.shared:   # (a shared term has its temporary: + t5)
                positive = E.scale(-c, rest) if rest is not None else E.const(-c)
                pieces.append(" - " + self.at(positive, MUL))
            else:
                pieces.append((" + " if i else "") + self.at(term, ADD if i == 0 else MUL))
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
        small = self._smallest_operand(e, top)
        if small is not None:   # scalars scale the row (or column) before it broadcasts: c r ⊙ M
            scalars = [f for f in top if f.shape == SCALAR]
            divisors = [f for f in bottom if f.shape == SCALAR]
            group = self._quotient([*scalars, small], divisors, negative)
            rest = [f for f in top if f is not small and f.shape != SCALAR]
            text = " * ".join([_group(group)] + [self.at(f, MUL + 1) for f in rest])
            for f in bottom:
                if f.shape != SCALAR:
                    text += " / " + self.at(f, MUL + 1)
            return text, MUL
        text = self._quotient(top, bottom, False)
        return (f"-({text})" if " " in text else f"-{text}", UNARY) if negative else (text, MUL)

    def _quotient(self, top: list, bottom: list, negative: bool) -> str:
        """``a * b / c``: * and @ share a precedence level, left to right, so later factors need
        parentheses."""
        text = " * ".join(self.at(f, MUL if i == 0 else MUL + 1) for i, f in enumerate(top)) if top else "1.0"
        for f in bottom:
            text += " / " + self.at(f, MUL + 1)
        return f"-{text}" if negative else text

    def _smallest_operand(self, e: E.Expr, factors: list):
        """The operand of a product with scalar factors that is a row or a column where the product
        is a full matrix (a broadcast one counts as its row), if there is one."""
        if e.shape[0] == 1 or e.shape[1] == 1 or all(f.shape != SCALAR for f in e.args):
            return None
        for f in factors:
            shape = f.shape if f not in self.broadcast else \
                ((1, f.shape[1]) if self.broadcast[f] == 0 else (f.shape[0], 1))
            if f.shape != SCALAR and (shape[0] == 1 or shape[1] == 1):
                return f
        return None


MAX_PARTIAL_SUMS = 500   # sums in a function beyond which no sum looks for another inside it


def _partial_sums(nodes) -> dict:
    """``{sum: the largest other sum whose terms are all among its terms}`` (two terms or more)."""
    sums = [n for n in nodes if n.op == "add" and len(n.args) <= SUM_CHUNK]   # (in a fixed order)
    if len(sums) > MAX_PARTIAL_SUMS:
        return {}
    terms = {n: set(n.args) for n in sums}
    out = {}
    for e in sums:
        inside = [s for s in sums if s is not e and len(s.args) < len(e.args) and terms[s] <= terms[e]]
        if inside:
            out[e] = max(inside, key=lambda s: (len(s.args), s._key))
    return out


def _broadcast_rows_and_columns(exprs, nodes: list) -> dict:
    """``{𝟏 r: 0, c 𝟏ᵀ: 1}``: products with a column (row) of ones whose every use is a sum or an
    elementwise product that keeps its shape when the row ``r`` (column ``c``) broadcasts in their
    place — the axis along which the copies lie. Such a matrix is never formed."""
    parents: dict = {}
    for node in nodes:
        for a in node.args:
            parents.setdefault(a, set()).add(node)
    results = set(exprs)
    banned: set = set()
    while True:
        axis = {}
        for node in nodes:   # operands first
            if node in banned or node in results:
                continue
            if node.op == "matmul" and node.shape[0] != 1 and node.args[0].op == "ones" and node.args[0].shape[1] == 1:
                axis[node] = 0
            elif node.op == "matmul" and node.shape[1] != 1 and node.args[-1].op == "ones" \
                    and node.args[-1].shape[0] == 1:
                axis[node] = 1
            elif node.op == "mul" and node.shape != SCALAR:
                along = {axis.get(a) for a in node.args if a.shape != SCALAR}
                if len(along) == 1 and None not in along:
                    axis[node] = along.pop()
        wrong = {node for node in axis for parent in parents.get(node, ())
                 if parent.op not in ("add", "mul") or parent not in axis and not _keeps_shape(parent, axis)}
        if not wrong:
            return {node: k for node, k in axis.items() if node.op == "matmul"}
        banned |= wrong


def _keeps_shape(node: E.Expr, axis: dict) -> bool:
    """Whether the operands of the sum or product ``node``, the broadcast ones reduced along their
    axis, still broadcast to its full shape."""
    for k in (0, 1):
        if node.shape[k] == 1:
            continue
        if not any(a.shape[k] == node.shape[k] and axis.get(a) != k for a in node.args):
            return False
    return True


def _group(text: str) -> str:
    return f"({text})"


def _operand(code: str) -> str:
    """``code`` as an operand of ``@``: a name as it is, anything else in parentheses."""
    return code if code.isidentifier() else _group(code)


def _plain_factor(f: E.Expr) -> bool:
    """A factor that a chain multiplies as it is (not a diagonal, an inverse or a Kronecker product,
    which have lowerings of their own)."""
    return f.op not in ("diag", "inv", "kron", "commutation") and not (f.op == "T" and f.args[0].op == "inv")


def _vector_parts(factors) -> list:
    """``[(part, from_right)]``: a chain that ends in a column is computed from the right, one that
    begins with a row from the left; a chain with an interior dimension 1 is the outer product of
    a part of each kind. ``[]`` for a chain of matrices."""
    factors = list(factors)
    inner = [i for i in range(1, len(factors)) if factors[i].shape[0] == 1]
    if inner:
        p = inner[0]
        return [(factors[:p], True), (factors[p:], False)]
    if factors[-1].shape[1] == 1:
        return [(factors, True)]
    if factors[0].shape[0] == 1:
        return [(factors, False)]
    return []


def _symmetric_product(factors: list):
    """``(X, d)`` if the product is ``Xᵀ diag(d) X`` with ``d ≥ 0``."""
    if len(factors) != 3 or factors[1].op != "diag":
        return None
    first, middle, last = factors
    if E.transpose(first) is last and nonnegative(middle.args[0]):
        return last, middle.args[0]
    return None


class TensorWriter(CodeWriter):
    """Writes a differential ``dF`` (linear in ``dX``) as the full array of the derivative:
    shape ``(rows of F, cols of F, rows of X, cols of X)``, entry ``[i, j, k, l] = ∂F_ij/∂X_kl``.

    Every node that depends on ``dX`` becomes a 4-D array whose last two axes follow ``dX``;
    products are ``einsum``s, so no Kronecker product is ever formed."""

    broadcasts = False   # (its arrays are 4-D: a 2-D row would broadcast against the wrong axes)

    def __init__(self, exprs: list, backend: Backend, variables, dx: E.Expr):
        super().__init__(exprs, backend, variables)
        self.dx = dx

    def _code(self, e: E.Expr) -> tuple:
        if not e.depends_on(self.dx):
            return super()._code(e)
        b = self.backend
        einsum = b.einsum
        op = e.op
        if e is self.dx:
            r, c = (self.dim(d) for d in self.dx.shape)
            return f"{self.call(b.eye, x=r)}[:, None, :, None] * {self.call(b.eye, x=c)}[None, :, None, :]", MUL
        if op == "add":
            return " + ".join(self.at(a, ADD + 1) for a in e.args), ADD
        if op == "mul":
            inner = next(a for a in e.args if a.depends_on(self.dx))
            scale = self.code(E.mul_within(e.shape, *[a for a in e.args if a is not inner]))[0]
            return f"{self.call(b.asarray, x=scale)}[..., None, None] * {self.at(inner, MUL + 1)}", MUL
        if op == "matmul":
            i = next(k for k, a in enumerate(e.args) if a.depends_on(self.dx))
            if e.args[i] is self.dx:   # (L dX R)[i, j, k, l] = L[i, k] R[l, j]
                rows, cols = (self.dim(d) for d in self.dx.shape)
                left = self.code(E.matmul(*e.args[:i]))[0] if i > 0 else self.call(b.eye, x=rows)
                right = self.code(E.matmul(*e.args[i + 1:]))[0] if i < len(e.args) - 1 else self.call(b.eye, x=cols)
                return f"{einsum}('ik,lj->ijkl', {left}, {right})", ATOM
            operands, spec = [], []
            if i > 0:
                operands.append(self.code(E.matmul(*e.args[:i]))[0])
                spec.append("ia")
            operands.append(self.code(e.args[i])[0])
            spec.append(("a" if i > 0 else "i") + ("b" if i < len(e.args) - 1 else "j") + "kl")
            if i < len(e.args) - 1:
                operands.append(self.code(E.matmul(*e.args[i + 1:]))[0])
                spec.append("bj")
            return f"{einsum}('{','.join(spec)}->ijkl', {', '.join(operands)})", ATOM
        if op in ("kron", "kron_blocksum", "kron_blockdot"):
            return self.kron_array(e), ATOM
        inner = self.at(e.args[0], ATOM) if e.args else ""
        if op == "T":
            return self.call(b.permute, x=inner), ATOM
        if op == "trace":
            return f"{einsum}('iikl->kl', {inner})[None, None]", ATOM
        if op == "sum":
            return self.call(b.sum_first_two, x=inner), ATOM
        if op == "diag":
            return f"{einsum}('ij,ikl->ijkl', {self.call(b.eye, x=self.dim(e.shape[0]))}, {inner}[:, 0])", ATOM
        if op == "diagvec":
            return f"{einsum}('iikl->ikl', {inner})[:, None]", ATOM
        if op == "vec":
            return f"{self.call(b.permute, x=inner)}.reshape(-1, 1, *{inner}.shape[2:])", ATOM
        if op == "unvec":
            rows, cols = (self.dim(d) for d in e.shape)
            return self.call(b.permute, x=f"{inner}[:, 0].reshape({cols}, {rows}, *{inner}.shape[2:])"), ATOM
        raise MatcalcError(f"no array form for a derivative through {op}")


    def kron_array(self, e: E.Expr) -> str:
        """The array of ``A ⊗ D`` and of its two adjoints by blocks, ``[i r + a, j s + b]`` as
        ``[i, a, j, b]``, one operand depending on ``dX`` (its last two axes follow ``dX``)."""
        einsum, first, second = self.backend.einsum, e.args[0], e.args[1]
        code = [self.at(a, ATOM) for a in e.args]
        if e.op == "kron":   # (A ⊗ D)[i r + a, j s + b] = A[i, j] D[a, b]
            p, q = first.shape
            r, s = second.shape
            moving = first.depends_on(self.dx)
            spec = "ijkl,ab->iajbkl" if moving else "ij,abkl->iajbkl"
            rows, cols = self.dim(E._dim_product(p, r)), self.dim(E._dim_product(q, s))
            axes = f"{code[0] if moving else code[1]}.shape[2:]"   # those of dX
            return f"{einsum}('{spec}', {code[0]}, {code[1]}).reshape({rows}, {cols}, *{axes})"
        if e.op == "kron_blocksum":   # Σᵢⱼ A[i, j] S[i, a, j, b]
            p, q = (self.dim(d) for d in first.shape)
            r, s = (self.dim(d) for d in e.shape)
            if second.depends_on(self.dx):
                blocks = f"{code[1]}.reshape({p}, {r}, {q}, {s}, *{code[1]}.shape[2:])"
                return f"{einsum}('ij,iajbkl->abkl', {code[0]}, {blocks})"
            return f"{einsum}('ijkl,iajb->abkl', {code[0]}, {code[1]}.reshape({p}, {r}, {q}, {s}))"
        p, q = (self.dim(d) for d in e.shape)   # [⟨S₍ᵢⱼ₎, D⟩]ᵢⱼ = Σₐᵦ S[i, a, j, b] D[a, b]
        r, s = (self.dim(d) for d in second.shape)
        if first.depends_on(self.dx):
            blocks = f"{code[0]}.reshape({p}, {r}, {q}, {s}, *{code[0]}.shape[2:])"
            return f"{einsum}('iajbkl,ab->ijkl', {blocks}, {code[1]})"
        return f"{einsum}('iajb,abkl->ijkl', {code[0]}.reshape({p}, {r}, {q}, {s}), {code[1]})"


def source(exprs, backend: Backend, name: str = "f", variables=None, writer=None) -> tuple:
    """``(source, parameter names, free dims)`` of a function returning ``exprs`` (one
    expression, or a list: then a tuple) of ``variables`` (by default those of ``exprs``).

    Dimensions are read from the shapes of the inputs; a dimension that no input has (as in
    ``trace(eye(n))``) becomes a parameter ``size_n`` after the variables, listed in free dims."""
    single = isinstance(exprs, E.Expr)
    exprs = [exprs] if single else list(exprs)
    writer = writer or CodeWriter(exprs, backend, variables)
    results = [writer.code(e)[0] for e in exprs]
    names = writer.names
    known = {d: f"{names[v]}.shape[{axis}]"
             for v in reversed(writer.variables) for axis, d in enumerate(v.shape) if isinstance(d, str)}
    factors = {f for d in writer.dims for f in (d if isinstance(d, tuple) else (d,)) if isinstance(f, str)}
    free_dims = sorted(factors - known.keys())
    params = [names[v] for v in writer.variables] + [writer.dim(d) for d in free_dims]
    dim_lines = [f"{writer.dims[d]} = {_dim_code(d, known, writer)}" for d in sorted(writer.dims, key=str)
                 if d not in free_dims]
    body = dim_lines + writer.lines + [f"return {results[0] if single else '(' + ', '.join(results) + ',)'}"]
    if backend.prologue and any(_LIKE_NAMES.search(line) for line in body):   # new arrays like the inputs
        first = next((names[v] for v in writer.variables), None)
        body.insert(0, backend.prologue.format(x=first) if first else backend.prologue_default)
    parts = [backend.header, ""]
    for h in sorted(writer.helpers):
        parts += ["", backend.helpers[h]]
    parts += ["", f"def {name}({', '.join(params)}):"] + [f"    {line}" for line in body]
    return "\n".join(parts).strip() + "\n", params, free_dims


_LIKE_NAMES = re.compile(r"\b(dtype_|device_)\b")


def _dim_code(d, known: dict, writer: CodeWriter) -> str:
    """How the body computes a size: from an input's shape, or as a product of sizes."""
    if isinstance(d, tuple):
        return " * ".join(known.get(f) or writer.dim(f) for f in d)
    return known[d]


def compile_source(text: str, name: str, namespace: dict | None = None):
    """Compile generated source (with ``namespace`` as its globals). This is matcalc's only
    ``exec``: the code comes from a validated expression tree, or from validated names, never
    from user text."""
    namespace = dict(namespace or {})
    exec(compile(text, f"<matcalc {name}>", "exec"), namespace)  # noqa: S102
    return namespace[name]
