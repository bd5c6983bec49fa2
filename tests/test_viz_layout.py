"""The slides' layout, measured from the SVG (viz.svg_geometry), on the reference graphs
of the slide figures and on random graphs."""

from __future__ import annotations

import importlib
import random
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import autodiff
import nn
import viz
import viz.render
from autodiff import Value
from viz.svg_geometry import Measured, measure

try:
    from layout_corpus import build_random_graph
except ImportError:  # collected as tests.test_viz_layout
    from tests.layout_corpus import build_random_graph

ROOT = Path(__file__).resolve().parents[1]
needs_neato = pytest.mark.skipif(shutil.which("neato") is None,
                                 reason="Graphviz (neato) is not installed")


def example(name: str):
    return importlib.import_module(f"examples.{name}")


# ------------------------------------------------------------------ reference graphs

def nptel():
    net = example("nptel_worked_example").build_network()
    net.loss.backward()
    return net.loss, None, {}


def slides_network():
    loss, W1, W2, lam = example("slides_network").build()[:4]
    loss.backward()
    return loss, W1, {"detail": "layer"}


def perceptron():
    x = [Value(v, f"x{i}") for i, v in enumerate([1.0, 2.0, -1.0])]
    w = [Value(v, f"w{i}", param=True) for i, v in enumerate([0.5, -0.25, 0.1])]
    b = Value(0.2, "b", param=True)
    h = autodiff.dot(w, x, bias=b).sign()
    h.label = "h"
    h.backward()
    return h, None, {"expand_dot": True}


def logistic_neuron():
    neuron = nn.Neuron(3, "sigmoid", seed=0)
    h = neuron([1.0, 2.0, -1.0])
    h = h[0] if isinstance(h, list) else h
    h.label = "h"
    h.backward()
    return h, None, {"detail": "layer"}


def layer():
    hs = nn.Layer(3, 2, activation="sigmoid", seed=0)([1.0, 2.0, -1.0])
    loss = autodiff.sum(hs)
    loss.label = "l"
    loss.backward()
    return loss, None, {"detail": "layer"}


def micrograd_expression():
    a, b, c, f = Value(2.0, "a"), Value(-3.0, "b"), Value(10.0, "c"), Value(-2.0, "f")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    L = d * f
    L.label = "L"
    L.backward()
    return L, [a], {}


REFERENCE = {"nptel": nptel, "slides_network": slides_network, "perceptron": perceptron,
             "logistic_neuron": logistic_neuron, "layer": layer,
             "micrograd": micrograd_expression}
# the NPTEL graph's shared inputs x₁, x₂ and bias b₁ feed both hidden units: a K₃,₂
# between two columns, which no two-layer drawing shows without 3 crossings
ALLOWED_CROSSINGS = {"nptel": 3}


def drawn(name: str, **extra) -> tuple[viz.Drawing, Measured, Value, object]:
    root, wrt, kwargs = REFERENCE[name]()
    d = viz.draw(root, view="backward", wrt=wrt, **{**kwargs, **extra})
    return d, measure(d.svg()), root, wrt


@needs_neato
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_reference_graph_follows_the_slides_rules(name):
    d, m, root, wrt = drawn(name)
    assert m.edges_through_nodes() == []
    assert len(m.forward_crossings()) <= ALLOWED_CROSSINGS.get(name, 0), m.forward_crossings()
    assert m.leaves_not_beside_their_op() == []
    assert m.not_straight_or_orthogonal() == []
    assert m.twin_problems() == []


@needs_neato
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_twins_on_exactly_the_edges_from_the_loss_to_wrt(name):
    d, m, root, wrt = drawn(name)
    if wrt is None:
        targets = {d.node_id(v) for v in autodiff.topological_order(root) if v.param}
    else:
        targets = {d.node_id(v) for v in (wrt if isinstance(wrt, list) else [wrt])}
    reached = m.descendants(targets)
    expected = {e.id for e in m.forward() if e.tail in reached}
    assert expected, "a reference graph has edges toward its parameters"
    assert {e.id[: -len("_back")] for e in m.backward()} == expected


@needs_neato
@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_numbers_none_writes_no_numbers_and_both_writes_them_readably(name):
    d, m, root, wrt = drawn(name, numbers="none")
    assert m.numeric_texts() == []
    d, m, root, wrt = drawn(name, numbers="both")
    assert m.numeric_texts(), "numbers='both' shows values and gradients"
    sizes = {size for n in m.nodes.values() if "op" not in n.classes for text, size, _ in n.texts
             if text.strip() and text.strip()[0] in "−-0123456789"}
    assert min(sizes) >= 14


