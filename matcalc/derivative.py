"""``derive``: from an expression and a variable to a checked, closed-form derivative.

Conventions (the README states them too):

- gradient of a scalar ``f`` w.r.t. ``X``: the shape of ``X`` (denominator layout);
- Jacobian of ``y ∈ Rᵐ`` w.r.t. ``x ∈ Rⁿ``: ``m×n``, ``J[i, j] = ∂yᵢ/∂xⱼ`` (numerator layout);
- Hessian of a scalar ``f`` w.r.t. ``x ∈ Rⁿ``: ``n×n``;
- ``layout="numerator"`` writes gradients as rows (the transpose); ``layout="denominator"``
  writes Jacobians ``n×m``. The default, ``layout=None``, is the mixed convention above.

Derivatives whose natural form has order 3 or 4 (a vector or matrix w.r.t. a matrix, a matrix
w.r.t. a vector, a Hessian w.r.t. a matrix) come in three forms: the differential
(``d(A X B) = A dX B``), the vec form ``∂vec(F)/∂vec(X)ᵀ`` with Kronecker products and
commutation matrices (column-major vec), and the full numeric array (``to_numpy()``: the axes of
``F`` then those of ``X``, without the unit axes of vectors).
"""
from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction

from . import expr as E
from .api import check_distinct, check_name, declared
from .backward import BackwardForm, backward_form, implicit_program
from .check import check_derivative
from .diff import Differentiator, differential_variable, gradient_from_differential, jacobian_from_differential
from .errors import MatcalcError, UnknownNameError, UnsupportedDerivativeError
from .factor import factor
from .limits import guarded
from .parse import build_expression
from .polynomial import shortest
from .printing.latex import latex_name, to_latex
from .printing.numpy import CompiledFunction, NumpyAdapter, generated_source, inputs_by_name
from .printing.text import format_name, to_text
from .rewrite import Recorder, simplify
from .shapes import SCALAR, parse_dims, shape_text
from .staged import backpropagate, expand_signals, is_program, parse_program

_DIRECTION_NAMES = ("V", "E", "Z", "U", "H", "Δ", "dir")   # the direction of a linear map: a free name
LAYOUTS = (None, "numerator", "denominator")
SYMMETRIC_GRADIENTS = ("sym", "cookbook", "ignore")
SYMMETRIC = frozenset({"symmetric", "spd"})


