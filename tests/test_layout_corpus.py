"""The slides' layout on graphs people really draw (``tests/layout_corpus.py``) and on
random ones, measured from the SVG as a reader sees it (:mod:`viz.svg_geometry`): no edge
through a node, no two edges drawn on top of each other, no parallel wires closer than
8 px, no name or number outside its node. Crossings are counted in ``bench/LAYOUT.md``,
not asserted: a complete layer cannot be drawn without them.

Where a graph still fails a metric, it is marked xfail below with the numbers measured
and why (strict: a graph that starts to pass must be taken off the list)."""

from __future__ import annotations

import random
import shutil

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import viz
from autodiff import Value
from viz.svg_geometry import Measured, measure

try:
    from layout_corpus import CORPUS, build_random_graph
except ImportError:  # collected as tests.test_layout_corpus
    from tests.layout_corpus import CORPUS, build_random_graph

pytestmark = pytest.mark.skipif(shutil.which("neato") is None, reason="Graphviz (neato) is not installed")

DENSE = ("every neuron of a layer reads every output of the one before (a complete bipartite "
         "graph) through one 40 px-high row gap and one column gap per layer; with the red twins "
         "the router finds no route for some edges that keeps 8 px from all others")
# (graph, view) -> why it still fails, with the numbers measured (through nodes, shared
# stretches, close wires, text outside)
XFAIL: dict[tuple[str, str], str] = {
    ("MLP(3,[4,4,1]) MSE scalar", "backward"): "measured 0 / 23 / 3 / 0: " + DENSE,
    ("MLP(3,[4,4,1]) MSE neuron", "backward"): "measured 0 / 11 / 2 / 0: " + DENSE,
    ("MLP(3,[4,4,1]) MSE scalar", "forward"): "measured 0 / 13 / 1 / 0: " + DENSE,
    ("MLP(3,[4,4,1]) MSE neuron", "forward"): "measured 0 / 6 / 4 / 0: " + DENSE,
    ("MLP(2,[16,16,1]) hinge neuron", "backward"): "measured 0 / 40996 / 2290 / 0: " + DENSE,
    ("MLP(2,[16,16,1]) hinge scalar", "backward"): "measured 0 / 39250 / 3065 / 0: " + DENSE,
    ("MLP(2,[16,16,1]) hinge neuron", "forward"): "measured 0 / 20812 / 251 / 0: " + DENSE,
    ("MLP(2,[16,16,1]) hinge scalar", "forward"): "measured 0 / 22295 / 424 / 0: " + DENSE,
}

ZERO = {"through nodes": 0, "shared stretches": 0, "close wires": 0, "text outside": 0}


def reader_faults(m: Measured) -> dict[str, int]:
    return {"through nodes": len(m.edges_through_nodes()), "shared stretches": len(m.shared_stretches()),
            "close wires": len(m.close_wires()), "text outside": len(m.text_outside())}


def cases():
    for name in CORPUS:
        for view in ("backward", "forward"):
            if name.startswith("slide") and view == "backward":
                continue              # the slide figures are drawn as the slides draw them
            mark = pytest.mark.xfail(reason=XFAIL[(name, view)], strict=True) if (name, view) in XFAIL else ()
            yield pytest.param(name, view, marks=mark, id=f"{name}-{view}")


@pytest.mark.parametrize("name, view", list(cases()))
def test_corpus_graph_reads_cleanly(name, view):
    root, kwargs = CORPUS[name]()
    if not name.startswith("slide"):
        kwargs = {**kwargs, "view": view}
    m = measure(viz.draw(root, **kwargs).svg())
    assert reader_faults(m) == ZERO, (m.shared_stretches()[:5], m.close_wires()[:5], m.text_outside()[:5])
    assert m.not_straight_or_orthogonal() == []
    if view == "backward":
        assert m.twin_problems() == []


def test_the_corpus_holds_the_graphs_the_brief_names():
    names = " | ".join(CORPUS)
    for part in ("slide backprop", "slide perceptron", "slide layer", "micrograd README", "NPTEL scalar",
                 "NPTEL neuron", "MLP(3,[4,4,1]) MSE layer", "MLP(2,[16,16,1]) hinge scalar",
                 "softmax", "maxout", "15-step chain", "x*x", "perceptron, 5 inputs"):
        assert part in names
    assert len([n for n in CORPUS if n.startswith("slide")]) == 6


# ------------------------------------------------------------------ random graphs

@st.composite
def random_graph(draw) -> Value:
    return build_random_graph(draw(st.integers(0, 10**6)), draw(st.integers(1, 5)), draw(st.integers(1, 12)))



@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graph(), st.sampled_from(["forward", "backward"]))
def test_random_graphs_have_no_edge_through_a_node_nor_text_outside(root, view):
    root.backward()
    m = measure(viz.draw(root, view=view).svg())
    assert reader_faults(m)["through nodes"] == 0 and reader_faults(m)["text outside"] == 0


def test_random_graphs_rarely_have_a_shared_stretch_or_close_wires():
    """Not yet zero. On this fixed sample of 160 drawings (seeds 0-79, both views) one has a
    shared stretch (seed 4, backward view; hypothesis-drawn samples showed 5 of 160: a node
    read by three or more ops on one row whose edges all leave along one row gap, or a sum of
    four or more operands entering one side of its square with red twins). A layout change
    that makes it worse fails."""
    faulty = []
    for seed in range(80):
        rnd = random.Random(seed)
        n_leaves, n_ops = rnd.randint(1, 5), rnd.randint(1, 12)
        for view in ("forward", "backward"):
            root = build_random_graph(seed, n_leaves, n_ops)
            root.backward()
            m = measure(viz.draw(root, view=view).svg())
            if reader_faults(m) != ZERO:
                faulty.append((seed, view, reader_faults(m)))
    assert len(faulty) <= 1, faulty
