"""numpy: the default backend, and compiled functions that take arrays by variable name.

``CompiledFunction`` compiles the source that ``printing.code`` writes for a backend and wraps
it: it takes arrays by variable name, checks their shapes, accepts vectors as ``(n,)`` or
``(n, 1)``, and shapes the results (see ``output``). ``NumpyFunction`` is the numpy one; the jax
and torch ones (``printing.jax``, ``printing.torch``) differ only in their adapters.
"""
from __future__ import annotations

import keyword
import math
import unicodedata
from collections.abc import Mapping

import numpy as np

from .. import expr as E
from ..api import check_distinct
from ..errors import MatcalcError, ShapeError
from ..limits import guarded
from ..shapes import SCALAR, resolve_dim, shape_text
from .code import CodeWriter, TensorWriter, array_backend, compile_source, source

# np.linalg.multi_dot orders its factors by a cubic-time dynamic program in Python (14 ms for 50
# factors at any size, 0.1 ms for 8): a longer chain is split into runs of 8
NUMPY = array_backend("numpy", "np", "import numpy as np", eager=True, multi_dot_limit=8)


try:   # numpy's error state as a context variable (numpy ≥ 2), and its "ignore everything" value
    from numpy._core._ufunc_config import _extobj_contextvar as _ERRSTATE
    from numpy._core._ufunc_config import _make_extobj
    _QUIET = _make_extobj(all="ignore")
except (ImportError, TypeError):   # pragma: no cover - older numpy: np.errstate
    _ERRSTATE = _QUIET = None


class NumpyAdapter:
    """How a compiled function turns inputs into, and results out of, the backend's arrays.
    ``failures``: what the library raises where numpy's linear algebra has no answer."""
    backend = NUMPY
    failures = (np.linalg.LinAlgError,)

    def coerce(self, name: str, value, shape, sizes: dict):
        """An input as the generated code takes it (see ``coerce_input``)."""
        return coerce_input(name, value, shape, sizes)

    def unify(self, arrays: list) -> list:
        """The inputs in one dtype (numpy: float64 already)."""
        return arrays

    def result(self, value, full, keep=None, fresh=False, like=None):
        """``value`` as an array of shape ``full`` (then ``keep``). An array the generated code made
        (``fresh``: not an input passed through, not returned twice) is handed over as it is; anything
        else is copied, since the caller may write to it. (``like``: an input, whose dtype and
        device new arrays take in the other libraries.)"""
        a = np.asarray(value, dtype=float)
        fresh = fresh and a is value and a.flags.owndata and a.shape == full
        if a.shape != full:
            a = np.broadcast_to(a, full)
        if keep is not None:
            a = a.reshape(keep)
        return a if fresh else a.copy()

    def scalar(self, value, like=None):
        return float(np.asarray(value).reshape(-1)[0])

    def zeros(self, shape, like=None):
        return np.zeros(shape)

    def run(self, function, args: list):
        """``function(*args)`` with numpy's floating-point warnings off (nan and inf are results,
        as in numpy); the error state is set directly where numpy allows it (numpy ≥ 2: a context
        variable, thread-safe), which costs a tenth of ``np.errstate``."""
        if _QUIET is None:
            with np.errstate(all="ignore"):
                return function(*args)
        token = _ERRSTATE.set(_QUIET)
        try:
            return function(*args)
        finally:
            _ERRSTATE.reset(token)


# dtypes that are not real numbers, and what they hold (numpy's dtype kinds)
_NOT_REAL = {"b": "booleans", "c": "complex numbers", "U": "strings", "S": "bytes", "O": "Python objects",
             "M": "dates", "m": "time spans", "V": "records"}
_MASKED = np.ma.MaskedArray
_FLOAT64 = np.dtype(np.float64)


def coerce_input(name: str, value, shape, sizes: dict):
    """An input as a 2-D float64 array (a float64 scalar for scalars), its dims checked and
    recorded. Integers become floats; booleans, complex numbers, strings, objects and masked
    entries are refused (converting them would drop an imaginary part or a mask silently)."""
    if isinstance(value, _MASKED) and np.ma.is_masked(value):
        raise ShapeError(f"{name}: a masked array with masked entries; fill them (x.filled(value)) first")
    try:
        a = np.asarray(value)
    except (TypeError, ValueError, RuntimeError):
        raise ShapeError(f"{name}: expected numbers, got {type(value).__name__}") from None
    if a.dtype is not _FLOAT64:
        a = real_floats(name, a).astype(np.float64)
    target = fitted_shape(name, a.shape, shape, sizes)
    return a.reshape(-1)[0] if target == () else a.reshape(target)


