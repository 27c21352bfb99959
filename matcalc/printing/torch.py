"""torch: code in ``torch`` operations on float64 tensors (an optional dependency)."""
from __future__ import annotations

import contextlib

from ..errors import MatcalcError
from .code import SQRT_2PI, Backend, kron_adjoint_helpers, scaled_norm

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
        "lower_half": ("def lower_half(n):\n"
                       "    ones = torch.ones((n, n), dtype=torch.float64)\n"
                       "    return torch.tril(ones, -1) + 0.5 * torch.eye(n, dtype=torch.float64)\n"),
        # nan stays nan, as in numpy (torch's heaviside and sign give 0 at nan)
        "step": "def step(z):\n    return torch.where(torch.isnan(z), z, (z > 0).to(z.dtype))\n",
        "sign": "def sign(z):\n    return torch.where(torch.isnan(z), z, torch.sign(z))\n",
        "commutation": ("def commutation(m, n):\n"   # row i n + j has its 1 in column j m + i
                        "    i, j = torch.meshgrid(torch.arange(m), torch.arange(n), indexing='ij')\n"
                        "    return torch.eye(m * n, dtype=torch.float64)[(j * m + i).reshape(-1)]\n"),
        "norm2": scaled_norm("torch", "torch.amax", "torch.linalg.norm"),
        "logsumexp": ("def logsumexp(z, axis=None):\n"
                      "    if axis is None:\n        return torch.logsumexp(z.reshape(-1), 0)\n"
                      "    return torch.logsumexp(z, axis, True)\n"),
    },
    zeros="torch.zeros({x}, dtype=torch.float64)", ones="torch.ones({x}, dtype=torch.float64)",
    eye="torch.eye({x}, dtype=torch.float64)", solve="torch.linalg.solve({a}, {b})",
    multi_dot="torch.linalg.multi_dot([{x}])",
    cholesky_logdet="2 * torch.sum(torch.log(torch.diagonal(torch.linalg.cholesky({x}))))",
    asarray="torch.as_tensor({x}, dtype=torch.float64)", scalar="torch.tensor({x}, dtype=torch.float64)",
    inf="torch.inf", permute="{x}.permute(1, 0, 2, 3)",
    sum_first_two="{x}.sum(dim=(0, 1), keepdim=True)", kron="torch.kron({a}, {b})", einsum="torch.einsum",
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

    def array(self, a):
        return self.torch.as_tensor(a, dtype=self.torch.float64)

    def result(self, value, full, keep=None, fresh=False):
        a = self.torch.as_tensor(value, dtype=self.torch.float64)
        if not fresh or a is not value or tuple(a.shape) != full:   # never a view of an input or a broadcast
            a = a.broadcast_to(full).clone()
        return a.reshape(keep) if keep is not None else a

    def scalar(self, value):
        return self.torch.as_tensor(value, dtype=self.torch.float64).reshape(())

    def zeros(self, shape):
        return self.torch.zeros(shape, dtype=self.torch.float64)

    def quiet(self):
        return contextlib.nullcontext()
