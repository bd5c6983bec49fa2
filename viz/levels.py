"""Steps at the drawing's level of detail: one step per edge of the collapsed drawing.

At ``detail="neuron"`` or ``"layer"`` the drawing (:func:`viz.render.draw`, built by
:mod:`viz.collapse`) shows squares that stand for many scalar ops and circles that
stand for vectors. A :class:`GroupStep` is one backward step along one drawn edge
T → S (S a square, R the circle S produces), written as the vector chain rule

    ∂l/∂T += (∂R/∂T)ᵀ · ∂l/∂R

specialised to what the square does (seed 003, and the lecture's MLP backward pass):

* ``matmul`` (R = Wᵀx, W ∈ ℝᵖˣᵠ: inputs × units, the drawing's p×q) with the matrix
  T = W:  ∂l/∂W = x · (∂l/∂R)ᵀ;   with the vector T = x: ∂l/∂x = W · ∂l/∂R;
* ``add`` (a bias, or the vector it is added to):   ∂l/∂T = ∂l/∂R;
* an elementwise activation f (σ(·), tanh, relu, …):  ∂l/∂T = ∂l/∂R ⊙ f′(T);

with the shapes ([3×2], [3]) under each factor. It groups the scalar steps of the
edges it stands for (``members``) and applies their contributions (the products
∂l/∂u · ∂u/∂a the scalar pass recorded) all at once, so a matrix's gradient fills in
as the steps it groups are applied. Scalar steps that no drawn edge shows (inside a
square, or into a hidden constant) are applied with the first step of their square.

The steps come in the drawing's backward order: squares in reverse topological order
of the drawn graph (the loss side first), each square's input edges in drawing order;
only edges on a path from the loss to ``wrt`` (the ones drawn with red twins). An edge
from a square into a square (matmul → add(b)) holds no value of its own and is no
step: R is then the circle after the squares (u = Wᵀx + b), and that edge's red twin
appears with the first step into the matmul.
Contributions are applied as increments, so the gradients at the end equal the scalar
pass's up to the order of floating-point additions (hooks that replace a gradient are
only exact at ``detail="scalar"``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Mapping, Optional, Sequence

import numpy as np

import autodiff
from autodiff import Trace, Value

from .graph import DEdge, DGraph, DNode
from .graph_arrays import ScalarEdges
from .stepformula import as_drawn, factor

__all__ = ["GroupStep", "accumulate", "group_steps", "level_names"]

def _elementwise_prime(label: str) -> Optional[str]:
    """The derivative's name (``σ′``) of the element-wise op drawn as ``label``, from the op
    table (``Op.prime``); ``None`` when no element-wise op is drawn so."""
    return next((op.prime for op in autodiff.OPS.values() if op.elementwise and op.label == label), None)


def _prime_of(f: str) -> str:
    """The derivative's name of the activation ``f`` drawn as ``f(·)`` or ``f``."""
    return _elementwise_prime(f + "(·)") or _elementwise_prime(f) or f + "′"


@dataclass(frozen=True, eq=False)
class GroupStep:
    """One step along a drawn edge ``tail → head`` of a collapsed drawing.

    ``edges``: the Trace's edges it applies (in the scalar pass's order), ``members`` the
    same as scalar steps (made when asked for); ``changes``: ``(topological index, old
    grad, new grad)`` as they happen when this step is applied after the steps before it
    (``touched``, ``before``, ``after``: the same as arrays; the tuples are made when
    first read); ``highlight``: drawn ids (result circle, square, input circle, red
    twins); ``twins``: the red twins this step reaches."""

    index: int
    edge_id: str
    tail: str
    head: str
    result: str
    tail_name: str
    result_name: str
    formula: str
    local_formula: str
    applied: np.ndarray = field(repr=False)    # edges, as an array
    touched: np.ndarray = field(repr=False)    # the changes, as three arrays
    before: np.ndarray = field(repr=False)
    after: np.ndarray = field(repr=False)
    highlight: tuple[str, ...] = ()
    twins: tuple[str, ...] = ()
    inputs: tuple[Value, ...] = ()     # the scalar nodes the tail circle stands for
    scalar_step: Callable[[int], object] = field(repr=False, compare=False, default=None)

    @cached_property
    def edges(self) -> tuple[int, ...]:
        """The Trace's edges this step applies, in the scalar pass's order."""
        return tuple(self.applied.tolist())

    @cached_property
    def changes(self) -> tuple[tuple[int, float, float], ...]:
        """``(topological index, old grad, new grad)`` for each change, in order."""
        return tuple(zip(self.touched.tolist(), self.before.tolist(), self.after.tolist()))

    @property
    def members(self) -> tuple:
        """The scalar steps this step applies (:class:`viz.step_types.Step`, by edge)."""
        return tuple(self.scalar_step(e) for e in self.edges)

    def __str__(self) -> str:
        return self.formula

    def __repr__(self) -> str:
        return f"<GroupStep {self.index + 1}: {self.formula}>"


