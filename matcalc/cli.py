"""The ``matcalc`` command.

    matcalc derive "x.T @ A @ x" --wrt x --shape x=n --shape A=n,n [--latex] [--numpy] [--check]
    matcalc verify "x.T @ A @ x" --wrt x --claimed "2 * A @ x" --shape x=n --shape A=n,n
    matcalc derive --file network.txt --wrt W1 --steps       # a staged program, in its names
    matcalc derive "x'*A*x" --wrt x --syntax matlab           # the notation of matrixcalculus.org
    matcalc serve --open                                      # the web page, on http://127.0.0.1:8000/

``derive`` prints the derivative as text; ``--latex`` adds LaTeX, ``--numpy`` the generated numpy
code, ``--check`` a line with the finite-difference verdict. ``verify`` prints the verdict on a
claimed derivative. ``--file`` reads a program of at most ``parse.MAX_SOURCE_LENGTH`` characters
of UTF-8 text; a longer file is refused after reading at most four bytes per character of that
(so ``/dev/zero`` fails at once).

Exit statuses:

- 0: done (and the check passed, the claim is right);
- 1: the check failed (``--check``), or the claim is wrong (``verify``);
- 2: bad input: an error message (one line, then the input with a caret under the position
  for syntax errors) — a ``MatcalcError``, or a usage error from the argument parser;
- 3: an internal error (a bug in matcalc): one line, no traceback.
"""
from __future__ import annotations

import argparse
import re
import sys

from . import __version__
from .derivative import derive
from .errors import InternalError, MatcalcError
from .parse import MAX_SOURCE_LENGTH
from .shapes import shape_text
from .verify import verify

OK, FAILED, BAD_INPUT, INTERNAL_ERROR = 0, 1, 2, 3
MAX_FILE_BYTES = 4 * MAX_SOURCE_LENGTH   # UTF-8 takes at most four bytes a character

PROPERTY_FLAGS = ("symmetric", "spd", "positive", "invertible")


def _shapes(items) -> dict:
    """``NAME=DIMS[:prop,prop]`` -> shapes mapping (dims ``n``, ``n,m``, ``1,n`` or empty)."""
    from .api import declared
    shapes = {}
    for item in items or []:
        if "=" not in item:
            raise MatcalcError(f"--shape {item!r}: write NAME=DIMS, e.g. x=n or A=n,n:symmetric")
        name, spec = item.split("=", 1)
        shapes[name] = declared(name, spec)
    return shapes


def _source(args) -> str:
    if args.file and args.expr:
        raise MatcalcError("give the function either as EXPR or with --file, not both")
    if args.file:
        return _read_program(args.file)
    if not args.expr:
        raise MatcalcError("give the function to differentiate (EXPR or --file)")
    return args.expr