class Derivative:
    """A derivative in closed form.

    ``expr``: the result as an expression; ``str()`` and ``latex()`` print it; ``to_numpy()``
    evaluates it; ``check()`` compares it with finite differences of ``f``.
    ``kind``: ``"gradient"``, ``"jacobian"``, ``"hessian"`` or ``"hvp"``. ``form``: ``"matrix"``
    for gradients and for Jacobians and Hessians that are matrices; ``"vec"`` for an order-3 or
    order-4 derivative written as ``∂vec(F)/∂vec(X)ᵀ``; ``"differential"`` when only the
    differential form exists. ``differential``: ``dF`` as an expression in ``dX`` (for Hessians,
    the differential of the gradient).
    """

    def __init__(self, f, wrt, expr, kind, layout, form, differential, variables, check_form,
                 symmetric_gradient="ignore"):
        self.f = f
        self.wrt = wrt
        self.expr = expr
        self.kind = kind
        self.order = 2 if kind in ("hessian", "hvp") else 1
        self.layout = layout
        self.form = form
        self.differential = differential
        self.variables = variables        # the inputs: the variables of f as given, and wrt
        self._check_form = check_form     # the result in the default layout, for checks
        self.symmetric_gradient = symmetric_gradient
        self.assumed = {}                 # shapes inferred for undeclared names: name -> shape
        self.program = None               # a staged program: the result in its names, and
        self.named = None                 # (for gradients) the backward signal of each stage
        self.signals = {}
        self._map = None                  # (direction, the derivative applied to it), for order 3 and 4
        self._backward = None             # the backpropagation form, where it prints shorter (False: not)
        self.written = None               # f before the simplification rules (for check)
        self.source_text = None           # f as the user typed it (a string), for the steps' header

    # -- printing ------------------------------------------------------------------------------
    def __str__(self):
        return self.text()

    def text(self, names: bool = True, expand: bool = False) -> str:
        """One line of text; long repeated subexpressions get a name (``…, where s = σ(…)``)
        unless ``names=False``. The result of a staged program is written in its stage names
        unless ``expand=True``. A gradient whose backpropagation form is shorter prints in it
        (``…, where h₁ = …, δh₂ = …``; see ``matcalc.backward``) unless ``names=False`` or
        ``expand=True``. A derivative that has only its differential form prints as ``d(f) = …``."""
        return self._written(to_text, names, expand)

    def shown(self, expand: bool = False) -> E.Expr:
        return self.named if self.named is not None and not expand else self.expr

    def backward_form(self) -> BackwardForm | None:
        """The gradient as backpropagation writes it — forward states and backward signals —
        where that prints shorter than the result written out (an RNN unrolled over T steps:
        linear in T, not quadratic); ``None`` otherwise."""
        if self._backward is None:
            written = len(to_text(self.shown(), True))
            form = self._backpropagated(written) if self.kind == "gradient" and self.form == "matrix" \
                and self.layout != "numerator" and not self.wrt.data[1] & SYMMETRIC else None
            shorter = form is not None and len(form.text()) < written
            self._backward = form if shorter else False
        return self._backward or None

    def linear_map(self) -> tuple | None:
        """``(V, D[V])``: a derivative of order 3 or 4 as the linear map it is — its differential
        with ``dX`` replaced by a direction ``V`` shaped like ``X`` (the Hessian of
        ``tr(Xᵀ A X B)`` is ``H[V] = A V B + Aᵀ V Bᵀ``, its vec form ``B ⊗ Aᵀ + Bᵀ ⊗ A``);
        ``None`` for a result that is a matrix."""
        if self.form != "vec" or self.differential is None:
            return None
        if self._map is None:
            dx = differential_variable(self.wrt)
            taken = {v.name for v in self.variables} | {v.name for v in self.f.free_vars}
            name = next(n for n in _DIRECTION_NAMES if n not in taken)
            direction = E.variable(name, self.wrt.shape)
            self._map = (direction, textbook(simplify(E.substitute(self.differential, {dx: direction}))))
        return self._map

    def _label_latex(self) -> str:
        """What ``describe`` calls the result, in LaTeX (``\\nabla_{W_{1}} f``, ``∂vec(F)/∂vec(X)ᵀ``)."""
        w = latex_name(self.wrt.name)
        if self.form == "vec":
            of = r"\nabla f" if self.kind == "hessian" else "F"
            return rf"\frac{{\partial \operatorname{{vec}}({of})}}{{\partial \operatorname{{vec}}({w})^{{\top}}}}"
        return {"gradient": rf"\nabla_{{{w}}} f", "jacobian": rf"\frac{{\partial F}}{{\partial {w}}}",
                "hessian": rf"\nabla^{{2}}_{{{w}}} f", "hvp": "H v"}[self.kind]

    def _map_label(self) -> str:
        return "H" if self.kind == "hessian" else "J"

    def _map_is_shorter(self) -> bool:
        """Whether the linear map prints shorter than the vec form (``str`` then shows the map)."""
        if self.form != "vec" or self.differential is None:
            return False
        direction, value = self.linear_map()
        return len(f"{self._map_label()}[V] = {to_text(value, True)}") < len(to_text(self.expr, True))

    def _backpropagated(self, written: int) -> BackwardForm | None:
        if self.signals:   # a staged program: its own stages, in the user's names
            gradient = self.stage_gradient[0]
            rough = len(to_text(gradient)) + sum(len(to_text(e)) for _, e, _ in self.signals.values())
            if rough >= written:   # (as printed before the textbook pass: not shorter, not worth making)
                return None
            return backward_form(gradient, self.signals, self.named, textbook)
        program = implicit_program(self.f, self.wrt, self.expr)
        if program is None:
            return None
        signals, gradient, _ = backpropagate(program, self.wrt, _gradient_and_rules)
        return backward_form(gradient, signals, self.expr, textbook, program)

    def __repr__(self):
        return f"<{self.kind} of {self.f} w.r.t. {self.wrt.name}: {self}>"

    def latex(self, names: bool = True, expand: bool = False) -> str:
        return self._written(to_latex, names, expand)

    def _written(self, printed, names: bool, expand: bool) -> str:
        """The result in the notation of ``printed`` (``to_text`` or ``to_latex``): its
        backpropagation form or its linear map where shorter, else the expression."""
        latex = printed is to_latex
        form = self.backward_form() if names and not expand else None
        if form is not None:
            return form.latex() if latex else form.text()
        if self._map_is_shorter():
            direction, value = self.linear_map()
            applied = rf"\left[{printed(direction)}\right]" if latex else f"[{printed(direction)}]"
            return f"{self._map_label()}{applied} = {printed(value, names)}"
        text = printed(self.shown(expand), names)
        if self.form != "differential":
            return text
        return rf"\mathrm{{d}}\left({printed(self.f)}\right) = {text}" if latex else f"d({printed(self.f)}) = {text}"

    def _repr_latex_(self):
        return f"${self.latex()}$"

    @property
    def shape(self):
        return self.expr.shape

    @property
    def is_tensor(self) -> bool:
        """Whether the derivative has order 3 or 4 (its ``expr`` is then a vec form)."""
        return self.form != "matrix"

    def describe(self) -> Description:
        """Every form of the result, one per line (a string; ``.latex()`` and a notebook render
        each line as math)."""
        lines = []
        if self.differential is not None:
            target = f"∇{_name_of(self.f)}" if self.kind == "hessian" else _name_of(self.f)
            lines.append(f"d({target}) = {self.differential}")
        label = {"gradient": f"∇_{self.wrt.name}", "jacobian": f"∂{_name_of(self.f)}/∂{self.wrt.name}",
                 "hessian": f"∇²_{self.wrt.name}", "hvp": "H v"}[self.kind]
        if self.form == "vec":
            label = f"∂vec({'∇' if self.kind == 'hessian' else ''}{_name_of(self.f)})/∂vec({self.wrt.name})ᵀ"
        if self.form != "differential":
            lines.append(f"{label} = {self.expr}")
        latex = []
        if self.differential is not None:
            target = r"\nabla f" if self.kind == "hessian" else "f"
            latex.append(rf"\mathrm{{d}}{target} &= {to_latex(self.differential)}")
        if self.form != "differential":
            latex.append(rf"{self._label_latex()} &= {to_latex(self.expr, True)}")
        if self.form == "vec" and self.differential is not None:
            direction, value = self.linear_map()
            lines.append(f"{self._map_label()}[{to_text(direction)}] = {to_text(value, True)}")
            latex.append(rf"{self._map_label()}\left[{to_latex(direction)}\right] &= {to_latex(value, True)}")
        return Description("\n".join(lines), r"\begin{aligned}" + r" \\ ".join(latex) + r"\end{aligned}")

    # -- numbers ---------------------------------------------------------------------------------
    def compile(self, backend: str = "numpy", with_value: bool = False) -> CompiledFunction:
        """The derivative as a function of the variables of ``f`` (arrays by name), generated
        for ``backend`` (``"numpy"``, ``"jax"`` or ``"torch"``); with ``with_value=True`` it
        returns ``(f, derivative)``, sharing the work of both.

        Gradients come back shaped like the variable as passed (``(n,)`` or ``(n, 1)``);
        Jacobians and Hessians that are matrices as 2-D arrays; order-3 and order-4 derivatives
        as the full array, computed from the differential (no Kronecker product is formed).
        ``.function`` is the generated function itself and ``.source`` its code."""
        single, outputs, options = self._program(with_value)
        return CompiledFunction(single, self.kind, outputs, required=self.variables,
                                adapter=adapter_for(backend)(), **options)

    def _program(self, with_value: bool) -> tuple:
        """``(expressions, outputs, options)`` of the generated function (see ``compile``)."""
        if self.form != "matrix":
            # a differential free of dX (a zero derivative) still has dX's axes in its array
            dx = next((v for v in self.differential.free_vars if "differential" in v.data[1]),
                      differential_variable(self.wrt))
            exprs, outputs = [self.differential], ["tensor"]
            options = dict(differential_of=(dx, self.wrt))
        else:
            like = self.kind in ("gradient", "hvp") and self.layout != "numerator"
            exprs, outputs, options = [self.expr], [("like", self.wrt.name) if like else "matrix"], {}
        if with_value:
            exprs, outputs = [self.f] + exprs, ["value"] + outputs
        return (exprs[0] if len(exprs) == 1 else exprs), (outputs if len(exprs) > 1 else outputs[0]), options

    def to_numpy(self, with_value: bool = False) -> CompiledFunction:
        """``compile("numpy")``: see ``compile``."""
        return self.compile("numpy", with_value)

    def to_jax(self, with_value: bool = False) -> CompiledFunction:
        """``compile("jax")``: pure ``jax.numpy`` code; ``jax.jit(result.function)`` compiles it."""
        return self.compile("jax", with_value)

    def to_torch(self, with_value: bool = False) -> CompiledFunction:
        """``compile("torch")``: code in torch operations on float64 tensors."""
        return self.compile("torch", with_value)

    def to_sympy(self):
        """The result as a SymPy matrix expression in ``MatrixSymbol``s named like the variables
        (see ``matcalc.sympy_bridge``): ``sympy.lambdify`` of it runs and equals ``to_numpy()``."""
        if self.form != "matrix":
            raise MatcalcError(f"this {self.kind} has no matrix form (it is order {3 if self.form == 'vec' else 4} "
                               "or a differential): no SymPy matrix expression")
        from .sympy_bridge import to_sympy
        return to_sympy(self.expr)

    def source(self, backend: str = "numpy", with_value: bool = False) -> str:
        """The generated code (for any backend, whether its library is installed or not)."""
        single, _, options = self._program(with_value)
        return generated_source(single, adapter_for(backend).backend, self.kind, self.variables, **options)

    def steps(self):
        """The derivation, step by step (``str()`` for text, ``latex()`` for an aligned block)."""
        from .steps import derivation
        return derivation(self)

    def check(self, seed=None, trials: int = 3, tolerance: float = 1e-6, sizes: dict | None = None):
        """Finite-difference check on random inputs; see ``matcalc.check``. ``f`` as written
        (before the simplification rules) must have the value of ``f`` simplified, so that a
        wrong rule cannot change the function and its derivative alike unseen. ``sizes``
        (name -> int): check at these sizes only (e.g. ``{"n": 100_000}``; beyond 64 entries
        the comparison is directional)."""
        if self.form == "matrix":
            numeric = CompiledFunction(self._check_form, self.kind, "matrix" if self.kind != "gradient" else "value",
                                    required=self.variables)
        else:
            numeric = self.to_numpy()
        entries = self.symmetric_gradient == "cookbook" and bool(self.wrt.data[1] & SYMMETRIC)
        return check_derivative(self.f, self.wrt, numeric, self.kind, self.variables, seed=seed, trials=trials,
                                tolerance=tolerance, entries=entries, direction=getattr(self, "direction", None),
                                sizes=sizes, written=self.written)


