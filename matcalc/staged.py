"""Staged computations: several ``name = expression`` lines, differentiated in the user's names.

    z = W1 @ x
    h = sigmoid(z)
    y = W2 @ h
    L = norm2(y - t)**2

Each stage is built with the names before it; the last line is the function (``name = …`` or a
bare expression). matcalc differentiates the inlined function, then writes the result back in
the stage names, and backpropagates stage by stage — one named backward signal ``δname =
∂L/∂name`` per stage, gradients adding up where a name is used twice:

    δy = 2 (y − t),  δh = W₂ᵀ δy,  δz = δh ⊙ h ⊙ (1 − h),  ∇W1 = δz xᵀ.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import expr as E
from .errors import MatcalcError, ParseError
from .factor import factor
from .parse import build_expression, has_matrix_operations, parse
from .rewrite import simplify
from .shapes import SCALAR

_ASSIGNMENT = re.compile(r"^\s*([A-Za-z_][A-Za-z_0-9]*)\s*=(?![=>])\s*(.*?)\s*$")
INTERMEDIATE = "intermediate"


@dataclass
class Program:
    """The stages of a computation. ``stages``: name -> expression in earlier names (stage
    variables, marked ``intermediate``); ``inlined``: name -> the same with every name expanded."""
    order: list = field(default_factory=list)
    stage_vars: dict = field(default_factory=dict)
    stages: dict = field(default_factory=dict)
    inlined: dict = field(default_factory=dict)
    expansions: dict = field(default_factory=dict)   # stage variable -> its inlined expression
    renamings: dict = field(default_factory=dict)    # (inlined?, stages so far) -> rename's mapping

    @property
    def output(self) -> str:
        return self.order[-1]

    @property
    def function(self) -> E.Expr:
        return self.inlined[self.output]

    def inline(self, e: E.Expr) -> E.Expr:
        """``e`` with every stage name replaced by what it stands for."""
        used = {v: self.expansions[v] for v in e.free_vars if v in self.expansions}
        return simplify(E.substitute(e, used)) if used else simplify(e)

    def rename(self, e: E.Expr, inlined: bool = True) -> E.Expr:
        """``e`` with the parts that a stage computes written as that stage's name (not the output)."""
        made = self.renamings.get((inlined, len(self.order)))
        if made is None:   # made once per program (a program of n stages renames n times)
            source = self.inlined if inlined else self.stages
            mapping = {}
            for n in self.order[:-1]:
                if source[n].op not in ("var", "const"):
                    mapping[source[n]] = self.stage_vars[n]
                    mapping.setdefault(E.transpose(source[n]), E.transpose(self.stage_vars[n]))
            made = self.renamings[(inlined, len(self.order))] = (mapping, all(k.op == "var" for k in mapping))
        mapping, only_variables = made
        return E.substitute(e, mapping, only_variables=only_variables) if mapping else e

    def function_of(self, name: str) -> E.Expr:
        """The function with the stage ``name`` kept as a variable and the stages after it written
        through it: its derivative w.r.t. that variable is ``∂f/∂name``, every input and earlier
        stage held fixed (the backward signal ``δname``)."""
        return self._through(name)[self.stage_vars[self.output]]

    def inline_except(self, e: E.Expr, name: str) -> E.Expr:
        """``e`` with every stage name but ``name`` replaced by what it stands for, written
        through ``name`` (a claim about ``∂f/∂name``)."""
        partial = self._through(name)
        used = {v: partial[v] for v in e.free_vars if v in partial and v.name != name}
        return simplify(E.substitute(e, used)) if used else simplify(e)

    def _through(self, name: str) -> dict:
        """Each stage variable -> its expression in the inputs and the stage ``name``."""
        partial: dict = {}
        for n in self.order:
            e = self.stages[n]
            used = {v: partial[v] for v in e.free_vars if v in partial}
            e = simplify(E.substitute(e, used)) if used else simplify(e)
            partial[self.stage_vars[n]] = self.stage_vars[n] if n == name else e
        return partial

    def add(self, name: str, e: E.Expr):
        if name in self.stages:
            raise MatcalcError(f"the stage {name!r} is defined twice")
        inlined = self.inline(e)
        self.order.append(name)
        self.stage_vars[name] = E.variable(name, e.shape, {INTERMEDIATE})
        self.stages[name] = e
        self.inlined[name] = inlined
        self.expansions[self.stage_vars[name]] = inlined


def is_program(text) -> bool:
    """Whether a string is a staged program (it has a ``name = …`` line)."""
    return isinstance(text, str) and any(_ASSIGNMENT.match(line) for line in _lines(text))


def _lines(text: str) -> list:
    """The statements of a program: lines (or ``;``-separated parts), comments after ``#`` removed."""
    lines = (line.split("#", 1)[0] for line in re.split(r"[\n;]", text))
    return [line for line in lines if line.strip()]


