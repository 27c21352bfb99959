"""Differentials, and reading a derivative off a differential.

1. ``differential(f, X)`` gives ``df``, an expression linear in the placeholder ``dX``: the rules
   of ``rules/differentials.rules`` for the nonlinear operations (``d(X⁻¹) = −X⁻¹ dX X⁻¹``),
   ``d L(X) = L(dX)`` for the linear ones and the product rule for ``@``, ``*`` and ``⊗``.
2. The derivative is identified from ``df``:

   - gradient of a scalar ``f``: the ``G`` with ``df = tr(Gᵀ dX)``, found by transposing the
     linear map ``dX ↦ df`` one operation at a time (the trace identities below), as reverse-mode
     differentiation does: each distinct subexpression of ``df`` is visited once, with the sum
     of the seeds of all its uses, so that a differential with shared parts costs its size, not
     the number of its paths;
   - Jacobian of a vector ``f`` w.r.t. a vector (or scalar) ``x``: the ``J`` with
     ``df = J dx``, found with the vec identities ``vec(A dX B) = (Bᵀ ⊗ A) vec(dX)`` and
     ``vec(c ⊙ dX) = diag(c) vec(dX)``; Kronecker products of vectors collapse to ordinary
     products, so for vectors the result is an ordinary matrix.

Every step can be recorded (rule name, before, after) for the derivation steps.
"""
from __future__ import annotations

from . import expr as E
from .errors import LimitError, UnsupportedDerivativeError
from .limits import MAX_MATRIX_POWER
from .ops import OPERATIONS, operation_key
from .rules import RULES, Binding, match
from .shapes import SCALAR, broadcast_all


def differential_variable(x: E.Expr) -> E.Expr:
    """The placeholder ``dX`` for the variable ``X``."""
    return E.variable("d" + x.name, x.shape, {"differential"})


class Differentiator:
    """Computes differentials with respect to one variable, memoised per node."""

    def __init__(self, wrt: E.Expr, recorder=None, override: dict | None = None):
        self.wrt = wrt
        self.dx = differential_variable(wrt)
        self.memo: dict = {}
        self.recorder = recorder
        self.override = override or {}   # node -> the rule to use for it (verify's mistakes)
        self.power_terms = 0             # terms of the matrix powers' differentials so far

    def __call__(self, e: E.Expr) -> E.Expr:
        hit = self.memo.get(e)
        if hit is None:
            for node in E.walk(e):   # operands first, so that no call recurses deeply
                if node not in self.memo:
                    self.memo[node] = self._differential(node)
            hit = self.memo[e]
        return hit

    def _differential(self, e: E.Expr) -> E.Expr:
        if e is self.wrt:
            return self.dx
        if not e.depends_on(self.wrt):
            return E.zero(e.shape)
        name, out = self.local(e, self)
        if self.recorder is not None:   # the step, with the inner differentials left as d(…)
            shown = None if self.recorder.names_only else self.local(e, self.placeholder)[1]
            self.recorder.record(name, e, shown)
        return out

    def placeholder(self, a: E.Expr) -> E.Expr:
        """``d(a)`` as shown in a step: ``dX`` itself, ``dXᵀ`` for ``Xᵀ``, else ``d(a)``."""
        if a is self.wrt:
            return self.dx
        if not a.depends_on(self.wrt):
            return E.zero(a.shape)
        if a.op == "T" and a.args[0] is self.wrt:
            return E.transpose(self.dx)
        return E.differential_of(a)

    def local(self, e: E.Expr, d) -> tuple:
        """``(rule name, d(e))`` with ``d(a)`` for the differential of an operand ``a``."""
        key = operation_key(e)
        kind = OPERATIONS[key].derivative
        if kind == "linear":  # d L(X) = L(dX)
            return "linearity", E.rebuild(e, [d(a) for a in e.args])
        if kind == "multilinear":  # d(A B) = dA B + A dB
            terms = []
            for i, a in enumerate(e.args):
                if a.depends_on(self.wrt):
                    terms.append(E.rebuild(e, e.args[:i] + (d(a),) + e.args[i + 1:]))
            return "product rule", E.add(*terms)
        if kind == "engine":
            if key == "matpow" and d is self:   # a second derivative of Xᵏ has about k²/2 terms
                self.power_terms += abs(e.data)
                if self.power_terms > MAX_MATRIX_POWER and abs(e.data) <= MAX_MATRIX_POWER:   # (else: below)
                    raise LimitError(f"the differentials of the matrix powers here have more than "
                                     f"{MAX_MATRIX_POWER:,} terms in all (a second derivative of X^k has "
                                     f"about k²/2); matcalc stops there")
            return ENGINE_DIFFERENTIALS[key](e, d)
        rules = [self.override[e]] if e in self.override else RULES.differentials.get(key, ())
        for rule in rules:
            for binding in match(rule.pattern, e, Binding()):
                if rule.guards_hold(binding):
                    return rule.name, rule.instantiate(binding, hooks={"d": lambda args, node: d(args[0])})
        raise UnsupportedDerivativeError(f"no differential rule for {key.removeprefix('fn:')} "
                                         f"(in {e})")