class Description(str):
    """Lines of text (it is the string), with ``latex()`` for the same in LaTeX."""

    def __new__(cls, text: str, latex: str):
        out = super().__new__(cls, text)
        out._latex = latex
        return out

    def latex(self) -> str:
        return self._latex

    def _repr_latex_(self):
        return f"$${self._latex}$$"


def _name_of(f: E.Expr) -> str:
    text = str(f)
    return text if len(text) <= 24 else "f"


class Derivatives(Mapping):
    """The derivatives of one function w.r.t. several variables, by variable name.

    ``to_numpy()`` evaluates all of them in one pass, computing shared subexpressions once
    (the upstream signals of backpropagation); it returns a dict by variable name."""

    def __init__(self, f: E.Expr, items: dict):
        self.f = f
        self._items = items

    def __getitem__(self, key):
        if isinstance(key, E.Expr):
            key = key.name
        if key not in self._items:
            raise _NoSuchDerivative(f"no derivative w.r.t. {key!r}; there are: {', '.join(self._items)}")
        return self._items[key]

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    def __str__(self):
        return "\n".join(f"∂/∂{format_name(name)}: {d}" for name, d in self._items.items())

    def __repr__(self):
        return f"<derivatives of {self.f} w.r.t. {', '.join(self._items)}>"

    def latex(self) -> str:
        rows = [rf"\frac{{\partial f}}{{\partial {d.wrt.latex()}}} &= {d.latex()}" for d in self._items.values()]
        return r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"

    def _repr_latex_(self):
        return f"$${self.latex()}$$"

    def compile(self, backend: str = "numpy", with_value: bool = False) -> CompiledDerivatives:
        """One function that computes every derivative (and ``f`` with ``with_value=True``) in
        one pass, sharing their common subexpressions; it returns a dict by variable name (and
        the value first). Order-3 and order-4 derivatives are computed separately."""
        return CompiledDerivatives(self, backend, with_value)

    def to_numpy(self, with_value: bool = False) -> CompiledDerivatives:
        return self.compile("numpy", with_value)

    def to_jax(self, with_value: bool = False) -> CompiledDerivatives:
        return self.compile("jax", with_value)

    def to_torch(self, with_value: bool = False) -> CompiledDerivatives:
        return self.compile("torch", with_value)

    def source(self, backend: str = "numpy", with_value: bool = False) -> str:
        return self.compile(backend, with_value).source

    def check(self, seed=None, trials: int = 3, sizes: dict | None = None) -> CheckReports:
        """The check of each derivative, by name; ``.ok`` when all pass."""
        return CheckReports({name: d.check(seed=seed, trials=trials, sizes=sizes) for name, d in self._items.items()})


