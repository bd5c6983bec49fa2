"""What gets drawn, independent of Graphviz: circles, squares and edges.

A drawn node stands for one or more scalar nodes of the engine graph (``members``):
one at the scalar level, a neuron's or a layer's worth when collapsed
(:mod:`viz.collapse`). The renderer (:mod:`viz.render`) turns this into DOT.

Ids at the scalar level (pinned; the HTML stepper highlights by them), with
``i`` the index of a node in :func:`autodiff.topological_order`:

* ``n{i}``: the value circle of node ``i``;   ``op{i}``: the square of the op that made it;
* ``e{j}_{i}_{k}``: the edge from ``n{j}`` into ``op{i}`` as operand ``k``;
* ``r{i}``: the edge ``op{i} → n{i}``;  red backward twins add the suffix ``_back``.

Backward view: an edge gets a red twin iff it lies on a path from the loss to one of
the chosen nodes ``wrt``. Every node is reachable from the loss, so the edge ``a → b``
qualifies iff ``a`` depends on ``wrt`` (is in it or has an input that depends on it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

import autodiff
from autodiff import Value

from .naming import compact_label, display_names, forward_order

__all__ = ["GraphTooLarge", "DNode", "DEdge", "DGraph", "scalar_graph", "depends_on", "count_scalar_nodes",
           "choose_anchors"]


class GraphTooLarge(ValueError):
    """The graph has more drawn nodes than the limit for the chosen level of detail,
    or laying it out or rendering it took longer than allowed."""


@dataclass
class DNode:
    """A circle (``kind`` "value"/"param") or a square (``kind`` "op")."""

    id: str
    kind: str                      # "value" | "param" | "op"
    name: str                      # display name, or the op's slide label
    members: tuple[Value, ...]
    role: str                      # input | const | param | result | output | op
    style: str = "italic"          # name typography: italic | bold | upright
    note: str = ""                 # small second line for vectors, e.g. "[3]"
    anchor: Optional[str] = None   # id of the op square this leaf sits above

    @property
    def scalar(self) -> Optional[Value]:
        return self.members[0] if len(self.members) == 1 else None


@dataclass
class DEdge:
    """A forward edge; ``on_path``: it lies on a path from the loss to ``wrt``."""

    id: str
    tail: str
    head: str
    on_path: bool
    members: Sequence = ()         # (input, node, operand index) scalar edges it stands for


@dataclass
class DGraph:
    nodes: list[DNode] = field(default_factory=list)
    edges: list[DEdge] = field(default_factory=list)
    order: list[Value] = field(default_factory=list)     # autodiff.topological_order(root)
    where: dict[int, str] = field(default_factory=dict)  # id(scalar node) -> drawn node id


def count_scalar_nodes(order: list[Value]) -> int:
    """Circles and squares the scalar level draws: one per leaf, two per op result."""
    return sum(1 if v.is_leaf else 2 for v in order)


def depends_on(order: list[Value], wrt: Optional[Iterable[Value]]) -> set[int]:
    """ids of the nodes that are in ``wrt`` or have an input that is (None: all params)."""
    if wrt is None:
        targets = {id(v) for v in order if v.param}
    else:
        if isinstance(wrt, Value):
            wrt = (wrt,)
        targets = {id(v) for v in wrt}
        missing = targets - {id(v) for v in order}
        if missing:
            bad = [autodiff.describe(v) for v in wrt if id(v) in missing]
            raise ValueError(f"wrt: {', '.join(bad)} is not part of the drawn graph")
    dep: set[int] = set()
    for v in order:
        if id(v) in targets or any(id(a) in dep for a in v.inputs):
            dep.add(id(v))
    return dep


def op_note(v: Value) -> str:
    """The op's constant, where it is one the reader needs: ``k = 2`` for ``a ** 2``."""
    note = autodiff.OPS[v.op].note if v.op in autodiff.OPS else None
    return note(v.attr) if note is not None else ""


def _role(v: Value, root: Value) -> str:
    if v is root:
        return "output"
    if v.param:
        return "param"
    if v.is_leaf:
        return "input" if v.label else "const"
    return "result"


def name_style(name: str) -> str:
    """Slides' typography for a scalar: italic (u₁, y, ŷ, E). Bold upright is kept for
    the vectors and matrices of the collapsed levels (x, W₁), which set it themselves."""
    return "italic"


def scalar_graph(root: Value, order: list[Value], dep: set[int]) -> DGraph:
    """Every scalar node: a circle per value, a square per op, with the pinned ids."""
    names = display_names(root)
    index = {id(v): i for i, v in enumerate(order)}
    g = DGraph(order=order)
    for i, v in enumerate(order):
        role = _role(v, root)
        if not v.is_leaf:
            g.nodes.append(DNode(f"op{i}", "op", autodiff.OPS[v.op].label, (v,), "op",
                                 note=op_note(v)))
        name = compact_label(names[v])
        g.nodes.append(DNode(f"n{i}", "param" if v.param else "value", name, (v,), role,
                             style=name_style(name) if role != "const" else "upright"))
        g.where[id(v)] = f"n{i}"
        if not v.is_leaf:
            for k, a in enumerate(v.inputs):
                j = index[id(a)]
                g.edges.append(DEdge(f"e{j}_{i}_{k}", f"n{j}", f"op{i}", id(a) in dep, ((a, v, k),)))
            g.edges.append(DEdge(f"r{i}", f"op{i}", f"n{i}", id(v) in dep, ()))
    return g


def choose_anchors(g: DGraph, above: Iterable[Value] = ()) -> None:
    """Put a parameter, a constant, or a leaf listed in ``above`` directly above the
    square that reads it first in Python's evaluation order (a network's matmul before
    the penalty ‖W‖ computed later), as the slides do. A square gets one leaf above
    it: a stack of several would make the straight edges run through each other's
    circles; with several candidates the vector (``W``) wins, else the last operand
    (a neuron's bias ``b``)."""
    if not g.order:
        return
    pos = {id(v): k for k, v in enumerate(forward_order(g.order[-1]))}
    extra = {id(v) for v in above}
    nodes = {n.id: n for n in g.nodes}

    def when(n: DNode) -> int:
        return min((pos.get(id(m), 0) for m in n.members), default=0)

    heads: dict[str, list[DNode]] = {}
    for e in g.edges:
        if nodes[e.head].kind == "op":
            heads.setdefault(e.tail, []).append(nodes[e.head])
    wanted: dict[str, list[DNode]] = {}
    for n in g.nodes:
        n.anchor = None
        leafy = n.kind == "param" or n.role == "const" or any(id(m) in extra for m in n.members)
        if leafy and n.id in heads:
            first = min(heads[n.id], key=when)
            wanted.setdefault(first.id, []).append(n)
    for head, leaves in wanted.items():
        vectors = [n for n in leaves if len(n.members) > 1]
        (vectors[0] if vectors else leaves[-1]).anchor = head
