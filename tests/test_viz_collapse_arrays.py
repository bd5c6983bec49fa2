"""The collapsed levels computed on arrays (viz.graph_arrays, viz.collapse, viz.levels):
the same drawing and steps whichever way the edges are read, the gradients of backward()
on an MNIST-size network, and the array helpers against the plain loops they replace.
No timing here: speed is measured by bench/bench_trace.py."""

from __future__ import annotations

import random

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Trace, Value
from viz.collapse import collapsed_graph
from viz.graph import DGraph, depends_on
from viz.graph_arrays import GraphArrays, ScalarEdges, forward_positions
from viz.levels import GroupStep, accumulate
from viz.naming import forward_order
from viz.stepper import Stepper


def mnist_sample() -> Value:
    """One MNIST-size sample through nn.MLP(784, [30, 10]) (bench/bench_trace.py times this one)."""
    rng = random.Random(0)
    model = nn.MLP(784, [30, 10], activation="sigmoid", seed=0)
    x = [rng.random() for _ in range(784)]
    y = [0.0] * 10
    y[3] = 1.0
    return nn.binary_cross_entropy(model(x), y)


@pytest.fixture(scope="module")
def mnist():
    loss = mnist_sample()
    loss.backward()
    expected = [v.grad for v in autodiff.topological_order(loss)]
    return loss, expected


def small_graphs() -> list[Value]:
    """Graphs with what the collapse treats apart: labelled inputs, a penalty reading
    parameters of a layer (two blocks), composite ops, constants, repeated operands."""
    m = nn.MLP(3, [4, 2], seed=3)
    xs = [Value(v, f"x.{i}") for i, v in enumerate((0.5, -1.0, 2.0))]
    penalty = sum((p * p for p in m.parameters()[:5]), Value(0.0))
    with_penalty = nn.mse(m(xs), [1.0, 0.0]) + 0.01 * penalty
    m2 = nn.MLP(5, [6, 3], seed=5)
    logits = m2([Value(0.1 * i, f"x{i}") for i in range(5)])
    softmax = nn.softmax_cross_entropy(logits, 1) + nn.l2_penalty(m2.parameters()[:7], 0.1)
    layer = nn.Layer(2, 3, seed=1)
    standalone = nn.mse(layer([Value(0.3, "a"), Value(-0.2, "b")]), [0.0, 1.0, 0.5])
    w, x = Value(0.7, "w", param=True), Value(1.5, "x")
    plain = (w * x * x + w).tanh() * 0.5
    return [with_penalty, softmax, standalone, plain]


def shape(g: DGraph, order: list[Value]) -> tuple:
    """A drawing as plain data, scalar nodes by position in ``order``."""
    at = {id(v): i for i, v in enumerate(order)}
    nodes = [(n.id, n.kind, n.name, [at[id(m)] for m in n.members], n.role, n.style, n.note) for n in g.nodes]
    edges = [(e.id, e.tail, e.head, e.on_path, [(at[id(a)], at[id(v)], k) for a, v, k in e.members])
             for e in g.edges]
    return nodes, edges, sorted((at[i], w) for i, w in g.where.items())


def replay(s: Stepper) -> None:
    """Each grouped step's changes are the scalar pass's contributions, applied one by one
    in the order of its edges from the gradients the steps before it left."""
    t = s.trace
    grads = s.initial_list()
    products = t.product.tolist()
    for st in s.steps:
        expected = []
        for x in st.edges:
            j = int(t.edge_input[x])
            new = grads[j] + products[x]
            expected.append((j, grads[j], new))
            grads[j] = new
        assert st.changes == tuple(expected), st


@pytest.mark.parametrize("detail", ["layer", "neuron"])
def test_mnist_size_stepper_steps_and_gradients(mnist, detail):
    loss, expected = mnist
    s = Stepper(loss, detail=detail, max_nodes=2000)
    assert all(isinstance(st, GroupStep) for st in s.steps)
    nodes = {n.id: n for n in s.graph.nodes}
    # one step per red edge from a circle into a square
    into = [e.id for e in s.graph.edges
            if e.on_path and nodes[e.head].kind == "op" and nodes[e.tail].kind != "op"]
    assert sorted(st.edge_id for st in s.steps) == sorted(into)
    # every scalar edge applied exactly once, with the contributions of the scalar pass
    applied = sorted(x for st in s.steps for x in st.edges)
    assert applied == list(range(s.trace.n_edges))
    replay(s)
    s.goto(len(s))
    assert s.grads == pytest.approx(expected, abs=1e-12)
    assert [v.grad for v in s.order] == expected            # .grad untouched
    names = {n.name: n for n in s.graph.nodes if n.kind != "op"}
    if detail == "layer":
        assert (names["W₁"].note, names["b₁"].note, names["W₂"].note, names["x"].note) == \
            ("784×30", "[30]", "30×10", "[784]")
        w1 = next(st for st in s.steps if st.tail_name == "W₁")
        assert len(w1.inputs) == 784 * 30
        s.goto(w1.index)
        assert not any(s.complete(v) for v in w1.inputs[:50])
        s.goto(w1.index + 1)
        assert all(s.complete(v) for v in w1.inputs)
    else:
        squares = [n.name for n in s.graph.nodes if n.kind == "op"]
        # 30 sigmoid neurons, 10 linear outputs, the loss; each input its own circle
        assert sorted(squares) == ["cross_ent"] + ["dot"] * 10 + ["σ(dot)"] * 30
        assert sum(n.role == "input" for n in s.graph.nodes) == 784


