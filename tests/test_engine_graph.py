"""Graph structure and backward semantics.

Reused nodes (the chain rule sums over every path: ∂l/∂a = Σ_paths), operand order,
the 100,000-deep chain at the default recursion limit, repeated backward (leaves
accumulate as in PyTorch, intermediate gradients are recomputed), zero_grad,
topological_order, no_grad, and the absence of reference cycles.
"""

from __future__ import annotations

import gc
import math
import sys
from contextlib import contextmanager

import pytest
from hypothesis import given, strategies as st

import autodiff
from autodiff import Value

DEPTH = 100_000


# ------------------------------------------------------------------ reused nodes


def test_a_plus_a():
    a = Value(3.0, "a")
    c = a + a
    assert c.inputs == (a, a) and c.data == 6.0
    c.backward()
    assert a.grad == 2.0


def test_a_times_a():
    a = Value(-3.0, "a")
    c = a * a
    assert c.inputs == (a, a)
    c.backward()
    assert a.grad == -6.0


def test_a_minus_a():
    a = Value(3.0, "a")
    c = a - a
    assert c.inputs == (a, a) and c.data == 0.0
    c.backward()
    assert a.grad == 0.0  # +1 and −1 along the two edges


def test_a_over_a():
    a = Value(3.0, "a")
    (a / a).backward()
    assert math.isclose(a.grad, 0.0, abs_tol=1e-15)


@given(x=st.floats(-10, 10, allow_nan=False))
def test_x_cubed_by_repeated_product(x):
    v = Value(x, "x")
    y = v * v * v
    y.backward()
    assert math.isclose(v.grad, 3 * x * x, rel_tol=1e-14, abs_tol=1e-300)


def test_a_node_used_by_three_consumers():
    a, b = Value(0.7, "a"), Value(-1.3, "b")
    h = a * b  # consumed by tanh, by mul (twice: h * h) and by a sum
    out = h.tanh() + h * h + autodiff.sum([h, b])
    out.backward()
    hv = 0.7 * -1.3
    dh = (1 - math.tanh(hv) ** 2) + 2 * hv + 1.0
    assert math.isclose(h.grad, dh, rel_tol=1e-14)
    assert math.isclose(a.grad, dh * -1.3, rel_tol=1e-14)
    assert math.isclose(b.grad, dh * 0.7 + 1.0, rel_tol=1e-14)


def test_duplicates_kept_in_order_in_nary_inputs():
    a, b = Value(2.0, "a"), Value(5.0, "b")
    z = autodiff.dot([a, a], [b, a], a)
    assert z.inputs == (a, a, b, a, a)
    assert z.data == 2 * 5 + 2 * 2 + 2
    z.backward()
    # ∂z/∂a = x₁ + x₂ + w₂ + 1 = 5 + 2 + 2 + 1 along the four edges into a
    assert (a.grad, b.grad) == (10.0, 2.0)
    s = autodiff.sum([b, a, b])
    assert s.inputs == (b, a, b)
    m = autodiff.maximum([a, b, a])
    assert m.inputs == (a, b, a)


# ------------------------------------------------------------------ operand order


def test_operand_order_of_sub_div_pow():
    a, b = Value(3.0, "a"), Value(2.0, "b")
    for node, data in [(a - b, 1.0), (b - a, -1.0), (a / b, 1.5), (b / a, 2.0 / 3.0),
                       (a ** b, 9.0), (b ** a, 8.0)]:
        assert node.data == data
    assert (a - b).inputs == (a, b) and (b - a).inputs == (b, a)
    assert (a / b).inputs == (a, b) and (a ** b).inputs == (a, b) and (b ** a).inputs == (b, a)
    a_minus, a_over, a_pow = a - b, a / b, a ** b
    for node, da, db in [(a_minus, 1.0, -1.0), (a_over, 0.5, -0.75),
                         (a_pow, 2 * 3.0, 9.0 * math.log(3.0))]:
        autodiff.zero_grad([a, b])
        node.backward()
        assert math.isclose(a.grad, da) and math.isclose(b.grad, db), node.op


def test_numbers_on_either_side_become_unlabelled_constant_leaves():
    a = Value(3.0, "a")
    cases = [(2 - a, "sub", -1.0), (a - 2, "sub", 1.0), (2 / a, "div", 2 / 3), (a / 2, "div", 1.5),
             (2 ** a, "powv", 8.0), (2 * a, "mul", 6.0), (a * 2, "mul", 6.0), (2 + a, "add", 5.0)]
    for node, op, data in cases:
        assert node.op == op and math.isclose(node.data, data)
        const = node.inputs[0] if node.inputs[1] is a else node.inputs[1]
        assert const.is_leaf and const.label == "" and const.data == 2.0 and not const.param
    assert (2 - a).inputs[1] is a and (a - 2).inputs[0] is a
    assert (2 ** a).inputs[1] is a
    p = a ** 2
    assert p.op == "pow" and p.inputs == (a,) and p.attr == 2.0
    assert (-a).op == "neg" and (-a).inputs == (a,)
    assert +a is a


