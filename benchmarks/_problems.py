"""The benchmark problems, each spelled once per contender: a matcalc string with its shapes, a
loss for jax and torch, hand-written numpy closed forms of its gradient (and Hessian), a sympy
matrix expression, and random inputs of a given size.

Conventions
-----------
* ``loss(ops, wrt, *others)``: the scalar function for the autodiff frameworks, the variable
  first, then the other inputs in the order ``Problem.others``; ``ops`` supplies what jax and torch
  spell differently (``jax_ops()``, ``torch_ops()``). Losses are written as one would for speed:
  the softplus as ``logaddexp``, ``trace(A X)`` as ``sum(A ⊙ Xᵀ)`` (no n³ product).
* Hand-written closed forms take the inputs by name, vectors 1-D, and are what an expert would
  type with numpy: ``A @ x + A.T @ x`` rather than ``(A + A.T) @ x``, ``inv(X).T``, etc.
* ``inputs(n, rng)``: ``{name: array}``, vectors 1-D, float64, scaled so that no exponential
  overflows and square matrices that are inverted are well conditioned with a positive
  determinant.
* ``sympy(s)``: the function as a sympy matrix expression of the ``MatrixSymbol`` s in the
  namespace ``s`` (their sizes are whatever the caller gives them).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from types import SimpleNamespace

from _timing import load_jax, load_torch  # first: sets the thread-pool environment for numpy

import numpy as np  # noqa: E402
from sympy import Determinant, HadamardProduct, OneMatrix, Trace, exp, log  # noqa: E402

MLP_OUTPUTS = 10              # K, the rows of Y in the two-layer network
CLASSES = 10                  # K, the classes of the cross-entropy on a batch
LAYER_NORM_EPS = 1e-5
ATTENTION_SCALE = 8           # softmax(Q Kᵀ / 8): √d for d = 64


# ---------------------------------------------------------------------------------------
# sympy spellings of matcalc functions (also used by derive_speed.py)
# ---------------------------------------------------------------------------------------

def sig(u):
    return 1 / (1 + exp(-u))


def ew(m, fn):
    """Elementwise ``fn`` of a matrix expression."""
    return m.applyfunc(fn)


def total(m):
    """``sum`` of a column vector: ``1ᵀ m`` (a 1×1 matrix)."""
    return OneMatrix(1, m.shape[0]) * m


def sq(v):
    """``norm2(v)**2`` of a vector as ``vᵀ v`` (sympy has no norm of a symbolic vector)."""
    return v.T * v


def frobenius2(m):
    """``norm2(M)**2`` of a matrix as ``trace(Mᵀ M)``."""
    return Trace(m.T * m)


def log_softmax(z):
    """``z - 1 log(1ᵀ exp(z))``."""
    return z - OneMatrix(z.shape[0], 1) * ew(total(ew(z, exp)), log)


# ---------------------------------------------------------------------------------------
# jax and torch spellings
# ---------------------------------------------------------------------------------------

@cache
def jax_ops():
    jax = load_jax()
    jnp = jax.numpy
    from jax.scipy.linalg import expm
    return SimpleNamespace(softplus=lambda z: jnp.logaddexp(z, 0.0),
                           sigmoid=jax.nn.sigmoid,
                           logdet=lambda X: jnp.linalg.slogdet(X)[1],
                           log_softmax=jax.nn.log_softmax, softmax=jax.nn.softmax,
                           mean=lambda z, axis: jnp.mean(z, axis=axis, keepdims=True), sqrt=jnp.sqrt,
                           solve=jnp.linalg.solve, expm=expm, trace=jnp.trace)


@cache
def torch_ops():
    torch = load_torch()
    return SimpleNamespace(softplus=lambda z: torch.logaddexp(z, torch.zeros_like(z)),
                           sigmoid=torch.sigmoid,
                           logdet=lambda X: torch.linalg.slogdet(X)[1],
                           log_softmax=lambda z, axis: torch.log_softmax(z, dim=axis),
                           softmax=lambda z, axis: torch.softmax(z, dim=axis),
                           mean=lambda z, axis: torch.mean(z, dim=axis, keepdim=True), sqrt=torch.sqrt,
                           solve=torch.linalg.solve, expm=torch.linalg.matrix_exp, trace=torch.trace)


# ---------------------------------------------------------------------------------------
# Losses (jax, torch)
# ---------------------------------------------------------------------------------------

def quadratic_loss(ops, x, A):
    return x @ A @ x


def least_squares_loss(ops, x, A, b):
    r = A @ x - b
    return (r * r).sum()


def logistic_loss(ops, w, X, y):
    return ops.softplus(-y * (X @ w)).sum()


def mlp_loss(ops, W1, W2, X, Y):
    R = W2 @ ops.sigmoid(W1 @ X) - Y
    return (R * R).sum()


def logdet_loss(ops, X, A):
    return ops.logdet(X) + (A * X.T).sum()


def cross_entropy_loss(ops, W, X, T):
    return -(T * ops.log_softmax(W @ X, axis=0)).sum()


def layer_norm_loss(ops, A, g, G):
    centred = A - ops.mean(A, 0)
    return (G * (g[:, None] * centred / ops.sqrt(ops.mean(centred * centred, 0) + LAYER_NORM_EPS))).sum()


def attention_loss(ops, Q, K, V, G):
    return (G * (ops.softmax(Q @ K.T / ATTENTION_SCALE, axis=1) @ V)).sum()


def gp_loss(ops, K, y):
    return 0.5 * y @ ops.solve(K, y) + 0.5 * ops.logdet(K)


def expm_loss(ops, X, A):
    return ops.trace(A @ ops.expm(X))


def deep_mlp_loss(ops, W1, *rest):
    """``‖σ(W_L ··· σ(W_1 x)) − t‖²``; ``rest`` = W_2, ..., W_L, x, t."""
    *Ws, x, t = rest
    h = ops.sigmoid(W1 @ x)
    for W in Ws:
        h = ops.sigmoid(W @ h)
    r = h - t
    return (r * r).sum()


# ---------------------------------------------------------------------------------------
# Hand-written closed forms (numpy)
# ---------------------------------------------------------------------------------------

def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def quadratic_gradient(A, x):
    return A @ x + A.T @ x


def quadratic_hessian(A, x):
    return A + A.T


def least_squares_gradient(A, x, b):
    return 2.0 * (A.T @ (A @ x - b))


def least_squares_hessian(A, x, b):
    return 2.0 * (A.T @ A)


def logistic_gradient(X, w, y):
    return -(X.T @ (y * sigmoid(-y * (X @ w))))


def logistic_weights(X, w, y):
    """``s (1 - s)`` with ``s = σ(-y ⊙ Xw)`` (the curvature weights; y² = 1)."""
    s = sigmoid(-y * (X @ w))
    return s * (1.0 - s)


def logistic_hessian(X, w, y):
    return X.T @ (logistic_weights(X, w, y)[:, None] * X)


def logistic_hvp(X, w, y, v):
    return X.T @ (logistic_weights(X, w, y) * (X @ v))


def mlp_gradient(W1, W2, X, Y):
    H = sigmoid(W1 @ X)
    return 2.0 * (((W2.T @ (W2 @ H - Y)) * H * (1.0 - H)) @ X.T)


def logdet_gradient(X, A):
    return np.linalg.inv(X).T + A.T


def softmax_columns(Z):
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def cross_entropy_gradient(W, X, T):
    """One-hot columns T: (softmax(W X) − T) Xᵀ."""
    return (softmax_columns(W @ X) - T) @ X.T


def layer_norm_gradient(A, g, G):
    """Layer norm over the columns of A, gain g: the usual backward pass through x̂ = (A − μ)/σ."""
    centred = A - A.mean(axis=0, keepdims=True)
    inv_sigma = 1.0 / np.sqrt((centred * centred).mean(axis=0, keepdims=True) + LAYER_NORM_EPS)
    xhat = centred * inv_sigma
    dxhat = G * g[:, None]
    return inv_sigma * (dxhat - dxhat.mean(axis=0, keepdims=True) - xhat * (dxhat * xhat).mean(axis=0, keepdims=True))


def attention_gradient(Q, K, V, G):
    """P = softmax(Q Kᵀ / s) by rows: dQ = (P ⊙ (dP − rowsum(dP ⊙ P))) K / s, dP = G Vᵀ."""
    S = Q @ K.T / ATTENTION_SCALE
    P = np.exp(S - S.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    dP = G @ V.T
    return (P * (dP - (dP * P).sum(axis=1, keepdims=True))) @ K / ATTENTION_SCALE


def gp_gradient(K, y):
    """½ (K⁻¹ − α αᵀ), α = K⁻¹ y, both from one Cholesky factorisation."""
    import scipy.linalg
    factor = scipy.linalg.cho_factor(K)
    alpha = scipy.linalg.cho_solve(factor, y)
    return 0.5 * (scipy.linalg.cho_solve(factor, np.eye(K.shape[0])) - np.outer(alpha, alpha))


def expm_gradient(X, A):
    """∇ tr(A exp(X)) = L(Xᵀ, Aᵀ), the Fréchet derivative (scipy's)."""
    import scipy.linalg
    return scipy.linalg.expm_frechet(X.T, A.T, compute_expm=False)


def deep_mlp_gradient(x, t, **W):
    """Backpropagation through ``h_l = σ(W_l h_{l-1})``, ``h_0 = x``, loss ``‖h_L − t‖²``."""
    L = len(W)
    hs = [x]
    for l in range(1, L + 1):
        hs.append(sigmoid(W[f"W{l}"] @ hs[-1]))
    delta = 2.0 * (hs[-1] - t)
    for l in range(L, 0, -1):
        delta = delta * hs[l] * (1.0 - hs[l])
        if l > 1:
            delta = W[f"W{l}"].T @ delta
    return np.outer(delta, x)


# ---------------------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------------------

def as_2d(value: np.ndarray) -> np.ndarray:
    """A vector as a column ``(n, 1)``; matrices unchanged."""
    return value.reshape(-1, 1) if value.ndim == 1 else value


def raw_args(fn, values: dict) -> list:
    """Positional arguments of a function generated by matcalc (``fn.function``): 2-D arrays in
    ``fn.params`` order."""
    if fn.free_dims:
        raise NotImplementedError(f"free sizes {fn.free_dims} are not supported here")
    return [as_2d(values[name]) for name in fn.params]


def quadratic_inputs(n, rng):
    return {"x": rng.normal(size=n), "A": rng.normal(size=(n, n))}


def least_squares_inputs(n, rng):
    m = 2 * n
    return {"x": rng.normal(size=n), "A": rng.normal(size=(m, n)), "b": rng.normal(size=m)}


def logistic_inputs(n, rng):
    N = 2 * n
    return {"w": rng.normal(size=n), "X": rng.normal(size=(N, n)) / math.sqrt(n),
            "y": rng.choice([-1.0, 1.0], size=N)}


def mlp_inputs(n, rng):
    """D = H = N = n (inputs, hidden units, batch), K = ``MLP_OUTPUTS``."""
    return {"W1": rng.normal(size=(n, n)) / math.sqrt(n),
            "W2": rng.normal(size=(MLP_OUTPUTS, n)) / math.sqrt(n),
            "X": rng.normal(size=(n, n)), "Y": rng.normal(size=(MLP_OUTPUTS, n))}


def logdet_inputs(n, rng):
    """X = 2 I + G / √n: its eigenvalues lie in the disc |z − 2| ≤ ~1, so det X > 0."""
    return {"X": 2.0 * np.eye(n) + rng.normal(size=(n, n)) / math.sqrt(n),
            "A": rng.normal(size=(n, n))}


def cross_entropy_inputs(n, rng):
    """D = N = n, K = ``CLASSES``; one-hot columns T."""
    T = np.zeros((CLASSES, n))
    T[rng.integers(0, CLASSES, n), np.arange(n)] = 1.0
    return {"W": rng.normal(size=(CLASSES, n)) / math.sqrt(n), "X": rng.normal(size=(n, n)), "T": T}


def layer_norm_inputs(n, rng):
    return {"A": rng.normal(size=(n, n)), "g": rng.normal(size=n), "G": rng.normal(size=(n, n))}


def attention_inputs(n, rng):
    """N = M = n tokens, d = 64."""
    d = 64
    return {"Q": rng.normal(size=(n, d)), "K": rng.normal(size=(n, d)), "V": rng.normal(size=(n, d)),
            "G": rng.normal(size=(n, d))}


def gp_inputs(n, rng):
    """A kernel matrix: G Gᵀ / n + I (well conditioned)."""
    G = rng.normal(size=(n, n))
    return {"K": G @ G.T / n + np.eye(n), "y": rng.normal(size=n)}


def expm_inputs(n, rng):
    return {"X": rng.normal(size=(n, n)) / math.sqrt(n), "A": rng.normal(size=(n, n))}


def deep_mlp_inputs(L, n, rng):
    values = {f"W{l}": rng.normal(size=(n, n)) / math.sqrt(n) for l in range(1, L + 1)}
    values.update(x=rng.normal(size=n), t=rng.uniform(size=n))
    return values


# ---------------------------------------------------------------------------------------
# The problems
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    key: str                          # short name (file names, plot)
    name: str                         # shown in the report
    f: str                            # matcalc source
    wrt: str
    shapes: dict
    loss: Callable                    # loss(ops, wrt value, *others in `others` order)
    others: tuple
    inputs: Callable                  # (n, rng) -> {name: array}, vectors 1-D
    gradient: Callable                # hand-written closed form, by keyword
    hessian: Callable | None = None   # hand-written Hessian (None where not a matrix)
    sympy: Callable | None = None     # namespace of MatrixSymbols -> sympy expression
    hvp: Callable | None = None       # hand-written Hessian-vector product (direction ``v``)


LOGISTIC = "sum(log(1 + exp(-y * (X @ w))))"
LOGISTIC_SHAPES = {"y": "N", "X": "N,n", "w": "n"}

QUADRATIC = Problem(
    "quadratic", "quadratic xᵀAx", "x.T @ A @ x", "x", {"x": "n", "A": "n,n"},
    quadratic_loss, ("A",), quadratic_inputs, quadratic_gradient, quadratic_hessian,
    lambda s: s.x.T * s.A * s.x)

LEAST_SQUARES = Problem(
    "least_squares", "least squares ‖Ax − b‖² (m = 2n)", "norm2(A @ x - b)**2", "x",
    {"A": "m,n", "x": "n", "b": "m"},
    least_squares_loss, ("A", "b"), least_squares_inputs, least_squares_gradient,
    least_squares_hessian, lambda s: sq(s.A * s.x - s.b))

LOGISTIC_REGRESSION = Problem(
    "logistic", "logistic Σ log(1 + exp(−y ⊙ Xw)) (N = 2n)", LOGISTIC, "w", LOGISTIC_SHAPES,
    logistic_loss, ("X", "y"), logistic_inputs, logistic_gradient, logistic_hessian,
    lambda s: total(ew(HadamardProduct(s.y, s.X * s.w), lambda u: log(1 + exp(-u)))), logistic_hvp)

MLP = Problem(
    "mlp", f"MLP ‖W₂ σ(W₁ X) − Y‖² (D = H = N = n, K = {MLP_OUTPUTS})",
    "norm2(W2 @ sigmoid(W1 @ X) - Y)**2", "W1",
    {"W1": "H,D", "W2": "K,H", "X": "D,N", "Y": "K,N"},
    mlp_loss, ("W2", "X", "Y"), mlp_inputs, mlp_gradient, None,
    lambda s: frobenius2(s.W2 * ew(s.W1 * s.X, sig) - s.Y))

LOGDET = Problem(
    "logdet", "logdet(X) + trace(A X)", "logdet(X) + trace(A @ X)", "X", {"X": "n,n", "A": "n,n"},
    logdet_loss, ("A",), logdet_inputs, logdet_gradient, None,
    lambda s: log(Determinant(s.X)) + Trace(s.A * s.X))


CROSS_ENTROPY = Problem(
    "cross_entropy", f"softmax cross-entropy on a batch (D = N = n, K = {CLASSES}, one-hot T)",
    "-sum(T * log_softmax(W @ X, axis=0))", "W",
    {"W": "K,D", "X": "D,N", "T": ("onehot", "K,N")},
    cross_entropy_loss, ("X", "T"), cross_entropy_inputs, cross_entropy_gradient)

LAYER_NORM = Problem(
    "layer_norm", "layer norm with a gain (h = N = n)",
    "sum(G * (g * (A - mean(A, axis=0)) / sqrt(mean((A - mean(A, axis=0)) ** 2, axis=0) + 1e-5)))", "A",
    {"A": "h,N", "g": "h", "G": "h,N"}, layer_norm_loss, ("g", "G"), layer_norm_inputs, layer_norm_gradient)

ATTENTION = Problem(
    "attention", "attention ⟨G, softmax(Q Kᵀ/8) V⟩ (N = n, d = 64), w.r.t. Q",
    "sum(G * (softmax(Q @ K.T / 8, axis=1) @ V))", "Q", {"Q": "N,d", "K": "N,d", "V": "N,d", "G": "N,d"},
    attention_loss, ("K", "V", "G"), attention_inputs, attention_gradient)

GAUSSIAN_PROCESS = Problem(
    "gp", "GP ½ yᵀK⁻¹y + ½ log det K, w.r.t. K (spd)", "0.5 * y.T @ solve(K, y) + 0.5 * logdet(K)", "K",
    {"K": ("spd", "n,n"), "y": "n"}, gp_loss, ("y",), gp_inputs, gp_gradient)

EXPM = Problem(
    "expm", "tr(A exp(X))", "trace(A @ expm(X))", "X", {"X": "n,n", "A": "n,n"},
    expm_loss, ("A",), expm_inputs, expm_gradient)


def deep_mlp(L: int) -> Problem:
    """The L-layer network ``h = σ(W_l h)``, l = 1..L, ``h_0 = x``, loss ``‖h − t‖²`` w.r.t. W1."""
    h = "x"
    for l in range(1, L + 1):
        h = f"sigmoid(W{l} @ {h})"
    shapes = {f"W{l}": "n,n" for l in range(1, L + 1)}
    shapes.update(x="n", t="n")
    return Problem(
        f"mlp{L}", f"{L}-layer MLP", f"norm2({h} - t)**2", "W1", shapes, deep_mlp_loss,
        tuple(f"W{l}" for l in range(2, L + 1)) + ("x", "t"),
        lambda n, rng: deep_mlp_inputs(L, n, rng), deep_mlp_gradient)
