"""jax: jit-compatible code in pure ``jax.numpy`` (an optional dependency).

The generated function takes and returns ``jax`` arrays; ``jax.jit(compiled.function)`` compiles
it. For XLA, ``Aᵀ x`` is written ``(xᵀ A)ᵀ`` (a literal transpose is costly there). Enable 64-bit
floats (``jax.config.update("jax_enable_x64", True)``) for double precision.
"""
from __future__ import annotations

from ..errors import MatcalcError
from .code import array_backend
from .numpy import coerce_input, fitted_shape, real_floats

# jnp.linalg.multi_dot (an einsum) returns the transpose for 26 factors or more (jax 0.10)
JAX = array_backend("jax", "jnp", "import jax.numpy as jnp", transpose_free=True, multi_dot_limit=25)


class JaxAdapter:
    backend = JAX
    failures = ()   # a singular matrix gives inf or nan

    def __init__(self):
        try:
            import jax
            import jax.numpy as jnp
        except ImportError:   # pragma: no cover - depends on the environment
            raise MatcalcError("the jax backend needs jax: pip install jax") from None
        self.jax = jax
        self.jnp = jnp

    def coerce(self, name: str, value, shape, sizes: dict):
        """An input as a jax array (a tracer under ``jit``, ``vmap`` or ``grad`` stays one) of its
        own float dtype — integers become the default float; booleans and complex numbers are
        refused — a scalar 0-d, the rest 2-D. Anything else is checked as numpy input is, then
        becomes a jax array."""
        jnp = self.jnp
        if not isinstance(value, self.jax.Array):
            return jnp.asarray(coerce_input(name, value, shape, sizes))
        value = real_floats(name, value)
        return jnp.reshape(value, fitted_shape(name, value.shape, shape, sizes))

    def unify(self, arrays: list) -> list:
        """The inputs in their common float dtype (float32 with float64 gives float64)."""
        if len({a.dtype for a in arrays}) < 2:
            return arrays
        common = self.jnp.result_type(*arrays)
        return [a.astype(common) for a in arrays]

    def result(self, value, full, keep=None, fresh=False, like=None):   # jax arrays are immutable: no copies
        a = self.jnp.broadcast_to(self._array(value, like), full)
        return a.reshape(keep) if keep is not None else a

    def scalar(self, value, like=None):
        return self._array(value, like).reshape(())

    def zeros(self, shape, like=None):
        return self.jnp.zeros(shape, dtype=like.dtype if like is not None else float)

    def _array(self, value, like):
        if hasattr(value, "dtype"):
            return self.jnp.asarray(value)
        return self.jnp.asarray(value, dtype=like.dtype if like is not None else float)

    def run(self, function, args: list):
        return function(*args)
