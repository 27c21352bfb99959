"""A gradient as backpropagation writes it: forward states, backward signals, and the result in them.

An RNN unrolled over T steps, written as one expression, has a gradient that is a sum of T terms,
each with a nested sum of up to T backward terms: written out, its length grows with T². Through
time, backpropagation names each state (``h₁ = tanh(W h₀ + U x₁ + b)``) and each backward signal
(``δh₃ = Vᵀ (softmax(V h₃ + c) − y₃)``, ``δh₂ = Vᵀ (…) + Wᵀ (δh₃ ⊙ (1 − h₃∘²))``), so that the
gradient ``Σₜ (δhₜ ⊙ (1 − hₜ∘²)) hₜ₋₁ᵀ`` is printed in a length linear in T:

    (δh₁ ⊙ (1 − h₁∘²)) h₀ᵀ + …, where h₁ = tanh(…), …, δh₃ = …, δh₂ = …, δh₁ = …

The stages are those of a staged program, or, for one expression, its repeated function
applications that depend on the variable (the ones the printer would name anyway). The form is
shown where it is shorter than the gradient written out, and only when its signals, expanded,
give the same canonical expression as the gradient: printing never changes the answer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import expr as E
from .printing.latex import LatexPrinter
from .printing.names import choose_names, letters
from .printing.text import TextPrinter
from .shapes import SCALAR
from .staged import Program, expand_signals


@dataclass
class BackwardForm:
    """``body, where`` the forward ``states`` (stage variable, expression in earlier names; only
    for a program matcalc found itself) and the backward ``signals`` (δ variable, expression in
    the states and the later signals), in the order they are computed."""
    body: E.Expr
    states: list
    signals: list

    def text(self) -> str:
        return _written(TextPrinter, self)

    def latex(self) -> str:
        return _written(LatexPrinter, self)

    def definitions(self) -> list:
        return [*self.states, *self.signals]


def _written(printer_class, form: BackwardForm) -> str:
    printer = printer_class()
    definitions = [printer.definition(var.name, printer(e)) for var, e in form.definitions()]
    return printer.where(printer(form.body), definitions)


def implicit_program(f: E.Expr, wrt: E.Expr, gradient: E.Expr) -> Program | None:
    """``f`` as a program whose stages are the function applications in it that depend on
    ``wrt`` and that the printer names in ``f`` or in its ``gradient`` (repeated: ``h₁, h₂, …``
    for the states of a recurrence), innermost first; ``None`` when there are fewer than two."""
    from .printing.infix import TextPrinterProxy
    if f.shape != SCALAR:
        return None
    repeated = {n for e in (f, gradient) for n in choose_names(e, TextPrinterProxy.text)}
    stages = [n for n in E.walk(f) if n in repeated and n is not f and n.depends_on(wrt)]
    if len(stages) < 2:
        return None
    program = Program()
    made: dict = {}
    for node, name in letters(f, stages).items():   # innermost first: a stage uses the ones before it
        program.add(name, E.substitute(node, made) if made else node)
        made[node] = program.stage_vars[name]
    program.add("f", E.substitute(f, made))
    return program


def backward_form(body: E.Expr, signals: dict, gradient: E.Expr, finish, program: Program | None = None
                  ) -> BackwardForm | None:
    """The form from a backpropagation (``signals``: stage name -> (δ variable, expression, rules)),
    each part made textbook by ``finish``, with the states of ``program`` (one matcalc found:
    ``implicit_program``) defined first; ``None`` unless its signals and states, expanded, have the
    value of ``gradient`` at a random point in the variables' domains."""
    finished = [(var, finish(e)) for var, e, _ in signals.values()]
    body = finish(body)
    inlined = expand_signals(body, {name: (var, e, ()) for name, (var, e) in zip(signals, finished)})
    states = []
    if program is not None:
        inlined = program.inline(inlined)
        states = [(program.stage_vars[name], program.stages[name]) for name in program.order[:-1]]
    if not _same_value(inlined, gradient):
        return None
    return BackwardForm(body, states, finished)


def _same_value(a: E.Expr, b: E.Expr) -> bool:
    """Whether ``a`` and ``b`` agree to rounding at one random point (seeded) where ``b`` is finite."""
    from .check import Sampler
    if a.free_vars - b.free_vars:
        return False
    functions = [a.to_numpy(), b.to_numpy()]
    sizes = sorted({d for fn in functions for d in fn.free_dims})
    values = Sampler(b, b.free_vars, np.random.default_rng(0), sizes).draw()
    with np.errstate(all="ignore"):
        got, want = [np.asarray(fn(**{name: values[name] for name in fn.accepts})) for fn in functions]
    scale = np.linalg.norm(want)
    return bool(np.isfinite(scale) and got.shape == want.shape
                and np.linalg.norm(got - want) <= 1e-9 * max(scale, 1e-300))
