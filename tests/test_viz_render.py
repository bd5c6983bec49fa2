"""The slide-style renderer: roles, colours, ids, red paths, gradients, escaping, limits.

The style numbers come from ../shared/docs/SLIDE-STYLE.md (measured from the slides'
draw.io sources); they are written out here, not imported from viz.style, so a
wrong constant in viz.style fails these tests.
"""

from __future__ import annotations

import random
import re
import shutil
import xml.etree.ElementTree as ET

import pytest

import autodiff
import viz
import viz.render
from autodiff import Value
from viz.naming import display_names

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz `dot` not installed (apt-get install graphviz)")

# role -> (shape element, fill, stroke), from SLIDE-STYLE.md
SPEC = {
    "value": ("ellipse", "#ffffff", "#000000"),
    "param": ("ellipse", "#f8cecc", "#b85450"),
    "op": ("polygon", "#dae8fc", "#6c8ebf"),
}
RED = "#ff0303"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg.encode("utf-8"))


def groups(tree: ET.Element, kind: str) -> dict[str, ET.Element]:
    """``<g class="node …">`` or ``<g class="edge …">`` elements by id."""
    return {g.get("id"): g for g in tree.iter(f"{SVG}g")
            if (g.get("class") or "").split()[:1] == [kind]}


def shape(g: ET.Element) -> ET.Element:
    found = [e for e in g.iter() if e.tag in (f"{SVG}ellipse", f"{SVG}polygon")]
    assert len(found) == 1, f"{g.get('id')}: expected one shape, got {len(found)}"
    return found[0]


def texts(g: ET.Element) -> list[tuple[str, str]]:
    return [(t.text or "", t.get("fill")) for t in g.iter(f"{SVG}text")]


def neuron_graph():
    """σ(w1·x1 + w2·x2 + b), squared error against a target; params w1, w2, b."""
    x1, x2 = Value(0.5, "x1"), Value(-1.5, "x2")
    w1, w2 = Value(0.3, "w1", param=True), Value(-0.2, "w2", param=True)
    b = Value(0.1, "b", param=True)
    h = (w1 * x1 + w2 * x2 + b).sigmoid()
    loss = (h - 1.0) ** 2
    loss.label = "l"
    return loss, (x1, x2), (w1, w2, b)


def two_branch_graph():
    """l = relu(w1·x) + 0.5·(w2·x)²: w1 and w2 on separate branches sharing x."""
    x = Value(2.0, "x")
    w1, w2 = Value(-0.7, "w1", param=True), Value(0.4, "w2", param=True)
    a = (w1 * x).relu()
    c = (w2 * x) ** 2
    loss = a + 0.5 * c
    loss.label = "l"
    return loss, x, w1, w2


def paths_edges(root: Value, targets: set[int]) -> set[str]:
    """Brute force: every edge id on some path root → … → a target, by enumerating paths."""
    order = autodiff.topological_order(root)
    index = {id(v): i for i, v in enumerate(order)}
    found: set[str] = set()

    def walk(v: Value, trail: list[str]) -> None:
        if id(v) in targets:
            found.update(trail)
        for k, a in enumerate(v.inputs):
            i, j = index[id(v)], index[id(a)]
            walk(a, trail + [f"r{i}", f"e{j}_{i}_{k}"])

    walk(root, [])
    return found


# ------------------------------------------------------------------ names

def test_names_labels_first_then_u_in_evaluation_order():
    x, w = Value(0.5, "x"), Value(-1.0, "w", param=True)
    u1 = w * x
    u2 = u1 + 2.0
    loss = u2.sigmoid() * Value(3.0)
    names = display_names(loss)
    assert names[x] == "x" and names[w] == "w"
    assert [names[u1], names[u2], names[loss.inputs[0]], names[loss]] == ["u₁", "u₂", "u₃", "u₄"]
    assert names[u2.inputs[1]] == "2" and names[loss.inputs[1]] == "3"
    assert display_names(loss, unicode=False)[loss] == "u4"


def test_names_user_label_wins_and_taken_numbers_are_skipped():
    x = Value(1.0, "x")
    a = x * 2.0
    a.label = "u1"
    b = a + x
    c = b.exp()
    c.label = "ŷ"
    root = c.log()
    names = display_names(root)
    assert names[a] == "u1" and names[c] == "ŷ"
    assert names[b] == "u₂"          # u1 is taken by the user's label
    assert names[root] == "u₃"


