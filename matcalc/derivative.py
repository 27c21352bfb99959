"""``derive``: from an expression and a variable to a checked, closed-form derivative.

Conventions (the README states them too):

- gradient of a scalar ``f`` w.r.t. ``X``: the shape of ``X`` (denominator layout);
- Jacobian of ``y ∈ Rᵐ`` w.r.t. ``x ∈ Rⁿ``: ``m×n``, ``J[i, j] = ∂yᵢ/∂xⱼ`` (numerator layout);
- Hessian of a scalar ``f`` w.r.t. ``x ∈ Rⁿ``: ``n×n``;
- ``layout="numerator"`` writes gradients as rows (the transpose); ``layout="denominator"``
  writes Jacobians ``n×m``. The default, ``layout=None``, is the mixed convention above.
"""
from __future__ import annotations

from fractions import Fraction

from . import expr as E
from .check import check_derivative
from .diff import Differentiator, gradient_from_differential, jacobian_from_differential
from .errors import MatcalcError, UnknownNameError, UnsupportedDerivativeError
from .factor import factor
from .parse import build_expression
from .printing.numpy import NumpyFunction
from .rewrite import simplify
from .shapes import SCALAR, parse_dims, shape_text

LAYOUTS = (None, "numerator", "denominator")
SYMMETRIC_GRADIENTS = ("sym", "cookbook", "ignore")


class Derivative:
    """A derivative in closed form.

    ``expr`` is the result as an expression; ``str()`` and ``latex()`` print it; ``to_numpy()``
    evaluates it; ``check()`` compares it with finite differences of ``f``. ``kind`` is
    ``"gradient"``, ``"jacobian"`` or ``"hessian"``.
    """

    def __init__(self, f: E.Expr, wrt: E.Expr, expr: E.Expr, kind: str, order: int,
                 layout, canonical: E.Expr, variables: frozenset):
        self.f = f
        self.variables = variables    # the inputs: the variables of f as given, and wrt
        self.wrt = wrt
        self.expr = expr
        self.kind = kind
        self.order = order
        self.layout = layout
        self._canonical = canonical   # the result in the default layout, for checks

    def __str__(self):
        return str(self.expr)

    def __repr__(self):
        return f"<{self.kind} of {self.f} w.r.t. {self.wrt.name}: {self.expr}>"

    def latex(self) -> str:
        return self.expr.latex()

    def _repr_latex_(self):
        return f"${self.latex()}$"

    @property
    def shape(self):
        return self.expr.shape

    def to_numpy(self) -> NumpyFunction:
        """A numpy function of the variables of ``f`` (by name) that evaluates the derivative.
        Gradients come back shaped like the variable as passed (``(n,)`` or ``(n, 1)``)."""
        variables = self.variables
        output = ("like", self.wrt.name) if self.kind == "gradient" and self.layout != "numerator" \
            else "matrix"
        return NumpyFunction(self.expr, self.kind, output, required=variables)

    def source(self) -> str:
        """The generated numpy code."""
        return self.to_numpy().source

    def check(self, seed=None, trials: int = 3, tolerance: float = 1e-6):
        """Finite-difference check on random inputs; see ``matcalc.check``."""
        return check_derivative(self.f, self.wrt, self._canonical, self.kind, self.variables,
                                seed=seed, trials=trials, tolerance=tolerance)


def make_variables(shapes: dict | None) -> dict:
    """Variables from a ``shapes`` mapping: name -> dims string (``"n"``, ``"n,m"``, ``"1,n"``,
    ``""``) or a variable made by ``vector``/``matrix``/``scalar``."""
    out = {}
    for name, spec in (shapes or {}).items():
        if not isinstance(name, str) or not name.isidentifier():
            raise MatcalcError(f"bad variable name {name!r}")
        if isinstance(spec, E.Expr):
            if spec.op != "var":
                raise MatcalcError(f"shapes[{name!r}] must be a variable, not the expression {spec}")
            if spec.name != name:
                raise MatcalcError(f"shapes[{name!r}] is the variable {spec.name!r}; the names must agree")
            out[name] = spec
        elif isinstance(spec, str):
            out[name] = E.variable(name, parse_dims(spec, f" for {name!r}"))
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
    return E.variable(v.name, v.shape, v.data[1] - {"symmetric", "spd"})


