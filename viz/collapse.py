"""Levels of detail: one node per neuron, one stage per layer, and the expanded dot.

``nn`` puts ``.group = ("layers.<i>", "neurons.<j>")`` on the nodes a neuron creates
(its ``dot`` node and its activation). A *block* is the set of op nodes sharing
``group[:2]`` (neuron level) or ``group[:1]`` (layer level). A group whose first
element is ``"op:<label>"`` (e.g. ``("op:cross_ent",)``) marks a composite operation:
at both coarse levels its nodes are drawn as ONE square labelled ``<label>``.

* neuron level: a neuron is one square labelled by its composition (``σ(dot)``), its
  parameters one red circle above it, its output one circle.
* layer level: the nodes of a layer are split into stages by (depth inside the
  layer, op), each stage drawn as one square on vectors, as the slides draw an MLP:
  ``x → matmul(W₁) → u₁ → σ(·) → u₂``; a bias adds ``add(b₁)`` after the matmul.
  Inputs read only by one block become one vector circle (``x``).

Parameters read only by one block are absorbed into it (a matrix ``W``); constants
read only inside a block are hidden; everything else (ungrouped nodes, shared
leaves) is drawn at the scalar level with the scalar ids. Collapsed nodes get ids
``g<k>``; ``DGraph.where`` maps each scalar node to the circle that shows it.
Names: user labels, then u₁, u₂, … in the drawing's own forward order.
"""

from __future__ import annotations

import heapq
import re
from typing import Optional

import autodiff
from autodiff import Value

from .graph import DEdge, DGraph, DNode, _role, name_style, op_note
from .naming import compact_label, display_names, forward_order, nn_param_name, short_label, subscript
from .stepformula import as_drawn

__all__ = ["collapsed_graph", "expanded_graph"]


def _base(label: str) -> str:
    """The name of a vector whose entries are labelled ``x.0``, ``x.1``, …: ``x``."""
    return re.sub(r"(?:[._]?\d+|[₀-₉]+)$", "", short_label(label))


class _Builder:
    """Accumulates drawn nodes and edges, merging parallel scalar edges."""

    def __init__(self, order: list[Value], dep: set[int]) -> None:
        self.g = DGraph(order=order)
        self.dep = dep
        self.count = 0
        self.edges: dict[tuple[str, str], DEdge] = {}
        self.uses: dict[int, list[tuple[Value, int]]] = {}

    def new_id(self) -> str:
        self.count += 1
        return f"g{self.count}"

    def node(self, node: DNode) -> DNode:
        self.g.nodes.append(node)
        if node.kind != "op":
            for m in node.members:
                self.g.where[id(m)] = node.id
        return node

    def edge(self, tail: str, head: str, on_path: bool, member: Optional[tuple] = None,
             eid: Optional[str] = None) -> None:
        key = (tail, head)
        e = self.edges.get(key)
        if e is None:
            e = DEdge(eid or f"{tail}_{head}", tail, head, on_path, [])
            self.edges[key] = e
            self.g.edges.append(e)
        e.on_path = e.on_path or on_path
        if member is not None:
            e.members.append(member)


def _block_key(v: Value, detail: str) -> Optional[tuple]:
    if v.is_leaf or not v.group:
        return None
    if str(v.group[0]).startswith("op:"):
        return tuple(v.group)
    if detail == "neuron":
        return tuple(v.group[:2])
    # a standalone nn.Layer groups its neurons ("neurons.<j>",): one layer all the same
    return ("layer",) if str(v.group[0]).startswith("neurons.") else tuple(v.group[:1])


def _index_of(part: str) -> Optional[int]:
    m = re.fullmatch(r"\w+\.(\d+)", str(part))
    return int(m[1]) if m else None