class _NoSuchDerivative(UnknownNameError, KeyError):
    """A name ``Derivatives`` has no entry for (also a ``KeyError``, as a mapping's lookup must be)."""

    def __str__(self):   # a KeyError would print its message quoted
        return self.message


class CompiledDerivatives:
    """Several derivatives of one function as one generated function: call it with arrays by
    name; it returns ``{name: derivative}`` (or ``(value, {…})`` with ``with_value``)."""

    def __init__(self, derivatives: Derivatives, backend: str, with_value: bool):
        parts = list(derivatives._items.values())
        self.names = list(derivatives._items)
        self.with_value = with_value
        tensors = [d for d in parts if d.form != "matrix"]
        if tensors:   # their arrays come from differentials: one function each
            self.separate = {name: d.compile(backend) for name, d in derivatives._items.items()}
            self.value = CompiledFunction(derivatives.f, "f", "value", adapter=adapter_for(backend)()) \
                if with_value else None
            self.source = "\n\n".join(fn.source for fn in self.separate.values())
            return
        self.separate = None
        exprs = [d.expr for d in parts]
        outputs = [("like", d.wrt.name) if d.kind == "gradient" and d.layout != "numerator" else "matrix"
                   for d in parts]
        if with_value:
            exprs, outputs = [derivatives.f] + exprs, ["value"] + outputs
        variables = frozenset().union(*(d.variables for d in parts))
        self.joint = CompiledFunction(exprs, "derivatives", outputs, required=variables,
                                      adapter=adapter_for(backend)())
        self.source = self.joint.source
        self.function = self.joint.function
        self.arguments = self.joint.arguments

    def __call__(self, *mappings, **arrays):
        arrays = inputs_by_name(mappings, arrays)
        if self.separate is not None:
            out = {name: fn(**{k: v for k, v in arrays.items() if k in fn.accepts})
                   for name, fn in self.separate.items()}
            if self.with_value:
                return self.value(**{k: v for k, v in arrays.items() if k in self.value.accepts}), out
            return out
        results = self.joint(**arrays)
        if self.with_value:
            return results[0], dict(zip(self.names, results[1:]))
        return dict(zip(self.names, results))


