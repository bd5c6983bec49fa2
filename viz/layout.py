"""The slides' layout: a position for every drawn node, a route for every edge.

Graphviz's ``dot`` decides a layout by its own rules; the slides (SLIDE-STYLE.md,
``backprop.png``, ``perceptron.png``) follow simpler ones, which this module applies:

* **Columns by depth.** A node's column is the length of the longest path to it from
  the inputs; the loss is therefore at the far right. A leaf read by several ops (a
  shared bias) sits in the column before its first reader.
* **The main chain on one row.** Every op has a *main operand*: the one on the longest
  path from an input (ties: the middle one, so that terms drawn above and below keep
  their operand order). Following main operands back from the loss gives the row the
  whole chain x → … → loss runs along. Every other operand starts a *side chain* of
  its own, on the nearest free row above (the penalty of ``backprop.png``) or below
  (terms after the main one among equals: ``perceptron.png``'s x₂).
* **Leaves beside their op.** A parameter or constant read by one op sits directly
  above it; several side by side in operand order, never stacked. Another leaf read
  by one op that is not its main operand (λ, a target y) sits on the side away from
  the main row. A parameter whose other readers only read it (‖W₁‖₂ of a penalty)
  stays above its first reader, the penalty op directly above it.
* **Routes.** An edge is one straight segment where that passes no node: horizontal
  along a row, vertical from a leaf into its op, short diagonals between neighbouring
  cells; otherwise orthogonal elbows through the free gaps between rows and columns,
  the elbow of ``perceptron.png`` (right, down, right into the op's side) first. Among
  routes that pass no node, the one with the fewest crossings wins. The gaps between
  rows and columns never hold a node, so such a route always exists.
* **Red twins** run parallel to their black edge at :data:`TWIN_OFFSET` px, below a
  horizontal segment and right of a vertical one.

Coordinates are pixels, y pointing down, origin at the top-left node's corner minus
:data:`MARGIN`. :func:`slide_layout` returns a :class:`Layout`; :mod:`viz.render`
hands it to Graphviz (``neato -n2``) with every position pinned.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Optional

from .graph import DGraph, GraphTooLarge

__all__ = ["Layout", "slide_layout", "GRID", "NODE", "TWIN_OFFSET", "MARGIN"]

GRID = 120.0          # px between neighbouring node centres (backprop.svg)
NODE = 80.0           # circles and squares
HALF = NODE / 2
SIDE_GAP = 10.0       # between leaves drawn side by side above one op
TWIN_OFFSET = 10.0    # red twin from its black edge
ENTRY_STEP = 14.0     # spacing of several edges entering one side of a node
MARGIN = 12.0
LAYOUT_TIMEOUT = 60.0  # seconds before a forced huge layout gives up with GraphTooLarge
VARIANT_LIMIT = 300    # up to this many edges, a second layout is tried (module docstring)
CROSSING_LIMIT = 800   # past this many edges, routes avoid nodes but not each other
CLEARANCE = 3.0       # a route must stay this far from every other node's outline

Point = tuple[float, float]


@dataclass
class Layout:
    """Node centres and edge routes in pixels (y down).

    ``routes[edge id]`` runs from the tail's outline to the head's outline;
    ``twins[edge id]`` is the red twin's polyline in the same direction (its
    arrowhead belongs at the first point, pointing back to the tail)."""

    pos: dict[str, Point]
    routes: dict[str, list[Point]]
    twins: dict[str, list[Point]]
    width: float
    height: float
    cells: dict[str, tuple[int, int]] = field(default_factory=dict)   # node id -> (column, row)


# ------------------------------------------------------------------ the structure


class _Structure:
    """Predecessors in operand order, successors, heights, anchors and stacks."""

    def __init__(self, g: DGraph, stack_results: bool = True) -> None:
        self.nodes = {n.id: n for n in g.nodes}
        self.order = [n.id for n in g.nodes]
        self.preds: dict[str, list[str]] = {n: [] for n in self.order}
        self.succs: dict[str, list[str]] = {n: [] for n in self.order}
        for e in g.edges:
            self.preds[e.head].append(e.tail)
            if e.head not in self.succs[e.tail]:
                self.succs[e.tail].append(e.head)
        self.topo = self._topological()
        self.height: dict[str, int] = {}
        for v in self.topo:
            self.height[v] = max((self.height[p] + 1 for p in self.preds[v]), default=0)
        sinks = [v for v in self.order if not self.succs[v]]
        outputs = [v for v in sinks if self.nodes[v].role == "output"]
        self.root = (outputs or sinks or self.order)[-1]
        self.anchor: dict[str, str] = {}           # leaf -> the op it sits beside
        self.stacked: dict[str, str] = {}          # op -> the leaf it sits on (‖W‖ over W)
        self.stack_result: dict[str, str] = {}     # result -> the stacked op it sits on
        self.main: dict[str, Optional[str]] = {}
        self._choose_main_and_anchors()
        if stack_results:
            self._stack_results()

    def _topological(self) -> list[str]:
        indeg = {v: len(set(self.preds[v])) for v in self.order}
        ready = [v for v in self.order if indeg[v] == 0]
        out: list[str] = []
        while ready:
            v = ready.pop(0)
            out.append(v)
            for s in self.succs[v]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    ready.append(s)
        return out + [v for v in self.order if v not in set(out)]

    def is_leaf(self, v: str) -> bool:
        return not self.preds[v] and self.nodes[v].kind != "op"

    def _leaf_above(self, v: str) -> bool:
        """Parameters and constants always sit above their op."""
        return self.nodes[v].kind == "param" or self.nodes[v].role == "const"

    def _choose_main_and_anchors(self) -> None:
        for v in self.topo:
            cands = [p for p in dict.fromkeys(self.preds[v])
                     if not (self.is_leaf(p) and self._leaf_above(p))]
            if not cands:
                self.main[v] = None
                continue
            best = max(self.height[p] for p in cands)
            tied = [p for p in cands if self.height[p] == best]
            self.main[v] = tied[(len(tied) - 1) // 2]
        for v in self.order:
            if not self.is_leaf(v):
                continue
            readers = self.succs[v]
            if len(readers) == 1:
                if self.main.get(readers[0]) != v:
                    self.anchor[v] = readers[0]
                continue
            if not self._leaf_above(v):
                continue
            only_me = [r for r in readers if set(self.preds[r]) == {v}]
            others = [r for r in readers if r not in only_me]
            if len(others) == 1 and self.main.get(others[0]) != v:
                self.anchor[v] = others[0]
                self.stacked[only_me[0]] = v

    def _stack_results(self) -> None:
        """Above leaves side by side, a stacked op's result goes on top of it too (the
        w² of a weight penalty at the scalar level): a column w → w² → u each."""
        count: dict[str, int] = {}
        for op in self.anchor.values():
            count[op] = count.get(op, 0) + 1
        for op, leaf in self.stacked.items():
            outs = self.succs[op]
            if (count[self.anchor[leaf]] > 1 and len(outs) == 1
                    and self.nodes[outs[0]].kind != "op" and self.preds[outs[0]] == [op]):
                self.stack_result[outs[0]] = op

    def placed_with_leaf(self, v: str) -> bool:
        """Anchored leaves, stacked ops and their stacked results are placed with the op."""
        return v in self.anchor or v in self.stacked or v in self.stack_result

    def rechoose_main(self, col: dict[str, int]) -> None:
        """Once columns are known, an op's main operand is the one drawn furthest right
        (the longest drawn path: a stacked penalty op shifts its chain right)."""
        for v in self.topo:
            cands = [p for p in dict.fromkeys(self.preds[v])
                     if p not in self.anchor and self.stacked.get(v) != p]
            if not cands:
                self.main[v] = None
                continue
            best = max(col[p] for p in cands)
            tied = [p for p in cands if col[p] == best]
            self.main[v] = tied[(len(tied) - 1) // 2]

    def side_of_leaf(self, leaf: str) -> int:
        """-1 (above) or +1 (below) preferred for an anchored leaf; 0: outward."""
        return -1 if self._leaf_above(leaf) else 0


# ------------------------------------------------------------------ columns and rows


def _columns(s: _Structure) -> dict[str, int]:
    """Longest path from the inputs; anchored leaves and stacked ops take their op's
    (their leaf's) column; other leaves the column before their first reader."""
    col = {v: 0 for v in s.order}
    for _ in range(len(s.order) + 1):
        changed = False
        for v in s.topo:
            if v in s.anchor:
                c = col[s.anchor[v]]
            elif v in s.stacked:
                c = col[s.stacked[v]]
            elif v in s.stack_result:
                c = col[s.stack_result[v]]
            elif not s.preds[v]:
                c = min((col[r] for r in s.succs[v]), default=1) - 1
            else:
                c = max((col[p] + 1 for p in s.preds[v] if s.anchor.get(p) != v), default=0)
            if c != col[v]:
                col[v] = c
                changed = True
        if not changed:
            break
    low = min(col.values(), default=0)
    return {v: c - low for v, c in col.items()}


class _Grid:
    """Which cells hold a node (or a group of leaves) and which an edge runs through."""

    def __init__(self) -> None:
        self.node_at: dict[tuple[int, int], str] = {}
        self.edge_cells: set[tuple[int, int]] = set()

    def free(self, cell: tuple[int, int], for_node: bool = True) -> bool:
        if cell in self.node_at:
            return False
        return not for_node or cell not in self.edge_cells


def _rows(s: _Structure, col: dict[str, int], side_first: int = -1,
          strict_rows: int = 8) -> tuple[dict[str, int], dict[str, int]]:
    """Rows for every node, and for each anchored leaf the side (-1 above, +1 below).
    ``side_first``: where a side chain looks for a row first (-1 above, +1 below)."""
    grid = _Grid()
    row: dict[str, int] = {}
    side: dict[str, int] = {}
    anchored_to: dict[str, list[str]] = {}
    for leaf, op in s.anchor.items():
        anchored_to.setdefault(op, []).append(leaf)
    for op in anchored_to:                      # operand order
        order = {p: k for k, p in enumerate(dict.fromkeys(s.preds[op]))}
        anchored_to[op].sort(key=lambda p: order[p])
    stacks: dict[str, list[str]] = {}
    for op, leaf in s.stacked.items():
        stacks.setdefault(leaf, []).append(op)

    def chain_from(v: str) -> list[str]:
        out = []
        while v is not None and v not in row and not s.placed_with_leaf(v):
            out.append(v)
            v = s.main.get(v)
        return out

    def leaf_sides(op: str, r: int) -> dict[str, int]:
        """Where op's anchored leaves go if op sits on row r."""
        out = {}
        for leaf in anchored_to.get(op, ()):
            pref = s.side_of_leaf(leaf)
            if pref == 0:
                pref = -1 if r < 0 else 1
            out[leaf] = pref
        return out

    def cells_for(chain: list[str], r: int,
                  flip: bool) -> Optional[list[tuple[tuple[int, int], Optional[str]]]]:
        """The cells a chain on row r needs (None if one is taken); leaves' sides may
        flip when their preferred side is taken."""
        need: list[tuple[tuple[int, int], Optional[str]]] = []
        seen = set()

        def take(cell, who) -> bool:
            if cell in seen or not grid.free(cell, for_node=who is not None):
                return False
            seen.add(cell)
            need.append((cell, who))
            return True

        for k, v in enumerate(chain):
            if not take((col[v], r), v):
                return None
            nxt = chain[k + 1] if k + 1 < len(chain) else s.main.get(v)
            if nxt is not None and nxt in col:
                for c in range(col[nxt] + 1, col[v]):
                    if not take((c, r), None):
                        return None
            groups = leaf_sides(v, r)
            by_side: dict[int, list[str]] = {}
            for leaf, sd in groups.items():
                by_side.setdefault(sd, []).append(leaf)
            for sd, leaves in by_side.items():
                ok_side = sd
                if not grid.free((col[v], r + sd)) or (col[v], r + sd) in seen:
                    if not flip:
                        return None
                    ok_side = -sd
                    if not grid.free((col[v], r + ok_side)) or (col[v], r + ok_side) in seen:
                        return None
                if not take((col[v], r + ok_side), "leaves:" + v + ":" + str(ok_side)):
                    return None
                for leaf in leaves:
                    side[leaf] = ok_side
                if any(leaf in stacks for leaf in leaves):
                    if not take((col[v], r + 2 * ok_side), "stack:" + v + ":" + str(ok_side)):
                        return None
                if any(s.succs[op][0] in s.stack_result for leaf in leaves
                       for op in stacks.get(leaf, ())):
                    if not take((col[v], r + 3 * ok_side), "top:" + v + ":" + str(ok_side)):
                        return None
        return need

    def commit(chain: list[str], r: int, need) -> None:
        for cell, who in need:
            if who is None:
                grid.edge_cells.add(cell)
            else:
                grid.node_at[cell] = who
        for v in chain:
            row[v] = r
            for leaf in anchored_to.get(v, ()):
                row[leaf] = r + side[leaf]
                for op in stacks.get(leaf, ()):
                    row[op] = r + 2 * side[leaf]
                    if s.succs[op] and s.succs[op][0] in s.stack_result:
                        row[s.succs[op][0]] = r + 3 * side[leaf]

    def place(start: str, candidates: list[int], consumer: Optional[str] = None) -> list[str]:
        chain = chain_from(start)
        if not chain:
            return []
        # leaves on their own side if a row near enough allows it, else on either side
        tries = [(r, False) for r in candidates[:strict_rows]] + [(r, True) for r in candidates]
        for r, flip in tries:
            need = cells_for(chain, r, flip)
            if need is not None and consumer is not None:
                # the edge into the consumer runs along this row up to the column
                # before it: those cells must hold no node either
                taken = {cell for cell, _ in need}
                run = [(c, r) for c in range(col[chain[0]] + 1, col[consumer])]
                if any(cell in grid.node_at or cell in taken for cell in run):
                    continue
                need = need + [(cell, None) for cell in run]
            if need is not None:
                commit(chain, r, need)
                return chain
        raise AssertionError("unreachable: rows far enough away are always free")

    def candidates(anchor_row: int, first: int, end_row: Optional[int]) -> list[int]:
        out = [end_row] if end_row is not None else []
        reach = 4 * len(s.order) + 8
        for d in range(1, reach):
            out += [anchor_row + first * d, anchor_row - first * d]
        return out

    queue = place(s.root, [0] + candidates(0, -1, None))
    # side operands of every op, nearest the loss first
    pending = list(queue)
    while pending:
        v = pending.pop(0)
        preds = list(dict.fromkeys(s.preds[v]))
        main = s.main.get(v)
        for k, p in enumerate(preds):
            if p in row or s.placed_with_leaf(p):
                continue
            tied = main is not None and s.height[p] == s.height[main]
            after = main is not None and preds.index(main) < k
            # equals keep operand order top to bottom; others try side_first first
            first = (1 if after else -1) if tied else side_first
            chain = chain_from(p)
            end = s.main.get(chain[-1]) if chain else None
            end_row = row.get(end) if end is not None else None
            if end is not None and end in s.stacked and end in row:
                end_row = row[end]
            placed = place(p, candidates(row[v], first, end_row), consumer=v)
            pending.extend(placed)
    for v in s.order:                                 # unreachable from the root: own rows
        if v not in row:
            place(v, candidates(max(row.values(), default=0) + 1, 1, None))
    return row, side


# ------------------------------------------------------------------ geometry


def _seg_hits_box(a: Point, b: Point, cx: float, cy: float, half: float, circle: bool) -> bool:
    """Does segment ab pass within a node's outline (shrunk by nothing, grown by
    CLEARANCE)?"""
    if circle:
        r = half + CLEARANCE
        dx, dy = b[0] - a[0], b[1] - a[1]
        L2 = dx * dx + dy * dy
        t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((cx - a[0]) * dx + (cy - a[1]) * dy) / L2))
        px, py = a[0] + t * dx - cx, a[1] + t * dy - cy
        return px * px + py * py < r * r
    h = half + CLEARANCE
    x0, x1, y0, y1 = cx - h, cx + h, cy - h, cy + h
    # Liang–Barsky clipping
    t0, t1 = 0.0, 1.0
    dx, dy = b[0] - a[0], b[1] - a[1]
    for p, q in ((-dx, a[0] - x0), (dx, x1 - a[0]), (-dy, a[1] - y0), (dy, y1 - a[1])):
        if p == 0:
            if q < 0:
                return False
        else:
            t = q / p
            if p < 0:
                t0 = max(t0, t)
            else:
                t1 = min(t1, t)
    return t0 < t1


