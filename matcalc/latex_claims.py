"""The claim around a LaTeX expression: its text made plain (unicode, fonts, ``$…$`` among
words), its left side's order, the definitions after it, prose and ``⇒`` that end or carry it on,
a term that is another function's derivative, a free index, Python code. ``parse_latex`` reads
the expression itself.
"""
from __future__ import annotations

import re
import unicodedata
import warnings

from .errors import ParseError, ReadingWarning
from .latex_matrices import sum_indices, top_level_split
from .printing.latex import GREEK_MACROS

# unicode that people paste, as the LaTeX it stands for (before NFKC, which would turn ² into 2)
_UNICODE = {
    "ᵀ": "^{T}", "⁻¹": "^{-1}", "⁻ᵀ": "^{-T}", "²": "^{2}", "³": "^{3}", "⊙": r"\odot ", "∘": r"\circ ",
    "⊘": r"\oslash ", "⊗": r"\otimes ", "·": r"\cdot ", "⋅": r"\cdot ", "×": r"\times ", "−": "-", "–": "-",
    "‖": r"\| ", "∇": r"\nabla ", "∂": r"\partial ", "√": r"\sqrt ", "Σ": r"\sum ", "∑": r"\sum ", "′": "'",
    "𝟏": r"\mathbf{1}", "’": "'", "⟨": r"\langle ", "⟩": r"\rangle ",
}


_GREEK_LETTERS = {char: macro[1:] for char, macro in GREEK_MACROS.items()}   # λ -> lambda


# what only Python code has: a module's or an object's attribute, an update in place, a comment
PYTHON_CODE = re.compile(r"\b(?:np|numpy|torch|self)\.[A-Za-z_]+|[A-Za-z0-9_\])]\s*[-+*/]=(?!=)|(?:^|\n)\s*#|\s#\s"
                         r"|\.(?:dot|T\.|sum|reshape|mean)\b")


# a left side at a point: \nabla f(0), f'(\mathbf{0})
AT_A_POINT = re.compile(r"(?:\\nabla|')[^=]*?\(\s*(?:\\mathbf\s*\{\s*0\s*\}|\\boldsymbol\s*\{\s*0\s*\}|[0-9.]+)"
                         r"\s*\)\s*$")


def order_named(side: str):
    """The order of the derivative a left side names, where it is plain: 2 for ``\\nabla^2 f``,
    ``f''``, ``\\frac{\\partial^2 f}{…}``, ``\\frac{d^2 f}{…}``; 1 for one ``\\nabla``, one prime, or one
    ``\\frac{\\partial f}{\\partial x}``; else None."""
    compact = re.sub(r"\s+", "", side)
    nabla_power = r"\\nabla(?:_(?:\{(?:[^{}]|\{[^{}]*\})*\}|\\?[A-Za-z]+))?\^\{?2"   # ∇², ∇_x^2, ∇_{\mathbf{x}}^{2}
    if re.search(nabla_power + r"|\\partial\^\{?2|''|\\prime\\prime|\\ddot|"
                 r"\\frac\{(?:\\mathrm\{d\}|d)\^\{?2", compact) or compact.count(r"\nabla") == 2 \
            or re.fullmatch(r"[A-Za-z]+\^\{\(2\)\}(?:\(.*\))?", compact) \
            or re.fullmatch(r"H|\\(?:mathbf|boldsymbol|bm)\{H\}", compact):   # ∇∇ᵀf, H = …: the Hessian
        return 2
    if compact.count(r"\nabla") == 1 or re.fullmatch(r"[A-Za-z]+(?:'|\^\{?\\prime\}?)(\(.*\))?", compact) \
            or compact.count(r"\partial") == 2 and re.match(r"\\frac\{\\partial[^{}]*\}\{\\partial[^{}]*\}", compact) \
            or re.match(r"\\frac\{(?:\\mathrm\{d\}|d)[^{}^]*\}\{(?:\\mathrm\{d\}|d)", compact) \
            or compact.startswith(r"\dot"):   # df/dt, \frac{d}{dt} f(t), \dot{f}
        return 1
    return None


