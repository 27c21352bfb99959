"""The JSON API of ``matcalc serve``, without HTTP: a request (a dict decoded from JSON) in, a
response (a dict to encode) out. The same contract as Python's ``derive`` and ``verify``.

``/api/derive`` takes ``{"f", "wrt", "shapes", "syntax", "order", "layout",
"symmetric_gradient"}``: only ``f`` and ``wrt`` are required; ``wrt`` is a name or a list of
names; ``shapes`` maps names to ``"n"``, ``"n,m"``, ``"n,n:symmetric"``, ``""``; ``syntax`` is
numpy, matlab, latex, text or ``"auto"`` (the first that reads ``f``, the likeliest first, said in
the answer's ``"syntax"``); ``order`` is 1, 2 or ``"hvp"`` (the Hessian times a direction ``v``
shaped like the variable). It answers, for each variable, ``{"wrt", "kind", "shape", "text",
"latex", "code": {"numpy", "jax", "torch"}, "check": {"status", "message"}, "steps": {"text",
"latex"}}``, with ``"inferred"`` (the shapes matcalc inferred for undeclared names),
``"variables"`` (every variable of ``f``: its dims and properties, as ``shapes`` writes them),
``"syntax"`` (the one read) and ``"notes"`` (hints on the notation: ``*`` where ``@`` was
probably meant). One variable: those fields at the top level; several:
``{"results": [...], "inferred", "variables", "syntax", "notes"}``.

``/api/verify`` takes the same fields plus ``"claimed"`` (``wrt`` one name) and answers
``{"correct", "proved", "head", "category", "message", "details", "text", "latex", "claim":
{"text", "latex"}, "answer": {"text", "latex"}, "counterexample"}`` (``text`` and ``latex``: the
whole verdict; ``claim`` is null where the claim was not read as an expression).

An error is ``{"error": {"type", "message", "position"}}`` with an HTTP status: 400 for a request
that is not well formed (``RequestError``), 422 for input matcalc refuses (a ``MatcalcError``:
its class name, message and the 0-based position in ``f`` or ``claimed``, or null).
"""
from __future__ import annotations

import warnings

from .. import expr as E
from ..api import declared, parse
from ..derivative import derive, hvp
from ..errors import MatcalcError, NotationWarning, ParseError
from ..parse import SYNTAXES, guess_syntax
from ..printing.latex import to_latex
from ..printing.text import to_text
from ..shapes import shape_text
from ..staged import is_program
from ..verify import verify

SYNTAX_CHOICES = (*SYNTAXES, "latex", "text", "auto")
LAYOUTS = (None, "numerator", "denominator")
SYMMETRIC_GRADIENTS = ("sym", "cookbook", "ignore")
BACKENDS = ("numpy", "jax", "torch")
CHECK_SEED = 0   # the page's numeric check is reproducible: the same input, the same verdict
DERIVE_FIELDS = frozenset({"f", "wrt", "shapes", "syntax", "order", "layout", "symmetric_gradient"})
VERIFY_FIELDS = DERIVE_FIELDS | {"claimed"}


class RequestError(MatcalcError):
    """A request that is not well formed: a missing or unknown field, a value of the wrong type."""


def derive_response(request: dict) -> dict:
    with warnings.catch_warnings(record=True) as caught:   # notation hints, for the page to show
        warnings.simplefilter("always", NotationWarning)
        answer = _derive(request)
    answer["notes"] = list(dict.fromkeys(str(w.message).splitlines()[0] for w in caught
                                         if issubclass(w.category, NotationWarning)))
    return answer


def _derive(request: dict) -> dict:
    options = _options(request, DERIVE_FIELDS)
    options["syntax"] = _syntax(request["f"], options)
    wrt = request["wrt"]
    names = [wrt] if isinstance(wrt, str) else wrt
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise RequestError("'wrt' must be a variable name or a non-empty list of names")
    if options["order"] == "hvp":
        results = [_hessian_vector_product(request, name, options) for name in names]
    else:
        result = derive(request["f"], names[0] if isinstance(wrt, str) else names, **options)
        results = [result] if isinstance(wrt, str) else [result[name] for name in names]
    first = results[0]
    shared = {"inferred": {name: _dims(shape) for name, shape in sorted(first.assumed.items())},
              "variables": {v.name: _spec(v) for v in sorted(first.variables, key=lambda v: v.name)}}
    shared["syntax"] = options["syntax"]
    if isinstance(wrt, str):
        return {**_result(first), **shared}
    return {"results": [_result(r) for r in results], **shared}


def verify_response(request: dict) -> dict:
    options = _options(request, VERIFY_FIELDS)
    claimed = request.get("claimed")
    if not isinstance(claimed, str):
        raise RequestError("'claimed' (the derivative to check, a string) is required")
    if not isinstance(request["wrt"], str):
        raise RequestError("'wrt' must be one variable name for verify")
    options["syntax"] = _syntax(request["f"], options)
    verdict = verify(request["f"], request["wrt"], claimed, **options)
    claim = verdict.claimed
    return {"correct": bool(verdict.correct), "proved": bool(verdict.proved), "head": verdict.head,
            "category": verdict.category, "message": verdict.message, "details": list(verdict.details),
            "text": str(verdict), "latex": verdict.latex(),
            "claim": None if claim is None else {"text": to_text(claim, True), "latex": to_latex(claim, True)},
            "answer": {"text": verdict.answer.text(), "latex": verdict.answer.latex()},
            "counterexample": None if verdict.counterexample is None else str(verdict.counterexample)}