def test_leaf_identity_and_fields():
    w = Value(0.15, "w1", param=True)
    assert (w.data, w.grad, w.label, w.param, w.op, w.inputs, w.is_leaf, w.group) == (
        0.15, 0.0, "w1", True, "", (), True, None)
    assert isinstance(Value(2).data, float)
    assert autodiff.describe(w) == "node 'w1' [parameter, data=0.15]"
    assert "w1" in repr(w)
    assert Value(1.0) != Value(1.0)  # no value equality: nodes are distinct graph vertices
    assert len({Value(1.0), Value(1.0)}) == 2
    assert not hasattr(w, "__dict__"), "nodes use __slots__"


# ------------------------------------------------------------------ deep chain


@contextmanager
def default_recursion_limit():
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(1000)  # CPython's default, whatever the test runner set
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def test_deep_chain_at_default_recursion_limit():
    """y = tanh(tanh(…tanh(x))) 100,000 deep: forward, backward, topological_order, zero_grad.

    dy/dx = Πₖ (1 − yₖ²) over the iterates yₖ, computed here with plain floats."""
    with default_recursion_limit():
        x = Value(0.5, "x")
        y = x
        for _ in range(DEPTH):
            y = y.tanh()
        y.backward()
        value, expected = 0.5, 1.0
        for _ in range(DEPTH):
            value = math.tanh(value)
            expected *= 1.0 - value * value
        assert y.data == value
        assert math.isclose(x.grad, expected, rel_tol=1e-9)
        assert y.inputs[0].grad == 1.0 - value * value
        order = autodiff.topological_order(y)
        assert len(order) == DEPTH + 1 and order[0] is x and order[-1] is y
        assert all(a.inputs == (b,) for b, a in zip(order, order[1:]))
        autodiff.zero_grad(y)
        assert all(n.grad == 0.0 for n in order)
        repr(y)
        del order
        del y  # freeing a deep chain must not overflow the C stack either


# ------------------------------------------------------------------ repeated backward


def test_double_backward():
    a = Value(1.0, "a")
    b = a * 2
    c = b * 3
    c.backward()
    assert (a.grad, b.grad, c.grad) == (6.0, 3.0, 1.0)
    c.backward()
    assert (a.grad, b.grad, c.grad) == (12.0, 3.0, 1.0)


def test_leaves_accumulate_across_calls_and_roots():
    w, x = Value(2.0, "w", param=True), Value(3.0, "x")
    l1 = w * x
    l2 = (w * w).tanh()
    l1.backward()
    l1.backward()
    assert (w.grad, x.grad) == (6.0, 4.0)
    l2.backward()
    assert math.isclose(w.grad, 6.0 + 4.0 * (1 - math.tanh(4.0) ** 2))
    autodiff.zero_grad([w, x])
    l1.backward()
    assert (w.grad, x.grad) == (3.0, 2.0)


def test_backward_from_an_intermediate_node_and_from_a_leaf():
    a = Value(2.0, "a")
    b = a * a
    c = b + 1
    c.backward()
    b.backward()  # b is now the root: its gradient is 1, a gains 2a
    assert (b.grad, a.grad) == (1.0, 8.0)
    leaf = Value(5.0)
    leaf.backward()
    leaf.backward()
    assert leaf.grad == 2.0  # ∂leaf/∂leaf = 1 per call, accumulated like any leaf


def test_gradient_of_a_node_outside_the_roots_graph_is_untouched():
    a = Value(2.0)
    b = a * 3
    other = a + 1
    other.grad = 42.0
    b.backward()
    assert other.grad == 42.0


# ------------------------------------------------------------------ zero_grad


def test_zero_grad_on_a_root_clears_the_whole_graph():
    a, b = Value(2.0, "a"), Value(3.0, "b")
    c = (a * b).tanh() + a
    c.backward()
    nodes = autodiff.topological_order(c)
    assert any(n.grad != 0 for n in nodes)
    autodiff.zero_grad(c)
    assert all(n.grad == 0.0 for n in nodes)


