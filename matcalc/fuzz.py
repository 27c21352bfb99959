"""Fuzzers: random well-typed expressions against independent oracles; hostile strings; and
grammar-aware attacks on the parser, the engine and the generated code.

    python -m matcalc.fuzz --n 10000 [--seed 0] [--sympy-every 10] [--no-jax]
    python -m matcalc.fuzz --strings --n 100000 [--timeout 10] [--memory-mb 2048]
    python -m matcalc.fuzz --attack --n 20000 [--seed 0] [--timeout 10] [--backends-every 10]

For each random expression (over every operation and function matcalc supports, with variables
of several shapes and properties), matcalc derives the gradient, Jacobian or Hessian, and the
result is compared with

1. central finite differences (``Derivative.check``; "inconclusive" is not a failure, "wrong" is);
2. sympy, exactly, at small concrete sizes (explicit matrices of symbols differentiated entry by
   entry) — on every ``--sympy-every``-th case, as it is slow;
3. jax's autodiff of the generated jax code of ``f`` (``jax.grad``, ``jax.jacfwd``,
   ``jax.hessian``), when jax is installed;

and the canonical form is checked for confluence: the same expression built with its sums and
products in another order is the same object. Failures print their seed; a failing seed becomes
a regression test. The generator is driven by a ``Chooser`` so that the tests can drive it with
hypothesis (and shrink) and this command with a seeded numpy generator.

``--strings`` throws random and mutated strings at the parser; ``--attack`` throws the
well-formed hostile functions of ``matcalc.fuzz_grammar`` (huge and tiny constants, big
exponents, deep nesting, long sums, names that collide with the generated code's identifiers
and with each other). Both run every case that derives through the oracles of
``matcalc.fuzz_oracle`` (compile, evaluate against an independent reference, ``check()``,
``verify``) in a worker process with a time and memory budget (``matcalc.fuzz_sandbox``), and
print the counts (cases, ok, rejected, inconclusive, crashes, hangs, memory, wrong), then one
shrunk reproducer per failure class.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import replace
from fractions import Fraction

import numpy as np

from . import api as mc
from . import expr as E
from . import fuzz_oracle
from .derivative import derive
from .errors import MatcalcError, UnsupportedDerivativeError
from .fuzz_grammar import AttackGenerator, Case
from .fuzz_oracle import available_backends
from .fuzz_sandbox import Sandbox, campaign, report

N, M = "n", "m"


def variables() -> dict:
    """The pool of variables: kind -> list of variables."""
    return {
        "scalar": [mc.scalar("c"), mc.scalar("s")],
        "vector": [mc.vector("x", N), mc.vector("y", N), mc.vector("p", N, positive=True)],
        "vector_m": [mc.vector("z", M)],
        "square": [mc.matrix("A", N, N), mc.matrix("B", N, N), mc.matrix("S", N, N, symmetric=True),
                   mc.matrix("P", N, N, spd=True)],
        "wide": [mc.matrix("C", N, M)],
        "tall": [mc.matrix("D", M, N)],
    }


SMOOTH = ("sin", "cos", "tanh", "sigmoid", "softplus", "arctan", "erf", "gelu", "silu")
KINKED = ("relu", "abs")


class RandomChooser:
    """Choices from a seeded numpy generator."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    def integer(self, low: int, high: int) -> int:
        return int(self.rng.integers(low, high + 1))

    def pick(self, options):
        return options[self.integer(0, len(options) - 1)]


