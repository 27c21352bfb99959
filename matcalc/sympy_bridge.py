"""SymPy in, SymPy out: matrix expressions written with SymPy's ``MatrixSymbol`` read as matcalc
expressions, and matcalc's expressions (derivatives included) written back as SymPy matrix
expressions in the same ``MatrixSymbol``s.

In (``from_sympy``): ``MatrixSymbol`` (dimensions ``Symbol('n')`` or integers; a name's
properties from ``shapes``, ``{"S": "n,n:spd"}``), ``Symbol`` (a scalar), numbers, ``+``, ``*``
(the matrix product; a scaling by a scalar), ``.T``, ``HadamardProduct``, ``HadamardPower``,
``Inverse`` and ``MatPow``, ``Trace``, ``Determinant``, ``log(Determinant(X))``, ``Identity``,
``OneMatrix``, ``ZeroMatrix``, ``DiagMatrix``, ``DiagonalOf``, ``applyfunc`` of any elementwise
function (its body is read elementwise: ``x.applyfunc(lambda t: 1/(1 + exp(-t)))`` is σ(x)), and
scalar functions, sums, products and powers of 1×1 expressions (``x.T*A*x`` is a scalar). Anything
else is a ``MatcalcError`` naming the SymPy class.

Out (``to_sympy``): the same constructions, so that ``sympy.lambdify`` of the result runs; a
1×1 factor that scales a matrix is its entry ``[0, 0]``; sums of entries are ``1ᵀ X 1``;
functions SymPy has no name for (σ, softplus, …) are ``applyfunc`` of their formula; what has no
SymPy form (softmax, Kronecker products, a differential) is a ``MatcalcError``. (SymPy's numpy
printer has no form for ``Trace``, ``Determinant``, ``HadamardPower`` and ``applyfunc``:
``lambdify`` of a result with them fails in SymPy; the rest evaluates.)
"""
from __future__ import annotations

from fractions import Fraction

import sympy as sp
from sympy.matrices.expressions.applyfunc import ElementwiseApplyFunction
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct
from sympy.matrices.expressions.matexpr import MatrixElement

from . import expr as E
from .api import declared
from .composites import matrix_power
from .errors import MatcalcError
from .printing.sympy import SCALAR_FUNCTIONS
from .shapes import SCALAR

# SymPy's own functions that are matcalc's elementwise ones (exp, log, Abs, erf, …)
_FROM_FUNCTIONS = {function: name for name, function in SCALAR_FUNCTIONS.items()
                   if isinstance(function, sp.FunctionClass)}


# -- in ------------------------------------------------------------------------------------------
def from_sympy(expr, shapes: dict | None = None) -> E.Expr:
    """The matcalc expression of a SymPy (matrix) expression; ``shapes`` gives properties by
    name (``{"S": "n,n:spd"}``; the dims must be those of the ``MatrixSymbol``)."""
    return _Reader(shapes or {}).read(sp.sympify(expr))


def sympy_name(wrt) -> str | None:
    """The variable name of a ``MatrixSymbol`` or ``Symbol`` given as ``wrt``."""
    if isinstance(wrt, (sp.MatrixSymbol, sp.Symbol)):
        return str(wrt.name)
    return None