def level_names(graph: DGraph, order: Sequence[Value], scalar_names: Mapping[Value, str]) -> dict[Value, str]:
    """Every scalar node's name at a collapsed drawing's level, so that a formula, the
    drawing and the terminal agree: a node drawn as its own circle has that circle's name;
    an entry of a vector or matrix circle is that circle's name with its index from 0 in
    the circle's order (an ``nn`` entry keeps its matrix name, ``W₁[2,1]``, whose base is
    the circle's); a node drawn inside a square gets a u-name after the drawing's own
    (u₈, u₉, … where the drawing stops at u₇). No two nodes share a name."""
    names: dict[Value, str] = {}
    for n in graph.nodes:
        if n.kind == "op":
            continue
        circle = as_drawn(n.name)
        if len(n.members) == 1:
            names[n.members[0]] = circle
            continue
        base = circle.split("[", 1)[0]   # W₁[:,0] holds W₁[0,0], W₁[1,0], …
        for k, m in enumerate(n.members):
            own = scalar_names.get(m, "")
            names[m] = own if own.startswith(base + "[") else f"{circle}[{k}]"
    taken = set(names.values())
    used = [int(m[1].translate(_DIGITS)) for m in map(_U_NAME.fullmatch, taken) if m]
    k = max(used, default=0)
    for v in order:
        if v in names:
            continue
        own = scalar_names.get(v, "")
        if own and own not in taken and not _U_NAME.fullmatch(own):
            names[v] = own
        else:
            k += 1
            names[v] = "u" + "".join("₀₁₂₃₄₅₆₇₈₉"[int(d)] for d in str(k))
        taken.add(names[v])
    return names


_U_NAME = re.compile(r"u([₀-₉]+)")
_DIGITS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def _shape(node: DNode, rows: int = 0) -> str:
    """A drawn node's shape: the drawing's own p×q for a matrix, else [n]."""
    if re.fullmatch(r"\d+×\d+", node.note or ""):
        return f"[{node.note}]"
    n = len(node.members)
    if node.kind == "param" and rows >= 1 and n % rows == 0 and n > rows:
        return f"[{n // rows}×{rows}]"
    return f"[{n}]"


def _backward_square_order(g: DGraph) -> list[str]:
    """The drawn squares, loss side first (reverse topological order of the drawing)."""
    nodes = {n.id: n for n in g.nodes}
    indeg = {nid: 0 for nid in nodes}
    out: dict[str, list[str]] = {nid: [] for nid in nodes}
    for e in g.edges:
        indeg[e.head] += 1
        out[e.tail].append(e.head)
    ready = [nid for nid in nodes if indeg[nid] == 0]
    seq: list[str] = []
    while ready:
        nid = ready.pop(0)
        seq.append(nid)
        for h in out[nid]:
            indeg[h] -= 1
            if indeg[h] == 0:
                ready.append(h)
    return [nid for nid in reversed(seq) if nodes[nid].kind == "op"]


def _trace_edges(graph: DGraph, trace: Trace) -> np.ndarray:
    """For each of the Trace's edges, the index in ``graph.edges`` of the drawn edge that
    shows it (-1: none). A drawn edge's members from :mod:`viz.collapse` are positions in
    the graph's order, which is the Trace's; others are looked up one by one."""
    drawn = np.full(trace.n_edges, -1, dtype=np.intp)
    arrays = [(c, e.members) for c, e in enumerate(graph.edges) if isinstance(e.members, ScalarEdges)]
    if arrays:
        nodes = np.concatenate([m.nodes for _, m in arrays])
        operands = np.concatenate([m.operands for _, m in arrays])
        codes = np.repeat([c for c, _ in arrays], [len(m) for _, m in arrays])
        drawn[trace.edge_start[trace.step_of[nodes]] + operands] = codes
    for c, e in enumerate(graph.edges):
        if not isinstance(e.members, ScalarEdges) and len(e.members):
            drawn[[trace.edge(trace.position[v], k) for _, v, k in e.members]] = c
    return drawn