def _read_program(path: str) -> str:
    """The text of a program file: UTF-8, at most ``MAX_SOURCE_LENGTH`` characters; never reads
    more than ``MAX_FILE_BYTES + 1`` bytes of it."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise MatcalcError(f"cannot read {path}: {err.strerror or err}") from None
    if len(data) > MAX_FILE_BYTES:
        raise MatcalcError(f"{path} is too long: more than {MAX_FILE_BYTES:,} bytes (a program has at most "
                           f"{MAX_SOURCE_LENGTH:,} characters)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise MatcalcError(f"{path} is not UTF-8 text: byte 0x{data[err.start]:02x} at offset {err.start} "
                           "cannot be decoded") from None


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None


def _positive_int(text: str) -> int:
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"a positive number of seconds, got {text}")
    return value


def _seed(text: str) -> int:
    """A ``--seed``: an integer from 0 to 2³² − 1."""
    seed = _integer(text)
    if not 0 <= seed < 2**32:
        raise argparse.ArgumentTypeError(f"a seed is from 0 to {2**32 - 1}, got {seed}")
    return seed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matcalc", description="Symbolic matrix calculus.")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("derive", help="differentiate an expression")
    d.add_argument("expr", nargs="?", help='the function, e.g. "x.T @ A @ x"')
    d.add_argument("--file", help="read a staged program (lines name = expression) from this file")
    d.add_argument("--wrt", required=True, action="append",
                   help="the variable to differentiate by (repeat it for several: --wrt W1 --wrt W2)")
    _common(d)
    d.add_argument("--latex", action="store_true", help="also print LaTeX (and the steps in LaTeX, with --steps)")
    d.add_argument("--numpy", action="store_true", help="also print the generated numpy code")
    d.add_argument("--backend", choices=("numpy", "jax", "torch"), default=None,
                   help="also print the generated code for this library")
    d.add_argument("--check", action="store_true", help="also check against finite differences")
    d.add_argument("--seed", type=_seed, default=None, help="seed for --check (0 to 2**32 - 1)")
    d.add_argument("--steps", action="store_true", help="also print the steps of the derivation")
    v = sub.add_parser("verify", help="check a claimed derivative and explain what is wrong with it")
    v.add_argument("expr", nargs="?", help="the function")
    v.add_argument("--file", help="read a staged program (lines name = expression) from this file")
    v.add_argument("--wrt", required=True, help="the variable")
    v.add_argument("--claimed", required=True, help="the claimed derivative")
    v.add_argument("--latex", action="store_true", help="also print the verdict in LaTeX")
    _common(v)
    s = sub.add_parser("serve", help="the local web page and its JSON API (see the README)")
    s.add_argument("--port", type=int, default=8000, help="the port (default 8000; 0: any free port)")
    s.add_argument("--host", default="127.0.0.1",
                   help="the address to bind (default 127.0.0.1: this machine only)")
    s.add_argument("--open", action="store_true", help="open the page in the default browser")
    s.add_argument("--workers", type=_positive_int, default=2,
                   help="worker processes that derive, each one request at a time (default 2)")
    s.add_argument("--time-limit", type=_positive_float, default=10.0, metavar="SECONDS",
                   help="a derivation past this is stopped and its worker replaced (default 10)")
    parser.add_argument("--version", action="version", version=f"matcalc {__version__}")
    return parser


def _common(p):
    p.add_argument("--shape", action="append", metavar="NAME=DIMS[:PROPS]",
                   help="a variable's dims: x=n (vector), A=n,m (matrix), w=1,n (row), c= (scalar); "
                        "properties after a colon: A=n,n:symmetric")
    p.add_argument("--order", type=int, default=1, help="2 for a Hessian")
    p.add_argument("--syntax", choices=("numpy", "matlab", "latex", "text"), default="numpy",
                   help="the notation: numpy (x.T @ A @ x), matlab (x'*A*x), latex (x^\\top A x) or "
                        "text (matcalc's own: xᵀ A x)")
    p.add_argument("--layout", choices=("numerator", "denominator"), default=None)


def _as_operands(argv: list) -> list:
    """The arguments with an expression that starts with ``-`` (``-t.T @ log(p)``, a claim
    ``-2*A@x``) marked as an operand, not an option: argparse reads a leading space as text."""
    return [f" {a}" if a.startswith("-") and not _OPTION.fullmatch(a) else a for a in argv]


_OPTION = re.compile(r"-[a-zA-Z]|--[a-z][a-z-]*(=.*)?|--|-?[0-9]+")


def main(argv=None) -> int:
    """Run the command; returns the exit status (see the module docstring)."""
    args = build_parser().parse_args(_as_operands(list(sys.argv[1:] if argv is None else argv)))
    try:
        return _run(args)
    except InternalError as err:
        print(f"matcalc: internal error: {_one_line(err)}", file=sys.stderr)
        return INTERNAL_ERROR
    except MatcalcError as err:
        print(f"matcalc: error: {err}", file=sys.stderr)
        return BAD_INPUT
    except Exception as err:   # noqa: BLE001 - a bug: one line, and a status of its own
        print(f"matcalc: internal error: {type(err).__name__}: {_one_line(err)} (a bug in matcalc: please "
              "report it with this input)", file=sys.stderr)
        return INTERNAL_ERROR


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


def _run(args) -> int:
    if args.command == "serve":
        from .web.server import serve
        try:
            serve(args.host, args.port, args.open, workers=args.workers, time_limit=args.time_limit)
        except OSError as err:   # the port is taken, the address is not this machine's
            raise MatcalcError(f"cannot serve on {args.host}:{args.port}: {err.strerror or err}") from None
        return OK
    expr = _source(args)
    options = dict(order=args.order, layout=args.layout, syntax=args.syntax)
    if args.command == "verify":
        verdict = verify(expr, args.wrt, args.claimed.strip(), _shapes(args.shape), **options)
        print(verdict)
        if args.latex:
            print(verdict.latex())
        return OK if verdict.correct else FAILED
    if len(args.wrt) > 1:   # several variables: each result in turn, the steps and code of each
        results = derive(expr, args.wrt, _shapes(args.shape), **options)
        status = OK
        for name in args.wrt:
            print(f"∂/∂{name}:")
            status = max(status, _show(results[name], args))
        return status
    return _show(derive(expr, args.wrt[0], _shapes(args.shape), **options), args)


def _show(result, args) -> int:
    if result.assumed:
        shapes = ", ".join(f"{name}: {shape_text(shape)}" for name, shape in sorted(result.assumed.items()))
        print(f"matcalc: shapes inferred (declare them with --shape to change): {shapes}", file=sys.stderr)
    print(result)
    if args.steps:
        print(result.steps())
    if args.latex:
        print(result.latex())
        if args.steps:
            print(result.steps().latex())
    if args.numpy:
        print(result.source(), end="")
    if args.backend:
        print(result.source(args.backend), end="")
    if args.check:
        report = result.check(seed=args.seed)
        print(report)
        if not report.ok:
            return FAILED
    return OK


if __name__ == "__main__":
    sys.exit(main())
