"""Mutation testing of the rule set and of the engine's derivatives: can the tests tell a wrong
derivative from a right one?

    python -m matcalc.mutate [--rules NAME ...] [--per-rule N] [--no-rules] [--no-engine]

Rules: for each differential and simplification rule in ``rules/``, this makes the plausible
mistakes a person makes when writing it down — drop a transpose, flip a sign (negate the result,
turn a ``-`` into a ``+``), swap the operands of a product or a difference, drop a term, change a
constant — one at a time, writes the mutated rule set to a temporary folder and runs the test
suite against it (``MATCALC_RULES_DIR``).

Engine: the derivatives of the operator table that are code, not rules — linearity and the
product rule (``Differentiator.local``), the adjoint identities that turn a differential into a
gradient (``_adjoint``, ``unbroadcast``) and the vec Jacobians (``_vec_jacobian_of``) in
``matcalc/diff.py`` — get the same kinds of mistake in a copy of the package: a transpose dropped,
the operands of a matrix product swapped, a factor of an elementwise product dropped, a seed
negated.

A mutant is *killed* when the rules fail to load (validation) or a test fails; a *surviving*
mutant is a missing test (or, rarely, a mistake that changes nothing, e.g. the transpose of a
symmetric result).
"""
from __future__ import annotations

import argparse
import ast
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
    seen, by_kind = set(), {}
    for kind, text in out:
        if text not in seen and text != unparse(tree):
            seen.add(text)
            by_kind.setdefault(kind, []).append(text)
    # one of each kind first, so that a cap per rule still tries every kind of mistake
    rounds = max(map(len, by_kind.values()), default=0)
    return [(kind, texts[i]) for i in range(rounds) for kind, texts in by_kind.items() if i < len(texts)]


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


ENGINE_FILE = "diff.py"
ENGINE_FUNCTIONS = ("local", "_adjoint", "unbroadcast", "_vec_jacobian_of", "_seed", "_matrix_power_differential",
                    "_cholesky_differential", "_eigvalsh_differential")
_REPO_PARTS = ("matcalc", "rules", "tests", "examples", "README.md", "pyproject.toml")


class _EngineMutator(ast.NodeTransformer):
    """Numbers the mutable sites of the engine functions; with a ``target``, makes that one mistake.

    Sites: ``E.transpose(x)`` (drop the transpose), ``E.matmul(...)`` (reverse the operands),
    ``E.mul(a, ...)`` (drop the first factor), ``E.add(*terms)`` (keep the first term only),
    ``E.eye(n)`` (all ones instead), ``out.append(seed)`` (negate the seed)."""

    def __init__(self, target=None):
        self.target = target
        self.sites: list = []
        self.function = ""

    def visit_FunctionDef(self, node):
        if node.name not in ENGINE_FUNCTIONS:
            return node
        outer, self.function = self.function, node.name
        self.generic_visit(node)
        self.function = outer
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        if not self.function:
            return node
        kind = self._kind(node)
        if kind is None:
            return node
        self.sites.append((self.function, node.lineno, kind))
        if len(self.sites) - 1 != self.target:
            return node
        return self._mutate(node, kind)

    @staticmethod
    def _kind(node):
        func = node.func
        if not isinstance(func, ast.Attribute):
            return None
        if isinstance(func.value, ast.Name) and func.value.id == "E":
            if func.attr == "transpose":
                return "drop a transpose"
            if func.attr == "matmul" and len(node.args) >= 2:
                return "swap operands"
            if func.attr == "mul" and len(node.args) >= 2:
                return "drop a factor"
            if func.attr == "add" and len(node.args) == 1 and isinstance(node.args[0], ast.Starred):
                return "drop a term"
            if func.attr == "eye":
                return "change a constant"
        if isinstance(func.value, ast.Name) and func.value.id == "out" and func.attr == "append":
            return "flip the sign"
        return None

    @staticmethod
    def _mutate(node, kind):
        e = ast.Name("E", ast.Load())
        if kind == "drop a transpose":
            return node.args[0]
        if kind == "swap operands":
            node.args = list(reversed(node.args))
        elif kind == "drop a factor":
            node.args = node.args[1:]
        elif kind == "drop a term":
            starred = node.args[0]
            starred.value = ast.Subscript(starred.value, ast.Slice(upper=ast.Constant(1)), ast.Load())
        elif kind == "change a constant":
            n = node.args[0]
            return ast.Call(ast.Attribute(e, "ones", ast.Load()), [ast.Tuple([n, n], ast.Load())], [])
        elif kind == "flip the sign":
            node.args = [ast.Call(ast.Attribute(e, "neg", ast.Load()), node.args, [])]
        return node