_RANKS = 64   # beyond this many contributions to one node, accumulate loops


def accumulate(initial: np.ndarray, targets: np.ndarray,
               products: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The gradients before and after each ``grads[targets[x]] += products[x]``, applied
    in order from ``initial``: the same additions in the same order as a loop, done
    a rank at a time (every node's first contribution, then every second one, …); and
    ``by_node``, the x sorted by node, each node's in order."""
    m = len(targets)
    old, new = np.empty(m), np.empty(m)
    by_node = np.argsort(targets, kind="stable")
    if not m:
        return old, new, by_node
    node = targets[by_node]
    add = products[by_node]
    starts = np.flatnonzero(np.r_[True, node[1:] != node[:-1]])
    counts = np.diff(np.r_[starts, m])
    before, after = np.empty(m), np.empty(m)
    before[starts] = initial[node[starts]]
    after[starts] = before[starts] + add[starts]
    long = counts > _RANKS
    live, live_counts = starts[~long], counts[~long]
    for r in range(1, min(int(counts.max()), _RANKS)):
        keep = live_counts > r
        live, live_counts = live[keep], live_counts[keep]
        p = live + r
        before[p] = after[p - 1]
        after[p] = before[p] + add[p]
    for s, c in zip(starts[long].tolist(), counts[long].tolist()):   # a node read very often
        g = after[s]
        for p in range(s + 1, s + c):
            before[p] = g
            g = g + add[p]
            after[p] = g
    old[by_node], new[by_node] = before, after
    return old, new, by_node


def group_steps(graph: DGraph, trace: Trace, loss: Value, initial: Sequence[float],
                fmt: Callable[[float], str], scalar_step: Callable[[int], object],
                edge_changes: Callable[[int], list]) -> list[GroupStep]:
    """The steps of ``graph`` (a collapsed drawing of the traced graph, in the Trace's
    order) from the recorded pass ``trace`` (every edge, in backward order); ``initial``:
    the gradients at position 0 (by topological index); ``scalar_step(e)``: edge e as a
    scalar step; ``edge_changes(e)``: what applying edge e changes (with hooks)."""
    nodes = {n.id: n for n in graph.nodes}
    loss_name = as_drawn(nodes[graph.where[id(loss)]].name) if id(loss) in graph.where else "l"
    out_of: dict[str, list[DEdge]] = {}
    for e in graph.edges:
        if nodes[e.tail].kind == "op":
            out_of.setdefault(e.tail, []).append(e)
    result_edge = {sq: edges[0].id for sq, edges in out_of.items()}   # the twin a square's first step reveals

    def result_circle(square: str, seen: tuple = ()) -> str:
        """The circle a square's value reaches: its own, or (matmul → add(b) → u) the one
        after the squares it feeds directly."""
        for e in out_of.get(square, []):
            if nodes[e.head].kind != "op":
                return e.head
        for e in out_of.get(square, []):
            if e.head not in seen:
                return result_circle(e.head, seen + (square,))
        return square
    result_of = {sq: result_circle(sq) for sq in out_of}
    # the Trace's edges per drawn edge; the rest per square (applied with its first step)
    drawn = _trace_edges(graph, trace)
    squares = [n for n in graph.nodes if n.kind == "op"]
    square_at = np.full(len(trace.nodes), -1, dtype=np.intp)
    for c, n in enumerate(squares):
        square_at[[trace.position[m] for m in n.members]] = c
    in_square = square_at[trace.edge_node]
    per_edge = _split(drawn)
    per_square = _split(np.where(drawn < 0, in_square, -1))
    loose = np.flatnonzero((drawn < 0) & (in_square < 0))
    edge_code = {e.id: c for c, e in enumerate(graph.edges)}
    square_code = {n.id: c for c, n in enumerate(squares)}
    into: dict[str, list[DEdge]] = {}
    for e in graph.edges:
        if nodes[e.head].kind == "op":
            into.setdefault(e.head, []).append(e)

    plan: list[tuple[DEdge, list[np.ndarray]]] = []
    pending: list[np.ndarray] = []
    for square in _backward_square_order(graph):
        pending.append(per_square.pop(square_code[square], _NONE))
        for e in into.get(square, []):
            if not e.on_path or nodes[e.tail].kind == "op":
                # off the paths to wrt; or square → square (matmul → add(b)): no value of
                # its own, its twin appears with the first step into the tail square
                pending.append(per_edge.pop(edge_code[e.id], _NONE))
                continue
            plan.append((e, pending + [per_edge.pop(edge_code[e.id], _NONE)]))
            pending = []
    if plan:   # what no step shows is applied with the last step
        plan[-1] = (plan[-1][0], plan[-1][1] + pending + list(per_edge.values()) +
                    list(per_square.values()) + [loose])
    groups = [np.sort(np.concatenate(parts)) for _, parts in plan]
    bounds = np.cumsum([0] + [len(g) for g in groups]).tolist()
    applied = np.concatenate(groups) if groups else _NONE
    targets = trace.edge_input[applied]

    hooked = bool(trace.hooked_from) or bool(trace.leaf_hooks)
    if not hooked:
        start = np.asarray(initial, dtype=float)
        old, new, by_node = accumulate(start, targets, trace.product[applied])
        node_sorted = targets[by_node]   # by_node: each node's contributions, in order
    grads = np.asarray(initial, dtype=float).tolist() if hooked else []
    steps: list[GroupStep] = []
    drawn_name: dict[str, str] = {}   # node id -> as_drawn(its name), made once

    def name_of(node: DNode) -> str:
        if node.id not in drawn_name:
            drawn_name[node.id] = as_drawn(node.name)
        return drawn_name[node.id]

    for k, (e, _) in enumerate(plan):
        members = groups[k]
        lo, hi = bounds[k], bounds[k + 1]
        tail, head = nodes[e.tail], nodes[e.head]
        result = result_of.get(e.head, e.head)
        others = [nodes[o.tail] for o in into.get(e.head, []) if o is not e]
        inputs = [name_of(o) for o in others if o.kind != "param"]
        matrices = [name_of(o) for o in others if o.kind == "param"]
        other = (matrices[:1] if tail.kind != "param" else
                 [inputs[0] if len(inputs) == 1 else "(" + ", ".join(inputs) + ")"] if inputs else [])
        r_node = nodes.get(result)
        up = None
        if r_node is not None and len(r_node.members) == 1:
            j = trace.position[r_node.members[0]]
            if hooked:
                up = grads[j]
            else:   # its gradient after the steps before this one
                a, z = np.searchsorted(node_sorted, [j, j + 1])
                earlier = int(np.searchsorted(by_node[a:z], lo))
                up = float(new[by_node[a + earlier - 1]]) if earlier else float(start[j])
        shown = members[drawn[members] == edge_code[e.id]]
        formula, local = _formula(tail, head, r_node, loss_name, trace, shown, fmt,
                                  other[0] if other else ("W" if tail.kind != "param" else "x"), up)
        if hooked:
            changes = []
            for x in members.tolist():
                for idx, before, after in edge_changes(x):
                    after = grads[idx] + (after - before)
                    changes.append((idx, grads[idx], after))
                    grads[idx] = after
            touched = np.array([c[0] for c in changes], dtype=np.intp)
            befores = np.array([c[1] for c in changes], dtype=float)
            afters = np.array([c[2] for c in changes], dtype=float)
        else:
            touched, befores, afters = targets[lo:hi], old[lo:hi], new[lo:hi]
        twins = [e.id + "_back"] + ([result_edge[e.head] + "_back"] if e.head in result_edge else [])
        steps.append(GroupStep(k, e.id, e.tail, e.head, result, as_drawn(tail.name),
                               as_drawn(nodes[result].name) if result in nodes else "",
                               formula, local, members, touched, befores, afters,
                               (result, e.head, e.tail, *twins), tuple(twins), tuple(tail.members),
                               scalar_step))
    return steps


_NONE = np.zeros(0, dtype=np.intp)


def _split(codes: np.ndarray) -> dict[int, np.ndarray]:
    """code → the indices x (ascending) with ``codes[x] == code``, for the codes present."""
    picked = np.flatnonzero(codes >= 0)
    by_code = picked[np.argsort(codes[picked], kind="stable")]
    sorted_codes = codes[by_code]
    starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]]) if len(by_code) else _NONE
    ends = np.r_[starts[1:], len(by_code)].astype(np.intp)
    return {c: by_code[s:t] for c, s, t in zip(sorted_codes[starts].tolist(), starts.tolist(), ends.tolist())}


