"""The ``matcalc`` command.

    matcalc derive "x.T @ A @ x" --wrt x --shape x=n --shape A=n,n [--latex] [--numpy] [--check]
    matcalc verify "x.T @ A @ x" --wrt x --claimed "2 * A @ x" --shape x=n --shape A=n,n
    matcalc derive --file network.txt --wrt W1 --steps       # a staged program, in its names
    matcalc derive "x'*A*x" --wrt x --syntax matlab           # the notation of matrixcalculus.org

``derive`` prints the derivative as text; ``--latex`` adds LaTeX, ``--numpy`` the generated numpy
code, ``--check`` a line with the finite-difference verdict (exit status 1 if it fails).
``verify`` prints the verdict on a claimed derivative (exit status 1 if the claim is wrong).
Errors print one clear message (with a caret under the position for syntax errors) and exit
with status 2.
"""
from __future__ import annotations

import argparse
import sys

from .derivative import derive
from .errors import MatcalcError
from .shapes import shape_text
from .verify import verify

PROPERTY_FLAGS = ("symmetric", "spd", "positive", "invertible")


def _shapes(items) -> dict:
    """``NAME=DIMS[:prop,prop]`` -> shapes mapping (dims ``n``, ``n,m``, ``1,n`` or empty)."""
    from .api import matrix, scalar, vector
    from .shapes import parse_dims
    shapes = {}
    for item in items or []:
        if "=" not in item:
            raise MatcalcError(f"--shape {item!r}: write NAME=DIMS, e.g. x=n or A=n,n:symmetric")
        name, spec = item.split("=", 1)
        dims, _, props = spec.partition(":")
        flags = {p.strip(): True for p in props.split(",") if p.strip()}
        shape = parse_dims(dims, f" for {name!r}")
        if shape == (1, 1):
            shapes[name] = scalar(name, **flags)
        elif shape[1] == 1 and "," not in dims:
            shapes[name] = vector(name, shape[0], **flags)
        else:
            shapes[name] = matrix(name, shape[0], shape[1], **flags)
    return shapes


def _source(args) -> str:
    if args.file and args.expr:
        raise MatcalcError("give the function either as EXPR or with --file, not both")
    if args.file:
        try:
            with open(args.file, encoding="utf-8") as handle:
                return handle.read()
        except OSError as err:
            raise MatcalcError(f"cannot read {args.file}: {err.strerror}") from None
    if not args.expr:
        raise MatcalcError("give the function to differentiate (EXPR or --file)")
    return args.expr


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matcalc", description="Symbolic matrix calculus.")
    sub = parser.add_subparsers(dest="command", required=True)
    d = sub.add_parser("derive", help="differentiate an expression")
    d.add_argument("expr", nargs="?", help='the function, e.g. "x.T @ A @ x"')
    d.add_argument("--file", help="read a staged program (lines name = expression) from this file")
    d.add_argument("--wrt", required=True, help="the variable to differentiate by")
    _common(d)
    d.add_argument("--latex", action="store_true", help="also print LaTeX")
    d.add_argument("--numpy", action="store_true", help="also print the generated numpy code")
    d.add_argument("--check", action="store_true", help="also check against finite differences")
    d.add_argument("--seed", type=int, default=None, help="seed for --check")
    d.add_argument("--steps", action="store_true", help="also print the steps of the derivation")
    v = sub.add_parser("verify", help="check a claimed derivative and explain what is wrong with it")
    v.add_argument("expr", nargs="?", help="the function")
    v.add_argument("--file", help="read a staged program (lines name = expression) from this file")
    v.add_argument("--wrt", required=True, help="the variable")
    v.add_argument("--claimed", required=True, help="the claimed derivative")
    _common(v)
    return parser


def _common(p):
    p.add_argument("--shape", action="append", metavar="NAME=DIMS[:PROPS]",
                   help="a variable's dims: x=n (vector), A=n,m (matrix), w=1,n (row), c= (scalar); "
                        "properties after a colon: A=n,n:symmetric")
    p.add_argument("--order", type=int, default=1, help="2 for a Hessian")
    p.add_argument("--syntax", choices=("numpy", "matlab"), default="numpy",
                   help="the notation: numpy (x.T @ A @ x) or matlab (x'*A*x)")
    p.add_argument("--layout", choices=("numerator", "denominator"), default=None)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        expr = _source(args)
        options = dict(order=args.order, layout=args.layout, syntax=args.syntax)
        if args.command == "verify":
            verdict = verify(expr, args.wrt, args.claimed, _shapes(args.shape), **options)
            print(verdict)
            return 0 if verdict.correct else 1
        result = derive(expr, args.wrt, _shapes(args.shape), **options)
        if result.assumed:
            shapes = ", ".join(f"{name}: {shape_text(shape)}" for name, shape in sorted(result.assumed.items()))
            print(f"matcalc: shapes inferred (declare them with --shape to change): {shapes}", file=sys.stderr)
        print(result)
        if args.steps:
            print(result.steps())
        if args.latex:
            print(result.latex())
        if args.numpy:
            print(result.source(), end="")
        if args.check:
            report = result.check(seed=args.seed)
            print(report)
            if not report.ok:
                return 1
    except MatcalcError as err:
        print(f"matcalc: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