def _param_name(home: tuple, role: str, matrix: bool, params: list[Value]) -> str:
    """The drawn name of the parameters one block reads in one role (weights W, bias b).

    The user's own labels are kept (NPTEL's w1, w2 → (w₁, w₂); a single b1 → b1, drawn b₁);
    ``nn``'s parameters are named as entries of the layer's matrix, indices from 0 in the
    order of the drawn shape (W₁ ∈ ℝᵖˣᵠ, inputs × units): a neuron's weights are the
    column ``W₁[:,j]``, its bias ``b₁[j]``; a layer's ``W₁`` and ``b₁``."""
    labels = [p.label for p in params]
    nn_named = any(nn_param_name(label) for label in labels)
    if not nn_named and len(params) > 1:
        dotted = [re.fullmatch(r"(.+)\.\d+", label) for label in labels]
        if all(dotted) and len({m[1] for m in dotted}) == 1:
            return short_label(dotted[0][1])   # w.0, w.1, w.2: the vector w, as x.0, x.1 → x
    if all(labels) and not nn_named:
        shown = [compact_label(label) for label in labels]
        if len(shown) == 1:
            return shown[0]
        shown = [as_drawn(x) for x in shown]
        return "(" + ", ".join(shown if len(shown) <= 3 else [shown[0], "…", shown[-1]]) + ")"
    layer = next((i for part, i in zip(home, map(_index_of, home)) if str(part).startswith("layers.")), None)
    unit = next((i for part, i in zip(home, map(_index_of, home)) if str(part).startswith("neurons.")), None)
    name = "W" if role == "W" and (matrix or unit is not None) else role.lower()
    if str(home[0]).startswith("op:"):
        return name
    if layer is not None:
        name += subscript(str(layer + 1))     # layers count from 1, as in the slides' W₁
    if not matrix and unit is not None:
        name += f"[:,{unit}]" if role == "W" else f"[{unit}]"
    return name


def _half(v: Value) -> int:
    """n for a dot node with inputs (w₁…wₙ, x₁…xₙ[, b])."""
    return (len(v.inputs) - (1 if v.attr else 0)) // 2


def _dot_role(v: Value, k: int) -> str:
    """Operand k of a dot node is a weight ("W"), an input ("x") or the bias ("b")."""
    half = _half(v)
    return "W" if k < half else ("x" if k < 2 * half else "b")


def collapsed_graph(root: Value, order: list[Value], dep: set[int], detail: str) -> DGraph:
    """The neuron- or layer-level drawing of ``root``'s graph (see the module docstring)."""
    b = _Builder(order, dep)
    index = {id(v): i for i, v in enumerate(order)}
    key = {id(v): _block_key(v, detail) for v in order}
    uses: dict[int, list[tuple[Value, int]]] = {}
    for v in order:
        for k, a in enumerate(v.inputs):
            uses.setdefault(id(a), []).append((v, k))
    b.uses = uses
    blocks: dict[tuple, list[Value]] = {}
    for v in order:
        if key[id(v)] is not None:
            blocks.setdefault(key[id(v)], []).append(v)

    # -- leaves read only inside blocks: parameters become one circle per (home block,
    #    role), constants are hidden, labelled inputs of one layer become a vector
    param_groups: dict[tuple, list[Value]] = {}
    gathered: dict[tuple, list[Value]] = {}
    hidden: set[int] = set()
    for v in order:
        if not v.is_leaf or v is root or id(v) not in uses:
            continue
        readers = uses[id(v)]
        keys = [key[id(c)] for c, _ in readers]
        if None in keys:
            continue
        if v.param:
            layered = [kk for kk in keys if not str(kk[0]).startswith("op:")]
            home = layered[0] if layered else keys[0]
            c, k = next((c, k) for c, k in readers if key[id(c)] == home)
            role = _dot_role(c, k) if c.op == "dot" else (_base(v.label) if v.label else "θ")
            param_groups.setdefault((home, role), []).append(v)
        elif not v.label:
            if len(set(keys)) == 1:
                hidden.add(id(v))
        elif detail == "layer" and len(set(keys)) == 1 and not str(keys[0][0]).startswith("op:"):
            gathered.setdefault(keys[0], []).append(v)
    gathered_ids = {id(x) for xs in gathered.values() for x in xs}
    absorbed = {id(p) for ps in param_groups.values() for p in ps}

    # -- ungrouped nodes and leaves not absorbed: as at the scalar level
    square_of: dict[int, str] = {}           # op node -> square computing it
    for v in order:
        i = index[id(v)]
        if key[id(v)] is not None or id(v) in absorbed or id(v) in hidden or id(v) in gathered_ids:
            continue
        if not v.is_leaf:
            b.node(DNode(f"op{i}", "op", autodiff.OPS[v.op].label, (v,), "op", note=op_note(v)))
            square_of[id(v)] = f"op{i}"
        b.node(DNode(f"n{i}", "param" if v.param else "value", "", (v,), _role(v, root)))

    for (home, role), params in param_groups.items():
        n = len(params)
        if role in ("W", "b"):
            readers = {id(c) for p in params for c, _ in uses[id(p)] if key[id(c)] == home}
            units = len(readers)               # neurons (dot nodes) reading this block
            matrix = detail == "layer" and (units > 1 or _is_layer(home))
            name = _param_name(home, role, matrix, params)
            # a matrix shows its shape p×q (inputs × units, W ∈ ℝᵖˣᵠ as in the lecture)
            note = (f"{n // units}×{units}" if matrix and role == "W" and n % units == 0
                    else f"[{n}]" if n > 1 else "")
            b.node(DNode(b.new_id(), "param", name, tuple(params), "param",
                         style="bold" if n > 1 or name[0].isupper() else "italic", note=note))
        else:
            for p in params:
                b.node(DNode(f"n{index[id(p)]}", "param", "", (p,), "param"))
    for leaves in gathered.values():
        bases = {_base(x.label) for x in leaves}
        name = bases.pop() if len(bases) == 1 else "x"
        many = len(leaves) > 1
        b.node(DNode(b.new_id(), "value", name, tuple(leaves), "input",
                     style="bold" if many else name_style(name), note=f"[{len(leaves)}]" if many else ""))

    # -- blocks; head[(id(v), k)] overrides the square an operand enters
    head: dict[tuple[int, int], str] = {}
    for blk, members in blocks.items():
        if str(blk[0]).startswith("op:"):
            _single_square(b, str(blk[0])[3:], members, square_of, root, all_outputs=True)
        elif detail == "neuron":
            label = _composition(members)
            _single_square(b, label, members, square_of, root, all_outputs=False)
        else:
            _layer(b, members, square_of, head, root, matrix=_is_layer(blk))

    # -- edges between drawn nodes, from the scalar edges
    for v in order:
        if id(v) not in square_of:
            continue
        for k, a in enumerate(v.inputs):
            h = head.get((id(v), k), square_of[id(v)])
            tail = b.g.where.get(id(a))
            if tail is None or square_of.get(id(a)) == h:
                continue                      # hidden constant, or inside one square
            scalar = tail.startswith("n") and h.startswith("op")
            b.edge(tail, h, id(a) in dep, (a, v, k),
                   f"e{index[id(a)]}_{index[id(v)]}_{k}" if scalar else None)
    for v in order:                           # square -> its result circle
        circle = b.g.where.get(id(v))
        if id(v) in square_of and circle is not None:
            b.edge(square_of[id(v)], circle, id(v) in dep, None,
                   f"r{circle[1:]}" if circle.startswith("n") else None)
    for v in order:                           # hidden nodes: shown by their square
        if id(v) not in b.g.where and id(v) in square_of:
            b.g.where[id(v)] = square_of[id(v)]
    _name(b, root)
    return b.g