def _segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Proper crossing of two segments (touching ends does not count)."""
    def orient(p, q, r):
        v = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return 0 if abs(v) < 1e-9 else (1 if v > 0 else -1)
    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    return o1 * o2 < 0 and o3 * o4 < 0


def _collinear_overlap(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Two axis-parallel segments on one line sharing a stretch longer than 1 px."""
    if a[0] == b[0] == c[0] == d[0]:
        lo, hi = max(min(a[1], b[1]), min(c[1], d[1])), min(max(a[1], b[1]), max(c[1], d[1]))
        return hi - lo > 1
    if a[1] == b[1] == c[1] == d[1]:
        lo, hi = max(min(a[0], b[0]), min(c[0], d[0])), min(max(a[0], b[0]), max(c[0], d[0]))
        return hi - lo > 1
    return False


def _boundary(p_inside: Point, p_out: Point, cx: float, cy: float, circle: bool) -> Point:
    """Where the segment from a point inside a node to one outside meets its outline."""
    dx, dy = p_out[0] - p_inside[0], p_out[1] - p_inside[1]
    if circle:
        fx, fy = p_inside[0] - cx, p_inside[1] - cy
        a = dx * dx + dy * dy
        b = 2 * (fx * dx + fy * dy)
        c = fx * fx + fy * fy - HALF * HALF
        disc = max(0.0, b * b - 4 * a * c)
        t = (-b + math.sqrt(disc)) / (2 * a)
    else:
        ts = []
        if dx:
            ts += [((cx + HALF) - p_inside[0]) / dx, ((cx - HALF) - p_inside[0]) / dx]
        if dy:
            ts += [((cy + HALF) - p_inside[1]) / dy, ((cy - HALF) - p_inside[1]) / dy]
        t = min(t for t in ts if t > 0)
    return (p_inside[0] + t * dx, p_inside[1] + t * dy)