def test_unlabelled_parameters_get_theta_names():
    p = Value(1.0, param=True)
    names = display_names(p * 3.0)
    assert names[p] == "θ₁"


# ------------------------------------------------------------------ structure, no dot

def test_pinned_ids_in_dot_source():
    loss, _, _ = neuron_graph()
    source = viz.draw(loss, view="backward").source
    ids = set(re.findall(r'\bid="?([\w]+)"?', source))
    order = autodiff.topological_order(loss)
    expected = set()
    for i, v in enumerate(order):
        expected.add(f"n{i}")
        if not v.is_leaf:
            expected |= {f"op{i}", f"r{i}"}
            expected |= {f"e{order.index(a)}_{i}_{k}" for k, a in enumerate(v.inputs)}
    assert {i for i in ids if not i.endswith("_back")} == expected
    # every parameter (the default wrt) is reached: each edge into an op has a twin
    backs = {i[:-5] for i in ids if i.endswith("_back")}
    assert backs and backs <= expected


def test_duplicate_operands_get_one_edge_each():
    x = Value(3.0, "x")
    y = x * x
    d = viz.draw(y)
    ids = {e.id for e in d.graph.edges}
    assert {"e0_1_0", "e0_1_1", "r1"} <= ids


def test_red_edges_in_source_match_brute_force_paths_on_random_graphs():
    rnd = random.Random(7)
    for trial in range(15):
        leaves = [Value(rnd.uniform(0.5, 1.5), f"p{k}", param=rnd.random() < 0.6) for k in range(4)]
        pool = list(leaves)
        for _ in range(rnd.randint(3, 9)):
            a, b = rnd.choice(pool), rnd.choice(pool)
            pool.append(rnd.choice([a + b, a * b, (a * b).tanh(), a - b]))
        root = autodiff.sum(pool[-3:])
        params = [v for v in leaves if v.param]
        wrt = params[:1] if params else leaves[:1]
        order = autodiff.topological_order(root)
        if not any(v is wrt[0] for v in order):
            continue
        expected = paths_edges(root, {id(v) for v in wrt})
        got = {e.id for e in viz.draw(root, view="backward", wrt=wrt).graph.edges if e.on_path}
        assert got == expected, f"trial {trial}"


def test_forward_view_has_no_red_twins_and_no_gradients():
    loss, _, _ = neuron_graph()
    source = viz.draw(loss).source
    assert "_back" not in source and "#ff0303" not in source


def test_wrt_outside_the_graph_is_refused_by_name():
    loss, _, _ = neuron_graph()
    stranger = Value(1.0, "stranger", param=True)
    with pytest.raises(ValueError, match="stranger"):
        viz.draw(loss, view="backward", wrt=[stranger])


def test_bad_view_and_detail_are_refused():
    loss, _, _ = neuron_graph()
    with pytest.raises(ValueError, match="view"):
        viz.draw(loss, view="sideways")
    with pytest.raises(ValueError, match="detail"):
        viz.draw(loss, detail="atoms")


def test_label_is_escaped_in_dot_source():
    x = Value(1.0, '<script>alert(1)</script>')
    y = x * Value(2.0, 'a&b"c')
    source = viz.draw(y, view="backward").source
    # raw text appears only inside quoted tooltips, which Graphviz escapes itself
    assert "<script>" not in re.sub(r'tooltip="(?:[^"\\]|\\.)*"', "", source)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in source
    assert "a&amp;b&quot;c" in source


def test_huge_graph_is_refused_before_any_layout(monkeypatch):
    x = Value(0.5, "x")
    v = x
    for _ in range(33_333):                # 100,000 drawn nodes at the scalar level
        v = v + 1.0
    v = v.sigmoid()

    def no_layout(*args, **kwargs):
        raise AssertionError("the renderer must refuse before building DOT or running dot")
    monkeypatch.setattr(viz.render, "to_digraph", no_layout)
    monkeypatch.setattr(viz.render.subprocess, "run", no_layout)
    with pytest.raises(viz.GraphTooLarge, match="sub-expression") as info:
        viz.draw(v)                        # nothing is grouped: no coarser level to offer
    assert "max_nodes=2000" in str(info.value) and "100002 nodes" in str(info.value)
    v.group = ("layers.0", "neurons.0")
    with pytest.raises(viz.GraphTooLarge, match=r"no coarser level draws few enough") as info:
        viz.draw(v)                        # one grouped op: the neuron level still draws 66,668
    assert "detail='neuron'" not in str(info.value).split(";")[1]
    with pytest.raises(viz.GraphTooLarge):
        viz.draw(v, detail="layer")       # no groups: nothing collapses, still refused
    with pytest.raises(viz.GraphTooLarge):
        viz.draw(Value(1.0) * 2.0 + 1.0, max_nodes=3)