def _composition(members: list[Value]) -> str:
    """A neuron's ops as one function: ``σ(dot)``, ``max(dot)`` (maxout's k dots are
    one stage), ``relu(dot)``; inner stages are those at a smaller depth in the block."""
    inside = {id(m) for m in members}
    depth: dict[int, int] = {}
    stages: list[list[str]] = []
    for v in members:
        d = max((depth[id(a)] + 1 for a in v.inputs if id(a) in inside), default=0)
        depth[id(v)] = d
        while len(stages) <= d:
            stages.append([])
        op_label = autodiff.OPS[v.op].label
        if op_label not in stages[d]:
            stages[d].append(op_label)
    label = ""
    for labels in stages:
        op_label = "+".join(labels)
        label = op_label if not label else (
            op_label.replace("·", label) if "·" in op_label else f"{op_label}({label})")
    return label


def _single_square(b: _Builder, label: str, members: list[Value], square_of: dict[int, str],
                   root: Value, all_outputs: bool) -> None:
    """A composite op or a neuron: one square, one circle for what leaves it."""
    square = b.node(DNode(b.new_id(), "op", label, tuple(members), "op"))
    for m in members:
        square_of[id(m)] = square.id
    if all_outputs:
        key = members[0].group
        outs = [m for m in members
                if m is root or any(c.group != key for c, _ in b.uses.get(id(m), ()))] or members[-1:]
    else:
        outs = members[-1:]
    role = "output" if root in outs else "result"
    b.node(DNode(b.new_id(), "value", "", tuple(outs), role,
                 note=f"[{len(outs)}]" if len(outs) > 1 else ""))


def _is_layer(block: tuple) -> bool:
    """A block of an MLP layer or a standalone nn.Layer (not a lone neuron)."""
    return block == ("layer",) or str(block[0]).startswith("layers.")