def typography(text: str) -> str:
    """Spacing and fonts that change nothing: ``\\mkern-1.5mu``, the T of a transpose in a font
    (``X^{\\mathsf{T}}``, ``X^{-\\mathrm{T}}``, ``X^{-\\rm T}``)."""
    text = re.sub(r"\\mkern\s*-?[0-9.]+\s*mu", "", text)
    return re.sub(r"\\(?:mathrm|mathsf|textsf|textrm)\s*\{\s*T\s*\}|\\(?:rm|sf)\s*T\b|\\mathsf\s+T\b", "T", text)


def without_prose(main: str) -> tuple:
    """``(the claim without words after it, whether words there may define a name)``: ``\\quad
    (\\text{by the chain rule})``, ``\\text{ where } (\\cdot)^T \\text{ denotes transposition}``, a
    reason (``\\text{since } …``) — after any of which no name is guessed."""
    before = main
    main = re.sub(r"(?:,\s*)?(?:\\q?quad\s*)*\\(?:text|mathrm|mbox)\s*\{\s*,?\s*where\s*\}.*$", "", main, flags=re.S) \
        if not re.search(r"\\text\s*\{\s*,?\s*where\s*\}[^=]*=", main) else main
    # a reason after the claim (\quad \text{since } A = A^\top): words, not a side of the equation
    main = re.sub(r"(?:,\s*)?(?:\\q?quad\s*)*\(?\s*\\(?:text|mathrm|mbox)\s*\{\s*,?\s*(?:since|because|as|if|when|"
                  r"assuming|i\.e\.|by|which|that)\b[^{}]*\}.*$", "", main, flags=re.S)
    main = re.sub(r"(?:,\s*)?(?:\\q?quad\s*)*\(?\s*\\(?:text|mbox)\s*\{[^{}]*[A-Za-z]\s+[A-Za-z][^{}]*\}\s*\)?"
                  r"\s*[.,;]?\s*$", "", main)
    return main, main.strip() != before.strip()


# words that carry a derivation on (hence, which simplifies to): a ⇒ between statements
_CONTINUATION = re.compile(r"(?:,\s*)?(?:\\q?quad\s*)*\\(?:text|mathrm|mbox)\s*\{\s*,?\s*(?:which\s+)?"
                           r"(?:simplifies\s+to|simplifying|gives|giving|so|hence|thus|therefore|that\s+is|i\.e\.|"
                           r"equals|becomes|reduces\s+to|is|[Tt]hen)\s*,?\s*\}\s*(?:\\q?quad\s*)*")
# a statement about a derivative after another (…, \quad \nabla_y f = …; … \text{ and } \frac{\partial f}{…} = …)
_ANOTHER_STATEMENT = re.compile(r"(?:,\s*(?:\\(?:q?quad|[,;: ])\s*)*|\\q?quad\s*"
                                r"|\\(?:text|mathrm|mbox)\s*\{\s*,?\s*and\s*\}\s*)"
                                r"(?=\\nabla|\\frac\s*\{\s*\\partial|\\partial)")
# what joins statements: A ⇒ B
_IMPLIES = re.compile(r"\\(?:Rightarrow|Longrightarrow|implies|therefore|iff|Leftrightarrow)\b")
# a statement's left side that is a name (ŷ = 2Xw, w = (XᵀX)⁻¹Xᵀy)
_NAME_SIDE = re.compile(r"\s*(?:\\(?:hat|bar|tilde|mathbf|boldsymbol)\s*\{\s*\\?[A-Za-z]+\s*\}|\\?[A-Za-z]+[0-9]*)"
                        r"(?:\s*[_^]\s*(?:\{[^{}]*\}|[A-Za-z0-9]))*\s*:?")


