"""Plane geometry for drawn graphs: segments against node outlines, crossings, offsets.

Nodes are circles or axis-aligned squares of half-size ``half`` around a centre; a route
is a polyline of points (pixels, y down). Used by the layout (:mod:`viz.layout`,
:mod:`viz.routing`) and by the SVG checker (:mod:`viz.svg_geometry`).
"""

from __future__ import annotations

import bisect
import math
from typing import Generic, Iterator, Optional, TypeVar

T = TypeVar("T")

__all__ = ["Point", "segment_hits_node", "segments_cross", "collinear_overlap", "boundary_point",
           "twin_normal", "line_meet", "simplify", "inside", "clip_to_outlines", "point_inside",
           "offset_polyline", "distance_to_line", "GridIndex", "PointIndex", "SegmentIndex", "crossing_kind", "parallel_run", "HALF"]

Point = tuple[float, float]
HALF = 40.0            # half of an 80 px node (viz.style.NODE_SIZE at 72 dpi)


def distance_to_line(p: Point, a: Point, b: Point) -> float:
    """Distance from p to the line through a and b."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    L = math.hypot(dx, dy)
    if L == 0:
        return math.dist(p, a)
    return abs(dx * (a[1] - p[1]) - dy * (a[0] - p[0])) / L


def segment_hits_node(a: Point, b: Point, cx: float, cy: float, half: float, circle: bool,
                      margin: float = 0.0) -> bool:
    """Does segment ab pass within ``margin`` px of the outline of the node (a circle of
    radius ``half`` or a square of half-side ``half``) centred at (cx, cy)?"""
    if circle:
        r = half + margin
        dx, dy = b[0] - a[0], b[1] - a[1]
        L2 = dx * dx + dy * dy
        t = 0.0 if L2 == 0 else max(0.0, min(1.0, ((cx - a[0]) * dx + (cy - a[1]) * dy) / L2))
        px, py = a[0] + t * dx - cx, a[1] + t * dy - cy
        return px * px + py * py < r * r
    h = half + margin
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


def segments_cross(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Proper crossing of two segments (touching ends does not count)."""
    def orient(p, q, r):
        v = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
        return 0 if abs(v) < 1e-9 else (1 if v > 0 else -1)
    o1, o2, o3, o4 = orient(a, b, c), orient(a, b, d), orient(c, d, a), orient(c, d, b)
    return o1 * o2 < 0 and o3 * o4 < 0


def collinear_overlap(a: Point, b: Point, c: Point, d: Point) -> bool:
    """Two axis-parallel segments on one line sharing a stretch longer than 1 px."""
    if a[0] == b[0] == c[0] == d[0]:
        lo, hi = max(min(a[1], b[1]), min(c[1], d[1])), min(max(a[1], b[1]), max(c[1], d[1]))
        return hi - lo > 1
    if a[1] == b[1] == c[1] == d[1]:
        lo, hi = max(min(a[0], b[0]), min(c[0], d[0])), min(max(a[0], b[0]), max(c[0], d[0]))
        return hi - lo > 1
    return False


def boundary_point(p_inside: Point, p_out: Point, cx: float, cy: float, circle: bool) -> Point:
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


def twin_normal(a: Point, b: Point) -> Point:
    """The unit normal the twin goes to: below a horizontal, right of a vertical line."""
    dx, dy = b[0] - a[0], b[1] - a[1]
    L = math.hypot(dx, dy) or 1.0
    nx, ny = -dy / L, dx / L
    if ny < -1e-9 or (abs(ny) <= 1e-9 and nx < 0):
        nx, ny = -nx, -ny
    return nx, ny


def line_meet(p: Point, d: Point, q: Point, e: Point) -> Optional[Point]:
    den = d[0] * e[1] - d[1] * e[0]
    if abs(den) < 1e-9:
        return None
    t = ((q[0] - p[0]) * e[1] - (q[1] - p[1]) * e[0]) / den
    return (p[0] + t * d[0], p[1] + t * d[1])


# ------------------------------------------------------------------ the whole layout


def simplify(path: list[Point]) -> list[Point]:
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


def inside(p: Point, centre: Point, circle: bool) -> bool:
    dx, dy = p[0] - centre[0], p[1] - centre[1]
    if circle:
        return dx * dx + dy * dy < HALF * HALF - 1e-9
    return abs(dx) < HALF - 1e-9 and abs(dy) < HALF - 1e-9