def test_zero_grad_on_a_list_clears_only_those():
    a, b = Value(2.0, "a"), Value(3.0, "b")
    c = a * b
    c.backward()
    autodiff.zero_grad([a])
    assert (a.grad, b.grad, c.grad) == (0.0, 2.0, 1.0)
    autodiff.zero_grad(iter([b, c]))
    assert (b.grad, c.grad) == (0.0, 0.0)


def test_zero_grad_rejects_non_values():
    with pytest.raises(TypeError, match="zero_grad"):
        autodiff.zero_grad([Value(1.0), 3.0])


# ------------------------------------------------------------------ topological order


@st.composite
def random_dags(draw):
    """A random DAG of binary/unary/n-ary nodes over a few leaves; returns (leaves, nodes)."""
    leaves = [Value(draw(st.floats(-2, 2)), f"x{i}") for i in range(draw(st.integers(1, 4)))]
    nodes = list(leaves)
    for _ in range(draw(st.integers(1, 25))):
        kind = draw(st.sampled_from(["add", "mul", "tanh", "sum", "dot"]))
        pick = lambda: nodes[draw(st.integers(0, len(nodes) - 1))]  # noqa: E731
        if kind == "add":
            nodes.append(pick() + pick())
        elif kind == "mul":
            nodes.append(pick() * pick())
        elif kind == "tanh":
            nodes.append(pick().tanh())
        elif kind == "sum":
            nodes.append(autodiff.sum([pick() for _ in range(draw(st.integers(1, 4)))]))
        else:
            n = draw(st.integers(1, 3))
            nodes.append(autodiff.dot([pick() for _ in range(n)], [pick() for _ in range(n)], pick()))
    return leaves, nodes


def reachable(root):
    seen, todo = {id(root): root}, [root]
    while todo:
        for inp in todo.pop().inputs:
            if id(inp) not in seen:
                seen[id(inp)] = inp
                todo.append(inp)
    return seen