def chained(main: str, fixed=frozenset()) -> tuple:
    """A claim of statements joined by ⇒ (∴, ⟺, or words that carry it on: hence, which simplifies
    to) as one claim: expressions and statements by the same left side, and differentials
    (``d f = 2xᵀA dx ⇒ ∇f = …``), are sides of one chain, every side judged; a statement defining
    a new name (``\\hat{y} = 2Xw ⇒ …``) is a definition after the claim; one about f itself or a
    variable (``f = ‖Xw − y‖² ⇒``, ``⇒ w = (XᵀX)⁻¹Xᵀy``) is not the claim; statements by different
    left sides (``∇_x f = … ⇒ ∇_y f = …``) are refused. ``fixed``: the function's variables.
    ``(the claim, [(a defined name as written, its body)])``."""
    main = _CONTINUATION.sub(r" \\Rightarrow ", main)
    main = _ANOTHER_STATEMENT.sub(r" \\Rightarrow ", main)   # …, \quad \nabla_y f = …: a statement too
    main = re.sub(r"^\s*\\(?:text|mathrm|mbox)\s*\{\s*(?:[Ll]et|[Ss]uppose|[Gg]iven)\s*\}", "", main)
    parts = [part.strip() for part in _IMPLIES.split(main)]
    if len(parts) == 1:
        return main, []
    left, sides, definitions = None, [], []
    for part in parts:
        split = top_level_split(part, "=")
        if len(split) == 1:   # an expression: the next side
            sides.append(part)
            continue
        head = re.sub(r"\s+", "", split[0])
        if re.fullmatch(r"(?:\\mathrm\{d\}|d)[A-Za-z\\{}()]*", head):   # d f = 2xᵀA dx: a differential, a step
            sides.extend(side.strip() for side in split[1:])
            continue
        if _names_derivative(split[0]):
            if left is not None and head != left:
                raise ParseError("the statements joined by ⇒ are about different derivatives: give one claim", main,
                                 main.find(split[0].strip()))
            left = head
            sides.extend(side.strip() for side in split[1:])
            continue
        split[-1] = split[-1].rstrip(" .")   # (\text{Let } \hat{y} = 2Xw. \text{ Then } …)
        name = _NAME_SIDE.fullmatch(split[0])
        bare = re.sub(r"\\(?:mathbf|boldsymbol)\s*\{\s*(\\?[A-Za-z]+)\s*\}|[{}\s]", r"\1", split[0]).lstrip("\\")
        if name is not None and len(split) == 2 and bare not in fixed and bare not in ("f", "L", "J", "E", "C", "ell"):
            definitions.append((split[0].strip(), split[1].strip()))   # ŷ = 2Xw ⇒ …: defines ŷ
        # (f = ‖Xw − y‖² ⇒ …, ⇒ w = (XᵀX)⁻¹Xᵀy: about f or a variable, not the claim)
    if not sides:
        return parts[0], definitions
    return (" = ".join(sides) if left is None else f"{_left_written(parts, left)} = " + " = ".join(sides)), definitions


def _left_written(parts: list, left: str) -> str:
    """The left side ``left`` (spaces dropped) as the statement that has it writes it."""
    for part in parts:
        split = top_level_split(part, "=")
        if len(split) > 1 and re.sub(r"\s+", "", split[0]) == left:
            return split[0].strip()
    return left


def _names_derivative(side: str) -> bool:
    """Whether a left side names a derivative (∇f, ∂L/∂W, f'(x), ∂_k f, H_{ij})."""
    return bool(re.search(r"\\nabla|\\partial", side)) or order_named(side) is not None \
        or ENTRY_ONLY.fullmatch(side.strip()) is not None


_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


_VULGAR = {"½": r"\frac{1}{2}", "⅓": r"\frac{1}{3}", "⅔": r"\frac{2}{3}", "¼": r"\frac{1}{4}", "¾": r"\frac{3}{4}",
           "⅕": r"\frac{1}{5}", "⅙": r"\frac{1}{6}", "⅛": r"\frac{1}{8}"}


def normalized(source: str) -> str:
    # matcalc's text form: x∘² (an elementwise power), x⁴, ½
    source = re.sub("∘([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)", lambda m: "^{\\circ " + m.group(1).translate(_SUPERSCRIPTS) + "}", source)
    source = source.replace("∘^", "^\\circ ")
    source = re.sub("(?<![⁻])([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", lambda m: "^{" + m.group(1).translate(_SUPERSCRIPTS) + "}", source)
    for char, latex in sorted({**_VULGAR, **_UNICODE}.items(), key=lambda item: -len(item[0])):   # ⁻ᵀ before ᵀ
        source = source.replace(char, latex)
    source = "".join(f"\\{_GREEK_LETTERS[c]} " if c in _GREEK_LETTERS else c for c in source)
    return unicodedata.normalize("NFKC", source)