def _matrix_power_differential(e: E.Expr, d) -> tuple:
    """``d(Xᵏ) = Σᵢ Xⁱ dX Xᵏ⁻¹⁻ⁱ`` (``i = 0 … k−1``); for ``k < 0``, ``Xᵏ = (X⁻¹)⁻ᵏ`` with
    ``d(X⁻¹) = −X⁻¹ dX X⁻¹``. It has ``|k|`` terms: no rule in ``rules/`` can write it."""
    x, k = e.args[0], e.data
    if abs(k) > MAX_MATRIX_POWER:
        raise LimitError(f"the differential of a matrix power X^k has |k| terms; matcalc differentiates "
                         f"powers up to |k| = {MAX_MATRIX_POWER:,}, not {k:,}")
    base = x if k > 0 else E.inv(x)
    d_base = d(x) if k > 0 else E.neg(E.matmul(base, d(x), base))
    n = abs(k)
    return "d-matpow", E.add(*[E.matmul(E.matpow(base, i), d_base, E.matpow(base, n - 1 - i)) for i in range(n)])


def _expm_differential(e: E.Expr, d) -> tuple:
    """``d exp(X) = L(X, dX)``, the Fréchet derivative (kept as one node: its series has no
    finite closed form; the code evaluates it by the block formula or the library's routine)."""
    return "d-expm", E.expm_frechet(e.args[0], d(e.args[0]))


def _expm_frechet_differential(e: E.Expr, d) -> tuple:
    """``L(A, E)`` is linear in ``E``: ``d L(A, E) = L(A, dE)`` while ``A`` is constant."""
    a, direction = e.args
    if not E.is_zero(d(a)):
        raise UnsupportedDerivativeError("a second derivative through expm (the derivative of L(A, E) in A) "
                                         "is not supported")
    return "linearity of L(A, ·)", E.expm_frechet(a, d(direction))


def _cholesky_differential(e: E.Expr, d) -> tuple:
    """``L = chol(S)``: ``dL = L Φ(L⁻¹ dS L⁻ᵀ)``, ``Φ`` the lower triangle with half the diagonal
    (written ``M ⊙ Ψ``). ``S`` is the symmetric part of the argument, so ``dS`` is symmetric."""
    factor, s = e, e.args[0]
    inverse = E.inv(factor)
    inner = E.matmul(inverse, d(s), E.transpose(inverse))
    return "d-cholesky", E.matmul(factor, E.mul(inner, E.lower_half(s.shape[0])))


def _eigvalsh_differential(e: E.Expr, d) -> tuple:
    """``dλ = diag(Vᵀ dS V)`` for the eigenvalues ``λ`` and eigenvectors ``V`` of a symmetric ``S``
    (distinct eigenvalues)."""
    s = e.args[0]
    vectors = E.eigvecsh(s)
    return "d-eigvalsh", E.diag(E.matmul(E.transpose(vectors), d(s), vectors))


def _eigvecsh_differential(e: E.Expr, d) -> tuple:
    raise UnsupportedDerivativeError("the derivative of eigenvectors (a second derivative of eigvalsh) "
                                     "is not supported")


ENGINE_DIFFERENTIALS = {"matpow": _matrix_power_differential, "expm": _expm_differential,
                        "expm_frechet": _expm_frechet_differential, "cholesky": _cholesky_differential,
                        "eigvalsh": _eigvalsh_differential, "eigvecsh": _eigvecsh_differential}


# ---------------------------------------------------------------------------------------
# Gradients: transpose the linear map dX ↦ df
# ---------------------------------------------------------------------------------------