class Generator:
    """Random well-typed expressions of a requested kind (``scalar``, ``vector``, ``square``)."""

    def __init__(self, chooser):
        self.c = chooser
        self.vars = variables()

    def leaf(self, kind: str) -> E.Expr:
        return self.c.pick(self.vars[kind])

    def expression(self, kind: str, depth: int) -> E.Expr:
        if depth <= 0 or self.c.integer(0, 4) == 0:
            return self.leaf(kind)
        return getattr(self, kind)(depth - 1)

    def scalar(self, d: int) -> E.Expr:
        pick = self.c.integer(0, 11)
        v = lambda: self.expression("vector", d)   # noqa: E731
        sq = lambda: self.expression("square", d)   # noqa: E731
        s = lambda: self.expression("scalar", d)   # noqa: E731
        if pick == 0:
            return E.sum_all(v())
        if pick == 1:
            return E.trace(sq())
        if pick == 2:
            return E.matmul(E.transpose(v()), v())
        if pick == 3:
            return E.matmul(E.transpose(v()), sq(), v())
        if pick == 4:
            return E.power(E.norm2(v()), E.const(2))
        if pick == 5:
            return E.logdet(self.vars["square"][3])   # logdet(P), P positive definite
        if pick == 6:
            return E.add(s(), s())
        if pick == 7:
            return E.mul(s(), s())
        if pick == 8:
            return E.function(self.c.pick(SMOOTH), s())
        if pick == 9:   # a quotient with a positive denominator
            return E.divide(s(), E.add(E.const(1), E.power(s(), E.const(2))))
        if pick == 10:
            return E.matmul(E.transpose(self.expression("vector", d)), E.log_softmax(v()))
        return E.mul(E.const(Fraction(self.c.integer(-3, 3) or 1, self.c.integer(1, 3))), s())

    def vector(self, d: int) -> E.Expr:
        pick = self.c.integer(0, 11)
        v = lambda: self.expression("vector", d)   # noqa: E731
        sq = lambda: self.expression("square", d)   # noqa: E731
        if pick == 0:
            return E.matmul(sq(), v())
        if pick == 1:
            return E.add(v(), v())
        if pick == 2:
            return E.mul(v(), v())
        if pick == 3:
            return E.function(self.c.pick(SMOOTH + KINKED), v())
        if pick == 4:
            return E.mul(self.expression("scalar", d), v())
        if pick == 5:
            return E.softmax(v())
        if pick == 6:
            return E.diag(sq())
        if pick == 7:
            return E.matmul(E.inv(self.vars["square"][3]), v())
        if pick == 8:
            return E.matmul(self.leaf("wide"), self.expression("vector_m", d))
        if pick == 9:
            return E.power(self.vars["vector"][2], E.const(self.c.pick([Fraction(1, 2), Fraction(3), Fraction(-1)])))
        if pick == 10:
            return E.function("log", E.add(E.const(1), E.function("exp", v())))
        return E.add(v(), E.neg(v()))

    def vector_m(self, d: int) -> E.Expr:
        if self.c.integer(0, 1):
            return E.matmul(self.leaf("tall"), self.expression("vector", d))
        return E.function(self.c.pick(SMOOTH), self.leaf("vector_m"))

    def square(self, d: int) -> E.Expr:
        pick = self.c.integer(0, 8)
        sq = lambda: self.expression("square", d)   # noqa: E731
        v = lambda: self.expression("vector", d)   # noqa: E731
        if pick == 0:
            return E.matmul(sq(), sq())
        if pick == 1:
            return E.add(sq(), sq())
        if pick == 2:
            return E.transpose(sq())
        if pick == 3:
            return E.mul(sq(), sq())
        if pick == 4:
            return E.function(self.c.pick(SMOOTH), sq())
        if pick == 5:
            return E.diag(v())
        if pick == 6:
            return E.matmul(v(), E.transpose(v()))
        if pick == 7:
            return E.matmul(self.leaf("wide"), self.leaf("tall"))
        return E.mul(self.expression("scalar", d), sq())

    def case(self, depth: int = 3):
        """``(f, wrt, order)``: a random function, a variable it depends on, and an order."""
        kind = self.c.pick(["scalar", "scalar", "scalar", "vector"])
        for _ in range(20):
            f = self.expression(kind, depth)
            candidates = sorted(f.free_vars, key=lambda v: v.name)
            if candidates:
                break
        else:
            f, candidates = E.sum_all(self.vars["vector"][0]), [self.vars["vector"][0]]
        wrt = self.c.pick(candidates)
        order = 2 if f.shape == E.SCALAR and wrt.shape[1] == 1 and self.c.integer(0, 3) == 0 else 1
        return f, wrt, order