def clip_to_outlines(path: list[Point], tail: Point, head: Point, tail_circle: bool, head_circle: bool,
          drop: Optional[tuple[int, int]] = None) -> tuple[list[Point], tuple[int, int]]:
    """Cut a centre-to-centre polyline at the tail's and the head's outlines. Corners
    that fall inside a node are dropped; ``drop`` forces how many at each end (a twin
    drops what its black edge dropped, so that the two stay piece for piece parallel).
    Returns the points and how many were dropped at each end."""
    pts = list(path)
    front = back = 0
    if drop is None:
        while len(pts) > 2 and inside(pts[1], tail, tail_circle):
            pts.pop(0)
            front += 1
        while len(pts) > 2 and inside(pts[-2], head, head_circle):
            pts.pop()
            back += 1
    else:
        front, back = drop
        pts = pts[front:len(pts) - back]
    pts[0] = boundary_point(point_inside(pts[0], pts[1], tail, tail_circle), pts[1], tail[0], tail[1],
                       tail_circle)
    pts[-1] = boundary_point(point_inside(pts[-1], pts[-2], head, head_circle), pts[-2], head[0], head[1],
                        head_circle)
    return pts, (front, back)


def point_inside(p: Point, q: Point, centre: Point, circle: bool) -> Point:
    """A point of the line qp inside the node at ``centre`` (p itself if inside):
    the line's closest approach to the centre."""
    if inside(p, centre, circle):
        return p
    dx, dy = p[0] - q[0], p[1] - q[1]
    L2 = dx * dx + dy * dy or 1.0
    t = ((centre[0] - q[0]) * dx + (centre[1] - q[1]) * dy) / L2
    return (q[0] + t * dx, q[1] + t * dy)


def offset_polyline(path: list[Point], d: float) -> list[Point]:
    """The polyline moved d px to one side: below its longest segment if that is
    horizontal, right of it if vertical (the slides' rule), and the same side of the
    direction of travel all along, so that the twin never crosses its black edge."""
    a, b = max(zip(path, path[1:]), key=lambda ab: math.dist(*ab))
    nx, ny = twin_normal(a, b)
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
        meet = line_meet(a1, (b1[0] - a1[0], b1[1] - a1[1]), a2, (b2[0] - a2[0], b2[1] - a2[1]))
        out.append(meet if meet is not None else b1)
    out.append(segs[-1][1])
    return out


# ------------------------------------------------------------------ a spatial index


class GridIndex(Generic[T]):
    """Items with bounding boxes, bucketed on a square grid of ``cell`` px, so that a
    query for a box looks only at the items whose boxes share a bucket with it: finding
    the neighbours of one segment or node costs the number of items nearby, not the
    number in the drawing (what keeps routing and crossing counts near linear).

    ``add(item, x0, x1, y0, y1)``; ``near(x0, x1, y0, y1)`` returns each item whose
    bucket range meets the box's (a superset of the boxes that overlap; callers test
    exactly), each once."""

    def __init__(self, cell: float = 120.0) -> None:
        self.cell = cell
        self.buckets: dict[tuple[int, int], list[int]] = {}
        self.items: list[T] = []

    def _range(self, x0: float, x1: float, y0: float, y1: float):
        c = self.cell
        return (math.floor(x0 / c), math.floor(x1 / c), math.floor(y0 / c), math.floor(y1 / c))

    def add(self, item: T, x0: float, x1: float, y0: float, y1: float) -> None:
        k = len(self.items)
        self.items.append(item)
        i0, i1, j0, j1 = self._range(x0, x1, y0, y1)
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                self.buckets.setdefault((i, j), []).append(k)

    def near(self, x0: float, x1: float, y0: float, y1: float) -> list[T]:
        i0, i1, j0, j1 = self._range(x0, x1, y0, y1)
        found: set[int] = set()
        for i in range(i0, i1 + 1):
            for j in range(j0, j1 + 1):
                found.update(self.buckets.get((i, j), ()))
        return [self.items[k] for k in found]


def crossing_kind(a: Point, b: Point, c: Point, d: Point) -> int:
    """0: apart; 1: a proper crossing (:func:`segments_cross`); 2: one line shared over
    more than 1 px (:func:`collinear_overlap`). Horizontal and vertical pieces, nearly
    all of a route, are decided by comparing intervals."""
    ah, av = a[1] == b[1], a[0] == b[0]
    ch, cv = c[1] == d[1], c[0] == d[0]
    if ah and ch and not av and not cv:
        if a[1] != c[1]:
            return 0
        lo, hi = max(min(a[0], b[0]), min(c[0], d[0])), min(max(a[0], b[0]), max(c[0], d[0]))
        return 2 if hi - lo > 1 else 0
    if av and cv and not ah and not ch:
        if a[0] != c[0]:
            return 0
        lo, hi = max(min(a[1], b[1]), min(c[1], d[1])), min(max(a[1], b[1]), max(c[1], d[1]))
        return 2 if hi - lo > 1 else 0
    if ah and cv and not av and not ch:
        return int(min(a[0], b[0]) < c[0] < max(a[0], b[0]) and min(c[1], d[1]) < a[1] < max(c[1], d[1]))
    if av and ch and not ah and not cv:
        return int(min(c[0], d[0]) < a[0] < max(c[0], d[0]) and min(a[1], b[1]) < c[1] < max(a[1], b[1]))
    if collinear_overlap(a, b, c, d):
        return 2
    return int(segments_cross(a, b, c, d))