def unbroadcast(seed: E.Expr, shape) -> E.Expr:
    """The adjoint of broadcasting to ``seed.shape`` from ``shape``: sum over the copies."""
    if seed.shape == shape:
        return seed
    if shape == SCALAR:
        return E.sum_all(seed)
    if shape[1] == 1:   # a column broadcast across columns: row sums, S 𝟏
        return E.matmul(seed, E.ones((seed.shape[1], 1)))
    return E.matmul(E.ones((1, seed.shape[0])), seed)   # a row across rows: 𝟏ᵀ S


def gradient_from_differential(df: E.Expr, dx: E.Expr, used: list | None = None) -> E.Expr:
    """``G`` such that ``df = ⟨G, dX⟩`` (the sum of ``G ⊙ dX``); ``df`` is scalar and linear in ``dX``.
    The names of the identities applied are appended to ``used``.

    Reverse mode over the expression graph: the subexpressions of ``df`` that contain ``dX`` are
    visited parents first, each once, with the sum of what its parents sent it (its seed)."""
    terms: list = []
    sent: dict = {df: [E.const(1)]}   # subexpression -> what its parents sent it
    used = [] if used is None else used
    for node in _parents_first(df, dx):
        _adjoint(node, _seed(sent.pop(node), node.shape), dx, terms, used, sent)
    return E.add(*terms) if terms else E.zero(dx.shape)


def _parents_first(root: E.Expr, dx: E.Expr) -> list:
    """The subexpressions of ``root`` that contain ``dx``, each after every one that contains it.

    A depth-first walk that takes the operands from the last to the first, reversed: on a tree
    that is the order of a recursive walk from the first operand (the steps list the identities
    in that order)."""
    done, order, stack = set(), [], [(root, False)] if root.depends_on(dx) else []
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in done:
            continue
        done.add(node)
        stack.append((node, True))
        stack.extend((a, False) for a in node.args if a not in done and a.depends_on(dx))
    order.reverse()
    return order


def _seed(parts: list, shape) -> E.Expr:
    """The sum of what the parents of a node sent it. A part ``(C, S)`` stands for
    ``unbroadcast(C ⊙ S, shape)``: parts with one ``S`` (the operands of one sum) add up as
    ``unbroadcast((C₁ + C₂ + …) ⊙ S)``, so that ``(cos² − sin²) ⊙ S`` is not ``cos² ⊙ S − sin² ⊙ S``
    (which, nested, doubles at every level)."""
    plain, factors = [], {}
    for part in parts:
        if isinstance(part, tuple):
            factors.setdefault(part[1], []).append(part[0])
        else:
            plain.append(part)
    for seed, coefficients in factors.items():
        full = broadcast_all([seed.shape, *(c.shape for c in coefficients)]) or seed.shape
        plain.append(unbroadcast(E.mul(E.add_within(full, *coefficients), seed), shape))
    return E.add(*plain)


def _send(sent: dict, operand: E.Expr, part):
    sent.setdefault(operand, []).append(part)