def parse_program(text: str, variables: dict, syntax: str = "numpy", definitions: dict | None = None) -> Program:
    """The program in ``text`` (lines ``name = expr``; the last may be a bare expression), after
    the stages in ``definitions`` (name -> string or expression)."""
    program = Program()
    variables = dict(variables)   # grows with the names each stage infers, for the later stages
    scope = dict(variables)       # the variables and the stages so far: what a stage may use
    if definitions is not None and not isinstance(definitions, Mapping):
        raise MatcalcError(f"definitions must map stage names to expressions; got {type(definitions).__name__}")
    lines = _lines(text)
    if not lines:
        raise ParseError("empty program")
    statements = []
    for number, line in enumerate(lines):
        m = _ASSIGNMENT.match(line)
        if m is None and number != len(lines) - 1:
            raise ParseError(f"line {number + 1} of the program is not 'name = expression'", line, 0)
        statements.append((m.group(1), m.group(2)) if m else ("f", line))
    # undeclared names are scalars only if no line has a matrix operation (decided once: a name
    # keeps its shape from the line that first uses it)
    sources = [v for v in (definitions or {}).values() if isinstance(v, str)] + [source for _, source in statements]
    scalars = not any(has_matrix_operations(parse(source, syntax, scope.keys()), variables) for source in sources)
    for name, value in (definitions or {}).items():
        _add_stage(program, name, value, variables, scope, syntax, scalars)
    for name, source in statements:
        if name in variables:
            raise MatcalcError(f"the stage {name!r} has the name of a variable")
        _add_stage(program, name, source, variables, scope, syntax, scalars)
    return program


def _add_stage(program: Program, name: str, value, variables: dict, scope: dict, syntax: str, scalars: bool):
    e = program.rename(value) if isinstance(value, E.Expr) else build_expression(value, scope, syntax,
                                                                                  scalars=scalars)
    found = {v.name: v for v in e.free_vars if INTERMEDIATE not in v.data[1]}
    variables.update(found)
    scope.update(found)
    program.add(name, e)
    scope[name] = program.stage_vars[name]


def signal_name(name: str) -> str:
    return "δ" + name


def backpropagate(program: Program, wrt: E.Expr, gradient_of) -> tuple:
    """The backward signals ``δname = ∂f/∂name`` of every stage, and the gradient w.r.t. ``wrt``,
    each in terms of the stage names and the signals of later stages.

    ``gradient_of(f, v)`` is ``(closed-form gradient of a scalar f w.r.t. the variable v, names of
    the rules used)``. Returns ``(signals, gradient, rules)``: ``signals`` maps a stage name to
    ``(δ variable, expression, rules)`` in backward order; ``rules`` are those of the last step."""
    contributions: dict = {}
    used: dict = {}
    signals: dict = {}
    for name in reversed(program.order):
        e = program.stages[name]
        if name == program.output:
            weighted = e
            if e.shape != SCALAR:
                raise MatcalcError("stage-by-stage gradients need a scalar function")
        else:
            parts = contributions.get(name)
            if not parts:
                continue
            signal = simplify(factor(program.rename(E.add(*parts), inlined=False)))
            var = E.variable(signal_name(name), e.shape, {INTERMEDIATE})
            signals[name] = (var, signal, tuple(dict.fromkeys(used[name])))
            weighted = E.sum_all(E.mul(var, e)) if e.shape != SCALAR else E.mul(var, e)
        for u in sorted(e.free_vars, key=lambda v: v.name):
            on_path = u is wrt or (INTERMEDIATE in u.data[1] and u.name in program.stages
                                   and program.inlined[u.name].depends_on(wrt))
            if on_path:
                key = u.name if u is not wrt else None
                local, rules = gradient_of(weighted, u)
                contributions.setdefault(key, []).append(simplify(program.rename(local, inlined=False)))
                used.setdefault(key, []).extend(rules)
    gradient = simplify(E.add(*contributions[None])) if contributions.get(None) else E.zero(wrt.shape)
    return signals, gradient, tuple(dict.fromkeys(used.get(None, ())))


def expand_signals(e: E.Expr, signals: dict) -> E.Expr:
    """``e`` with the backward signals replaced by their expressions (in stage names). A signal
    is written with the signals before it in ``signals`` (backward order), so each is expanded
    once, with those already expanded."""
    expanded: dict = {}
    for var, expression, _ in signals.values():
        expanded[var] = simplify(E.substitute(expression, expanded, only_variables=True)) \
            if expression.free_vars & expanded.keys() else expression
    return simplify(E.substitute(e, expanded, only_variables=True)) if e.free_vars & expanded.keys() else e
