"""Routes for the edges of a placed graph (:mod:`viz.layout`): straight where that passes
no node, else orthogonal elbows through the free gaps between rows and columns, the
fewest crossings winning; a red twin beside each, parallel at ``TWIN_OFFSET`` px."""

from __future__ import annotations

import math
import time
from typing import Optional

from .geometry import (HALF, Point, PointIndex, SegmentIndex, clip_to_outlines, crossing_kind,
                       inside, offset_polyline, parallel_run, segment_hits_node, simplify)
from .graph import DGraph, GraphTooLarge
from .structure import Structure

__all__ = ["route_all", "HALF", "TWIN_OFFSET", "ENTRY_STEP", "CLEARANCE", "CROSSING_CAP", "track_pitch", "tracks", "GAP"]

TWIN_OFFSET = 10.0     # red twin from its black edge
ENTRY_STEP = 14.0      # spacing of several edges entering one side of a node
CLEARANCE = 3.0        # a route stays this far from every other node's outline
GAP = 40.0             # px between the outlines of neighbouring nodes (viz.layout: GRID - NODE)
TRACK = 12.0           # px between wires along one gap
CLOSE = 8.0            # px: parallel wires nearer than this read as one (svg_geometry.close_wires)
MIN_RUN = 6.0          # px side by side before two wires count as close
ON_TOP = 16.0          # cost of a piece drawn on top of another edge's, in crossings
BESIDE = 8.0           # of a piece beside another closer than CLOSE px
COST_CAP = 4 * ON_TOP  # a route costing this much has lost to anything; counting stops
CROSSING_CAP = 12      # crossings past this many count as this many: a route through a dense
                       # bundle is not compared wire by wire (the count stays bounded)


def track_pitch(g: DGraph) -> float:
    """Px between wires along one gap: :data:`TRACK`; with red twins (10 px to either side
    of their wires) twice :data:`TWIN_OFFSET` plus :data:`CLOSE` and 2, so that two twins
    facing each other still keep CLOSE px apart."""
    return 2 * TWIN_OFFSET + CLOSE + 2 if any(e.on_path for e in g.edges) else TRACK


def tracks(half: float, pitch: float) -> list[float]:
    """Offsets from a gap's middle for wires along it, ``pitch`` px apart, while they keep
    8 px from the nodes beside a gap ``half`` px wide each side (routes that still pass
    too near a node, red twin included, are refused by ``route_all``)."""
    out, k = [0.0], 1
    while k * pitch <= half - 8:
        out += [-k * pitch, k * pitch]
        k += 1
    return out


