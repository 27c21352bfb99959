r"""Reading LaTeX: what people write for a matrix derivative, and what matcalc prints.

    \nabla_x f = 2A^\top A x - 2A^\top b         \frac{\partial L}{\partial W} = (W x - y) x^{T}
    \sigma(w^T x)(1 - \sigma(w^T x)) x          \operatorname{tr}(A X^{-1} B)
    \left\| A x - b \right\|_2^2                (Q Q^\top)^{-1} Q, \quad \text{where } …

A front end beside the numpy and MATLAB ones: it makes the same syntax tree (``parse.Node``) for
the one expression builder, which decides by shapes what a product means. The conventions:

- juxtaposition is a product — a matrix product, or a scaling where a side is a scalar (as
  MATLAB's ``*``); ``\cdot``, ``\times``, ``*`` and ``.`` are that product too (``a \cdot b`` of two
  vectors their inner product, ``A * B`` of two matrices of one shape, as Ng writes, their elementwise
  one; two vectors side by side, ``σ(z)(1 − σ(z))``, their elementwise product, with a
  ``ReadingWarning``); ``\odot`` and ``\circ`` the elementwise one; ``\oslash``, ``/`` and ``\frac``
  divide; ``\otimes`` is Kronecker's;
- ``^T``, ``^{T}``, ``^\top``, ``^\intercal``, ``^t``, ``^\prime`` and ``'`` transpose; ``^{-1}``
  inverts a matrix (a scalar's reciprocal), ``^{-\top}`` inverts and transposes; ``^{\circ k}``
  is an elementwise power and ``^k`` a power (of a square matrix: the matrix power);
- a run of letters is a declared name where there is one (``lam``, ``invden``), else a name per
  letter (``Ax`` is ``A x``); ``W_1``, ``W_{1}`` and ``W^{(1)}`` are ``W1`` (or ``W_1``, or ``W``
  alone, whichever is declared); Greek letters are their names (``\lambda`` is ``lam`` or
  ``lambda``, whichever is declared); ``\mathbf``, ``\boldsymbol`` and the like are dropped;
  ``\mathbf{1}`` is a vector of ones and an undeclared ``I`` the identity, sized by their use;
- functions: ``\sigma`` (σ; ``\sigma'`` is σ ⊙ (1 − σ)), ``\exp`` and ``e^{…}``, ``\log``,
  ``\ln``, ``\tanh`` (and ``\tanh'``), ``\sin``, …, ``\det``, ``\log\det``, the trace however
  it is spelt (``\operatorname{tr}``, ``\mathrm{Tr}``, ``\mbox{tr}``, ``{\rm tr}``, ``tr``,
  ``trace``), ``\operatorname{diag}``, ``\operatorname{softmax}``, ``\sqrt``; the argument is
  in parentheses, or is the product that follows (``\log\det X``, ``\operatorname{tr} A B``);
- ``\|x\|``, ``\lVert x \rVert``, ``‖x‖`` (any subscript: 2, F) are the norm, ``|x|`` the
  absolute value;
- unicode is read as its LaTeX (``xᵀ``, ``⊙``, ``σ``, ``−``, ``‖``, ``²``, ``⁻¹``, math italic
  letters); ``$…$`` (and the words around it), ``\left``/``\right`` and spacing are ignored;
- an equation ``lhs = … = rhs`` gives its last side (a final ``= 0`` is dropped); a left side
  ``\nabla_X f``, ``\frac{\partial f}{\partial X}`` or ``∂f/∂X`` names the variable it is the
  derivative by (``Reading.label``);
- ``…, \text{where } s = …, p = …`` defines names used before it (matcalc's own output).

- index sums: ``\sum_i x_i^2``, ``\sum_{i=1}^{N} a_i b_i``, ``\sum_i \log(1 + e^{-y_i w^T x_i})``,
  ``\sum_{i,j} A_{ij} x_i x_j``: inside a sum over ``i``, ``y_i`` is an entry of a vector ``y``,
  ``A_{ij}`` of a matrix, and ``x_i`` the i-th row of a matrix ``X`` (as a column) where no vector
  ``x`` is declared; ``(W x - y)_i`` is an entry of a vector, ``1_{i=j}`` and ``\delta_{ij}``
  Kronecker's delta; a left side ``\partial L / \partial W_{ij}`` leaves ``i`` and ``j`` free
  (the claim is the matrix of those entries); ``index_notation`` turns them into matrix form.

- a right side that is a matrix written entry by entry (``\begin{pmatrix} p_1 (1 - p_1) & -p_1 p_2 &
  \cdots \\ \vdots & & \ddots \end{pmatrix}``) is the matrix of the general entry its entries
  show, off and on the diagonal (``latex_matrices``); a superscript letter on a name is a layer's
  label (``z^{L}``, ``Z^{O}``, ``W^{[1]}``), as ``W^{(1)}`` is.

Derivatives written inside the claim, and matrices written entry by entry anywhere but as a
whole right side, are refused with a ``ParseError`` that says so.

A claim (``verify``) is read with more: ``latex_claims`` makes its text plain and finds its left
side, its definitions, the prose and ``⇒`` around it; ``latex_context`` gives names it never
defines the meaning the function it is about holds for them (``p``, ``\hat{y}``, ``z_l``), each
such reading a guess said in a ``ReadingWarning``.
"""
from __future__ import annotations

import re
import warnings
from collections import Counter
from dataclasses import dataclass

from .errors import ParseError, ReadingWarning
from .latex_claims import (
    AT_A_POINT,
    DECORATED,
    ENTRY_NAME,
    ENTRY_ONLY,
    PYTHON_CODE,
    chained,
    definition_name,
    free_indices,
    fresh_name,
    function_named,
    math_part,
    normalized,
    order_named,
    renamed,
    split_definitions,
    typography,
    without_other_functions,
    without_prose,
)
from .latex_context import Context, is_probability, layer_kinds, layers_of, prediction_of, probability_parts
from .latex_matrices import entry_matrix, sum_indices, top_level_split
from .ops import FUNCTIONS
from .parse import MAX_DEPTH, MAX_SOURCE_LENGTH, Node
from .printing.infix import GREEK as GREEK_CHARACTERS
from .printing.latex import GREEK_LATEX, to_latex
from .printing.text import to_text

_SPELLINGS: dict = {}   # a Greek letter -> the names matcalc prints as it (lambda: lam, lambda, lmbda, …)
for _name, _macro in GREEK_LATEX.items():
    _SPELLINGS.setdefault(_macro[1:], []).append(_name)

# function words -> matcalc's function: its own names, and the spellings of textbooks
_FUNCTION_WORDS = {**{name: name for name, f in FUNCTIONS.items() if f.signature != "dims"},
                   "tr": "trace", "Tr": "trace", "Trace": "trace", "Diag": "diag", "ln": "log", "ReLU": "relu",
                   "sgn": "sign",
                   "chol": "cholesky", "GELU": "gelu", "SiLU": "silu", "eigvals": "eigvalsh"}
_FUNCTION_COMMANDS = {**{"\\" + name: name for name in ("exp", "log", "sin", "cos", "tan", "tanh", "sinh", "cosh",
                                                         "arcsin", "arccos", "arctan", "det")},
                      r"\ln": "log", r"\tr": "trace", r"\Tr": "trace", r"\diag": "diag"}
# commands that are functions only where they are applied (else the Greek letter, a name)
_APPLIED_GREEK = {r"\sigma": "sigmoid", r"\Phi": "normcdf", r"\phi": "normpdf"}
_WORD_COMMANDS = (r"\operatorname", r"\mathrm", r"\text", r"\textrm", r"\mbox", r"\rm", r"\mathit", r"\textit",
                  r"\operatorname*")
_DROPPED_WRAPPERS = (r"\mathbf", r"\boldsymbol", r"\bm", r"\mathnormal", r"\vec", r"\mathsf", r"\pmb",
                     r"\mathbb", r"\underline", r"\boxed")
# the combining marks a decorated name is shown with (ŷ, x̄, x̃)
_MARKS = {"hat": "\u0302", "bar": "\u0304", "tilde": "\u0303"}
# decorations that make another name (ŷ is not y): the mark each stands for
_DECORATIONS = {r"\hat": "hat", r"\widehat": "hat", r"\tilde": "tilde", r"\widetilde": "tilde", r"\bar": "bar",
                r"\overline": "bar"}
_IGNORED = {r"\left", r"\right", r"\big", r"\Big", r"\bigg", r"\Bigg", r"\bigl", r"\bigr", r"\Bigl", r"\Bigr",
            r"\biggl", r"\biggr", r"\,", r"\;", r"\:", r"\!", r"\ ", r"\quad", r"\qquad", r"\displaystyle",
            r"\bf", r"\it", r"\sf", r"\cal",   # ({\bf A}: A)
            r"\textstyle", "&", r"\\", "~", r"\limits", r"\nolimits"}
_PRODUCTS = {r"\cdot": "cdot", r"\times": "mtimes", "*": "star", r"\odot": "mul", r"\circ": "mul",
             r"\oslash": "div", "/": "div", r"\otimes": "kron"}
_TRANSPOSE_MARKS = {"T", "t", r"\top", r"\intercal", r"\prime", r"\mathsf{T}", r"\mathrm{T}", r"\textsf{T}"}
_OPEN = {"(": ")", "[": "]", r"\{": r"\}", r"\lbrack": r"\rbrack", r"\lparen": r"\rparen"}
_REFUSED = {
    r"\prod": "products over an index are not read; write the matrix form",
    r"\int": "integrals are not read",
    r"\partial": "a derivative inside the expression is not read; write what it equals",
    r"\nabla": "a gradient inside the expression is not read; write what it equals",
    r"\begin": "a matrix written entry by entry is read only as a whole right side (… = \\begin{pmatrix} … "
              "\\end{pmatrix}); elsewhere write the matrix form (diag(p) - p p^T)",
    r"\vdots": "'⋮' is read only in a matrix that is a whole right side",
    r"\ddots": "'⋱' is read only in a matrix that is a whole right side",
    r"\ldots": "'…' is not read; write the matrix form",
    r"\cdots": "'⋯' is not read; write the matrix form",
    r"\dots": "'…' is not read; write the matrix form",
}
_CONSTANT_ONES = "onecol"    # a column of ones (parse.Builder sizes it by its use)
_SPACING_COMMANDS = {r"\,", r"\;", r"\:", r"\ ", r"\quad", r"\qquad", "~"}
# the comparisons of an indicator 1{a > b}: which side is the larger
_COMPARISONS = {">": ">", r"\gt": ">", r"\geq": ">", r"\ge": ">", "≥": ">", r"\geqslant": ">",
                "<": "<", r"\lt": "<", r"\leq": "<", r"\le": "<", "≤": "<", r"\leqslant": "<"}