def _formula(tail: DNode, head: DNode, result: Optional[DNode], l: str, trace: Trace,
             shown: np.ndarray, fmt: Callable[[float], str], other: str = "x",
             upstream: Optional[float] = None) -> tuple[str, str]:
    """The step's vector chain rule and local derivative; ``shown``: the Trace's edges
    of the drawn edge (the module doc lists the cases)."""
    t = as_drawn(tail.name)
    r = as_drawn(result.name) if result is not None else "?"
    op = head.name
    n_r = len(result.members) if result is not None and result.members else len(head.members)
    n_t = len(tail.members) or n_r   # a circle with no scalar node (W·x before + b): R's size
    if not tail.members:  # W·x before + b: drawn, but no node of the scalar graph
        value = f" = {fmt(upstream)}" if upstream is not None and n_r == 1 else f"    [{n_t}] = [{n_r}]"
        return f"∂{l}/∂{t} = ∂{l}/∂{r}{value}", f"∂{r}/∂{t} = {'1' if n_r == 1 else 'I'} ({op})"
    if n_t == 1 and n_r <= 1:  # scalars: the numbers as at the scalar level
        contribution = math.fsum(trace.product[shown].tolist())
        up = upstream if upstream is not None else (float(trace.upstream[shown[-1]]) if len(shown) else 0.0)
        if len(shown) == 1 and len(head.members) == 1:
            local_value = float(trace.local[shown[0]])
        else:
            local_value = contribution / up if up else 0.0
        formula = (f"∂{l}/∂{t} += ∂{l}/∂{r} · ∂{r}/∂{t} = {factor(fmt(up))} · {factor(fmt(local_value))} "
                   f"= {fmt(contribution)}")
        local = f"∂{r}/∂{t} = {fmt(local_value)}  ({op})"
        return formula, local
    rows = len(np.unique(trace.edge_node[shown])) or 1
    shape_t, shape_r = _shape(tail, rows), f"[{n_r}]"
    if op == "matmul" and tail.kind == "param":   # r = Wᵀx with W ∈ ℝᵖˣᵠ (inputs × units)
        x = as_drawn(other)
        formula = f"∂{l}/∂{t} = {x} · (∂{l}/∂{r})ᵀ    {shape_t} = [{n_t // max(n_r, 1)}] · {shape_r}ᵀ"
        local = f"∂{r}ⱼ/∂{t}ᵢⱼ = {x}ᵢ (the matmul's input)"
    elif op == "matmul":
        w = as_drawn(other)
        formula = f"∂{l}/∂{t} = {w} · ∂{l}/∂{r}    [{n_t}] = [{n_t}×{n_r}] · {shape_r}"
        local = f"∂{r}/∂{t} = {w}ᵀ (the matmul's matrix)"
    elif tail.kind == "param" and (op == "dot" or op.endswith("(dot)")):   # a neuron's weights
        f = op[:-len("(dot)")] if op != "dot" else ""
        x = as_drawn(other)
        slope = f" · {_prime_of(f)}(z)" if f else ""
        formula = f"∂{l}/∂{t} = ∂{l}/∂{r}{slope} · {x}    [{n_t}] = [1]{' · [1]' if f else ''} · [{n_t}]"
        local = f"∂{r}/∂{t}ᵢ = {(_prime_of(f) + '(z) · ') if f else ''}xᵢ, z = w · x + b"
    elif op == "add":
        formula = f"∂{l}/∂{t} = ∂{l}/∂{r}    [{n_t}] = {shape_r}"
        local = f"∂{r}/∂{t} = I (identity)"
    elif _elementwise_prime(op) is not None:
        f = _elementwise_prime(op)
        formula = f"∂{l}/∂{t} = ∂{l}/∂{r} ⊙ {f}({t})    [{n_t}] = {shape_r} ⊙ [{n_t}]"
        local = f"∂{r}/∂{t} = diag({f}({t}))"
    else:
        formula = f"∂{l}/∂{t} += (∂{r}/∂{t})ᵀ · ∂{l}/∂{r}    [{n_t}] = [{n_r}×{n_t}]ᵀ · {shape_r}"
        local = f"∂{r}/∂{t} = the Jacobian of {op}, [{n_r}×{n_t}]"
    return formula, local