class CheckReports(dict):
    """Checks by variable name."""

    @property
    def ok(self) -> bool:
        return all(report.ok for report in self.values())

    def __str__(self):
        return "\n".join(f"∂/∂{format_name(name)}: {report}" for name, report in self.items())


def adapter_for(backend: str):
    """The adapter class of a code-generation backend: numpy, jax or torch (its ``backend``
    writes the code; an instance, which imports the library, runs it)."""
    if backend == "numpy":
        return NumpyAdapter
    if backend == "jax":
        from .printing.jax import JaxAdapter
        return JaxAdapter
    if backend == "torch":
        from .printing.torch import TorchAdapter
        return TorchAdapter
    if backend == "dask":
        from .printing.dask import DaskAdapter
        return DaskAdapter
    raise MatcalcError(f"unknown backend {backend!r}; use 'numpy', 'jax', 'torch' or 'dask'")


# ---------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------

def make_variables(shapes: dict | None) -> dict:
    """Variables from a ``shapes`` mapping: name -> dims string (``"n"``, ``"n,m"``, ``"1,n"``,
    ``""``, with properties after a colon: ``"n,n:spd"``) or a variable made by
    ``vector``/``matrix``/``scalar``."""
    if shapes is not None and not isinstance(shapes, Mapping):
        raise MatcalcError(f"shapes must map names to dims, e.g. {{'x': 'n'}}; got {type(shapes).__name__}")
    out = {}
    for name, spec in (shapes or {}).items():
        check_name(name)
        if isinstance(spec, E.Expr):
            if spec.op != "var":
                raise MatcalcError(f"shapes[{name!r}] must be a variable, not the expression {spec}")
            if spec.name != name:
                raise MatcalcError(f"shapes[{name!r}] is the variable {spec.name!r}; the names must agree")
            out[name] = spec
        elif isinstance(spec, str):   # "n,m", or with properties: "n,n:spd"
            out[name] = declared(name, spec)
        elif isinstance(spec, (tuple, list)):
            out[name] = E.variable(name, parse_dims(",".join(str(d) for d in spec), f" for {name!r}"))
        else:
            raise MatcalcError(f"shapes[{name!r}]: give a dims string like 'n,m' or a variable")
    return out


