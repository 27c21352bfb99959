"""Every rule in rules/ is checked numerically, and the loader rejects malformed rules.

Differential rules: the right side, with d(X) replaced by a direction V, must equal the central
difference of the left side along V; mistake rules must not. Simplification rules: both sides
must agree in value; property rules, at values the property allows.
Pattern variables are instantiated as variables of random sizes, drawn in the domain of the
operation at the rule's head (positive for log and powers, invertible for inv/det/logdet).
"""
from __future__ import annotations

import numpy as np
import pytest

from matcalc import expr as E
from matcalc.check import draw
from matcalc.errors import RuleError
from matcalc.ops import OPERATIONS
from matcalc.printing.numpy import NumpyFunction
from matcalc.rules import PROPERTY_NAMES, RULES, Binding, load_rules


def _concrete(rule, rng):
    """Concrete variables for the rule's pattern variables, and their numeric values."""
    dims = {}
    binding = Binding()
    values = {}
    domain = OPERATIONS[rule.head].domain
    nodes = E.walk(rule.pattern)
    logs = any(node.op == "fn" and node.data == "log" for node in nodes)
    inverts = any(node.op in ("inv", "det", "logdet") for node in nodes)
    for name, wildcard in rule.wildcards.items():
        shape = []
        for d in wildcard.shape:
            if isinstance(d, str):
                dims.setdefault(d, int(rng.integers(2, 5)))
                binding.dims[d] = dims[d]
                shape.append(dims[d])
            else:
                shape.append(d)
        shape = tuple(shape)
        if ("const", name) in rule.guards:
            value = E.const(3)
            binding.exprs[wildcard] = value
            continue
        properties = {pred for pred, var_name in rule.guards if var_name == name and pred in PROPERTY_NAMES}
        var = E.variable(name, shape, properties)
        binding.exprs[wildcard] = var
        if properties:   # a value the property allows (a distribution, one-hot, orthonormal columns)
            if "orthogonal" in properties and shape[0] < shape[1]:
                shape = (shape[1], shape[0])
                binding.dims.update({d: s for d, s in zip(wildcard.shape, shape) if isinstance(d, str)})
                var = binding.exprs[wildcard] = E.variable(name, shape, properties)
            values[name] = draw(var, {}, rng)
            continue
        if shape == (1, 1):
            raw = rng.uniform(0.5, 1.5)
        else:
            raw = rng.standard_normal(shape)
        if inverts or domain == "invertible":
            raw = raw + 3 * shape[0] * np.eye(shape[0])   # diagonally dominant: det > 0
        elif domain == "positive" or logs:
            raw = np.abs(raw) + 0.5
        elif domain == "small":
            raw = 0.3 * raw
        values[name] = raw
    for node in nodes:   # dims only a constant has (the rows of 𝟏 in 𝟏 X)
        for d in node.shape:
            if isinstance(d, str) and d not in binding.dims:
                binding.dims[d] = dims.setdefault(d, int(rng.integers(2, 5)))
    return binding, values


def _evaluate(e, values):
    return np.asarray(NumpyFunction(e, "f", output="matrix")(**{v.name: values[v.name] for v in e.free_vars}),
                      dtype=float)


@pytest.mark.parametrize("rule", RULES.rules, ids=[r.name for r in RULES.rules])
def test_rule_is_numerically_right(rule):
    rng = np.random.default_rng(sum(map(ord, rule.name)))
    binding, values = _concrete(rule, rng)
    lhs = rule.instantiate_pattern(binding)
    if rule.kind in ("simplify", "property"):
        rhs = rule.instantiate(binding)
        assert rhs.shape == lhs.shape
        np.testing.assert_allclose(_evaluate(rhs, values), _evaluate(lhs, values), rtol=1e-9, atol=1e-12)
        return
    # every variable moves, whether or not the right side mentions its differential
    directions = {name: rng.standard_normal(np.shape(value)) if np.ndim(value) else 0.7
                  for name, value in values.items()}

    def direction(args, node):
        v = args[0]
        if v.op == "const":
            return E.zero(v.shape)
        return E.variable("V_" + v.name, v.shape)

    rhs = rule.instantiate(binding, hooks={"d": direction})
    inputs = dict(values)
    inputs.update({"V_" + k: d for k, d in directions.items()})
    got = _evaluate(rhs, inputs)

    def lhs_at(step):
        moved = {k: values[k] + step * directions.get(k, 0) for k in values}
        return _evaluate(lhs, moved)
    h = 1e-4
    fd = (8 * (lhs_at(h) - lhs_at(-h)) - (lhs_at(2 * h) - lhs_at(-2 * h))) / (12 * h)
    if rule.kind == "mistake":   # a mistake must really be one
        assert not np.allclose(got, fd, rtol=1e-3, atol=1e-6), f"{rule.name} is not a mistake"
        return
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_every_rule_name_is_unique_and_every_file_loads():
    names = [r.name for r in RULES.rules]
    assert len(names) == len(set(names))
    assert {r.kind for r in RULES.rules} == {"differential", "simplify", "mistake", "property"}
    assert all(r.note for r in RULES.rules if r.kind == "mistake")


@pytest.mark.parametrize("text, message", [
    ("vars: X: matrix\nr1: inv(X) => X\nr1: exp(X) => X", "defined twice"),
    ("vars: X: matrix\nbad: exp(X) => Y", "undeclared"),
    ("vars: X Y: matrix\nbad: exp(X) => Y", "does not bind"),
    ("vars: u: vector\nbad: sum(u) => u", "different shapes"),
    ("vars: X: matrix\nbad: inv(X) => X @ X if nonsense(X)", "bad guard"),
    ("vars: X: matrix\nbad: X.T.T => X", "redundant"),
    ("vars: X: matrix\nthis is not a rule", "cannot read"),
    ("vars: X: tensor\nr: exp(X) => X", "unknown kind"),
])
def test_malformed_rules_are_rejected(tmp_path, text, message):
    (tmp_path / "bad.rules").write_text(text)
    with pytest.raises(RuleError, match=message):
        load_rules(tmp_path)
