"""Measure a drawing from its SVG alone: where nodes are, how edges run.

Reads what :mod:`viz.render` writes (``<g class="node ROLE">`` with a circle or a
square, ``<g class="edge forward|backward">`` with a ``<title>tail->head</title>``
and one ``<path>`` of straight cubic pieces) and answers the questions the slides'
rules ask of a layout (SLIDE-STYLE.md): does an edge run through a node, how many
forward edges cross, is every edge straight or an orthogonal elbow, does every red
twin run parallel to its black edge. And what a reader sees as a fault:

* :meth:`Measured.crossings`: every point where two forward edges cross, edges that
  share a node included when they cross away from it;
* :meth:`Measured.shared_stretches`: two different edges drawn on top of each other
  for more than 2 px (a fan of elbows on one trunk hides which branch goes where);
* :meth:`Measured.close_wires`: parallel pieces of two edges closer than 8 px;
* :meth:`Measured.text_outside`: a name or number whose box leaves its circle or square;
* :meth:`Measured.twin_crossings`: a red twin crossing any other edge or twin.

Independent of how the layout was made, so it checks ``layout="slides"`` and
``layout="dot"`` alike (``bench/layout_quality.py``). Pairs of pieces are found through
a spatial index, so measuring stays fast on drawings of thousands of nodes.

>>> m = measure(drawing.svg())                     # doctest: +SKIP
>>> m.edges_through_nodes(), m.forward_crossings()  # doctest: +SKIP
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Optional

from .geometry import GridIndex, PointIndex, distance_to_line, parallel_run, segment_hits_node, segments_cross

__all__ = ["SvgNode", "SvgEdge", "Measured", "measure"]

_NS = "{http://www.w3.org/2000/svg}"
_NUM = re.compile(r"-?\d+(?:\.\d+)?(?:e-?\d+)?")
Point = tuple[float, float]


@dataclass
class SvgNode:
    id: str
    classes: list[str]
    cx: float
    cy: float
    half: float          # radius of a circle, half side of a square
    circle: bool
    texts: list[tuple[str, float, float]] = field(default_factory=list)   # (text, size, y)
    boxes: list[tuple[str, float, float, float]] = field(default_factory=list)  # + x (start)


@dataclass
class SvgEdge:
    id: str
    classes: list[str]
    tail: str
    head: str
    points: list[Point]          # the polyline through the cubic pieces' end points
    curved: bool                 # a cubic piece whose control points leave its chord
    arrow_tip: Optional[Point]   # the arrowhead's point

    def segments(self) -> list[tuple[Point, Point]]:
        return list(zip(self.points, self.points[1:]))


def _floats(text: str) -> list[float]:
    return [float(x) for x in _NUM.findall(text)]


def _path_points(d: str) -> tuple[list[Point], bool]:
    nums = _floats(d)
    pts = [(nums[i], nums[i + 1]) for i in range(0, len(nums) - 1, 2)]
    if not pts:
        return [], False
    out, curved = [pts[0]], False
    for k in range(1, len(pts) - 2, 3):
        a, c1, c2, b = out[-1], pts[k], pts[k + 1], pts[k + 2]
        if any(distance_to_line(c, a, b) > 0.75 for c in (c1, c2)):
            curved = True          # follow the curve: 8 chords per piece
            for i in range(1, 8):
                t = i / 8
                w = ((1 - t) ** 3, 3 * t * (1 - t) ** 2, 3 * t * t * (1 - t), t ** 3)
                out.append((sum(wi * p[0] for wi, p in zip(w, (a, c1, c2, b))),
                            sum(wi * p[1] for wi, p in zip(w, (a, c1, c2, b)))))
        out.append(b)
    return out, curved


@dataclass
class Measured:
    nodes: dict[str, SvgNode]
    edges: list[SvgEdge]

    def forward(self) -> list[SvgEdge]:
        return [e for e in self.edges if "backward" not in e.classes]

    def backward(self) -> list[SvgEdge]:
        return [e for e in self.edges if "backward" in e.classes]

    def edges_through_nodes(self, inset: float = 2.0) -> list[tuple[str, str]]:
        """(edge id, node id) for every edge piece inside a node it does not join."""
        out = []
        index = PointIndex([(n.cx, n.cy, n) for n in self.nodes.values()])
        reach = max((n.half for n in self.nodes.values()), default=0.0) + 1
        for e in self.edges:
            for a, b in e.segments():
                for _, _, n in index.within(min(a[0], b[0]) - reach, max(a[0], b[0]) + reach,
                                            min(a[1], b[1]) - reach, max(a[1], b[1]) + reach):
                    if n.id in (e.tail, e.head):
                        continue
                    if segment_hits_node(a, b, n.cx, n.cy, n.half - inset, n.circle):
                        out.append((e.id, n.id))
        return sorted(set(out))

    # ---------------------------------------------------------- what a reader sees

    def _piece_pairs(self, edges: list[SvgEdge], pad: float):
        """(edge, piece, edge, piece) for pieces of two different edges whose bounding
        boxes, grown by ``pad``, meet: each pair once."""
        index: GridIndex[int] = GridIndex(60.0)
        pieces = []
        for e in edges:
            for a, b in e.segments():
                if math.dist(a, b) > 1e-9:
                    pieces.append((e, a, b))
        for k, (e, a, b) in enumerate(pieces):
            index.add(k, min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1]))
        for k, (e, a, b) in enumerate(pieces):
            for j in index.near(min(a[0], b[0]) - pad, max(a[0], b[0]) + pad,
                                min(a[1], b[1]) - pad, max(a[1], b[1]) + pad):
                f, c, d = pieces[j]
                if j > k and f is not e:
                    yield e, (a, b), f, (c, d)

    def _near_shared_node(self, e: SvgEdge, f: SvgEdge, p: Point, margin: float = 4.0) -> bool:
        """Is p at a node both edges join (within its outline plus ``margin``)?"""
        for nid in {e.tail, e.head} & {f.tail, f.head}:
            n = self.nodes.get(nid)
            if n is not None and math.dist(p, (n.cx, n.cy)) < n.half * (1 if n.circle else math.sqrt(2)) + margin:
                return True
        return False

    def crossings(self) -> list[tuple[str, str, Point]]:
        """(edge, edge, point) for every point where two forward edges cross; edges that
        share a node count too, unless they meet at that node."""
        out = []
        for e, (a, b), f, (c, d) in self._piece_pairs(self.forward(), 0.0):
            if not segments_cross(a, b, c, d):
                continue
            p = _meet(a, b, c, d)
            if not self._near_shared_node(e, f, p):
                out.append((e.id, f.id, p))
        return out

    def _parallel_runs(self, edges: list[SvgEdge], within: float, min_run: float):
        """(edge, edge, distance, run) for parallel pieces of two edges less than
        ``within`` px apart whose projections share more than ``min_run`` px."""
        for e, (a, b), f, (c, d) in self._piece_pairs(edges, within):
            side = parallel_run(a, b, c, d, within)
            if side is not None and side[1] > min_run:
                yield e, f, side[0], side[1], (a, b)

    def shared_stretches(self, min_run: float = 2.0, on_top: float = 1.0) -> list[tuple[str, str, float]]:
        """(edge, edge, length) for two different edges (black or red) drawn on top of
        each other (less than ``on_top`` px apart) for more than ``min_run`` px."""
        return [(e.id, f.id, round(run, 1))
                for e, f, dist, run, _ in self._parallel_runs(self.edges, on_top, min_run)]

    def close_wires(self, gap: float = 8.0, min_run: float = 6.0) -> list[tuple[str, str, float]]:
        """(edge, edge, distance) for parallel pieces of two different edges (black or
        red) between 1 and ``gap`` px apart along more than ``min_run`` px, away from a
        node both join (where fans meet by design). A red twin and its own black edge
        are measured by :meth:`twin_problems` instead."""
        out = []
        for e, f, dist, run, (a, b) in self._parallel_runs(self.edges, gap, min_run):
            if dist < 1.0 or _twins(e, f):
                continue
            mid = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
            if self._near_shared_node(e, f, mid, 0.0) and run < 2 * min_run:
                continue
            out.append((e.id, f.id, round(dist, 1)))
        return out

    def text_outside(self, slack: float = 2.0) -> list[str]:
        """Texts (names, numbers, op labels) whose box leaves their node's circle or
        square by more than ``slack`` px. A text's box: from its x, 0.5 em per
        character (the width of a digit in Latin Modern), from 0.7 em above its baseline
        to 0.2 em below (descenders)."""
        out = []
        for n in self.nodes.values():
            for text, size, y, x in n.boxes:
                w = _text_width(text, size)
                corners = [(x, y - 0.7 * size), (x + w, y - 0.7 * size), (x, y + 0.2 * size),
                           (x + w, y + 0.2 * size)]
                if n.circle:
                    bad = any(math.dist(c, (n.cx, n.cy)) > n.half + slack for c in corners)
                else:
                    bad = any(abs(c[0] - n.cx) > n.half + slack or abs(c[1] - n.cy) > n.half + slack
                              for c in corners)
                if bad:
                    out.append(f"{n.id}: {text}")
        return out

    def twin_crossings(self) -> list[tuple[str, str, Point]]:
        """(red twin, edge, point) where a red twin crosses any other edge or twin,
        away from a node both join."""
        out = []
        for e, (a, b), f, (c, d) in self._piece_pairs(self.edges, 0.0):
            if "backward" not in e.classes and "backward" not in f.classes:
                continue
            if _twins(e, f) or not segments_cross(a, b, c, d):
                continue
            p = _meet(a, b, c, d)
            if not self._near_shared_node(e, f, p):
                twin, other = (e, f) if "backward" in e.classes else (f, e)
                out.append((twin.id, other.id, p))
        return out

    def faults(self) -> dict[str, int]:
        """The reader's faults, counted: crossings, through nodes, shared stretches,
        close wires, text outside, twin crossings."""
        return {"crossings": len(self.crossings()), "through nodes": len(self.edges_through_nodes()),
                "shared stretches": len(self.shared_stretches()), "close wires": len(self.close_wires()),
                "text outside": len(self.text_outside()), "twin crossings": len(self.twin_crossings())}

    def forward_crossings(self) -> list[tuple[str, str]]:
        """Pairs of forward edges (that share no node) whose pieces cross."""
        fwd = self.forward()
        out = []
        for i, e in enumerate(fwd):
            for f in fwd[i + 1:]:
                if {e.tail, e.head} & {f.tail, f.head}:
                    continue
                if any(segments_cross(a, b, c, d) for a, b in e.segments() for c, d in f.segments()):
                    out.append((e.id, f.id))
        return out

    def not_straight_or_orthogonal(self) -> list[str]:
        """Forward edges that curve, or bend with a piece that is not horizontal or
        vertical (a single straight piece may run at any angle)."""
        out = []
        for e in self.forward():
            segs = e.segments()
            diagonal = any(abs(a[0] - b[0]) > 0.5 and abs(a[1] - b[1]) > 0.5 for a, b in segs)
            if e.curved or (len(segs) > 1 and diagonal):
                out.append(e.id)
        return out

    def twin_problems(self, low: float = 6.0, high: float = 14.0) -> list[str]:
        """Red twins that curve, are not parallel to their black edge piece by piece,
        lie outside [low, high] px from it, or point the wrong way."""
        fwd = {e.id: e for e in self.forward()}
        out = []
        for t in self.backward():
            e = fwd.get(t.id[: -len("_back")]) if t.id.endswith("_back") else None
            if e is None:
                out.append(f"{t.id}: no forward edge")
                continue
            if t.curved or len(t.segments()) != len(e.segments()):
                out.append(f"{t.id}: {len(t.segments())} pieces, black has {len(e.segments())}")
                continue
            for (a, b), (c, d) in zip(t.segments(), e.segments()):
                u = (b[0] - a[0], b[1] - a[1])
                v = (d[0] - c[0], d[1] - c[1])
                lu, lv = math.hypot(*u), math.hypot(*v)
                if lu < 1 or lv < 1:
                    continue
                if abs(u[0] * v[1] - u[1] * v[0]) / (lu * lv) > 0.02:
                    out.append(f"{t.id}: not parallel")
                    break
                dist = distance_to_line(a, c, d)
                if not low <= dist <= high:
                    out.append(f"{t.id}: {dist:.1f} px from its black edge")
                    break
            tail = self.nodes.get(t.tail)
            if t.arrow_tip and tail and e.arrow_tip:
                if math.dist(t.arrow_tip, (tail.cx, tail.cy)) > math.dist(e.arrow_tip, (tail.cx, tail.cy)):
                    out.append(f"{t.id}: arrowhead does not point back to {t.tail}")
        return out

    def descendants(self, start: set[str]) -> set[str]:
        """Nodes reachable from ``start`` along forward edges (``start`` included)."""
        succ: dict[str, list[str]] = {}
        for e in self.forward():
            succ.setdefault(e.tail, []).append(e.head)
        seen, stack = set(start), list(start)
        while stack:
            for h in succ.get(stack.pop(), ()):
                if h not in seen:
                    seen.add(h)
                    stack.append(h)
        return seen

    def leaves_not_beside_their_op(self, roles: tuple[str, ...] = ("param", "const")
                                   ) -> list[str]:
        """Leaves of these roles read by one op that are not directly above it (side
        by side with the op's other such leaves, 90 px apart at most)."""
        incoming = {e.head for e in self.forward()}
        readers: dict[str, set[str]] = {}
        for e in self.forward():
            readers.setdefault(e.tail, set()).add(e.head)
        groups: dict[str, list[str]] = {}
        for nid, n in self.nodes.items():
            if nid in incoming or not (set(roles) & set(n.classes)):
                continue
            if len(readers.get(nid, ())) == 1:
                groups.setdefault(next(iter(readers[nid])), []).append(nid)
        out = []
        for op, leaves in groups.items():
            o = self.nodes[op]
            reach = (len(leaves) - 1) / 2 * 90 + 1
            for leaf in leaves:
                n = self.nodes[leaf]
                if not (n.cy < o.cy - o.half and abs(n.cx - o.cx) <= reach):
                    out.append(leaf)
        return out

    def numeric_texts(self) -> list[str]:
        """Numbers written in value circles (names' subscripts and constants' own
        names excepted)."""
        out = []
        number = re.compile(r"[−\-]?(\d+(\.\d*)?|\.\d+)(e[−\-]?\d+)?|\?|NaN|[−\-]?∞"
                            r"|\[\d+\]|\d+×\d+")           # and shapes: [3], 3×2
        for n in self.nodes.values():
            if "const" in n.classes or "op" in n.classes:
                continue
            prev = None
            for text, size, y in n.texts:
                numeric = bool(number.fullmatch(text.strip()))
                # a name's subscript: smaller, on the name's line, after a letter
                sub = (prev is not None and size < prev[1] - 0.5 and abs(y - prev[2]) < 0.4 * prev[1]
                       and not prev[0])
                if numeric and not sub:
                    out.append(f"{n.id}: {text}")
                prev = (numeric or sub, size, y)
        return out


def _twins(e: SvgEdge, f: SvgEdge) -> bool:
    """A black edge and its own red twin."""
    return e.id == f.id + "_back" or f.id == e.id + "_back"


def _meet(a: Point, b: Point, c: Point, d: Point) -> Point:
    """Where the lines ab and cd meet (they are known to cross)."""
    den = (b[0] - a[0]) * (d[1] - c[1]) - (b[1] - a[1]) * (d[0] - c[0])
    t = ((c[0] - a[0]) * (d[1] - c[1]) - (c[1] - a[1]) * (d[0] - c[0])) / den
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))


