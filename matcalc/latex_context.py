"""What a claim's undefined names mean by the function it is about: the prediction f compares its
target with (``p``, ``\\hat{y}``), the layers of a network (``z_l``, ``a_l``), the probabilities of
a variable (``p(\\mathbf{a})``). Read by ``parse_latex``, each such reading a guess it says.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from . import expr as E


@dataclass(frozen=True)
class Context:
    """What a claim is read beside: the function ``f`` it is about, the name it gives f with its
    subscript (``∇f``: f; ``∂L/∂W``: L; ``∂h_t/∂h_{t-1}``: h_t), and what a network's letters name
    there (``kinds``: ``a`` the activation, or, with ``h`` beside it and no ``z``, the pre-activation)."""
    f: object
    own_written: str
    kinds: dict
    by: str | None = None   # the variable the derivative is by (θ, undeclared, is read as it)
    sizes: frozenset = frozenset()   # the names that are a dimension's size
    written: str = ""   # the whole claim as written (a name guessed must not be written there too)

    @property
    def own(self) -> str:
        """f's name without its subscript (h of h_t)."""
        return re.sub(r"[^A-Za-z].*", "", self.own_written)


# what an activation may be (a network's last layer: a softmax too)
ACTIVATIONS = ("fn", "softmax", "log_softmax")


def probability_parts(f: E.Expr, variables: frozenset) -> list:
    """The parts of ``f`` that give probabilities of exactly ``variables``: a softmax or a σ of a
    vector or matrix (``softmax(a)`` in ``‖softmax(a) − y‖²``; a log-softmax holds a softmax too).
    What else an undefined p(a) might be — a scalar function, another elementwise one (h(a) beside
    relu(a): its derivative?) — is not guessed."""
    parts = []
    for node in E.walk(f):
        if node.free_vars != variables or node.shape == (1, 1) or not (
                node.op in ("softmax", "log_softmax") or node.op == "fn" and node.data == "sigmoid"):
            continue
        if node.op == "log_softmax":   # log softmax(z): the softmax of z is a part as well
            parts.append(E.softmax(node.args[0], node.data))
        parts.append(node)
    return list(dict.fromkeys(parts))


def layers_of(f: E.Expr) -> dict:
    """The layers of ``f`` where it is plainly a network ``a_l = φ(W_l a_{l-1} (+ b_l))``, weights
    numbered from 1 (``W1``, ``w_2``) or one weight ``w`` (one neuron or layer, its bias ``b``), each
    in one product of two factors, each layer's input the
    last one's activation: ``{"L": the last layer, "z": {l: pre-activation}, "a": {l: activation,
    0: the input}}``; φ is an elementwise function, or at the last layer a softmax, or nothing where
    the last layer is compared with a target (``W_2 h + b_2 − y``). Else ``{}``: nothing is guessed."""
    weights = {}
    for v in f.free_vars:
        m = re.fullmatch(r"[wW]_?([0-9])", v.name)
        if m is not None:
            weights[int(m.group(1))] = v
    single = [v for v in f.free_vars if v.name in ("w", "W")]
    if not weights and len(single) == 1:   # one neuron (or one layer): its weight is layer 1's, its bias b
        weights[1] = single[0]
    bias = "b_?{number}" if not single or len(weights) > 1 else "b_?1|b"
    if not weights or sorted(weights) != list(range(1, len(weights) + 1)):
        return {}
    nodes = E.walk(f)
    parents: dict = {}
    for node in nodes:
        for arg in node.args:
            parents.setdefault(arg, []).append(node)
    z, a = {}, {}
    for number, weight in sorted(weights.items()):
        written = {weight, E.transpose(weight)}   # (wᵀ x of a neuron's weight vector)
        products = [n for n in nodes if n.op in ("matmul", "mul") and written & set(n.args)]
        if len(products) != 1 or len(products[0].args) != 2:
            return {}
        product = products[0]
        layer_input = next(arg for arg in product.args if arg not in written)
        if number == 1:
            if layer_input.op != "var":   # (W σ(V x): V is a weight too, not named as one)
                return {}
            a[0] = layer_input
        elif layer_input is not a[number - 1]:
            return {}
        biases = {arg for parent in parents.get(product, []) if parent.op == "add" for arg in parent.args
                  if arg.op == "var" and re.fullmatch(bias.format(number=number), arg.name)}
        pre = E.add(product, *biases)
        applied = [n for n in parents.get(pre, []) if n.op in ACTIVATIONS and n.args == (pre,)]
        if len(applied) == 1 and (applied[0].op == "fn" or number == len(weights)):
            a[number] = applied[0] if applied[0].op != "log_softmax" else E.softmax(pre, applied[0].data)
        elif number == len(weights) and _against_a_target(product, parents, biases):
            a[number] = pre
        else:
            return {}
        z[number] = pre
    return {"L": len(weights), "z": z, "a": a}