def engine_mutants(source: str) -> list:
    """``(function, line, kind, mutated source)`` for every plausible mistake in the engine's
    derivative code (not those that change nothing: ``X⁻¹ dX X⁻¹`` swapped is itself)."""
    finder = _EngineMutator()
    finder.visit(ast.parse(source))
    original = ast.unparse(ast.parse(source))
    out = []
    for index, (function, line, kind) in enumerate(finder.sites):
        tree = _EngineMutator(target=index).visit(ast.parse(source))
        text = ast.unparse(ast.fix_missing_locations(tree))
        if text != original:
            out.append((function, line, kind, text))
    return out


def run_tests(root: Path, tests: list, rules_dir: Path | None = None) -> bool:
    """Whether the tests of the repository at ``root`` pass (with the rules in ``rules_dir`` if given)."""
    env = {k: v for k, v in os.environ.items() if k != "MATCALC_RULES_DIR"}
    env["PYTHONPATH"] = str(root)
    if rules_dir is not None:
        env["MATCALC_RULES_DIR"] = str(rules_dir)
    result = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                            cwd=root, env=env, capture_output=True, text=True)
    return result.returncode == 0


def _rule_mutants(args, root: Path):
    """``(label, caught)`` for each mutant of the rules."""
    for file, number, name, lhs, rhs, guard in rule_lines(RULES_DIR):
        if args.rules and name not in args.rules:
            continue
        for kind, text in mutants(rhs)[:args.per_rule]:
            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / "rules"
                shutil.copytree(RULES_DIR, target)
                lines = (target / file).read_text(encoding="utf-8").splitlines()
                lines[number] = f"{name}: {lhs} => {text}" + (f" if {guard}" if guard else "")
                (target / file).write_text("\n".join(lines) + "\n", encoding="utf-8")
                # the rule's own table test first (fast), then the focused tests, then everything
                own = [f"tests/test_rules.py::test_rule_is_numerically_right[{name}]"]
                caught = any(not run_tests(root, tests, target) for tests in (own, QUICK_TESTS, ["tests"]))
            yield f"{name:22} {kind:18} {text}", caught


def _engine_mutants(root: Path):
    """``(label, caught)`` for each mutant of the engine's derivative code, tested in a copy of the repository."""
    source = (root / "matcalc" / ENGINE_FILE).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        copy_root = Path(tmp)
        for part in _REPO_PARTS:
            if (root / part).is_dir():
                shutil.copytree(root / part, copy_root / part, ignore=shutil.ignore_patterns("__pycache__"))
            elif (root / part).exists():
                shutil.copy(root / part, copy_root / part)
        target = copy_root / "matcalc" / ENGINE_FILE
        for function, line, kind, mutated in engine_mutants(source):
            target.write_text(mutated, encoding="utf-8")
            caught = any(not run_tests(copy_root, tests) for tests in (QUICK_TESTS, ["tests"]))
            yield f"{ENGINE_FILE}:{line} {function:14} {kind}", caught


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matcalc.mutate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", nargs="*", help="only these rules")
    parser.add_argument("--per-rule", type=int, help="at most this many mutants per rule (default: all)")
    parser.add_argument("--no-rules", action="store_true", help="skip the rules")
    parser.add_argument("--no-engine", action="store_true", help="skip the engine's derivative code")
    args = parser.parse_args(argv)
    root = RULES_DIR.parent
    killed = survived = 0
    survivors = []
    start = time.time()
    runs = []
    if not args.no_rules:
        runs.append(_rule_mutants(args, root))
    if not args.no_engine and not args.rules:
        runs.append(_engine_mutants(root))
    for run in runs:
        for label, caught in run:
            if caught:
                killed += 1
            else:
                survived += 1
                survivors.append(label)
            print(f"{'killed  ' if caught else 'SURVIVED'} {label}", flush=True)
    total = killed + survived
    print(f"\nmutation score: {killed}/{total} mutants killed ({100 * killed / max(total, 1):.0f}%) "
          f"in {time.time() - start:.0f} s")
    for s in survivors:
        print("survivor:", s)
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