def _layer(b: _Builder, members: list[Value], square_of: dict[int, str],
           head: dict[tuple[int, int], str], root: Value, matrix: bool) -> None:
    """Stages by (depth inside the layer, op): ``matmul(W)``, ``add(b)``, ``σ(·)``, …;
    a lone neuron (``matrix=False`` and one unit) is ``dot(w)`` (logistic-neuron.png)."""
    inside = {id(m) for m in members}
    depth: dict[int, int] = {}
    stages: dict[tuple[int, str], list[Value]] = {}
    for v in members:
        d = max((depth[id(a)] + 1 for a in v.inputs if id(a) in inside), default=0)
        depth[id(v)] = d
        stages.setdefault((d, v.op), []).append(v)
    for (_, op), vs in sorted(stages.items()):
        n = len(vs)
        # a layer of one neuron is w·x (logistic-neuron.png), of several W x
        label = ("matmul" if n > 1 or matrix else "dot") if op == "dot" else autodiff.OPS[op].label
        square = b.node(DNode(b.new_id(), "op", label, tuple(vs), "op"))
        for v in vs:
            square_of[id(v)] = square.id
        if op == "dot" and any(v.attr for v in vs):
            # matmul straight into add(b), as layer.png draws it: the engine's dot node
            # adds the bias itself, so there is no value between the two to show
            add = b.node(DNode(b.new_id(), "op", "add", tuple(vs), "op"))
            on = any(id(v) in b.dep for v in vs)
            b.edge(square.id, add.id, on)
            for v in vs:
                square_of[id(v)] = add.id
                for k in range(2 * _half(v)):     # weights and inputs into matmul, b into add
                    head[(id(v), k)] = square.id
        role = "output" if root in vs else "result"
        b.node(DNode(b.new_id(), "value", "", tuple(vs), role, note=f"[{n}]" if n > 1 else ""))


def _name(b: _Builder, root: Value) -> None:
    """Names for the circles still unnamed: a member's label, else u₁, u₂, … in the
    drawing's forward order (a topological sort of the drawn graph, ties broken by
    Python's evaluation order of the members)."""
    pos = {id(v): k for k, v in enumerate(forward_order(root))}
    scalar_names = display_names(root)
    nodes = {n.id: n for n in b.g.nodes}
    key = {nid: min((pos.get(id(m), 0) for m in n.members), default=0) for nid, n in nodes.items()}
    indeg = {nid: 0 for nid in nodes}
    out: dict[str, list[str]] = {nid: [] for nid in nodes}
    for e in b.g.edges:
        indeg[e.head] += 1
        out[e.tail].append(e.head)
    heap = [(key[n], n) for n, d in indeg.items() if d == 0]
    heapq.heapify(heap)
    seq: list[str] = []
    while heap:
        _, nid = heapq.heappop(heap)
        seq.append(nid)
        for h in out[nid]:
            indeg[h] -= 1
            if indeg[h] == 0:
                heapq.heappush(heap, (key[h], h))
    done = set(seq)
    seq += [n for n in nodes if n not in done]
    taken = {n.name for n in b.g.nodes if n.name} | {v.label for v in b.g.order if v.label}
    k = 0
    for nid in seq:
        n = nodes[nid]
        if n.kind == "op" or n.name:
            continue
        if len(n.members) == 1 and (n.members[0].label or n.members[0].is_leaf):
            n.name = compact_label(scalar_names[n.members[0]])
            n.style = name_style(n.name) if n.role != "const" else "upright"
            continue
        while True:
            k += 1
            name = "u" + subscript(str(k))
            if name not in taken and f"u{k}" not in taken:
                break
        n.name = name
        n.style = "italic"


def expanded_graph(root: Value, order: list[Value], dep: set[int]) -> DGraph:
    """The scalar level with every ``dot`` node drawn as in the perceptron figure:
    one ``×`` square per term wᵢxᵢ, all feeding one ``add`` square (which keeps the
    id ``op<i>``). New ids: ``op<i>_<k>`` for the k-th ×, ``m<i>_<k>`` for × → add;
    the operand edges keep their ``e<j>_<i>_<k>`` ids."""
    from .graph import scalar_graph
    g = scalar_graph(root, order, dep)
    index = {id(v): i for i, v in enumerate(order)}
    nodes: list[DNode] = []
    for n in g.nodes:
        v = n.members[0]
        if n.kind == "op" and v.op == "dot":
            n.name = "add"
            half = _half(v)
            for k in range(half):
                nodes.append(DNode(f"op{index[id(v)]}_{k}", "op", "×", (v,), "op"))
        nodes.append(n)
    g.nodes = nodes
    edges: list[DEdge] = []
    for e in g.edges:
        if e.members and e.members[0][1].op == "dot":
            a, v, k = e.members[0]
            i = index[id(v)]
            half = _half(v)
            if k < 2 * half:
                e.head = f"op{i}_{k % half}"
        edges.append(e)
    extra: list[DEdge] = []
    for v in order:
        if v.op == "dot":
            i = index[id(v)]
            half = _half(v)
            for k in range(half):
                on = id(v.inputs[k]) in dep or id(v.inputs[half + k]) in dep
                extra.append(DEdge(f"m{i}_{k}", f"op{i}_{k}", f"op{i}", on, ()))
    g.edges = edges + extra
    return g
