"""Names of the nodes of a drawn graph, as the slides write them (seed 003).

* a node the user labelled keeps its label, written short where that stays unique
  (``x.0`` → x₀; an ``nn`` parameter ``layers.0.neurons.1.w.2`` → W₁[2,1]; a
  dotted label → its last name and indices); two labels that would shorten alike
  keep their full form;
* unlabelled op results are u₁, u₂, … numbered in forward order, i.e. the order in
  which Python evaluated the expression (a depth-first walk that visits operands
  first-operand-first, so ``a + b`` numbers all of ``a`` before ``b``); numbers a user
  label already took (``u3`` or ``u₃``) are skipped;
* unlabelled constant leaves show their number (``2``, ``0.5``);
* unlabelled parameters are θ₁, θ₂, … in the same order.
"""

from __future__ import annotations

import math
import re
from typing import Iterable, Optional

from autodiff import Value

__all__ = ["display_names", "forward_order", "subscript", "plain", "format_number", "short_label",
           "compact_label"]

ZERO_BELOW = 1e-12        # |x| below this is drawn as 0
_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")
_UNSUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def subscript(text: str) -> str:
    """``"12"`` → ``"₁₂"``."""
    return text.translate(_SUB)


def plain(text: str) -> str:
    """``"u₁₂"`` → ``"u12"``: subscript digits back to ASCII."""
    return text.translate(_UNSUB)


def format_number(x: float, digits: int = 4) -> str:
    """A short number for a drawing: 4 significant digits, a real minus sign."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    # zero up to rounding (0.1 + 0.2 − 0.3 = 5.6e−17) is drawn as 0; the tooltip and
    # the stepper keep the exact float
    text = f"{x + 0.0:.{digits}g}" if abs(x) >= ZERO_BELOW else "0"
    if "e" in text:
        mantissa, exponent = text.split("e")
        text = f"{mantissa}e{int(exponent)}"
    return text.replace("-", "−")


def forward_order(root: Value) -> list[Value]:
    """All nodes of ``root``'s graph in Python's evaluation order (operands left to
    right, each before its consumer); iterative, any depth."""
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for inp in reversed(node.inputs):
            if id(inp) not in seen:
                stack.append((inp, False))
    return order


def _numbered(prefix: str, taken: set[str]) -> Iterable[str]:
    k = 0
    while True:
        k += 1
        name = f"{prefix}{k}"
        if name not in taken:
            yield name


def display_names(root: Value, unicode: bool = True) -> dict[Value, str]:
    """A name for every node of ``root``'s graph: its label if it has one, else ``x₁, x₂, …`` for
    inputs, the number itself for constants and ``u₁, u₂, …`` for intermediate results, in
    forward order.

    ``unicode=True`` writes subscripts as ``u₁``; ``unicode=False`` as ``u1``.
    User labels are returned exactly as given in both forms.
    """
    order = forward_order(root)
    taken = {plain(v.label) for v in order if v.label}
    u_names = _numbered("u", taken)
    theta_names = _numbered("θ", taken)
    names: dict[Value, str] = {}
    compact = _compact_unique([v.label for v in order if v.label])
    for v in order:
        if v.label:
            short = compact[v.label]
            names[v] = short if unicode else plain(short)
            continue
        if not v.is_leaf:
            name = next(u_names)
        elif v.param:
            name = next(theta_names)
        else:
            names[v] = format_number(v.data) if unicode else f"{v.data:.4g}"
            continue
        names[v] = name[0] + subscript(name[1:]) if unicode else name
    return names


def _compact_unique(labels: list[str]) -> dict[str, str]:
    """Each label's short form (:func:`compact_label`) where no other label shares it;
    the label itself where two would (a drawing never shows two circles called w₀)."""
    short = {label: compact_label(label) for label in dict.fromkeys(labels)}
    count: dict[str, int] = {}
    for s in short.values():
        count[s] = count.get(s, 0) + 1
    return {label: s if count[s] == 1 else label for label, s in short.items()}


_NN_PARAM = re.compile(r"^(?:(?:layers\.(?P<layer>\d+)\.)?neurons\.(?P<unit>\d+)\.)"
                       r"(?P<kind>[wb])(?:\.(?P<idx>\d+(?:\.\d+)*))?$")


def nn_param_name(label: str) -> Optional[str]:
    """The name of an ``nn`` parameter as a matrix entry: ``layers.0.neurons.1.w.2`` →
    ``W₁[2,1]`` (layer 1, the weight from input 2 into unit 1: [input, unit], the order
    of the drawn W₁ ∈ ℝᵖˣᵠ, inputs × units, as in the lecture; indices from 0),
    ``layers.0.neurons.1.b`` → ``b₁[1]``; a standalone layer's ``neurons.1.w.2`` →
    ``W[2,1]``. None for other labels."""
    m = _NN_PARAM.match(label)
    if not m:
        return None
    base = "W" if m["kind"] == "w" else "b"
    if m["layer"] is not None:
        base += subscript(str(int(m["layer"]) + 1))
    idx = (m["idx"].split(".") if m["idx"] else []) + [m["unit"]]
    return f"{base}[{','.join(idx)}]"


def short_label(label: str) -> str:
    """``layers.0.neurons.1.w.3`` → ``w.3``: the last name with its trailing indices."""
    parts = label.split(".")
    k = len(parts) - 1
    while k > 0 and parts[k].isdigit():
        k -= 1
    return ".".join(parts[k:])


def compact_label(label: str) -> str:
    """How a drawing writes a dotted label inside an 80 px circle (the full label goes
    to the tooltip): ``layers.0.neurons.1.w.3`` → ``w₃``, ``x.0`` → ``x₀``,
    ``w.2.3`` → ``w₂,₃``. Other labels are returned unchanged."""
    if not label[:1].isalpha():
        return label
    entry = nn_param_name(label)
    if entry is not None:
        return entry
    short = short_label(label)
    parts = short.split(".")
    if len(parts) > 1 and all(p.isdigit() for p in parts[1:]) and parts[0]:
        return parts[0] + subscript(",".join(parts[1:]))
    return short if "." in label and len(label) > 8 else label
