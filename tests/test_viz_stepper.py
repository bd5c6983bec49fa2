"""The step-through debugger's Python API (viz.stepper) on the NPTEL worked example
(seed 004; golden numbers in tests/data/golden.json, task1_nptel_backprop)."""

from __future__ import annotations

import math
import random
import re
import shutil

import pytest

import autodiff
from autodiff import Value
from viz.stepper import Stepper


def nptel():
    """2-2-1 sigmoid net of seed 004, built with binary ops; returns (E, nodes by label)."""
    x1, x2 = Value(0.05, "x1"), Value(0.10, "x2")
    w = [Value(v, f"w{i + 1}", param=True) for i, v in enumerate([0.15, 0.20, 0.25, 0.30, 0.40, 0.45])]
    b1, b2 = Value(0.35, "b1", param=True), Value(0.60, "b2", param=True)
    nodes = {v.label: v for v in (x1, x2, *w, b1, b2)}

    def named(v, label):
        v.label = label
        nodes[label] = v
        return v

    in_h1 = named(w[0] * x1 + w[1] * x2 + b1, "in_H1")
    in_h2 = named(w[2] * x1 + w[3] * x2 + b1, "in_H2")
    h1, h2 = named(in_h1.sigmoid(), "out_H1"), named(in_h2.sigmoid(), "out_H2")
    in_o = named(w[4] * h1 + w[5] * h2 + b2, "in_o")
    out = named(in_o.sigmoid(), "out_o")
    E = named(0.5 * (0.01 - out) ** 2, "E")
    return E, nodes


def full(loss, **options):
    """A Stepper showing every edge of the pass (every leaf traced, constants shown),
    with ASCII names: the whole chain-rule stream."""
    leaves = [v for v in autodiff.topological_order(loss) if v.is_leaf]
    return Stepper(loss, wrt=leaves, constants=True, unicode=False, **options)


def g4(x: float) -> str:
    return f"{x:.4g}"


@pytest.fixture
def gold(golden):
    return golden["task1_nptel_backprop"]


def test_one_step_per_input_edge_in_chain_rule_order():
    E, _ = nptel()
    edges = sum(len(v.inputs) for v in autodiff.topological_order(E))
    expected = [(e.node, e.input, e.index) for ns in autodiff.chain_rule(nptel()[0], record=True)
                for e in ns.edges]
    s = full(E)
    assert len(s) == edges == len(expected)
    # same order as chain_rule on an identical graph: compare by labels/ops and operand index
    assert [(st.node.op, st.input.op or st.input.label, st.operand) for st in s.steps] == \
           [(n.op, i.op or i.label, k) for n, i, k in expected]
    assert s.position == 0 and s.current is None


def test_step_into_w5_matches_golden_partials(gold):
    E, n = nptel()
    s = full(E)
    step = s.break_on("w5") and s.continue_()
    assert step.input is n["w5"]
    assert step.local == pytest.approx(gold["partials"]["din_o/dw5"], abs=1e-12)
    assert step.local == pytest.approx(gold["values"]["out_H1"], abs=1e-12)
    assert step.upstream == pytest.approx(gold["partials"]["dE/din_o (delta_o)"], abs=1e-12)
    assert step.product == pytest.approx(gold["gradients"]["w5"], abs=1e-12)
    assert (step.grad_before, step.grad_after) == (0.0, step.product)
    u = s.names[step.node]
    assert re.fullmatch(r"u\d+", u)
    assert step.formula == (f"∂E/∂w5 += ∂E/∂{u} · ∂{u}/∂w5 = {g4(step.upstream)} · "
                            f"{g4(gold['values']['out_H1'])} = {g4(gold['gradients']['w5'])}")


def test_golden_partials_appear_as_steps(gold):
    E, n = nptel()
    s = full(E)
    into = lambda label: [st for st in s.steps if st.input is n[label]]
    p = gold["partials"]
    (st,) = into("in_o")
    assert st.upstream == pytest.approx(p["dE/dout_o"], abs=1e-12)
    assert st.local == pytest.approx(p["dout_o/din_o"], abs=1e-12)
    (st,) = into("out_H1")
    assert st.product == pytest.approx(p["dE/dout_H1"], abs=1e-12)
    (st,) = into("in_H1")
    assert st.local == pytest.approx(p["dout_H1/din_H1"], abs=1e-12)
    assert st.grad_after == pytest.approx(p["dE/din_H1 (delta_H1)"], abs=1e-12)
    (st,) = into("w1")
    assert st.local == pytest.approx(p["din_H1/dw1"], abs=1e-15)
    assert st.formula.endswith(f"= {g4(p['dE/din_H1 (delta_H1)'])} · 0.05 = {g4(gold['gradients']['w1'])}")
    b1 = into("b1")  # shared bias: one += per hidden unit, the second adds to the first
    assert sorted(st.product for st in b1) == pytest.approx(sorted(gold["b1_gradient_split"].values()), abs=1e-12)
    assert b1[1].grad_before == b1[0].grad_after