class _Reader:
    def __init__(self, shapes: dict):
        self.shapes = shapes

    def read(self, e) -> E.Expr:
        method = getattr(self, "read_" + type(e).__name__, None)
        if method is not None:
            return method(e)
        if isinstance(e, sp.Number):
            return E.const(_number(e))
        if isinstance(e, sp.Symbol):
            return self.variable(e.name, (1, 1))
        if isinstance(e, sp.Function) and type(e) in _FROM_FUNCTIONS:
            return E.function(_FROM_FUNCTIONS[type(e)], self.read(e.args[0]))
        raise MatcalcError(f"matcalc does not read the SymPy {type(e).__name__} ({e})")

    def variable(self, name: str, shape: tuple) -> E.Expr:
        spec = self.shapes.get(name)
        if spec is None:
            return E.variable(name, shape)
        v = spec if isinstance(spec, E.Expr) else declared(name, spec)
        if v.shape != shape:
            raise MatcalcError(f"shapes[{name!r}] is {v.shape}, but the SymPy symbol is {shape}")
        return v

    def read_MatrixSymbol(self, e):
        return self.variable(str(e.name), tuple(_dim(d) for d in e.shape))

    def read_Transpose(self, e):
        return E.transpose(self.read(e.arg))

    def read_MatAdd(self, e):
        return E.add(*[self.read(a) for a in e.args])

    read_Add = read_MatAdd

    def read_MatMul(self, e):
        args = list(e.args)
        ones_left = len(args) > 1 and isinstance(args[0], sp.OneMatrix) and args[0].rows == 1
        ones_right = len(args) > 1 and isinstance(args[-1], sp.OneMatrix) and args[-1].cols == 1
        inner = args[int(ones_left):len(args) - int(ones_right)]
        if (ones_left or ones_right) and inner and all(isinstance(a, sp.MatrixExpr) for a in inner):
            middle = self.read_MatMul(sp.MatMul(*inner)) if len(inner) > 1 else self.read(inner[0])
            if ones_left and ones_right or ones_left and middle.shape[1] == 1 or ones_right and middle.shape[0] == 1:
                return E.sum_all(middle)   # 𝟏ᵀ M 𝟏, 𝟏ᵀ v, vᵀ 𝟏: the sum of the entries
        factors = [self.read(a) for a in args]
        scalars = [f for f in factors if f.shape == SCALAR]
        matrices = [f for f in factors if f.shape != SCALAR]
        product = E.matmul(*matrices) if len(matrices) > 1 else matrices[0] if matrices else E.const(1)
        return E.mul(*scalars, product) if scalars else product

    def read_Mul(self, e):
        return E.mul(*[self.read(a) for a in e.args])

    def read_Pow(self, e):
        return E.power(self.read(e.base), self.read(e.exp))

    def read_HadamardProduct(self, e):
        return E.mul(*[self.read(a) for a in e.args])

    def read_HadamardPower(self, e):
        return E.power(self.read(e.base), self.read(e.exp))

    def read_Inverse(self, e):
        return E.inv(self.read(e.arg))

    def read_MatPow(self, e):
        base, exponent = self.read(e.base), e.exp
        if exponent == -1:
            return E.inv(base)
        if not exponent.is_Integer:
            raise MatcalcError(f"a matrix power needs an integer exponent, got {exponent}")
        return matrix_power(base, int(exponent))

    def read_Trace(self, e):
        return E.trace(self.read(e.arg))

    def read_Determinant(self, e):
        return E.det(self.read(e.arg))

    def read_log(self, e):
        if isinstance(e.args[0], sp.Determinant):   # log det X: matcalc's logdet
            return E.logdet(self.read(e.args[0].arg))
        return E.function("log", self.read(e.args[0]))

    def read_Identity(self, e):
        return E.eye(_dim(e.rows))

    def read_OneMatrix(self, e):
        return E.ones((_dim(e.rows), _dim(e.cols)))

    def read_ZeroMatrix(self, e):
        return E.zero((_dim(e.rows), _dim(e.cols)))

    def read_DiagMatrix(self, e):
        return E.diag(self.read(e.args[0]))

    def read_DiagonalOf(self, e):
        return E.diag(self.read(e.args[0]))

    def read_MatrixElement(self, e):
        inner = self.read(e.parent)
        if inner.shape == SCALAR and e.i == 0 and e.j == 0:   # (x.T*A*x)[0, 0]: the scalar itself
            return inner
        raise MatcalcError(f"matcalc does not read entries of a matrix ({e}); write the matrix expression")

    def read_ElementwiseApplyFunction(self, e):
        argument = self.read(e.expr)
        function = e.function
        if isinstance(function, sp.Lambda) and len(function.variables) == 1:
            t = function.variables[0]
            for name, formula in SCALAR_FUNCTIONS.items():   # matcalc's own functions by their formulas (σ)
                if formula(t) == function.expr:
                    return E.function(name, argument)
            return self.elementwise(function.expr, t, argument)
        if function in _FROM_FUNCTIONS:
            return E.function(_FROM_FUNCTIONS[function], argument)
        raise MatcalcError(f"matcalc does not read the elementwise function {function}")

    def elementwise(self, body, variable, argument: E.Expr) -> E.Expr:
        """``body`` (a scalar formula in ``variable``) applied to each entry of ``argument``."""
        if body == variable:
            return argument
        if isinstance(body, sp.Number):
            return E.const(_number(body))
        if isinstance(body, sp.Symbol):
            return self.variable(body.name, (1, 1))
        parts = [self.elementwise(a, variable, argument) for a in body.args]
        if isinstance(body, sp.Add):
            return E.add(*parts)
        if isinstance(body, sp.Mul):
            return E.mul(*parts)
        if isinstance(body, sp.Pow):
            return E.power(*parts)
        if isinstance(body, sp.Function) and type(body) in _FROM_FUNCTIONS:
            return E.function(_FROM_FUNCTIONS[type(body)], parts[0])
        raise MatcalcError(f"matcalc does not read {type(body).__name__} inside an elementwise function ({body})")


