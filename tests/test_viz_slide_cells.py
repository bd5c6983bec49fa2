"""Our drawings of the lecture's six graph figures, cell for cell against the slides.

``tests/data/slide_targets.json`` holds, for each figure, every node's cell (column, row on
the slides' 120 px grid, from the leftmost input on the main row; negative rows above it)
and every edge's shape (straight | diagonal | elbow) with the directions of its segments in
order of travel, read from the figures' own sources (© 2019 Gilles Louppe, BSD-3,
``docs/images/slides/LICENSE-figures.txt``). Each figure is built from ``Value`` and ``nn``
(``tests/slide_figures.py``), drawn with ``viz.draw(numbers="none")``, and measured from its
SVG alone (:mod:`viz.svg_geometry`): node centres become cells, edge polylines become shapes.

    python tests/test_viz_slide_cells.py        # the score per figure: nodes in cell, edges
"""

from __future__ import annotations

import json
import math
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

ROOT = Path(__file__).resolve().parents[1]
if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import viz  # noqa: E402
from viz.svg_geometry import Measured, SvgEdge, measure  # noqa: E402

try:
    from slide_figures import FIGURES  # noqa: E402
except ImportError:  # collected as tests.test_viz_slide_cells
    from tests.slide_figures import FIGURES  # noqa: E402

TARGETS = json.loads((ROOT / "tests" / "data" / "slide_targets.json").read_text(encoding="utf-8"))
CELL = 120.0            # px: the slides' grid, and ours (viz.layout.GRID)
TOLERANCE = 0.25        # cells
needs_neato = pytest.mark.skipif(shutil.which("neato") is None, reason="Graphviz (neato) is not installed")

# figures that do not match yet, and why (strict: a figure that starts to pass fails here)
XFAIL: dict[str, str] = {}


# ------------------------------------------------------------------ labels

_SUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")


def normal(label: str) -> str:
    """One spelling for a label: u₁ and u1, σ(·) and σ, ‖·‖₂ and norm, x and **x**."""
    text = re.sub(r"\s+", "", label).translate(_SUB).replace("(·)", "")
    if text.startswith("‖") or text.startswith("||"):
        return "norm"
    return text


def _args(key: str) -> Optional[set[str]]:
    m = re.fullmatch(r"[^(]+\((.*)\)", key)
    return {normal(a) for a in m[1].split(",")} if m else None


# ------------------------------------------------------------------ measuring a drawing

@dataclass
class Score:
    """How one drawing matches one figure's targets."""

    nodes: int = 0
    nodes_ok: int = 0
    edges: int = 0
    edges_ok: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        return f"{name:16s} nodes in cell {self.nodes_ok}/{self.nodes}  edges same shape {self.edges_ok}/{self.edges}"


def node_label(m: Measured, nid: str) -> str:
    return normal("".join(t for t, _, _ in m.nodes[nid].texts))


def match_nodes(m: Measured, targets: list[dict]) -> tuple[dict[str, str], list[str]]:
    """Target key -> our node id: same label and kind; a repeated label by its operands'
    labels (``matmul(W1,x)``). Returns the matches and what could not be matched."""
    inputs: dict[str, set[str]] = {}
    for e in m.forward():
        inputs.setdefault(e.head, set()).add(node_label(m, e.tail))
    out: dict[str, str] = {}
    problems = []
    for t in targets:
        square = t["kind"] == "op"
        cands = [nid for nid, n in m.nodes.items() if n.circle != square
                 and node_label(m, nid) == normal(t["label"]) and nid not in out.values()]
        args = _args(t["key"])
        if len(cands) > 1 and args is not None:
            cands = [nid for nid in cands if inputs.get(nid, set()) == args]
        if len(cands) != 1:
            problems.append(f"node {t['key']}: {len(cands)} drawn nodes match")
            continue
        out[t["key"]] = cands[0]
    extra = set(m.nodes) - set(out.values())
    problems += [f"drawn node {node_label(m, nid)!r} ({nid}) is not in the figure" for nid in sorted(extra)]
    return out, problems