def test_without_dot_source_still_works_and_svg_says_how_to_install(monkeypatch, tmp_path):
    loss, _, _ = neuron_graph()
    monkeypatch.setattr(viz.render.shutil, "which", lambda name: None)
    d = viz.draw(loss)
    assert d.source.startswith("digraph")
    assert d.save(tmp_path / "g.dot").read_text().startswith("digraph")
    with pytest.raises(viz.GraphvizNotFound, match="apt-get install graphviz"):
        d.svg()
    with pytest.raises(viz.GraphvizNotFound):
        d.save(tmp_path / "g.png")
    assert d._repr_svg_() is None and "apt-get install graphviz" in repr(d)   # Jupyter falls back


def test_fonts_fall_back_when_latin_modern_is_absent(monkeypatch):
    loss, _, _ = neuron_graph()
    monkeypatch.setattr(viz.style, "fonts_available", lambda: False)
    source = viz.draw(loss).source
    assert "Latin Modern" not in source and "Times-Roman" in source


# ------------------------------------------------------------------ the SVG

@needs_dot
def test_svg_roles_shapes_and_colours_follow_the_spec():
    loss, xs, params = neuron_graph()
    loss.backward()
    tree = parse(viz.draw(loss, view="backward").svg())
    nodes = groups(tree, "node")
    order = autodiff.topological_order(loss)
    assert len(nodes) == sum(1 if v.is_leaf else 2 for v in order)
    seen = set()
    for gid, g in nodes.items():
        role = "op" if gid.startswith("op") else (
            "param" if order[int(gid[1:])].param else "value")
        tag, fill, stroke = SPEC[role]
        s = shape(g)
        assert s.tag == SVG + tag, gid
        assert (s.get("fill"), s.get("stroke"), s.get("stroke-width")) == (fill, stroke, "3"), gid
        assert all(colour in ("#000000", RED) for _, colour in texts(g)), gid
        seen.add(role)
    assert seen == {"op", "param", "value"}
    # op squares are labelled as the slides label them
    op_text = {gid: "".join(t for t, _ in texts(g)) for gid, g in nodes.items() if gid.startswith("op")}
    # (pow writes its exponent on a second line)
    assert sorted(op_text.values()) == sorted(["mul", "mul", "add", "add", "σ(·)", "sub", "powk = 2"])
    # circles are 80 px, as in the slides
    for gid, g in nodes.items():
        if not gid.startswith("op"):
            assert float(shape(g).get("rx")) == pytest.approx(40, abs=0.5)


@needs_dot
def test_svg_forward_edges_black_red_twins_exactly_on_paths_to_wrt():
    loss, x, w1, w2 = two_branch_graph()
    loss.backward()
    for wrt in ([w1], [w2], [w1, w2], [x]):
        tree = parse(viz.draw(loss, view="backward", wrt=wrt).svg())
        edges = groups(tree, "edge")
        red = set()
        for gid, g in edges.items():
            colours = {p.get("stroke") for p in g.iter(f"{SVG}path")}
            if gid.endswith("_back"):
                assert colours == {RED}, gid
                red.add(gid[:-5])
            else:
                assert colours == {"#000000"}, gid
            assert {p.get("stroke-width") for p in g.iter(f"{SVG}path")} == {"3"}
        expected = paths_edges(loss, {id(v) for v in wrt})
        assert red == expected, [v.label for v in wrt]
        assert expected and red < {gid for gid in edges if not gid.endswith("_back")}


@needs_dot
def test_svg_not_yet_computed_gradient_differs_from_zero():
    loss, x, w1, w2 = two_branch_graph()      # relu(−1.4) = 0: ∂l/∂w1 is exactly 0
    loss.backward()
    assert w1.grad == 0.0
    known = {loss, w1}
    tree = parse(viz.draw(loss, view="backward", grads_known=known).svg())
    nodes = groups(tree, "node")
    order = autodiff.topological_order(loss)
    i_w1, i_w2 = order.index(w1), order.index(w2)
    zero, unknown = nodes[f"n{i_w1}"], nodes[f"n{i_w2}"]
    assert ("0", RED) in texts(zero)
    assert "grad-known" in zero.get("class")
    assert "grad-unknown" in unknown.get("class")
    assert any(t == "?" and colour not in (RED, "#000000") for t, colour in texts(unknown))
    assert not any(colour == RED for _, colour in texts(unknown))