def _adjoint(linear: E.Expr, seed: E.Expr, dx: E.Expr, out: list, used: list, sent: dict):
    """Send the operands of ``linear`` their parts of the gradient of ``⟨seed, linear(dX)⟩``
    (into ``sent``); at ``dX`` itself, add ``seed`` to ``out``."""
    if linear is dx:
        out.append(seed)
        return
    op = linear.op
    if op == "add":  # ⟨S, A + B⟩ = ⟨S, A⟩ + ⟨S, B⟩
        used.append("linearity of ⟨·,·⟩")
        for term in linear.args:
            if term.depends_on(dx):
                _send(sent, term, unbroadcast(seed, term.shape))
        return
    if op == "mul":  # ⟨S, C ⊙ D⟩ = ⟨C ⊙ S, D⟩
        dependent = [f for f in linear.args if f.depends_on(dx)]
        if len(dependent) != 1:
            raise UnsupportedDerivativeError("internal: the differential is not linear")
        inner = dependent[0]
        others = [f for f in linear.args if f is not inner]
        if any(f.shape != SCALAR for f in others):   # scaling by a scalar needs no identity
            used.append("⟨S, C ⊙ D⟩ = ⟨C ⊙ S, D⟩")
        _send(sent, inner, (E.mul_within(linear.shape, *others), seed))
        return
    if op == "matmul":  # ⟨S, L D R⟩ = ⟨Lᵀ S Rᵀ, D⟩
        used.append("⟨S, L D R⟩ = ⟨Lᵀ S Rᵀ, D⟩")
        args = linear.args
        i = next(k for k, f in enumerate(args) if f.depends_on(dx))
        left = [E.transpose(E.matmul(*args[:i]))] if i > 0 else []
        right = [E.transpose(E.matmul(*args[i + 1:]))] if i < len(args) - 1 else []
        _send(sent, args[i], E.matmul(*left, seed, *right))
        return
    if op == "T":  # ⟨S, Dᵀ⟩ = ⟨Sᵀ, D⟩
        used.append("⟨S, Dᵀ⟩ = ⟨Sᵀ, D⟩")
        _send(sent, linear.args[0], E.transpose(seed))
        return
    if op == "trace":  # ⟨s, tr D⟩ = ⟨s I, D⟩
        used.append("⟨s, tr D⟩ = ⟨s I, D⟩")
        inner = linear.args[0]
        _send(sent, inner, E.mul(seed, E.eye(inner.shape[0])))
        return
    if op == "sum":  # ⟨s, sum D⟩ = ⟨s 𝟏, D⟩
        used.append("⟨s, sum D⟩ = ⟨s 𝟏, D⟩")
        inner = linear.args[0]
        _send(sent, inner, E.mul(seed, E.ones(inner.shape)))
        return
    if op in ("diag", "diagvec"):  # ⟨S, diag(d)⟩ = ⟨diag(S), d⟩
        used.append("⟨S, diag d⟩ = ⟨diag S, d⟩")
        _send(sent, linear.args[0], E.diag(seed))
        return
    if op == "vec":  # ⟨s, vec D⟩ = ⟨unvec(s), D⟩
        used.append("⟨s, vec D⟩ = ⟨unvec s, D⟩")
        inner = linear.args[0]
        _send(sent, inner, E.unvec(seed, *inner.shape))
        return
    if op == "unvec":  # ⟨S, unvec d⟩ = ⟨vec S, d⟩
        used.append("⟨S, unvec d⟩ = ⟨vec S, d⟩")
        _send(sent, linear.args[0], E.vec(seed))
        return
    if op == "expm_frechet":  # ⟨S, L(A, D)⟩ = ⟨L(Aᵀ, S), D⟩
        used.append("⟨S, L(A, D)⟩ = ⟨L(Aᵀ, S), D⟩")
        _send(sent, linear.args[1], E.expm_frechet(E.transpose(linear.args[0]), seed))
        return
    if op == "kron":  # ⟨S, A ⊗ D⟩ = ⟨Σᵢⱼ Aᵢⱼ S₍ᵢⱼ₎, D⟩ = ⟨[⟨S₍ᵢⱼ₎, D⟩]ᵢⱼ, A⟩
        used.append("⟨S, A ⊗ D⟩ = ⟨Σᵢⱼ Aᵢⱼ S₍ᵢⱼ₎, D⟩")
        a, b = linear.args
        if b.depends_on(dx):
            _send(sent, b, E.kron_blocksum(a, seed, b.shape))
        else:
            _send(sent, a, E.kron_blockdot(seed, b, a.shape))
        return
    if op == "kron_blocksum":  # ⟨G, Σᵢⱼ Aᵢⱼ S₍ᵢⱼ₎⟩ = ⟨A ⊗ G, S⟩ = ⟨[⟨S₍ᵢⱼ₎, G⟩]ᵢⱼ, A⟩
        used.append("⟨G, Σᵢⱼ Aᵢⱼ S₍ᵢⱼ₎⟩ = ⟨A ⊗ G, S⟩")
        a, s = linear.args
        if s.depends_on(dx):
            _send(sent, s, E.kron(a, seed))
        else:
            _send(sent, a, E.kron_blockdot(s, seed, a.shape))
        return
    if op == "kron_blockdot":  # ⟨G, [⟨S₍ᵢⱼ₎, D⟩]ᵢⱼ⟩ = ⟨G ⊗ D, S⟩ = ⟨Σᵢⱼ Gᵢⱼ S₍ᵢⱼ₎, D⟩
        used.append("⟨G, [⟨S₍ᵢⱼ₎, D⟩]ᵢⱼ⟩ = ⟨G ⊗ D, S⟩")
        s, d = linear.args
        if s.depends_on(dx):
            _send(sent, s, E.kron(seed, d))
        else:
            _send(sent, d, E.kron_blocksum(seed, s, d.shape))
        return
    raise UnsupportedDerivativeError(f"internal: {op} is not linear in {dx}")


# ---------------------------------------------------------------------------------------
# Jacobians: vec(df) = J vec(dx)
# ---------------------------------------------------------------------------------------

