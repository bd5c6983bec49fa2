"""Steps at the drawing's level of detail (viz.levels): Stepper(loss, detail="neuron"|"layer")."""

from __future__ import annotations

import re
import shutil

import pytest

import autodiff
import nn
from autodiff import Value
from viz.levels import GroupStep
from viz.stepper import Stepper

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")


def mlp_loss():
    model = nn.MLP(2, [3, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    x = [Value(0.5, "x.0"), Value(-1.0, "x.1")]
    return nn.binary_cross_entropy(model(x), 1.0), model


@pytest.mark.parametrize("detail", ["neuron", "layer"])
def test_one_step_per_drawn_edge_on_a_path_and_exact_gradients(detail):
    loss, model = mlp_loss()
    loss.backward()
    expected = {id(v): v.grad for v in autodiff.topological_order(loss)}
    s = Stepper(loss, detail=detail)
    assert s.graph is not None and all(isinstance(st, GroupStep) for st in s.steps)
    nodes = {n.id: n for n in s.graph.nodes}
    # exactly the red edges into squares (a square feeding a square, matmul → add(b), holds
    # no value: its twin appears with the first step into the matmul)
    on_path_inputs = [e.id for e in s.graph.edges
                      if e.on_path and nodes[e.head].kind == "op" and nodes[e.tail].kind != "op"]
    assert sorted(st.edge_id for st in s.steps) == sorted(on_path_inputs)
    twins = {t for st in s.steps for t in st.twins}
    assert twins == {e.id + "_back" for e in s.graph.edges if e.on_path}
    assert len({st.edge_id for st in s.steps}) == len(s.steps)
    # every scalar step is applied exactly once, so the end equals backward (up to rounding)
    applied = [m for st in s.steps for m in st.members]
    assert len(applied) == len(s.scalar_steps) == len({id(m) for m in applied})
    s.goto(len(s))
    for i, v in enumerate(s.order):
        assert s.grads[i] == pytest.approx(expected[id(v)], abs=1e-12)
    assert {id(v): v.grad for v in s.order} == expected          # .grad untouched
    # backward order: the loss side first
    assert s.steps[0].result == s.graph.where[id(loss)]
    # every name in every formula is a drawn name
    drawn = {n.name for n in s.graph.nodes if n.kind != "op"}
    for st in s.steps:
        for name in re.findall(r"∂([^/∂\s·=+()ᵢⱼ]+)", st.formula + " " + st.local_formula):
            assert name in drawn, (name, st.formula)


def test_layer_steps_are_the_vector_chain_rule_with_shapes():
    loss, _ = mlp_loss()
    s = Stepper(loss, detail="layer")
    by_tail = {st.tail_name: st for st in s.steps}
    names = {n.name for n in s.graph.nodes}
    assert {"W₁", "W₂", "b₁", "b₂", "x"} <= names
    w1 = by_tail["W₁"]
    loss_name = s.loss_name
    w1_node = next(n for n in s.graph.nodes if n.name == "W₁")
    assert w1_node.note == "2×3"   # the drawing's shape: inputs × units, W ∈ ℝᵖˣᵠ
    assert w1.formula == f"∂{loss_name}/∂W₁ = x · (∂{loss_name}/∂u₁)ᵀ    [2×3] = [2] · [3]ᵀ", w1.formula
    assert sum(1 for m in w1.members if m.input.param) == 6    # one scalar step per entry of W₁
    assert {id(m.input) for m in w1.members if m.input.param} == {id(v) for v in w1.inputs}
    sig = next(st for st in s.steps if "⊙" in st.formula)
    assert re.fullmatch(rf"∂{loss_name}/∂u[₀-₉]+ = ∂{loss_name}/∂u[₀-₉]+ ⊙ σ′\(u[₀-₉]+\)    \[3\] = \[3\] ⊙ \[3\]",
                        sig.formula), sig.formula
    # W₁'s entries fill in at its own step: unknown before, complete after
    s.goto(w1.index)
    assert not any(s.complete(v) for v in w1.inputs)
    s.goto(w1.index + 1)
    assert all(s.complete(v) for v in w1.inputs)
    assert "6 of 6 entries complete" in s.change_text(w1)
    # the x side is not on a path to the parameters: no step, unless asked for
    assert "x" not in by_tail
    x = [v for v in s.order if v.label.startswith("x.")]
    assert "x" in {st.tail_name for st in Stepper(loss, detail="layer", wrt=x).steps}
    s.goto(0)
    assert repr(s) == f"<Stepper 0/{len(s)} (layer): at the start: ∂{loss_name}/∂{loss_name} = 1>"
    s.goto(w1.index + 1)   # check works on a grouped step: every scalar step it applies
    check = s.check()
    assert check.ok and check.text.startswith(f"{len(w1.members)} local derivatives checked, 0 mismatch")


def test_breakpoints_match_drawn_and_scalar_names_at_the_layer_level():
    loss, _ = mlp_loss()
    s = Stepper(loss, detail="layer")
    s.break_on("W*")
    hit = s.continue_()
    assert hit.tail_name.startswith("W")
    s.goto(0)
    s.breakpoints.clear()
    s.break_on("layers.0.neurons.1.w.0")   # a scalar label inside W₁
    assert s.continue_().tail_name == "W₁"


@needs_dot
def test_layer_frames_and_page(tmp_path):
    import xml.etree.ElementTree as ET
    from viz.html_page import page_data, write_html
    loss, _ = mlp_loss()
    s = Stepper(loss, detail="layer")
    paths = s.export_frames(tmp_path / "frames")
    assert len(paths) == len(s) + 1
    for p in paths:
        ET.parse(p)
    data = page_data(s)
    ids = {n["id"] for n in data["nodes"]}
    assert any(len(n["members"]) == 6 for n in data["nodes"])  # W₁ is one circle
    svg = write_html(s, tmp_path / "layer.html").read_text(encoding="utf-8")
    for st in data["steps"]:
        for i in st["highlight"]:
            assert f'id="{i}"' in svg, i
    assert data["lossId"] in ids
