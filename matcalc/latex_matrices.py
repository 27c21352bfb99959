r"""Matrices written entry by entry, read as the general entry they show.

    \begin{pmatrix} p_1 (1 - p_1) & -p_1 p_2 & \cdots & -p_1 p_n \\
                    -p_2 p_1 & p_2 (1 - p_2) & \cdots & -p_2 p_n \\
                    \vdots & & \ddots & \vdots \\
                    -p_n p_1 & -p_n p_2 & \cdots & p_n (1 - p_n) \end{pmatrix}

is the matrix whose (i, j) entry is ``-p_i p_j`` off the diagonal and ``p_i (1 - p_i)`` on it.

The rows and columns shown carry labels (``1``, ``2``, ``n``): a row's label is the subscript
that all its entries share, a column's likewise (an entry with no subscript, ``0``, fits any).
Each entry shown is rewritten with ``i`` for its row's label and ``j`` for its column's; the
entries off the diagonal must then all read the same, and those on it too, or the matrix shows
no single pattern and is refused (with two entries that differ). The matrix is then the claim
in index notation — ``(1 - 1_{i=j}) (off) + 1_{i=j} (diagonal)`` with ``i`` and ``j`` free — which
``index_notation`` puts in matrix form. A single column (``\begin{pmatrix} x_1 y_1 \\ \vdots \\
x_n y_n \end{pmatrix}``) is the vector of its entries, a single row its transpose. Ellipses (``\cdots``, ``\vdots``,
``\ddots``, ``...``) and empty cells stand for the entries not shown.
"""
from __future__ import annotations

import re

from .errors import ParseError

_ENVIRONMENTS = ("pmatrix", "bmatrix", "Bmatrix", "matrix", "smallmatrix", "array")
# the whole right side: an optional sign, \left( or [, the environment, \right) or ]
_MATRIX = re.compile(r"^\s*(?P<sign>-)?\s*(?:\\left\s*[(\[]|[(\[])?\s*\\begin\s*\{(?P<env>[A-Za-z]+)\}"
                     r"(?:\s*\{[^{}]*\})?(?P<body>.*)\\end\s*\{(?P=env)\}\s*(?:\\right\s*[)\]]|[)\]])?"
                     r"\s*(?P<transposed>\^\s*(?:\{\s*(?:T|\\top|\\intercal)\s*\}|T|\\top))?\s*$", re.S)
_ELLIPSES = re.compile(r"\\[cldv]?dots|\\ddots|\.\.\.|…|⋯|⋮|⋱|\\cdot\s*\\cdot\s*\\cdot")
_SUBSCRIPT = re.compile(r"_\s*(?:\{(?P<group>[^{}]*)\}|(?P<one>[A-Za-z0-9]))")
# the index group of a sum: \sum_i, \sum_{i=1}, \sum_{i,j}, \sum\limits_i
_SUM_INDICES = re.compile(r"\\sum\s*(?:\\limits\s*)?_\s*(\{[^{}]*\}|[A-Za-z])")
_INDEX_PAIRS = (("i", "j"), ("k", "l"), ("p", "q"), ("r", "s"))


# a vector written as a tuple, (a_1, \ldots, a_n) — a row — or (a_1, \ldots, a_n)^T, a column
_TUPLE = re.compile(r"^\s*(?P<sign>-)?\s*(?:\\left\s*)?\(\s*(?P<body>[^()]*(?:\([^()]*\)[^()]*)*)(?:\\right\s*)?\)"
                    r"\s*(?P<transposed>\^\s*(?:\{\s*(?:T|\\top|\\intercal)\s*\}|T|\\top))?\s*$", re.S)


def _tuple_as_matrix(claim: str):
    """``(a_1, \\ldots, a_n)^T`` written as the one-row ``pmatrix`` it is, or None for anything else."""
    m = _TUPLE.match(claim)
    if m is None or not _ELLIPSES.search(m.group("body")):
        return None
    cells = [cell.strip() for cell in top_level_split(re.sub(r"\\right\s*$", "", m.group("body").strip()), ",")]
    if len(cells) < 3:
        return None
    return (f"{m.group('sign') or ''}\\begin{{pmatrix}} {' & '.join(cells)} \\end{{pmatrix}}"
            f"{m.group('transposed') or ''}")


