"""A bounded run of the fuzzer in CI: random well-typed expressions (driven by hypothesis, so
failures shrink) against finite differences, sympy, jax (when installed) and confluence. The
long mode is ``python -m matcalc.fuzz --n 10000``; seeds that once failed are kept below."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import matcalc as mc
from matcalc.fuzz import Generator, RandomChooser, run_case, shuffled, sympy_oracle


class HypothesisChooser:
    def __init__(self, data):
        self.data = data

    def integer(self, low, high):
        return self.data.draw(st.integers(low, high))

    def pick(self, options):
        return options[self.integer(0, len(options) - 1)]


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_random_derivatives_agree_with_finite_differences(data):
    chooser = HypothesisChooser(data)
    f, wrt, order = Generator(chooser).case(depth=3)
    assert shuffled(f, chooser) is f, f"not confluent: {f}"
    try:
        g = mc.derive(f, wrt, order=order, symmetric_gradient="ignore")
    except mc.UnsupportedDerivativeError:
        return
    report = g.check(seed=0, trials=2)
    assert report.status != "wrong", f"{f} / {wrt.name}: {g} — {report}"


@pytest.mark.parametrize("seed", range(0, 200, 20))
def test_random_derivatives_agree_with_sympy(seed):
    f, wrt, order = Generator(RandomChooser(seed)).case(depth=2)
    try:
        g = mc.derive(f, wrt, order=order, symmetric_gradient="ignore")
    except mc.UnsupportedDerivativeError:
        return
    assert sympy_oracle(g), f"{f} / {wrt.name}: {g}"


# seeds that once failed: 758 (a zero Hessian measured as roundoff was called wrong),
# 910 (sympy's shared symbols of a symmetric matrix), 0 and 220 (a differential-only result),
# 22657 (a zero order-3 derivative, softmax(P P⁻¹ x) by P, could not be compiled)
@pytest.mark.parametrize("seed", [0, 220, 758, 910, 22657])
def test_regression_seeds(seed):
    outcome, text = run_case(seed, sympy_every=1, use_jax=False)
    assert outcome in ("ok", "unsupported", "inconclusive"), text


def test_the_fuzzer_command_runs(capsys):
    from matcalc.fuzz import main
    assert main(["--n", "5", "--no-jax", "--sympy-every", "0"]) == 0
    assert "5 cases in" in capsys.readouterr().out