def test_final_position_equals_plain_backward_and_golden(gold):
    E, n = nptel()
    s = full(E)
    s.goto(len(s))
    for name, g in gold["gradients"].items():
        assert s.grad(n[name]) == pytest.approx(g, abs=1e-9)
    E2, n2 = nptel()
    E2.backward()
    for label in n:
        assert s.grad(n[label]) == n2[label].grad  # the same code path: bit-identical
    s.apply()  # the only method that writes .grad: exactly what backward leaves
    for label in n:
        assert n[label].grad == n2[label].grad


def test_stepping_leaves_the_users_gradients_alone(gold):
    """A Stepper keeps its own gradients: .grad is the same before, during and after
    a whole session (made after backward, stepped to the end and back, drawn)."""
    E, n = nptel()
    E.backward()
    before = {label: v.grad for label, v in n.items()}
    for s in (Stepper(E), full(E), full(E, accumulate=True)):
        assert {label: v.grad for label, v in n.items()} == before
        while s.next() is not None:
            assert n["w1"].grad == before["w1"]
        s.goto(3)
        s.why("b1")
        s.describe("w5")
        assert {label: v.grad for label, v in n.items()} == before
        assert s.at_end is False and s.grad(E) == 1.0
    s = Stepper(E)
    s.goto(len(s))
    assert s.grad("w1") == pytest.approx(gold["gradients"]["w1"], abs=1e-12)
    E3, n3 = nptel()  # a fresh graph: .grad stays 0 until apply()
    s3 = Stepper(E3)
    s3.goto(len(s3))
    assert n3["w1"].grad == 0.0
    s3.apply()
    assert n3["w1"].grad == pytest.approx(gold["gradients"]["w1"], abs=1e-12)


def test_fresh_pass_by_default_accumulate_on_request(gold):
    E, n = nptel()
    E.backward()
    s = full(E)
    s.goto(len(s))
    assert s.grad(n["w5"]) == pytest.approx(gold["gradients"]["w5"], abs=1e-12)
    s2 = full(E, accumulate=True)
    assert next(st for st in s2.steps if st.input is n["in_o"]).grad_before == 0.0  # op nodes restart
    assert next(st for st in s2.steps if st.input is n["w5"]).grad_before == pytest.approx(
        gold["gradients"]["w5"], abs=1e-12)  # leaves add to their earlier gradient
    s2.goto(len(s2))
    assert s2.grad(n["w5"]) == pytest.approx(2 * gold["gradients"]["w5"], abs=1e-12)
    s2.goto(0)
    assert s2.grad(n["w5"]) == pytest.approx(gold["gradients"]["w5"], abs=1e-12)


def test_random_access_and_back_restore_gradients():
    E, n = nptel()
    s = full(E)
    order = s.order

    def expected(p: int) -> list[float]:  # independent: initial state plus the first p products
        g = [1.0 if v is E else 0.0 for v in order]
        for st in s.steps[:p]:
            g[st.input_index] += st.product
        return g

    positions = list(range(len(s) + 1))
    random.Random(4).shuffle(positions)
    for p in positions:
        s.goto(p)
        assert s.grads == pytest.approx(expected(p), abs=1e-15)
    s.goto(len(s))
    last = s.steps[-1]
    assert s.back() is s.steps[-2]
    assert s.grad(last.input) == last.grad_before
    assert s.next() is last and s.grad(last.input) == last.grad_after
    assert s.next() is None and s.at_end
    s.goto(0)
    assert s.back() is None and s.position == 0
    with pytest.raises(IndexError, match="out of range"):
        s.goto(len(s) + 1)


