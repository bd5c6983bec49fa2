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

The work is done on the scalar graph as arrays (:mod:`viz.graph_arrays`): which block
reads each leaf, which drawn edge each scalar edge becomes, as numpy operations over the
edges; Python objects are touched only for the op nodes, the drawn nodes and the leaves
whose readers lie in several blocks. A drawn edge's ``members`` is a
:class:`viz.graph_arrays.ScalarEdges` (tuples made when read).
"""

from __future__ import annotations

import heapq
import re
from operator import attrgetter
from typing import Collection, Optional, Sequence

import numpy as np

import autodiff
from autodiff import Trace, Value

from .graph import DEdge, DGraph, DNode, _role, name_style, op_note
from .graph_arrays import GraphArrays, ScalarEdges, forward_positions
from .naming import compact_label, display_names, nn_param_name, short_label, subscript
from .stepformula import as_drawn

__all__ = ["collapsed_graph", "expanded_graph"]

_LABEL = attrgetter("label")
_PARAM = attrgetter("param")


def _base(label: str) -> str:
    """The name of a vector whose entries are labelled ``x.0``, ``x.1``, …: ``x``."""
    return re.sub(r"(?:[._]?\d+|[₀-₉]+)$", "", short_label(label))


def _pick(order: Sequence[Value], positions: Sequence[int]) -> tuple[Value, ...]:
    return tuple(map(order.__getitem__, positions))


class _Builder:
    """Accumulates drawn nodes and the edges out of squares. A drawn node's *code* is its index in
    ``g.nodes``; ``circle[i]``: the circle showing scalar node i (-1: none yet),
    ``square[i]``: the square computing op node i; ``before[i]``/``split[i]``: operands
    ``k < split[i]`` of op node i enter the square ``before[i]`` instead (matmul → add(b))."""

    def __init__(self, order: list[Value], on_path: np.ndarray) -> None:
        n = len(order)
        self.g = DGraph(order=order)
        self.order = order
        self.on_path = on_path
        self.circle = np.full(n, -1, dtype=np.intp)
        self.square = np.full(n, -1, dtype=np.intp)
        self.before = np.full(n, -1, dtype=np.intp)
        self.split = np.zeros(n, dtype=np.intp)
        self.members: list[np.ndarray] = []     # by code: the members' positions
        self.count = 0
        self.edges: dict[tuple[str, str], DEdge] = {}

    def new_id(self) -> str:
        self.count += 1
        return f"g{self.count}"

    def node(self, node: DNode, members: Sequence[int]) -> int:
        """Add ``node`` (``members``: the positions of ``node.members``); its code."""
        code = len(self.g.nodes)
        self.g.nodes.append(node)
        positions = np.asarray(members, dtype=np.intp)
        self.members.append(positions)
        if node.kind != "op":
            self.circle[positions] = code
        return code

    def edge(self, tail: str, head: str, on_path: bool, eid: Optional[str] = None) -> None:
        """An edge from a square (into its result circle, or matmul → add(b)): one per
        pair, on a path if any of the scalar nodes it stands for is."""
        key = (tail, head)
        e = self.edges.get(key)
        if e is None:
            e = DEdge(eid or f"{tail}_{head}", tail, head, on_path, [])
            self.edges[key] = e
            self.g.edges.append(e)
        e.on_path = e.on_path or on_path


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


def _param_name(home: tuple, role: str, matrix: bool, params: Sequence[Value]) -> str:
    """The drawn name of the parameters one block reads in one role (weights W, bias b).

    The user's own labels are kept (NPTEL's w1, w2 → (w₁, w₂); a single b1 → b1, drawn b₁);
    ``nn``'s parameters are named as entries of the layer's matrix, indices from 0 in the
    order of the drawn shape (W₁ ∈ ℝᵖˣᵠ, inputs × units): a neuron's weights are the
    column ``W₁[:,j]``, its bias ``b₁[j]``; a layer's ``W₁`` and ``b₁``."""
    nn_named = any(nn_param_name(p.label) for p in params)   # stops at the first nn label
    if not nn_named:
        labels = [p.label for p in params]
        if len(params) > 1:
            dotted = [re.fullmatch(r"(.+)\.\d+", label) for label in labels]
            if all(dotted) and len({m[1] for m in dotted}) == 1:
                return short_label(dotted[0][1])   # w.0, w.1, w.2: the vector w, as x.0, x.1 → x
        if all(labels):
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


_ROLES = ("W", "x", "b")   # operand roles of a dot node: weights, inputs, bias (_half)


