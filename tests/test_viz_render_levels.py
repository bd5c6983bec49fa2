"""Levels of detail (neuron, layer, expanded dot) and the slides' own network (seed 003).

The MLP graphs are built with ``autodiff.dot`` and ``.group`` set exactly as ``nn``
sets them (``("layers.<i>", "neurons.<j>")`` on a neuron's dot and activation nodes,
parameters labelled ``layers.<i>.neurons.<j>.w.<k>``), so these tests do not depend
on ``nn``; one test also draws a real ``nn.MLP`` when ``nn`` imports.
"""

from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest

import autodiff
import viz
from autodiff import Value
from test_viz_render import SPEC, SVG, groups, needs_dot, parse, paths_edges, shape

ROOT = Path(__file__).resolve().parents[1]


def mlp(nin: int, sizes: list[int], bias: bool = True, seed: int = 0):
    """An nn-like MLP on one sample with a squared-error loss; returns (loss, layers' params)."""
    rnd = random.Random(seed)
    h = [Value(rnd.uniform(-1, 1), f"x.{i}") for i in range(nin)]
    params: list[list[Value]] = []
    for li, n in enumerate(sizes):
        out, layer = [], []
        for j in range(n):
            ws = [Value(rnd.uniform(-1, 1), f"layers.{li}.neurons.{j}.w.{i}", param=True)
                  for i in range(len(h))]
            b = Value(0.1, f"layers.{li}.neurons.{j}.b", param=True) if bias else None
            layer += ws + ([b] if b is not None else [])
            z = autodiff.dot(ws, h, b)
            z.group = (f"layers.{li}", f"neurons.{j}")
            a = z.sigmoid()
            a.group = z.group
            out.append(a)
        params.append(layer)
        h = out
    loss = autodiff.sum([(o - 1.0) ** 2 for o in h])
    loss.label = "l"
    return loss, params


def describe_edges(d: viz.Drawing, red_only: bool = False) -> set[tuple[str, str]]:
    """Edges as (tail, head) names; a square is named 'label→' + the name of the circle
    its result reaches (through squares that feed squares directly, as matmul → add)."""
    nodes = {n.id: n for n in d.graph.nodes}
    nxt = {e.tail: e.head for e in d.graph.edges if nodes[e.tail].kind == "op"}

    def name(nid: str) -> str:
        n = nodes[nid]
        if n.kind != "op":
            return n.name
        head = nxt[nid]
        while nodes[head].kind == "op":
            head = nxt[head]
        return n.name + "→" + nodes[head].name
    return {(name(e.tail), name(e.head)) for e in d.graph.edges if e.on_path or not red_only}