def test_known_and_complete_follow_the_position():
    E, n = nptel()
    s = full(E)
    assert s.known(E) and not s.known(n["b1"])
    first, second = [st for st in s.steps if st.input is n["b1"]]
    s.goto(first.index + 1)
    assert s.known(n["b1"]) and not s.complete(n["b1"])
    assert "(partial)" in s.describe("b1")
    s.goto(second.index + 1)
    assert s.complete(n["b1"]) and "(partial)" not in s.describe("b1")
    s.goto(first.index)
    assert "= ?" in s.describe("b1")


def test_breakpoints_pattern_regex_predicate_small_and_continue():
    E, n = nptel()
    s = full(E)
    s.break_on("w*")
    hits = [st for st in s.steps if st.input.label.startswith("w")]
    found = []
    while (st := s.continue_()) is not None:
        found.append(st)
    assert found == hits and s.at_end
    s.goto(0)
    s.breakpoints.clear()
    s.break_on(re.compile(r"^b\d$"))
    assert s.continue_() is next(st for st in s.steps if st.input.label in ("b1", "b2"))
    s.breakpoints.clear()
    s.goto(0)
    s.break_on(lambda st: st.local == 0.05, "local is 0.05")
    assert s.continue_().local == 0.05
    s.breakpoints.clear()
    s.goto(0)
    s.break_on_small(1e-3)
    assert s.continue_() is next(st for st in s.steps if abs(st.grad_after) < 1e-3)
    s.breakpoints[0].enabled = False
    assert s.continue_() is None and s.at_end


def test_nonfinite_breakpoint_and_trace():
    x, w = Value(0.0, "x"), Value(2.0, "w", param=True)
    loss = w * (x ** 2) ** 0.5  # d sqrt(u)/du = inf at u = 0, then inf * 2x = inf * 0 = NaN
    s = full(loss)
    s.break_on_nonfinite()
    first = s.continue_()
    assert math.isinf(first.local) and math.isinf(first.grad_after)
    trace = s.nonfinite_trace()
    assert math.isfinite(trace[0].upstream) and math.isnan(trace[-1].grad_after)
    assert trace[0] is first and trace[-1].input is x
    assert "is finite" in s.explain_nonfinite() and "NaN" in s.explain_nonfinite()
    assert Stepper(Value(1.0, "a") * 2).nonfinite_trace() == []


def test_why_paths_multiply_locals_and_sum_to_gradient(gold):
    E, n = nptel()
    s = full(E)
    why = s.why("b1")
    assert len(why.paths) == 2 and not why.truncated
    assert sorted(p.product for p in why.paths) == pytest.approx(
        sorted(gold["b1_gradient_split"].values()), abs=1e-12)
    assert math.fsum(p.product for p in why.paths) == pytest.approx(gold["gradients"]["b1"], abs=1e-12)
    assert why.total == pytest.approx(why.grad, abs=1e-15)
    for p in why.paths:
        assert p.nodes[0] is E and p.nodes[-1] is n["b1"]
        assert p.product == pytest.approx(math.prod(p.locals), rel=1e-15)
    for label in ("x1", "x2", "w3", "out_H2"):
        w = s.why(label)
        assert math.fsum(p.product for p in w.paths) == pytest.approx(s.final_grad(n[label]), abs=1e-15)
    # a repeated operand is two edges, hence two paths
    x = Value(3.0, "x")
    sq = full(x * x)
    assert [p.operands for p in sq.why("x").paths] == [(0,), (1,)]
    assert sq.why("x").total == 6.0
    limited = s.why("x1", limit=1)
    assert limited.truncated and len(limited.paths) == 1 and limited.total == pytest.approx(s.final_grad(n["x1"]))


def test_check_compares_local_derivative_with_central_difference(clean_ops):
    E, n = nptel()
    s = full(E)
    with pytest.raises(ValueError, match="no current step"):
        s.check()
    for st in s.steps:
        assert s.check(st).ok, s.check(st).text
    wrong = autodiff.register(autodiff.Op(
        "test_wrong_square", 1, lambda a, attr=None: a * a, lambda xs, out, attr: (3 * xs[0],),
        "sq", "c = a²; ∂c/∂a = 3a (wrong on purpose)"))
    x = Value(1.5, "x")
    bad = full(autodiff.apply(wrong, (x,)) * 1.0)
    bad.goto(len(bad))
    result = bad.check()
    assert not result.ok and result.rule == 4.5 and result.numeric == pytest.approx(3.0, abs=1e-6)
    assert "MISMATCH" in str(result)