@dataclass
class Reading:
    """A LaTeX input read: the syntax ``tree`` of its expression, the ``text`` its positions are
    in, the variable name its left side names (``\\nabla_X f = …``: ``"X"``), if it has one, and
    the indices of the entry that left side names (``\\partial L / \\partial W_{ij}``: ``("i", "j")``),
    which the expression leaves free."""
    tree: Node
    text: str
    label: str | None
    indices: tuple = ()
    row: bool = False   # the entries (of a matrix written as one row) make a row: the column of them transposed
    steps: tuple = ()   # the sides between the left side and the last (∇f = 2Ax = (A + Aᵀ)x: "2Ax")
    order: int | None = None   # the order of the derivative the left side names (f'(t): 1, ∇²f: 2), where it says
    by_transpose: bool = False   # the left side is by Xᵀ (∂f/∂Xᵀ: for a scalar f, the transposed gradient)
    of_transpose: bool = False   # the left side is of yᵀ (∂yᵀ/∂x: the Jacobian transposed)


@dataclass(frozen=True)
class _Token:
    kind: str   # "cmd", "name", "func", "num", "sym", "end"
    text: str
    pos: int


def read_latex(source: str, names, guess_case: bool = False, shapes=None, fixed=frozenset(), context=None,
               by: str | None = None, sizes=frozenset()) -> Reading:
    r"""The expression in the LaTeX ``source`` (see the module docstring); ``names`` are the
    declared variable names, which decide how runs of letters split. ``guess_case``: where only
    names are allowed (a claim), an undeclared letter whose other case is declared is read as that
    (``W^t x_i`` beside a declared ``w``), with a ``ReadingWarning``. ``shapes``: the declared
    names' shapes, where known (``w_1`` of a scalar ``w`` is a layer's ``w``, of a vector an entry;
    ``|X|`` of a square matrix is its determinant; a sum's range is checked against what its index
    runs over); ``fixed``: the names no definition after the claim may give a value (the
    function's variables); ``context``: the function a claim is about, whose parts an undefined
    function of its variables stands for (``p_i(\mathbf{a})`` beside ``‖softmax(a) − y‖²``); ``by``: the
    variable the claim's derivative is by (an undeclared θ is read as it); ``sizes``: the names among
    ``names`` that are a dimension's size (``H`` of W1: H×D, which ``h`` of a network is not)."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ParseError(f"input too long ({len(source)} characters; the limit is {MAX_SOURCE_LENGTH})")
    code = PYTHON_CODE.search(source)
    if code is not None:
        raise ParseError(f"this is Python code ({code.group().strip()}), not LaTeX: give the claim as one expression "
                         "in numpy syntax (syntax=\"numpy\")", source, code.start())
    text, prose = math_part(normalized(source))
    text = typography(text)
    main, definitions = split_definitions(text)
    tail = text[len(main):]   # the definitions, as written (a step of a chain is read with them)
    main, stated = chained(main, fixed)   # (ŷ = 2Xw ⇒ ∇f = …: a definition, as if after the claim)
    definitions = list(definitions) + stated
    tail += "".join(f", \\quad {name} = {body}" for name, body in stated)
    main, worded = without_prose(main)
    worded = worded or prose
    definitions = [(name, without_prose(body)[0]) for name, body in definitions]
    names = set(names)
    for name_text, _ in definitions:   # x = (AᵀA)⁻¹Aᵀb after a claim about x: not a definition to substitute
        if name_text.strip() in fixed:
            raise ParseError(f"{name_text.strip()} is a variable: what follows the claim may define new names only",
                             text, text.find(name_text))
    defined_names, entry_letters, diagonals = [], {}, set()
    for name_text, _ in definitions:
        entry = ENTRY_NAME.fullmatch(name_text.strip())
        diagonal = _DIAGONAL_NAME.fullmatch(name_text.strip())
        uses = text.replace(name_text, "", 1)   # (used in the claim, or in another definition)
        if diagonal is not None and (diagonal.group(1) not in names or diagonal.group(1) in sizes):
            # R_{nn} = y_n (1 - y_n): R = diag(…) (a D of D_{ii} = … is that, not the size D)
            name = diagonal.group(1)
            entry_letters[name] = diagonal.group(2)
            diagonals.add(name)
        elif entry is not None and re.search(rf"{re.escape(entry.group(1))}\s*_\s*\{{?\s*[a-z]", uses) \
                and entry.group(1).lstrip("\\") not in names:   # y_n = σ(w^T φ_n): y, by its entries
            name = next((n for n in _spellings(entry.group(1).lstrip("\\")) or () if n in names),
                        entry.group(1).lstrip("\\"))
            entry_letters[name] = entry.group(2)
        elif DECORATED.search(name_text):   # \hat{y}, a^{(1)}: written as a fresh plain name wherever it occurs
            name = fresh_name(name_text, names | set(defined_names))
            main = renamed(main, name_text, name)
            definitions = [(t, renamed(b, name_text, name)) for t, b in definitions]
        else:
            name = definition_name(name_text.strip(), names)
        defined_names.append(name)
    defined = [(name, body) for name, (_, body) in zip(defined_names, definitions)]
    names |= set(defined_names)
    sides = top_level_split(main, "=")
    while len(sides) > 1 and sides[-1].strip() in ("0", "{0}", r"\mathbf{0}", r"\boldsymbol{0}"):
        sides.pop()   # 2 A^T A x - 2 A^T y = 0: the normal equations, a gradient set to zero
    claim = sides[-1].strip()
    row = False
    label, indices, transposed = _label(sides[0], names, guess_case) if len(sides) > 1 else (None, (), False)
    if guess_case and not indices and r"\begin" not in claim:   # (a claim: = 2 \sum_i (p_i - y_i) p_i (1_{i=j} - p_j))
        indices = free_indices(claim, names)
        if indices:
            free = ", ".join(indices)
            warnings.warn(ReadingWarning(f"{free}, free in the claim, is read as the index of its entries"),
                          stacklevel=2)
    if len(sides) > 1 and context is not None:
        claim = without_other_functions(claim, sides[0], names, context)
    if len(sides) > 1 and AT_A_POINT.search(sides[0]):
        raise ParseError("the left side is the derivative at a point; matcalc judges the derivative as a function "
                         "of the variables (write ∇f, not ∇f(0))", text, 0)
    # the steps of a chain, each as a claim of its own (with the left side and the definitions): the left
    # side is the first side where it names the derivative, else the first side is a step too
    differential = re.match(r"\s*(?:\\mathrm\s*\{\s*d\s*\}|d)\s*(?:[A-Za-z]|\\left|\()", sides[0]) is not None \
        and len(sides) > 1   # d f = …, d(‖Xw − y‖²) = …: the left side, not a step
    first = 1 if label is not None or indices or transposed or differential or order_named(sides[0]) is not None else 0
    steps = tuple(f"{sides[0]} = {side}{tail}" if first else f"{side}{tail}" for side in sides[first:-1]
                  if not re.search(r"\\partial|\\nabla", side))   # (∂L/∂a ∂a/∂z …: the chain rule, not a value)
    if not claim:
        raise ParseError("empty expression", text, len(text))
    matrix = entry_matrix(claim)
    if matrix is not None:   # \begin{pmatrix} p_1 (1 - p_1) & -p_1 p_2 & \cdots … : its (i, j) entry
        if indices:
            raise ParseError("the left side names one entry, the right side is a whole matrix", claim, 0)
        claim, indices, row = matrix
    about = Context(context, function_named(sides[0]) if len(sides) > 1 else "f", layer_kinds(text), by,
                    frozenset(sizes), text) if context is not None and not worded else None
    claim = _with_missing_opener(claim, lambda text: _Parser(text, names, guess_case, indices, shapes, about),
                                 set(indices))
    tree = _Parser(claim, names, guess_case, indices, shapes, about).parse()
    if indices and r"\sum" not in claim and _einstein_letters(claim, names):   # A_{kj} x_j: summed over j
        tree = _implicit_sums(tree, set(indices), claim)
    letters = tuple(sorted(set(entry_letters.values())))   # (an entry's index, wherever a definition uses it)
    bodies = [(name, _Parser(body.strip(), names, guess_case, letters, shapes, about).parse())
              for name, body in defined]
    for name, (written, _) in zip(defined_names, definitions):
        if not _uses(tree, {name}) and not any(_uses(body, {name}) for _, body in bodies):
            raise ParseError(f"the definition of {written.strip()} is not used in the claim (a diagonal's definition, "
                             "D_{ii} = …, is not read: define the whole matrix or vector)", text, text.find(written))
    for _ in range(len(bodies)):   # s = σ(…) defined after its use, in any order: until none is left
        if not _uses(tree, {name for name, _ in bodies}):
            break
        for name, body in bodies:
            if name in diagonals:   # (diag of an expression with one free index: the diagonal matrix of its entries)
                tree = _substitute(tree, name, Node("call", body.pos, "diag", [body]))
            else:
                tree = _substitute(tree, name, body, entry_letters.get(name))
    if _uses(tree, {name for name, _ in bodies}):
        raise ParseError("the definitions after the claim refer to each other in a circle", text, len(main))
    return Reading(tree, claim, label, indices, row, steps, by_transpose=transposed,
                   of_transpose=bool(re.search(r"\\frac\s*\{\s*\\partial\s*\\?[A-Za-z]+\s*\^\s*\{?\s*(?:T|\\top)\s*\}?\s*\}",
                                               sides[0])) if len(sides) > 1 else False,
                   order=order_named(sides[0]) if len(sides) > 1 else None)


def _label(side: str, names, guess_case: bool = False) -> tuple:
    """``(variable, indices, transposed)``: the variable a left side ``\\nabla_X f``,
    ``\\frac{\\partial f}{\\partial X}`` or ``∂f/∂X`` names, if it is one of ``names``, the indices of
    the entry it names (``\\partial w_j``: ``("j",)``, ``\\partial W_{ij}``: ``("i", "j")``), and
    whether it is the derivative w.r.t. the transpose (``\\partial X^\\top``: the claim is the
    transpose of the one w.r.t. X). A derivative w.r.t. another expression of a variable
    (``\\partial \\Sigma^{-1}``, ``\\partial \\sigma^2``) is refused: it is not the one asked for."""
    found = None
    ng = re.fullmatch(r"\s*d\s*(\\?[A-Za-z]+\s*(?:[\^_]\s*(?:\{[^{}]*\}|[A-Za-z0-9])\s*)*)", side)
    if ng is not None:   # dW^{[2]} = … (Ng's name for ∂L/∂W^{[2]})
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ReadingWarning)
                tree = _Parser(ng.group(1), names, guess_case).parse()
        except ParseError:
            tree = None
        if tree is not None and tree.kind == "name" and tree.text in names:
            return tree.text, (), False
    bare = ENTRY_ONLY.fullmatch(side.strip())   # \partial_k f, \partial_k \partial_l f, H_{ij}: an entry, no variable
    if bare is not None and (bare.group("name") or "") not in names:
        return None, tuple(i for i in bare.group("i", "j", "k", "l") if i), False
    second = _SECOND_PARTIALS.search(side)   # \frac{\partial^2 f}{\partial x_i \partial x_j}
    if second is not None and second.group(1) == second.group(3) and second.group(1).lstrip("\\") in names:
        return second.group(1).lstrip("\\"), (second.group(2), second.group(4)), False
    m = re.search(r"\\nabla\s*_\s*(\{(?:[^{}]|\{[^{}]*\})*\}|\\?[A-Za-z]+)", side) \
        or re.search(r"\\nabla\s*(\\?[A-Za-z]+)", side)
    if m is not None:
        found = m.group(1)
    else:
        m = _LAST_PARTIAL.search(side.strip()) or _OPERATOR_PARTIAL.search(side) or _SUBSCRIPT_PARTIAL.search(side) \
            or ([None, *_DENOMINATOR.finditer(side)][-1])
        if m is not None:
            found = m.group(1)
    if found is None:
        return None, (), False
    found = found.strip()
    if found.startswith("{") and found.endswith("}"):   # \nabla_{X}: the braces' content
        found = found[1:-1]
    square = re.fullmatch(r"(\\?[A-Za-z]+[0-9]*)\s*\^\s*\{?\s*2\s*\}?", found)
    if square is not None and order_named(side) == 2:   # \frac{\partial^2 f}{\partial t^2}: twice by t
        found = square.group(1)
    entry = re.fullmatch(r"(.+?)\s*_\s*\{?\s*([a-z])\s*,?\s*([a-z])?\s*\}?", found)
    indices = ()
    if entry is not None and not entry.group(1).endswith("\\"):
        found, indices = entry.group(1), tuple(i for i in entry.groups()[1:] if i)
    try:
        with warnings.catch_warnings():   # (a case guessed here is guessed, and shown, in the claim too)
            warnings.simplefilter("ignore", ReadingWarning)
            tree = _Parser(found, names, guess_case).parse()
    except ParseError:
        return None, (), False
    if tree.kind == "name" and tree.text not in names and tree.text in _PARAMETERS and indices:
        return None, indices, False   # ∂J/∂θ_j: the entry j (θ, undeclared, is read in the claim)
    if tree.kind == "name" and tree.text in names:
        numerator = _NUMERATOR_ENTRY.search(side)
        if len(indices) == 1 and numerator is not None and numerator.group(1) not in indices:
            indices = (numerator.group(1), indices[0])   # ∂p_i/∂z_j: the (i, j) entry of a Jacobian
        return tree.text, indices, False
    if tree.kind == "T" and tree.children[0].kind == "name" and tree.children[0].text in names and not indices:
        return tree.children[0].text, (), True   # ∂f/∂Xᵀ: the transpose of ∂f/∂X
    vec = tree.children[0] if tree.kind == "T" else tree
    if vec.kind == "call" and vec.text == "vec" and len(vec.children) == 1 and vec.children[0].kind == "name" \
            and vec.children[0].text in names and not indices:   # ∂vec(F)/∂vec(X)^T: the Jacobian by X, as vec
        return vec.children[0].text, (), False
    if _uses(tree, set(names)):
        raise ParseError(f"the left side is a derivative w.r.t. {found.strip()}, an expression of a variable; "
                         "matcalc judges the derivative w.r.t. the variable itself (write that one)", side,
                         side.find(found.strip()))
    return None, (), False


def _with_missing_opener(claim: str, parser, free: set) -> str:
    """``claim`` with the ``(`` that one unmatched ``)`` lacks, where exactly one place for it gives
    a reading (``\frac{1}{n}\\sum_i \\sigma(y_i β^T x_i) - 1).y_i x_i``: only ``(`` before σ leaves no
    index outside its sum), with a ``ReadingWarning``; the claim as it is where no ``)`` is unmatched.
    The ``(`` opens at the level of the ``)``, not between a command or ``^`` and its argument;
    ``parser`` makes a ``_Parser`` of a text, ``free``: the indices the left side names."""
    parens = braces = 0
    close = None
    starts = []   # (position, the parens' and braces' depth there) of each token that may start an operand
    previous = None
    for m in _TOKEN.finditer(claim):
        if m.lastgroup == "space":
            continue
        text = m.group()
        if braces == 0 and parens == 0 and text not in "+-^_=,.)}" and (
                previous is None or previous.lastgroup != "cmd" and previous.group() not in ("^", "_")):
            starts.append(m.start())
        if text == "(":
            parens += 1
        elif text == ")":
            parens -= 1
            if parens < 0:
                close = m.start()
                break
        elif text == "{":
            braces += 1
        elif text == "}":
            braces -= 1
        previous = m
    if close is None:
        return claim
    readings = []
    for start in starts:
        repaired = f"{claim[:start]}({claim[start:]}"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ReadingWarning)
                tree = parser(repaired).parse()
        except ParseError:
            continue
        if not _unbound_indices(tree, free):
            readings.append(repaired)
    if len(readings) != 1:
        raise ParseError("a ')' closes no '('" + (f", and a '(' fits at {len(readings)} places: write it" if readings
                                                  else ""), claim, close)
    shown = " ".join(readings[0].split())
    warnings.warn(ReadingWarning(f"the ')' that closes no '(' is read as closing one that opens here: {shown}"),
                  stacklevel=2)
    return readings[0]


def _unbound_indices(tree: Node, free: set) -> set:
    """The indices of entries in ``tree`` that no sum around them, nor the left side, binds."""
    unbound, stack = set(), [(tree, frozenset(free))]
    while stack:
        node, bound = stack.pop()
        if node.kind == "isum":
            bound = bound | {node.text}
        if node.kind == "indexed" and node.text != "delta" or node.kind == "entry":
            unbound |= {c.text for c in node.children if c.kind == "index"} - bound
        stack.extend((child, bound) for child in node.children)
    return unbound


# \frac{\partial^2 f}{\partial x_i \partial x_j}: the (i, j) entry of a Hessian
_SECOND_PARTIALS = re.compile(r"\\frac\s*\{\s*\\partial\s*\^\s*\{?2\}?[^{}]*\}\s*\{\s*\\partial\s*(\\?[A-Za-z]+)\s*_\s*"
                              r"\{?\s*([a-z])\s*\}?\s*\\partial\s*(\\?[A-Za-z]+)\s*_\s*\{?\s*([a-z])\s*\}?\s*\}")
# \partial_{X_{ij}} (…): the operator, by an entry
_SUBSCRIPT_PARTIAL = re.compile(r"\\partial_\s*\{\s*(\\?[A-Za-z]+\s*_\s*\{?\s*[a-z]\s*,?\s*[a-z]?\s*\}?)\s*\}")

# the whole denominator of \frac{…}{\partial …}: ∂f/∂X^\top, ∂ℓ/∂\Sigma^{-1}
_DENOMINATOR = re.compile(r"\\frac\s*\{(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})*\}\s*\{\s*\\partial\s*"
                          r"((?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})+?)\s*\}")

# the operator \frac{\partial}{\partial x_k} (applied to what follows it on the left side)
_OPERATOR_PARTIAL = re.compile(r"\\frac\s*\{\s*\\partial\s*\}\s*\{\s*\\partial\s*"
                               r"((?:\\[A-Za-z]+\s*\{[^{}]*\})|\\?[A-Za-z]+(?:\s*_\s*\{?[A-Za-z0-9]+\}?)?)\s*\}")

# the numerator of \frac{\partial p_i}{\partial …}, \frac{\partial softmax(z)_i}{…}: an entry's index
_NUMERATOR_ENTRY = re.compile(r"\\frac\s*\{\s*\\partial\s*(?:[^{}]|\{[^{}]*\})*?_\s*\{?\s*([a-z])\s*\}?\s*\}\s*"
                              r"\{\s*\\partial")

# the variable of the last ∂ of a left side: ∂x, \partial \mathbf{x}, \partial w_1, ending the side or its {…}
_LAST_PARTIAL = re.compile(r"\\partial\s*((?:\\[A-Za-z]+\s*\{[^{}]*\})|\\?[A-Za-z]+(?:\s*_\s*\{?[A-Za-z0-9]+\}?)?)"
                           r"\s*\}?\s*$")


def _placed(tree: Node, pos: int) -> Node:
    """``tree`` with every node at ``pos`` (a part of f put where the claim names it)."""
    return Node(tree.kind, pos, tree.text, [_placed(c, pos) for c in tree.children], tree.axis)


# a Greek letter's Latin counterpart, where a claim writes β for the b declared (a guess, said)
_LATIN = {"alpha": "a", "beta": "b", "gamma": "g", "kappa": "k", "lambda": "l", "mu": "m", "nu": "n", "xi": "x",
          "rho": "r", "tau": "t", "phi": "f", "omega": "w", "Gamma": "G", "Lambda": "L", "Sigma": "S"}


# what a program calls its prediction (\text{probs} - Y)
_PREDICTION_WORDS = ("probs", "probas", "prob", "preds", "pred", "yhat")

# the letters a model's parameters go by (∇_θ J(θ) of a declared w)
_PARAMETERS = ("theta", "Theta", "beta", "omega")


def _spellings(letter: str):
    """The names a Greek letter may be declared as (``\\varphi`` as ``phi``), or ``None``."""
    return _SPELLINGS.get(letter) or _SPELLINGS.get(letter.removeprefix("var"))


def _einstein_letters(text: str, names) -> set:
    """The letters that subscript entries in ``text`` (``A_{kj} x_j``: k, j), but no declared names:
    with a left side naming an entry and no ``\\sum``, a letter repeated in a product is summed over
    (Einstein's convention)."""
    letters = set()
    for m in re.finditer(r"_\s*(?:\{\s*([a-z])\s*,?\s*([a-z])?\s*\}|([a-z]))", text):
        letters.update(letter for letter in m.groups() if letter)
    return {letter for letter in letters if letter not in names}


_PRODUCT_OPS = ("mtimes", "mul", "cdot", "period", "star", "matmul", "div")


def _implicit_sums(tree: Node, free: set, text: str) -> Node:
    """``tree`` with Einstein's sums written out: in each product, an index that occurs twice
    (and is not ``free``) is summed there (``W_{ik} exp(W_{ij} x_j)``: Σᵢ W_{ik} exp(Σⱼ W_{ij} x_j))."""
    def visit(node: Node, top: bool) -> tuple:
        product = node.kind == "binop" and node.text in _PRODUCT_OPS or node.kind == "neg"
        if node.kind == "indexed":
            return node, Counter(child.text for child in node.children)
        if node.kind == "entry":
            inner, counts = visit(node.children[0], True)
            return Node("entry", node.pos, node.text, [inner, *node.children[1:]], node.axis), \
                counts + Counter(child.text for child in node.children[1:])
        if node.kind == "binop" and node.text == "div":   # a_k / (b_i b_i): the denominator's sums are its own
            numerator, counts = visit(node.children[0], top)
            denominator, _ = visit(node.children[1], True)
            return Node(node.kind, node.pos, node.text, [numerator, denominator], node.axis), counts
        if node.kind == "binop" and node.text in ("add", "sub"):
            parts = [visit(child, True) for child in node.children]
            counts = Counter(set().union(*(c.keys() for _, c in parts)))
            return Node(node.kind, node.pos, node.text, [p for p, _ in parts], node.axis), counts
        parts = [visit(child, not product) for child in node.children]
        counts = sum((c for _, c in parts), Counter())
        node = Node(node.kind, node.pos, node.text, [p for p, _ in parts], node.axis) if parts else node
        if product and top:
            for letter, times in sorted(counts.items()):
                if times > 2 and letter not in free:   # (a free index is an entry's: its products are entrywise)
                    raise ParseError(f"the index {letter} occurs {times} times in one product (Einstein's "
                                     "convention sums an index that occurs twice)", text, node.pos)
                if times == 2 and letter not in free:
                    node = Node("isum", node.pos, letter, [node])
                    del counts[letter]
        return node, counts
    return visit(tree, True)[0]


def _uses(tree: Node, names: set) -> bool:
    """Whether ``tree`` has a name (or an entry of a name) among ``names``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.kind in ("name", "indexed") and node.text in names:
            return True
        stack.extend(node.children)
    return False


# a diagonal matrix defined by its diagonal: R_{nn} = …
_DIAGONAL_NAME = re.compile(r"([A-Z])\s*_\s*\{\s*([a-z])\s*,?\s*\2\s*\}")


def _substitute(tree: Node, name: str, value: Node, letter: str | None = None) -> Node:
    """``tree`` with ``name`` written as ``value``; where ``value`` gives the entry ``letter`` (a
    definition ``y_n = …``), an entry ``y_k`` as ``value`` with k for that letter."""
    if letter is not None and tree.kind == "indexed" and tree.text == name and len(tree.children) == 1:
        return _reindexed(value, letter, tree.children[0].text)
    if letter is not None and tree.kind == "name" and tree.text == name:
        raise ParseError(f"{name} is defined by its entries ({name}_{letter} = …): write {name}_{letter}", "", tree.pos)
    if tree.kind == "name" and tree.text == name:
        return value
    if tree.kind == "indexed" and tree.text == name:   # p_i of a defined p: the entry of what p stands for
        return Node("entry", tree.pos, "", [value, *tree.children])
    if not tree.children:
        return tree
    return Node(tree.kind, tree.pos, tree.text, [_substitute(c, name, value, letter) for c in tree.children],
                tree.axis)


def _reindexed(tree: Node, old: str, new: str) -> Node:
    """``tree`` with the free index ``old`` written ``new`` (a sum over ``new`` inside would capture it)."""
    if tree.kind == "isum" and tree.text == new and old != new:
        raise ParseError(f"an entry's definition sums over {new}, the index it is used with", "", tree.pos)
    if tree.kind == "index" and tree.text == old:
        return Node("index", tree.pos, new)
    if tree.kind == "isum" and tree.text == old or not tree.children:
        return tree
    return Node(tree.kind, tree.pos, tree.text, [_reindexed(c, old, new) for c in tree.children], tree.axis)


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<cmd>\\(?:[A-Za-z]+\*?|.))
  | (?P<num>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)
  | (?P<letters>[A-Za-z]+[0-9]*)
  | (?P<sym>.)
""", re.VERBOSE | re.DOTALL)


