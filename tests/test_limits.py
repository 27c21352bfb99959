"""Budgets (issue 9 §3): constants, exponents, matrix powers, input bytes; the cost of the
families that used to hang (counted as work, not timed); the recursion limit under threads."""
import subprocess
import sys
import threading
from fractions import Fraction

import numpy as np
import pytest

import matcalc as mc
from matcalc import expr as E
from matcalc import limits
from matcalc.diff import Differentiator
from matcalc.errors import InternalError, LimitError
from matcalc.limits import MAX_EXACT_BITS, guarded

SHAPES = {"x": "n", "y": "n", "A": "n,n", "X": "n,n"}


def constant_of(text: str):
    """The value of a constant expression."""
    c = mc.parse(text)
    assert c.op == "const"
    return c.data


# -- constants ---------------------------------------------------------------------------------

@pytest.mark.parametrize("text, fragment", [
    ("10**400", "the constant 10**400 exceeds the float range"),
    ("9**9**9", "the constant 9**387420489 exceeds the float range"),
    ("10**10**10", "the constant 10**10000000000 exceeds the float range"),
    ("0.5**10**20", "the constant (1/2)**100000000000000000000 is too small for a float"),
    ("2**-1075", "is too small for a float (it rounds to 0)"),
    ("1e400", "the number 1e400 is beyond the float range"),
    ("1e-400", "the number 1e-400 is too small for a float"),
    ("1e99999999999", "the number 1e99999999999 is beyond the float range"),
    ("9" * 5000, "(5000 characters) is beyond the float range"),
    ("0." + "0" * 5000 + "1", "is too small for a float"),
    ("4**(10**300 + 1/2)", "exceeds the float range"),
])
def test_constants_beyond_floats_are_a_limit_error_naming_them(text, fragment):
    with pytest.raises(LimitError, match=fragment.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        mc.derive(f"({text}) * sum(x)", "x", SHAPES)


def test_constants_are_exact_within_the_budget_and_floats_beyond():
    assert constant_of("(2/3)**20") == Fraction(2**20, 3**20)
    assert constant_of("3**161") == 3**161                         # 256 bits: still exact
    big = constant_of("3**162")                                     # 257 bits: the nearest float
    assert isinstance(big, float) and big == float(3**162)
    assert constant_of("2**-1074") == 5e-324                         # the smallest float
    assert constant_of("0.1") == Fraction(1, 10)
    assert constant_of("0." + "3" * 400) == pytest.approx(1 / 3)    # long decimals are read as floats
    assert constant_of("0e999999999") == 0
    assert MAX_EXACT_BITS == 256


def test_products_and_sums_of_constants_keep_the_budget():
    assert constant_of("*".join(["3"] * 100)) == 3**100
    product = constant_of("*".join(["3"] * 600))                   # 951 bits: a float
    assert isinstance(product, float) and product == pytest.approx(3.0**600)
    assert constant_of("+".join(f"1/{p}" for p in (2, 3, 5, 7, 11, 13))) == \
        sum(Fraction(1, p) for p in (2, 3, 5, 7, 11, 13))
    with pytest.raises(LimitError, match="a product's coefficient"):
        mc.parse("*".join(["1e300"] * 3) + " * sum(x)", SHAPES)


def test_a_power_of_a_product_stays_symbolic_where_its_constant_would_not_fit():
    f = mc.parse("sum((2 * x) ** 2000)", SHAPES)
    power = f.args[0]
    assert power.op == "pow" and power.args[0] is mc.parse("2 * x", SHAPES)
    assert str(mc.parse("(2 * x) ** 3", SHAPES)) == "8 x∘³"    # within the budget it distributes
    g = mc.derive("sum((0.5 * x) ** 1e308)", "x", SHAPES)      # a float exponent: never an integer power
    assert str(g) == "5e+307 (½ x)∘^1e+308"


def test_api_constants_are_checked_too():
    x = mc.vector("x", "n")
    with pytest.raises(LimitError, match="exceeds the float range"):
        x * 10**400
    with pytest.raises(LimitError, match="exceeds the float range"):
        x * float("inf")
    with pytest.raises(mc.MatcalcError, match="nan"):
        x * float("nan")
    assert (x * 2**300).args[0].data == float(2**300)


# -- matrix powers -----------------------------------------------------------------------------

def test_a_matrix_power_is_one_node_whatever_its_exponent():
    X = mc.matrix("X", "n", "n")
    p = mc.parse("X^-1000000", SHAPES, syntax="matlab")
    assert (p.op, p.args, p.data) == ("matpow", (X,), -1000000)
    assert str(p) == "X⁻¹⁰⁰⁰⁰⁰⁰" and p.latex() == "X^{-1000000}"
    assert mc.parse("X^2", SHAPES, syntax="matlab") is X @ X          # small powers stay products
    assert mc.parse("X^-3", SHAPES, syntax="matlab") is mc.inv(X) @ mc.inv(X) @ mc.inv(X)
    assert mc.parse("X^4", SHAPES, syntax="matlab") is X @ X @ X @ X    # a run of one factor is a power
    assert (X @ X @ X) @ X is E.matpow(X, 4) and E.matpow(X, 5) @ X is E.matpow(X, 6)
    assert mc.inv(E.matpow(X, 5)) is E.matpow(X, -5) and E.matpow(mc.inv(X), 5) is E.matpow(X, -5)
    assert E.matpow(E.matpow(X, 5), 3) is E.matpow(X, 15) and E.matpow(X, 0) is mc.eye("n")
    assert str(E.matpow(X.T, 5)) == "(Xᵀ)⁵" and E.matpow(X.T, 5).latex() == r"\left(X^{\top}\right)^{5}"
    assert E.matpow(X, 5).T is E.matpow(X.T, 5)
    assert str(mc.det(E.matpow(X, 5))) == "det(X)⁵" and str(mc.logdet(E.matpow(X, 7))) == "7 log det(X)"
    assert str(E.matpow(2 * X, 5)) == "32 X⁵"
    with pytest.raises(mc.ShapeError, match="square"):
        E.matpow(mc.matrix("B", "n", "m"), 5)


def test_the_differential_of_a_matrix_power_has_one_term_per_factor():
    X = mc.matrix("X", "n", "n")
    d = Differentiator(X)
    assert str(d(E.matpow(X, 5))) == "X X X dX X + X X dX X X + X dX X X X + dX X⁴ + X⁴ dX"
    assert len(d(E.matpow(X, 1000)).args) == 1000
    assert str(d(E.matpow(X, -4))) == "−X⁻¹ dX X⁻⁴ − X⁻¹ X⁻¹ dX X⁻¹ X⁻¹ X⁻¹ − X⁻¹ X⁻¹ X⁻¹ dX X⁻¹ X⁻¹ − X⁻⁴ dX X⁻¹"


@pytest.mark.parametrize("text", ["tr(A*X^5)", "tr(A*X^-4)", "x'*(A*X)^6*x"])
def test_derivatives_through_matrix_powers_are_right(text):
    g = mc.derive(text, "X", SHAPES, syntax="matlab")
    assert g.check(seed=1).ok


def test_a_matrix_power_evaluates_as_numpy_does():
    X = mc.matrix("X", "n", "n")
    rng = np.random.default_rng(0)
    value = rng.standard_normal((4, 4)) + 4 * np.eye(4)
    for k in (5, -7, 40):
        np.testing.assert_allclose(E.matpow(X, k).to_numpy()(X=value), np.linalg.matrix_power(value, k))


def test_a_matrix_power_too_large_to_differentiate_says_so():
    with pytest.raises(LimitError, match=f"up to \\|k\\| = {limits.MAX_MATRIX_POWER:,}"):
        mc.derive("tr(X^-1000000)", "X", SHAPES, syntax="matlab")
    # a second derivative has about k²/2 terms: refused, not a hang (found by the attack fuzzer)
    with pytest.raises(LimitError, match="more than 10,000 terms in all"):
        mc.hvp("sum(inv(X) ^ 1000)", "X", "V", {"X": "n,n", "V": "n,n"}, syntax="matlab")


# -- the families that used to hang: the work grows with the size of the input --------------------

def nodes_made(monkeypatch, build) -> int:
    """How many expression nodes ``build()`` creates."""
    made = []
    make = E._make

    def counting(*args):
        made.append(1)
        return make(*args)
    monkeypatch.setattr(E, "_make", counting)
    build()
    monkeypatch.setattr(E, "_make", make)
    return len(made)


def nested(depth: int, name: str = "x") -> E.Expr:
    return mc.sum(_nest(mc.vector(name, "n"), depth))


def test_nesting_that_shares_subexpressions_costs_its_size(monkeypatch):
    # each size with its own variable, so that no node of one helps another
    work = {d: nodes_made(monkeypatch, lambda d=d: str(mc.derive(nested(d, f"x{d}"), f"x{d}"))) for d in (10, 20, 40)}
    assert work[40] < 2.2 * work[20] < 4.4 * work[10]
    x = mc.vector("x", "n")
    g = mc.derive(nested(3), x)
    assert str(g) == ("(u₁∘² − v₁∘²) ⊙ (u₂∘² − v₂∘²) ⊙ (cos(u₂ ⊙ v₂)∘² − sin(u₂ ⊙ v₂)∘²), "
                      "where u₁ = cos(x), v₁ = sin(x), u₂ = cos(u₁ ⊙ v₁), v₂ = sin(u₁ ⊙ v₁)")
    assert g.check(seed=0).ok


def test_a_jacobian_through_shared_nesting_costs_its_size(monkeypatch):
    # sum(e) x by x: a Jacobian, whose vec form once walked the shared differential as a tree
    # (2ᵈ); now quadratic at most: the flat product of d factors is made once per level
    def jacobian(d):
        x = mc.vector(f"j{d}", "n")
        return str(mc.derive(mc.sum(_nest(x, d)) * x, x))
    work = {d: nodes_made(monkeypatch, lambda d=d: jacobian(d)) for d in (10, 20, 40)}
    assert work[40] < 4 * work[20] < 16 * work[10]
    x = mc.vector("x", "n")
    g = mc.derive(mc.sum(_nest(x, 12)) * x, x)
    assert g.kind == "jacobian" and g.check(seed=0).ok


def _nest(f, depth):
    for _ in range(depth):
        f = mc.sin(f) * mc.cos(f)
    return f


def program(lines: int, name: str = "x") -> str:
    return f"e0 = {name}\n" + "\n".join(f"e{i + 1} = sin(e{i}) * cos(e{i})" for i in range(lines)) + \
        f"\nL = sum(e{lines})"


def test_a_staged_program_that_uses_each_stage_twice_costs_its_length(monkeypatch):
    work = {n: nodes_made(monkeypatch, lambda n=n: str(mc.derive(program(n, f"x{n}"), f"x{n}", {f"x{n}": "k"})))
            for n in (10, 20, 40)}
    assert work[40] < 2.2 * work[20] < 4.4 * work[10]
    g = mc.derive(program(20), "x", {"x": "n"})
    steps = str(g.steps()).splitlines()
    assert steps[2].split("[")[0].strip() == "2. δe₁₉ = δe₂₀ ⊙ (cos(e₁₉)∘² − sin(e₁₉)∘²)"
    # one factor a stage, in the stages' order
    assert str(g) == " ⊙ ".join(f"(cos(e{d})∘² − sin(e{d})∘²)" for d in ("₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈",
                                                                      "₉", "₁₀", "₁₁", "₁₂", "₁₃", "₁₄", "₁₅",
                                                                      "₁₆", "₁₇", "₁₈", "₁₉"))


def test_long_sums_and_products_cost_their_length(monkeypatch):
    def sum_text(n):
        return "+".join(f"a{i}.T@x" for i in range(n)), "x", {"x": "n", **{f"a{i}": "n" for i in range(n)}}
    work = {n: nodes_made(monkeypatch, lambda n=n: mc.derive(*sum_text(n))) for n in (200, 400)}
    assert work[400] < 2.1 * work[200]
    g = mc.derive(*sum_text(300))
    assert g.expr is E.add(*[mc.vector(f"a{i}", "n") for i in range(300)])
    product = "sum(" + "*".join(f"a{i}" for i in range(200)) + ")"
    g = mc.derive(product, "a0", {f"a{i}": "n" for i in range(200)})
    assert g.expr.op == "mul" and len(g.expr.args) == 199


def test_a_sum_built_term_by_term_is_the_sum_built_at_once():
    x = mc.vector("x", "n")
    terms = [mc.vector(f"a{i}", "n").T @ x for i in range(300)] + [2 * mc.vector("a7", "n").T @ x, -(x.T @ x)]
    assert sum(terms) is E.add(*terms)
    factors = [mc.sin(mc.vector(f"a{i}", "n")) for i in range(50)] + [3, mc.sin(mc.vector("a7", "n"))]
    product = factors[0]
    for f in factors[1:]:
        product = product * f
    assert product is E.mul(*factors)


def test_shape_inference_is_a_worklist(monkeypatch):
    from matcalc.parse import Builder
    calls = []
    decide = Builder.decide_elementwise

    def counting(self, *args):
        calls.append(1)
        return decide(self, *args)
    monkeypatch.setattr(Builder, "decide_elementwise", counting)
    work = {}
    for n in (200, 400):
        calls.clear()
        f = mc.parse("+".join(f"a{i}.T@x" for i in range(n)))
        assert f.shape == (1, 1) and len(f.args) == n
        work[n] = len(calls)
    assert work[400] < 2.2 * work[200]


def test_the_reproducers_that_hung_finish_in_a_subprocess():
    """Each of the issue's hangs, in a fresh process with a time limit: any regression to
    exponential or huge-integer work fails here instead of hanging the suite."""
    script = """
import matcalc as mc
S = {"x": "n", "X": "n,n", "A": "n,n"}
for text in ["9**9**9 * sum(x)", "10**10**10 * sum(x)"]:
    try:
        mc.derive(text, "x", S)
    except mc.LimitError:
        pass
mc.derive("sum((0.5*x)**1e308)", "x", S)
mc.derive("tr(A*X^1000)", "X", S, syntax="matlab")
mc.parse("X^-1000000", S, syntax="matlab")
e = "x"
for _ in range(12):
    e = f"sin({e})*cos({e})"
str(mc.derive(f"sum({e})", "x", S))
x = mc.vector("x", "n")
f = x
for _ in range(20):
    f = mc.sin(f) * mc.cos(f)
str(mc.derive(mc.sum(f), x))
prog = "e0 = x\\n" + "\\n".join(f"e{i+1} = sin(e{i})*cos(e{i})" for i in range(20)) + "\\nL = sum(e20)"
str(mc.derive(prog, "x", S))
print("done")
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=100)
    assert result.stdout.strip() == "done", result.stderr[-2000:]


# -- the guard: errors, and the recursion limit under threads -----------------------------------

def test_the_guard_turns_what_escapes_into_matcalc_errors():
    @guarded
    def key_error():
        return {}["missing"]

    @guarded
    def deep():
        def down(n):
            return down(n + 1)
        return down(0)

    with pytest.raises(InternalError, match="internal error in .*key_error: KeyError: 'missing'") as info:
        key_error()
    assert isinstance(info.value.__cause__, KeyError)
    with pytest.raises(LimitError, match="nested too deeply"):
        deep()
    with pytest.raises(mc.ShapeError):   # matcalc's own errors pass unchanged
        mc.parse("x + B", {"x": "n", "B": "m,n"})


def test_the_recursion_limit_is_raised_while_any_thread_is_inside_and_put_back_after():
    before = sys.getrecursionlimit()
    inside = threading.Barrier(8)
    first_out = threading.Event()
    seen = []

    @guarded
    def hold(i):
        inside.wait()                       # all eight are inside at once
        if i == 0:
            first_out.set()
        else:
            first_out.wait()
        seen.append(sys.getrecursionlimit())
        return i

    threads = [threading.Thread(target=hold, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [max(before, limits.RECURSION_LIMIT)] * 8
    assert sys.getrecursionlimit() == before


def test_derivations_in_threads_leave_the_recursion_limit_as_it_was():
    before = sys.getrecursionlimit()
    texts = [f"sum(sin(A @ x + {i}) * y)" for i in range(16)]
    serial = [str(mc.derive(t, "x", SHAPES)) for t in texts]
    results = [None] * len(texts)

    def work(i):
        results[i] = str(mc.derive(texts[i], "x", SHAPES))
    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == serial and sys.getrecursionlimit() == before


def test_an_expression_that_repeats_its_parts_prints_with_names_for_them():
    f = nested(20)   # as a tree: 2²⁰ copies of x
    text, latex = str(f), f.latex()
    assert text.startswith("sum(cos(u₁₉ ⊙ v₁₉) ⊙ sin(u₁₉ ⊙ v₁₉)), where u₁ = cos(x), v₁ = sin(x), ")
    assert len(text) < 1000 and len(latex) < 2500 and r"\text{where }" in latex
    assert str(nested(2)) == "sum(cos(cos(x) ⊙ sin(x)) ⊙ sin(cos(x) ⊙ sin(x)))"   # short: written out