def test_hooks_run_inside_chain_rule_and_change_later_steps(gold):
    E, n = nptel()
    seen = []
    n["out_H1"].register_hook(lambda g: seen.append(g) or 2 * g)
    s = full(E)
    assert seen == [pytest.approx(gold["partials"]["dE/dout_H1"], abs=1e-12)]
    (into_in_h1,) = [st for st in s.steps if st.input is n["in_H1"]]
    assert into_in_h1.hooked_from == pytest.approx(gold["partials"]["dE/dout_H1"], abs=1e-12)
    assert into_in_h1.upstream == pytest.approx(2 * gold["partials"]["dE/dout_H1"], abs=1e-12)
    s.goto(len(s))
    assert s.grad(n["w1"]) == pytest.approx(2 * gold["gradients"]["w1"], abs=1e-12)
    assert s.grad(n["w5"]) == pytest.approx(gold["gradients"]["w5"], abs=1e-12)  # not downstream of the hook
    # stepping back across the hook restores the gradient it replaced
    s.goto(into_in_h1.index)
    assert s.grad(n["out_H1"]) == pytest.approx(gold["partials"]["dE/dout_H1"], abs=1e-12)
    s.goto(into_in_h1.index + 1)
    assert s.grad(n["out_H1"]) == pytest.approx(2 * gold["partials"]["dE/dout_H1"], abs=1e-12)


def test_leaf_hook_replacing_gradient_is_part_of_the_recording():
    E, n = nptel()
    n["w1"].register_hook(lambda g: 0.0)
    s = full(E)
    s.goto(len(s))
    assert s.grad(n["w1"]) == 0.0
    E2, n2 = nptel()
    n2["w1"].register_hook(lambda g: 0.0)
    E2.backward()
    assert [v.grad for v in autodiff.topological_order(E2)] == s.grads
    s.goto(0)
    assert s.grad(n["w1"]) == 0.0 and s.grad(n["w2"]) == 0.0
    s.goto(len(s))
    assert s.grad(n["w2"]) != 0.0


