"""The mutation tester makes the mistakes it promises, and the rule test catches one of them."""
from __future__ import annotations

import ast
import shutil
from pathlib import Path

from matcalc import mutate
from matcalc.rules import RULES_DIR


def test_rule_mutants_make_each_kind_of_mistake():
    made = mutate.mutants("-(X.T @ inv(X) @ d(X)) + 2 * (A - B)")
    kinds = {kind for kind, _ in made}
    assert kinds == {"flip the sign", "drop a transpose", "drop a minus", "flip a sign", "drop a term",
                     "swap operands", "change a constant"}
    texts = [text for _, text in made]
    assert len(texts) == len(set(texts))
    assert "((-((X @ inv(X)) @ d(X))) + (2 * (A - B)))" in texts        # transpose dropped
    assert "((-(((X).T @ inv(X)) @ d(X))) + (4.0 * (A - B)))" in texts   # constant changed
    assert len({kind for kind, _ in made[:7]}) == 7      # one of each kind first


def test_engine_mutants_are_valid_python_and_each_differs():
    source = (Path(mutate.__file__).parent / mutate.ENGINE_FILE).read_text(encoding="utf-8")
    made = mutate.engine_mutants(source)
    original = ast.unparse(ast.parse(source))
    assert {kind for *_, kind, _ in made} == {"drop a transpose", "swap operands", "drop a factor", "drop a term",
                                              "change a constant", "flip the sign"}
    assert {function for function, *_ in made} == set(mutate.ENGINE_FUNCTIONS)
    for _, _, _, text in made:
        compile(text, "diff.py", "exec")
        assert text != original


def test_a_rule_that_forgets_a_differential_is_caught(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES_DIR, rules)
    path = rules / "differentials.rules"
    text = path.read_text(encoding="utf-8")
    right = "X ** q * (log(X) * d(q) + q * d(X) / X)"
    assert right in text
    path.write_text(text.replace(right, "X ** q * (q * d(X) / X)"), encoding="utf-8")
    root = RULES_DIR.parent
    test = ["tests/test_rules.py::test_rule_is_numerically_right[d-pow]"]
    assert not mutate.run_tests(root, test, rules)
    assert mutate.run_tests(root, test, RULES_DIR)