_TARGETS = ("y", "Y", "t", "T")   # the names a target goes by


def prediction_of(f: E.Expr):
    """``(target, prediction)`` where ``f`` compares one target (``y``, ``Y``, ``t``, ``T``) with
    one prediction: ``P − y`` (``‖X w − y‖²``), ``y ⊙ log P`` (a cross-entropy), ``yᵀ log softmax(z)``
    (whose prediction is ``softmax(z)``); else None."""
    targets = {v for v in f.free_vars if v.name in _TARGETS}
    found = []
    for node in E.walk(f):
        if node.op == "add":
            negated = [a for a in node.args if a.op == "mul" and len(a.args) == 2 and E.is_const(a.args[0], -1)
                       and a.args[1] in targets]
            rest = [a for a in node.args if a not in negated]
            if len(negated) == 1 and not any(t in r.free_vars for r in rest for t in targets):
                found.append((negated[0].args[1], E.add(*rest)))
        elif node.op in ("mul", "matmul") and len(node.args) == 2:
            for target, other in (node.args, node.args[::-1]):
                target = target.args[0] if target.op == "T" else target
                if target not in targets:
                    continue
                if other.op == "log_softmax":
                    found.append((target, E.softmax(other.args[0], other.data)))
                elif other.op == "fn" and other.data == "log" and not any(t in other.free_vars for t in targets):
                    found.append((target, other.args[0]))
    found = list(dict.fromkeys((t, p) for t, p in found))
    return (found[0][0].name, found[0][1]) if len(found) == 1 else None


def is_probability(e: E.Expr) -> bool:
    """Whether ``e`` is a softmax or a σ (what a p names)."""
    return e.op == "softmax" or e.op == "fn" and e.data == "sigmoid"


def _against_a_target(product: E.Expr, parents: dict, biases: set) -> bool:
    """Whether ``product`` (plus ``biases``) is only ever compared with a target: a sum of it, its
    bias and a variable subtracted (``W_2 h + b_2 − y``)."""
    holders = parents.get(product, [])
    return bool(holders) and all(
        holder.op == "add" and all(arg is product or arg in biases or arg.op == "mul" and len(arg.args) == 2
                                   and E.is_const(arg.args[0], -1) and arg.args[1].op == "var" for arg in holder.args)
        for holder in holders)


def layer_kinds(text: str) -> dict:
    """What ``z``, ``a`` and ``h`` with a layer's label name in ``text``: the pre-activation ``z``
    and the activation ``a`` (or ``h``); with ``h`` beside ``a`` and no ``z``, ``a`` is the
    pre-activation and ``h`` the activation (as in Goodfellow, Bengio and Courville)."""
    used = {letter.lower() for letter in re.findall(r"(?<![A-Za-z\\])([azhAZH])\s*[_^]\s*\{?\s*[(\[]?\s*[0-9L]", text)}
    kinds = {"a": "z", "h": "a"} if {"a", "h"} <= used and "z" not in used else \
        {"z": "z", "h": "a"} if {"a", "h", "z"} <= used else {"z": "z", "a": "a", "h": "a"}
    return {**kinds, **{letter.upper(): kind for letter, kind in kinds.items()}}   # (Ng's A^{[l]} of a batch)
