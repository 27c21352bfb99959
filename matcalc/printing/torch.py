"""torch: code in ``torch`` operations (an optional dependency). The generated code makes its
new tensors with the dtype and device of its first input, so that float32 stays float32 and a
GPU tensor stays on the GPU; the operations are differentiable by autograd."""
from __future__ import annotations

import functools

from ..errors import MatcalcError, ShapeError
from .code import SQRT_2PI, Backend, kron_adjoint_helpers, scaled_norm
from .numpy import coerce_input, fitted_shape

TORCH = Backend(
    name="torch", header="import torch", module="torch",
    functions={
        "exp": "torch.exp({x})", "log": "torch.log({x})", "sin": "torch.sin({x})", "cos": "torch.cos({x})",
        "tan": "torch.tan({x})", "tanh": "torch.tanh({x})", "sigmoid": "torch.sigmoid({x})",
        "relu": "torch.relu({x})", "softplus": "softplus({x})", "abs": "torch.abs({x})",
        "step": "step({x})", "sign": "sign({x})", "sqrt": "torch.sqrt({x})",
        "sinh": "torch.sinh({x})", "cosh": "torch.cosh({x})", "arcsin": "torch.asin({x})",
        "arccos": "torch.acos({x})", "arctan": "torch.atan({x})", "log1p": "torch.log1p({x})",
        "expm1": "torch.expm1({x})", "erf": "torch.erf({x})", "normcdf": "torch.special.ndtr({x})",
        "normpdf": "normpdf({x})", "gelu": "torch.nn.functional.gelu({x})",
        "silu": "torch.nn.functional.silu({x})",
    },
    calls={
        "inv": "torch.linalg.inv({x})", "det": "torch.linalg.det({x})",
        "matpow": "torch.linalg.matrix_power({x}, {k})",
        "logdet": "torch.linalg.slogdet({x})[1]", "trace": "torch.trace({x})", "sum": "torch.sum({x})",
        "norm2": "norm2({x})", "diag": "torch.diagflat({x})",
        "diagvec": "torch.diagonal({x}).reshape(-1, 1)", "softmax": "torch.softmax({x}, dim=0)",
        "log_softmax": "torch.log_softmax({x}, dim=0)", "pinv": "torch.linalg.pinv({x})",
        "softmax_axis": "torch.softmax({x}, dim={axis})", "log_softmax_axis": "torch.log_softmax({x}, dim={axis})",
        "expm": "torch.linalg.matrix_exp({x})", "cholesky": "torch.linalg.cholesky({x})",
        "eigvalsh": "torch.linalg.eigvalsh({x}).reshape(-1, 1)", "eigvecsh": "torch.linalg.eigh({x})[1]",
        "expm_frechet": "expm_frechet({a}, {b})", "kron_blocksum": "kron_blocksum({a}, {b})",
        "kron_blockdot": "kron_blockdot({a}, {b})",
    },
    helpers={
        "softplus": "def softplus(z):\n    return torch.logaddexp(z, torch.zeros_like(z))\n",
        "normpdf": f"def normpdf(z):\n    return torch.exp(-0.5 * z * z) / {SQRT_2PI!r}\n",
        # L(A, E) is the top-right block of exp([[A, E], [0, A]])
        "expm_frechet": ("def expm_frechet(a, e):\n    n = a.shape[0]\n"
                         "    block = torch.cat([torch.cat([a, e], 1), torch.cat([torch.zeros_like(a), a], 1)], 0)\n"
                         "    return torch.linalg.matrix_exp(block)[:n, n:]\n"),
        **kron_adjoint_helpers("torch.einsum"),
        "spd_inv": "def spd_inv(a):\n    return torch.cholesky_inverse(torch.linalg.cholesky(a))\n",
        "lower_half": ("def lower_half(n, dtype=torch.float64, device=None):\n"
                       "    ones = torch.ones((n, n), dtype=dtype, device=device)\n"
                       "    return torch.tril(ones, -1) + 0.5 * torch.eye(n, dtype=dtype, device=device)\n"),
        # nan stays nan, as in numpy (torch's heaviside and sign give 0 at nan)
        "step": "def step(z):\n    return torch.where(torch.isnan(z), z, (z > 0).to(z.dtype))\n",
        "sign": "def sign(z):\n    return torch.where(torch.isnan(z), z, torch.sign(z))\n",
        # row i n + j of the commutation matrix has its 1 in column j m + i
        "commutation": ("def commutation(m, n, dtype=torch.float64, device=None):\n"
                        "    i, j = torch.meshgrid(torch.arange(m, device=device), torch.arange(n, device=device),\n"
                        "                          indexing='ij')\n"
                        "    return torch.eye(m * n, dtype=dtype, device=device)[(j * m + i).reshape(-1)]\n"),
        "norm2": scaled_norm("torch", "torch.amax", "torch.linalg.norm"),
        "logsumexp": ("def logsumexp(z, axis=None):\n"
                      "    if axis is None:\n        return torch.logsumexp(z.reshape(-1), 0)\n"
                      "    return torch.logsumexp(z, axis, True)\n"),
    },
    zeros="torch.zeros({x}, dtype=dtype_, device=device_)", ones="torch.ones({x}, dtype=dtype_, device=device_)",
    eye="torch.eye({x}, dtype=dtype_, device=device_)", solve="torch.linalg.solve({a}, {b})",
    multi_dot="torch.linalg.multi_dot([{x}])",
    cholesky_logdet="2 * torch.sum(torch.log(torch.diagonal(torch.linalg.cholesky({x}))))",
    asarray="torch.as_tensor({x}, dtype=dtype_, device=device_)",
    scalar="torch.tensor({x}, dtype=dtype_, device=device_)",
    inf="torch.inf", permute="{x}.permute(1, 0, 2, 3)",
    sum_first_two="{x}.sum(dim=(0, 1), keepdim=True)", kron="torch.kron({a}, {b})", einsum="torch.einsum",
    builtins=frozenset({"dtype_", "device_"}), prologue="dtype_, device_ = {x}.dtype, {x}.device",
    prologue_default="dtype_, device_ = torch.float64, None", like_args=", dtype=dtype_, device=device_",
)