def error_response(err: Exception) -> tuple:
    """``(status, body)`` for an error raised while answering."""
    if isinstance(err, RequestError):
        return 400, {"error": {"type": "RequestError", "message": str(err), "position": None}}
    if isinstance(err, MatcalcError):
        message = getattr(err, "message", None) or str(err)
        return 422, {"error": {"type": type(err).__name__, "message": message,
                               "position": getattr(err, "position", None)}}
    return 500, {"error": {"type": "InternalError", "message": f"{type(err).__name__}: {err} (a bug in matcalc: "
                           "please report it with this input)", "position": None}}


def _options(request: dict, fields: frozenset) -> dict:
    if not isinstance(request, dict):
        raise RequestError("the request body must be a JSON object")
    unknown = sorted(set(request) - fields)
    if unknown:
        raise RequestError(f"unknown field(s) {', '.join(map(repr, unknown))}; the fields are "
                           f"{', '.join(sorted(fields))}")
    for name in ("f", "wrt"):
        if name not in request:
            raise RequestError(f"'{name}' is required")
    if not isinstance(request["f"], str):
        raise RequestError("'f' must be a string")
    shapes = request.get("shapes") or {}
    if not isinstance(shapes, dict):
        raise RequestError("'shapes' must map names to dims, e.g. {\"x\": \"n\", \"A\": \"n,n:symmetric\"}")
    syntax = request.get("syntax") or "numpy"
    if syntax not in SYNTAX_CHOICES:
        raise RequestError(f"'syntax' must be one of {', '.join(SYNTAX_CHOICES)}")
    order = request.get("order", 1)
    if order not in (1, 2, "hvp") or isinstance(order, bool):
        raise RequestError("'order' must be 1 (gradient or Jacobian), 2 (Hessian) or \"hvp\" (Hessian-vector "
                           "product, with the direction v)")
    layout = request.get("layout")
    if layout not in LAYOUTS:
        raise RequestError("'layout' must be null, \"numerator\" or \"denominator\"")
    symmetric = request.get("symmetric_gradient") or "sym"
    if symmetric not in SYMMETRIC_GRADIENTS:
        raise RequestError(f"'symmetric_gradient' must be one of {', '.join(SYMMETRIC_GRADIENTS)}")
    return dict(shapes={name: declared(name, spec) for name, spec in shapes.items()}, syntax=syntax,
                order=order, layout=layout, symmetric_gradient=symmetric)


def _syntax(source: str, options: dict) -> str:
    """The syntax asked for; for ``"auto"``, the first that reads ``source``, the likeliest
    (``parse.guess_syntax``) first."""
    if options["syntax"] != "auto":
        return options["syntax"]
    guess = guess_syntax(source)
    if is_program(source):   # a staged program (lines name = expression): numpy or MATLAB lines
        return guess if guess in SYNTAXES else "numpy"
    first_error = None
    for syntax in dict.fromkeys((guess, "numpy", "latex", "text", "matlab")):
        try:
            parse(source, options["shapes"], syntax)
        except ParseError as err:
            first_error = first_error or err
            continue
        except MatcalcError:   # read, and wrong in another way: the derivation says how
            pass
        return syntax
    raise first_error


def _hessian_vector_product(request: dict, name: str, options: dict):
    """``H v`` by ``name``, with a direction ``v`` (``v1``, … where ``v`` is taken) shaped like it."""
    gradient = derive(request["f"], name, **{**options, "order": 1})
    taken = {v.name for v in gradient.variables}
    direction = next(candidate for candidate in ("v", *(f"v{k}" for k in range(1, len(taken) + 2)))
                     if candidate not in taken)
    shapes = {**options["shapes"], **{n: E.variable(n, shape) for n, shape in gradient.assumed.items()}}
    result = hvp(request["f"], name, E.variable(direction, gradient.wrt.shape), shapes, syntax=options["syntax"])
    result.assumed = gradient.assumed
    return result


def _result(g) -> dict:
    report = g.check(seed=CHECK_SEED)
    steps = g.steps()
    return {"wrt": g.wrt.name, "kind": g.kind, "shape": shape_text(g.shape), "text": g.text(), "latex": g.latex(),
            "code": {backend: g.source(backend) for backend in BACKENDS},
            "check": {"status": report.status, "message": str(report)},
            "steps": {"text": str(steps), "latex": steps.latex()}}


def _dims(shape) -> str:
    rows, cols = shape
    return "" if (rows, cols) == (1, 1) else str(rows) if cols == 1 else f"{rows},{cols}"


def _spec(variable) -> str:
    """A variable's declaration as ``shapes`` writes it: ``"n,n:symmetric"``."""
    dims = _dims(variable.shape)
    props = set(variable.data[1]) if isinstance(variable.data, tuple) and len(variable.data) > 1 else set()
    if "spd" in props:   # (spd implies them)
        props -= {"symmetric", "invertible"}
    for p in ("onehot", "onehot_rows"):   # (a one-hot vector is a simplex)
        if p in props:
            props.discard(p.replace("onehot", "simplex"))
    props = sorted(props)
    return dims + (":" + ",".join(props) if props else "")