_WIDE = set("—−×mwMW")
_NARROW = set(".,:;![]()|'ilj ·")


def _text_width(text: str, size: float) -> float:
    """An estimate of a text's width in px: 0.5 em a character, wide ones 0.8 em,
    narrow ones 0.3 em."""
    return sum(0.8 if ch in _WIDE else 0.3 if ch in _NARROW else 0.5 for ch in text) * size


def _title(g: ET.Element) -> str:
    t = g.find(f"{_NS}title")
    return (t.text or "") if t is not None else ""


def measure(svg: str) -> Measured:
    """Parse a drawing's SVG (as :meth:`viz.render.Drawing.svg` returns it)."""
    root = ET.fromstring(svg)
    nodes: dict[str, SvgNode] = {}
    edges: list[SvgEdge] = []
    for g in root.iter(f"{_NS}g"):
        classes = (g.get("class") or "").split()
        if "node" in classes:
            ell = next(g.iter(f"{_NS}ellipse"), None)
            poly = next(g.iter(f"{_NS}polygon"), None)
            if ell is not None:
                n = SvgNode(g.get("id", ""), classes, float(ell.get("cx", "0")),
                            float(ell.get("cy", "0")), float(ell.get("rx", "0")), True)
            elif poly is not None:
                nums = _floats(poly.get("points", ""))
                xs, ys = nums[0::2], nums[1::2]
                n = SvgNode(g.get("id", ""), classes, (min(xs) + max(xs)) / 2,
                            (min(ys) + max(ys)) / 2, (max(xs) - min(xs)) / 2, False)
            else:
                continue
            for t in g.iter(f"{_NS}text"):
                text, size, y = "".join(t.itertext()), float(t.get("font-size", "0")), float(t.get("y", "0"))
                n.texts.append((text, size, y))
                x = float(t.get("x", "0"))
                anchor = t.get("text-anchor", "start")
                x -= {"middle": 0.5, "end": 1.0}.get(anchor, 0.0) * _text_width(text, size)
                n.boxes.append((text, size, y, x))
            nodes[n.id] = n
        elif "edge" in classes:
            tail, _, head = _title(g).partition("->")
            path = g.find(f"{_NS}path")
            pts, curved = _path_points(path.get("d", "")) if path is not None else ([], False)
            tip = None
            arrow = g.find(f"{_NS}polygon")
            if arrow is not None and pts:
                nums = _floats(arrow.get("points", ""))
                corners = list(zip(nums[0::2], nums[1::2]))
                ends = (pts[0], pts[-1])
                # the tip is the corner farthest from the path's nearer end
                tip = max(corners, key=lambda c: min(math.dist(c, p) for p in ends))
            edges.append(SvgEdge(g.get("id", ""), classes, tail, head, pts, curved, tip))
    return Measured(nodes, edges)