def test_lookup_names_and_errors():
    E, n = nptel()
    s = Stepper(E)
    assert s.names[n["w1"]] == "w₁"
    assert s.lookup("w1") is s.lookup("w₁") is n["w1"]
    u = next(v for v in s.order if not v.label and not v.is_leaf)
    assert s.lookup(s.names[u].translate(str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789"))) is u
    with pytest.raises(KeyError, match="no node named 'nope'"):
        s.lookup("nope")
    with pytest.raises(TypeError):
        Stepper(1.0)


def test_constants_are_left_out_by_default_without_changing_any_gradient():
    """By default the steps into unlabelled numbers (the ½ of ½e²) are hidden
    (constants=True shows them); their gradients are applied with the next step shown,
    so every position stays exact."""
    E, _ = nptel()
    variables = [v for v in autodiff.topological_order(E) if v.is_leaf and v.label]
    full_, short = Stepper(E, wrt=variables, constants=True), Stepper(E, wrt=variables)
    hidden = [st for st in full_.steps if st.input.is_leaf and not st.input.label and not st.input.param]
    assert hidden and len(short) == len(full_) - len(hidden)
    assert all(st.input.label or st.input.param or not st.input.is_leaf for st in short.steps)
    assert [st.formula for st in short.steps] == [st.formula for st in full_.steps if st not in hidden]
    short.goto(len(short))
    assert short.grads == full_.final
    for k in range(len(short) + 1):  # each node's gradient is known once it has a value
        short.goto(k)
        for v in short.order:
            if not short.known(v):
                assert short.grad(v) == 0.0 or v is E


def test_only_steps_on_paths_to_wrt_are_shown(gold):
    """wrt picks the nodes whose paths are followed: the steps shown are exactly the
    edges whose tail depends on wrt (the edges the backward drawing marks red)."""
    E, n = nptel()
    s = Stepper(E, wrt=[n["w5"]])
    assert [st.input for st in s.steps][-1] is n["w5"]
    dep = {id(n["w5"])}
    for v in s.order:
        if any(id(a) in dep for a in v.inputs):
            dep.add(id(v))
    assert all(id(st.input) in dep for st in s.steps)
    assert {id(st.input) for st in s.steps} == dep - {id(E)}
    s.goto(len(s))  # hidden steps are still applied: every gradient is complete
    assert s.grad("w1") == pytest.approx(gold["gradients"]["w1"], abs=1e-12)
    # default: the parameters (x1, x2 and the constants are not followed)
    d = Stepper(E)
    assert not any(st.input.label in ("x1", "x2") for st in d.steps)
    assert {st.input.label for st in d.steps if st.input.is_leaf} == {f"w{i}" for i in range(1, 7)} | {"b1", "b2"}
    assert Stepper(E, wrt="x1").steps[-1].input is n["x1"]
    with pytest.raises(KeyError, match="no node named 'nope'"):
        Stepper(E, wrt="nope")


def test_formulas_use_drawn_names_parentheses_and_the_instantiated_rule():
    E, n = nptel()
    s = Stepper(E)
    into = {st.input.label: st for st in s.steps if st.input.label}
    # in_o is drawn as in with a subscript o, w5 as w with a subscript 5
    assert into["in_o"].formula.startswith("∂E/∂inₒ += ∂E/∂outₒ · ∂outₒ/∂inₒ = ")
    assert into["in_o"].local_formula == f"∂outₒ/∂inₒ = σ(inₒ)(1 − σ(inₒ)) = {g4(n['out_o'].data * (1 - n['out_o'].data))}"
    u = s.names[into["w5"].node]  # w5 * out_H1, a product inside in_o
    assert re.fullmatch("u[₀-₉]+", u)
    assert into["w5"].local_formula == f"∂{u}/∂w₅ = out_H1 = {g4(n['out_H1'].data)}"
    negative = [st for st in s.steps if st.upstream < 0 or st.local < 0]
    assert negative
    for st in negative:
        assert re.search(r"= \(−[0-9.e−]+\) · |· \(−[0-9.e−]+\) =", st.formula), st.formula
    assert repr(into["w5"]) == f"<Step {into['w5'].index + 1}: {into['w5'].formula}>"
    assert repr(s).startswith(f"<Stepper 0/{len(s)} (scalar): at the start")
    s.goto(2)
    assert repr(s) == f"<Stepper 2/{len(s)} (scalar): {s.steps[1].formula}>"
    x = Value(2.0, "x")
    sq = Stepper(x ** 3)
    assert sq.steps[0].local_formula == "∂u₁/∂x = 3 · x² = 12"
    assert Stepper(Value(1.5, "a") * Value(-2.0, "b")).steps[0].formula == \
        "∂u₁/∂a += ∂u₁/∂u₁ · ∂u₁/∂a = 1 · (−2) = −2"


def test_why_limit_is_validated_and_paths_are_lazy():
    E, n = nptel()
    s = Stepper(E)
    for bad in (0, -1):
        with pytest.raises(ValueError, match="at least 1"):
            s.why("x1", limit=bad)
    for bad in (1.5, True, "3"):
        with pytest.raises(TypeError, match="integer"):
            s.why("x1", limit=bad)
    w = s.why("x1", limit=1)
    assert w.count == 2 and len(w.paths) == 1 and w.truncated and "the first 1 listed" in w.text
    # a ladder of 40 diamonds has 2**40 paths: counted exactly, listed lazily
    x = Value(0.5, "x")
    y = x
    for _ in range(40):
        y = (y * 1.01) + (y * 0.99)
    ladder = Stepper(y, wrt=x)
    w = ladder.why("x", limit=3)
    assert w.count == 2 ** 40 and len(w.paths) == 3 and w.truncated
    assert w.total == pytest.approx(2.0 ** 40, rel=1e-9) and w.total == pytest.approx(w.grad, rel=1e-12)
    first = next(ladder.paths("x"))
    assert len(first.nodes) == 2 * 40 + 1 and first.nodes[-1] is x  # (add, mul) per rung, then x


def test_why_on_a_50000_deep_chain():
    """The path count and sum are one pass over the graph and the one path is built
    once (not by copying a growing tuple), so a 50,000-deep chain answers at once
    (timed in bench/bench_why.py, not here)."""
    x = Value(0.3, "x", param=True)
    y = x
    for _ in range(50_000):
        y = y * 0.99999
    s = Stepper(y)
    w = s.why("x")
    assert w.count == 1 and len(w.paths[0].nodes) == 50_001
    assert w.total == pytest.approx(0.99999 ** 50_000, rel=1e-9) and w.grad == pytest.approx(w.total, rel=1e-12)
    assert "(49991 more)" in w.text and len(w.text) < 1000


def test_node_and_edge_steps_have_short_reprs():
    x = Value(2.0, "x")
    node_steps = list(autodiff.chain_rule((x * 3.0).tanh(), record=True))
    assert repr(node_steps[0]) == "<NodeStep tanh: ∂l/∂node = 1, 1 edge(s)>"
    edge = node_steps[1].edges[0]
    assert repr(edge) == f"<EdgeStep 'x' → mul (operand 0): grad 0 + {edge.upstream:.6g} · 3 = {edge.grad_after:.6g}>"


# ------------------------------------------------------------------ one set of names

def _formula_names(text: str) -> set[str]:
    """The names a formula differentiates (∂name), a vector's index subscript ᵢ/ⱼ dropped."""
    return {m.rstrip("ᵢⱼ") for m in re.findall(r"∂(\([^)]*\)[ᵢⱼ]*|[^/∂\s·=+()ᵀ,\[]+(?:\[[^\]]*\])?)", text)}


def _named_networks():
    import sys
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    from nptel_worked_example import build_network
    import nn
    mlp = nn.MLP(3, [4, 2], activation="tanh", seed=0)
    return {"nptel": build_network().loss, "mlp": nn.mse(mlp([0.5, -1.0, 2.0]), [1.0, 0.0])}


@pytest.mark.parametrize("detail", ["scalar", "neuron", "layer"])
@pytest.mark.parametrize("net", ["nptel", "mlp"])
def test_one_set_of_names_at_every_level(net, detail):
    """No two drawn nodes share a name; every name a formula differentiates is a drawn
    name (as the drawing writes it); the user's labels survive at every level; indices
    count from 0 in the order of the drawn shape (W₁ is inputs × units)."""
    from viz.stepformula import as_drawn
    import viz
    loss = _named_networks()[net]
    s = Stepper(loss, detail=detail)
    graph = s.graph if s.graph is not None else viz.draw(loss, view="backward").graph
    drawn = [as_drawn(n.name) for n in graph.nodes if n.kind != "op"]
    assert len(drawn) == len(set(drawn)), sorted(d for d in drawn if drawn.count(d) > 1)
    assert len(set(s.names.values())) == len(s.names)   # every scalar node, too
    for st in s.steps:
        used = _formula_names(st.formula) | _formula_names(st.local_formula)
        assert used <= set(drawn), (st.formula, st.local_formula, used - set(drawn))
    everything = " ".join(drawn)
    if net == "nptel":   # w1…w6, b1, b2 drawn (inside a vector's name at the coarse levels)
        for label in ("w₁", "w₂", "w₃", "w₄", "w₅", "w₆", "b₁", "b₂"):
            assert label in everything, (label, drawn)
    else:
        bias = "b₁[0]" if detail != "layer" else "b₁"
        assert bias in drawn, drawn
        if detail == "layer":
            w1 = next(n for n in graph.nodes if n.name == "W₁")
            assert w1.note == "3×4"                      # inputs × units
        if detail == "neuron":
            assert "W₁[:,0]" in drawn and "W₁[2,0]" in s.names.values()   # column 0: unit 0's weights
    if detail == "scalar" and net == "mlp":
        assert "W₁[2,1]" in drawn                        # input 2 → unit 1, as W₁'s shape reads
    assert str(s.why(loss)).startswith(f"{s.loss_name} is the loss")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_frames_at_the_layer_level_carry_vector_and_matrix_gradients(tmp_path):
    """Each frame shows a vector's or matrix's gradient once it is known, as ‖·‖ of its
    entries (what the page shows), read from the stepper at that position: unknown (?) at
    the start, the norm of the final gradients at the end."""
    import nn
    from viz.naming import format_number
    mlp = nn.MLP(3, [4, 2], activation="tanh", seed=0)
    loss = nn.mse(mlp([0.5, -1.0, 2.0]), [1.0, 0.0])
    s = Stepper(loss, detail="layer")
    paths = s.export_frames(tmp_path)
    w1 = next(n for n in s.graph.nodes if n.name == "W₁")
    norm = math.sqrt(math.fsum(s.final_grad(m) ** 2 for m in w1.members))
    first, last = paths[0].read_text(), paths[-1].read_text()

    def texts_of(svg: str, node_id: str) -> str:
        block = re.search(r'<g id="%s" class="node[^"]*">(.*?)</g>' % re.escape(node_id), svg, re.S)
        return " ".join(re.findall(r">([^<>]+)</text>", block[1])) if block else ""
    assert "?" in texts_of(first, w1.id) and "‖" not in texts_of(first, w1.id)
    assert f"‖·‖ {format_number(norm)}" in texts_of(last, w1.id).replace("&#160;", " "), texts_of(last, w1.id)
    assert all(w1.members[0].grad == 0.0 for _ in [0])   # .grad untouched by drawing


def test_softmax_local_rule_is_instantiated():
    """∂sₖ/∂aⱼ = sₖ(δₖⱼ − sⱼ) written with this node's names and numbers, not the generic rule."""
    a = [Value(x, f"a{i}") for i, x in enumerate([0.5, -1.0, 2.0])]
    s = autodiff.softmax(a)
    st = Stepper(s[0] * 2.0, wrt=a)
    rules = {step.input.label: step.local_formula for step in st.steps if step.input.label}
    s0 = s[0].data
    e = [math.exp(x.data) for x in a]
    assert "δ" not in " ".join(rules.values())
    assert rules["a0"].endswith(f"= {st.fmt(s0)} · {st.fmt(1 - s0)} = {st.fmt(s0 * (1 - s0))}"), rules["a0"]
    s2 = e[2] / sum(e)
    assert rules["a2"].endswith(f"= −{st.fmt(s0)} · {st.fmt(s2)} = {st.fmt(-s0 * s2)}"), rules["a2"]


@pytest.mark.parametrize("case", ["nan", "overflow", "fine"])
def test_apply_is_backward_errors_included(case):
    """Stepper(l).apply() is l.backward(): the same FloatingPointError/OverflowError (same
    message, nothing written) where backward raises, the same .grad everywhere otherwise —
    also after stepping, and with accumulation into leaves that held a gradient."""
    def build():
        w = Value(0.0 if case == "nan" else 1.0, "w", param=True)
        if case == "nan":
            return w, (w ** 0.5) * 0.0
        if case == "overflow":
            return w, ((w * 1e-200) * 1e200) * 1e200
        return w, (w * 3.0).tanh() * (w + 2.0)
    w1, l1 = build()
    w2, l2 = build()
    w1.grad = w2.grad = 0.25
    s = Stepper(l2)
    s.goto(len(s) // 2)
    if case == "fine":
        l1.backward()
        s.apply()
        assert w2.grad == w1.grad and l2.grad == l1.grad
        return
    with pytest.raises((FloatingPointError, OverflowError)) as by_backward:
        l1.backward()
    with pytest.raises(type(by_backward.value)) as by_apply:
        s.apply()
    assert str(by_apply.value) == str(by_backward.value)
    assert w1.grad == w2.grad == 0.25


@pytest.mark.skipif(shutil.which("neato") is None, reason="Graphviz is not installed")
def test_an_edge_label_beside_a_vertical_edge_clears_its_arrowheads():
    """The frame's "× local" label on a vertical parameter edge (w₅ → its op) starts to the
    right of both arrowheads (the forward one and the red twin's), not on top of them."""
    E, n = nptel()
    s = Stepper(E)
    step = next(st for st in s.steps if st.input is n["w5"])
    s.goto(step.index + 1)
    svg = s.frame_svg()
    label = f"× {s.fmt(step.local)}"
    xs = []
    for gid in (step.edge_id, step.edge_id + "_back"):
        block = re.search(r'<g id="%s" class="edge[^"]*">(.*?)</g>' % re.escape(gid), svg, re.S)[1]
        path = re.search(r' d="([^"]+)"', block)[1]
        pts = [float(x) for x in re.findall(r"(-?[\d.]+),", path)]
        assert max(pts) - min(pts) < 1.0, "the w₅ edge is vertical in the slide layout"
        xs += [float(x) for x in re.findall(r"(-?[\d.]+),-?[\d.]+", " ".join(re.findall(r'points="([^"]+)"', block)))]
    text = re.search(r'<text text-anchor="(\w+)" x="([\d.]+)"[^>]*>%s</text>' % re.escape(label), svg)
    assert text is not None, label
    start = float(text[2]) - (0 if text[1] == "start" else 40)
    assert start >= max(xs) + 5, (start, max(xs))