def shuffled(e: E.Expr, chooser) -> E.Expr:
    """``e`` rebuilt with the operands of its sums and Hadamard products in another order."""
    memo: dict = {}
    for node in E.walk(e):
        args = [memo[a] for a in node.args]
        if node.op in ("add", "mul") and len(args) > 1:
            order = list(range(len(args)))
            for i in range(len(order) - 1, 0, -1):
                j = chooser.integer(0, i)
                order[i], order[j] = order[j], order[i]
            args = [args[i] for i in order]
            memo[node] = E.add(*args) if node.op == "add" else E.mul(*args)
        else:
            memo[node] = E.rebuild(node, args) if args else node
    return memo[e]


# ---------------------------------------------------------------------------------------
# Oracles
# ---------------------------------------------------------------------------------------

def sympy_oracle(g) -> bool:
    """Whether ``g`` equals sympy's entrywise derivative exactly (rationals) or to 40 digits."""
    import sympy as sp

    from .printing.sympy import symbols_for, to_sympy
    sizes = {N: 2, M: 3}
    rng = np.random.default_rng(0)
    symbols = {v: symbols_for(v, sizes) for v in g.variables}
    point = {}
    for v, m in symbols.items():
        for sym in m.free_symbols:
            value = sp.Rational(int(rng.integers(-6, 7)) or 1, int(rng.integers(1, 5)))
            point[sym] = abs(value) + 1 if sym.is_positive else value
        if v.data[1] & {"spd"}:
            for i in range(m.rows):
                point[m[i, i]] = sp.Integer(8)
    if g.form == "differential":
        return True   # only the differential and the array exist; the finite differences check those
    f_sym = to_sympy(g.f, symbols, sizes)
    wrt = symbols[g.wrt]

    def vec(mat):
        return sp.Matrix(list(mat.T))
    if g.wrt.data[1] & {"symmetric", "spd"}:
        return True   # the entries of a symmetric matrix of symbols are shared: not the unconstrained derivative
    if g.kind == "gradient":
        truth = wrt.applyfunc(lambda t: sp.diff(f_sym[0, 0], t))
    elif g.kind == "hessian":
        grad = wrt.applyfunc(lambda t: sp.diff(f_sym[0, 0], t))
        truth = vec(grad).jacobian(vec(wrt))
    else:
        truth = vec(f_sym).jacobian(vec(wrt))
    ours = to_sympy(g._check_form, symbols, sizes)
    if ours.shape != truth.shape:
        return False
    for entry in (ours - truth).subs(point):
        value = sp.N(entry, 50)
        if value.has(sp.nan, sp.zoo) or abs(value) > sp.Float(10) ** -35:
            return False
    return True


def jax_oracle(g, seed: int) -> bool | None:
    """Whether jax's autodiff of the generated jax code of ``f`` agrees (``None`` without jax)."""
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
    except ImportError:
        return None
    from .check import Sampler
    from .printing.jax import JaxAdapter
    from .printing.numpy import CompiledFunction
    if g.form != "matrix" or g.wrt.data[1] & {"symmetric", "spd"}:
        return None
    f_fn = CompiledFunction(g.f, "f", "value", required=g.variables, adapter=JaxAdapter())
    sampler = Sampler(g.f, g.variables, np.random.default_rng(seed), f_fn.free_dims)
    values = sampler.draw()
    ours = np.asarray(g.to_numpy()(**values), dtype=float)
    if not np.all(np.isfinite(ours)):
        return None
    # the generated function itself, on 2-D arrays (vectors as columns), traced by jax
    args = {v.name: jax.numpy.asarray(np.atleast_1d(values[v.name]).reshape(
        tuple(s if isinstance(s, int) else sampler.sizes[s] for s in v.shape)) if v.shape != E.SCALAR
        else values[v.name]) for v in f_fn.variables}
    args.update({d: sampler.sizes[d] for d in f_fn.free_dims})
    order = [v.name for v in f_fn.variables] + list(f_fn.free_dims)
    x0 = args[g.wrt.name]

    def f(x):
        return f_fn.function(*[x if name == g.wrt.name else args[name] for name in order])
    if g.kind == "gradient":
        theirs = jax.grad(lambda x: f(x).reshape(()))(x0)
    elif g.kind == "hessian":
        theirs = jax.hessian(lambda x: f(x).reshape(()))(x0)
    else:
        theirs = jax.jacfwd(f)(x0)
    theirs = np.asarray(theirs, dtype=float).reshape(-1)
    ours = ours.reshape(-1)
    scale = max(1.0, float(np.max(np.abs(theirs))))
    return bool(np.allclose(ours, theirs, rtol=1e-7, atol=1e-9 * scale))