class _Parser:
    """Recursive descent over LaTeX tokens, making ``parse.Node`` trees."""

    def __init__(self, text: str, names, guess_case: bool = False, free=(), shapes=None, about=None):
        self.text = text
        self.about = about   # the function a claim is about, and what its names mean (a ``Context``)
        self.names = set(names)
        self.shapes = dict(shapes or {})   # declared name -> its shape
        self.scalars = {name for name, shape in self.shapes.items() if shape == (1, 1)}
        self.squares = {name for name, (rows, cols) in self.shapes.items() if rows == cols != 1}
        self.guess_case = guess_case
        self.tokens = self._tokenize(text)
        self.i = 0
        self.depth = 0
        self.closers: list = []   # the delimiters that end the groups open now (a norm's \|)
        self.indices: list = list(free)   # the entry's indices, and those of the sums open now (\sum_i …: i)
        # every letter the text uses as an index (in a sum, or the entry its left side names): such a
        # subscript is an index wherever it stands (outside its sum: free, refused unless named)
        self.index_letters = set(free) | sum_indices(text)
        self.einstein = _einstein_letters(text, self.names) if free and r"\sum" not in text else set()
        self.index_letters |= self.einstein
        self._layers = None   # the layers of the network f is, where it is one (``layers``)

    # -- tokens ------------------------------------------------------------------------------------
    def _tokenize(self, text: str) -> list:
        """The tokens of ``text``; ``self.spaced`` gets the positions of those that follow a spacing
        command (``\\,``, ``\\;``, ``\\quad``): the end of an unbracketed function's argument."""
        tokens = []
        self.spaced = set()
        spacing = False
        for m in _TOKEN.finditer(text):
            kind, value, pos = m.lastgroup, m.group(), m.start()
            if kind == "space" or (kind in ("cmd", "sym") and value in _IGNORED):
                spacing = spacing or value in _SPACING_COMMANDS
                continue
            if spacing:
                self.spaced.add(pos)
                spacing = False
            if kind == "cmd" and value == r"\|":
                tokens.append(_Token("sym", "‖", pos))
            elif kind == "cmd" and value in (r"\lVert", r"\rVert", r"\Vert"):
                tokens.append(_Token("sym", "‖", pos))
            elif kind == "cmd" and value in (r"\lvert", r"\rvert", r"\vert"):
                tokens.append(_Token("sym", "|", pos))
            elif kind == "letters":
                tokens.extend(self._split_letters(value, pos, tokens))
            else:
                tokens.append(_Token(kind, value, pos))
        tokens.append(_Token("end", "", len(text)))
        return tokens

    def _split_letters(self, run: str, pos: int, before: list) -> list:
        """A run of letters as names and function words: declared names first (longest), then
        function words, then one name per letter."""
        if before and before[-1].kind == "sym" and before[-1].text in ("{",) and len(before) > 1 \
                and before[-2].kind == "cmd" and before[-2].text in _WORD_COMMANDS:
            return [_Token("word", run, pos)]   # \operatorname{tr}, \mathrm{invden}: one word
        if before and before[-1].kind == "cmd" and before[-1].text == r"\rm":
            return [_Token("word", run, pos)]
        if run in self.names:
            return [_Token("name", run, pos)]
        digits = re.search("[0-9]+$", run)
        if digits:   # W1 undeclared: the letters, then the number
            letters = self._split_letters(run[:digits.start()], pos, before)
            return [*letters, _Token("num", digits.group(), pos + digits.start())]
        out, i = [], 0
        while i < len(run):
            for j in range(len(run), i, -1):
                piece = run[i:j]
                if piece in self.names:
                    out.append(_Token("name", piece, pos + i))
                    break
                if piece in _FUNCTION_WORDS and (j - i > 1):
                    out.append(_Token("func", _FUNCTION_WORDS[piece], pos + i))
                    break
            else:
                j = i + 1
                out.append(_Token("name", run[i], pos + i))
            i = j
        return out

    @property
    def token(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    def at(self, *texts) -> bool:
        return self.token.kind != "end" and self.token.text in texts

    def error(self, message: str, pos: int | None = None):
        raise ParseError(message, self.text, self.token.pos if pos is None else pos)

    def expect(self, text: str, what: str) -> _Token:
        if not self.at(text):
            self.error(f"expected {text!r} {what}")
        return self.advance()

    # -- grammar -----------------------------------------------------------------------------------
    def parse(self) -> Node:
        if self.token.kind == "end":
            self.error("empty expression")
        node = self.expression()
        if self.token.kind != "end":
            self.error(f"unexpected {self.token.text!r} after a complete expression")
        return node

    def expression(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.error(f"the expression is nested too deeply (more than {MAX_DEPTH} levels)")
        try:
            node = self.term()
            while self.at("+", "-"):
                tok = self.advance()
                node = Node("binop", tok.pos, "add" if tok.text == "+" else "sub", [node, self.term()])
            return node
        finally:
            self.depth -= 1

    def term(self) -> Node:
        node = self.signed()
        while True:
            tok = self.token
            if tok.text in _PRODUCTS and tok.kind in ("cmd", "sym"):
                self.advance()
                right = self.signed()
                op = _PRODUCTS[tok.text]
                if op == "kron":   # I ⊗ Aᵀ A: Kronecker's product binds looser than a juxtaposition
                    right = right if not self.starts_operand() else \
                        Node("binop", tok.pos, "mtimes", [right, self.adjacent_product()])
                node = Node("call", tok.pos, "kron", [node, right]) if op == "kron" \
                    else Node("binop", tok.pos, op, [node, right])
            elif self.starts_operand():
                node = Node("binop", tok.pos, "mtimes", [node, self.postfix()])
            elif tok.kind == "sym" and tok.text == "." and self.tokens[self.i + 1].kind != "end":
                self.advance()   # (σ(z) − 1).y x: the dot of a product, typed as a period
                if not self.starts_operand():
                    self.i -= 1
                    return node
                warnings.warn(ReadingWarning("'.' between two factors is read as their product"), stacklevel=2)
                node = Node("binop", tok.pos, "period", [node, self.signed()])
            else:
                return node

    def signed(self) -> Node:
        if self.at("-", "+"):
            tok = self.advance()
            operand = self.signed()
            return operand if tok.text == "+" else Node("neg", tok.pos, "-", [operand])
        return self.postfix()

    def starts_operand(self) -> bool:
        tok = self.token
        if tok.kind in ("num", "name", "func", "word"):
            return True
        if tok.kind == "sym":
            if tok.text in ("(", "[", "{"):
                return True
            if tok.text in ("‖", "|"):   # a norm opens here unless this one closes the current group
                return not self.closers or self.closers[-1] != tok.text
            return False
        return tok.kind == "cmd" and tok.text not in _PRODUCTS and tok.text not in _COMPARISONS \
            and tok.text not in (r"\}", r"\rbrack", r"\rparen", r"\rangle")

    def postfix(self) -> Node:
        node = self.primary()
        while True:
            if self.at("^"):
                node = self.superscript(node)
            elif self.at("'"):
                tok = self.advance()
                node = Node("T", tok.pos, "'", [node])
            elif self.at("_") and node.kind == "name":   # \mathbf{x}_i, \mathbf{I}_D: as x_i, I_D
                node = self.subscripted(node)
            elif self.at("_") and node.kind == "indexed" and self.tokens[self.i + 1].text in self.index_letters:
                self.advance()   # x^{(i)}_j: the entry j of the row x^{(i)}
                node = Node("indexed", node.pos, node.text, [*node.children, *[
                    Node("index", t.pos, t.text) for t in self.raw_group() if t.text != ","]])
            elif self.at("_"):
                tok = self.advance()
                group = self.raw_group()
                if node.kind == "num":
                    node = self.kronecker(node, group, tok)
                elif group and all(t.kind == "name" and t.text in self.index_letters for t in group if t.text != ","):
                    node = Node("entry", tok.pos, "", [node] + [Node("index", t.pos, t.text) for t in group
                                                                 if t.text != ","])   # (W x − y)_i
                elif not (node.kind == "call" and node.text in ("norm2", "abs")):   # ‖x‖_2, |x|_1: the kind
                    self.error("a subscript after an expression is read only as an entry, (W x)_i with i summed "
                               "over or named by the left side", tok.pos)
            else:
                return node

    def kronecker(self, node: Node, group: list, tok: _Token) -> Node:
        """``1_{i=j}``: Kronecker's delta (the identity's entries); another subscript on a number
        is refused."""
        texts = [t.text for t in group]
        if node.text == "1" and len(group) == 1 and group[0].kind == "name" \
                and group[0].text not in self.index_letters:   # 1_N: a vector of N ones
            return Node("call", node.pos, "ones", [Node("name", group[0].pos, group[0].text)])
        if node.text == "1" and len(texts) == 3 and texts[1] == "=" and all(
                t.kind == "name" and t.text in self.indices for t in (group[0], group[2])):
            return Node("indexed", node.pos, "delta", [Node("index", group[0].pos, texts[0]),
                                                          Node("index", group[2].pos, texts[2])])
        self.error("a subscript on a number is not read (1_{i=j}, inside a sum over i or j, is Kronecker's delta)",
                   tok.pos)

    def raw_group(self) -> list:
        """The tokens of ``{…}`` or the one token that follows (``^T``, ``_2``)."""
        if self.at("{"):
            start = self.advance()
            depth, out = 1, []
            while True:
                tok = self.advance()
                if tok.kind == "end":
                    self.error("unbalanced '{'", start.pos)
                if tok.text == "{":
                    depth += 1
                elif tok.text == "}":
                    depth -= 1
                    if depth == 0:
                        return out
                out.append(tok)
        if self.token.kind == "end":
            self.error("a superscript or subscript is missing")
        return [self.advance()]

    def superscript(self, base: Node) -> Node:
        caret = self.advance()
        start = self.i
        if self.at("{"):
            group = self.raw_group()
        else:
            if self.token.kind == "end":
                self.error("a superscript is missing")
            self.split_number()   # x^23 is x^2 3 in TeX: one digit
            group = [self.advance()]
            if group[0].text in _WORD_COMMANDS + (r"\mathsf", r"\textsf"):   # ^\mathrm{T}, ^\mathsf T
                group += self.raw_group()
        texts = [t.text for t in group]
        joined = "".join(texts)
        if len(texts) == 2 and texts[0] in _WORD_COMMANDS + (r"\mathsf", r"\textsf") and texts[1] == "T":
            joined = "T"   # ^{\mathsf T}
        if joined in _TRANSPOSE_MARKS or joined in (r"\mathsf{T}", r"\mathrm{T}"):
            return Node("T", caret.pos, "'", [base])
        if joined == "H" and "H" not in self.names:   # the conjugate transpose: of a real matrix, its transpose
            warnings.warn(ReadingWarning("^H (the conjugate transpose) is read as the transpose"), stacklevel=2)
            return Node("T", caret.pos, "'", [base])
        if joined == "-1":
            return Node("binop", caret.pos, "mpower", [base, Node("num", caret.pos, "-1")])
        if len(texts) == 2 and texts[0] == "-" and texts[1] in _TRANSPOSE_MARKS:
            inverse = Node("binop", caret.pos, "mpower", [base, Node("num", caret.pos, "-1")])
            return Node("T", caret.pos, "'", [inverse])
        if texts and texts[0] == r"\circ":   # ^{\circ 2}, and ^\circ (3/2) from the text form: elementwise
            if self.tokens[start].text == "{":
                self.i = start + 2   # after '{' and '\circ'
                exponent = self.expression()
                self.expect("}", "to close the exponent")
            else:
                self.split_number()
                exponent = self.primary()
            return Node("binop", caret.pos, "pow", [base, exponent])
        if len(texts) == 3 and texts[0] + texts[2] == "()" and base.kind == "name" and texts[1] in self.index_letters:
            return Node("indexed", base.pos, base.text, [Node("index", group[1].pos, texts[1])])   # x^{(i)}: x_i
        if len(texts) == 3 and texts[0] + texts[2] == "()" and base.kind == "indexed" and len(base.children) == 1 \
                and texts[1] in self.index_letters:   # x_j^{(i)}: the entry j of the row x^{(i)}
            return Node("indexed", base.pos, base.text, [Node("index", group[1].pos, texts[1]), *base.children])
        if len(texts) == 3 and texts[0] + texts[2] in ("()", "[]") and base.kind == "name":   # W^{(1)}, W^{[1]}
            return self.named(base.text, texts[1], base.pos)
        if len(texts) == 5 and texts[0] + texts[4] in ("()", "[]") and base.kind == "name" \
                and re.fullmatch(r"L-[0-9]", "".join(texts[1:4])):   # a^{(L-1)}: a layer counted from the last
            return self.named(base.text, "".join(texts[1:4]), base.pos)
        if len(texts) == 4 and texts[0] + texts[2] in ("()", "[]") and texts[3] in _TRANSPOSE_MARKS \
                and base.kind == "name":   # W^{[2]T}: the layer's W, transposed
            return Node("T", caret.pos, "'", [self.named(base.text, texts[1], base.pos)])
        if len(texts) == 4 and texts[0] + texts[2] == "[]" and texts[3].isdigit() and base.kind == "name":
            warnings.warn(ReadingWarning(f"{base.text}^{{[{texts[1]}]{texts[3]}}} is read as the layer's "
                                         f"{base.text} to the power {texts[3]}, elementwise"), stacklevel=2)
            return Node("binop", caret.pos, "pow", [self.named(base.text, texts[1], base.pos),
                                                    Node("num", caret.pos, texts[3])])   # A^{[1]2}: Ng's A∘²
        if len(group) == 1 and group[0].kind == "name" and re.fullmatch("[A-Z]", texts[0]) \
                and texts[0] not in self.names and base.kind == "name":   # z^{L}, Z^{O}: a layer's name
            return self.named(base.text, texts[0], base.pos)
        if not group:
            self.error("an empty superscript", caret.pos)
        end = self.i
        self.i = start   # the exponent as an expression, parsed in place
        exponent = self.argument_group()
        self.i = end
        return Node("binop", caret.pos, "mpower", [base, exponent])

    def split_number(self):
        """A number of several digits right after ``^``, ``_`` or ``\\frac`` is its first digit,
        then the rest (TeX reads ``x^23`` as ``x^2 3``)."""
        tok = self.token
        if tok.kind == "num" and len(tok.text) > 1 and "." not in tok.text:
            self.tokens[self.i:self.i + 1] = [_Token("num", tok.text[0], tok.pos),
                                              _Token("num", tok.text[1:], tok.pos + 1)]

    def group_expression(self) -> Node:
        self.expect("{", "to open a group")
        self.closers.append("}")
        try:
            node = self.expression()
        finally:
            self.closers.pop()
        self.expect("}", "to close the group")
        return node

    @property
    def layers(self) -> dict:
        if self._layers is None:
            self._layers = layers_of(self.about.f) if self.about is not None else {}
        return self._layers

    def layer_number(self, sub: str, pos: int) -> str:
        """A layer's label counted from the last, ``L``, ``L-1``, ``L-2`` (L not declared), as its
        number in the network f is (``w_{L-1}`` of w1, w2: ``w_1``); other labels as they are."""
        m = re.fullmatch(r"L(?:-([0-9]))?", sub)
        if m is None or "L" in self.names or not self.layers:
            return sub
        last = self.layers["L"]
        number = last - int(m.group(1) or 0)
        if number < 0:
            self.error(f"{sub} is before the first layer (L = {last}, the last layer of f)", pos)
        warnings.warn(ReadingWarning(f"L is read as {last}, the last layer of f"), stacklevel=2)
        return str(number)

    def layer_part(self, base: str, sub: str, pos: int, alone: bool = False):
        """``z_1``, ``a^{(2)}``, ``h_1`` (none declared) of a network f: the pre-activation ``z``
        of that layer, or its activation ``a`` (or ``h``; ``a_0`` is the input), with a
        ``ReadingWarning``; else None."""
        kind = self.about.kinds.get(base) if self.about is not None else None
        if kind is None or not sub.isdigit() or not self.layers or base + sub in self.names \
                or f"{base}_{sub}" in self.names:
            return None
        part = self.layers[kind].get(int(sub))
        if part is None:
            return None
        what = "the input" if kind == "a" and sub == "0" else \
            f"layer {sub}'s {'pre-activation' if kind == 'z' else 'activation'}" if not alone else \
            f"the {'neuron' if self.layers['L'] == 1 else 'hidden layer'}'s " \
            f"{'pre-activation' if kind == 'z' else 'activation'}"
        written = base if alone else f"{base}_{sub}"
        return self.guessed(part, pos, f"{written} is read as {to_text(part)}, {what} in f ({written} is not defined)")

    def named(self, base: str, sub: str, pos: int) -> Node:
        """``W_1``, ``W_{1}``, ``W^{(1)}``: the declared one of ``W1``, ``W_1``; else ``W`` if that
        is declared and the subscript a letter (a sample, a layer: ``w_n x`` for ``w x``) or one
        digit (a layer: ``W_1`` of a network declared with one ``W``; any digits for a scalar);
        else ``W1``. Two digits on a vector or matrix (``A_{12}``) would be an entry: refused
        (inside index notation any number is: ``y_1`` beside ``y_i``)."""
        sub = self.layer_number(sub, pos)
        for candidate in (base + sub, f"{base}_{sub}"):
            if candidate in self.names:
                return Node("name", pos, candidate)
        if self.about is not None and f"{base}_{sub}" == self.about.own_written:   # h_t of ∂h_t/∂h_{t-1}: f
            return self.guessed(self.about.f, pos, f"{base}_{sub} is read as f, the function differentiated")
        part = self.layer_part(base, sub, pos)
        if part is not None:
            return part
        if base in ("I", _CONSTANT_ONES) and base not in self.names:   # I_n, \mathbf{1}_N: of that size
            size = Node("name", pos, sub) if re.fullmatch("[A-Za-z]+", sub) else Node("num", pos, sub)
            return Node("call", pos, "eye" if base == "I" else "ones", [size])
        sizes = self.about.sizes if self.about is not None else frozenset()
        layer = sub.isdigit() and base not in sizes \
            and (base in self.scalars or len(sub) == 1 and not self.index_letters)
        if base in self.names and (re.fullmatch(r"[A-Za-z]", sub) or layer):
            if layer or self.guess_case:   # (w_n x of a declared w: a sample's or a layer's label, dropped)
                warnings.warn(ReadingWarning(f"{base}_{sub} is read as {base} ({base}{sub} is not declared)"),
                              stacklevel=2)
            return Node("name", pos, base)
        if base in self.names and sub.isdigit():
            self.error(f"{base}_{sub}: a single entry is not read; write the matrix form (or declare {base}{sub})",
                       pos)
        return Node("name", pos, base + sub)

    def index_sum(self, tok: _Token) -> Node:
        """``\\sum_i``, ``\\sum_{i=1}^{N}``, ``\\sum_{i,j}`` and the product that follows (its
        summand: ``\\sum_i a_i b_i + c`` is ``(Σᵢ aᵢ bᵢ) + c``), as ``isum`` nodes whose ``text`` is
        the index; the range is that of what the index subscripts (``index_notation``)."""
        if not self.at("_"):
            self.error("a sum needs its index (\\sum_i …)", tok.pos)
        self.advance()
        group = self.raw_group()
        lower = ""
        if any(t.text == "=" for t in group):
            split = [t.text for t in group].index("=")
            group, lower = group[:split], "".join(t.text for t in group[split + 1:])   # i=1: the index, its start
        indices = [t for t in group if t.text != ","]
        for index in indices:
            if index.kind != "name" or len(index.text) != 1:
                self.error(f"the index of a sum is a letter (\\sum_i), got {index.text!r}", index.pos)
        if not indices:
            self.error("a sum needs its index (\\sum_i …)", tok.pos)
        upper = ""
        if self.at("^"):   # the end of the range: the size of what the index runs over
            caret = self.advance()
            upper = "".join(t.text for t in self.raw_group())
        self.indices.extend(index.text for index in indices)
        try:
            summand = self.term()
        finally:
            del self.indices[len(self.indices) - len(indices):]
        if lower or upper:
            for index in indices:
                self.check_range(index.text, lower, upper, summand, tok.pos if not upper else caret.pos)
        for index in reversed(indices):
            summand = Node("isum", tok.pos, index.text, [summand])
        return summand

    def check_range(self, index: str, lower: str, upper: str, summand: Node, pos: int):
        """Refuse a sum over part of what its index runs over (``\\sum_{i=1}^{N-1}``, ``\\sum_{i=2}^{N}``,
        ``\\sum_{i=1}^{D}`` where i counts the N rows): read as the whole sum, it would be another claim."""
        if lower not in ("", "0", "1"):
            self.error(f"the sum over {index} starts at {lower}: a sum over part of the range is not read", pos)
        sizes = {size for size in self.sizes_indexed(index, summand) if size != 1}
        if not upper or len(sizes) != 1:
            return
        size = str(next(iter(sizes)))
        if self.guess_case and upper.swapcase() == size and upper not in self.names:
            warnings.warn(ReadingWarning(f"the sum's end {upper} is read as {size} ({upper} is not declared)"),
                          stacklevel=2)
            upper = size   # \sum_{i=1}^{n} of N rows, with n undeclared
        if upper.replace(" ", "") != (f"{size}-1" if lower == "0" else size):
            self.error(f"the sum over {index} runs from {lower or 1} to {upper}, but {index} counts {size} entries: "
                       "a sum over part of the range is not read", pos)

    def sizes_indexed(self, index: str, tree: Node) -> list:
        """The sizes of the axes ``index`` subscripts in ``tree`` (by the declared shapes)."""
        sizes, stack = [], [tree]
        while stack:
            node = stack.pop()
            stack.extend(node.children)
            if node.kind != "indexed":
                continue
            letters = [child.text for child in node.children]
            name = node.text if node.text in self.shapes else node.text.swapcase()
            shape = self.shapes.get(name)
            if shape is None or index not in letters:
                continue
            if len(letters) == 2:
                sizes.append(shape[letters.index(index)])
            elif 1 in shape and shape != (1, 1):
                sizes.append(shape[0] if shape[1] == 1 else shape[1])
            else:
                sizes.append(shape[0])   # x_i: the i-th row of X
        return sizes

    def subscripted(self, node: Node) -> Node:
        """A name followed by ``_{…}``: the name it stands for, or, inside a sum over ``i``, the
        entry ``x_i`` (an ``indexed`` node whose children are the ``index`` nodes)."""
        if not self.at("_") or node.kind != "name":
            return node
        self.advance()
        group = self.raw_group()
        subscripts = [t for t in group if t.text != ","]
        if subscripts and all(t.kind == "name" and len(t.text) == 1 for t in subscripts) \
                and any(t.text in self.index_letters for t in subscripts):   # (an index not summed: refused later)
            return Node("indexed", node.pos, node.text, [Node("index", t.pos, t.text) for t in subscripts])
        sub = "".join(t.text for t in group if t.kind in ("num", "name", "word"))
        written = "".join(t.text for t in group)
        if re.fullmatch(r"L-[0-9]", written) and "L" not in self.names and self.layers:   # w_{L-1}: a layer
            return self.named(node.text, written, node.pos)
        if self.index_letters and node.text in self.names and f"{node.text}{sub}" not in self.names \
                and f"{node.text}_{sub}" not in self.names:
            self.error(f"{node.text}_{sub}: a single entry is not read in index notation; write {node.text}_i "
                       f"with i summed over or named by the left side", node.pos)
        if not sub or any(t.kind not in ("num", "name", "word") for t in group):
            self.error(f"the subscript of {node.text} is not a number or a name: index notation is not read; "
                       "write the matrix form", node.pos)
        return self.named(node.text, sub, node.pos)

    def primary(self) -> Node:
        tok = self.token
        if tok.kind == "end":
            self.error("the expression ends too early: an operand is missing")
        if tok.kind == "num":
            self.advance()
            if tok.text == "1" and self.at(r"\{") and self.comparison_ahead():   # 1\{z > 0\}: an indicator
                return self.indicator(tok.pos)
            return Node("num", tok.pos, tok.text)
        if tok.kind == "name":
            self.advance()
            if tok.text == "d" and "d" not in self.names:   # d\mathbf{x}, d x: a differential, if declared
                differential = self.differential(tok.pos)
                if differential is not None:
                    return differential
            if tok.text == "e" and "e" not in self.names and self.at("^"):   # e^{x}
                self.advance()
                argument = self.argument_group()
                return Node("call", tok.pos, "exp", [argument])
            if self.about is not None and tok.text not in self.names and _spellings(tok.text) is None \
                    and (tok.text.swapcase() not in self.names or tok.text.swapcase() in self.about.sizes):
                part = self.hypothesis(tok) if tok.text == "h" else None
                part = self.undefined_function(tok) if part is None else part
                if part is None:
                    part = self.named_by_f(tok.text, tok.pos)
                if part is not None:
                    return part
            return self.subscripted(self.resolved(tok.text, tok.pos))
        if tok.kind == "func":
            self.advance()
            if tok.text == "log" and self.token.kind == "func" and self.token.text in ("det", "softmax"):
                following = self.advance()   # log det X, log softmax(z): as matcalc prints them
                return self.application("logdet" if following.text == "det" else "log_softmax", tok.pos)
            return self.application(tok.text, tok.pos)
        if tok.kind == "word":
            self.advance()
            return self.word(tok.text, tok.pos)
        if tok.kind == "sym":
            if tok.text in ("(", "["):
                return self.bracketed()
            if tok.text == "{":
                following = self.tokens[self.i + 1:self.i + 4]
                if len(following) == 3 and following[0].text == r"\rm" and following[2].text == "}":
                    self.i += 4   # {\rm tr}: a word
                    return self.word(following[1].text, tok.pos)
                return self.group_expression()
            if tok.text in ("‖", "|"):
                return self.norm(tok.text)
            self.error(f"unexpected {tok.text!r}: expected a name, a number or a bracket")
        if tok.text == r"\{":   # \{t_n - w^T \phi_n\}: braces as brackets
            return self.bracketed()
        return self.command()

    def undefined_function(self, tok: _Token):
        r"""``p(\mathbf{a})`` or ``p_i(\mathbf{a})`` of an undefined p, applied to variables of the
        function the claim is about: the one part of that function that is a function of those
        variables alone (``softmax(a)`` inside ``‖softmax(a) − y‖²``), with a ``ReadingWarning``; its
        entry i where subscripted. None (nothing read) where what follows is no such application; a
        ``ParseError`` where f has no such part, or several."""
        start = self.i
        subscript = []
        if self.at("_"):
            self.advance()
            subscript = [t for t in self.raw_group() if t.text != ","]
        if not self.at("(") or any(t.text not in self.index_letters for t in subscript):
            self.i = start
            return None
        args = self.tried_arguments()
        if args is None:
            self.i = start
            return None
        variables = {v.name: v for v in self.about.f.free_vars}
        if not args or any(not isinstance(a, Node) or a.kind != "name" or a.text not in variables for a in args):
            self.i = start
            return None
        written = ", ".join(a.text for a in args)
        if tok.text == self.about.own and not subscript:   # ∇f(x) = −f(x) x: f itself
            return self.guessed(self.about.f, tok.pos,
                                f"{tok.text}({written}) is read as f, the function differentiated")
        if tok.text == self.about.own:
            self.error(f"{tok.text} is the function differentiated; an entry of it is not read", tok.pos)
        parts = probability_parts(self.about.f, frozenset(variables[a.text] for a in args))
        if len(parts) != 1:
            shown = "; ".join(to_text(p) for p in parts) or "none"
            self.error(f"{tok.text}({written}) is not defined, and f has {len(parts)} parts that apply a function to "
                       f"{written} alone, giving a vector or matrix ({shown}): define {tok.text}", tok.pos)
        part = parts[0]
        node = self.guessed(part, tok.pos, f"{tok.text}({written}) is read as {to_text(part)}, the one function of "
                                           f"{written} alone in f ({tok.text} is not defined)")
        if subscript:
            return Node("entry", tok.pos, "", [node] + [Node("index", t.pos, t.text) for t in subscript])
        return node

    def named_by_f(self, name: str, pos: int):
        """An undefined name that the function a claim is about gives a meaning, with a
        ``ReadingWarning``: the left side's name for it (``h`` of ``\\frac{\\partial h_i}{\\partial x_j}``),
        or ``p``, ``P`` or a lone ``a`` — the prediction f compares its target with (``σ(X w)``
        beside ``y``, ``softmax(W x)``). None where f gives it none."""
        if name == self.about.own:
            if self.at("("):   # f(−x), f(2x): f at another point
                self.error(f"{name}(…) of an expression is f at another point: not read", pos)
            return self.guessed(self.about.f, pos, f"{name} is read as f, the function differentiated ({name} is not "
                                                    "defined)")
        alone = not self.labelled()
        one_layer = self.layers.get("L", 1) == 1   # (a lone a of a deeper network: which layer's?)
        if name in ("p", "P", "y", "Y") + _PREDICTION_WORDS or name == "a" and alone and one_layer:
            # (y: Bishop's, beside a target t; \text{probs}: a program's name)
            found = self.prediction(name, pos, probability=name in ("p", "P", "a", "probs", "probas", "prob"))
            if found is not None:
                return found
        activated = self.layers.get("L") == 1 and self.layers["a"][1] is not self.layers["z"][1]
        if name in ("z", "a") and alone and self.layers.get("L") == 1 and (name == "z" or activated):
            # one neuron: z = wᵀx + b, a = σ(z)
            return self.layer_part(name, "1", pos, alone=True)
        if name in ("h", "H") and alone and self.layers.get("L") == 2:   # the one hidden layer of two
            return self.layer_part(name, "1", pos, alone=True)
        return None

    def hypothesis(self, tok: _Token):
        """Ng's ``h_\\theta(x^{(i)})`` (``h_w(x_i)``, ``h_\\theta(x)``): the prediction f compares its
        target with, at the row x^{(i)} (its entry i), or at x; None where no such application follows."""
        start = self.i
        if not self.at("_"):
            return None
        self.advance()
        subscript = self.raw_group()
        found = prediction_of(self.about.f)
        if len(subscript) != 1 or not self.at("(") or found is None:
            self.i = start
            return None
        args = self.tried_arguments()
        if args is None:
            self.i = start
            return None
        row = args[0] if len(args) == 1 and isinstance(args[0], Node) else None
        if row is None or not (row.kind == "indexed" and len(row.children) == 1 or row.kind == "name"):
            self.i = start
            return None
        target, prediction = found
        at = f"its entry {row.children[0].text}" if row.kind == "indexed" else "it"
        by = subscript[0].text.lstrip("\\")
        tree = self.guessed(prediction, tok.pos, f"h_{GREEK_CHARACTERS.get(by, by)}(…) is read as {at}: "
                                                 f"{to_text(prediction)}, the prediction f compares {target} with "
                                                 "(h is not defined)")
        return Node("entry", tok.pos, "", [tree, row.children[0]]) if row.kind == "indexed" else tree

    def guessed(self, value, pos: int, reading: str) -> Node:
        """``value`` (an expression of f, or LaTeX) as a syntax tree at ``pos``, a guess said in a
        ``ReadingWarning`` that says how the claim's name was read."""
        warnings.warn(ReadingWarning(reading), stacklevel=3)
        text = value if isinstance(value, str) else to_latex(value)
        return _placed(_Parser(text, self.names).parse(), pos)

    def tried_arguments(self):
        """The arguments of a call that follows (``(…)``), or None where they do not read; the
        guesses made in trying are not said (the caller says its own)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ReadingWarning)
            try:
                return self.arguments()
            except ParseError:
                return None

    def labelled(self) -> bool:
        """Whether a layer's label follows (``_1``, ``^{(1)}``, ``^{[2]}``, ``^L``), not a transpose or power."""
        ahead = [t.text for t in self.tokens[self.i:self.i + 3]] + ["", ""]
        label = ahead[1] == "L" or ahead[1] == "{" and ahead[2] in ("(", "[", "L")
        return ahead[0] == "_" or ahead[0] == "^" and label

    def prediction(self, written: str, pos: int, probability: bool = False):
        """The prediction f compares its target with, for the undefined name ``written``; None where
        f has no one such (or, for a ``probability`` — p, a —, none that is a softmax or a σ)."""
        f = self.about.f
        found = prediction_of(f)
        if found is not None and probability and not is_probability(found[1]):
            return None
        if found is None and is_probability(f):   # p of f = softmax(W x)
            return self.guessed(f, pos, f"{written} is read as f, {to_text(f)} ({written} is not defined)")
        if found is None:
            return None
        target, prediction = found
        return self.guessed(prediction, pos, f"{written} is read as {to_text(prediction)}, the prediction f compares "
                                             f"{target} with ({written} is not defined)")

    def decorated(self, tok: _Token) -> Node:
        """``\\hat{y}``, ``\\bar{x}``, ``\\tilde{X}``: a name of its own — the one declared
        (``yhat``, ``y_hat``); in a claim about f, ``\\hat{y}`` (``\\hat{p}``) the prediction f compares
        y with and ``\\bar{x}`` the mean of the rows of a declared X (with a ``ReadingWarning``);
        else refused (ŷ is not y)."""
        mark = _DECORATIONS[tok.text]
        group = [t for t in self.raw_group() if t.text not in ("{", "}") and t.text not in _DROPPED_WRAPPERS]
        base = group[0].text.lstrip("\\") if len(group) == 1 and group[0].kind in ("name", "cmd") else None
        written = f"{tok.text}{{{base or '…'}}}"
        shown = f"{GREEK_CHARACTERS.get(base, base)}{_MARKS[mark]}" if base else written   # ŷ, in the verdict
        if base is None:
            self.error(f"{tok.text} over more than a name is not read", tok.pos)
        for candidate in (base + mark, f"{base}_{mark}", mark + base):
            if candidate in self.names:
                return Node("name", tok.pos, candidate)
        if self.about is not None and mark == "hat":
            found = prediction_of(self.about.f)
            if found is not None and base in (found[0], "p", "P", "y", "Y"):
                return self.prediction(shown, tok.pos)
        rows = base.upper()
        if self.about is not None and mark == "bar" and base.islower() and rows in self.shapes \
                and 1 not in self.shapes[rows]:   # x̄: the mean of the rows x_i of X
            size = self.shapes[rows][0]
            return self.guessed(rf"\frac{{1}}{{{size}}} {rows}^T \mathbf{{1}}", tok.pos,
                                f"{shown} is read as the mean of the rows of {rows}")
        self.error(f"{written} is not defined (it is not {base}): define it (…, \\quad {written} = …)", tok.pos)

    def comparison_ahead(self) -> bool:
        """Whether the bracket (or ``_{…}``) that starts here holds a comparison at its top level."""
        k = self.i + (1 if self.at("_") else 0)
        if self.tokens[k].text not in _OPEN and self.tokens[k].text != "{":
            return False
        depth = 0
        for t in self.tokens[k:]:
            if t.text in _OPEN or t.text == "{":
                depth += 1
            elif t.text in _OPEN.values() or t.text == "}":
                depth -= 1
                if depth == 0:
                    return False
            elif depth == 1 and (t.text in _COMPARISONS or t.text == "="):
                return True
            if t.kind == "end":
                return False
        return False

    def indicator(self, pos: int) -> Node:
        """``\\mathbb{1}(z > 0)``, ``1\\{z > 0\\}``, ``\\mathbb{1}[z \\geq c]``, ``\\mathbb{1}_{z > 0}``:
        the step function of the difference (1 where it is positive); ``1\\{i = j\\}`` of two indices is
        Kronecker's delta."""
        if self.at("_"):
            self.advance()
        open_tok = self.advance()
        close = _OPEN.get(open_tok.text, "}")
        self.closers.append(close)
        try:
            left = self.expression()
            comparison = self.advance()
            right = self.expression()
        finally:
            self.closers.pop()
        self.expect(close, "to close the indicator")
        if comparison.text == "=":
            if left.kind == "name" and right.kind == "name" and {left.text, right.text} <= set(self.indices):
                return Node("indexed", pos, "delta", [Node("index", left.pos, left.text),
                                                      Node("index", right.pos, right.text)])
            self.error("an indicator of an equality is read only for two indices (1\\{i = j\\})", comparison.pos)
        if comparison.text not in _COMPARISONS:
            self.error("an indicator needs a comparison (z > 0)", comparison.pos)
        above, below = (left, right) if _COMPARISONS[comparison.text] == ">" else (right, left)
        difference = above if below.kind == "num" and below.text == "0" else Node("binop", pos, "sub", [above, below])
        return Node("call", pos, "step", [difference])

    def inner_product(self, tok: _Token) -> Node:
        self.closers.append(r"\rangle")
        try:
            left = self.expression()
            self.expect(",", "between the two sides of an inner product")
            right = self.expression()
        finally:
            self.closers.pop()
        self.expect(r"\rangle", "to close the inner product")
        if self.at("_"):   # ⟨A, B⟩_F
            self.advance()
            self.raw_group()
        return Node("call", tok.pos, "sum", [Node("binop", tok.pos, "mul", [left, right])])

    def maximum(self, tok: _Token) -> Node:
        """``\\max(0, z)`` (or ``\\max\\{z, 0\\}``): the ReLU of z; other maxima are not read."""
        if not self.at("(", "[", r"\{"):
            self.error("\\max is read only as max(0, z), the ReLU", tok.pos)
        args = self.arguments()
        zero = [k for k, a in enumerate(args) if isinstance(a, Node) and a.kind == "num" and a.text == "0"]
        if len(args) != 2 or len(zero) != 1:
            self.error("\\max is read only as max(0, z), the ReLU", tok.pos)
        return Node("call", tok.pos, "relu", [args[1 - zero[0]]])

    def bracketed(self) -> Node:
        open_tok = self.advance()
        close = _OPEN.get(open_tok.text, ")")
        self.closers.append(close)
        try:
            inner = self.expression()
        finally:
            self.closers.pop()
        if open_tok.text == "[" and self.at(">"):   # Iverson's bracket [x > 0]: the step function
            self.advance()
            if not self.at("0"):
                self.error("only [x > 0] (the step function) is read in brackets with '>'")
            self.advance()
            inner = Node("call", open_tok.pos, "step", [inner])
        if not self.at(close):
            if self.token.kind == "end":
                raise ParseError(f"unbalanced {open_tok.text!r}: no {close!r} closes it", self.text, open_tok.pos)
            self.error(f"expected {close!r} to close {open_tok.text!r}")
        self.advance()
        return inner

    def norm(self, bar: str) -> Node:
        open_tok = self.advance()
        self.closers.append(bar)
        try:
            inner = self.expression()
        finally:
            self.closers.pop()
        if not self.at(bar):
            self.error(f"expected {bar!r} to close the {'norm' if bar == '‖' else 'absolute value'}", open_tok.pos)
        self.advance()
        if bar == "‖" and self.at("_"):   # ‖x‖₂, ‖X‖_F
            self.advance()
            self.raw_group()
        if bar == "|" and inner.kind == "name" and inner.text in self.squares:   # |X|, |Σ|: the determinant
            warnings.warn(ReadingWarning(f"|{inner.text}| of a square matrix is read as its determinant"), stacklevel=2)
            return Node("call", open_tok.pos, "det", [inner])
        return Node("call", open_tok.pos, "norm2" if bar == "‖" else "abs", [inner])

    def command(self) -> Node:
        tok = self.advance()
        name = tok.text
        if name in _REFUSED:
            raise ParseError(_REFUSED[name], self.text, tok.pos)
        if name == r"\sum":
            return self.index_sum(tok)
        if name in (r"\frac", r"\dfrac", r"\tfrac"):
            top = self.argument_group()
            bottom = self.argument_group()
            return Node("binop", tok.pos, "div", [top, bottom])
        if name == r"\sqrt":
            return Node("call", tok.pos, "sqrt", [self.argument_group()])
        if name == r"\max":   # \max(0, z): the ReLU
            return self.maximum(tok)
        if name == r"\langle":   # ⟨A, B⟩: the sum of A ⊙ B (aᵀb of vectors, tr(AᵀB) of matrices)
            return self.inner_product(tok)
        if name == r"\log" and (self.at(r"\det") or self.token.kind == "func" and self.token.text == "det"):
            self.advance()   # \log\det X: the log-determinant
            return self.application("logdet", tok.pos)
        if name == r"\log" and self.at(r"\operatorname") \
                and [t.text for t in self.tokens[self.i + 1:self.i + 4]] == ["{", "softmax", "}"]:
            self.i += 4   # \log\operatorname{softmax}: matcalc's log-softmax
            return self.application("log_softmax", tok.pos)
        if name in _FUNCTION_COMMANDS:
            return self.application(_FUNCTION_COMMANDS[name], tok.pos)
        if name == r"\Psi" and r"\Psi" not in self.names and "Psi" not in self.names:
            self.error("Ψ (the lower half of a Cholesky differential) is not read back; it needs its size", tok.pos)
        if name in _APPLIED_GREEK and (self.at("(", "[", "'") or name[1:] not in self.names and not self.at("_")
                                       and (self.starts_operand() or self.at("^"))):
            return self.application(_APPLIED_GREEK[name], tok.pos)
        if name in _DECORATIONS:
            return self.decorated(tok)
        if name in _DROPPED_WRAPPERS:
            if self.at("{") and [t.text for t in self.tokens[self.i:self.i + 3]] in (["{", "1", "}"], ["{", "I", "}"]):
                one = self.tokens[self.i + 1].text == "1"
                self.i += 3
                if self.comparison_ahead():   # \mathbb{1}(z > 0), \mathbb{I}(z > 0), \mathbb{1}_{z > 0}: an indicator
                    return self.indicator(tok.pos)
                return Node("name", tok.pos, _CONSTANT_ONES) if one else self.subscripted(self.resolved("I", tok.pos))
            if self.at("{") and [t.text for t in self.tokens[self.i:self.i + 3]] == ["{", "0", "}"]:
                self.i += 3
                return Node("num", tok.pos, "0")
            return self.argument_group() if self.at("{") else self.postfix()
        if name in _WORD_COMMANDS:
            if self.at("{"):
                self.advance()
                words = []
                while not self.at("}"):
                    if self.token.kind == "end":
                        self.error("unbalanced '{'", tok.pos)
                    words.append(self.advance().text)
                self.advance()
                return self.word("".join(words), tok.pos)
            return self.postfix()
        if name == r"\delta" and self.token.kind == "name" \
                and any(n.startswith("δ" + self.token.text) for n in self.names):   # a backward signal δh₁
            following = self.advance()
            return self.subscripted(Node("name", tok.pos, "δ" + following.text))
        if name == r"\mu" and self.about is not None and not any(n in self.names for n in _spellings("mu")):
            found = self.prediction("μ", tok.pos)   # μ_i = σ(wᵀx_i): the mean f predicts (Bishop, Murphy)
            if found is not None:
                return found
        if _spellings(name[1:]) is not None:
            return self.subscripted(self.resolved(name[1:], tok.pos))
        self.error(f"the LaTeX command {name} is not read here", tok.pos)

    def argument_group(self) -> Node:
        """The argument of ``\\frac``, ``\\sqrt`` or a superscript: ``{…}``, or one token
        (``\\frac12``, ``x^2``), or what brackets enclose (``√(x)``)."""
        if self.at("{"):
            return self.group_expression()
        if self.at("(", "["):
            return self.bracketed()
        self.split_number()
        tok = self.advance()
        if tok.kind == "num":
            return Node("num", tok.pos, tok.text)
        if tok.kind == "name":
            return self.resolved(tok.text, tok.pos)
        self.error(f"unexpected {tok.text!r} as an argument", tok.pos)

    def word(self, word: str, pos: int) -> Node:
        """``\\operatorname{tr}``, ``\\mathrm{invden}``, ``\\text{Tr}``: a function or a name."""
        if word in _FUNCTION_WORDS:
            return self.application(_FUNCTION_WORDS[word], pos)
        if word == "sech":   # sech² x = 1 − tanh² x (tanh's derivative, written in tanh: its canonical form)
            tanh = self.application("tanh", pos)
            power = tanh.children[1] if tanh.kind == "binop" and tanh.text == "pow" else Node("num", pos, "1")
            tanh = tanh.children[0] if tanh.kind == "binop" and tanh.text == "pow" else tanh
            square = Node("binop", pos, "sub", [Node("num", pos, "1"),
                                                Node("binop", pos, "pow", [tanh, Node("num", pos, "2")])])
            half = Node("binop", pos, "div", [power, Node("num", pos, "2")])   # sechᵏ = (1 − tanh²)^(k/2)
            return square if power.text == "2" else Node("binop", pos, "pow", [square, half])
        if word == "d":
            differential = self.differential(pos)   # \mathrm{d}X: the differential of a declared X
            if differential is None:
                raise ParseError(_REFUSED[r"\partial"], self.text, pos)
            return differential
        if self.about is not None and word in _PREDICTION_WORDS and word not in self.names:
            found = self.named_by_f(word, pos)
            if found is not None:
                return found
        return self.subscripted(self.resolved(word, pos))

    def differential(self, pos: int):
        """After a ``d`` (``\\mathrm{d}``): ``dX`` where what follows is a name ``X`` and ``dX`` is
        declared (``verify`` declares the differential of the variable), else None."""
        k = self.i
        if self.tokens[k].kind == "cmd" and self.tokens[k].text in _DROPPED_WRAPPERS \
                and self.tokens[k + 1].text == "{" and self.tokens[k + 3].text == "}":
            name, after = self.tokens[k + 2], k + 4   # d\mathbf{x}
        else:
            name, after = self.tokens[k], k + 1
        if name.kind == "name" and "d" + name.text in self.names:
            self.i = after
            return Node("name", pos, "d" + name.text)
        return None

    def resolved(self, name: str, pos: int) -> Node:
        """A name as declared: a Greek letter by any of its spellings; ``I`` the identity and ``1``
        in bold the ones where they are not declared."""
        for candidate in _spellings(name) or (name,):
            if candidate in self.names:
                return Node("name", pos, candidate)
        latin = _LATIN.get(name)
        if self.guess_case and latin in self.names and not any(n in self.names for n in _spellings(name) or ()) \
                and not re.search(rf"(?<![A-Za-z\\]){latin}(?![A-Za-z])",
                                  self.about.written if self.about else self.text):   # (τ beside t: two names)
            letter = GREEK_CHARACTERS.get(name, name)
            warnings.warn(ReadingWarning(f"{letter} is read as {latin} ({letter} is not declared)"), stacklevel=2)
            return Node("name", pos, latin)
        by = self.about.by if self.about is not None else None
        named_by = self.about is not None and re.search(rf"\\(?:nabla\s*_\s*\{{?|partial)\s*\\{name}(?![A-Za-z])",
                                                        self.about.written)   # (∇_θ J: θ is what it is by)
        if self.guess_case and name in _PARAMETERS and by is not None and named_by and not any(
                n in self.names for n in _spellings(name) or ()) and by in self.names \
                and not re.search(rf"(?<![A-Za-z\\]){by}(?![A-Za-z])", self.about.written):   # θ: the parameters
            letter = GREEK_CHARACTERS.get(name, name)
            warnings.warn(ReadingWarning(f"{letter} is read as {by}, the variable the derivative is by "
                                         f"({letter} is not declared)"), stacklevel=2)
            return Node("name", pos, by)
        indexed = self.at("_") and self.tokens[self.i + 1].text in self.indices   # x_i: a row of X, no guess
        layer_letter = self.about is not None and name.swapcase() in self.about.sizes and name in self.about.kinds \
            and self.layers   # (h of a network whose hidden size is H)
        differential = name == "d" and self.token.kind == "name"   # dz^{[2]}: Ng's derivative, not D z
        if self.guess_case and len(name) == 1 and name.swapcase() in self.names and name not in ("I", "e") \
                and not indexed and not layer_letter and not differential:
            warnings.warn(ReadingWarning(f"{name} is read as {name.swapcase()} ({name} is not declared)"),
                          stacklevel=2)
            return Node("name", pos, name.swapcase())
        return Node("name", pos, name)

    def application(self, function: str, pos: int) -> Node:
        """``function`` applied to what follows: a bracketed argument, or the product that follows.
        ``'`` after σ or tanh is its derivative."""
        prime = False
        if self.at("'"):
            self.advance()
            prime = True
        elif self.at("^") and [t.text for t in self.tokens[self.i + 1:self.i + 4]] in (
                ["{", r"\prime", "}"], [r"\prime", *[t.text for t in self.tokens[self.i + 2:self.i + 4]]]):
            self.i += 4 if self.tokens[self.i + 1].text == "{" else 2   # \sigma^{\prime}
            prime = True
        if self.at("^") and not prime and FUNCTIONS[function].signature == "elementwise":
            caret = self.advance()   # \tanh^2(x): the power of the value, as sin²x is
            exponent = self.argument_group()
            if exponent.kind != "num" or not exponent.text.isdigit():
                self.error(f"a power of a function other than a positive whole one ({function}^{{-1}}: its "
                           f"inverse?) is not read; write ({function}(x))^k", caret.pos)
            return Node("binop", caret.pos, "pow", [self.application(function, pos), exponent])   # elementwise
        if self.at("(", "["):
            args = self.arguments()
        elif self.at("{"):
            args = [self.group_expression()]
        else:
            args = [self.adjacent_product()]
        axis = None
        if args and isinstance(args[-1], tuple):
            axis = args.pop()[1]
        if prime:
            return self.derivative(function, args, pos)
        return Node("call", pos, function, args, axis)

    def arguments(self) -> list:
        """``(a, b, axis=k)``: the arguments of a call (``axis`` as ``("axis", k)``)."""
        open_tok = self.advance()
        close = _OPEN.get(open_tok.text, ")")
        self.closers.append(close)
        args = []
        try:
            while True:
                ahead = [t.text for t in self.tokens[self.i:self.i + 5]]
                written = 2 if ahead[:2] == ["axis", "="] else \
                    5 if ahead[0] in _WORD_COMMANDS and ahead[1:] == ["{", "axis", "}", "="] else 0   # \mathrm{axis}=1
                if written:
                    self.i += written
                    sign = -1 if self.at("-") else 1
                    if sign < 0:
                        self.advance()
                    value = self.advance()
                    if value.kind != "num" or value.text not in ("0", "1", "2"):
                        self.error("axis must be 0, 1, -1 or -2", value.pos)
                    args.append(("axis", sign * int(value.text) % 2))
                else:
                    args.append(self.expression())
                if self.at(","):
                    self.advance()
                    continue
                break
        finally:
            self.closers.pop()
        if not self.at(close):
            self.error(f"expected {close!r} to close the arguments")
        self.advance()
        return args

    def adjacent_product(self) -> Node:
        """What an unbracketed function reads: the product of the operands that follow it."""
        node = self.postfix()
        while self.starts_operand() and self.token.kind != "func" and self.token.pos not in self.spaced:
            tok = self.token   # (\det X \, X^{-T}: a space ends the argument)
            node = Node("binop", tok.pos, "mtimes", [node, self.postfix()])
        return node

    def derivative(self, function: str, args: list, pos: int) -> Node:
        if len(args) != 1 or function not in ("sigmoid", "tanh", "relu", "softplus"):
            self.error(f"the derivative {function}' is not read; write it out", pos)
        x = args[0]
        if function == "softplus":   # softplus' = σ
            return Node("call", pos, "sigmoid", [x])
        value = Node("call", pos, function, [x])
        if function == "sigmoid":   # σ' = σ ⊙ (1 − σ)
            return Node("binop", pos, "mul", [value, Node("binop", pos, "sub", [Node("num", pos, "1"), value])])
        if function == "tanh":      # tanh' = 1 − tanh²
            square = Node("binop", pos, "pow", [value, Node("num", pos, "2")])
            return Node("binop", pos, "sub", [Node("num", pos, "1"), square])
        return Node("call", pos, "step", [x])   # relu' = [x > 0]