def _find_variable(name_or_var, f: E.Expr, variables: dict) -> E.Expr:
    if isinstance(name_or_var, E.Expr):
        if name_or_var.op != "var":
            raise MatcalcError(f"can only differentiate with respect to a variable, not {name_or_var}")
        return name_or_var
    if not isinstance(name_or_var, str):
        raise MatcalcError(f"wrt must be a variable or its name, got {type(name_or_var).__name__}")
    if name_or_var in variables:
        return variables[name_or_var]
    for v in f.free_vars:
        if v.name == name_or_var:
            return v
    known = sorted({v.name for v in f.free_vars} | set(variables))
    raise UnknownNameError(f"unknown variable {name_or_var!r} to differentiate by; "
                           f"the expression has {', '.join(known) or 'no variables'}")


def _plain_twin(v: E.Expr) -> E.Expr:
    """The same variable without symmetry, for the unconstrained derivative."""
    return E.variable(v.name, v.shape, v.data[1] - SYMMETRIC)


def _from_sympy(value) -> bool:
    """Whether ``value`` is a SymPy object (checked without importing SymPy)."""
    return type(value).__module__.startswith("sympy.")


def _resolve(f, wrt, shapes, syntax, definitions=None):
    """``(f, [(variable to differentiate by, variable as declared)], many, inputs, program,
    shapes inferred for undeclared names)``.

    A symmetric variable is differentiated as its plain twin, so that the unconstrained gradient
    is that of the expression as written (a string is built with the twin in place)."""
    if _from_sympy(f) or any(_from_sympy(w) for w in (wrt if isinstance(wrt, (list, tuple)) else [wrt])):
        from .sympy_bridge import from_sympy, sympy_name  # SymPy in: its expression, its symbols' names
        f = from_sympy(f, shapes) if _from_sympy(f) else f
        wrt = [sympy_name(w) or w for w in wrt] if isinstance(wrt, (list, tuple)) else sympy_name(wrt) or wrt
    variables = make_variables(shapes)
    many = isinstance(wrt, (list, tuple))
    wanted = list(wrt) if many else [wrt]
    if not wanted:
        raise MatcalcError("give at least one variable to differentiate by")
    # one name, one variable: the declared ones, those given as wrt, those of an expression
    given = [w for w in wanted if isinstance(w, E.Expr) and w.op == "var"]
    check_distinct([*variables.values(), *given, *(f.free_vars if isinstance(f, E.Expr) else ())])
    if isinstance(f, str):
        for w in wanted:   # a variable given as wrt is declared by that
            if isinstance(w, E.Expr) and w.op == "var":
                variables.setdefault(w.name, w)
        declared = [w if isinstance(w, E.Expr) else variables.get(w) for w in wanted]
        twins = {v.name: _plain_twin(v) for v in declared
                 if v is not None and v.op == "var" and v.data[1] & SYMMETRIC}
        scope = {**variables, **twins}
        program = parse_program(f, scope, syntax, definitions) if definitions or is_program(f) else None
        f_expr = program.function if program else build_expression(f, scope, syntax)
        pairs = []
        for w in wanted:
            if program is not None and isinstance(w, str) and w in program.stage_vars and w != program.output:
                pairs.append((program.stage_vars[w], program.stage_vars[w]))   # ∂f/∂(a stage)
                continue
            original = _find_variable(w, f_expr, variables)
            pairs.append((twins.get(original.name, original), original))
    elif isinstance(f, E.Expr):
        if definitions:
            raise MatcalcError("definitions= needs the function as a string that uses their names")
        f_expr, program = f, None
        pairs = []
        for w in wanted:
            original = _find_variable(w, f_expr, variables)
            if original.data[1] & SYMMETRIC:
                twin = _plain_twin(original)
                f_expr = E.substitute(f_expr, {original: twin})
                pairs.append((twin, original))
            else:
                pairs.append((original, original))
    else:
        raise MatcalcError(f"f must be an expression or a string, got {type(f).__name__}")
    inputs = frozenset(f_expr.free_vars)
    assumed = {v.name: v.shape for v in inputs if v.name not in variables} if isinstance(f, str) else {}
    return f_expr, pairs, many, inputs, program, assumed