def _numel_dim(shape):
    return E._dim_product(shape[0], shape[1])


def _vec_of_full(c: E.Expr, shape) -> E.Expr:
    """vec of ``c`` broadcast to ``shape``."""
    return E.vec(c if c.shape == shape else E.mul(c, E.ones(shape)))


def _spread(part_shape, shape) -> E.Expr:
    """The matrix that maps vec of a broadcast operand to vec of its broadcast copy."""
    rows, cols = shape
    if part_shape == SCALAR:                       # vec(s 𝟏) = 𝟏 s
        return E.ones((_numel_dim(shape), 1))
    if part_shape[1] == 1:                         # vec(d 𝟏ᵀ) = (𝟏 ⊗ I) d
        return E.kron(E.ones((cols, 1)), E.eye(rows))
    return E.kron(E.eye(cols), E.ones((rows, 1)))  # vec(𝟏 r) = (I ⊗ 𝟏) vec(r)


def jacobian_from_differential(df: E.Expr, dx: E.Expr) -> E.Expr:
    """``J`` with ``vec(df) = J vec(dX)`` (column-major vec), ``df`` linear in ``dX``.

    For vectors this is the ordinary Jacobian; for matrices it is written with Kronecker
    products and commutation matrices: ``vec(A dX B) = (Bᵀ ⊗ A) vec(dX)``,
    ``vec(dXᵀ) = K vec(dX)``, ``vec(C ⊙ dX) = diag(vec C) vec(dX)``. Each subexpression's
    Jacobian is made once (a differential shares its parts: nested, a tree walk doubles per level)."""
    return _vec_jacobian(df, dx, {})


def _vec_jacobian(linear: E.Expr, dx: E.Expr, memo: dict) -> E.Expr:
    hit = memo.get(linear)
    if hit is None:
        hit = memo[linear] = _vec_jacobian_of(linear, dx, memo)
    return hit


def _kron_permutation(a_shape, d_shape) -> E.Expr:
    """``P`` with ``vec(A ⊗ D) = P (vec A ⊗ vec D)``: ``I_q ⊗ K(s,p) ⊗ I_r`` for ``A`` p×q, ``D`` r×s
    (Magnus and Neudecker)."""
    (p, q), (r, s) = a_shape, d_shape
    return E.kron(E.eye(q), E.kron(E.commutation(s, p), E.eye(r)))


def _kron_vec_jacobian(linear: E.Expr, dx: E.Expr, memo: dict) -> E.Expr:
    """The vec Jacobians through ``A ⊗ D`` and its two adjoints, from ``vec(A ⊗ D) = P (vec A ⊗ vec D)``:
    ``P (vec A ⊗ I)`` on ``vec D``, ``P (I ⊗ vec D)`` on ``vec A``; the adjoints transpose them."""
    op, (first, second) = linear.op, linear.args
    if op == "kron":
        a, d = first, second
        permutation = _kron_permutation(a.shape, d.shape)
        if d.depends_on(dx):   # vec(A ⊗ D) = P (vec A ⊗ I) vec D
            size = _numel_dim(d.shape)
            return E.matmul(permutation, E.kron(E.vec(a), E.eye(size)), _vec_jacobian(d, dx, memo))
        size = _numel_dim(a.shape)   # = P (I ⊗ vec D) vec A
        return E.matmul(permutation, E.kron(E.eye(size), E.vec(d)), _vec_jacobian(a, dx, memo))
    if op == "kron_blocksum":   # Σᵢⱼ Aᵢⱼ S₍ᵢⱼ₎: vec = (vec A ⊗ I)ᵀ Pᵀ vec S
        a, s, d_shape = first, second, linear.shape
        permutation = _kron_permutation(a.shape, d_shape)
        if s.depends_on(dx):
            size = _numel_dim(d_shape)
            return E.matmul(E.transpose(E.kron(E.vec(a), E.eye(size))), E.transpose(permutation),
                            _vec_jacobian(s, dx, memo))
        return E.matmul(_blocks(s, permutation, a.shape, d_shape), _vec_jacobian(a, dx, memo))
    s, d, a_shape = first, second, linear.shape   # [⟨S₍ᵢⱼ₎, D⟩]ᵢⱼ: vec = (I ⊗ vec D)ᵀ Pᵀ vec S
    permutation = _kron_permutation(a_shape, d.shape)
    if s.depends_on(dx):
        size = _numel_dim(a_shape)
        return E.matmul(E.transpose(E.kron(E.eye(size), E.vec(d))), E.transpose(permutation),
                        _vec_jacobian(s, dx, memo))
    return E.matmul(E.transpose(_blocks(s, permutation, a_shape, d.shape)), _vec_jacobian(d, dx, memo))