def derive(f, wrt, shapes: dict | None = None, *, order: int = 1, layout=None,
           syntax: str = "numpy", symmetric_gradient: str = "sym") -> Derivative:
    """The derivative of ``f`` with respect to ``wrt`` in closed form.

    ``f``: an expression or a string (with ``shapes`` giving each name's dims or variable).
    ``wrt``: a variable or its name. ``order``: 1 (gradient or Jacobian) or 2 (Hessian of a
    scalar w.r.t. a vector). ``layout``: None, ``"numerator"`` or ``"denominator"`` (see the
    module docstring). ``symmetric_gradient`` (for a symmetric ``wrt``): ``"sym"`` — the
    gradient within symmetric matrices, ``(G + Gᵀ)/2``; ``"cookbook"`` — ``G + Gᵀ − G ⊙ I``;
    ``"ignore"`` — the unconstrained ``G`` of the expression as written.
    """
    if layout not in LAYOUTS:
        raise MatcalcError(f"layout must be 'numerator' or 'denominator', got {layout!r}")
    if symmetric_gradient not in SYMMETRIC_GRADIENTS:
        raise MatcalcError(f"symmetric_gradient must be one of {', '.join(SYMMETRIC_GRADIENTS)}")
    if order not in (1, 2):
        raise UnsupportedDerivativeError(f"order {order!r}: only first derivatives (order=1) and "
                                         "Hessians (order=2) are supported")
    variables = make_variables(shapes)
    if isinstance(f, str):
        target = _find_variable(wrt, E.const(0), variables) if not isinstance(wrt, E.Expr) else wrt
        symmetric = target.op == "var" and bool(target.data[1] & {"symmetric", "spd"})
        if symmetric and target.name in variables:
            variables = dict(variables)
            variables[target.name] = _plain_twin(target)
        f_expr = build_expression(f, variables, syntax)
        wrt_var = _find_variable(target.name if symmetric else wrt, f_expr, variables)
        original = target if symmetric else wrt_var
    elif isinstance(f, E.Expr):
        f_expr = f
        wrt_var = _find_variable(wrt, f_expr, variables)
        original = wrt_var
    else:
        raise MatcalcError(f"f must be an expression or a string, got {type(f).__name__}")
    return _derive(f_expr, wrt_var, original, order, layout, symmetric_gradient)


def _derive(f: E.Expr, wrt: E.Expr, original: E.Expr, order, layout, symmetric_gradient) -> Derivative:
    symmetric = bool(original.data[1] & {"symmetric", "spd"})
    inputs = (f.free_vars - {wrt}) | {original}
    if symmetric and wrt is original:
        twin = _plain_twin(original)
        f = E.substitute(f, {original: twin})
        wrt = twin
    f = simplify(f)
    vector_like = wrt.shape[1] == 1 or wrt.shape[0] == 1
    if order == 2:
        if f.shape != SCALAR:
            raise UnsupportedDerivativeError(f"a Hessian needs a scalar function; this one is "
                                             f"{shape_text(f.shape)}")
        if not vector_like:
            raise UnsupportedDerivativeError(
                f"the Hessian w.r.t. the {shape_text(wrt.shape)} matrix {wrt.name} is a 4th-order "
                "object; only Hessians w.r.t. vectors are supported yet")
        gradient = _gradient(f, wrt)
        result = _jacobian(gradient, wrt)
        kind = "hessian"
    elif f.shape == SCALAR:
        result = _gradient(f, wrt)
        kind = "gradient"
    elif f.shape[1] == 1 or f.shape[0] == 1:
        if not vector_like:
            raise UnsupportedDerivativeError(
                f"the Jacobian of a {shape_text(f.shape)} vector w.r.t. the {shape_text(wrt.shape)} "
                f"matrix {wrt.name} is a 3rd-order object; this is not supported yet")
        result = _jacobian(f, wrt)
        kind = "jacobian"
    else:
        raise UnsupportedDerivativeError(
            f"the derivative of a {shape_text(f.shape)} matrix-valued function is a higher-order "
            "object; matrix-valued functions are not supported yet")
    if symmetric:
        result = _symmetric_policy(result, kind, symmetric_gradient)
        result = simplify(E.substitute(result, {wrt: original}))
        f = simplify(E.substitute(f, {wrt: original}))
        wrt = original
    result = factor(result)
    shown = result
    if layout == "numerator" and kind == "gradient":
        shown = factor(simplify(E.transpose(result)))
    if layout == "denominator" and kind == "jacobian":
        shown = factor(simplify(E.transpose(result)))
    return Derivative(f, wrt, shown, kind, order, layout, result, frozenset(inputs))


def _gradient(f: E.Expr, wrt: E.Expr) -> E.Expr:
    d = Differentiator(wrt)
    df = simplify(d(f))
    return simplify(gradient_from_differential(df, d.dx))


def _jacobian(y: E.Expr, wrt: E.Expr) -> E.Expr:
    d = Differentiator(wrt)
    dy = simplify(d(y))
    return simplify(jacobian_from_differential(dy, d.dx))


def _symmetric_policy(result: E.Expr, kind: str, policy: str) -> E.Expr:
    if kind != "gradient" or policy == "ignore":
        return result
    if policy == "sym":
        return E.mul(E.const(Fraction(1, 2)), E.add(result, E.transpose(result)))
    n = result.shape[0]
    return E.add(result, E.transpose(result), E.neg(E.mul(result, E.eye(n))))
