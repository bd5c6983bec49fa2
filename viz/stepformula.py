"""How the step-through debugger writes names, numbers and local derivatives.

* :func:`drawn_names`: the name of every node as the drawing writes it inside its circle
  (:func:`viz.naming.display_names`, shortened by :func:`viz.naming.compact_label`, with
  the subscripts the renderer draws: ``w5`` → w₅, ``in_o`` → inₒ), as plain text with
  control characters escaped, so that a label can never retitle or clear a terminal.
* :func:`factor`: a number inside a product, negative ones in parentheses
  (``0.5 · (−1.483)``).
* :func:`local_derivative`: the local partial ∂u/∂a of one edge, instantiated from the
  op table's rule (``autodiff.OPS[op].rule``) with this node's names and numbers:
  ``∂u₂/∂u₁ = σ(u₁)(1 − σ(u₁)) = 0.2413``.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Callable, Mapping

import autodiff
from autodiff import Value
from autodiff.ops import StepNames

from .naming import compact_label, display_names, subscript

__all__ = ["as_drawn", "drawn_names", "escape_control", "factor", "local_derivative", "chain_rule_formula"]

_LETTER_SUB = dict(zip("aehijklmnoprstuvx", "ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))
_INDEXED = re.compile(r"^([^\W\d_][\u0300-\u036f]?)_?([0-9]+(?:,[0-9]+)*)$")   # w5, x_1, W1,2
_TEX = re.compile(r"^([^\W_][^_\s]{0,7})_([^_\s]{1,8})$")                      # in_o, out_H1


def escape_control(text: str) -> str:
    """Control and format characters (ESC, BEL, newline, bidi overrides, …) and lone
    surrogates written as ``\\x1b`` / ``\\u202e`` escapes; everything else unchanged."""
    def esc(ch: str) -> str:
        code = ord(ch)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return "".join(esc(c) if unicodedata.category(c) in ("Cc", "Cf", "Cs") else c for c in text)


def _subscripted(name: str) -> str:
    m = _INDEXED.match(name)
    if m:
        return m[1] + subscript(m[2])
    m = _TEX.match(name)
    if m and all(c.isdigit() or c in _LETTER_SUB for c in m[2]):
        return m[1] + "".join(subscript(c) if c.isdigit() else _LETTER_SUB[c] for c in m[2])
    return name


def as_drawn(name: str) -> str:
    """A drawing's name as plain text with the subscripts the renderer draws (``x1`` → x₁,
    ``in_o`` → inₒ, ``W₁[2,1]`` unchanged), control characters escaped: how every formula
    writes a drawn node, so a formula's name is always the drawing's."""
    return escape_control(_subscripted(compact_label(name)))


def drawn_names(root: Value, unicode: bool = True) -> dict[Value, str]:
    """Every node's name as drawn (``unicode=False``: the labels as given and u1, u2, …)."""
    names = display_names(root, unicode=unicode)
    if unicode:
        names = {v: _subscripted(compact_label(n)) for v, n in names.items()}
    return {v: escape_control(n) for v, n in names.items()}


def factor(text: str) -> str:
    """A formatted number as a factor of a product: negative numbers in parentheses."""
    return f"({text})" if text.startswith(("−", "-")) else text


def local_derivative(node: Value, k: int, local: float, names: Mapping[Value, str],
                     fmt: Callable[[float], str]) -> str:
    """``∂u/∂a = <the rule, instantiated> = <value>`` for operand ``k`` of ``node``: the op
    table's rule (``autodiff.OPS[op].local_rule``) with this node's names and numbers."""
    u, a = names[node], names[node.inputs[k]]
    head = f"∂{u}/∂{a}"
    value = fmt(local)
    xs = node.inputs
    op = autodiff.OPS.get(node.op)
    rule = "?" if op is None else op.local_rule(StepNames(
        out=names[node], names=tuple(names[x] for x in xs), data=tuple(x.data for x in xs),
        value=node.data, attr=node.attr, k=k, local=local, fmt=fmt, factor=factor))
    if rule == value or rule.lstrip("(").rstrip(")") == value:
        return f"{head} = {value}"
    return f"{head} = {rule} = {value}"


def chain_rule_formula(names: Mapping[Value, str], fmt: Callable[[float], str], loss: Value, node: Value,
                       inp: Value, k: int, upstream: float, local: float, product: float) -> str:
    """``∂l/∂a += ∂l/∂u · ∂u/∂a = <upstream> · <local> = <product>`` for operand ``k`` of
    ``node`` (the operand's number when the same node is used twice)."""
    l, u, a = names[loss], names[node], names[inp]
    which = f" (operand {k + 1})" if sum(1 for x in node.inputs if x is inp) > 1 else ""
    return (f"∂{l}/∂{a} += ∂{l}/∂{u} · ∂{u}/∂{a}{which} = "
            f"{factor(fmt(upstream))} · {factor(fmt(local))} = {fmt(product)}")