def _normal(a: Point, b: Point) -> Point:
    """The unit normal the twin goes to: below a horizontal, right of a vertical line."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    L = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / L, dx / L
    if ny < -1e-9 or (abs(ny) <= 1e-9 and nx < 0):
        nx, ny = -nx, -ny
    return nx, ny


def _line_meet(p: Point, d: Point, q: Point, e: Point) -> Optional[Point]:
    den = d[0] * e[1] - d[1] * e[0]
    if abs(den) < 1e-9:
        return None
    t = ((q[0] - p[0]) * e[1] - (q[1] - p[1]) * e[0]) / den
    return (p[0] + t * d[0], p[1] + t * d[1])


# ------------------------------------------------------------------ the whole layout


def slide_layout(g: DGraph) -> Layout:
    """Place and route ``g`` by the slides' rules (module docstring).

    The rules leave a few choices open: whether side chains look for a free row above
    or below first, how far a leaf may push its chain to stay on its own side, whether
    penalty squares stand in columns above their weights. The first combination is the
    slides' own (penalty above); on small graphs the others are tried as well and the
    layout with the fewest forward crossings wins (each try routes every edge)."""
    variants = [(True, -1, 8), (True, 1, 8), (True, -1, 16), (False, -1, 8), (False, 1, 8),
                (False, -1, 16)]
    if len(g.edges) > VARIANT_LIMIT:
        variants = variants[:1]
    best: Optional[tuple[int, Layout]] = None
    structures: dict[bool, tuple[_Structure, dict[str, int]]] = {}
    for stack_results, side_first, strict_rows in variants:
        if stack_results not in structures:
            s = _Structure(g, stack_results)
            col = _columns(s)
            s.rechoose_main(col)
            structures[stack_results] = (s, col)
        s, col = structures[stack_results]
        row, side = _rows(s, col, side_first, strict_rows)
        layout = _place_and_route(g, s, col, row, side)
        if len(variants) == 1:
            return layout
        n = _count_crossings(layout, g)
        if best is None or n < best[0]:
            best = (n, layout)
        if n == 0:
            break
    return best[1]


def _count_crossings(layout: Layout, g: DGraph) -> int:
    def box(p):
        xs, ys = [q[0] for q in p], [q[1] for q in p]
        return min(xs), max(xs), min(ys), max(ys)

    edges = [(e.tail, e.head, layout.routes[e.id], box(layout.routes[e.id])) for e in g.edges]
    n = 0
    for i, (t1, h1, p1, b1) in enumerate(edges):
        for t2, h2, p2, b2 in edges[i + 1:]:
            if b1[1] < b2[0] or b2[1] < b1[0] or b1[3] < b2[2] or b2[3] < b1[2]:
                continue
            if {t1, h1} & {t2, h2}:
                continue
            n += any(_segments_cross(a, b, c, d)
                     for a, b in zip(p1, p1[1:]) for c, d in zip(p2, p2[1:]))
    return n


def _place_and_route(g: DGraph, s: _Structure, col: dict[str, int], row: dict[str, int],
                     side: dict[str, int]) -> Layout:
    low = min(row.values(), default=0)
    row = {v: r - low for v, r in row.items()}

    anchored_to: dict[str, list[str]] = {}
    for leaf, op in s.anchor.items():
        anchored_to.setdefault(op, []).append(leaf)
    for op in anchored_to:
        order = {p: k for k, p in enumerate(dict.fromkeys(s.preds[op]))}
        anchored_to[op].sort(key=lambda p: order[p])
    widths: dict[int, float] = {}
    group_offsets: dict[str, float] = {}
    for op, leaves in anchored_to.items():
        for sd in (-1, 1):
            group = [lf for lf in leaves if side.get(lf, -1) == sd]
            k = len(group)
            for i, lf in enumerate(group):
                group_offsets[lf] = (i - (k - 1) / 2) * (NODE + SIDE_GAP)
            if k:
                widths[col[op]] = max(widths.get(col[op], GRID), k * NODE + (k - 1) * SIDE_GAP + 40)
    ncols = max(col.values(), default=0) + 1
    shift = (GRID - NODE) / 2                 # the first column's spare half gap
    xs, col_gap, x = [], [], MARGIN - shift
    for c in range(ncols):
        w = widths.get(c, GRID)
        xs.append(x + w / 2)
        x += w
        col_gap.append(x)
    width = x - shift + MARGIN
    nrows = max(row.values(), default=0) + 1
    ys = [MARGIN + HALF + r * GRID for r in range(nrows)]
    row_gap = [y - GRID / 2 for y in ys] + [ys[-1] + GRID / 2]
    height = ys[-1] + HALF + MARGIN

    pos: dict[str, Point] = {}
    for v in s.order:
        if v in s.anchor:
            op = s.anchor[v]
            pos[v] = (xs[col[op]] + group_offsets.get(v, 0.0), ys[row[v]])
        elif v in s.stacked or v in s.stack_result:
            leaf = s.stacked[s.stack_result.get(v, v)]
            op = s.anchor[leaf]
            pos[v] = (xs[col[op]] + group_offsets.get(leaf, 0.0), ys[row[v]])
        else:
            pos[v] = (xs[col[v]], ys[row[v]])
    routes, twins = _route_all(g, s, pos, col, row, col_gap[:-1], row_gap)
    cells = {v: (col[v], row[v]) for v in s.order}
    return Layout(pos, routes, twins, width, height, cells)


def _route_all(g: DGraph, s: _Structure, pos: dict[str, Point], col: dict[str, int],
               row: dict[str, int], col_gap: list[float], row_gap: list[float]):
    """A route for every edge: the cheapest candidate that passes no node (module
    docstring); ``col_gap[c]`` is the x between columns c and c + 1, ``row_gap[r]``
    the y above row r (one more at the bottom)."""
    circle = {v: s.nodes[v].kind != "op" for v in s.order}
    boxes = [(v, pos[v][0], pos[v][1]) for v in s.order]
    routed: list[tuple[str, str, list[Point]]] = []          # (tail, head, polyline)
    routes: dict[str, list[Point]] = {}
    twins: dict[str, list[Point]] = {}

    # entry offsets on the left side of an op: its main operand at the centre,
    # operands before it above, after it below (perceptron.png)
    entry: dict[tuple[str, str], float] = {}
    for v in s.order:
        left = [p for p in dict.fromkeys(s.preds[v])
                if p not in s.anchor and s.stacked.get(v) != p]
        main = s.main.get(v)
        if main in left:
            m = left.index(main)
            spread = max(m, len(left) - 1 - m, 1)
            step = min(ENTRY_STEP, (HALF - 8) / spread)     # stay on the node's side
            for k, p in enumerate(left):
                entry[(p, v)] = (k - m) * step

    def clear(path: list[Point], tail: str, head: str) -> bool:
        last = len(path) - 2
        for k, (a, b) in enumerate(zip(path, path[1:])):
            lo_x, hi_x = min(a[0], b[0]) - HALF - CLEARANCE, max(a[0], b[0]) + HALF + CLEARANCE
            lo_y, hi_y = min(a[1], b[1]) - HALF - CLEARANCE, max(a[1], b[1]) + HALF + CLEARANCE
            for v, cx, cy in boxes:
                if not (lo_x < cx < hi_x and lo_y < cy < hi_y):
                    continue
                # the first segment leaves the tail, the last enters the head
                if (v == tail and k == 0) or (v == head and k == last):
                    continue
                if _seg_hits_box(a, b, cx, cy, HALF, circle[v]):
                    return False
        return True

    def crossings(path: list[Point], tail: str, head: str) -> float:
        """Crossings with the edges routed so far; running along another edge (which
        hides where each goes) counts as four, unless the two share an end."""
        n = 0.0
        for t2, h2, other in routed:
            shared = bool({t2, h2} & {tail, head})
            for a, b in zip(path, path[1:]):
                for c, d in zip(other, other[1:]):
                    if shared:
                        continue
                    if _collinear_overlap(a, b, c, d):
                        n += 4
                    elif _segments_cross(a, b, c, d):
                        n += 1
        return n

    tracks = (0.0, -7.0, 7.0)      # a twin 10 px beside a track stays in a 40 px gap

    def candidates(tail: str, head: str):
        """Routes between centres, simplest first."""
        (tx, ty), (hx, hy) = pos[tail], pos[head]
        ey = hy + entry.get((tail, head), 0.0)
        if (tx == hx or ty == hy or s.anchor.get(tail) == head or s.stacked.get(head) == tail
                or (abs(col[tail] - col[head]) <= 1 and abs(row[tail] - row[head]) <= 1)):
            yield [(tx, ty), (hx, hy)]
        between = [col_gap[c] for c in range(col[tail], col[head]) if c < len(col_gap)]
        for gx0 in reversed(between):             # perceptron.png's elbow, nearest the head first
            for t in tracks:
                yield [(tx, ty), (gx0 + t, ty), (gx0 + t, ey), (hx, ey)]
        yield [(tx, ty), (hx, ty), (hx, hy)]      # into the head's top or bottom
        yield [(tx, ty), (tx, ey), (hx, ey)]      # out of the tail's top or bottom
        mid = (ty + hy) / 2
        for yc0 in sorted(row_gap, key=lambda y: abs(y - mid)):
            for t in tracks:
                yc = yc0 + t
                yield [(tx, ty), (tx, yc), (hx, yc), (hx, hy)]          # over/under, vertical ends
                for gx in reversed(between):
                    yield [(tx, ty), (tx, yc), (gx + t, yc), (gx + t, ey), (hx, ey)]
                    yield [(tx, ty), (gx + t, ty), (gx + t, yc), (hx, yc), (hx, hy)]
                for g1 in between[:1]:
                    for g2 in between[-1:]:
                        yield [(tx, ty), (g1 + t, ty), (g1 + t, yc), (g2 + t, yc),
                               (g2 + t, ey), (hx, ey)]

    many = len(g.edges) > CROSSING_LIMIT
    deadline = time.monotonic() + LAYOUT_TIMEOUT

    def best(tail: str, head: str) -> list[Point]:
        chosen, chosen_cost, tried = None, None, 0
        if time.monotonic() > deadline:
            raise GraphTooLarge(
                f"laying out {len(s.order)} drawn nodes took more than {LAYOUT_TIMEOUT:g} s; "
                "draw a coarser detail level or a smaller part of the graph")
        for path in candidates(tail, head):
            path = _dedupe(path)
            if not clear(path, tail, head) or not clear(_offset(path, TWIN_OFFSET), tail, head):
                continue
            n = 0 if many else crossings(path, tail, head)
            length = sum(math.dist(a, b) for a, b in zip(path, path[1:]))
            c = n * 1000 + (len(path) - 2) * 60 + length / 10
            if chosen_cost is None or c < chosen_cost:
                chosen, chosen_cost = path, c
            tried += 1
            if n == 0 or tried >= 40:
                break
        if chosen is None:          # only when every gap is blocked; keep the straight line
            chosen = [pos[tail], pos[head]]
        return chosen

    # straight edges first, so that elbows go around them
    def priority(e) -> tuple:
        (tx, ty), (hx, hy) = pos[e.tail], pos[e.head]
        return (0 if (tx == hx or ty == hy) else 1, abs(col[e.tail] - col[e.head]))

    for e in sorted(g.edges, key=priority):
        centre_path = best(e.tail, e.head)
        path, dropped = _clip(centre_path, pos[e.tail], pos[e.head], circle[e.tail],
                              circle[e.head])
        routes[e.id] = path
        routed.append((e.tail, e.head, path))
        twin = _offset(centre_path, TWIN_OFFSET)
        twins[e.id], _ = _clip(twin, pos[e.tail], pos[e.head], circle[e.tail], circle[e.head],
                               dropped)
    return routes, twins


def _dedupe(path: list[Point]) -> list[Point]:
    out = [path[0]]
    for p in path[1:]:
        if math.dist(p, out[-1]) > 1e-9:
            out.append(p)
    # drop points on a straight line between neighbours
    k = 1
    while k < len(out) - 1:
        a, b, c = out[k - 1], out[k], out[k + 1]
        if abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) < 1e-9:
            out.pop(k)
        else:
            k += 1
    return out


def _inside(p: Point, centre: Point, circle: bool) -> bool:
    dx, dy = p[0] - centre[0], p[1] - centre[1]
    if circle:
        return dx * dx + dy * dy < HALF * HALF - 1e-9
    return abs(dx) < HALF - 1e-9 and abs(dy) < HALF - 1e-9


def _clip(path: list[Point], tail: Point, head: Point, tail_circle: bool, head_circle: bool,
          drop: Optional[tuple[int, int]] = None) -> tuple[list[Point], tuple[int, int]]:
    """Cut a centre-to-centre polyline at the tail's and the head's outlines. Corners
    that fall inside a node are dropped; ``drop`` forces how many at each end (a twin
    drops what its black edge dropped, so that the two stay piece for piece parallel).
    Returns the points and how many were dropped at each end."""
    pts = list(path)
    front = back = 0
    if drop is None:
        while len(pts) > 2 and _inside(pts[1], tail, tail_circle):
            pts.pop(0)
            front += 1
        while len(pts) > 2 and _inside(pts[-2], head, head_circle):
            pts.pop()
            back += 1
    else:
        front, back = drop
        pts = pts[front:len(pts) - back]
    pts[0] = _boundary(_into(pts[0], pts[1], tail, tail_circle), pts[1], tail[0], tail[1],
                       tail_circle)
    pts[-1] = _boundary(_into(pts[-1], pts[-2], head, head_circle), pts[-2], head[0], head[1],
                        head_circle)
    return pts, (front, back)


def _into(p: Point, q: Point, centre: Point, circle: bool) -> Point:
    """A point of the line qp inside the node at ``centre`` (p itself if inside):
    the line's closest approach to the centre."""
    if _inside(p, centre, circle):
        return p
    dx, dy = p[0] - q[0], p[1] - q[1]
    L2 = dx * dx + dy * dy or 1.0
    t = ((centre[0] - q[0]) * dx + (centre[1] - q[1]) * dy) / L2
    return (q[0] + t * dx, q[1] + t * dy)