def real_floats(name: str, a):
    """An array (numpy's, or jax's or dask's own) as real floats: a float dtype kept, integers as
    float64; booleans, complex numbers, strings and objects refused (converting them would drop
    an imaginary part silently)."""
    kind = a.dtype.kind
    if kind in "iu":
        return a.astype(np.float64)
    if kind != "f":
        raise ShapeError(f"{name}: expected real numbers, got {_NOT_REAL.get(kind, 'non-numbers')} (dtype {a.dtype})")
    return a


def inputs_by_name(mappings: tuple, arrays: dict) -> dict:
    """Keyword inputs merged with positional mappings of names to inputs; a name given twice, or
    a positional input that is not a mapping, is an error."""
    if not mappings:
        return arrays
    merged: dict = {}
    for mapping in (*mappings, arrays):
        if not isinstance(mapping, Mapping):
            raise MatcalcError(f"inputs are given by name (fn(x=…, A=…)) or as mappings of names to arrays; "
                               f"got a positional {type(mapping).__name__}")
        for name, value in mapping.items():
            if name in merged:
                raise MatcalcError(f"the input {name!r} is given twice")
            merged[name] = value
    return merged


def fitted_shape(name: str, given: tuple, shape, sizes: dict) -> tuple:
    """The shape an input of shape ``given`` takes for a variable of ``shape``: ``()`` for a scalar
    (one entry), 2-D for the rest (a 1-D vector as a column or a row); its dims are checked against
    the declared ones and recorded in ``sizes``."""
    given = tuple(int(d) for d in given)
    if shape == SCALAR:
        if math.prod(given) != 1:
            raise ShapeError(f"{name} is a scalar but got an array of shape {given}")
        return ()
    rows, cols = shape
    if len(given) == 1 and (rows == 1 or cols == 1):
        given = (given[0], 1) if cols == 1 else (1, given[0])
    if len(given) != 2:
        raise ShapeError(f"{name} should be {shape_text(shape)}, got an array of shape {given}")
    for declared, actual in zip(shape, given):
        if isinstance(declared, int):
            if declared != actual:
                raise ShapeError(f"{name} should be {shape_text(shape)}, got {given[0]}×{given[1]}")
        elif isinstance(declared, str):
            seen = sizes.setdefault(declared, actual)
            if seen != actual:
                raise ShapeError(f"{name}: dimension {declared} is {actual} here but {seen} in an "
                                 f"earlier input")
    return given