class TorchAdapter:
    backend = TORCH

    def __init__(self):
        try:
            import torch
        except ImportError:   # pragma: no cover - depends on the environment
            raise MatcalcError("the torch backend needs torch: pip install torch") from None
        self.torch = torch
        self.failures = (torch.linalg.LinAlgError,)

    def coerce(self, name: str, value, shape, sizes: dict):
        """An input as a tensor: a tensor keeps its float dtype, its device and its place in the
        autograd graph (integers become the default float; booleans and complex numbers are
        refused); anything else becomes a float64 tensor on the CPU. A scalar is 0-d, the rest 2-D."""
        torch = self.torch
        if not torch.is_tensor(value):
            array = coerce_input(name, value, shape, sizes)
            return torch.as_tensor(array, dtype=torch.float64)
        if value.is_complex() or value.dtype == torch.bool:
            what = "complex numbers" if value.is_complex() else "booleans"
            raise ShapeError(f"{name}: expected real numbers, got {what} (dtype {value.dtype})")
        if not value.is_floating_point():
            value = value.to(torch.get_default_dtype())
        return value.reshape(fitted_shape(name, value.shape, shape, sizes))

    def unify(self, arrays: list) -> list:
        """The inputs in their common float dtype (float32 with float64 gives float64)."""
        dtypes = {a.dtype for a in arrays}
        if len(dtypes) < 2:
            return arrays
        common = functools.reduce(self.torch.promote_types, dtypes)
        return [a.to(common) for a in arrays]

    def result(self, value, full, keep=None, fresh=False, like=None):
        a = self._tensor(value, like)
        if not fresh or a is not value or tuple(a.shape) != full:   # never a view of an input or a broadcast
            a = a.broadcast_to(full).clone()
        return a.reshape(keep) if keep is not None else a

    def scalar(self, value, like=None):
        return self._tensor(value, like).reshape(())

    def zeros(self, shape, like=None):
        return self.torch.zeros(shape, dtype=like.dtype if like is not None else self.torch.float64,
                                device=like.device if like is not None else None)

    def _tensor(self, value, like):
        if self.torch.is_tensor(value):
            return value
        if like is not None:
            return self.torch.as_tensor(value, dtype=like.dtype, device=like.device)
        return self.torch.as_tensor(value, dtype=self.torch.float64)

    def run(self, function, args: list):
        return function(*args)