@needs_neato
def test_slides_network_sits_on_backprop_png_grid():
    """backprop.png: the main chain x … ŷ on one row, W₁ and W₂ one row above their
    matmul, the penalty (‖·‖₂, u₅, add, mul, …) above them, λ above its mul, y below;
    the loss climbs: u₄ above the main row, l beside u₈ (tests/test_viz_slide_cells.py
    checks every cell)."""
    d, m, root, wrt = drawn("slides_network")
    by_name = {n.name: n for n in d.graph.nodes if n.kind != "op"}
    y = {name: d.layout.pos[n.id][1] for name, n in by_name.items()}
    x = {name: d.layout.pos[n.id][0] for name, n in by_name.items()}
    main_row = {y[k] for k in ("x", "u₁", "u₂", "u₃", "ŷ")}
    assert len(main_row) == 1
    (row,) = main_row
    assert y["W₁"] == y["W₂"] == row - 120
    assert all(y[k] < y["W₁"] for k in ("u₅", "u₆", "u₇", "u₈", "λ"))
    assert y["λ"] < y["u₈"] and y["y"] > row and y["u₄"] < row and y["u₈"] < y["l"] < y["u₄"]
    assert x["x"] < x["u₁"] < x["u₂"] < x["u₃"] < x["ŷ"] < x["u₄"] < x["l"]
    assert max(x.values()) == x["l"]
    squares = {(n.name, d.layout.pos[n.id][0]) for n in d.graph.nodes if n.kind == "op"}
    norms = sorted(px for name, px in squares if name == "‖·‖₂")
    assert norms == sorted([x["W₁"], x["W₂"]])        # each ‖·‖₂ straight above its W


@needs_neato
def test_perceptron_terms_in_operand_order_with_elbows():
    d, m, root, wrt = drawn("perceptron")
    pos = {n.name: d.layout.pos[n.id] for n in d.graph.nodes if n.kind != "op"}
    assert pos["x0"][1] < pos["x1"][1] < pos["x2"][1]
    assert pos["x0"][0] == pos["x1"][0] == pos["x2"][0]
    for k in range(3):
        assert pos[f"w{k}"][0] > pos[f"x{k}"][0] and pos[f"w{k}"][1] < pos[f"x{k}"][1]
    bent = [e for e in m.forward() if len(e.segments()) == 3]
    assert len(bent) == 2                               # × → right, down/up, right into add


def test_scalar_level_names_are_unique_and_use_matrix_entries():
    model = nn.MLP(3, [2, 1], seed=0)
    out = model([1.0, 2.0, 3.0])
    out = out[0] if isinstance(out, list) else out
    d = viz.draw(out)
    names = [n.name for n in d.graph.nodes if n.kind != "op"]
    assert len(names) == len(set(names))
    assert {"W₁[0,0]", "W₁[2,1]", "b₁[1]", "W₂[1,0]", "b₂[0]"} <= set(names)   # [input, unit], from 0
    assert set(viz.display_names(out).values()) >= {"W₁[0,0]", "u₁"}


def test_value_zero_up_to_rounding_is_drawn_as_zero():
    a = Value(0.1 + 0.2, "a")
    z = a - 0.3
    z.label = "z"
    assert z.data != 0.0
    d = viz.draw(z)
    texts = [t for n in measure(d.svg()).nodes.values() for t, _, _ in n.texts] if shutil.which(
        "neato") else []
    line = next(x for x in d.digraph.body if "label=<" in x and ">z<" in x)
    label = line[line.index("label=<"):].split(" tooltip=")[0]
    assert ">0<" in label and "e-17" not in label and "e−17" not in label
    assert not any("e−17" in t or "e-17" in t for t in texts)


def test_lone_neuron_is_w_dot_and_layer_shows_its_shape():
    d = viz.draw(logistic_neuron()[0], detail="layer")
    ops = {n.name for n in d.graph.nodes if n.kind == "op"}
    params = {n.name: n for n in d.graph.nodes if n.kind == "param"}
    assert "dot" in ops and "matmul" not in ops and "w" in params
    d = viz.draw(layer()[0], detail="layer")
    params = {n.name: n for n in d.graph.nodes if n.kind == "param"}
    assert params["W"].note == "3×2" and "matmul" in {n.name for n in d.graph.nodes}
    assert all(n.members for n in d.graph.nodes if n.kind != "op")   # every circle was computed


def test_bad_options_are_named():
    z = Value(1.0, "a") * 2
    with pytest.raises(ValueError, match="numbers must be one of"):
        viz.draw(z, numbers="all")
    with pytest.raises(ValueError, match="layout must be one of"):
        viz.draw(z, layout="neato")


@needs_neato
def test_dot_layout_still_available():
    d = viz.draw(micrograd_expression()[0], view="backward", layout="dot")
    assert d.layout is None and "rankdir=LR" in d.source
    assert measure(d.svg()).nodes