def size_input(name: str, value) -> int:
    """A size given by keyword (a dimension no input has): a positive integer."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ShapeError(f"the size {name} must be a positive integer, got {value!r}")
    return int(value)


def _refuse_size_clash(free_dims, variables):
    """A variable named like a size that is passed by keyword would share its keyword."""
    clash = sorted(set(free_dims) & {v.name for v in variables})
    if clash:
        name = clash[0]
        raise MatcalcError(f"{name!r} names both a variable and the size {name} (a dimension no input has, "
                           f"so it is passed as {name}=...); rename one of them")


class CompiledFunction:
    """A compiled expression (or several, computed together): call it with arrays by name.

    ``output`` (one for all results, or a list with one per result): ``"value"`` returns scalars
    as floats (0-d arrays for jax and torch) and other
    results as 2-D arrays (vectors as ``(n,)`` when every vector input was given 1-D);
    ``"matrix"`` always a 2-D array; ``("like", name)`` an array shaped like the input ``name``
    was passed (gradients); ``"tensor"`` the full array of a differential (``differential_of``).
    ``function`` is the generated function itself (positional 2-D arrays, and float64 scalars,
    in ``params`` order: the inputs named ``arguments``), and ``source`` its code. Parameter
    names are the variables' own unless one would clash with a name the code uses.
    """

    def __init__(self, exprs, name="f", output="value", required=(), accepted=(), differential_of=None,
                 adapter=None):
        self.adapter = adapter or NumpyAdapter()
        self.single = isinstance(exprs, E.Expr)
        self.exprs = [exprs] if self.single else list(exprs)
        if differential_of is not None:   # ("tensor" output) the array of a differential
            self.dx, self.wrt = differential_of
        self.variables, writer = _writer(self.exprs, self.adapter.backend, required, differential_of)
        used = set(self.variables)
        self.optional = [v for v in accepted if v not in used]
        check_distinct(self.variables + self.optional)
        self.source, self.params, self.free_dims = source(exprs, self.adapter.backend, name, writer=writer)
        _refuse_size_clash(self.free_dims, self.variables + self.optional)
        self.function = compile_source(self.source, name)
        # the keyword each parameter of ``function`` is given by, in order
        self.arguments = [v.name for v in self.variables] + list(self.free_dims)
        self._inputs = [(v.name, v.shape) for v in self.variables]
        self._required = frozenset([v.name for v in self.variables] + list(self.free_dims))
        self._accepts = self._required | {v.name for v in self.optional}
        outputs = output if isinstance(output, list) else [output] * len(self.exprs)
        self._outputs = list(zip(self.exprs, outputs))
        # the vector inputs: when all of them come 1-D, so do vector results ("value" output)
        self._vector_inputs = [v.name for v in self.variables if v.shape != SCALAR and 1 in v.shape]
        self._fast = None   # the last checked inputs' signature (numpy: see ``_FastPath``)
        if type(self.adapter) is NumpyAdapter and self.single and not self.free_dims and not self.optional \
                and self._inputs:
            by_name = _by_name_class(tuple(name for name, _ in self._inputs))
            if by_name is not None:
                self.__class__ = by_name

    @property
    def accepts(self) -> set:
        """The keyword arguments this function takes: variable names and free sizes."""
        return set(self._accepts)

    def __call__(self, *mappings, **arrays):
        """The result at the inputs given by name: keywords, or mappings of names to arrays (a
        pytree of parameters, ``fn(params, x=x)``). A call whose inputs are float64 arrays of the
        same shapes as the last call's takes a fast path: those checks, then the function."""
        return self.call_checked(*mappings, **arrays)

    def call_checked(self, *mappings, **arrays):
        """``__call__``, in full (the fast path where it applies, else every check)."""
        fast = self._fast
        if fast is not None and not mappings:
            args = fast.match(arrays)
            if args is not None:
                return fast.call(self, args)
        arrays = inputs_by_name(mappings, arrays)
        given = arrays.keys()
        if not self._required <= given or not given <= self._accepts:
            missing = [name for name, _ in self._inputs if name not in arrays]
            missing += [f"{d} (a size)" for d in self.free_dims if d not in arrays]
            if missing:
                raise MatcalcError(f"missing input(s): {', '.join(missing)}")
            raise MatcalcError(f"unknown input(s): {', '.join(sorted(given - self._accepts))}; expected "
                               f"{', '.join(sorted(self._accepts))}")
        sizes: dict = {}
        coerce = self.adapter.coerce
        args = self.adapter.unify([coerce(name, arrays[name], shape, sizes) for name, shape in self._inputs])
        for v in self.optional:
            if v.name in arrays:
                coerce(v.name, arrays[v.name], v.shape, sizes)
        for d in self.free_dims:
            size = size_input(d, arrays[d])
            if sizes.setdefault(d, size) != size:
                raise ShapeError(f"the size {d}={size} disagrees with the inputs ({d}={sizes[d]})")
            args.append(size)
        plan = self._plan(arrays, sizes)
        result = self._execute(args, plan)
        if type(self.adapter) is NumpyAdapter and not self.free_dims and given == self._required and all(
                type(arrays[name]) is np.ndarray and arrays[name].dtype is _FLOAT64 for name, _ in self._inputs):
            self._fast = _FastPath(frozenset(given), [(name, arrays[name].shape, np.shape(a))
                                                      for (name, _), a in zip(self._inputs, args)], plan)
        return result

    def _execute(self, args: list, plan: list):
        """Run the generated function and shape its results as ``plan`` says."""
        adapter = self.adapter
        try:
            results = adapter.run(self.function, args)
        except adapter.failures as err:
            raise MatcalcError(f"cannot evaluate at these inputs: {err} (a matrix that inv or solve needs "
                               "is singular, or one declared spd is not positive definite)") from None
        return self._shaped(results, args, plan)

    def _shaped(self, results, args: list, plan: list):
        """The results of the generated function shaped as ``plan`` says, never sharing memory
        with an input or with each other."""
        adapter = self.adapter
        seen = {id(a) for a in args}   # an input, or a result already returned, is not handed over as is
        like = args[0] if self._inputs else None   # what new arrays are like (dtype, device)
        shaped = []
        for r, (kind, full, keep) in zip((results,) if self.single else results, plan):
            if kind == "scalar":
                shaped.append(adapter.scalar(r, like))
            elif kind == "tensor" and len(getattr(r, "shape", ())) < 4:   # a differential free of dX: zero
                shaped.append(adapter.zeros(keep, like))
            else:
                shaped.append(adapter.result(r, full, keep, id(r) not in seen, like))
            seen.add(id(r))
        return shaped[0] if self.single else tuple(shaped)

    def _plan(self, arrays: dict, sizes: dict) -> list:
        """``(kind, full shape, kept shape)`` of each result: ``"scalar"``, ``"tensor"`` (out axes
        then variable axes, without the unit axes of vectors) or ``"array"`` (1-D where the
        inputs it is shaped like came 1-D)."""
        plan = []
        for e, output in self._outputs:
            full = tuple(resolve_dim(d, sizes) for d in e.shape)
            if output == "tensor":
                full = full + tuple(resolve_dim(d, sizes) for d in self.wrt.shape)
                plan.append(("tensor", full, [n for n, d in zip(full, e.shape + self.wrt.shape) if d != 1]))
                continue
            if e.shape == SCALAR:
                plan.append(("scalar", full, None))
                continue
            if output == "value":
                vectors = self._vector_inputs
                flat = bool(vectors) and 1 in e.shape and all(np.ndim(arrays[name]) == 1 for name in vectors)
            elif isinstance(output, tuple):   # ("like", name)
                flat = np.ndim(arrays[output[1]]) == 1 and 1 in e.shape
            else:
                flat = False
            plan.append(("array", full, (-1,) if flat else None))
        return plan

    def __repr__(self):
        return f"<{self.adapter.backend.name} function of {', '.join(self.params)}>"