class PointIndex(Generic[T]):
    """Points (node centres) by their x, each x's points sorted by y: the points in a box
    are found by bisecting the distinct x values, then the y values of each, so a query
    costs the number of distinct x values in the box plus the points found, whatever
    the box's height (a long vertical route looks at one or two columns)."""

    def __init__(self, points: list[tuple[float, float, T]]) -> None:
        by_x: dict[float, list[tuple[float, T]]] = {}
        for x, y, item in points:
            by_x.setdefault(x, []).append((y, item))
        self.xs = sorted(by_x)
        self.ys = [sorted(by_x[x], key=lambda t: t[0]) for x in self.xs]
        self.keys = [[y for y, _ in col] for col in self.ys]

    def within(self, x0: float, x1: float, y0: float, y1: float) -> list[tuple[float, float, T]]:
        """(x, y, item) for every point with x0 < x < x1 and y0 < y < y1."""
        out = []
        for i in range(bisect.bisect_right(self.xs, x0), bisect.bisect_left(self.xs, x1)):
            keys, col, x = self.keys[i], self.ys[i], self.xs[i]
            for j in range(bisect.bisect_right(keys, y0), bisect.bisect_left(keys, y1)):
                out.append((x, col[j][0], col[j][1]))
        return out


class SegmentIndex:
    """Segments, found by box: horizontal ones by their y, vertical ones by their x (the
    distinct values kept sorted, so a box is answered by bisection, whatever its length),
    any other through a :class:`GridIndex`. ``near`` returns the items of the segments
    whose bounding boxes meet the box (edges included), each once: exactly the
    axis-parallel ones, a superset of the others (callers test each exactly)."""

    def __init__(self) -> None:
        self.lines: dict[bool, dict[float, list[tuple[float, float, object]]]] = {True: {}, False: {}}
        self.keys: dict[bool, list[float]] = {True: [], False: []}
        self.other: GridIndex[object] = GridIndex()

    def add(self, item: object, a: Point, b: Point) -> None:
        flat = a[1] == b[1]
        if flat or a[0] == b[0]:
            at, lo, hi = (a[1], min(a[0], b[0]), max(a[0], b[0])) if flat else \
                (a[0], min(a[1], b[1]), max(a[1], b[1]))
            line = self.lines[flat]
            if at not in line:
                line[at] = []
                bisect.insort(self.keys[flat], at)
            line[at].append((lo, hi, item))
        else:
            self.other.add(item, min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1]))

    def near(self, x0: float, x1: float, y0: float, y1: float, only: Optional[bool] = None,
             others: bool = True) -> Iterator:
        """Lazily: a caller that has seen enough stops the search. ``only=True`` (False):
        of the axis-parallel segments, only the horizontal (vertical) ones; ``others``:
        the segments that are neither too."""
        if others:
            yield from self.other.near(x0, x1, y0, y1)
        for flat, (a0, a1, b0, b1) in ((True, (y0, y1, x0, x1)), (False, (x0, x1, y0, y1))):
            if only is not None and only != flat:
                continue
            keys, line = self.keys[flat], self.lines[flat]
            for i in range(bisect.bisect_left(keys, a0), bisect.bisect_right(keys, a1)):
                for lo, hi, item in line[keys[i]]:
                    if lo <= b1 and hi >= b0:
                        yield item


def parallel_run(a: Point, b: Point, c: Point, d: Point, within: float) -> Optional[tuple[float, float]]:
    """Two segments running side by side: if cd is parallel to ab (within about 2°) and
    less than ``within`` px from its line, (their distance, the length along ab that
    both cover); else None. Distance 0 is one line drawn twice."""
    ux, uy = b[0] - a[0], b[1] - a[1]
    vx, vy = d[0] - c[0], d[1] - c[1]
    lu, lv = math.hypot(ux, uy), math.hypot(vx, vy)
    if lu < 1e-9 or lv < 1e-9 or abs(ux * vy - uy * vx) > 0.035 * lu * lv:
        return None
    dist = abs(ux * (a[1] - c[1]) - uy * (a[0] - c[0])) / lu
    if dist >= within:
        return None
    ux, uy = ux / lu, uy / lu
    t0 = (c[0] - a[0]) * ux + (c[1] - a[1]) * uy
    t1 = (d[0] - a[0]) * ux + (d[1] - a[1]) * uy
    run = min(lu, max(t0, t1)) - max(0.0, min(t0, t1))
    return (dist, run) if run > 0 else None
