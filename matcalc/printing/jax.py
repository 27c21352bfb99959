"""jax: jit-compatible code in pure ``jax.numpy`` (an optional dependency).

The generated function takes and returns ``jax`` arrays; ``jax.jit(compiled.function)`` compiles
it. For XLA, ``Aᵀ x`` is written ``(xᵀ A)ᵀ`` (a literal transpose is costly there). Enable 64-bit
floats (``jax.config.update("jax_enable_x64", True)``) for double precision.
"""
from __future__ import annotations

import contextlib

from ..errors import MatcalcError
from .code import array_backend

# jnp.linalg.multi_dot (an einsum) returns the transpose for 26 factors or more (jax 0.10)
JAX = array_backend("jax", "jnp", "import jax.numpy as jnp", transpose_free=True, multi_dot_limit=25)


class JaxAdapter:
    backend = JAX
    failures = ()   # a singular matrix gives inf or nan

    def __init__(self):
        try:
            import jax.numpy as jnp
        except ImportError:   # pragma: no cover - depends on the environment
            raise MatcalcError("the jax backend needs jax: pip install jax") from None
        self.jnp = jnp

    def array(self, a):
        return self.jnp.asarray(a)

    def result(self, value, full, keep=None, fresh=False):   # jax arrays are immutable: no copies
        a = self.jnp.broadcast_to(self.jnp.asarray(value), full)
        return a.reshape(keep) if keep is not None else a

    def scalar(self, value):
        return self.jnp.asarray(value).reshape(())

    def zeros(self, shape):
        return self.jnp.zeros(shape)

    def quiet(self):
        return contextlib.nullcontext()