NumpyFunction = CompiledFunction


class _FastPath:
    """The inputs of a call that passed every check: by name, float64 arrays of these shapes (and
    the 2-D shapes the code takes them in). A call with exactly those passes the same checks."""

    def __init__(self, names: frozenset, inputs: list, plan: list):
        self.names = names
        self.inputs = [(name, shape, None if taken == shape else taken) for name, shape, taken in inputs]
        self.shapes = tuple(shape for _, shape, _ in self.inputs)
        self.targets = tuple(taken for _, _, taken in self.inputs)
        self.plan = plan
        # the by-name ``__call__``'s own path: one array result, each input as it is or reshaped to
        # its target (an input taken as a number goes through ``call``); its shape, and the shape
        # it is handed over in (None: as it is)
        # (read by that ``__call__`` in one go: shapes, targets, result's shape, handed-over shape)
        direct = _QUIET is not None and len(plan) == 1 and plan[0][0] == "array" and () not in self.targets
        self.unpacked = (self.shapes, self.targets) + ((plan[0][1], plan[0][2]) if direct else (None, None))

    def arguments(self, values: tuple) -> list:
        """The generated function's arguments from inputs known to match ``shapes``."""
        return [a if t is None else a.reshape(-1)[0] if t == () else a.reshape(t) for a, t in zip(values, self.targets)]

    def call(self, compiled, args: list):
        """``compiled``'s result at ``args``: numpy's error state set directly, a fresh float64
        result of the planned shape handed over as it is (anything else as ``_execute`` does)."""
        if _QUIET is None or not compiled.single:
            return compiled._execute(args, self.plan)
        token = _ERRSTATE.set(_QUIET)
        try:
            result = compiled.function(*args)
        except np.linalg.LinAlgError:
            return compiled._execute(args, self.plan)   # (it says why, as a MatcalcError)
        finally:
            _ERRSTATE.reset(token)
        kind, full, keep = self.plan[0]
        if kind == "array" and type(result) is np.ndarray and result.dtype is _FLOAT64 and result.shape == full \
                and result.flags.owndata and not any(result is a for a in args):
            return result if keep is None else result.reshape(keep)
        return compiled._shaped(result, args, self.plan)

    def match(self, arrays: dict):
        """The arguments of the generated function, or None where the fast path does not apply."""
        if arrays.keys() != self.names:
            return None
        values = tuple(arrays[name] for name, _, _ in self.inputs)
        for a, shape in zip(values, self.shapes):
            if type(a) is not np.ndarray or a.dtype is not _FLOAT64 or a.shape != shape:
                return None
        return self.arguments(values)


_MISSING = object()
_BY_NAME_CLASSES: dict = {}   # the input names -> a CompiledFunction subclass whose __call__ takes them