def _offset(path: list[Point], d: float) -> list[Point]:
    """The polyline moved d px to one side: below its longest segment if that is
    horizontal, right of it if vertical (the slides' rule), and the same side of the
    direction of travel all along, so that the twin never crosses its black edge."""
    a, b = max(zip(path, path[1:]), key=lambda ab: math.dist(*ab))
    nx, ny = _normal(a, b)
    dx, dy = b[0] - a[0], b[1] - a[1]
    hand = 1.0 if (-dy * nx + dx * ny) > 0 else -1.0   # +1: the left-hand normal (-dy, dx)
    segs = []
    for a, b in zip(path, path[1:]):
        dx, dy = b[0] - a[0], b[1] - a[1]
        L = math.hypot(dx, dy) or 1.0
        nx, ny = hand * -dy / L, hand * dx / L
        segs.append(((a[0] + d * nx, a[1] + d * ny), (b[0] + d * nx, b[1] + d * ny)))
    out = [segs[0][0]]
    for (a1, b1), (a2, b2) in zip(segs, segs[1:]):
        meet = _line_meet(a1, (b1[0] - a1[0], b1[1] - a1[1]), a2, (b2[0] - a2[0], b2[1] - a2[1]))
        out.append(meet if meet is not None else b1)
    out.append(segs[-1][1])
    return out
