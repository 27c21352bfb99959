"""Mutation testing of the rule set: can the tests tell a wrong rule from a right one?

    python -m matcalc.mutate [--rules NAME ...] [--per-rule 5] [--jobs 2]

For each differential and simplification rule in ``rules/``, this makes the plausible
mistakes a person makes when writing it down — drop a transpose, flip a sign (negate the result,
turn a ``-`` into a ``+``), swap the operands of a product or a difference, drop a term, change a
constant — one at a time, writes the mutated rule set to a temporary folder, and runs the test
suite against it (``MATCALC_RULES_DIR``). A mutant is *killed* when the rules fail to load
(validation) or a test fails; a *surviving* mutant is a missing test. Mutants that are equal to
the original rule (e.g. the transpose of a symmetric result) are reported as equivalent.
"""
from __future__ import annotations

import argparse
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .parse import Node, parse, unparse
from .rules import _LINE, RULES_DIR

QUICK_TESTS = ["tests/test_rules.py", "tests/test_operations.py", "tests/test_textbook.py",
               "tests/test_sympy_oracle.py", "tests/test_higher_order.py"]


def _nodes(node: Node, path=()):
    yield path, node
    for i, c in enumerate(node.children):
        yield from _nodes(c, path + (i,))


def _replace(tree: Node, path, new: Node) -> Node:
    tree = copy.deepcopy(tree)
    if not path:
        return new
    parent = tree
    for i in path[:-1]:
        parent = parent.children[i]
    parent.children[path[-1]] = new
    return tree


def _at(tree: Node, path) -> Node:
    for i in path:
        tree = tree.children[i]
    return tree


def mutants(rhs_text: str) -> list:
    """``(kind, mutated rhs text)`` for every plausible mistake in a rule's right side."""
    tree = parse(rhs_text)
    out = [("flip the sign", unparse(Node("neg", 0, "-", [copy.deepcopy(tree)])))]
    for path, node in _nodes(tree):
        if node.kind == "T":
            out.append(("drop a transpose", unparse(_replace(tree, path, copy.deepcopy(node.children[0])))))
        if node.kind == "neg":
            out.append(("drop a minus", unparse(_replace(tree, path, copy.deepcopy(node.children[0])))))
        if node.kind == "binop" and node.text in ("add", "sub"):
            flipped = Node("binop", node.pos, "add" if node.text == "sub" else "sub", copy.deepcopy(node.children))
            out.append(("flip a sign", unparse(_replace(tree, path, flipped))))
            for i in (0, 1):
                out.append(("drop a term", unparse(_replace(tree, path, copy.deepcopy(node.children[i])))))
        if node.kind == "binop" and node.text in ("matmul", "sub", "div"):
            swapped = Node("binop", node.pos, node.text, [copy.deepcopy(c) for c in reversed(node.children)])
            out.append(("swap operands", unparse(_replace(tree, path, swapped))))
        if node.kind == "num":
            value = float(node.text)
            changed = Node("num", node.pos, repr(value * 2 if value not in (0, 1) else value + 1))
            out.append(("change a constant", unparse(_replace(tree, path, changed))))
    seen, unique = set(), []
    for kind, text in out:
        if text not in seen and text != unparse(tree):
            seen.add(text)
            unique.append((kind, text))
    return unique


def rule_lines(directory: Path) -> list:
    """``(file, line number, name, lhs, rhs, guard)`` of the rules to mutate (not the mistakes)."""
    out = []
    for path in sorted(directory.glob("*.rules")):
        if path.stem == "mistakes":
            continue
        for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines()):
            m = _LINE.match(raw.split("#", 1)[0].strip())
            if m:
                out.append((path.name, number, m.group("name"), m.group("lhs"), m.group("rhs"), m.group("guard")))
    return out


def run_tests(rules_dir: Path, tests: list, root: Path) -> bool:
    """Whether the tests pass with the rules in ``rules_dir``."""
    env = dict(os.environ, MATCALC_RULES_DIR=str(rules_dir), PYTHONPATH=str(root))
    result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                            cwd=root, env=env, capture_output=True, text=True)
    return result.returncode == 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matcalc.mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", nargs="*", help="only these rules")
    parser.add_argument("--per-rule", type=int, default=6, help="at most this many mutants per rule")
    args = parser.parse_args(argv)
    root = RULES_DIR.parent
    killed = survived = 0
    survivors = []
    start = time.time()
    for file, number, name, lhs, rhs, guard in rule_lines(RULES_DIR):
        if args.rules and name not in args.rules:
            continue
        for kind, text in mutants(rhs)[:args.per_rule]:
            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / "rules"
                shutil.copytree(RULES_DIR, target)
                lines = (target / file).read_text(encoding="utf-8").splitlines()
                mutated = f"{name}: {lhs} => {text}" + (f" if {guard}" if guard else "")
                lines[number] = mutated
                (target / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
                # the rule's own table test first (fast), then the focused tests, then everything
                own = [f"tests/test_rules.py::test_rule_is_numerically_right[{name}]"]
                caught = any(not run_tests(target, tests, root) for tests in (own, QUICK_TESTS, ["tests"]))
            if caught:
                killed += 1
            else:
                survived += 1
                survivors.append(f"{name}: {kind}: {text}")
            print(f"{'killed  ' if caught else 'SURVIVED'} {name:22} {kind:18} {text}", flush=True)
    total = killed + survived
    print(f"\nmutation score: {killed}/{total} mutants killed ({100 * killed / max(total, 1):.0f}%) "
          f"in {time.time() - start:.0f} s")
    for s in survivors:
        print("survivor:", s)
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