@given(dag=random_dags())
def test_topological_order_properties(dag):
    _, nodes = dag
    root = nodes[-1]
    order = autodiff.topological_order(root)
    position = {id(n): i for i, n in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    assert set(position) == set(reachable(root)), "not exactly the nodes of the graph"
    assert order[-1] is root
    for n in order:
        for inp in n.inputs:
            assert position[id(inp)] < position[id(n)], "an input after its consumer"


@given(dag=random_dags())
def test_backward_twice_equals_twice_the_gradient(dag):
    leaves, nodes = dag
    root = nodes[-1]
    root.backward()
    once = [v.grad for v in leaves]
    inner = {id(n): n.grad for n in autodiff.topological_order(root) if not n.is_leaf}
    root.backward()
    for v, g in zip(leaves, once):
        assert math.isclose(v.grad, 2 * g, rel_tol=1e-12, abs_tol=1e-300)
    for n in autodiff.topological_order(root):
        if not n.is_leaf:
            assert n.grad == inner[id(n)], "an intermediate gradient was double-counted"


# ------------------------------------------------------------------ no_grad


def test_no_grad_results_are_leaves():
    a = Value(2.0, "a")
    with autodiff.no_grad():
        assert not autodiff.is_grad_enabled()
        b = (a * 3).tanh()
        s = autodiff.softmax([a, b])
    assert autodiff.is_grad_enabled()
    assert b.is_leaf and b.op == "" and b.inputs == () and b.data == math.tanh(6.0)
    assert all(x.is_leaf for x in s)
    c = a * b  # grad flows to a only through the recorded edge
    c.backward()
    assert a.grad == b.data and b.grad == 2.0


def test_no_grad_as_a_decorator():
    @autodiff.no_grad()
    def evaluate(v):
        assert not autodiff.is_grad_enabled()
        return v * 2

    assert evaluate(Value(1.0)).is_leaf
    assert autodiff.is_grad_enabled()


def test_no_grad_nests_and_restores_on_exception():
    assert autodiff.is_grad_enabled()
    with autodiff.no_grad():
        with autodiff.no_grad():
            assert not autodiff.is_grad_enabled()
        assert not autodiff.is_grad_enabled()
    assert autodiff.is_grad_enabled()
    with pytest.raises(ValueError):
        with autodiff.no_grad():
            Value(-1.0).log()
    assert autodiff.is_grad_enabled()
    assert not (Value(1.0) + 1).is_leaf


# ------------------------------------------------------------------ reference cycles


def count_values() -> int:
    return sum(1 for o in gc.get_objects() if type(o) is Value)


def network(n_nodes: int):
    """A graph of about ``n_nodes`` nodes: a chain of layers of dot/tanh units, shared inputs."""
    x = [Value(0.1 * i, f"x{i}") for i in range(3)]
    y, count = Value(0.3, "y0"), 0
    while count < n_nodes:
        w = Value(0.01 * (count % 7), "w", param=True)
        y = autodiff.dot([w, x[0]], [y, x[1]], x[2]).tanh() * 0.5
        count += 5
    return x, y


def mixed_graph():
    """A small graph using every kind of op, with a hook on an op node."""
    x = [Value(0.1 * (i + 1), f"x{i}") for i in range(4)]
    y = Value(0.3, "y0")
    for i in range(20):
        w = Value(0.01 * i, "w", param=True)
        z = autodiff.dot([w, x[0]], [y, x[1]], x[2])
        s = autodiff.softmax([z, x[3], y])
        y = (autodiff.sum(s) * z.tanh() + autodiff.maximum([y, z]) ** 2).sigmoid() / 2 - x[0].exp()
        y = y.relu() + y.leaky_relu(0.1) + y.elu(0.5) + y.abs() + y.sign() + y.step() + x[3].log()
        y = y * (x[1] ** x[2]) - (-y)
        y.register_hook(lambda g: None)
    return x, y


def test_no_reference_cycles_in_a_100k_node_graph():
    gc.collect()
    baseline = count_values()
    gc.disable()
    try:
        x, root = network(DEPTH)
        root.backward()
        assert count_values() >= baseline + DEPTH
        del root, x
        assert count_values() == baseline, "nodes survived the drop: a reference cycle"
        assert gc.collect() == 0, "the garbage collector found cycles to free"
    finally:
        gc.enable()


def test_no_reference_cycles_with_every_op_hooks_and_the_event_stream():
    gc.collect()
    baseline = count_values()
    gc.disable()
    try:
        x, root = mixed_graph()
        root.backward()
        steps = list(autodiff.chain_rule(root, record=True))
        assert steps
        del root, x, steps
        assert count_values() == baseline, "nodes survived the drop: a reference cycle"
        assert gc.collect() == 0, "the garbage collector found cycles to free"
    finally:
        gc.enable()


def test_a_leaf_with_a_removed_hook_is_freed():
    gc.collect()
    baseline = count_values()
    gc.disable()
    try:
        leaf = Value(1.0, "leaf")
        remove = leaf.register_hook(lambda g: None)
        (leaf * 2).backward()
        remove()
        del leaf, remove
        assert count_values() == baseline
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_a_dropped_leaf_with_a_hook_is_freed():
    gc.collect()
    baseline = count_values()
    leaf = Value(1.0, "leaf")
    leaf.register_hook(lambda g: None)
    del leaf
    gc.collect()
    assert count_values() == baseline


def test_no_cycles_after_a_caught_domain_error():
    """Exceptions raised while building a node must not tie the operands into a cycle."""
    gc.collect()
    baseline = count_values()
    gc.disable()
    try:
        for bad in (lambda: Value(0.0, "z").log(), lambda: Value(1.0) / 0,
                    lambda: Value(1000.0).exp(), lambda: Value(0.0) ** -1):
            try:
                bad()
            except (ValueError, ArithmeticError):
                pass
        assert count_values() == baseline
        assert gc.collect() == 0
    finally:
        gc.enable()


def test_no_cycles_after_a_nan_result():
    gc.collect()
    baseline = count_values()
    gc.disable()
    try:
        try:
            Value(math.inf) - Value(math.inf)
        except ValueError:
            pass
        assert count_values() == baseline
        assert gc.collect() == 0
    finally:
        gc.enable()


# ------------------------------------------------------------------ the public surface


def test_the_issue_example():
    x1, x2 = Value(0.05, "x1"), Value(0.10, "x2")
    w1 = Value(0.15, "w1", param=True)
    h = (w1 * x1 + x2).sigmoid()
    loss = 0.5 * (0.01 - h) ** 2
    loss.backward()
    hv = 1 / (1 + math.exp(-(0.15 * 0.05 + 0.10)))
    assert math.isclose(h.data, hv, rel_tol=1e-15)
    assert math.isclose(w1.grad, (hv - 0.01) * hv * (1 - hv) * 0.05, rel_tol=1e-12)
    assert loss.op == "mul" and loss.inputs[0].data == 0.5 and loss.inputs[1].op == "pow"
    assert loss.inputs[1].inputs[0].inputs[1] is h


def test_exported_names():
    for name in ("Value OPS Op register apply describe sum dot maximum softmax backward chain_rule "
                 "topological_order zero_grad NodeStep EdgeStep no_grad is_grad_enabled gradcheck "
                 "GradcheckError").split():
        assert hasattr(autodiff, name), name
    a = Value(2.0)
    autodiff.backward(a * a)
    assert a.grad == 4.0
