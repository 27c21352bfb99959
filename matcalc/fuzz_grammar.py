"""Attack cases for ``python -m matcalc.fuzz --attack``: well-formed functions aimed at the places
where a symbolic engine and its code generator break.

A case is a typed random expression tree over *slots* (variables with a name, a kind and a
declared dims string), rendered as a string in the numpy or the MATLAB syntax, as a staged
program, or built through the Python API (``mc.vector``, operators, ``mc.sin``…). The
generator draws, besides ordinary expressions:

- huge and tiny constants (``1e308``, ``1e-308``, ``4.9e-324``, a 400-digit integer, ``10**400``,
  ``9**9**9``, ``2**-1074``, ``0.1 + 0.2 - 0.3``, ``(-8)**(1/3)``, ``1/0``);
- big and negative exponents (``x**1e308``, ``c**1000``, MATLAB ``X^1000`` and ``X^-1000000``);
- deep nesting and repetition: ``sin(e)*cos(e)`` nested (a shared tree through the API, lines of a
  staged program, or written out in a string), sums of up to 10,000 terms, products of up to 200
  factors, programs of up to 1,000 lines;
- names that collide with the generated code's own identifiers (temporaries ``t1``, size
  parameters ``size_n``, the ``np``/``jnp``/``torch`` aliases, helpers ``sigmoid``/``softmax``,
  the names that keywords are renamed to, ``v_None``, keywords and builtins, the generated
  function's own name) and with each other (``np`` and ``np_``; through the API, NFKC
  look-alikes such as ``ｘ`` and ``x``, ``ﬁ`` and ``fi``, and two variables with one name);
- shapes declared through ``shapes=`` (sometimes with bad dims: ``"²"``, ``"0"``, ``"-1"``) or left
  to inference;

and a task: a gradient or Jacobian, a Hessian, a Hessian-vector product, or ``verify`` with the
answer itself (it must be judged correct) or with a slightly wrong claim (it must be judged wrong).

Trees are tuples ``(op, payload, kids)``; a subtree may be shared (a DAG), which the API builds
as one shared expression. The choices come from a ``Chooser`` (``integer``, ``pick``), so the
same seed gives the same case.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from . import expr as E
from .api import check_name
from .errors import MatcalcError

# ---------------------------------------------------------------------------------------
# Trees
# ---------------------------------------------------------------------------------------

KINDS = ("s", "v", "w", "M", "R")   # scalar, n-vector, m-vector, n×n, n×m


def leaf(op: str, payload) -> tuple:
    return (op, payload, ())


def node(op: str, *kids, payload=None) -> tuple:
    return (op, payload, tuple(kids))


def num(text: str) -> tuple:
    return leaf("num", text)


def call(name: str, *kids) -> tuple:
    return node("call", *kids, payload=name)


def axis(k: int) -> tuple:
    """The keyword ``axis=k`` of a call (a leaf among its arguments)."""
    return leaf("axis", k)


@dataclass(frozen=True)
class Slot:
    """A variable of a case. ``dims``: the dims string declared in ``shapes`` (``None``: left to
    inference); ``props``: properties (``spd``, ``symmetric``, ``positive``)."""
    name: str
    kind: str
    dims: str | None
    props: tuple = ()


@dataclass(frozen=True)
class Case:
    """One attack. ``source``: ``"text"`` (a string in ``syntax``; a ``program`` tree renders as
    ``name = …`` lines) or ``"api"`` (built through the Python API). ``text``: a raw string, for
    cases without a tree (the hostile strings of ``--strings``). ``wrt``: the name (text) or slot
    index (api) to differentiate by, ``None`` for the first variable of the parsed string.
    ``direction``: the slot of the vector of a Hessian-vector product."""
    seed: int
    source: str = "text"
    syntax: str = "numpy"
    tree: tuple | None = None
    slots: tuple = ()
    wrt: object = None
    task: str = "gradient"          # gradient | hessian | hvp | verify | verify-wrong
    direction: int | None = None
    text: str = ""
    backends: tuple = ("numpy",)

    def string(self) -> str:
        """The function as the user types it (text cases)."""
        if self.tree is None:
            return self.text
        return render(self.tree, self.syntax, self.slots)

    def shapes(self) -> dict:
        """``shapes=`` for a text case: declared dims, or a variable spec where there are properties."""
        return {s.name: (s.dims if not s.props else ("spec", s)) for s in self.slots if s.dims is not None}

    def with_tree(self, tree) -> Case:
        return replace(self, tree=tree)


# ---------------------------------------------------------------------------------------
# Rendering
# ---------------------------------------------------------------------------------------

_NUMPY_OPS = {"add": "+", "sub": "-", "mul": "*", "div": "/", "matmul": "@", "pow": "**"}
_MATLAB_OPS = {"add": "+", "sub": "-", "mul": ".*", "div": "./", "matmul": "*", "pow": ".^", "mpow": "^"}


def render(tree: tuple, syntax: str, slots) -> str:
    """The tree as a string, fully parenthesised (a ``program`` as ``name = …`` lines)."""
    op, payload, kids = tree
    if op == "program":
        return "\n".join(f"{name} = {render(t, syntax, slots)}" for name, t in payload)
    ops = _NUMPY_OPS if syntax == "numpy" else _MATLAB_OPS
    if op == "var":
        return slots[payload].name
    if op in ("num", "dim", "stage"):
        return payload
    if op == "axis":
        return f"axis={payload}"
    parts = [render(k, syntax, slots) for k in kids]
    if op == "neg":
        return f"(-{parts[0]})"
    if op == "T":
        return f"{parts[0]}.T" if syntax == "numpy" else f"{parts[0]}'"
    if op == "call":
        return f"{payload}({', '.join(parts)})"
    if op in ("sum", "prod"):
        return "(" + f" {ops[payload]} ".join(parts) + ")"
    return f"({parts[0]} {ops[op]} {parts[1]})"


def python_source(case: Case) -> str:
    """A one-line Python reproducer of an API case: the variables, each shared subtree once."""
    lines = []
    for i, s in enumerate(case.slots):
        lines.append(f"v{i} = {constructor(s)}")
    names: dict = {}
    uses = _uses(case.tree)

    def text(t):
        key = id(t)
        if key in names:
            return names[key]
        op, payload, kids = t
        if op == "var":
            return f"v{payload}"
        if op == "num":
            return f"{payload}"
        if op == "dim":
            return repr(payload)
        if op == "axis":
            return f"axis={payload}"
        parts = [text(k) for k in kids]
        if op == "neg":
            out = f"(-{parts[0]})"
        elif op == "T":
            out = f"{parts[0]}.T"
        elif op == "call":
            out = f"mc.{payload}({', '.join(parts)})"
        elif op in ("sum", "prod"):
            out = "(" + f" {_NUMPY_OPS[payload]} ".join(parts) + ")"
        else:
            out = f"({parts[0]} {_NUMPY_OPS[op]} {parts[1]})"
        if uses.get(key, 0) > 1 and kids:
            names[key] = f"e{len(names) + 1}"
            lines.append(f"{names[key]} = {out}")
            return names[key]
        return out
    lines.append(f"f = {text(case.tree)}")
    return "; ".join(lines)


def constructor(s: Slot) -> str:
    props = "".join(f", {p}=True" for p in s.props)
    dims = [d.strip() for d in (s.dims or "").split(",")] if s.dims else []
    if s.kind == "s" and not dims:
        return f"mc.scalar({ascii(s.name)}{props})"
    if len(dims) == 1:
        return f"mc.vector({ascii(s.name)}, {ascii(dims[0])}{props})"
    return f"mc.matrix({ascii(s.name)}, {', '.join(ascii(d) for d in dims)}{props})"


def _uses(tree) -> dict:
    """How many parents each subtree (by identity) has."""
    uses: dict = {}
    stack = [tree]
    seen = set()
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        for k in t[2]:
            uses[id(k)] = uses.get(id(k), 0) + 1
            stack.append(k)
    return uses


def subtrees(tree) -> list:
    """The distinct subtrees of ``tree`` (by identity), root first, each once."""
    out, seen, stack = [], set(), [tree]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        out.append(t)
        kids = t[2] if t[0] != "program" else tuple(line for _, line in t[1])
        stack.extend(reversed(kids))
    return out


def postorder(tree) -> list:
    """The distinct subtrees of ``tree`` (by identity), each after all of its operands."""
    out, done, stack = [], set(), [(tree, False)]
    while stack:
        t, expanded = stack.pop()
        if id(t) in done:
            continue
        if expanded:
            done.add(id(t))
            out.append(t)
            continue
        stack.append((t, True))
        stack.extend((k, False) for k in reversed(t[2]) if id(k) not in done)
    return out


def replaced(tree, target, replacement):
    """``tree`` with every occurrence of the subtree ``target`` (by identity) replaced."""
    memo: dict = {}

    def go(t):
        if t is target:
            return replacement
        key = id(t)
        if key not in memo:
            op, payload, kids = t
            if op == "program":
                memo[key] = (op, tuple((name, go(line)) for name, line in payload), kids)
            else:
                new = tuple(go(k) for k in kids)
                memo[key] = t if all(a is b for a, b in zip(new, kids)) else (op, payload, new)
        return memo[key]
    return go(tree)


def slots_used(tree) -> list:
    return sorted({t[1] for t in subtrees(tree) if t[0] == "var"})


# ---------------------------------------------------------------------------------------
# The Python API: build a tree as users would
# ---------------------------------------------------------------------------------------

def api_variables(slots) -> list:
    """The slots as variables made by ``mc.vector`` / ``mc.matrix`` / ``mc.scalar``."""
    from . import api as mc
    from .shapes import parse_dims
    out = []
    for s in slots:
        props = {p: True for p in s.props}
        shape = parse_dims(s.dims or "")
        if s.kind == "s" and not s.dims:
            out.append(mc.scalar(s.name, **props))
        elif shape[1] == 1 and "," not in (s.dims or ""):
            out.append(mc.vector(s.name, shape[0], **props))
        else:
            out.append(mc.matrix(s.name, shape[0], shape[1], **props))
    return out


def build_api(tree, variables):
    """The expression of ``tree`` built with Python operators and ``mc`` functions; a shared
    subtree is built once (an interned DAG)."""
    from . import api as mc
    memo: dict = {}
    binary = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b,
              "div": lambda a, b: a / b, "matmul": lambda a, b: a @ b, "pow": lambda a, b: a ** b}
    for t in postorder(tree):
        op, payload, kids = t
        args = [memo[id(k)] for k in kids]
        if op == "var":
            value = variables[payload]
        elif op == "num":
            value = _python_number(payload)
        elif op in ("dim", "axis"):
            value = payload
        elif op == "neg":
            value = -args[0]
        elif op == "T":
            value = args[0].T
        elif op == "call":
            keywords = dict(k[:2] for k in kids if k[0] == "axis")
            value = getattr(mc, payload)(*[a for k, a in zip(kids, args) if k[0] != "axis"], **keywords)
        elif op in ("sum", "prod"):
            value = args[0]
            for a in args[1:]:
                value = binary[payload](value, a)
        else:   # two numbers combine as matcalc constants, not by Python's float arithmetic
            left = args[0] if any(isinstance(a, E.Expr) for a in args) else E.as_expr(args[0])
            value = binary[op](left, args[1])
        memo[id(t)] = value
    return memo[id(tree)]


def _python_number(text: str):
    return int(text) if text.isdigit() else float(text)


# ---------------------------------------------------------------------------------------
# The generator
# ---------------------------------------------------------------------------------------

# names the generated code uses itself, in families that collide with each other
COLLIDING_NAMES = [
    ("t1", "t2", "t3"),                                  # temporaries
    ("np", "np_"), ("jnp", "jnp_"), ("torch", "torch_"),    # library aliases, and their renamings
    ("sigmoid", "sigmoid_"), ("softmax", "softmax_"), ("softplus", "softplus_"),
    ("log_softmax", "log_softmax_"), ("commutation", "commutation_"), ("erf", "gelu", "silu"),
    ("normcdf", "normpdf", "scipy", "jax"),   # helpers
    ("None", "v_None"), ("lambda", "v_lambda"), ("True", "v_True"), ("class", "v_class"),   # keywords
    ("sum", "abs", "float", "len", "print", "math", "max", "range"),   # builtins
    ("f", "gradient", "hessian", "jacobian", "hvp", "derivatives", "value"),   # generated function names
    ("e", "z", "shifted", "i", "j", "m", "n"),              # names inside helpers; dims
    ("exp", "log", "sin", "eye", "ones", "diag", "inv", "trace"),   # function names as variables
]
NORMAL_NAMES = {"s": ["c", "s", "alpha", "lam"], "v": ["x", "y", "u", "p"], "w": ["z", "b", "q"],
                "M": ["A", "B", "X", "S"], "R": ["W", "C", "D"]}
# pairs that are one identifier after NFKC normalisation (Python source normalises identifiers)
LOOKALIKES = [("ｘ", "x"), ("ﬁ", "fi"), ("µ", "μ"), ("K", "K"), ("e\u0301", "é"), ("𝐱", "x"),
              ("Ａ", "A"), ("ｔ１", "t1"), ("ｎｐ", "np"), ("ｓｉｚｅ_n", "size_n")]
HOSTILE_DIM_NAMES = ["t1", "np", "size", "x", "None", "f", "n_1", "1", "3"]
BAD_DIMS = ["²", "0", "-1", "n,n,n", "1e3", "n,", "1.5", "ｎ", "n m k", "None", "__x",
            "99999999999999999999", "0,0", "١", "n,-2"]

NORMAL_CONSTANTS = ["2", "3", "0.5", "1", "1.5", "10", "0.25"]
HOSTILE_CONSTANTS = ["1e308", "1e-308", "1.7976931348623157e308", "1e309", "4.9e-324", "2.2250738585072014e-308",
                     "1e-320", "1e400", "1e-400", "0.1", "0", "0.0", "1" + "0" * 400, "0." + "0" * 300 + "1",
                     "123456789012345678901234567890", "9007199254740993", "1e22", "1e-7"]
NORMAL_EXPONENTS = ["2", "3", "0.5", "-1", "(1/2)", "-2"]
HOSTILE_EXPONENTS = ["1e308", "-1e308", "1000", "-1000", "(1/3)", "1e-308", "0", "-0.5", "1e309", "1025",
                     "0.5000000000000001", "2.0000001"]
MATRIX_POWERS = ["2", "3", "-1", "0", "1000", "1000", "-1000000", "-1000000", "1000000", "2.5", "(1/2)", "-2"]
FUNCTIONS = ("exp", "log", "sin", "cos", "tan", "tanh", "sigmoid", "relu", "softplus", "abs", "sqrt",
             "step", "sign", "sinh", "cosh", "arctan", "expm1", "erf", "normcdf", "normpdf", "gelu", "silu")
STAGE_NAMES = ["z", "h", "a", "y", "g", "r", "k"]
TASKS = ["gradient"] * 11 + ["hessian"] * 3 + ["hvp"] * 2 + ["verify"] * 2 + ["verify-wrong"] * 2


def number_tree(text: str) -> tuple:
    """A number as a tree: ``"-2"`` is ``-(2)``, ``"(1/3)"`` is ``1 / 3``."""
    if text.startswith("(1/"):
        return node("div", num("1"), num(text[3:-1]))
    return node("neg", num(text[1:])) if text.startswith("-") else num(text)


def constant_expressions() -> list:
    """Constants written as expressions that overflow, underflow, round or leave the reals."""
    def power(a, b):
        return node("pow", a, b)

    def minus(a):
        return node("neg", a)
    n = num
    return [power(n("10"), n("400")), power(n("9"), power(n("9"), n("9"))), power(n("2"), minus(n("1074"))),
            power(n("10"), power(n("10"), n("10"))), node("sub", node("add", n("0.1"), n("0.2")), n("0.3")),
            power(minus(n("8")), node("div", n("1"), n("3"))), node("div", n("1"), n("0")),
            node("div", n("0"), n("0")), power(n("0"), minus(n("1"))), call("exp", n("1000")), call("log", n("0")),
            call("sqrt", minus(n("1"))), power(n("2"), n("1024")), node("mul", n("1e308"), n("10"))]


class AttackGenerator:
    """Random attack cases (see the module docstring), from a ``Chooser``."""

    def __init__(self, chooser):
        self.c = chooser

    # -- the case ------------------------------------------------------------------------------
    def case(self, seed: int) -> Case:
        c = self.c
        self.source = c.pick(["numpy"] * 9 + ["matlab"] * 4 + ["program"] * 3 + ["api"] * 4)
        self.api = self.source == "api"
        self.syntax = "matlab" if self.source == "matlab" else "numpy"
        self.hostile_constants = c.integer(0, 2) == 0
        self.hostile_exponents = c.integer(0, 2) == 0
        self.dims = self.dim_names()
        self.slots: list = []
        self.queue = self.name_plan()
        self.stages: list = []
        kind = c.pick(["s"] * 6 + ["v"] * 2 + ["M", "w"])
        if self.source == "program":
            tree = self.program(kind)
        else:
            tree = self.structured(kind, c.integer(1, 4))
        used = slots_used(tree)
        task = c.pick(TASKS if kind == "s" else ["gradient"] * 4 + ["verify", "verify-wrong"])
        vectors = [i for i in used if self.slots[i].kind == "v"]
        wrt = c.pick(vectors if vectors and task in ("hessian", "hvp") else used) if used else None
        direction = None
        if task == "hvp" and wrt is not None:
            direction = self.slot(self.slots[wrt].kind, fresh=True)
        self.bad_dims()
        slots = tuple(self.slots)
        if self.api:
            return Case(seed, "api", "numpy", tree, slots, wrt, task, direction)
        name = slots[wrt].name if wrt is not None else "x"
        if c.integer(0, 40) == 0:   # a variable that is not there, or a dimension
            name = c.pick(["q", self.dims[0], "size_" + self.dims[0]])
        return Case(seed, "text", self.syntax, tree, slots, name, task, direction)

    def dim_names(self) -> tuple:
        if self.c.integer(0, 5) == 0:
            first = self.c.pick(HOSTILE_DIM_NAMES)
            return first, ("m" if first != "m" else "k")
        return "n", "m"

    def name_plan(self) -> list:
        """Names to hand out first: colliding families (or, through the API, NFKC look-alikes and
        one name twice)."""
        c = self.c
        plan: list = []
        if c.integer(0, 4) < 3:
            for _ in range(c.integer(1, 2)):
                plan += list(c.pick(COLLIDING_NAMES))
            plan += ["size_" + d for d in self.dims if c.integer(0, 2) == 0]
        if self.api and c.integer(0, 2) == 0:
            plan = list(c.pick(LOOKALIKES)) + plan
        if self.api and c.integer(0, 5) == 0:
            plan = ["x", "x"] + plan   # one name, two variables (of different shapes)
        return plan

    def bad_dims(self):
        if self.slots and self.c.integer(0, 25) == 0:
            i = self.c.integer(0, len(self.slots) - 1)
            self.slots[i] = replace(self.slots[i], dims=self.c.pick(BAD_DIMS))

    # -- variables ---------------------------------------------------------------------------------
    def slot(self, kind: str, fresh: bool = False) -> int:
        """The index of a variable of ``kind``: an existing one, or a new one named from the plan."""
        existing = [i for i, s in enumerate(self.slots) if s.kind == kind]
        if existing and not fresh and self.c.integer(0, 3) > 0:
            return self.c.pick(existing)
        taken = {s.name for s in self.slots}
        name = None
        while self.queue and name is None:
            candidate = self.queue.pop(0)
            if candidate not in taken or (self.api and candidate == "x"):
                name = candidate
        if name is None:
            free = [n for n in NORMAL_NAMES[kind] if n not in taken]
            name = self.c.pick(free) if free else f"{NORMAL_NAMES[kind][0]}{len(self.slots)}"
        n, m = self.dims
        dims = {"s": "", "v": n, "w": m, "M": f"{n},{n}", "R": f"{n},{m}"}[kind]
        props = ()
        if kind == "M" and self.c.integer(0, 4) == 0:
            props = (self.c.pick(["spd", "symmetric"]),)
        elif kind == "v" and self.c.integer(0, 6) == 0:
            props = ("positive",)
        declared = self.api or not _by_convention(name, kind) or self.c.integer(0, 5) > 0
        self.slots.append(Slot(name, kind, dims if declared else None, props if declared else ()))
        return len(self.slots) - 1

    # -- leaves ----------------------------------------------------------------------------------
    def var(self, kind: str) -> tuple:
        if self.stages and self.c.integer(0, 1):
            same = [name for name, k in self.stages if k == kind]
            if same:
                return leaf("stage", self.c.pick(same))
        return leaf("var", self.slot(kind))

    def constant(self) -> tuple:
        c = self.c
        if not self.hostile_constants or c.integer(0, 2) == 0:
            return num(c.pick(NORMAL_CONSTANTS))
        if self.api or c.integer(0, 14) < 8:   # no power towers through Python's own arithmetic
            return num(c.pick(HOSTILE_CONSTANTS))
        return c.pick(constant_expressions())

    def exponent(self) -> tuple:
        c = self.c
        if self.hostile_exponents and not self.api and c.integer(0, 6) == 0:
            return self.c.pick(constant_expressions()[:4])
        return number_tree(c.pick(HOSTILE_EXPONENTS if self.hostile_exponents and c.integer(0, 2) > 0
                                  else NORMAL_EXPONENTS))

    def leaf(self, kind: str) -> tuple:
        r = self.c.integer(0, 9)
        if kind == "s" and r < 2:
            return self.constant()
        if kind == "v" and r == 2 and self.syntax == "numpy" and not self.api:
            return call("ones", leaf("dim", self.dims[0]))
        if kind == "M" and r == 2 and not self.api:
            return call("eye", leaf("dim", self.dims[0]))
        return self.var(kind)

    # -- structure -------------------------------------------------------------------------------
    def structured(self, kind: str, depth: int) -> tuple:
        """An expression of ``kind``, sometimes with a hostile structure around or inside it."""
        c = self.c
        shape = c.integer(0, 11)
        if shape == 0:
            inner = self.expression(self.elementwise_kind(), 1)
            return self.reduce(kind, self.nested(inner, c.integer(1, self.max_nesting())))
        if shape == 1:
            return self.long_sum(kind)
        if shape == 2:
            return self.reduce(kind, self.long_product())
        if shape in (3, 6) and self.syntax == "matlab":
            return self.reduce(kind, node("mpow", self.expression("M", 1), self.matrix_power()))
        if shape == 4:   # a hostile constant, or a constant expression, as a factor
            constant = c.pick(constant_expressions()) if not self.api and c.integer(0, 1) else \
                num(c.pick(HOSTILE_CONSTANTS))
            return node("mul", constant, self.expression(kind, depth))
        if shape == 5:   # a hostile exponent
            base = self.expression(self.elementwise_kind(), depth)
            return self.reduce(kind, node("pow", base, number_tree(c.pick(HOSTILE_EXPONENTS))))
        return self.expression(kind, depth)

    def max_nesting(self) -> int:
        return 40 if self.api else 12

    def elementwise_kind(self) -> str:
        return self.c.pick(["v", "v", "s", "M"])

    def reduce(self, kind: str, e: tuple) -> tuple:
        """A function of ``kind`` built around ``e``: its sum, scaling one of ``kind`` if need be."""
        if kind == "s":
            return call("sum", e)
        return node("mul", call("sum", e), self.expression(kind, 1))

    def nested(self, e: tuple, depth: int) -> tuple:
        """``sin(e) * cos(e)`` nested ``depth`` times, ``e`` shared."""
        for _ in range(depth):
            e = node("mul", call("sin", e), call("cos", e))
        return e

    def long_sum(self, kind: str) -> tuple:
        c = self.c
        count = c.pick([2, 3, 5, 8, 13, 30, 100, 1000, 3000, 10000] if not self.api else [2, 5, 30, 1000, 10000])
        terms = [self.expression(kind, 0 if count > 30 else 1) for _ in range(min(count, 40))]
        if count > 40:   # a long sum repeats a few terms, with distinct coefficients
            terms = [node("mul", num(str(i + 1)), terms[i % len(terms)]) for i in range(count)]
        return node("sum", *terms, payload="add")

    def long_product(self) -> tuple:
        c = self.c
        count = c.pick([2, 3, 5, 10, 50, 200])
        if c.integer(0, 1):
            factors = [self.expression("v", 0) for _ in range(min(count, 10))]
            return node("prod", *[factors[i % len(factors)] for i in range(count)], payload="mul")
        square = [self.var("M") for _ in range(min(count, 3))]
        chain = [square[i % len(square)] for i in range(count)] + [self.var("v")]
        return node("prod", *chain, payload="matmul")

    def matrix_power(self) -> tuple:
        return number_tree(self.c.pick(MATRIX_POWERS))

    def program(self, kind: str) -> tuple:
        """Stages ``name = expression``; the last line is the function."""
        c = self.c
        lines = []
        style = c.integer(0, 3)
        count = c.pick([1, 2, 3, 5, 8, 20, 40, 200, 1000] if style == 0 else [1, 2, 3, 4, 6])
        plan = [n for family in (c.pick(COLLIDING_NAMES),) for n in family] if c.integer(0, 2) == 0 else []
        taken = {s.name for s in self.slots}
        if style == 0:   # sin(z) * cos(z), stage after stage
            e = self.expression(self.elementwise_kind(), 1)
            for i in range(count):
                name = self.stage_name(i, plan, taken)
                lines.append((name, e))
                e = node("mul", call("sin", leaf("stage", name)), call("cos", leaf("stage", name)))
            last = leaf("stage", lines[-1][0])
            final = call("sum", last)
        else:
            for i in range(count):
                name = self.stage_name(i, plan, taken)
                stage_kind = c.pick(["v", "v", "s", "M"])
                lines.append((name, self.expression(stage_kind, c.integer(1, 3))))
                self.stages.append((name, stage_kind))
            final = self.expression("s", 2)
        final_name = c.pick(["L", "L", "f", "loss", "gradient", "t1"])
        if final_name in {n for n, _ in lines} or final_name in {s.name for s in self.slots}:
            final_name = "L_"
        return ("program", tuple(lines) + ((final_name, final),), ())

    def stage_name(self, i: int, plan: list, taken: set) -> str:
        while plan:
            name = plan.pop(0)
            if name not in taken:
                taken.add(name)
                return name
        name = f"{STAGE_NAMES[i % len(STAGE_NAMES)]}{i + 1}"
        taken.add(name)
        return name

    # -- typed random expressions ----------------------------------------------------------------
    def expression(self, kind: str, depth: int) -> tuple:
        if depth <= 0 or self.c.integer(0, 3) == 0:
            return self.leaf(kind)
        return getattr(self, "kind_" + kind)(depth - 1)

    def fn(self, e: tuple) -> tuple:
        return call(self.c.pick(FUNCTIONS), e)

    def kind_s(self, d: int) -> tuple:
        c = self.c
        s = lambda: self.expression("s", d)   # noqa: E731
        v = lambda: self.expression("v", d)   # noqa: E731
        sq = lambda: self.expression("M", d)   # noqa: E731
        pick = c.integer(0, 17)
        options = [
            lambda: call("sum", v()), lambda: call("trace", sq()), lambda: node("matmul", node("T", v()), v()),
            lambda: node("matmul", node("matmul", node("T", v()), sq()), v()),
            lambda: node("pow", call("norm2", v()), num("2")), lambda: call("logdet", self.var("M")),
            lambda: call("det", sq()), lambda: node("add", s(), s()), lambda: node("mul", s(), s()),
            lambda: node("div", s(), s()), lambda: self.fn(s()), lambda: node("pow", s(), self.exponent()),
            lambda: node("neg", s()), lambda: call("sum", self.expression("w", d)), lambda: call("norm2", v()),
            lambda: node("sub", s(), s()), lambda: node("mul", self.constant(), s()),
            lambda: call(c.pick(["tr", "norm1"]), sq() if c.integer(0, 1) else v()) if self.syntax == "matlab"
            else node("pow", self.constant(), s()),
        ]
        if self.syntax == "numpy" and c.integer(0, 3) == 0:   # the batch forms and matrix functions
            options = [
                lambda: call(c.pick(["mean", "logsumexp"]), self.expression(c.pick(["v", "R", "M"]), d)),
                lambda: call("sum", call(c.pick(["logsumexp", "mean", "sum"]), self.expression("R", d),
                                         axis(c.integer(0, 1)))),
                lambda: call("sum", call(c.pick(["softmax", "log_softmax"]), self.expression("R", d),
                                         axis(c.integer(0, 1)))),
                lambda: call("sum", call("eigvalsh", sq())),
                lambda: call("trace", call(c.pick(["expm", "cholesky"]), self.var("M"))),
                lambda: node("matmul", node("T", v()), call("solve", self.var("M"), v())),
                lambda: call("trace", call("kron", sq(), sq())),
                lambda: call("sum", call("kron", v(), self.expression("w", d))),
            ]
            pick = c.integer(0, len(options) - 1)
        return options[pick]()

    def kind_v(self, d: int) -> tuple:
        c = self.c
        v = lambda: self.expression("v", d)   # noqa: E731
        sq = lambda: self.expression("M", d)   # noqa: E731
        options = [
            lambda: node("matmul", sq(), v()), lambda: node("add", v(), v()), lambda: node("sub", v(), v()),
            lambda: node("mul", v(), v()), lambda: node("div", v(), v()), lambda: self.fn(v()),
            lambda: node("mul", self.expression("s", d), v()), lambda: call("softmax", v()),
            lambda: call("log_softmax", v()), lambda: call("diag", sq()),
            lambda: node("matmul", self.expression("R", d), self.expression("w", d)),
            lambda: node("pow", v(), self.exponent()), lambda: node("matmul", call("inv", self.var("M")), v()),
            lambda: node("neg", v()), lambda: node("mul", v(), self.constant()),
        ]
        if self.syntax == "numpy":
            options += [lambda: call("solve", self.var("M"), v()),
                        lambda: call(c.pick(["sum", "mean", "logsumexp"]), self.expression("R", d), axis(1)),
                        lambda: node("matmul", call("pinv", node("T", self.expression("R", d))),
                                     self.expression("w", d))]
        return c.pick(options)()

    def kind_w(self, d: int) -> tuple:
        c = self.c
        options = [
            lambda: node("matmul", node("T", self.expression("R", d)), self.expression("v", d)),
            lambda: self.fn(self.expression("w", d)),
            lambda: node("add", self.expression("w", d), self.expression("w", d)),
            lambda: node("mul", self.expression("s", d), self.expression("w", d)),
        ]
        return c.pick(options)()

    def kind_M(self, d: int) -> tuple:
        c = self.c
        sq = lambda: self.expression("M", d)   # noqa: E731
        v = lambda: self.expression("v", d)   # noqa: E731
        options = [
            lambda: node("matmul", sq(), sq()), lambda: node("add", sq(), sq()), lambda: node("T", sq()),
            lambda: node("mul", sq(), sq()), lambda: self.fn(sq()), lambda: call("diag", v()),
            lambda: node("matmul", v(), node("T", v())),
            lambda: node("matmul", self.expression("R", d), node("T", self.expression("R", d))),
            lambda: node("mul", self.expression("s", d), sq()), lambda: call("inv", self.var("M")),
            lambda: node("pow", sq(), self.exponent()), lambda: node("sub", sq(), sq()),
        ]
        if self.syntax == "matlab":
            options.append(lambda: node("mpow", self.var("M"), self.matrix_power()))
        return c.pick(options)()

    def kind_R(self, d: int) -> tuple:
        c = self.c
        options = [
            lambda: node("add", self.expression("R", d), self.expression("R", d)),
            lambda: self.fn(self.expression("R", d)),
            lambda: node("matmul", self.expression("M", d), self.expression("R", d)),
            lambda: node("matmul", self.expression("v", d), node("T", self.expression("w", d))),
            lambda: node("mul", self.expression("s", d), self.expression("R", d)),
        ]
        if self.syntax == "numpy":
            options.append(lambda: call(c.pick(["softmax", "log_softmax"]), self.expression("R", d),
                                        axis(c.integer(0, 1))))
        return c.pick(options)()


def _by_convention(name: str, kind: str) -> bool:
    """Whether inference would give ``name`` the shape of ``kind`` (then it may go undeclared)."""
    from .parse import naming_convention
    try:
        check_name(name)
    except MatcalcError:
        return False
    convention = naming_convention(name)
    return {"s": "scalar", "v": "vector", "w": "vector", "M": "matrix", "R": "matrix"}[kind] == convention \
        and kind not in ("w", "R")