def math_part(text: str) -> tuple:
    """``(the mathematics of text, whether words around it may define its names)``: what ``$…$``
    encloses, when words surround it (``It seems the gradient is $2(W ⊙ …)V$``, beside which a lone
    name, ``where $X$ is …``, is no formula; of several formulas, the one that names a derivative on
    its left, where one does — words with several ``$…$`` may say what a name is, so that no name is
    guessed then); other formulas among words are refused (which is the claim? ``I get $A$, the book
    says $B$``); the whole text, its dollars dropped, when they only split a formula."""
    text = text.replace("$$", "$").replace(r"\[", "").replace(r"\]", "").replace(r"\(", "").replace(r"\)", "")
    if "$" not in text:
        return text.strip().rstrip(".,;"), False
    parts = text.split("$")
    outside = " ".join(parts[0::2])
    inside = [p for p in parts[1::2] if p.strip()]
    if re.search(r"(?<!\\)\b[A-Za-z]{3,}\b", re.sub(r"\\[A-Za-z]+", " ", outside)) and inside:
        formulas = [p for p in inside if not _LONE_NAME.fullmatch(p.strip())]
        derivatives = [p for p in formulas if len(top_level_split(p, "=")) > 1
                       and _names_derivative(top_level_split(p, "=")[0])]
        worded = len(inside) > 1   # (… where $p$ is $\sigma(Xw)$)
        if len(formulas) > 1 and len(derivatives) == 1:   # $\nabla_w L = …$, and setting it to zero gives $…$
            return derivatives[0].strip().rstrip(".,;"), worded
        if len(formulas) > 1:
            raise ParseError(f"{len(formulas)} formulas among words: which is the claim? Give it alone (definitions "
                             "after it: …, \\quad p = …)", text, text.find(formulas[1]))
        return (formulas or inside)[0].strip().rstrip(".,;"), worded
    return text.replace("$", "").strip().rstrip(".,;"), False


# a name alone ($X$, $\hat{y}$, $p_i$): what prose talks about, no formula
_LONE_NAME = re.compile(r"\\?[A-Za-z]+(?:\s*\{\s*\\?[A-Za-z]+\s*\})?(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?")


# what starts a definition after the claim: a comma or semicolon, spacing, a word (where, with,
# for, and), then a name (decorated or not: \hat{y}, \delta^{(1)}, a_1) and = (or :=)
_DEFINED_NAME = (r"(?:\\(?:hat|bar|tilde|vec|mathbf|boldsymbol|bm)\s*\{\s*\\?[A-Za-z]+\s*\}"
                 r"|\\delta\s*[A-Za-z]+[0-9]*|\\?[A-Za-z]+[0-9]*)"
                 r"(?:\s*[_^]\s*(?:\{[^{}]*\}|[A-Za-z0-9]))*")


_WORD = r"\\(?:text|mathrm|mbox|textrm)\s*\{\s*[,;]?\s*(?:where|with|for|and)\s*:?\s*\}\s*"


_SPACING = r"(?:\\(?:quad|qquad|[;,:! ])\s*|~\s*)"


_DEFINITION_START = re.compile(
    rf"(?P<separator>(?<!\\)[,;]\s*{_SPACING}*(?:{_WORD}{_SPACING}*|(?:where|with|for)\s+)?"
    rf"|{_SPACING}*\\q?quad\s*{_SPACING}*(?:{_WORD}{_SPACING}*)?|{_WORD}{_SPACING}*|\bwhere\b\s*)"
    rf"(?P<name>{_DEFINED_NAME})\s*:?=(?!=)")


DECORATED = re.compile(r"\\(?:hat|bar|tilde|vec)\b|\^")


def split_definitions(text: str) -> tuple:
    """``(the claim, [(a defined name as written, its body)])``: ``… , \\quad s = σ(…)``,
    ``… \\text{ where } \\hat{y} = W x \\text{ and } h = …`` (matcalc prints its own results so)."""
    text = re.sub(r"\\(hat|bar|tilde|vec|mathbf|boldsymbol|bm)\s+([A-Za-z])", r"\\\1{\2}", text)   # \hat y
    starts = [m for m in _DEFINITION_START.finditer(text) if depth_at(text, m.start()) == 0]
    if not starts:
        return text, []
    definitions = []
    for k, m in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(text)
        definitions.append((m.group("name"), text[m.end():end]))
    return text[:starts[0].start()], definitions