def _dim(d):
    if isinstance(d, (int, sp.Integer)):
        return int(d)
    if isinstance(d, sp.Symbol):
        return str(d.name)
    raise MatcalcError(f"a dimension must be an integer or a symbol, got {d}")


def _number(n) -> Fraction | float:
    if isinstance(n, (sp.Integer, sp.Rational)):
        return Fraction(int(n.p), int(n.q))
    return float(n)


# -- out -----------------------------------------------------------------------------------------
def to_sympy(e: E.Expr):
    """``e`` as a SymPy matrix expression in ``MatrixSymbol``s named like its variables (scalars
    as ``Symbol``s), dimensions as ``Symbol``s (integers as themselves) — the symbols a SymPy user
    writes, so that the result combines with their expressions."""
    return _Writer().write(e)


class _Writer:
    def __init__(self):
        self.memo: dict = {}

    def write(self, e: E.Expr):
        if e in self.memo:
            return self.memo[e]
        method = getattr(self, "write_" + e.op, None)
        if method is None:
            raise MatcalcError(f"{e.op} has no SymPy form (in {e})")
        out = self.memo[e] = method(e)
        return out

    def scalar(self, e: E.Expr):
        """A 1×1 value as a SymPy scalar: the entry ``[0, 0]`` of a 1×1 matrix expression, kept as
        that (not expanded into a sum over indices)."""
        out = self.write(e)
        return MatrixElement(out, 0, 0) if isinstance(out, sp.MatrixExpr) else out

    def write_var(self, e):
        name = e.name
        if e.shape == SCALAR:
            return sp.Symbol(name)
        return sp.MatrixSymbol(name, *(_sympy_dim(d) for d in e.shape))

    def write_const(self, e):
        value = e.data
        return sp.Rational(value.numerator, value.denominator) if isinstance(value, Fraction) else sp.Float(value)

    def write_eye(self, e):
        return sp.Identity(_sympy_dim(e.shape[0]))

    def write_ones(self, e):
        return sp.OneMatrix(*(_sympy_dim(d) for d in e.shape))

    def write_zero(self, e):
        return sp.ZeroMatrix(*(_sympy_dim(d) for d in e.shape))

    def write_T(self, e):
        return self.write(e.args[0]).T

    def write_add(self, e):
        if e.shape == SCALAR:
            return sp.Add(*[self.scalar(a) for a in e.args])
        rows, cols = (_sympy_dim(d) for d in e.shape)
        terms = [self.scalar(a) * sp.OneMatrix(rows, cols) if a.shape == SCALAR else self.broadcast(a, e.shape)
                 for a in e.args]   # a scalar, a row or a column broadcast over the sum's shape
        return sp.MatAdd(*terms)

    def write_matmul(self, e):
        out = sp.MatMul(*[self.write(a) for a in e.args])
        return out

    def write_mul(self, e):
        arrays = [a for a in e.args if a.shape != SCALAR]
        if not arrays:
            return sp.Mul(*[self.scalar(a) for a in e.args])
        written = [self.write(a) for a in e.args if a.shape == SCALAR]
        numbers = [s for s in written if not isinstance(s, sp.MatrixExpr)]
        one_by_one = [s for s in written if isinstance(s, sp.MatrixExpr)]   # xᵀ a scaling a vector
        broadcast = [self.broadcast(a, e.shape) for a in arrays]
        product = broadcast[0] if len(broadcast) == 1 else HadamardProduct(*broadcast)
        if one_by_one and e.shape[1] == 1:     # a column times 1×1 matrices: a matrix product
            product = sp.MatMul(product, *one_by_one)
        elif one_by_one and e.shape[0] == 1:   # 1×1 matrices times a row
            product = sp.MatMul(*one_by_one, product)
        else:
            numbers += [MatrixElement(s, 0, 0) for s in one_by_one]
        return sp.Mul(*numbers) * product if numbers else product

    def broadcast(self, a: E.Expr, shape):
        """``a`` (a row or a column) as the matrix it broadcasts to in an elementwise product."""
        out = self.write(a)
        if a.shape == shape:
            return out
        rows, cols = (_sympy_dim(d) for d in shape)
        if a.shape[1] == 1:    # a column across the columns: c 1ᵀ
            return out * sp.OneMatrix(1, cols)
        if a.shape[0] == 1:    # a row across the rows: 1 r
            return sp.OneMatrix(rows, 1) * out
        raise MatcalcError(f"no SymPy form for broadcasting {a.shape} to {shape}")

    def write_pow(self, e):
        base, exponent = e.args
        p = self.scalar(exponent)
        if base.shape == SCALAR:
            return self.scalar(base) ** p
        return HadamardPower(self.write(base), p)

    def write_inv(self, e):
        if e.shape == SCALAR:
            return 1 / self.scalar(e.args[0])
        return sp.Inverse(self.write(e.args[0]))

    def write_det(self, e):
        return sp.Determinant(self.write(e.args[0]))

    def write_logdet(self, e):
        return sp.log(sp.Determinant(self.write(e.args[0])))

    def write_trace(self, e):
        return sp.Trace(self.write(e.args[0]))

    def write_sum(self, e):
        inner = e.args[0]
        rows, cols = (_sympy_dim(d) for d in inner.shape)
        return sp.MatMul(sp.OneMatrix(1, rows), self.write(inner), sp.OneMatrix(cols, 1))

    def write_diag(self, e):
        return DiagMatrix(self.write(e.args[0]))

    def write_diagvec(self, e):
        return DiagonalOf(self.write(e.args[0]))

    def write_fn(self, e):
        name = e.data
        argument = e.args[0]
        if argument.shape == SCALAR:
            return self._scalar_function(name)(self.scalar(argument))
        t = sp.Dummy("t", real=True)
        return ElementwiseApplyFunction(sp.Lambda(t, self._scalar_function(name)(t)), self.write(argument))

    @staticmethod
    def _scalar_function(name: str):
        if name not in SCALAR_FUNCTIONS:
            raise MatcalcError(f"the function {name} has no SymPy form")
        return SCALAR_FUNCTIONS[name]


def _sympy_dim(d):
    if isinstance(d, int):
        return sp.Integer(d)
    if isinstance(d, str):
        return sp.Symbol(d)
    raise MatcalcError(f"the dimension {d} has no SymPy form")
