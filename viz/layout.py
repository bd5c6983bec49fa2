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
  the elbow of ``perceptron.png`` (right, down, right into the op's side) first, then a
  single straight piece where one passes no node. Among routes that pass no node the
  cheapest wins: a crossing costs one, a stretch drawn on top of another edge (or red
  twin) or beside one closer than 8 px costs more, the more the longer (a reader cannot
  follow wires that merge; :mod:`viz.svg_geometry` counts the same faults). Branches of a
  fan leave (or enter) a node beside its centre line rather than on one trunk. The gaps
  between rows and columns never hold a node, so such a route always exists.
* **Finishing touches** (:func:`_tidy`, ``backprop.png``), kept only where every node
  stays in a cell of its own, every edge clear of the nodes and no crossing is added:
  an op whose two operands are results of ops on one side row sits *between* them
  (u₅ → add ← u₆), its result one row further out; a result on the main row that joins
  one at least two rows away *climbs* straight up its op's column to the row next to
  it, the join half a row between the two with short diagonals (u₄, u₈ → add → l); an op
  whose result so leaves vertically sits *half a row toward* an input leaf beside it,
  the leaf one column left (ŷ, y → cross_ent).
* **Room for elbows.** A column gap that an elbow runs down is 80 px wide instead of
  40 (``perceptron.png``: the × squares' edges into ``add``); a gap (column or row) that
  more wires run along than it has tracks widens by one track each (12 px apart, 30 px
  where red twins run beside them), and the edges are routed again.
* **Red twins** run parallel to their black edge at :data:`TWIN_OFFSET` px, below a
  horizontal segment and right of a vertical one.

Coordinates are pixels, y pointing down, origin at the top-left node's corner minus
:data:`MARGIN`. :func:`slide_layout` returns a :class:`Layout`; :mod:`viz.render`
hands it to Graphviz (``neato -n2``) with every position pinned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Optional

from .geometry import Point, segments_cross
from .graph import DGraph
from .routing import TWIN_OFFSET, route_all, track_pitch, tracks
from .structure import Structure

__all__ = ["Layout", "slide_layout", "GRID", "NODE", "TWIN_OFFSET", "MARGIN"]

GRID = 120.0          # px between neighbouring node centres (backprop.svg)
NODE = 80.0           # circles and squares
HALF = NODE / 2
SIDE_GAP = 10.0       # between leaves drawn side by side above one op
MARGIN = 12.0
ELBOW_ROOM = 40.0      # px added to a column gap an elbow runs down (perceptron.png: 80 px)
VARIANT_LIMIT = 40     # up to this many edges (the slide figures), other layouts are tried
SMALL_TRIES = 120      # routes compared per edge up to VARIANT_LIMIT edges,
MIDDLE_TRIES = 40      # up to MIDDLE_LIMIT edges,
MIDDLE_LIMIT = 150
LARGE_TRIES = 8        # and past it: the time per edge stays about the same



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
    cells: dict[str, tuple[int, float]] = field(default_factory=dict)   # node id -> (column, row)


# ------------------------------------------------------------------ the structure


# ------------------------------------------------------------------ columns and rows


def _columns(s: Structure) -> dict[str, int]:
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


def _rows(s: Structure, col: dict[str, int], side_first: int = -1,
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

    def chain_from(start: str) -> list[str]:
        out = []
        v: Optional[str] = start
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


def slide_layout(g: DGraph, deadline: float = math.inf) -> Layout:
    """Place and route ``g`` by the slides' rules (module docstring).

    The rules leave a few choices open: whether side chains look for a free row above
    or below first, how far a leaf may push its chain to stay on its own side, whether
    penalty squares stand in columns above their weights. The first combination is the
    slides' own (penalty above); on small graphs the others are tried as well and the
    layout with the fewest forward crossings wins (each try routes every edge). Each try
    is finished by :func:`_tidy` where that keeps every node apart, every edge clear of
    the nodes and adds no crossing. A large graph is placed once, its edges comparing
    fewer routes each (:data:`LARGE_TRIES`): the time then grows about linearly with
    its size. ``deadline`` (:func:`time.monotonic`): past it, :class:`GraphTooLarge`."""
    variants = [(True, -1, 8), (True, 1, 8), (True, -1, 16), (False, -1, 8), (False, 1, 8),
                (False, -1, 16)]
    large = len(g.edges) > VARIANT_LIMIT
    if large:
        variants = variants[:1]
    tries = (SMALL_TRIES if not large else MIDDLE_TRIES if len(g.edges) <= MIDDLE_LIMIT
             else LARGE_TRIES)
    best: Optional[tuple[int, Layout]] = None
    structures: dict[bool, tuple[Structure, dict[str, int]]] = {}
    for stack_results, side_first, strict_rows in variants:
        if stack_results not in structures:
            s = Structure(g, stack_results)
            col = _columns(s)
            s.rechoose_main(col)
            structures[stack_results] = (s, col)
        s, col = structures[stack_results]
        row, side = _rows(s, col, side_first, strict_rows)
        layout, _ = _place_and_route(g, s, col, {v: float(r) for v, r in row.items()}, side,
                                     deadline=deadline, tries=tries)
        if len(variants) == 1:                    # a large graph: the first try, as placed
            return layout
        n = _count_crossings(layout, g)
        tidy = _tidy(s, col, row, side)
        if tidy is not None:
            tidy_layout, blocked = _place_and_route(g, s, tidy[0], tidy[1], side, tidy[2],
                                                    deadline=deadline, tries=tries)
            tidy_n = _count_crossings(tidy_layout, g)
            if not blocked and tidy_n <= n:
                layout, n = tidy_layout, tidy_n
        if best is None or n < best[0]:
            best = (n, layout)
        if n == 0:
            break
    assert best is not None
    return best[1]


# ------------------------------------------------------------------ finishing touches


def _tidy(s: Structure, col: dict[str, int], row: dict[str, int], side: dict[str, int]
          ) -> Optional[tuple[dict[str, int], dict[str, float], set[str]]]:
    """The slides' finishing touches on a placed grid (``backprop.png``); None when none
    applies or when they would put two nodes in one cell. In order:

    * **Between its operands.** An op whose two operands are results of ops standing on
      one row (off the main row) at least four columns apart sits midway between them on
      that row, each result beside its op (u₅ → add ← u₆); its own result, with both
      neighbours taken, goes one row further from the main row in its column, and the
      chain that reads it runs along that row.
    * **Climb to a join.** An op joining a result on the main row with one at least two
      rows away: the near result climbs straight up (or down) in its op's column to the
      row next to the far one, the far one runs along its row to that column, and the
      join sits half a row between them, one column on, with short diagonals (u₄, u₈).
    * **Half a row toward a leaf.** An op whose result leaves vertically and whose main
      operand comes from the left on its row, with one input leaf beside it (not a
      parameter or constant: a target y): the leaf goes one column left, the op half a
      row toward it, both edges short diagonals.

    Returns columns, rows (halves allowed) and the leaves now placed by their own cell."""
    col = dict(col)
    rowf = {v: float(r) for v, r in row.items()}
    own: set[str] = set()
    anchored_to: dict[str, list[str]] = {}
    for leaf, op in s.anchor.items():
        anchored_to.setdefault(op, []).append(leaf)
    stacks = set(s.stacked.values())
    changed = False

    def is_op(v: str) -> bool:
        return s.nodes[v].kind == "op"

    def result_of(v: str) -> Optional[str]:
        outs = s.succs[v]
        return outs[0] if len(outs) == 1 and not is_op(outs[0]) and s.preds[outs[0]] == [v] else None

    def maker(v: str) -> Optional[str]:
        """The op whose only result v is, when v is read by exactly one op."""
        preds = s.preds[v]
        if is_op(v) or len(preds) != 1 or not is_op(preds[0]) or len(s.succs[v]) != 1:
            return None
        return preds[0]

    def operands(v: str) -> list[str]:
        return [p for p in dict.fromkeys(s.preds[v]) if p not in s.anchor and s.stacked.get(v) != p]

    def place(v: str, c: int, r: float) -> None:
        col[v], rowf[v] = c, r
        for leaf in anchored_to.get(v, ()):
            col[leaf], rowf[leaf] = c, r + side[leaf]

    def run_on(start: str, r: float) -> None:
        """The chain that reads ``start`` (one reader each, no other operand) along row r."""
        cur = start
        while len(s.succs[cur]) == 1:
            w = s.succs[cur][0]
            if [o for o in operands(w) if o != cur] or any(lf in stacks for lf in anchored_to.get(w, ())):
                return
            place(w, col[cur] + 1, r)
            cur = w

    for v in s.topo:                                            # between its operands
        ops = operands(v)
        out = result_of(v) if is_op(v) else None
        makers = [(o, maker(o)) for o in ops]
        pairs = sorted(((o, mk) for o, mk in makers if mk is not None), key=lambda t: col[t[1]])
        if len(ops) != 2 or out is None or len(pairs) != 2:
            continue
        (p, P), (q, Q) = pairs
        R = rowf[P]
        if rowf[Q] != R or R == 0 or col[Q] - col[P] < 4:
            continue
        mid = (col[P] + col[Q]) // 2
        away = -1.0 if R < 0 else 1.0
        place(p, col[P] + 1, R)
        place(q, col[Q] - 1, R)
        place(v, mid, R)
        place(out, mid, R + away)
        run_on(out, R + away)
        changed = True

    for J in s.topo:                                            # climb to a join
        ops = operands(J)
        a = s.main.get(J)
        if not is_op(J) or len(ops) != 2 or a is None or a not in ops:
            continue
        b = ops[1 - ops.index(a)]
        A, B = maker(a), maker(b)
        if A is None or B is None or rowf[A] != rowf[a] or rowf[B] != rowf[b]:
            continue
        ra, rb, c = rowf[a], rowf[b], col[A]
        if abs(ra - rb) < 2 or col[B] >= c or col[a] != c + 1:
            continue
        near = rb + (1.0 if ra > rb else -1.0)
        place(a, c, near)
        place(b, c, rb)
        place(J, c + 1, (near + rb) / 2)
        run_on(J, rowf[J])
        changed = True

    for v in s.topo:                                            # half a row toward a leaf
        leaves = anchored_to.get(v, [])
        if not is_op(v) or len(leaves) != 1 or s.side_of_leaf(leaves[0]) != 0:
            continue
        res, m = result_of(v), s.main.get(v)
        if res is None or m is None:
            continue
        y = leaves[0]
        if col[res] != col[v] or rowf[m] != rowf[v] or col[m] != col[v] - 1 or y in stacks:
            continue
        sd = float(side[y])
        if (rowf[res] - rowf[v]) * sd > 0:
            continue                                             # the result leaves past the leaf
        col[y], rowf[y] = col[v] - 1, rowf[v] + sd
        own.add(y)
        rowf[v] += sd / 2
        changed = True

    if not changed:
        return None
    return (col, rowf, own) if _apart(s, col, rowf, own) else None


def _apart(s: Structure, col: dict[str, int], row: dict[str, float], own: set[str]) -> bool:
    """No two nodes in one cell (leaves side by side above one op share theirs)."""
    def group(v: str) -> tuple:
        if v in s.anchor and v not in own:
            return ("leaves", s.anchor[v], row[v])
        if v in s.stacked or v in s.stack_result:
            leaf = s.stacked[s.stack_result.get(v, v)]
            return ("stack", s.anchor.get(leaf), row[v])
        return ("node", v)

    by_col: dict[int, list[str]] = {}
    for v in s.order:
        by_col.setdefault(col[v], []).append(v)
    for nodes in by_col.values():
        for i, u in enumerate(nodes):
            for v in nodes[i + 1:]:
                if abs(row[u] - row[v]) < 1 and group(u) != group(v):
                    return False
    return True


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
            n += any(segments_cross(a, b, c, d)
                     for a, b in zip(p1, p1[1:]) for c, d in zip(p2, p2[1:]))
    return n


def _place_and_route(g: DGraph, s: Structure, col: dict[str, int], row: dict[str, float],
                     side: dict[str, int], own: frozenset[str] | set[str] = frozenset(),
                     deadline: float = math.inf, tries: int = 40
                     ) -> tuple[Layout, list[tuple[str, str]]]:
    """Pixels for the cells and a route for every edge. ``own``: anchored leaves that
    :func:`_tidy` placed in cells of their own. A column gap that an elbow runs down
    (``perceptron.png``'s × → add) is widened by :data:`ELBOW_ROOM`, and by one track
    (:func:`viz.routing.track_pitch`) for each elbow past the tracks it then has; a row
    gap by one track for each wire along it past those it has; then the edges are routed
    again. Returns the layout and the edges no route could clear (see :func:`route_all`)."""
    low = min(row.values(), default=0.0)
    row = {v: r - low for v, r in row.items()}

    anchored_to: dict[str, list[str]] = {}
    for leaf, op in s.anchor.items():
        if leaf not in own:
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
    nrows = int(max(row.values(), default=0.0)) + 1

    # a row gap k lies above row k (gap nrows below the last row); one that a node at a
    # half row stands in keeps its height, so that the node stays midway
    halves = {math.ceil(r) for r in row.values() if r != int(r)}
    extra: dict[int, float] = {}          # column gap c (after column c) -> px added
    row_extra: dict[int, float] = {}      # row gap k -> px added

    def y_of(r: float) -> float:
        return MARGIN + HALF + r * GRID + sum(px for k, px in row_extra.items() if k <= r)

    for attempt in range(2):
        row_gap, row_half = [], []
        for k in range(nrows + 1):
            h = (GRID - NODE + row_extra.get(k, 0.0)) / 2
            row_half.append(h)
            row_gap.append(y_of(k) - HALF - h if k < nrows else y_of(nrows - 1) + HALF + h)
        height = y_of(max(row.values(), default=0.0)) + HALF + MARGIN
        shift = (GRID - NODE) / 2                 # the first column's spare half gap
        xs, col_gap, x = [], [], MARGIN - shift
        for c in range(ncols):
            w = widths.get(c, GRID)
            xs.append(x + w / 2)
            x += w + extra.get(c, 0.0)
            col_gap.append(x - extra.get(c, 0.0) / 2)      # the middle of the gap after c
        width = x - shift + MARGIN
        pos: dict[str, Point] = {}
        for v in s.order:
            if v in s.anchor and v not in own:
                op = s.anchor[v]
                pos[v] = (xs[col[op]] + group_offsets.get(v, 0.0), y_of(row[v]))
            elif v in s.stacked or v in s.stack_result:
                leaf = s.stacked[s.stack_result.get(v, v)]
                op = s.anchor[leaf]
                pos[v] = (xs[col[op]] + group_offsets.get(leaf, 0.0), y_of(row[v]))
            else:
                pos[v] = (xs[col[v]], y_of(row[v]))
        half = [(GRID - NODE + extra.get(c, 0.0)) / 2 for c in range(ncols - 1)]
        routes, twins, blocked = route_all(g, s, pos, col, row, col_gap[:-1], row_gap,
                                            deadline, tries, half, row_half)
        if attempt:
            break
        down: dict[int, int] = {}          # column gap -> how many elbows run down it
        along: dict[int, int] = {}         # row gap -> how many run along it
        for r in routes.values():
            for a, b in zip(r, r[1:]):
                if abs(a[0] - b[0]) < 1e-6:
                    for c in range(ncols - 1):
                        if abs(a[0] - col_gap[c]) <= half[c]:
                            down[c] = down.get(c, 0) + 1
                elif abs(a[1] - b[1]) < 1e-6:
                    for k in range(nrows + 1):
                        if abs(a[1] - row_gap[k]) < row_half[k] and k not in halves:
                            along[k] = along.get(k, 0) + 1
        # room for one more track per wire past those the gap has (at most 8 more)
        pitch = track_pitch(g)
        extra = {c: ELBOW_ROOM + pitch * min(max(k - len(tracks(half[c] + ELBOW_ROOM / 2, pitch)), 0), 8)
                 for c, k in down.items()}
        row_extra = {k: pitch * min(n - len(tracks(row_half[k], pitch)), 8) for k, n in along.items()
                     if n > len(tracks(row_half[k], pitch))}
        if not extra and not row_extra:
            break
    # routes over the top row or under the bottom one stay inside the drawing
    ys = [p[1] for r in list(routes.values()) + list(twins.values()) for p in r]
    top = min(ys + [MARGIN + HALF]) - MARGIN - HALF
    if top < 0:
        pos = {v: (x, y - top) for v, (x, y) in pos.items()}
        routes = {e: [(x, y - top) for x, y in r] for e, r in routes.items()}
        twins = {e: [(x, y - top) for x, y in r] for e, r in twins.items()}
        height -= top
    height = max([height] + [y + MARGIN + 10 for r in routes.values() for _, y in r])
    cells = {v: (col[v], row[v]) for v in s.order}
    return Layout(pos, routes, twins, width, height, cells), blocked