def load_example():
    spec = importlib.util.spec_from_file_location("slides_network", ROOT / "examples" / "slides_network.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------ neuron level

def test_neuron_level_one_square_per_neuron_with_its_parameters():
    loss, params = mlp(3, [2, 1])
    d = viz.draw(loss, detail="neuron")
    squares = [n for n in d.graph.nodes if n.kind == "op"]
    neurons = [n for n in squares if n.name == "σ(dot)"]
    assert len(neurons) == 3
    for n in neurons:                       # each neuron: the dot and σ nodes of one group
        assert {m.op for m in n.members} == {"dot", "sigmoid"}
        assert len({m.group for m in n.members}) == 1
    red = [n for n in d.graph.nodes if n.kind == "param"]
    weights = sorted(len(n.members) for n in red if n.name.startswith("W"))
    assert weights == [2, 3, 3]             # each neuron's weights as one bold vector circle: W₁[:,j]
    assert sorted(n.name for n in red if n.name.startswith("b")) == ["b₁[0]", "b₁[1]", "b₂[0]"]
    every = autodiff.topological_order(loss)
    assert all(id(v) in d.graph.where for v in every if not (v.is_leaf and not v.label and not v.param))


def test_neuron_level_too_large_suggests_layer_level():
    loss, _ = mlp(2, [150, 1])
    with pytest.raises(viz.GraphTooLarge, match="detail='layer'"):
        viz.draw(loss, detail="neuron", max_nodes=400)
    assert len(viz.draw(loss, detail="layer").graph.nodes) < 400


# ------------------------------------------------------------------ layer level

def test_layer_level_draws_the_mlp_as_the_slides_do():
    loss, params = mlp(3, [4, 2])
    d = viz.draw(loss, view="backward", detail="layer", wrt=params[0])
    names = describe_edges(d)
    # x → matmul(W₁) → add(b₁) → u₁ → σ(·) → u₂ → matmul(W₂) → add(b₂) → u₃ …  (layer.png:
    # no circle between matmul and add, the engine's dot adds the bias itself)
    chain = [("x", "matmul→u₁"), ("W₁", "matmul→u₁"), ("matmul→u₁", "add→u₁"),
             ("b₁", "add→u₁"), ("add→u₁", "u₁"), ("u₁", "σ(·)→u₂"), ("u₂", "matmul→u₃"),
             ("W₂", "matmul→u₃"), ("b₂", "add→u₃")]
    assert set(chain) <= names
    assert not [n for n in d.graph.nodes if n.kind != "op" and not n.members]
    labels = {n.name: n for n in d.graph.nodes}
    x = labels["x"]
    assert len(x.members) == 3 and x.style == "bold" and x.role == "input"
    assert labels["W₁"].kind == "param" and len(labels["W₁"].members) == 12
    assert labels["W₂"].kind == "param" and len(labels["W₂"].members) == 8
    op_names = [n.name for n in d.graph.nodes if n.kind == "op"]
    assert op_names.count("matmul") == 2 and op_names.count("σ(·)") == 2
    # red twins toward layer-0 params reach W₁ and b₁, never x, W₂ or b₂
    red = describe_edges(d, red_only=True)
    assert ("W₁", "matmul→u₁") in red and ("b₁", "add→u₁") in red
    assert not {e for e in red if e[0] in ("x", "W₂", "b₂")}


@needs_dot
def test_layer_level_svg_shapes_and_colours():
    loss, params = mlp(3, [4, 2])
    loss.backward()
    tree = parse(viz.draw(loss, view="backward", detail="layer").svg())
    nodes = groups(tree, "node")
    assert nodes
    for gid, g in nodes.items():
        cls = g.get("class").split()
        role = "op" if "op" in cls else ("param" if "param" in cls else "value")
        tag, fill, stroke = SPEC[role]
        s = shape(g)
        assert (s.tag, s.get("fill"), s.get("stroke")) == (SVG + tag, fill, stroke), gid


def test_real_nn_mlp_collapses_when_nn_imports():
    nn = pytest.importorskip("nn", reason="nn package not importable in this checkout")
    model = nn.MLP(4, [3, 2], seed=0)
    out = model([0.5, -0.2, 0.1, 0.9])
    loss = nn.half_sse(out, [0.0, 1.0])
    d = viz.draw(loss, detail="layer")
    names = {n.name for n in d.graph.nodes}
    assert {"x", "W₁", "b₁", "W₂", "b₂"} <= names
    assert [n.name for n in d.graph.nodes if n.kind == "op"].count("matmul") == 2


# ------------------------------------------------------------------ expanded dot

@needs_dot
def test_expand_dot_draws_the_perceptron_figure():
    xs = [Value(v, f"x{i}") for i, v in enumerate((0.5, -1.0, 2.0))]
    ws = [Value(v, f"w{i}", param=True) for i, v in enumerate((0.2, 0.4, -0.1))]
    b = Value(0.3, "b", param=True)
    z = autodiff.dot(ws, xs, b)
    h = z.sign()
    h.label = "h"
    d = viz.draw(h, view="backward", expand_dot=True)
    order = autodiff.topological_order(h)
    i = order.index(z)
    squares = {n.id: n.name for n in d.graph.nodes if n.kind == "op"}
    assert [squares[f"op{i}_{k}"] for k in range(3)] == ["×"] * 3
    assert squares[f"op{i}"] == "add" and "sign" in squares.values()
    anchors = {n.name: n.anchor for n in d.graph.nodes if n.kind == "param"}
    assert anchors == {"w0": f"op{i}_0", "w1": f"op{i}_1", "w2": f"op{i}_2", "b": f"op{i}"}
    ids = {e.id for e in d.graph.edges}
    for k in range(3):
        assert {f"e{order.index(ws[k])}_{i}_{k}", f"e{order.index(xs[k])}_{i}_{3 + k}", f"m{i}_{k}"} <= ids
    tree = parse(d.svg())
    for gid, g in groups(tree, "node").items():
        assert shape(g).tag == SVG + ("polygon" if gid.startswith("op") else "ellipse")


# ------------------------------------------------------------------ the slides' network

def test_slides_network_layer_level_matches_backprop_png():
    ex = load_example()
    loss, w1, w2, lam = ex.build(p=3, q=2)
    loss.backward()
    fwd = viz.draw(loss, detail="layer", above=[lam])
    names = {n.name for n in fwd.graph.nodes if n.kind != "op"}
    assert names == {"x", "W₁", "W₂", "y", "λ", "ŷ", "l"} | {f"u{s}" for s in "₁₂₃₄₅₆₇₈"}
    ops = sorted(n.name for n in fwd.graph.nodes if n.kind == "op")
    assert ops == sorted(["matmul", "σ(·)", "matmul", "σ(·)", "cross_ent", "‖·‖₂", "‖·‖₂",
                          "add", "mul", "add"])
    edges = describe_edges(fwd)
    # the wiring of backprop.png, with the slides' own numbering
    assert edges == {
        ("x", "matmul→u₁"), ("W₁", "matmul→u₁"), ("matmul→u₁", "u₁"), ("u₁", "σ(·)→u₂"), ("σ(·)→u₂", "u₂"),
        ("u₂", "matmul→u₃"), ("W₂", "matmul→u₃"), ("matmul→u₃", "u₃"), ("u₃", "σ(·)→ŷ"), ("σ(·)→ŷ", "ŷ"),
        ("ŷ", "cross_ent→u₄"), ("y", "cross_ent→u₄"), ("cross_ent→u₄", "u₄"), ("W₁", "‖·‖₂→u₅"), ("‖·‖₂→u₅", "u₅"),
        ("W₂", "‖·‖₂→u₆"), ("‖·‖₂→u₆", "u₆"), ("u₅", "add→u₇"), ("u₆", "add→u₇"), ("add→u₇", "u₇"),
        ("u₇", "mul→u₈"), ("λ", "mul→u₈"), ("mul→u₈", "u₈"), ("u₄", "add→l"), ("u₈", "add→l"), ("add→l", "l")}
    anchors = {n.name: n.anchor for n in fwd.graph.nodes if n.anchor}
    nodes = {n.id: n for n in fwd.graph.nodes}
    assert {k: nodes[v].name for k, v in anchors.items()} == {"W₁": "matmul", "W₂": "matmul", "λ": "mul"}
    # backprop2.png: red twins toward W₁ on exactly these edges
    back = viz.draw(loss, view="backward", wrt=w1, detail="layer", above=[lam])
    assert describe_edges(back, red_only=True) == {
        ("W₁", "matmul→u₁"), ("matmul→u₁", "u₁"), ("u₁", "σ(·)→u₂"), ("σ(·)→u₂", "u₂"), ("u₂", "matmul→u₃"),
        ("matmul→u₃", "u₃"), ("u₃", "σ(·)→ŷ"), ("σ(·)→ŷ", "ŷ"), ("ŷ", "cross_ent→u₄"), ("cross_ent→u₄", "u₄"),
        ("W₁", "‖·‖₂→u₅"), ("‖·‖₂→u₅", "u₅"), ("u₅", "add→u₇"), ("add→u₇", "u₇"), ("u₇", "mul→u₈"),
        ("mul→u₈", "u₈"), ("u₄", "add→l"), ("u₈", "add→l"), ("add→l", "l")}


def test_slides_network_scalar_level_red_edges_are_the_paths_to_w1():
    ex = load_example()
    loss, w1, w2, lam = ex.build(p=2, q=2)
    d = viz.draw(loss, view="backward", wrt=w1, above=[lam])
    assert {e.id for e in d.graph.edges if e.on_path} == paths_edges(loss, {id(w) for w in w1})
    # the numbers it writes are the engine's gradients
    loss.backward()
    source = viz.draw(loss, view="backward", wrt=w1).source
    assert f"= {w1[0].grad!r}" in source


@needs_dot
def test_slides_network_example_writes_svgs(tmp_path):
    ex = load_example()
    assert ex.main(["--out", str(tmp_path)]) == 0
    for stem in ("forward_layer", "backward_W1_layer", "forward_scalar", "backward_W1_scalar"):
        svg = tmp_path / f"{stem}.svg"
        tree = parse(svg.read_text(encoding="utf-8"))
        back = [g for g in groups(tree, "edge") if g.endswith("_back")]
        assert bool(back) == stem.startswith("backward"), stem
        assert (tmp_path / f"{stem}.png").stat().st_size > 1000


def test_neuron_label_is_the_composition_of_its_stages():
    xs = [Value(0.5, "x.0"), Value(-1.0, "x.1")]
    pieces = []
    for p in range(2):                          # a maxout(2) neuron: two dots, then max
        ws = [Value(0.1 * (p + i + 1), f"neurons.0.w.{p}.{i}", param=True) for i in range(2)]
        z = autodiff.dot(ws, xs)
        z.group = ("neurons.0",)
        pieces.append(z)
    out = autodiff.maximum(pieces)
    out.group = ("neurons.0",)
    d = viz.draw(out * 2.0, detail="neuron")
    assert [n.name for n in d.graph.nodes if n.kind == "op"].count("max(dot)") == 1
    d = viz.draw(out * 2.0, detail="layer")
    assert {"matmul", "max"} <= {n.name for n in d.graph.nodes if n.kind == "op"}