class _Leaves:
    """Which leaves a block absorbs (see the module doc), from the edges as arrays.

    ``params``: (positions, home block codes, role codes) of the parameters read only
    inside blocks, by position; ``roles``: the role names by code; ``hidden``: the
    positions of the constants hidden; ``gathered``: block code → positions of the
    labelled inputs drawn as one vector."""

    def __init__(self, a: GraphArrays, key: np.ndarray, is_function: np.ndarray, half: np.ndarray,
                 is_dot: np.ndarray, root: int, labels: list[str], is_param: np.ndarray,
                 has_label: np.ndarray, detail: str) -> None:
        src, dst, operand = a.src, a.dst, a.operand
        self.roles: list[str] = list(_ROLES)
        role_code = {r: k for k, r in enumerate(self.roles)}

        def role_of(j: int, c: int, k: int) -> int:
            """The role of leaf j read by op node c as operand k (as _dot_role, or its label)."""
            if is_dot[c]:
                return 0 if k < half[c] else (1 if k < 2 * half[c] else 2)
            r = _base(labels[j]) if labels[j] else "θ"
            if r not in role_code:
                role_code[r] = len(self.roles)
                self.roles.append(r)
            return role_code[r]

        # each node's readers, in forward order: the edges sorted by input, stably
        by_input = np.argsort(src, kind="stable")
        sorted_src = src[by_input]
        first = np.flatnonzero(np.r_[True, sorted_src[1:] != sorted_src[:-1]]) if len(src) else by_input
        users = sorted_src[first]
        reader_keys = key[dst[by_input]]
        lo = np.minimum.reduceat(reader_keys, first) if len(src) else by_input
        hi = np.maximum.reduceat(reader_keys, first) if len(src) else by_input
        ends = np.r_[first[1:], len(src)].astype(np.intp)
        # leaves (not the root) read only by op nodes of blocks
        inside = ~a.is_op[users] & (users != root) & (lo >= 0)
        first, ends, users, lo, hi = first[inside], ends[inside], users[inside], lo[inside], hi[inside]
        one_block = lo == hi
        param = is_param[users]

        # parameters of one block: its role where the block first reads them
        p1 = np.flatnonzero(param & one_block)
        pos1 = users[p1]
        reader = dst[by_input[first[p1]]]
        k1 = operand[by_input[first[p1]]]
        h = half[reader]
        role1 = np.where(k1 < h, 0, np.where(k1 < 2 * h, 1, 2))
        for t in np.flatnonzero(~is_dot[reader]).tolist():
            role1[t] = role_of(int(pos1[t]), int(reader[t]), int(k1[t]))
        # parameters read by several blocks: home is the first layer reading them
        many = np.flatnonzero(param & ~one_block).tolist()
        pos2, home2, role2 = [], [], []
        for t in many:
            j = int(users[t])
            edges = by_input[first[t]:ends[t]].tolist()
            keys = [int(key[dst[e]]) for e in edges]
            layered = [kk for kk in keys if not is_function[kk]]
            home = layered[0] if layered else keys[0]
            e = next(e for e, kk in zip(edges, keys) if kk == home)
            pos2.append(j)
            home2.append(home)
            role2.append(role_of(j, int(dst[e]), int(operand[e])))
        positions = np.concatenate([pos1, np.array(pos2, dtype=np.intp)])
        homes = np.concatenate([lo[p1], np.array(home2, dtype=np.intp)])
        roles = np.concatenate([role1.astype(np.intp), np.array(role2, dtype=np.intp)])
        by_position = np.argsort(positions, kind="stable")
        self.params = (positions[by_position], homes[by_position], roles[by_position])

        rest = ~param & one_block
        self.hidden = users[rest & ~has_label[users]]
        self.gathered: dict[int, np.ndarray] = {}
        if detail == "layer":
            vector = rest & has_label[users] & ~is_function[lo]
            g_pos, g_key = users[vector], lo[vector]
            for c in dict.fromkeys(g_key.tolist()):
                self.gathered[c] = g_pos[g_key == c]