@guarded
def derive(f, wrt, shapes: dict | None = None, *, order: int = 1, layout=None,
           syntax: str = "numpy", symmetric_gradient: str = "sym", definitions: dict | None = None):
    """The derivative of ``f`` with respect to ``wrt`` in closed form.

    ``f``: an expression or a string (with ``shapes`` giving each name's dims or variable).
    ``wrt``: a variable or its name, or a list of them (then a ``Derivatives`` mapping).
    ``order``: 1 (gradient or Jacobian) or 2 (Hessian of a scalar). ``layout``: None,
    ``"numerator"`` or ``"denominator"`` (see the module docstring). ``symmetric_gradient``
    (for a symmetric ``wrt``): ``"sym"`` — the gradient within symmetric matrices,
    ``(G + Gᵀ)/2``; ``"cookbook"`` — ``G + Gᵀ − G ⊙ I``; ``"ignore"`` — the unconstrained
    ``G`` of the expression as written. A staged program — lines ``name = expression``, the last
    one the function, or ``definitions={name: expression}`` — is differentiated through, and the
    result written in its names (see ``matcalc.staged``).
    """
    if layout not in LAYOUTS:
        raise MatcalcError(f"layout must be 'numerator' or 'denominator', got {layout!r}")
    if symmetric_gradient not in SYMMETRIC_GRADIENTS:
        raise MatcalcError(f"symmetric_gradient must be one of {', '.join(SYMMETRIC_GRADIENTS)}")
    if order not in (1, 2):
        raise UnsupportedDerivativeError(f"order {order!r}: only first derivatives (order=1) and "
                                         "Hessians (order=2) are supported")
    f_expr, pairs, many, inputs, program, assumed = _resolve(f, wrt, shapes, syntax, definitions)
    results = {}
    for variable, original in pairs:
        stage = program is not None and original.name in program.stage_vars
        f_here = program.function_of(original.name) if stage else f_expr
        result = _derive(f_here, variable, original, order, layout, symmetric_gradient,
                         (frozenset(f_here.free_vars) if stage else inputs - {variable}) | {original})
        if program is not None:
            _in_stage_names(result, program, variable if variable is original and not stage else None, stage)
        result.assumed = assumed
        if isinstance(f, str) and program is None:
            result.source_text = " ".join(f.split())
        results[original.name] = result
    if many:
        return Derivatives(_restore(simplify(f_expr), pairs), results)
    return results[pairs[0][1].name]


@guarded
def hvp(f, wrt, v, shapes: dict | None = None, *, syntax: str = "numpy") -> Derivative:
    """The Hessian-vector product ``H v`` of a scalar ``f`` in closed form, without forming ``H``:
    the differential of the gradient with ``dx`` replaced by ``v``."""
    if _from_sympy(v):   # a MatrixSymbol: the variable it is
        from .sympy_bridge import from_sympy
        v = from_sympy(v, shapes)
    variables = make_variables(shapes)
    f_expr, pairs, _, inputs, _, _ = _resolve(f, wrt, shapes, syntax)
    variable, original = pairs[0]
    direction = _find_variable(v, f_expr, variables) if not isinstance(v, E.Expr) else v
    if direction.op != "var" or direction.shape != original.shape:
        raise MatcalcError(f"the direction must be a variable shaped like {original.name} "
                           f"({shape_text(original.shape)})")
    check_distinct(inputs - {variable} | {original, direction})
    f_expr = simplify(f_expr)
    if f_expr.shape != SCALAR:
        raise UnsupportedDerivativeError("a Hessian-vector product needs a scalar function")
    gradient = _gradient(f_expr, variable)
    d = Differentiator(variable)
    product = simplify(E.substitute(simplify(d(gradient)), {d.dx: direction}))
    product = simplify(factor(simplify(E.substitute(product, {variable: original}))))
    out = Derivative(simplify(E.substitute(f_expr, {variable: original})), original, product, "hvp", None,
                     "matrix", None, (inputs - {variable}) | {original, direction}, product)
    out.direction = direction
    if isinstance(f, str):
        out.source_text = " ".join(f.split())
    return out


def _in_stage_names(result: Derivative, program, variable, through_stage: bool = False):
    """Write ``result`` in the names of the program's stages; for a gradient, also backpropagate
    stage by stage (``result.signals``: stage name -> (δ variable, expression)). A derivative by a
    stage (``through_stage``) is written in the names of the stages as the program has them."""
    result.program = program
    if result.kind == "gradient" and variable is not None and result.layout != "numerator":
        signals, gradient, rules = backpropagate(program, variable, _gradient_and_rules)
        result.signals = signals
        result.stage_gradient = (gradient, rules)
        result.named = textbook(expand_signals(gradient, signals))
    elif through_stage:   # σ(z) -> h makes W₂ h, which is y: renamed until nothing changes
        named = result.expr
        for _ in program.order:
            renamed = program.rename(named, inlined=False)
            if renamed is named:
                break
            named = renamed
        result.named = named
    else:
        result.named = program.rename(result.expr)