@needs_dot
def test_svg_escapes_labels_and_keeps_ids():
    evil = Value(1.0, "<script>alert(1)</script>")
    y = evil * Value(2.0, "</text><g>")
    y.label = "\"'&"
    tree = parse(viz.draw(y, view="backward", wrt=[evil]).svg())    # parses: the XML is intact
    assert not list(tree.iter(f"{SVG}script"))
    all_text = "".join(t.text or "" for t in tree.iter(f"{SVG}text"))
    assert "<script>alert(1)</script>" in all_text and "</text><g>" in all_text
    assert {"n0", "n1", "op2", "n2"} <= set(groups(tree, "node"))
    assert {"e0_2_0", "e1_2_1", "r2", "r2_back"} <= set(groups(tree, "edge"))


@needs_dot
def test_highlight_and_edge_labels(tmp_path):
    loss, _, (w1, w2, b) = neuron_graph()
    loss.backward()
    order = autodiff.topological_order(loss)
    i = order.index(w1)
    consumer = next(v for v in order if w1 in v.inputs)
    c = order.index(consumer)
    d = viz.draw(loss, view="backward", highlight_nodes=[w1, f"op{c}"],
                 highlight_edges=[(w1, consumer, 0)], edge_labels={f"e{i}_{c}_0_back": "0.0134 · 0.5"})
    tree = parse(d.svg())
    nodes, edges = groups(tree, "node"), groups(tree, "edge")
    assert shape(nodes[f"n{i}"]).get("stroke") not in ("#b85450",)
    assert shape(nodes[f"op{c}"]).get("stroke") != "#6c8ebf"
    assert {p.get("stroke") for p in edges[f"e{i}_{c}_0"].iter(f"{SVG}path")} != {"#000000"}
    assert "0.0134 · 0.5" in "".join(t.text or "" for t in edges[f"e{i}_{c}_0_back"].iter(f"{SVG}text"))
    assert d._repr_svg_().lstrip().startswith("<?xml")
    for suffix in (".svg", ".png", ".dot"):
        assert d.save(tmp_path / f"g{suffix}").stat().st_size > 100
    with pytest.raises(ValueError, match="suffix"):
        d.save(tmp_path / "g.jpeg")


@needs_dot
def test_svg_fonts_are_valid_css_lists():
    loss, _, _ = neuron_graph()
    svg = viz.draw(loss).svg()
    families = {t.get("font-family") for t in parse(svg).iter(f"{SVG}text")}
    assert families and all(not f.rstrip().endswith(",") for f in families)
    assert any("Latin Modern Mono" in f and f.endswith("monospace") for f in families)
    # subscripts (u₁) are moved down explicitly: browsers disagree on baseline-shift
    assert "baseline-shift" not in svg
    u = [t for t in parse(svg).iter(f"{SVG}text") if t.text == "u"][0]
    sub = [t for t in parse(svg).iter(f"{SVG}text") if t.text == "1"
           and float(t.get("x")) > float(u.get("x"))][0]
    assert float(sub.get("y")) > float(u.get("y"))


def test_too_large_names_the_coarser_level_that_fits(monkeypatch):
    """MLP(2, [40, 40, 1]) on one sample: 2,130 nodes at the scalar level, over the default
    2,000; the neuron level fits and is named with its size, before any layout."""
    import nn
    model = nn.MLP(2, [40, 40, 1], seed=0)
    out = model([0.5, -0.3])
    loss = ((out[0] if isinstance(out, list) else out) - 1.0) ** 2

    def no_layout(*args, **kwargs):
        raise AssertionError("refused before any layout")
    monkeypatch.setattr(viz.render, "slide_layout", no_layout)
    with pytest.raises(viz.GraphTooLarge, match=r"2130 nodes .*detail='scalar'.*detail='neuron' \(about \d+ nodes\)"):
        viz.draw(loss)
    with pytest.raises(viz.GraphTooLarge, match=r"detail='layer' \(about \d+ nodes\)"):
        viz.draw(loss, max_nodes=100)           # the neuron level draws more than 100