def route_all(g: DGraph, s: Structure, pos: dict[str, Point], col: dict[str, int],
               row: dict[str, float], col_gap: list[float], row_gap: list[float],
               deadline: float = math.inf, tries: int = 40, col_half: Optional[list[float]] = None,
               row_half: Optional[list[float]] = None):
    """A route for every edge: the cheapest candidate that passes no node (module
    docstring); ``col_gap[c]`` is the x between columns c and c + 1, ``row_gap[r]``
    the y above row r (one more at the bottom). Returns the routes, the red twins, and the
    edges (tail, head) for which no route cleared every node (drawn straight).

    ``col_half``, ``row_half``: half the width of each column gap, the height of each
    row gap (default half of :data:`GAP`): wider gaps offer more tracks. ``tries``: how many routes that pass no node are compared per edge (the first
    without a crossing wins at once); ``deadline``: a :func:`time.monotonic` time after
    which :class:`GraphTooLarge` is raised."""
    circle = {v: s.nodes[v].kind != "op" for v in s.order}
    boxes = [(v, pos[v][0], pos[v][1]) for v in s.order]
    routes: dict[str, list[Point]] = {}
    twins: dict[str, list[Point]] = {}

    # entry offsets on the left side of an op: its main operand at the centre,
    # operands before it above, after it below (perceptron.png)
    entry: dict[tuple[str, str], float] = {}
    into: dict[str, list] = {}
    for e in g.edges:
        into.setdefault(e.head, []).append(e)
    for v in s.order:
        left = [p for p in dict.fromkeys(s.preds[v])
                if p not in s.anchor and s.stacked.get(v) != p]
        main = s.main.get(v)
        if main in left:
            m = left.index(main)
            spread = max(m, len(left) - 1 - m, 1)
            # with red twins (10 px below each), entries keep CLOSE px from the next twin
            red = any(e.on_path for e in into.get(v, ()))
            step = min(ENTRY_STEP + (TWIN_OFFSET - 6 if red else 0), (HALF - 8) / spread)
            for k, p in enumerate(left):
                entry[(p, v)] = (k - m) * step

    nodes = PointIndex([(x, y, v) for v, x, y in boxes])
    reach = HALF + CLEARANCE

    def clear(path: list[Point], tail: str, head: str) -> bool:
        last = len(path) - 2
        for k, (a, b) in enumerate(zip(path, path[1:])):
            lo_x, hi_x = min(a[0], b[0]) - reach, max(a[0], b[0]) + reach
            lo_y, hi_y = min(a[1], b[1]) - reach, max(a[1], b[1]) + reach
            for cx, cy, v in nodes.within(lo_x, hi_x, lo_y, hi_y):
                # a segment from inside the tail leaves it, one into the head enters it
                # (a convex outline: a straight piece crosses it once)
                if v == tail and (k == 0 or inside(a, pos[tail], circle[tail])):
                    continue
                if v == head and (k == last or inside(b, pos[head], circle[head])):
                    continue
                if segment_hits_node(a, b, cx, cy, HALF, circle[v], CLEARANCE):
                    return False
        return True

    def segments(path: list[Point]) -> list[tuple]:
        """A path's segments, each with its bounding box (x0, x1, y0, y1)."""
        return [(a, b, min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1]))
                for a, b in zip(path, path[1:])]

    placed = SegmentIndex()       # every routed segment and red twin: (tail, head, segment)

    def cost(path: list[Point], twin: Optional[list[Point]], tail: str, head: str,
             bound: float = math.inf) -> float:
        """What a reader would trip over, against the edges routed so far: a crossing
        with an edge that shares no node counts one (at most :data:`CROSSING_CAP` in
        all); a piece drawn on top of another edge's (or red twin's) counts
        :data:`ON_TOP`, beside one closer than :data:`CLOSE` px :data:`BESIDE`, each once
        more for every :data:`GAP` px they run together, whichever
        edges they are (a fan of elbows on one trunk included); the red ``twin`` is
        measured too. Only routed pieces near ours (:class:`SegmentIndex`) are tested;
        the count stops once it reaches ``bound`` (the route has lost)."""
        crossed, crowded = 0, 0.0
        for pieces, is_twin in ((path, False), (twin, True)):
            if pieces is None:
                continue
            for a, b, ax0, ax1, ay0, ay1 in segments(pieces):
                ah, av = ay0 == ay1, ax0 == ax1
                # an axis-parallel piece: first the pieces along it (and any slanted ones),
                # then those across it, only while crossings still count (CROSSING_CAP)
                passes = ((ah, True), (not ah, False)) if ah != av else ((None, True),)
                for only, others in passes:
                    across = only is not None and only != ah
                    if across and crossed >= CROSSING_CAP:
                        break
                    for t2, h2, (c, d, cx0, cx1, cy0, cy1) in placed.near(
                            ax0 - CLOSE, ax1 + CLOSE, ay0 - CLOSE, ay1 + CLOSE, only, others):
                        ch, cv = cy0 == cy1, cx0 == cx1
                        apart = not is_twin and t2 != tail and t2 != head and h2 != tail and h2 != head
                        if ah != av and ch != cv:             # both horizontal or vertical
                            if ah != ch:                      # across: they can only cross
                                if apart and (ax0 < cx0 < ax1 and cy0 < ay0 < cy1 if ah
                                              else cx0 < ax0 < cx1 and ay0 < cy0 < ay1):
                                    crossed += 1
                                    if crossed >= CROSSING_CAP:
                                        break
                            else:                             # along: side by side or apart
                                dist = abs(ay0 - cy0) if ah else abs(ax0 - cx0)
                                run = (min(ax1, cx1) - max(ax0, cx0)) if ah else (min(ay1, cy1) - max(ay0, cy0))
                                if dist < CLOSE and run > (MIN_RUN if dist >= 1 else 2.0):
                                    crowded += (ON_TOP if dist < 1 else BESIDE) * (1 + run / GAP)
                        elif apart and crossing_kind(a, b, c, d) == 1:
                            crossed += 1
                        else:
                            side = parallel_run(a, b, c, d, CLOSE)
                            if side is not None and side[1] > (MIN_RUN if side[0] >= 1 else 2.0):
                                # the longer the stretch, the more it hides
                                crowded += (ON_TOP if side[0] < 1 else BESIDE) * (1 + side[1] / GAP)
                        if min(crossed, CROSSING_CAP) + crowded >= bound:
                            return bound
        return min(crossed, CROSSING_CAP) + crowded

    pitch = track_pitch(g)
    # exits beside a node's centre line, inside its outline (HALF px)
    fan_offsets = [d for k in (1, 2) for d in (k * pitch, -k * pitch) if k * pitch < HALF - 8]
    col_tracks = [tracks(h, pitch) for h in (col_half or [(GAP / 2)] * len(col_gap))]
    row_tracks = [tracks(h, pitch) for h in (row_half or [(GAP / 2)] * len(row_gap))]

    def candidates(tail: str, head: str):
        """Routes between centres, simplest first; after each that leaves the tail or
        enters the head vertically, the same beside the centre line (:func:`fanned`)."""
        for path in simplest(tail, head):
            yield path
            yield from fanned(path)

    def fanned(path: list[Point]):
        """``path`` with its vertical first piece moved one or two tracks beside the
        tail's centre (its horizontal first piece above or below it), or its vertical last
        piece beside the head's: the branches of a
        fan from (or into) one node leave it side by side instead of on one trunk."""
        (tx, ty), (hx, hy) = path[0], path[-1]
        if len(path) >= 3 and path[1][0] == tx and path[1][1] != ty:
            for dx in fan_offsets:
                yield [(tx, ty), (tx + dx, ty), (tx + dx, path[1][1])] + path[2:]
        if len(path) >= 3 and path[1][1] == ty and path[1][0] != tx and path[2][0] == path[1][0]:
            for dy in fan_offsets:                # out of the side, above or below the centre
                yield [(tx, ty), (tx, ty + dy), (path[1][0], ty + dy)] + path[2:]
        if len(path) >= 3 and path[-2][0] == hx and path[-2][1] != hy:
            for dx in fan_offsets:
                yield path[:-2] + [(hx + dx, path[-2][1]), (hx + dx, hy), (hx, hy)]

    def simplest(tail: str, head: str):
        """Routes between centres, simplest first (module docstring)."""
        (tx, ty), (hx, hy) = pos[tail], pos[head]
        ey = hy + entry.get((tail, head), 0.0)
        if (tx == hx or ty == hy or s.anchor.get(tail) == head or s.stacked.get(head) == tail
                or (abs(col[tail] - col[head]) <= 1 and abs(row[tail] - row[head]) <= 1)):
            yield [(tx, ty), (hx, hy)]
        gaps = [c for c in range(col[tail], col[head]) if c < len(col_gap)]
        between = [col_gap[c] for c in gaps]
        for c in reversed(gaps):                  # perceptron.png's elbow, nearest the head first
            for t in col_tracks[c]:
                yield [(tx, ty), (col_gap[c] + t, ty), (col_gap[c] + t, ey), (hx, ey)]
        if ey != hy and gaps:                     # entering on the other side of the centre
            c = gaps[-1]
            for t in col_tracks[c]:
                yield [(tx, ty), (col_gap[c] + t, ty), (col_gap[c] + t, 2 * hy - ey), (hx, 2 * hy - ey)]
        if not (tx == hx or ty == hy):
            yield [(tx, ty), (hx, hy)]            # one straight piece, where it passes no node
        yield [(tx, ty), (hx, ty), (hx, hy)]      # into the head's top or bottom
        yield [(tx, ty), (tx, ey), (hx, ey)]      # out of the tail's top or bottom
        mid = (ty + hy) / 2
        for k in sorted(range(len(row_gap)), key=lambda k: abs(row_gap[k] - mid)):
            yc0 = row_gap[k]
            for t in row_tracks[k]:
                yc = yc0 + t
                yield [(tx, ty), (tx, yc), (hx, yc), (hx, hy)]          # over/under, vertical ends
                for gx in reversed(between):
                    yield [(tx, ty), (tx, yc), (gx + t, yc), (gx + t, ey), (hx, ey)]
                    yield [(tx, ty), (gx + t, ty), (gx + t, yc), (hx, yc), (hx, hy)]
                for g1 in between[:1]:
                    for g2 in between[-1:]:
                        yield [(tx, ty), (g1 + t, ty), (g1 + t, yc), (g2 + t, yc),
                               (g2 + t, ey), (hx, ey)]

    blocked: list[tuple[str, str]] = []       # edges no candidate route could clear

    def best(tail: str, head: str, red: bool) -> list[Point]:
        chosen, chosen_cost, tried = None, None, 0
        if time.monotonic() > deadline:
            raise GraphTooLarge(f"laying out {len(s.order)} drawn nodes did not finish within the time "
                                "allowed; draw a coarser detail level or a smaller part of the graph")
        for path in candidates(tail, head):
            path = simplify(path)
            twin = offset_polyline(path, TWIN_OFFSET)
            if not clear(path, tail, head) or not clear(twin, tail, head):
                continue
            bound = COST_CAP if chosen_cost is None else min(COST_CAP, chosen_cost / 1000)
            n = cost(path, twin if red else None, tail, head, bound)
            length = sum(math.dist(a, b) for a, b in zip(path, path[1:]))
            c = n * 1000 + (len(path) - 2) * 60 + length / 10
            if chosen_cost is None or c < chosen_cost:
                chosen, chosen_cost = path, c
            tried += 1
            if n == 0 or tried >= tries:
                break
        if chosen is None:          # only when every gap is blocked; keep the straight line
            chosen = [pos[tail], pos[head]]
            blocked.append((tail, head))
        return chosen

    # straight edges first, so that elbows go around them
    def priority(e) -> tuple:
        (tx, ty), (hx, hy) = pos[e.tail], pos[e.head]
        return (0 if (tx == hx or ty == hy) else 1, abs(col[e.tail] - col[e.head]))

    for e in sorted(g.edges, key=priority):
        centre_path = best(e.tail, e.head, e.on_path)
        path, dropped = clip_to_outlines(centre_path, pos[e.tail], pos[e.head], circle[e.tail],
                              circle[e.head])
        routes[e.id] = path
        twin = offset_polyline(centre_path, TWIN_OFFSET)
        twins[e.id], _ = clip_to_outlines(twin, pos[e.tail], pos[e.head], circle[e.tail], circle[e.head],
                               dropped)
        for seg in segments(path) + (segments(twins[e.id]) if e.on_path else []):
            placed.add((e.tail, e.head, seg), seg[0], seg[1])
    return routes, twins, blocked