def run_case(seed: int, sympy_every: int = 0, use_jax: bool = True, depth: int = 3) -> tuple:
    """``(outcome, description)`` for the case of ``seed``: ``ok``, ``unsupported``,
    ``inconclusive`` or a failure (``wrong``, ``sympy``, ``jax``, ``confluence``, ``crash``)."""
    chooser = RandomChooser(seed)
    f, wrt, order = Generator(chooser).case(depth)
    text = f"seed {seed}: d{'²' if order == 2 else ''}/d{wrt.name} {f}"
    try:
        if shuffled(f, chooser) is not f:
            return "confluence", text
        g = derive(f, wrt, order=order, symmetric_gradient="ignore")
    except UnsupportedDerivativeError:
        return "unsupported", text
    except MatcalcError as err:
        return "unsupported", f"{text}: {err}"
    except Exception as err:   # noqa: BLE001 - a crash is a finding
        return "crash", f"{text}: {type(err).__name__}: {err}"
    try:
        report = g.check(seed=seed, trials=2)
        if report.status == "wrong":
            return "wrong", f"{text} -> {g} ({report})"
        if sympy_every and seed % sympy_every == 0 and not sympy_oracle(g):
            return "sympy", f"{text} -> {g}"
        if use_jax and jax_oracle(g, seed) is False:
            return "jax", f"{text} -> {g}"
    except Exception as err:   # noqa: BLE001
        return "crash", f"{text} -> {g}: {type(err).__name__}: {err}"
    return ("inconclusive" if report.status == "inconclusive" else "ok"), text


# ---------------------------------------------------------------------------------------
# Hostile strings: the parser and the command line
# ---------------------------------------------------------------------------------------

SEEDS = ["x.T @ A @ x", "norm2(W @ x - y) ** 2", "sum(log(sigmoid(X @ w)))", "trace(A @ X @ B)",
         "logdet(X) + inv(X)", "x'*A*x + norm2(B*x - c)^2", "z = W1 @ x\nh = sigmoid(z)\nL = sum(h)",
         "softmax(W @ x).T @ y", "diag(x) @ A @ diag(y)", "(x - a) / norm2(x - a)"]
ALPHABET = list("xyzAWXab12.0+-*/@()^',._ =\n;#[]{}\"\\") + ["**", ".T", "sum(", "exp(", "inv(", "__",
                                                             "lambda", "import", "−", "ᵀ", "\x00", "é"]


def hostile_string(chooser) -> str:
    """A random string: tokens, or a valid expression with random edits."""
    if chooser.integer(0, 2) == 0:
        return "".join(chooser.pick(ALPHABET) for _ in range(chooser.integer(0, 40)))
    text = list(chooser.pick(SEEDS))
    for _ in range(chooser.integer(1, 4)):
        i = chooser.integer(0, len(text))
        action = chooser.integer(0, 2)
        if action == 0 and text:
            del text[min(i, len(text) - 1)]
        elif action == 1:
            text.insert(i, chooser.pick(ALPHABET))
        elif text:
            text[min(i, len(text) - 1)] = chooser.pick(ALPHABET)
    return "".join(text)


def hostile_case(seed: int, backends: tuple = ("numpy",)) -> Case:
    """The hostile string of ``seed`` as a case: parsed in a random syntax, differentiated by its
    first variable, compiled, evaluated and checked."""
    chooser = RandomChooser(seed)
    text = hostile_string(chooser)
    return Case(seed, text=text, syntax=chooser.pick(["numpy", "matlab"]), backends=backends)