@needs_neato
def test_render_timeout_is_a_named_error(monkeypatch):
    d = viz.draw(nptel()[0], view="backward")
    monkeypatch.setattr(viz.render, "RENDER_TIMEOUT", 1e-6)
    with pytest.raises(viz.GraphTooLarge, match="did not finish within"):
        d.svg()


# ------------------------------------------------------------------ random graphs

@st.composite
def small_graph(draw) -> Value:
    return build_random_graph(draw(st.integers(0, 10_000)), draw(st.integers(1, 5)), draw(st.integers(1, 9)))


@needs_neato
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_graph(), st.sampled_from(["forward", "backward"]))
def test_random_graphs_have_no_edge_through_a_node(root, view):
    root.backward()
    m = measure(viz.draw(root, view=view).svg())
    assert m.edges_through_nodes() == []
    assert m.not_straight_or_orthogonal() == []
    if view == "backward":
        assert m.twin_problems() == []


def test_layout_time_limit_is_a_named_error(monkeypatch):
    monkeypatch.setattr(viz.render, "RENDER_TIMEOUT", -1.0)
    with pytest.raises(viz.GraphTooLarge, match="laying out 30 drawn nodes .*did not finish within"):
        viz.draw(nptel()[0], view="backward")


def test_one_time_budget_for_layout_and_graphviz(monkeypatch):
    """Graphviz gets what the layout left of RENDER_TIMEOUT, not a budget of its own."""
    seen = []

    def fake_run(args, input, capture_output, timeout):
        seen.append(timeout)
        raise viz.render.subprocess.TimeoutExpired(args, timeout)
    d = viz.draw(nptel()[0], view="backward")
    d.layout_seconds = viz.render.RENDER_TIMEOUT - 5.0
    monkeypatch.setattr(viz.render.subprocess, "run", fake_run)
    with pytest.raises(viz.GraphTooLarge, match="neato -Tsvg 30 drawn nodes .*did not finish"):
        d.svg()
    assert seen == [pytest.approx(5.0)]


# ------------------------------------------------------------------ spatial indexes

def test_spatial_indexes_find_what_a_full_scan_finds():
    """The layout's indexes (viz.geometry) answer a box as scanning every item would."""
    from viz.geometry import GridIndex, PointIndex, SegmentIndex
    rnd = random.Random(7)
    points = [(rnd.choice(range(0, 2000, 120)) * 1.0, rnd.uniform(0, 2000), k) for k in range(300)]
    segs = []
    for k in range(400):
        x, y = rnd.uniform(0, 2000), rnd.uniform(0, 2000)
        kind = rnd.random()
        b = (x + rnd.uniform(-600, 600), y) if kind < 0.4 else (x, y + rnd.uniform(-600, 600)) if kind < 0.8 \
            else (x + rnd.uniform(-90, 90), y + rnd.uniform(-90, 90))
        segs.append(((x, y), b, k))
    pi, si, gi = PointIndex(points), SegmentIndex(), GridIndex(60.0)
    for a, b, k in segs:
        si.add(k, a, b)
        gi.add(k, min(a[0], b[0]), max(a[0], b[0]), min(a[1], b[1]), max(a[1], b[1]))
    for _ in range(200):
        x0, y0 = rnd.uniform(-100, 2000), rnd.uniform(-100, 2000)
        x1, y1 = x0 + rnd.uniform(0, 700), y0 + rnd.uniform(0, 700)
        assert sorted(k for _, _, k in pi.within(x0, x1, y0, y1)) == \
            sorted(k for x, y, k in points if x0 < x < x1 and y0 < y < y1)
        meets = sorted(k for a, b, k in segs if min(a[0], b[0]) <= x1 and max(a[0], b[0]) >= x0
                       and min(a[1], b[1]) <= y1 and max(a[1], b[1]) >= y0)
        found = list(si.near(x0, x1, y0, y1))
        assert len(found) == len(set(found)) and set(meets) <= set(found)      # each once
        slanted = {k for a, b, k in segs if a[0] != b[0] and a[1] != b[1]}
        assert set(found) - set(meets) <= slanted     # axis-parallel ones exactly
        assert set(meets) <= set(gi.near(x0, x1, y0, y1))      # buckets: a superset


@needs_neato
def test_the_readme_model_draws_at_every_level_by_default():
    """MLP(2, [16, 16, 1]) on one sample: 474 nodes at the scalar level, under DEFAULT_MAX_NODES."""
    model = nn.MLP(2, [16, 16, 1], seed=0)
    out = model([0.5, -0.3])
    loss = ((out[0] if isinstance(out, list) else out) - 1.0) ** 2
    for detail in ("layer", "neuron", "scalar"):
        d = viz.draw(loss, detail=detail)
        assert measure(d.svg()).edges_through_nodes() == []
    assert len(d.graph.nodes) == 474 <= viz.render.DEFAULT_MAX_NODES
