"""Generated functions inside jax and torch programs: by name under jit, vmap, grad and jacfwd, with
pytrees of inputs, float32 kept; torch tensors that require grad (the closed form differentiated
by autograd equals the generated Hessian), dtype and device kept, torch.compile. Skipped where the
library is absent."""
import shutil

import numpy as np
import pytest

import matcalc as mc

SHAPES = {"X": "N,n", "y": "N", "w": "n"}
LOSS = "sum(log(1 + exp(-y * (X @ w))))"


def _data(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((6, 3)), rng.choice([-1.0, 1.0], 6), rng.standard_normal(3)


@pytest.fixture(scope="module")
def jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_jax_function_by_name_under_jit_vmap_grad_and_jacfwd(jax):
    jnp = jax.numpy
    X, y, w = _data()
    gradient = mc.derive(LOSS, "w", SHAPES).to_jax()
    hessian = mc.derive(LOSS, "w", SHAPES, order=2).to_jax()
    reference = mc.derive(LOSS, "w", SHAPES).to_numpy()(X=X, y=y, w=w)
    np.testing.assert_allclose(jax.jit(gradient)(X=X, y=y, w=w), reference, rtol=1e-12)
    H = np.asarray(hessian(X=X, y=y, w=w))
    # jacfwd and grad of the generated gradient are the generated Hessian
    np.testing.assert_allclose(jax.jacfwd(lambda w: gradient(X=X, y=y, w=w))(w), H, rtol=1e-10)
    np.testing.assert_allclose(jax.grad(lambda w: jnp.sum(gradient(X=X, y=y, w=w)))(w), H.sum(axis=0), rtol=1e-10)
    # vmap over a batch of weights: each row is the gradient at that weight
    batch = jnp.stack([w, 2 * w, -w])
    rows = jax.vmap(lambda w: gradient(X=X, y=y, w=w))(batch)
    for row, weights in zip(np.asarray(rows), np.asarray(batch)):
        np.testing.assert_allclose(row, mc.derive(LOSS, "w", SHAPES).to_numpy()(X=X, y=y, w=weights), rtol=1e-12)


def test_jax_takes_a_pytree_of_parameters_and_keeps_float32(jax):
    jnp = jax.numpy
    g = mc.derive("0.5 * norm2(W2 @ tanh(W1 @ x) - y) ** 2", ["W1", "W2"],
                  {"W1": "h,n", "W2": "m,h", "x": "n", "y": "m"}).to_jax()
    rng = np.random.default_rng(1)
    params = {"W1": jnp.asarray(rng.standard_normal((4, 3)), jnp.float32),
              "W2": jnp.asarray(rng.standard_normal((2, 4)), jnp.float32)}
    out = jax.jit(g)(params, x=jnp.ones(3, jnp.float32), y=jnp.zeros(2, jnp.float32))
    assert {k: (v.shape, v.dtype) for k, v in out.items()} == {"W1": ((4, 3), jnp.float32),
                                                              "W2": ((2, 4), jnp.float32)}
    # constants the code makes (an identity) take the inputs' dtype too
    L = mc.derive("logdet(S) + trace(S)", "S", {"S": "n,n:spd"}).to_jax()
    assert L(S=jnp.eye(3, dtype=jnp.float32) * 2).dtype == jnp.float32


def test_torch_autograd_through_the_closed_form_gives_the_hessian(torch):
    X, y, w = _data(2)
    gradient = mc.derive(LOSS, "w", SHAPES).to_torch()
    H = mc.derive(LOSS, "w", SHAPES, order=2).to_torch()(X=X, y=y, w=w)
    weights = torch.tensor(w, requires_grad=True)
    g = gradient(X=torch.tensor(X), y=torch.tensor(y), w=weights)
    rows = [torch.autograd.grad(g[i], weights, retain_graph=True)[0] for i in range(3)]
    np.testing.assert_allclose(torch.stack(rows).numpy(), H.numpy(), rtol=1e-10)


def test_torch_keeps_dtype_and_device(torch):
    X, y, w = _data(3)
    hessian = mc.derive(LOSS, "w", SHAPES, order=2).to_torch()
    as32 = {k: torch.tensor(v, dtype=torch.float32) for k, v in {"X": X, "y": y, "w": w}.items()}
    H32 = hessian(**as32)
    assert H32.dtype == torch.float32
    np.testing.assert_allclose(H32.numpy(), hessian(X=X, y=y, w=w).numpy(), rtol=1e-4)
    source = mc.derive("logdet(S) + trace(S)", "S", {"S": "n,n:spd"}).source("torch")
    assert "float64" not in source.split("def gradient")[1]   # new tensors are like the inputs
    meta = {k: torch.empty(v.shape, device="meta") for k, v in as32.items()}   # shapes only, no data
    assert hessian(**meta).device.type == "meta"
    # mixed dtypes meet at the wider one
    assert hessian(X=as32["X"], y=as32["y"], w=torch.tensor(w)).dtype == torch.float64


def test_torch_compile_traces_the_generated_function(torch):
    f = mc.derive("x.T @ A @ x + sum(exp(x))", "x", {"A": "n,n", "x": "n"}).to_torch()
    compiled = torch.compile(lambda A, x: f(A=A, x=x), backend="aot_eager", fullgraph=False)
    A, x = torch.eye(3) * 2, torch.tensor([0.5, -1.0, 2.0])
    np.testing.assert_allclose(compiled(A, x).numpy(), f(A=A, x=x).numpy(), rtol=1e-6)


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                    reason="torch.compile's inductor backend compiles C++ (no compiler here)")
def test_torch_compile_inductor_takes_the_whole_hessian_as_one_graph(torch):
    hessian = mc.derive(LOSS, "w", SHAPES, order=2).to_torch()
    compiled = torch.compile(lambda X, y, w: hessian(X=X, y=y, w=w), backend="inductor", fullgraph=True)
    X, y, w = (torch.tensor(a) for a in _data(4))
    np.testing.assert_allclose(compiled(X, y, w).numpy(), hessian(X=X, y=y, w=w).numpy(), rtol=1e-12, atol=1e-12)


SHARDED = """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=8"
import jax, jax.numpy as jnp, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
jax.config.update("jax_enable_x64", True)
import matcalc as mc
shapes = {"X": "N,n", "y": "N", "w": "n"}
loss = "sum(log(1 + exp(-y * (X @ w))))"
rng = np.random.default_rng(0)
X, y, w = rng.standard_normal((800, 5)), rng.choice([-1.0, 1.0], 800), rng.standard_normal(5)
mesh = Mesh(np.array(jax.devices()), ("rows",))
Xs = jax.device_put(X, NamedSharding(mesh, P("rows", None)))    # X and y split by rows over 8 devices
ys = jax.device_put(y, NamedSharding(mesh, P("rows")))
for order in (1, 2):
    fn = mc.derive(loss, "w", shapes, order=order).to_jax()
    sharded, single = jax.jit(fn)(X=Xs, y=ys, w=w), fn(X=X, y=y, w=w)
    print(len(Xs.sharding.device_set), float(jnp.max(jnp.abs(sharded - single)) / jnp.max(jnp.abs(single))))
"""


def test_jax_code_under_jit_with_rows_sharded_over_eight_devices(jax):
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-c", SHARDED], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    for line in out.stdout.splitlines():
        devices, difference = line.split()
        assert devices == "8" and float(difference) < 1e-12