def _by_name_class(names: tuple):
    """A subclass of ``CompiledFunction`` whose ``__call__`` takes the inputs as keyword
    parameters, so that a call in the fast path (see ``_FastPath``) builds no dict and runs no
    loop of checks in Python; anything else goes through the general call. None where a name
    cannot be a parameter (a keyword; a name Python reads as another, NFKC: ``ｘ`` is ``x``) or could
    shadow the call's own names."""
    if any(keyword.iskeyword(n) or n.startswith("_mc_") or unicodedata.normalize("NFKC", n) != n for n in names):
        return None
    cls = _BY_NAME_CLASSES.get(names)
    if cls is not None:
        return cls
    checks = " and ".join(f"_mc_type({n}) is _mc_nd and {n}.dtype is _mc_f64 and {n}.shape == _mc_shapes[{i}]"
                          for i, n in enumerate(names))
    args = [f"_mc_a{i}" for i in range(len(names))]
    taken = "".join(f"            {a} = {n} if _mc_targets[{i}] is None else {n}.reshape(_mc_targets[{i}])\n"
                    for i, (a, n) in enumerate(zip(args, names)))
    given = ", ".join(f"({n!r}, {n})" for n in names)
    text = (f"def __call__(_mc_self, *_mc_mappings, {', '.join(f'{n}=_mc_missing' for n in names)}, **_mc_extra):\n"
            f"    _mc_fast = _mc_self._fast\n"
            f"    if _mc_fast is not None and not _mc_mappings and not _mc_extra:\n"
            f"        _mc_shapes, _mc_targets, _mc_full, _mc_keep = _mc_fast.unpacked\n"
            f"        if {checks}:\n"
            f"            if _mc_full is None:\n"
            f"                return _mc_fast.call(_mc_self, _mc_fast.arguments(({', '.join(names)},)))\n"
            f"{taken}"
            f"            _mc_token = _mc_set(_mc_quiet)\n"
            f"            try:\n"
            f"                _mc_result = _mc_self.function({', '.join(args)})\n"
            f"            except _mc_linalg_error:\n"
            f"                return _mc_self._execute([{', '.join(args)}], _mc_fast.plan)   # (it says why)\n"
            f"            finally:\n"
            f"                _mc_reset(_mc_token)\n"
            f"            if _mc_type(_mc_result) is _mc_nd and _mc_result.dtype is _mc_f64 and _mc_result.shape == "
            f"_mc_full and _mc_result.flags.owndata and {' and '.join(f'_mc_result is not {a}' for a in args)}:\n"
            f"                return _mc_result if _mc_keep is None else _mc_result.reshape(_mc_keep)\n"
            f"            return _mc_self._shaped(_mc_result, [{', '.join(args)}], _mc_fast.plan)\n"
            f"    _mc_given = {{_mc_k: _mc_v for _mc_k, _mc_v in ({given},) if _mc_v is not _mc_missing}}\n"
            f"    return _mc_self.call_checked(*_mc_mappings, **_mc_given, **_mc_extra)\n")
    namespace = {"_mc_missing": _MISSING, "_mc_nd": np.ndarray, "_mc_f64": _FLOAT64, "_mc_quiet": _QUIET,
                 "_mc_type": type,   # (a variable may be named type)
                 "_mc_set": _ERRSTATE.set if _ERRSTATE is not None else None,
                 "_mc_reset": _ERRSTATE.reset if _ERRSTATE is not None else None,
                 "_mc_linalg_error": np.linalg.LinAlgError}
    call = compile_source(text, "__call__", namespace)   # (the names are checked above)
    cls = type("CompiledFunction", (CompiledFunction,), {"__call__": call,
                                                         "__doc__": CompiledFunction.__doc__})
    _BY_NAME_CLASSES[names] = cls
    return cls


@guarded
def _writer(exprs: list, backend, required=(), differential_of=None) -> tuple:
    """``(variables, code writer)`` for a function of ``exprs`` and the ``required`` variables
    (for a differential's array, ``differential_of = (dX, X)``: dX is not an input)."""
    used = set().union(*(e.free_vars for e in exprs)) | set(required)
    if differential_of is not None:
        used.discard(differential_of[0])
    variables = sorted(used, key=lambda v: v.name)
    writer = TensorWriter(exprs, backend, variables, differential_of[0]) if differential_of is not None \
        else CodeWriter(exprs, backend, variables)
    return variables, writer


def generated_source(exprs, backend, name: str = "f", required=(), differential_of=None) -> str:
    """The code ``CompiledFunction`` would compile, without compiling it (so without importing
    the backend's library)."""
    variables, writer = _writer([exprs] if isinstance(exprs, E.Expr) else list(exprs), backend, required,
                                differential_of)
    check_distinct(variables)
    return source(exprs, backend, name, writer=writer)[0]


def compile_numpy(e: E.Expr) -> CompiledFunction:
    return CompiledFunction(e, "f")