def depth_at(text: str, position: int) -> int:
    depth = 0
    for ch in text[:position]:
        depth += ch in "({[" and 1 or ch in ")}]" and -1 or 0
    return depth


def fresh_name(name_text: str, taken: set) -> str:
    """A plain name for a decorated one (``\\hat{y}``: ``yhat``; ``a^{(1)}``: ``a1``) that no variable has."""
    word = re.sub(r"\\(hat|bar|tilde|vec)\s*\{\s*\\?([A-Za-z]+)\s*\}", r"\2\1", name_text)
    word = re.sub(r"[^A-Za-z0-9]", "", word)
    letters, digits = re.sub("[0-9]", "", word), re.sub("[^0-9]", "", word)
    base = letters + digits
    name, k = base, 1
    while name in taken:
        name, k = f"{letters}{'x' * k}{digits}", k + 1
    return name


def renamed(text: str, name_text: str, name: str) -> str:
    """``text`` with the decorated name ``name_text`` written as ``name`` (spacing aside)."""
    compact = re.sub(r"\s+", "", name_text)
    pattern = r"\s*".join(re.escape(ch) for ch in compact)
    lead = r"(?<![A-Za-z\\])" if compact[0].isalpha() else ""
    return re.sub(lead + pattern, lambda m: f" {name} ", text)


def definition_name(text: str, names) -> str:
    """``s_{1}``, ``\\delta h_{2}`` or ``p`` (the left side of a definition) as a name."""
    text = re.sub(r"\\[,;:! ]|\\quad", "", text).strip()
    text = re.sub(r"\\(?:mathbf|boldsymbol|bm)\s*\{\s*(\\?[A-Za-z]+)\s*\}", r"\1", text)   # (bold is dropped)
    text = re.sub(r"\\delta\s*(?=[A-Za-z])", "δ", text)   # δh₂, a backward signal; \delta_2 is delta2
    m = re.fullmatch(r"(δ?[A-Za-z]+[0-9]*|\\[A-Za-z]+)\s*(?:_\s*\{?\s*([A-Za-z0-9]+)\s*\}?)?", text)
    if m is None:
        raise ParseError(f"a definition needs a name on its left, got {text!r}", text, 0)
    base = m.group(1).lstrip("\\")
    return base + (m.group(2) or "")


# \frac{\partial L}{\partial w} or \nabla_w L: a derivative, the function's name and the variable's as written
DERIVATIVE_TERM = re.compile(r"\\frac\s*\{\s*\\partial\s*(?P<function>(?:[^{}]|\{[^{}]*\})+?)\s*\}\s*\{\s*\\partial\s*"
                              r"(?P<by>(?:[^{}]|\{(?:[^{}]|\{[^{}]*\})*\})+?)\s*\}"
                              r"|\\nabla\s*_\s*(?P<by2>\{(?:[^{}]|\{[^{}]*\})*\}|\\?[A-Za-z]+)\s*(?P<function2>\\?[A-Za-z]+"
                              r"(?:\s*_\s*(?:\{[^{}]*\}|[A-Za-z0-9]))?)")


def without_other_functions(claim: str, left: str, names, f) -> str:
    """The claim without a term that is the derivative, by the left side's variable, of another
    function than the left side's, one it never defines (``∂L_r/∂w = ∂L/∂w + 2λw`` of a regularized
    ``L_r = L + λ‖w‖²``): the derivative of the rest of a loss, which ``f`` leaves out — so the claim
    is judged as the derivative of f, and a ``ReadingWarning`` says so. One such term, added (``+``)
    whole, where f is one term (a sum could hold L's part: refused); a claim that is nothing else
    is refused."""
    own = DERIVATIVE_TERM.search(left)
    if own is None:
        return claim
    own_function, own_by = _function_and_variable(own)
    others = [m for m in DERIVATIVE_TERM.finditer(claim) if _function_and_variable(m)[1] == own_by
              and _function_and_variable(m)[0] != own_function and depth_at(claim, m.start()) == 0]
    if not others:
        return claim
    m = others[0]
    function = _function_and_variable(m)[0]
    before, after = claim[:m.start()].rstrip(), claim[m.end():].lstrip()
    plain = re.fullmatch(r"\\?[A-Za-z]+(?:_[A-Za-z0-9]+)?", function) and function.lstrip("\\") not in names
    added = (before == "" or before.endswith("+")) and (after == "" or after[0] in "+-")
    if len(others) > 1 or not plain or not added:
        return claim   # (refused where it is read: a derivative inside the expression)
    rest = (before[:-1].rstrip() + " " + after if before else after.lstrip("+")).strip()
    if not rest:
        raise ParseError(f"the claim is the derivative of {function}, a function it does not define", claim, m.start())
    core = f.args[-1] if f.op == "mul" and len(f.args) == 2 and f.args[0].op == "const" else f   # (½ (L + R))
    if core.op == "add":
        raise ParseError(f"the claim has the derivative of {function}, a function it does not define, and f is a sum "
                         f"of {len(core.args)} terms: write what that derivative is", claim, m.start())
    warnings.warn(ReadingWarning(f"{m.group().strip()}, of a function {function} the claim does not define, "
                                 "is read as the derivative of the rest of the loss, which f leaves out"), stacklevel=2)
    return rest