def top_level_split(text: str, separator: str) -> list:
    """``text`` split at ``separator`` outside every bracket and brace (and not after a backslash)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        if ch in "({[":
            depth += 1
        elif ch in ")}]":
            depth -= 1
        elif ch == separator and depth == 0 and text[i - 1:i] != "\\":
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in parts if p.strip()] or [""]


def sum_indices(text: str) -> set:
    """The letters ``text`` sums over (``\\sum_{i=1}^N``: i; ``\\sum_{i,j}``: i, j)."""
    return {letter for group in _SUM_INDICES.findall(text) for letter in re.findall("[a-z]", group.split("=")[0])}


def entry_matrix(claim: str):
    """``(claim in index notation, free indices, whether it is a row)`` for a right side that is a
    matrix written entry by entry, or ``None`` for any other right side. A row's entries are
    given as a column (one free index) that is to be transposed."""
    m = _MATRIX.match(_tuple_as_matrix(claim) or claim)
    if m is None:
        return None
    claim = m.string
    if m.group("env") not in _ENVIRONMENTS:
        raise ParseError(f"a {m.group('env')} environment is not read (a matrix is pmatrix, bmatrix or matrix)",
                         claim, claim.find("\\begin"))
    body = m.group("body")
    rows = [[cell.strip() for cell in row] for row in _cells(body)]
    rows = [row for row in rows if not all(_is_ellipsis(cell) for cell in row)]
    if not rows:
        raise ParseError("a matrix with no entries", claim, 0)
    bound = sum_indices(body)
    i, j = next((pair for pair in _INDEX_PAIRS if not any(re.search(rf"(?<![A-Za-z\\]){x}(?![A-Za-z])", body)
                                                         for x in pair)), (None, None))
    if i is None:
        raise ParseError("no index letters are free to read this matrix with", claim, 0)
    width = max(len(row) for row in rows)
    shown = {(r, c): cell for r, row in enumerate(rows) for c, cell in enumerate(row) if not _is_ellipsis(cell)}
    row_labels = [_shared_label([shown[(r, c)] for c in range(width) if (r, c) in shown], bound, claim, "row")
                  for r in range(len(rows))]
    column_labels = [_shared_label([shown[(r, c)] for r in range(len(rows)) if (r, c) in shown], bound, claim,
                                   "column") for c in range(width)]
    _in_order(row_labels, claim, "row")
    _in_order(column_labels, claim, "column")
    if len(rows) == 1 and any(label is not None for label in column_labels):   # a row: its columns are i
        row_labels, column_labels = column_labels, [None]
        shown = {(c, 0): cell for (_, c), cell in shown.items()}
    if all(label is None for label in row_labels):
        raise ParseError("a matrix written entry by entry is read from its entries' subscripts, and these do not "
                         "say which row each is in (a subscript every entry of a row shares: x_1, …, x_n)", claim, 0)
    column = all(label is None for label in column_labels)   # (a row is read as a column, then transposed)
    off: dict = {}
    diagonal: dict = {}
    for (r, c), cell in shown.items():
        rl, cl = row_labels[r], column_labels[c]
        labels = {rl: i} if rl is not None and rl == cl else {k: v for k, v in ((rl, i), (cl, j)) if k is not None}
        template = _relabelled(cell, labels, bound)
        (diagonal if rl is not None and rl == cl else off).setdefault(re.sub(r"\s+", "", template), (template, cell))
    for kind, found in (("off the diagonal", off), ("on the diagonal", diagonal)):
        if len(found) > 1:
            (_, first), (_, second) = list(found.values())[:2]
            raise ParseError(f"the entries shown {kind} follow no single pattern: {first} and {second} differ "
                             f"in more than their row and column", claim, claim.find(second))
    sign = "-" if m.group("sign") else ""
    transposed = m.group("transposed") is not None   # [a_1 ⋯ a_n]^T: a column
    if column:
        return f"{sign}({_only(off or diagonal)})", (i,), (len(rows) == 1) != transposed
    free = (j, i) if transposed else (i, j)   # (the (i, j) entry of a transpose is the (j, i) one)
    if not diagonal:
        return f"{sign}({_only(off)})", free, False
    if not off:
        return f"{sign}1_{{{i}={j}}} ({_only(diagonal)})", free, False
    off_text, diagonal_text = _only(off), _only(diagonal)
    if re.sub(r"\s+", "", _relabelled(off_text, {j: i}, bound)) == re.sub(r"\s+", "", diagonal_text):
        return f"{sign}({off_text})", free, False   # one pattern everywhere
    return f"{sign}((1 - 1_{{{i}={j}}}) ({off_text}) + 1_{{{i}={j}}} ({diagonal_text}))", free, False


def _in_order(labels: list, claim: str, kind: str):
    """Refuse labels that do not run 1, 2, … (or 0, 1, …) and end at the size: ``x_2, x_1`` (a
    permutation), ``x_1, …, x_{n-1}`` (one short), ``x_2, …, x_{n+1}`` (shifted) would read as x."""
    shown = [label for label in labels if label is not None]
    numbers = []
    while len(numbers) < len(shown) and shown[len(numbers)].isdigit():
        numbers.append(int(shown[len(numbers)]))
    ends = [re.fullmatch(r"([A-Za-z]+)(?:-([0-9]+))?", label) for label in shown[len(numbers):]]
    offsets = [int(m.group(2) or 0) for m in ends if m is not None]
    starts = bool(numbers) and numbers[0] in (0, 1) and numbers == list(range(numbers[0], numbers[0] + len(numbers)))
    ends_well = all(m is not None for m in ends) and len({m.group(1) for m in ends}) <= 1 and (
        not offsets or offsets == list(range(offsets[0], offsets[0] - len(offsets), -1))
        and offsets[-1] <= (0 if numbers and numbers[0] == 1 else 1))   # …, n (from 1); …, n − 1 or n (from 0)
    if shown and not (starts and ends_well):
        raise ParseError(f"the {kind}s shown are labelled {', '.join(shown)}: a matrix written entry by entry is "
                         f"read when they run 1, 2, …, n (or 0, 1, …, n − 1) in order", claim, 0)


def _only(found: dict) -> str:
    return next(iter(found.values()))[0]


def _cells(body: str) -> list:
    """The rows of an environment's body (split at ``\\\\``), each a list of its cells (split at ``&``),
    outside braces."""
    rows, row, cell, depth, k = [], [], [], 0, 0
    while k < len(body):
        ch = body[k]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        if depth == 0 and body.startswith("\\\\", k):
            row.append("".join(cell))
            rows.append(row)
            row, cell = [], []
            k += 2
            continue
        if depth == 0 and ch == "&" and body[k - 1:k] != "\\":
            row.append("".join(cell))
            cell = []
        else:
            cell.append(ch)
        k += 1
    row.append("".join(cell))
    rows.append(row)
    return [r for r in rows if any(c.strip() for c in r)]


def _is_ellipsis(cell: str) -> bool:
    return not _ELLIPSES.sub("", cell).strip()


def _atoms(content: str) -> list:
    """The labels in one subscript: ``{1,2}`` and ``{12}`` have two, ``{n-1}`` one."""
    content = re.sub(r"\s+", "", content)
    if "," in content:
        return content.split(",")
    if re.fullmatch(r"[A-Za-z0-9]{2}", content):
        return [content[0], content[1]]
    return [content]


def _subscript_atoms(cell: str, bound: set) -> set:
    atoms = set()
    for m in _SUBSCRIPT.finditer(cell):
        atoms.update(a for a in _atoms(m.group("group") if m.group("group") is not None else m.group("one"))
                     if a and a not in bound and "=" not in a)
    return atoms


def _shared_label(cells: list, bound: set, claim: str, kind: str):
    """The one subscript all ``cells`` with subscripts share (a row's or column's label), or None."""
    common = None
    for cell in cells:
        atoms = _subscript_atoms(cell, bound)
        if atoms:
            common = atoms if common is None else common & atoms
    if not common:
        return None
    if len(common) > 1:
        raise ParseError(f"cannot tell which subscript labels this {kind}: its entries share "
                         f"{', '.join(sorted(common))}", claim, claim.find(cells[0]))
    return next(iter(common))


def _relabelled(cell: str, labels: dict, bound: set) -> str:
    """``cell`` with each subscript label in ``labels`` replaced by its index letter."""
    def replace(m):
        content = m.group("group") if m.group("group") is not None else m.group("one")
        atoms = _atoms(content)
        if not any(a in labels for a in atoms) or any(a in bound or "=" in a for a in atoms):
            return m.group(0)
        return "_{" + ",".join(labels.get(a, a) for a in atoms) + "}"
    return _SUBSCRIPT.sub(replace, cell)