_ARROWS = {(1, 0): "→", (-1, 0): "←", (0, -1): "↑", (0, 1): "↓",
           (1, -1): "↗", (1, 1): "↘", (-1, -1): "↖", (-1, 1): "↙"}


def shape(points: list[tuple[float, float]]) -> tuple[str, str]:
    """(straight | diagonal | elbow, the segments' directions in order of travel). A piece
    within 6° of horizontal or vertical counts as such; pieces under 3 px are ignored."""
    dirs: list[str] = []
    for a, b in zip(points, points[1:]):
        dx, dy = b[0] - a[0], b[1] - a[1]
        if math.hypot(dx, dy) < 3:
            continue
        sx = 0 if abs(dx) <= 0.1 * abs(dy) else (1 if dx > 0 else -1)
        sy = 0 if abs(dy) <= 0.1 * abs(dx) else (1 if dy > 0 else -1)
        arrow = _ARROWS[(sx, sy)]
        if not dirs or dirs[-1] != arrow:
            dirs.append(arrow)
    kind = "elbow" if len(dirs) > 1 else ("diagonal" if dirs and dirs[0] in "↗↘↖↙" else "straight")
    return kind, "".join(dirs)


def _travel(e: SvgEdge) -> list[tuple[float, float]]:
    """An edge's points as drawn: a red twin runs from the forward head back to the tail."""
    return list(reversed(e.points)) if "backward" in e.classes else list(e.points)


def score(name: str, m: Measured) -> Score:
    target = TARGETS[name]
    s = Score(nodes=len(target["nodes"]), edges=len(target["edges"]))
    ours, s.problems = match_nodes(m, target["nodes"])
    origin_key = next(t["key"] for t in target["nodes"] if t["col"] == 0 and t["row"] == 0)
    if origin_key not in ours:
        s.problems.append(f"the origin {origin_key} is not drawn")
        return s
    o = m.nodes[ours[origin_key]]
    for t in target["nodes"]:
        if t["key"] not in ours:
            continue
        n = m.nodes[ours[t["key"]]]
        col, row = (n.cx - o.cx) / CELL, (n.cy - o.cy) / CELL
        if abs(col - t["col"]) <= TOLERANCE and abs(row - t["row"]) <= TOLERANCE:
            s.nodes_ok += 1
        else:
            s.problems.append(f"node {t['key']}: cell ({col:.2f}, {row:.2f}), slide ({t['col']}, {t['row']})")
    by_ends = {}
    for e in m.edges:
        red = "backward" in e.classes
        by_ends[(e.head, e.tail) if red else (e.tail, e.head), red] = e
    seen = set()
    for t in target["edges"]:
        tail, head = ours.get(t["tail"]), ours.get(t["head"])
        e = by_ends.get(((tail, head), t["red"]))
        what = f"{'red ' if t['red'] else ''}edge {t['tail']} -> {t['head']}"
        if e is None:
            s.problems.append(f"{what}: not drawn")
            continue
        seen.add(e.id)
        got = shape(_travel(e))
        if got == (t["shape"], t["directions"]):
            s.edges_ok += 1
        else:
            s.problems.append(f"{what}: {got[0]} {got[1]}, slide {t['shape']} {t['directions']}")
    s.problems += [f"drawn edge {e.id} ({e.tail} -> {e.head}) is not in the figure"
                   for e in m.edges if e.id not in seen]
    return s


def drawn(name: str) -> Measured:
    root, options = FIGURES[name]()
    return measure(viz.draw(root, numbers="none", **options).svg())


# ------------------------------------------------------------------ the tests

def _marks(name: str):
    return [pytest.mark.xfail(reason=XFAIL[name], strict=True)] if name in XFAIL else []


@needs_neato
@pytest.mark.parametrize("name", [pytest.param(n, marks=_marks(n)) for n in FIGURES])
def test_figure_cell_for_cell(name):
    s = score(name, drawn(name))
    assert s.problems == [], s.line(name) + "\n" + "\n".join(s.problems)