def function_named(left: str) -> str:
    """The name a left side gives the function it differentiates, with its subscript where it has
    one (``\\nabla_x f``: f; ``\\frac{\\partial L}{\\partial W}``: L; ``f'(x)``: f;
    ``\\frac{\\partial h_t}{\\partial h_{t-1}}``: h_t), else ``"f"``."""
    m = DERIVATIVE_TERM.search(left) or re.search(r"\\nabla\s*(?P<function2>[A-Za-z]+)", left) \
        or re.search(r"(?P<function2>[A-Za-z]+)\s*'", left)
    if m is None:
        return "f"
    written = (m.group("function") if "function" in m.groupdict() and m.group("function")
               else m.group("function2")).lstrip("\\")
    return re.sub(r"[\s{}]", "", written)


def _function_and_variable(m: re.Match) -> tuple:
    """The function and the variable of a ``DERIVATIVE_TERM`` match, without spaces."""
    function, by = m.group("function") or m.group("function2"), m.group("by") or m.group("by2")
    return re.sub(r"[\s{}]+", "", function), re.sub(r"\s+", "", by)   # (L_{r} is L_r)


# left sides that name an entry only: \partial_k f, \partial_k \partial_l f, H_{ij}, J_{ij}
ENTRY_ONLY = re.compile(r"\\partial_\s*\{?\s*(?P<i>[a-z])\s*\}?\s*(?:\\partial_\s*\{?\s*(?P<j>[a-z])\s*\}?\s*)?"
                         r"[A-Za-z](?:\s*\([^()]*\))?|(?P<name>[A-Z])_\s*\{\s*(?P<k>[a-z])\s*,?\s*(?P<l>[a-z])\s*\}")


def free_indices(claim: str, names) -> tuple:
    r"""The letter a claim leaves free where its left side names no entry: one that subscripts
    what a summed letter subscripts too (``\sum_i (p_i - y_i) p_i (1_{i=j} - p_j)``: j, beside i). The
    claim is then the vector of those entries; two such letters are refused (which is the row?)."""
    summed = sum_indices(claim)
    if not summed:
        return ()
    uses = [(m.group(1), [c for c in m.group(2) or m.group(3) if c.isalpha()], m.start())
            for m in re.finditer(r"(\\?[A-Za-z]+|1|\))\s*_\s*(?:\{([^{}]*)\}|([a-z]))", claim)]
    indexed_by_summed = {base for base, letters, _ in uses if summed & set(letters)}
    free = []
    for base, letters, _ in uses:
        for letter in letters:
            if letter not in summed and letter not in names and letter not in free \
                    and (base in indexed_by_summed and len(letter) == 1):
                free.append(letter)
    if len(free) > 1:   # which is the row? Only a left side (∂f/∂X_{ij}) says
        raise ParseError(f"{' and '.join(free)} are free in the claim, and no left side says which indexes the rows: "
                         f"write one (\\frac{{\\partial f}}{{\\partial X_{{{''.join(free)}}}}} = …)", claim, 0)
    return tuple(free)


# a definition by entries: y_n = …, \mu_i = …, p_i = …
ENTRY_NAME = re.compile(r"(\\?[A-Za-z]+)\s*_\s*\{?\s*([a-z])\s*\}?")
