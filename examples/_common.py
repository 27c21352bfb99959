"""Helpers shared by the example scripts (not an example itself).

Each example derives a gradient with matcalc, prints it with its derivation steps and its
finite-difference check, compares it on random inputs with the hand formula of the course notes
(written in numpy), and verifies the notes' result and one classic mistake with ``mc.verify``.
Anything not as expected ends the script with exit status 1.
"""
import sys

import numpy as np

import matcalc as mc

TOLERANCE = 1e-9


def fail(message):
    """Stop the example with exit status 1."""
    sys.exit(f"FAILED: {message}")


def random_inputs(f, sizes, seed=0):
    """Standard-normal values for every variable of ``f``, by name.

    ``sizes`` gives a number for each symbolic dimension. Vectors come as 2-D columns or rows
    (the notes recommend rank-2 arrays over numpy's rank-1 ones), scalars as floats.
    """
    rng = np.random.default_rng(seed)
    inputs = {}
    for v in sorted(f.free_vars, key=lambda v: v.name):
        shape = tuple(sizes.get(d, d) for d in v.shape)
        inputs[v.name] = float(rng.standard_normal()) if shape == (1, 1) else rng.standard_normal(shape)
    return inputs


def derive_and_compare(f, wrt, formula, inputs, notes, of="f"):
    """Derive ``f`` w.r.t. ``wrt``, print it and its finite-difference check, and compare its
    value on ``inputs`` with ``formula(**inputs)``, the notes' hand formula ``notes``.
    Returns the derivative."""
    g = mc.derive(f, wrt)
    report = g.check(seed=0)
    got = np.asarray(g.to_numpy()(**inputs), dtype=float)
    want = np.asarray(formula(**inputs), dtype=float)
    print(f"∂{of}/∂{wrt} = {g}")
    print(f"  {report}")
    if not report.ok:
        fail(f"finite-difference check of ∂{of}/∂{wrt}")
    if got.shape != want.shape:
        fail(f"∂{of}/∂{wrt} has shape {got.shape}, the notes' formula {want.shape}")
    error = np.linalg.norm(got - want) / max(np.linalg.norm(want), 1.0)
    print(f"  notes: {notes}   (relative difference {error:.1e})")
    if error > TOLERANCE:
        fail(f"∂{of}/∂{wrt} differs from the notes' formula {notes}")
    return g


def show_steps(g):
    """Print the numbered derivation steps of the derivative ``g``."""
    print(g.steps())


def _verify(f, wrt, claim, label, shapes, of, options):
    name = getattr(wrt, "name", wrt)
    print(f"verify ∂{of}/∂{name} = {claim}   ({label})")
    verdict = mc.verify(f, wrt, claim, shapes, **options)
    print("\n".join("  " + line for line in str(verdict).splitlines()))
    return verdict


def verify_claims(f, wrt, notes, mistake, what, diagnosis, shapes=None, of="f", **options):
    """Verify ``notes``, the result the notes state, and ``mistake``, a classic wrong answer (``what``
    says which), as the derivative of ``f`` w.r.t. ``wrt`` — claims are strings in numpy notation,
    or expressions — and print both verdicts. Exit with status 1 unless the notes' result is
    judged correct and the mistake wrong, with the category ``diagnosis`` ("factor", ...; None:
    any)."""
    verdict = _verify(f, wrt, notes, "the notes' result", shapes, of, options)
    if not verdict.correct:
        fail(f"verify judges the notes' result {notes} {verdict.category}")
    verdict = _verify(f, wrt, mistake, f"a classic mistake: {what}", shapes, of, options)
    if verdict.correct:
        fail(f"verify judges the mistake {mistake} correct")
    if diagnosis is not None and verdict.category != diagnosis:
        fail(f"verify diagnoses the mistake {mistake} as {verdict.category}, not {diagnosis}")


def evaluate(e, values):
    """The value of the expression ``e`` with its variables taken from ``values`` by name."""
    return e.to_numpy()(**{v.name: values[v.name] for v in e.free_vars})


def run_stages(g, inputs):
    """The values of a staged program's stages (forward pass) and of the backward signals δs of
    its derivative ``g`` (backward pass) at ``inputs``, all by name."""
    values = dict(inputs)
    for name in g.program.order:
        values[name] = evaluate(g.program.stages[name], values)
    for delta, expression, _ in g.signals.values():
        values[delta.name] = evaluate(expression, values)
    return values