def attack_case(seed: int, backends: tuple = ("numpy",)) -> Case:
    """The grammar-aware attack case of ``seed`` (see ``matcalc.fuzz_grammar``)."""
    return replace(AttackGenerator(RandomChooser(seed)).case(seed), backends=backends)


def run_hostile(seed: int) -> tuple:
    """``(outcome, text)`` for the hostile string of ``seed``, run in this process (no time or
    memory bound): ``ok``, ``rejected`` (a ``MatcalcError``) and ``inconclusive`` are fine;
    ``crash`` and ``wrong`` are failures (see ``matcalc.fuzz_oracle``)."""
    case = hostile_case(seed)
    result = fuzz_oracle.run_case(case)
    return result.outcome, f"{case.text!r} ({case.syntax}): {result}" if result.failed else case.text


def sandboxed_campaign(mode: str, first: int, n: int, timeout: float = 10.0, memory_mb: int = 2048,
                       backends_every: int = 10, shrink_seconds: float = 60.0, progress=None):
    """``n`` cases from seed ``first`` (``mode``: ``"attack"`` or ``"strings"``), each in a worker
    process with a time and memory budget; jax and torch code is evaluated too on every
    ``backends_every``-th case (0: never). Returns a ``fuzz_sandbox.Summary``."""
    make = attack_case if mode == "attack" else hostile_case
    extra = available_backends() if backends_every else ("numpy",)

    def cases():
        for seed in range(first, first + n):
            yield make(seed, extra if backends_every and seed % backends_every == 0 else ("numpy",))
    with Sandbox(timeout, memory_mb, extra) as sandbox:
        return campaign(cases(), sandbox.run, shrink_seconds, progress)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m matcalc.fuzz", description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000, help="number of random cases")
    parser.add_argument("--seed", type=int, default=0, help="first seed")
    parser.add_argument("--sympy-every", type=int, default=10, help="check every k-th case with sympy (0: never)")
    parser.add_argument("--no-jax", action="store_true", help="skip the jax oracle")
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--strings", action="store_true",
                        help="random and mutated strings: parse, derive, compile, evaluate, check")
    parser.add_argument("--attack", action="store_true",
                        help="grammar-aware attack cases: hostile constants, exponents, nesting and names")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds a case may run before it is a hang (--strings, --attack)")
    parser.add_argument("--memory-mb", type=int, default=2048,
                        help="memory a case may allocate before it is a failure (--strings, --attack)")
    parser.add_argument("--backends-every", type=int, default=10,
                        help="evaluate the jax and torch code too on every k-th case (0: numpy only)")
    parser.add_argument("--shrink-seconds", type=float, default=60.0,
                        help="time to shrink the first case of each failure class (0: no shrinking)")
    args = parser.parse_args(argv)
    if args.strings or args.attack:
        mode = "attack" if args.attack else "strings"
        title = (f"python -m matcalc.fuzz --{mode} --n {args.n} --seed {args.seed} --timeout {args.timeout:g} "
                 f"--memory-mb {args.memory_mb} --backends-every {args.backends_every} "
                 f"(seeds {args.seed}–{args.seed + args.n - 1})")
        summary = sandboxed_campaign(mode, args.seed, args.n, args.timeout, args.memory_mb, args.backends_every,
                                     args.shrink_seconds, progress=lambda line: print(line, flush=True))
        print(report(summary, title))
        return 1 if summary.failures else 0
    counts: Counter = Counter()
    failures = []
    start = time.time()
    for seed in range(args.seed, args.seed + args.n):
        outcome, text = run_case(seed, args.sympy_every, not args.no_jax, args.depth)
        counts[outcome] += 1
        if outcome not in ("ok", "unsupported", "inconclusive"):
            failures.append((outcome, text))
            print(f"FAIL {outcome}: {text}", flush=True)
    elapsed = time.time() - start
    print(f"\n{args.n} cases in {elapsed:.0f} s: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print("failures:", len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
