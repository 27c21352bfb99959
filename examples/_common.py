"""Helpers shared by the example scripts (not an example itself).

Each example derives a gradient with matcalc, prints it with its finite-difference check, and
compares it on random inputs with the hand formula of the course notes, written in numpy.
Any mismatch ends the script with exit status 1.
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