def _blocks(s: E.Expr, permutation: E.Expr, a_shape, d_shape) -> E.Expr:
    """The blocks of ``S`` (one per entry of ``A``, each shaped like ``D``) as the columns of a
    matrix: ``unvec(Pᵀ vec S)``, ``rs × pq``."""
    return E.unvec(E.matmul(E.transpose(permutation), E.vec(s)), _numel_dim(d_shape), _numel_dim(a_shape))


def _vec_jacobian_of(linear: E.Expr, dx: E.Expr, memo: dict) -> E.Expr:
    rows = _numel_dim(linear.shape)
    cols = _numel_dim(dx.shape)
    if linear is dx:
        return E.eye(cols)
    if not linear.depends_on(dx):
        return E.zero((rows, cols))
    op = linear.op
    if op == "add":
        terms = []
        for t in linear.args:
            if t.depends_on(dx):
                j = _vec_jacobian(t, dx, memo)
                terms.append(j if t.shape == linear.shape else E.matmul(_spread(t.shape, linear.shape), j))
        return E.add(*terms)
    if op == "mul":
        inner = next(f for f in linear.args if f.depends_on(dx))
        others = E.mul_within(linear.shape, *[f for f in linear.args if f is not inner])
        j = _vec_jacobian(inner, dx, memo)
        if others.shape == SCALAR:  # vec(c D) = c vec D (a scalar factor broadcasts nothing)
            return E.mul(others, j)
        if inner.shape == SCALAR:  # vec(C d) = vec(C) d
            return E.matmul(_vec_of_full(others, linear.shape), j)
        spread = [] if inner.shape == linear.shape else [_spread(inner.shape, linear.shape)]
        # vec(C ⊙ D) = diag(vec C) vec D
        return E.matmul(E.diag(_vec_of_full(others, linear.shape)), *spread, j)
    if op == "matmul":  # vec(L D R) = (Rᵀ ⊗ L) vec D
        args = linear.args
        i = next(k for k, f in enumerate(args) if f.depends_on(dx))
        inner = args[i]
        left = E.matmul(*args[:i]) if i > 0 else E.eye(inner.shape[0])
        right = E.matmul(*args[i + 1:]) if i < len(args) - 1 else E.eye(inner.shape[1])
        return E.matmul(E.kron(E.transpose(right), left), _vec_jacobian(inner, dx, memo))
    if op == "T":  # vec(Dᵀ) = K vec(D)
        inner = linear.args[0]
        return E.matmul(E.commutation(*inner.shape), _vec_jacobian(inner, dx, memo))
    if op == "trace":  # tr D = vec(I)ᵀ vec(D)
        inner = linear.args[0]
        return E.matmul(E.transpose(E.vec(E.eye(inner.shape[0]))), _vec_jacobian(inner, dx, memo))
    if op == "sum":  # sum D = 𝟏ᵀ vec D
        inner = linear.args[0]
        return E.matmul(E.ones((1, _numel_dim(inner.shape))), _vec_jacobian(inner, dx, memo))
    if op == "vec":
        return _vec_jacobian(linear.args[0], dx, memo)
    if op in ("kron", "kron_blocksum", "kron_blockdot"):
        return _kron_vec_jacobian(linear, dx, memo)
    if op == "diagvec":  # diag(D) = (D ⊙ I) 𝟏: vec gives (𝟏ᵀ ⊗ I) diag(vec I) vec D
        inner = linear.args[0]
        n = inner.shape[0]
        pick = E.matmul(E.kron(E.ones((1, n)), E.eye(n)), E.diag(E.vec(E.eye(n))))
        return E.matmul(pick, _vec_jacobian(inner, dx, memo))
    if op == "diag":  # diag(d) = I ⊙ (d 𝟏ᵀ): vec gives diag(vec I) (𝟏 ⊗ I) d
        inner = linear.args[0]
        n = inner.shape[0]
        place = E.matmul(E.diag(E.vec(E.eye(n))), E.kron(E.ones((n, 1)), E.eye(n)))
        return E.matmul(place, _vec_jacobian(inner, dx, memo))
    raise UnsupportedDerivativeError(
        f"the vec (Kronecker) form of a derivative through {op} is not supported; "
        "the differential form and the numeric array are")