@needs_neato
@pytest.mark.parametrize("name", list(FIGURES))
def test_figure_keeps_the_slides_rules(name):
    """No edge through a node, no crossing, straight or orthogonal, twins parallel."""
    m = drawn(name)
    assert m.edges_through_nodes() == []
    assert m.forward_crossings() == []
    assert m.twin_problems() == []


@needs_neato
def test_the_check_sees_a_node_one_cell_off_and_a_bent_edge():
    """The checker itself: move one node a cell, or bend one edge, and it says so."""
    name = "logistic-neuron"
    m = drawn(name)
    s = score(name, m)
    ours, _ = match_nodes(m, TARGETS[name]["nodes"])
    m.nodes[ours["add"]].cy -= CELL
    moved = score(name, m)
    assert moved.nodes_ok == s.nodes_ok - 1
    assert any(p.startswith("node add: cell") for p in moved.problems)
    m.nodes[ours["add"]].cy += CELL
    edge = next(e for e in m.forward() if (e.tail, e.head) == (ours["x"], ours["dot"]))
    (x0, y0), (x1, y1) = edge.points[0], edge.points[-1]
    edge.points = [(x0, y0), ((x0 + x1) / 2, y0), ((x0 + x1) / 2, y0 + 30), (x1, y0 + 30)]
    bent = score(name, m)
    assert bent.edges_ok == s.edges_ok - 1
    assert any("edge x -> dot: elbow →↓→" in p for p in bent.problems)


def test_labels_are_matched_however_they_are_written():
    assert normal("u₁") == normal("u1") == "u1"
    assert normal("σ(·)") == normal("σ") and normal("‖·‖₂") == normal("‖·‖2") == "norm"
    assert shape([(0, 0), (50, 0)]) == ("straight", "→")
    assert shape([(0, 0), (40, 40)]) == ("diagonal", "↘")
    assert shape([(0, 0), (20, 0), (20, -60), (40, -60)]) == ("elbow", "→↑→")


def test_result_circles_false_joins_ops_and_keeps_the_ids():
    from autodiff import Value
    w, x, b = Value(0.5, "w", param=True), Value(2.0, "x"), Value(0.1, "b", param=True)
    z = w * x
    h = (z + b).sigmoid()
    h.label = "h"
    d = viz.draw(h, result_circles=False)
    ops = {n.id: n for n in d.graph.nodes if n.kind == "op"}
    assert d.node_id(z) in ops and d.node_id(h) not in ops     # z is shown by its ×/mul square
    assert {n.name for n in d.graph.nodes if n.kind != "op"} == {"w", "x", "b", "h"}
    assert "σ" in {n.name for n in ops.values()}
    assert any(e.tail in ops and e.head in ops for e in d.graph.edges)     # op → op
    with pytest.raises(TypeError, match="result_circles"):
        viz.draw(h, result_circles="no")


def test_several_roots_are_drawn_together_in_the_forward_view():
    from autodiff import Value
    a, b = Value(1.0, "a"), Value(2.0, "b")
    p, q = a * b, a + b
    p.label, q.label = "p", "q"
    d = viz.draw([p, q], numbers="none")
    names = sorted(n.name for n in d.graph.nodes)
    assert names == sorted(["a", "b", "p", "q", "mul", "add"])   # no square joins them
    assert {n.role for n in d.graph.nodes if n.name in "pq"} == {"output"}
    with pytest.raises(ValueError, match="forward view only"):
        viz.draw([p, q], view="backward")
    with pytest.raises(TypeError, match="an empty list"):
        viz.draw([])
    with pytest.raises(TypeError, match="must hold Values, got float"):
        viz.draw([p, 1.0])


if __name__ == "__main__":
    for figure in FIGURES:
        result = score(figure, drawn(figure))
        print(result.line(figure))
        for p in result.problems:
            print("    " + p)
