"""Printers: one per target (text, LaTeX, numpy source)."""
