"""Measure a drawing from its SVG alone: where nodes are, how edges run.

Reads what :mod:`viz.render` writes (``<g class="node ROLE">`` with a circle or a
square, ``<g class="edge forward|backward">`` with a ``<title>tail->head</title>``
and one ``<path>`` of straight cubic pieces) and answers the questions the slides'
rules ask of a layout (SLIDE-STYLE.md): does an edge run through a node, how many
forward edges cross, is every edge straight or an orthogonal elbow, does every red
twin run parallel to its black edge. Independent of how the layout was made, so it
checks ``layout="slides"`` and ``layout="dot"`` alike (``bench/layout_quality.py``).

>>> m = measure(drawing.svg())                     # doctest: +SKIP
>>> m.edges_through_nodes(), m.forward_crossings()  # doctest: +SKIP
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Optional

from .geometry import distance_to_line, segment_hits_node, segments_cross

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
        for e in self.edges:
            for a, b in e.segments():
                for n in self.nodes.values():
                    if n.id in (e.tail, e.head):
                        continue
                    if segment_hits_node(a, b, n.cx, n.cy, n.half - inset, n.circle):
                        out.append((e.id, n.id))
        return sorted(set(out))

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
                n = SvgNode(g.get("id", ""), classes, float(ell.get("cx")), float(ell.get("cy")),
                            float(ell.get("rx")), True)
            elif poly is not None:
                nums = _floats(poly.get("points", ""))
                xs, ys = nums[0::2], nums[1::2]
                n = SvgNode(g.get("id", ""), classes, (min(xs) + max(xs)) / 2,
                            (min(ys) + max(ys)) / 2, (max(xs) - min(xs)) / 2, False)
            else:
                continue
            for t in g.iter(f"{_NS}text"):
                n.texts.append(("".join(t.itertext()), float(t.get("font-size", "0")),
                                float(t.get("y", "0"))))
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