@pytest.mark.parametrize("detail", ["layer", "neuron"])
def test_collapse_is_the_same_from_the_trace_and_from_the_graph(detail):
    for loss in small_graphs() + [mnist_sample()]:
        order = autodiff.topological_order(loss)
        trace = Trace(loss)
        params = [v for v in order if v.param]
        dep = depends_on(order, params)
        mask = np.array([id(v) in dep for v in order])
        walked = collapsed_graph(loss, order, dep, detail)
        recorded = collapsed_graph(loss, list(trace.nodes), mask, detail, trace=trace)
        assert list(trace.nodes) == order
        assert shape(walked, order) == shape(recorded, order)
        assert all(isinstance(e.members, (ScalarEdges, list)) for e in walked.edges)


def test_graph_arrays_and_forward_positions_match_the_walks():
    x = Value(2.0, "x")
    y = x * x + x                       # a repeated operand, a shared node
    z = (y * x).tanh() + y * 3 + x
    # long runs of leaves (numbered as arrays), one with a leaf twice, one a leaf met before
    ws = [Value(0.1 * i, f"w{i}", param=True) for i in range(12)]
    d = autodiff.dot(ws[:10] + [ws[3], ws[3]], [x] * 12)
    long = autodiff.sum([d, y, autodiff.dot(ws, [Value(float(i)) for i in range(12)])])
    for root in small_graphs() + [z, x, long]:
        order = autodiff.topological_order(root)
        at = {id(v): i for i, v in enumerate(order)}
        walk = [(at[id(a)], i, k) for i, v in enumerate(order) for k, a in enumerate(v.inputs)]
        readings = [GraphArrays(order)]
        if not root.is_leaf:
            readings.append(GraphArrays(order, Trace(root)))
        for a in readings:
            assert list(zip(a.src.tolist(), a.dst.tolist(), a.operand.tolist())) == walk
            assert a.is_op.tolist() == [not v.is_leaf for v in order]
            pos = forward_positions(a, at[id(root)])
            assert [order[i] for i in np.argsort(pos)] == forward_order(root)


def test_scalar_edges_read_as_a_sequence_of_tuples():
    a, b = Value(1.0, "a"), Value(2.0, "b")
    c = a * b
    order = [a, b, c]
    edges = ScalarEdges(order, np.array([0, 1]), np.array([2, 2]), np.array([0, 1]))
    assert len(edges) == 2 and bool(edges)
    assert edges[0] == (a, c, 0) and edges[-1] == (b, c, 1) and edges[1:] == ((b, c, 1),)
    assert list(edges) == [(a, c, 0), (b, c, 1)] and edges == [(a, c, 0), (b, c, 1)]
    assert not ScalarEdges(order, np.zeros(0, np.intp), np.zeros(0, np.intp), np.zeros(0, np.intp))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_accumulate_adds_in_the_order_of_a_loop(seed):
    rng = np.random.default_rng(seed)
    n = 50
    # node 7 gets more contributions than the rank-wise pass handles (it loops for those)
    targets = np.concatenate([rng.integers(0, n, 400), np.full(150, 7)])
    rng.shuffle(targets)
    products = rng.normal(size=len(targets)) * 10.0 ** rng.integers(-8, 8, len(targets))
    initial = rng.normal(size=n)
    old, new, by_node = accumulate(initial, targets, products)
    grads = initial.tolist()
    for x, (j, p) in enumerate(zip(targets.tolist(), products.tolist())):
        assert old[x] == grads[j]
        grads[j] = grads[j] + p
        assert new[x] == grads[j]
    assert targets[by_node].tolist() == sorted(targets.tolist())