def collapsed_graph(root: Value, order: list[Value], dep: Collection, detail: str,
                    trace: Optional[Trace] = None) -> DGraph:
    """The neuron- or layer-level drawing of ``root``'s graph (see the module docstring).

    ``order``: the graph in topological order; ``dep``: the ids of the nodes on a path to
    ``wrt`` (:func:`viz.graph.depends_on`), or the same as a boolean mask by position in
    ``order``; ``trace``: a recorded pass of ``root`` whose ``nodes`` are ``order`` (the
    stepper's), to read the edges from instead of walking."""
    a = GraphArrays(order, trace)
    n = len(order)
    src, dst, operand, is_op = a.src, a.dst, a.operand, a.is_op
    root_i = n - 1 if order and order[-1] is root else a.position(order, root)
    if isinstance(dep, np.ndarray):
        on_path = dep.astype(bool)
    else:
        on_path = (np.fromiter(map(dep.__contains__, map(id, order)), dtype=bool, count=n) if dep
                   else np.zeros(n, dtype=bool))
    b = _Builder(order, on_path)

    # blocks: the op nodes by block key, in order; what the op nodes read from op nodes
    ops = np.flatnonzero(is_op).tolist()
    codes: dict[tuple, int] = {}
    blocks: list[list[int]] = []
    key = np.full(n, -1, dtype=np.intp)
    half = np.zeros(n, dtype=np.intp)
    is_dot = np.zeros(n, dtype=bool)
    for i in ops:
        v = order[i]
        if v.op == "dot":
            is_dot[i] = True
            half[i] = _half(v)
        k = _block_key(v, detail)
        if k is not None:
            c = codes.get(k)
            if c is None:
                c = codes[k] = len(blocks)
                blocks.append([])
            key[i] = c
            blocks[c].append(i)
    block_keys = list(codes)
    # by block code; the extra last entry answers key -1 (no block)
    is_function = np.array([str(k[0]).startswith("op:") for k in block_keys] + [False], dtype=bool)
    inner = np.flatnonzero(is_op[src])
    op_inputs: dict[int, list[int]] = {}     # op node -> its op operands, in order
    consumers: dict[int, list[int]] = {}     # op node -> the op nodes reading it, in order
    for x, y in zip(src[inner].tolist(), dst[inner].tolist()):
        op_inputs.setdefault(y, []).append(x)
        consumers.setdefault(x, []).append(y)

    # -- leaves read only inside blocks: parameters become one circle per (home block,
    #    role), constants are hidden, labelled inputs of one layer become a vector
    labels = list(map(_LABEL, order))
    is_param = np.fromiter(map(_PARAM, order), dtype=bool, count=n)
    has_label = np.fromiter(map(len, labels), dtype=np.intp, count=n) > 0
    leaves = _Leaves(a, key, is_function, half, is_dot, root_i, labels, is_param, has_label, detail)
    p_pos, p_home, p_role = leaves.params

    # -- ungrouped nodes and leaves not absorbed: as at the scalar level
    drawn_alone = key < 0
    drawn_alone[p_pos] = False
    drawn_alone[leaves.hidden] = False
    for xs in leaves.gathered.values():
        drawn_alone[xs] = False
    for i in np.flatnonzero(drawn_alone).tolist():
        v = order[i]
        if is_op[i]:
            b.square[i] = b.node(DNode(f"op{i}", "op", autodiff.OPS[v.op].label, (v,), "op",
                                       note=op_note(v)), [i])
        b.node(DNode(f"n{i}", "param" if is_param[i] else "value", "", (v,), _role(v, root)), [i])

    # parameter groups (home block, role), in the order of their first parameter
    group, by_group, bounds = _numbered(p_home * len(leaves.roles) + p_role)
    groups = len(bounds) - 1
    # units: how many op nodes of the home block read a group's parameters
    group_of = np.full(n, -1, dtype=np.intp)
    group_of[p_pos] = group
    g_home = np.empty(groups + 1, dtype=np.intp)
    g_home[group] = p_home
    g_home[-1] = -2                           # no group: no block
    e_group = group_of[src]
    reads = np.flatnonzero(key[dst] == g_home[e_group])
    pairs = np.unique(e_group[reads] * n + dst[reads])
    units_of = np.bincount(pairs // n, minlength=groups)
    for g in range(groups):
        positions = p_pos[by_group[bounds[g]:bounds[g + 1]]].tolist()
        params = _pick(order, positions)
        home, role = block_keys[int(g_home[g])], leaves.roles[int(p_role[by_group[bounds[g]]])]
        count = len(params)
        if role in ("W", "b"):
            units = int(units_of[g])          # neurons (dot nodes) reading this block
            matrix = detail == "layer" and (units > 1 or _is_layer(home))
            name = _param_name(home, role, matrix, params)
            # a matrix shows its shape p×q (inputs × units, W ∈ ℝᵖˣᵠ as in the lecture)
            note = (f"{count // units}×{units}" if matrix and role == "W" and count % units == 0
                    else f"[{count}]" if count > 1 else "")
            b.node(DNode(b.new_id(), "param", name, params, "param",
                         style="bold" if count > 1 or name[0].isupper() else "italic", note=note), positions)
        else:
            for j, p in zip(positions, params):
                b.node(DNode(f"n{j}", "param", "", (p,), "param"), [j])
    for xs in leaves.gathered.values():
        positions = xs.tolist()
        bases = {_base(labels[j]) for j in positions}
        name = bases.pop() if len(bases) == 1 else "x"
        many = len(positions) > 1
        b.node(DNode(b.new_id(), "value", name, _pick(order, positions), "input",
                     style="bold" if many else name_style(name), note=f"[{len(positions)}]" if many else ""),
               positions)

    # -- blocks
    for blk, members in zip(block_keys, blocks):
        if str(blk[0]).startswith("op:"):
            _single_square(b, str(blk[0])[3:], members, consumers, root_i, all_outputs=True)
        elif detail == "neuron":
            _single_square(b, _composition(order, members, op_inputs), members, consumers, root_i,
                           all_outputs=False)
        else:
            _layer(b, members, op_inputs, half, root_i, matrix=_is_layer(blk))

    # -- edges between drawn nodes, from the scalar edges: each scalar edge a → v (operand
    #    k) runs from a's circle into v's square, unless a is hidden or inside that square
    ids = [node.id for node in b.g.nodes]
    head = b.square[dst]
    if b.split.any():
        head = np.where(operand < b.split[dst], b.before[dst], head)
    tail = b.circle[src]
    kept = np.flatnonzero((head >= 0) & (tail >= 0) & (b.square[src] != head))
    if len(kept):
        _, by_pair, starts = _numbered(tail[kept] * len(ids) + head[kept])   # one drawn edge a pair
        by_drawn = kept[by_pair]
        ins, outs, ks = src[by_drawn], dst[by_drawn], operand[by_drawn]
        ons = np.logical_or.reduceat(on_path[ins], starts[:-1]).tolist()
        bounds = starts.tolist()
        firsts_ = by_drawn[starts[:-1]]
        made = b.g.edges
        for d, (t, h, a0, v0, k0) in enumerate(zip(tail[firsts_].tolist(), head[firsts_].tolist(),
                                                   src[firsts_].tolist(), dst[firsts_].tolist(),
                                                   operand[firsts_].tolist())):
            t, h = ids[t], ids[h]   # a circle into a square: no edge made before has this pair
            lo, hi = bounds[d], bounds[d + 1]
            made.append(DEdge(f"e{a0}_{v0}_{k0}" if t[0] == "n" and h[:2] == "op" else f"{t}_{h}", t, h,
                              ons[d], ScalarEdges(order, ins[lo:hi], outs[lo:hi], ks[lo:hi])))
    for i in ops:                             # square -> its result circle
        sq, c = int(b.square[i]), int(b.circle[i])
        if sq >= 0 and c >= 0:
            circle = ids[c]
            b.edge(ids[sq], circle, bool(on_path[i]), f"r{circle[1:]}" if circle.startswith("n") else None)
    for node in b.g.nodes:                    # each scalar node -> the circle that shows it
        if node.kind != "op":
            b.g.where.update(dict.fromkeys(map(id, node.members), node.id))
    for i in ops:                             # hidden nodes: shown by their square
        if b.circle[i] < 0 and b.square[i] >= 0:
            b.g.where[id(order[i])] = ids[b.square[i]]
    _name(b, root, forward_positions(a, root_i), labels)
    return b.g


def _numbered(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of ``codes`` numbered 0, 1, … in the order they first appear:
    each element's number; the elements sorted by number (each number's in order); and
    where each number's run starts in that sorting (one more entry: the end)."""
    _, firsts, inverse = np.unique(codes, return_index=True, return_inverse=True)
    rank = np.empty(len(firsts), dtype=np.intp)
    rank[np.argsort(firsts, kind="stable")] = np.arange(len(firsts))
    number = rank[inverse.reshape(-1)]
    by_number = np.argsort(number, kind="stable")
    return number, by_number, np.searchsorted(number[by_number], np.arange(len(firsts) + 1))


def _depths(members: list[int], op_inputs: dict[int, list[int]]) -> dict[int, int]:
    """Each member's depth inside its block: 0, or one more than its deepest operand in it."""
    inside = set(members)
    depth: dict[int, int] = {}
    for v in members:
        depth[v] = max((depth[x] + 1 for x in op_inputs.get(v, ()) if x in inside), default=0)
    return depth


def _composition(order: list[Value], members: list[int], op_inputs: dict[int, list[int]]) -> str:
    """A neuron's ops as one function: ``σ(dot)``, ``max(dot)`` (maxout's k dots are
    one stage), ``relu(dot)``; inner stages are those at a smaller depth in the block."""
    stages: list[list[str]] = []
    for v, d in _depths(members, op_inputs).items():
        while len(stages) <= d:
            stages.append([])
        op_label = autodiff.OPS[order[v].op].label
        if op_label not in stages[d]:
            stages[d].append(op_label)
    label = ""
    for labels in stages:
        op_label = "+".join(labels)
        label = op_label if not label else (
            op_label.replace("·", label) if "·" in op_label else f"{op_label}({label})")
    return label


def _single_square(b: _Builder, label: str, members: list[int], consumers: dict[int, list[int]],
                   root: int, all_outputs: bool) -> None:
    """A composite op or a neuron: one square, one circle for what leaves it."""
    order = b.order
    b.square[members] = b.node(DNode(b.new_id(), "op", label, _pick(order, members), "op"), members)
    if all_outputs:
        key = order[members[0]].group
        outs = [m for m in members
                if m == root or any(order[c].group != key for c in consumers.get(m, ()))] or members[-1:]
    else:
        outs = members[-1:]
    role = "output" if root in outs else "result"
    b.node(DNode(b.new_id(), "value", "", _pick(order, outs), role,
                 note=f"[{len(outs)}]" if len(outs) > 1 else ""), outs)


def _is_layer(block: tuple) -> bool:
    """A block of an MLP layer or a standalone nn.Layer (not a lone neuron)."""
    return block == ("layer",) or str(block[0]).startswith("layers.")


def _layer(b: _Builder, members: list[int], op_inputs: dict[int, list[int]], half: np.ndarray,
           root: int, matrix: bool) -> None:
    """Stages by (depth inside the layer, op): ``matmul(W)``, ``add(b)``, ``σ(·)``, …;
    a lone neuron (``matrix=False`` and one unit) is ``dot(w)`` (logistic-neuron.png)."""
    order = b.order
    stages: dict[tuple[int, str], list[int]] = {}
    for v, d in _depths(members, op_inputs).items():
        stages.setdefault((d, order[v].op), []).append(v)
    for (_, op), vs in sorted(stages.items()):
        n = len(vs)
        values = _pick(order, vs)
        # a layer of one neuron is w·x (logistic-neuron.png), of several W x
        label = ("matmul" if n > 1 or matrix else "dot") if op == "dot" else autodiff.OPS[op].label
        square = b.node(DNode(b.new_id(), "op", label, values, "op"), vs)
        b.square[vs] = square
        if op == "dot" and any(v.attr for v in values):
            # matmul straight into add(b), as layer.png draws it: the engine's dot node
            # adds the bias itself, so there is no value between the two to show
            add = b.node(DNode(b.new_id(), "op", "add", values, "op"), vs)
            b.edge(b.g.nodes[square].id, b.g.nodes[add].id, bool(b.on_path[vs].any()))
            b.square[vs] = add
            b.before[vs] = square                 # weights and inputs into matmul, b into add
            b.split[vs] = 2 * half[vs]
        role = "output" if root in vs else "result"
        b.node(DNode(b.new_id(), "value", "", values, role, note=f"[{n}]" if n > 1 else ""), vs)


def _name(b: _Builder, root: Value, pos: np.ndarray, labels: list[str]) -> None:
    """Names for the circles still unnamed: a member's label, else u₁, u₂, … in the
    drawing's forward order (a topological sort of the drawn graph, ties broken by
    Python's evaluation order of the members, ``pos``)."""
    nodes = {n.id: n for n in b.g.nodes}
    key = {n.id: int(pos[m].min()) if len(m) else 0 for n, m in zip(b.g.nodes, b.members)}
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
    taken = {n.name for n in b.g.nodes if n.name} | set(labels)
    taken.discard("")
    scalar_names: Optional[dict[Value, str]] = None
    k = 0
    for nid in seq:
        n = nodes[nid]
        if n.kind == "op" or n.name:
            continue
        if len(n.members) == 1 and (n.members[0].label or n.members[0].is_leaf):
            if scalar_names is None:
                scalar_names = display_names(root)
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