def _restore(e: E.Expr, pairs) -> E.Expr:
    mapping = {twin: original for twin, original in pairs if twin is not original}
    return simplify(E.substitute(e, mapping)) if mapping else e


def compute(f: E.Expr, wrt: E.Expr, order: int, override: dict | None = None) -> tuple:
    """``(kind, form, result, differential)`` of the derivative of the simplified ``f``, before
    factoring and layout. ``override`` replaces the differential rule at given nodes."""
    vector_like = wrt.shape[0] == 1 or wrt.shape[1] == 1
    if order == 2:
        if f.shape != SCALAR:
            raise UnsupportedDerivativeError(f"a Hessian needs a scalar function; this one is "
                                             f"{shape_text(f.shape)}")
        kind, target = "hessian", _gradient(f, wrt, override)
    elif f.shape == SCALAR:
        return "gradient", "matrix", _gradient(f, wrt, override), None
    else:
        kind, target = "jacobian", f
    d = Differentiator(wrt, override=override)
    differential = simplify(d(target))
    matrix = vector_like and (target.shape[0] == 1 or target.shape[1] == 1)
    try:
        return kind, "matrix" if matrix else "vec", simplify(jacobian_from_differential(differential, d.dx)), \
            differential
    except UnsupportedDerivativeError:
        if matrix:
            raise
        return kind, "differential", differential, differential


MAX_DEPTH = 1000   # levels of nesting derive accepts (the cost grows with the square of it)


def _derive(f: E.Expr, wrt: E.Expr, original: E.Expr, order, layout, symmetric_gradient, inputs):
    if f.depth > MAX_DEPTH:
        raise UnsupportedDerivativeError(f"the expression is {f.depth} levels deep; matcalc differentiates "
                                         f"expressions up to {MAX_DEPTH} levels deep")
    symmetric = wrt is not original
    written = E.substitute(f, {wrt: original}) if symmetric else f
    f = simplify(f)
    kind, form, result, differential = compute(f, wrt, order)
    if symmetric and kind == "gradient":
        result = _symmetric_policy(result, symmetric_gradient)
    if symmetric:
        mapping = {wrt: original}
        result = simplify(E.substitute(result, mapping))
        differential = simplify(E.substitute(differential, mapping)) if differential is not None else None
        f = simplify(E.substitute(f, mapping))
        wrt = original
    result = textbook(result)
    if differential is not None:
        differential = simplify(factor(differential))
    shown = result
    if form != "differential" and (layout == "numerator" and kind == "gradient"
                                   or layout == "denominator" and kind == "jacobian"):
        shown = factor(simplify(E.transpose(result)))
    policy = symmetric_gradient if symmetric else "ignore"
    out = Derivative(f, wrt, shown, kind, layout, form, differential, frozenset(inputs), result, policy)
    out.written = written
    return out


def textbook(result: E.Expr) -> E.Expr:
    """A result in its textbook form: common factors out, elementwise polynomials at their
    shortest, and the identities the variables' properties give."""
    result = simplify(factor(result))   # factoring can bring the parts of a rule's pattern together
    result = simplify(factor(shortest(result)))   # σ ⊙ (1 − t) − t ⊙ (1 − σ) = σ − t
    with_properties = simplify(result, properties=True)   # sum(t) = 1 for a distribution t, …
    if with_properties is not result:
        result = simplify(factor(with_properties), properties=True)
    return result


def _gradient_and_rules(f: E.Expr, wrt: E.Expr) -> tuple:
    """The gradient, and the names of the rules and identities that produce it."""
    recorder = Recorder(names_only=True)
    d = Differentiator(wrt, recorder=recorder)
    df = simplify(d(simplify(f)), recorder)
    used = [name for name, _, _ in recorder.events]
    gradient = simplify(gradient_from_differential(df, d.dx, used))
    return gradient, used


def _gradient(f: E.Expr, wrt: E.Expr, override: dict | None = None) -> E.Expr:
    d = Differentiator(wrt, override=override)
    df = simplify(d(f))
    return simplify(gradient_from_differential(df, d.dx))


def _symmetric_policy(result: E.Expr, policy: str) -> E.Expr:
    if policy == "ignore":
        return result
    if policy == "sym":
        return E.mul(E.const(Fraction(1, 2)), E.add(result, E.transpose(result)))
    n = result.shape[0]
    return E.add(result, E.transpose(result), E.neg(E.mul(result, E.eye(n))))
