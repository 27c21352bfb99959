"""Property tests: random well-typed expressions are differentiated correctly, and the canonical
form does not depend on the order operands are written in."""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcalc as mc

x, y = mc.vector("x", "n"), mc.vector("y", "n")
A, B = mc.matrix("A", "n", "n"), mc.matrix("B", "n", "n")
c = mc.scalar("c")
SMOOTH = [mc.sin, mc.cos, mc.tanh, mc.sigmoid, mc.softplus]


def vectors(depth):
    """Random n×1 expressions."""
    leaf = st.sampled_from([x, y, A @ x, B @ y])
    if depth == 0:
        return leaf
    sub = vectors(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(sub, sub).map(lambda p: p[0] + p[1]),
        st.tuples(sub, sub).map(lambda p: p[0] - p[1]),
        st.tuples(sub, sub).map(lambda p: p[0] * p[1]),
        st.tuples(st.sampled_from([A, B, A.T, A @ B]), sub).map(lambda p: p[0] @ p[1]),
        st.tuples(st.sampled_from(SMOOTH), sub).map(lambda p: p[0](p[1])),
        st.tuples(st.sampled_from([c, 2, -0.5]), sub).map(lambda p: p[0] * p[1]),
    )


def scalars(depth=2):
    v = vectors(depth)
    return st.one_of(
        st.tuples(v, v).map(lambda p: p[0].T @ p[1]),
        v.map(mc.sum),
        st.tuples(v, st.sampled_from([A, B])).map(lambda p: p[0].T @ p[1] @ p[0]),
        v.map(lambda e: mc.norm2(e) ** 2),
    )


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(f=scalars(), wrt=st.sampled_from([x, A, c]))
def test_random_gradients_pass_their_check(f, wrt):
    g = mc.derive(f, wrt)
    assert g.shape == wrt.shape
    report = g.check(seed=0, trials=2)
    assert report.status != "wrong", f"{f} / {wrt.name}: {g} — {report}"


@settings(max_examples=40, deadline=None, derandomize=True)
@given(terms=st.lists(vectors(1), min_size=2, max_size=4), data=st.data())
def test_sums_and_products_are_order_independent(terms, data):
    shuffled = data.draw(st.permutations(terms))
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    other = shuffled[0]
    for t in shuffled[1:]:
        other = other + t
    assert total is other
    product = terms[0]
    for t in terms[1:]:
        product = product * t
    other = shuffled[0]
    for t in shuffled[1:]:
        other = other * t
    assert product is other
