"""The SVG checker (viz.svg_geometry) sees each fault a reader sees: every test plants
one defect in a small synthetic SVG (written as Graphviz writes ours: circles, squares,
edges of straight cubic pieces with a <title>tail->head</title>) and checks that the
metric counts it, and that the same drawing without the defect counts nothing."""

from __future__ import annotations

import shutil

import pytest

import viz
from autodiff import Value
from viz.svg_geometry import measure

NS = 'xmlns="http://www.w3.org/2000/svg"'


def circle(nid: str, x: float, y: float, texts=(), role: str = "result") -> str:
    body = "".join(f'<text text-anchor="start" x="{tx}" y="{ty}" font-size="{size}">{t}</text>'
                   for t, tx, ty, size in texts)
    return (f'<g id="{nid}" class="node value {role}"><title>{nid}</title>'
            f'<ellipse cx="{x}" cy="{y}" rx="40" ry="40"/>{body}</g>')


def square(nid: str, x: float, y: float) -> str:
    pts = f"{x+40},{y-40} {x-40},{y-40} {x-40},{y+40} {x+40},{y+40} {x+40},{y-40}"
    return f'<g id="{nid}" class="node op"><title>{nid}</title><polygon points="{pts}"/></g>'


def edge(eid: str, tail: str, head: str, points, backward: bool = False) -> str:
    d = f"M{points[0][0]},{points[0][1]}"
    for (ax, ay), (bx, by) in zip(points, points[1:]):
        d += (f"C{ax + (bx - ax) / 3:.2f},{ay + (by - ay) / 3:.2f} "
              f"{ax + 2 * (bx - ax) / 3:.2f},{ay + 2 * (by - ay) / 3:.2f} {bx},{by}")
    cls = "backward" if backward else "forward"
    return f'<g id="{eid}" class="edge {cls}"><title>{tail}->{head}</title><path d="{d}"/></g>'


def svg(*parts: str) -> str:
    return f"<svg {NS}>" + "".join(parts) + "</svg>"


# four nodes on a square: a(0,0) b(300,0) c(0,300) d(300,300), far apart
NODES = (circle("a", 0, 0), circle("b", 300, 0), circle("c", 0, 300), circle("d", 300, 300))


def test_two_edges_on_one_path_are_a_shared_stretch():
    # a -> d and p -> q as elbows down x = 150 and x = 160: apart, then on top of each other
    apart = svg(*NODES, circle("p", 0, -150), circle("q", 300, 450),
                edge("e1", "a", "d", [(40, 0), (150, 0), (150, 300), (260, 300)]),
                edge("e2", "p", "q", [(40, -150), (160, -150), (160, 450), (260, 450)]))
    on_top = apart.replace("160", "150")
    assert measure(apart).shared_stretches() == []
    found = measure(on_top).shared_stretches()
    assert [(e, f) for e, f, _ in found] == [("e1", "e2")] and found[0][2] > 200
    # the same trunk shared by a fan from one node counts too
    fan = svg(*NODES, edge("e1", "a", "b", [(40, 0), (260, 0)]),
              edge("e2", "a", "d", [(40, 0), (150, 0), (150, 300), (260, 300)]))
    assert [(e, f) for e, f, _ in measure(fan).shared_stretches()] == [("e1", "e2")]


def test_a_crossing_at_a_shared_node_counts_away_from_it():
    # two edges into d: a -> d straight along the diagonal, x -> d as an elbow that
    # crosses the diagonal at (100, 100), far from d
    crossing = svg(*NODES, circle("x", 600, 100),
                   edge("e1", "a", "d", [(28, 28), (272, 272)]),
                   edge("e2", "x", "d", [(560, 100), (80, 100), (80, 300), (260, 300)]))
    found = measure(crossing).crossings()
    assert [(e, f) for e, f, _ in found] == [("e1", "e2")]
    assert found[0][2] == pytest.approx((100, 100))
    # meeting only at the shared node is no crossing
    meeting = svg(*NODES, edge("e1", "a", "d", [(28, 28), (272, 272)]),
                  edge("e2", "b", "d", [(300, 40), (300, 260)]))
    assert measure(meeting).crossings() == []
    assert measure(crossing).forward_crossings() == []      # the old metric missed it


def test_a_number_outside_its_circle():
    inside = svg(circle("a", 0, 0, [("u", -10, 0, 24), ("0.5", -9, 18, 14)]))
    outside = svg(circle("a", 0, 0, [("u", -10, 0, 24), ("0.5", -9, 52, 14)]))
    wide = svg(circle("a", 0, 0, [("u", -10, 0, 24), ("‖·‖ 0.123456", -38, 25, 14)]))
    assert measure(inside).text_outside() == []
    assert measure(outside).text_outside() == ["a: 0.5"]
    assert measure(wide).text_outside() == ["a: ‖·‖ 0.123456"]


def test_wires_five_px_apart_are_close():
    five = svg(*NODES, edge("e1", "a", "b", [(40, 0), (260, 0)]),
               edge("e2", "c", "d", [(40, 300), (150, 300), (150, 5), (200, 5), (200, 260)]))
    ten = five.replace(",5)", ",10)").replace("150,5", "150,10").replace("200,5", "200,10")
    found = measure(five).close_wires()
    assert [(e, f, d) for e, f, d in found] == [("e1", "e2", 5.0)]
    assert measure(ten).close_wires() == []
    assert measure(five).shared_stretches() == []           # close, not on top


def test_a_red_twin_crossing_another_edge():
    twin_clear = svg(*NODES, edge("e1", "a", "b", [(40, 0), (260, 0)]),
                     edge("e1_back", "a", "b", [(40, 10), (260, 10)], backward=True),
                     edge("e2", "c", "d", [(40, 300), (260, 300)]))
    crossing = svg(*NODES, edge("e1", "a", "b", [(40, 0), (260, 0)]),
                   edge("e1_back", "a", "b", [(40, 10), (260, 10)], backward=True),
                   edge("e2", "c", "b", [(40, 300), (150, 300), (150, 60), (260, 60)]),
                   edge("e3", "c", "d", [(40, 300), (100, 300), (100, -60), (200, -60), (200, 260)]))
    assert measure(twin_clear).twin_crossings() == []
    found = measure(crossing).twin_crossings()
    assert {(t, e) for t, e, _ in found} == {("e1_back", "e3")}


def test_faults_on_a_real_drawing_are_counted_in_one_place():
    if shutil.which("neato") is None:
        pytest.skip("Graphviz (neato) is not installed")
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    m = measure(viz.draw(a * b + a, view="backward").svg())
    assert set(m.faults()) == {"crossings", "through nodes", "shared stretches", "close wires",
                               "text outside", "twin crossings"}
    assert m.faults()["through nodes"] == 0 and m.faults()["text outside"] == 0
