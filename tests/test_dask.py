"""The generated code on chunked dask arrays, on a real local cluster (two worker processes): the
logistic-regression gradient, Hessian and Hessian-vector product stay lazy until computed and
equal numpy's. Skipped where dask (with distributed) is not installed."""
import numpy as np
import pytest

import matcalc as mc

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("dask.distributed")

SHAPES = {"X": "N,n", "y": "N", "w": "n", "v": "n"}
LOSS = "sum(log(1 + exp(-y * (X @ w))))"


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       memory_limit="1GiB")
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_glm_derivatives_on_a_cluster_equal_numpys(client):
    state = da.random.RandomState(0)
    X = state.standard_normal((200_000, 20), chunks=(20_000, 20))   # made on the workers, block by block
    y = da.sign(state.standard_normal(200_000, chunks=20_000))
    w, v = np.linspace(-0.1, 0.1, 20), np.linspace(1.0, 2.0, 20)
    derivatives = {"gradient": mc.derive(LOSS, "w", SHAPES), "hessian": mc.derive(LOSS, "w", SHAPES, order=2),
                   "hvp": mc.hvp(LOSS, "w", "v", SHAPES)}
    lazy = {name: d.compile("dask")(X=X, y=y, w=w, **({"v": v} if name == "hvp" else {}))
            for name, d in derivatives.items()}
    assert all(isinstance(value, da.Array) for value in lazy.values())   # nothing computed yet
    computed = dict(zip(lazy, client.compute(list(lazy.values()), sync=True)))
    X_, y_ = client.compute([X, y], sync=True)
    for name, d in derivatives.items():
        want = d.to_numpy()(X=X_, y=y_, w=w, **({"v": v} if name == "hvp" else {}))
        assert computed[name].shape == want.shape
        np.testing.assert_allclose(computed[name], want, rtol=1e-10, atol=1e-10 * np.max(np.abs(want)))


def test_dask_code_is_numpy_code_without_branches_or_multi_dot():
    source = mc.derive("a.T @ B @ C @ x", "x", {"a": "n", "B": "n,n", "C": "n,n", "x": "n"}).source("dask")
    assert "multi_dot" not in source and "errstate" not in source
    X = da.ones((6, 3), chunks=(2, 3))
    with pytest.raises(mc.ShapeError, match="dimension"):
        mc.derive(LOSS, "w", SHAPES).compile("dask")(X=X, y=da.ones(5, chunks=5), w=np.ones(3))
