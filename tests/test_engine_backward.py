"""The chain-rule event stream (chain_rule(record=True), autodiff.Trace), gradient hooks,
and backward under threads.

Every recorded edge must satisfy grad_after = grad_before + product with
product = upstream · local (seed 003: ∂l/∂a += ∂l/∂u · ∂u/∂a), the gradients being this
pass's sums (a leaf's earlier gradient is added once, at the end), nodes must come in
reverse topological order, and the final gradients must equal plain backward().
Hooks see a node's full gradient once per pass (a leaf: this pass's contribution
only) and may replace it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given

import autodiff
from autodiff import Value
from test_engine_graph import random_dags

# ------------------------------------------------------------------ event stream


@given(dag=random_dags())
def test_event_stream_is_consistent(dag):
    leaves, nodes = dag
    root = nodes[-1]
    for i, leaf in enumerate(leaves):
        leaf.grad = 0.25 * i  # leaves accumulate: the stream must start from these
    start = {id(v): v.grad for v in leaves}
    steps = list(autodiff.chain_rule(root, record=True))

    op_nodes = [n for n in autodiff.topological_order(root) if not n.is_leaf]
    assert [s.node for s in steps] == [s.node for s in steps if not s.node.is_leaf]
    assert len(steps) == len(op_nodes) and {id(s.node) for s in steps} == {id(n) for n in op_nodes}
    if op_nodes:
        assert steps[0].node is root and steps[0].upstream == 1.0
    done: set[int] = set()
    last_after: dict[int, float] = {}
    for step in steps:
        node = step.node
        assert id(node) not in done
        for consumer in op_nodes:  # every consumer of node was processed before it
            if any(inp is node for inp in consumer.inputs):
                assert id(consumer) in done, "a node was stepped before one of its consumers"
        done.add(id(node))
        locals_ = node._op.partials([v.data for v in node.inputs], node.data, node.attr)
        assert [e.index for e in step.edges] == list(range(len(node.inputs)))
        for e in step.edges:
            assert e.node is node and e.input is node.inputs[e.index]
            assert e.upstream == step.upstream == node.grad
            assert e.local == locals_[e.index]
            assert e.product == e.upstream * e.local
            assert e.grad_after == e.grad_before + e.product
            previous = last_after.get(id(e.input), 0.0)
            assert e.grad_before == previous, "the += did not continue from the last value"
            last_after[id(e.input)] = e.grad_after
        assert step.hooked_from is None
    for leaf in leaves:  # this pass's sum, added once to what the leaf held
        assert leaf.grad == start[id(leaf)] + last_after.get(id(leaf), -0.0)

    recorded = [v.grad for v in leaves]
    autodiff.zero_grad(leaves)
    for leaf, g in zip(leaves, start.values()):
        leaf.grad = g
    root.backward()
    assert [v.grad for v in leaves] == recorded, "record=True and backward() disagree"


def test_unrecorded_stream_yields_nothing_but_computes_gradients():
    a = Value(2.0)
    out = (a * a).tanh()
    assert list(autodiff.chain_rule(out)) == []
    assert math.isclose(a.grad, 4.0 * (1 - math.tanh(4.0) ** 2))


def test_event_stream_of_a_leaf_root_is_empty():
    a = Value(2.0)
    assert list(autodiff.chain_rule(a, record=True)) == []
    assert a.grad == 1.0


# ------------------------------------------------------------------ hooks


def test_hook_logs_the_full_gradient_once_per_pass():
    a, b = Value(0.5, "a"), Value(-2.0, "b")
    h = a * b
    out = h.tanh() + 3 * h  # two consumers: the hook sees the sum of both paths
    seen = []
    h.register_hook(seen.append)
    out.backward()
    want = (1 - math.tanh(-1.0) ** 2) + 3
    assert seen == [h.grad] and math.isclose(seen[0], want)
    out.backward()
    assert len(seen) == 2 and seen[1] == seen[0]


def test_hook_replaces_the_gradient_that_flows_on():
    a = Value(0.5, "a")
    h = a * 4
    out = h * h
    h.register_hook(lambda g: 10 * g)
    out.backward()
    assert a.grad == 10 * (2 * 2.0) * 4


def test_hooks_run_in_registration_order_and_chain():
    a = Value(1.0)
    h = a * 1
    calls = []
    h.register_hook(lambda g: calls.append(("first", g)) or g + 1)
    h.register_hook(lambda g: calls.append(("second", g)) or None)
    h.register_hook(lambda g: calls.append(("third", g)) or g * 2)
    h.backward()
    assert calls == [("first", 1.0), ("second", 2.0), ("third", 2.0)]
    assert a.grad == 4.0


def test_removed_hook_is_not_called_and_removal_twice_is_harmless():
    a = Value(1.0)
    h = a * 2
    calls = []
    remove = h.register_hook(calls.append)
    remove()
    remove()
    h.backward()
    assert calls == [] and a.grad == 2.0


def test_each_remover_removes_only_its_own_registration():
    a = Value(1.0)
    h = a * 2
    calls = []
    first = h.register_hook(calls.append)
    h.register_hook(calls.append)
    first()
    first()
    h.backward()
    assert calls == [1.0]


def test_a_leaf_hook_stops_counting_when_removed_or_when_its_leaf_is_freed():
    """Value.leaf_hooks (which sends every backward down the slow path that visits leaves)
    counts hooks on live leaves only: removing one, or dropping the leaf, takes it off."""
    import gc
    start = Value.leaf_hooks
    a = Value(1.0)
    fn = lambda g: None  # noqa: E731
    remove = a.register_hook(fn)
    assert a.hooks == (fn,)
    (a * 2).register_hook(lambda g: None)  # on an op node: not counted
    assert Value.leaf_hooks == start + 1
    remove()
    remove()
    assert Value.leaf_hooks == start and a.hooks == ()
    b = Value(1.0)
    b.register_hook(lambda g: None)
    b.register_hook(lambda g: None)
    assert Value.leaf_hooks == start + 2
    del b
    gc.collect()
    assert Value.leaf_hooks == start


def test_hook_on_a_leaf_sees_only_this_passs_contribution():
    w = Value(3.0, "w", param=True)
    out = w * w + w  # two edges into w: 2w + 1 = 7 this pass
    seen = []
    remove = w.register_hook(seen.append)
    out.backward()
    out.backward()
    assert seen == [7.0, 7.0] and w.grad == 14.0
    remove()


def test_hook_on_a_leaf_replaces_only_this_passs_contribution():
    w = Value(3.0, "w", param=True)
    w.grad = 100.0
    remove = w.register_hook(lambda g: -g)
    (w * 5).backward()
    assert w.grad == 100.0 - 5.0
    remove()


def test_hook_on_the_root():
    a = Value(2.0)
    out = a * 3
    out.register_hook(lambda g: 0.5 * g)
    out.backward()
    assert a.grad == 1.5


def test_hooked_from_in_the_event_stream():
    a = Value(1.0)
    h = a * 2
    out = h * 3
    h.register_hook(lambda g: g + 1)
    steps = {id(s.node): s for s in autodiff.chain_rule(out, record=True)}
    step = steps[id(h)]
    assert (step.hooked_from, step.upstream) == (3.0, 4.0)
    assert step.edges[0].upstream == 4.0 and a.grad == 8.0
    assert steps[id(out)].hooked_from is None


def test_hook_must_be_callable_and_return_a_number_or_none():
    h = Value(1.0) * 2
    with pytest.raises(TypeError, match="callable"):
        h.register_hook(3.0)
    h.label = "hooked"
    h.register_hook(lambda g: "nope")
    with pytest.raises(TypeError, match="'hooked'"):
        h.backward()


def test_hook_may_return_an_int_or_numpy_float64():
    for value in (2, np.float64(2.0)):
        a = Value(1.0)
        h = a * 5
        h.register_hook(lambda g, value=value: value)
        h.backward()
        assert a.grad == 10.0


def test_hook_may_return_a_numpy_float32():
    a = Value(1.0)
    h = a * 5
    h.register_hook(lambda g: g * np.float32(0.5))
    h.backward()
    assert a.grad == 2.5


@given(dag=random_dags())
def test_gradients_do_not_depend_on_unrelated_hooked_leaves(dag):
    """With a hooked leaf anywhere, backward walks leaves too; the gradients must not change."""
    leaves, nodes = dag
    root = nodes[-1]
    root.backward()
    plain = [v.grad for v in leaves]
    elsewhere = Value(0.0, "elsewhere")
    remove = elsewhere.register_hook(lambda g: None)
    try:
        autodiff.zero_grad(leaves)
        root.backward()
        assert [v.grad for v in leaves] == plain
    finally:
        remove()


@given(dag=random_dags())
def test_a_precomputed_order_gives_the_same_gradients(dag):
    leaves, nodes = dag
    root = nodes[-1]
    root.backward()
    plain = [v.grad for v in leaves]
    autodiff.zero_grad(leaves)
    for _ in autodiff.chain_rule(root, order=autodiff.topological_order(root)):
        pass
    assert [v.grad for v in leaves] == plain


# ------------------------------------------------------------------ threads


def _shared_chain():
    """The issue's reproduction: 200 tanh layers shared by two losses."""
    w = Value(0.5, "w", param=True)
    h = Value(0.3)
    for _ in range(200):
        h = (h * w + 0.05).tanh()
    return w, h, h * 2.0, h * h * 3.0


def _reference_w_grad(repeats: int) -> float:
    """∂(l1 + l2)/∂w, accumulated ``repeats`` times each: PyTorch with retain_graph when it
    is installed, else a single-threaded run of our own backward()."""
    try:
        import torch
    except ImportError:
        w, _, l1, l2 = _shared_chain()
        for _ in range(repeats):
            l1.backward()
            l2.backward()
        return w.grad
    w = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    h = torch.tensor(0.3, dtype=torch.float64)
    for _ in range(200):
        h = torch.tanh(h * w + 0.05)
    l1, l2 = h * 2.0, h * h * 3.0
    for _ in range(repeats):
        l1.backward(retain_graph=True)
        l2.backward(retain_graph=True)
    return w.grad.item()


@pytest.mark.parametrize("hooked", [False, True], ids=["plain", "hook-on-h"])
@pytest.mark.parametrize("run", ["backward", "python-pass"])
def test_two_threads_on_graphs_that_share_nodes(hooked, run):
    """Two threads run backward() on two losses over one shared chain: each pass keeps its
    sums to itself, so w.grad is the sum of 100 + 100 exact passes (50.5716), in the C core
    (run='backward'), in the Python pass (always run by chain_rule), and with a hook on h
    (which sends the C core's pass to Python)."""
    import sys
    import threading
    w, h, l1, l2 = _shared_chain()
    if hooked:
        h.register_hook(lambda g: None)
    go = threading.Barrier(2)

    def work(loss):
        go.wait()
        for _ in range(100):
            if run == "backward":
                loss.backward()
            else:
                for _ in autodiff.chain_rule(loss):
                    pass

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)   # switch threads as often as possible: interleave the passes
    try:
        threads = [threading.Thread(target=work, args=(loss,)) for loss in (l1, l2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    want = _reference_w_grad(100)
    assert math.isclose(want, 50.5716, abs_tol=5e-5)
    assert w.grad == pytest.approx(want, rel=1e-12)


def test_intermediate_gradients_are_written_once_per_pass():
    """After one backward, an intermediate node holds its gradient of that pass (as before);
    a second pass from another root replaces it rather than adding to it."""
    a = Value(2.0, "a")
    h = a * 3.0
    l1, l2 = h * 5.0, h * 7.0
    l1.backward()
    assert h.grad == 5.0 and a.grad == 15.0
    l2.backward()
    assert h.grad == 7.0 and a.grad == 15.0 + 21.0


# ------------------------------------------------------------------ Trace


def test_trace_is_read_only_and_writes_nothing():
    w = Value(3.0, "w", param=True)
    loss = (w * w + w).tanh()
    w.grad = 5.0
    trace = autodiff.Trace(loss)
    assert w.grad == 5.0 and loss.grad == 0.0     # recording writes no .grad
    for name in ("local", "product", "before", "after", "edge_input", "final"):
        with pytest.raises(ValueError):
            getattr(trace, name)[0] = 1.0
    assert trace.gradient(trace.position[w], 0) == 0.0
    assert trace.gradient(trace.position[w]) == trace.final[trace.position[w]]
    trace.apply()
    expected = 5.0 + (1 - math.tanh(12.0) ** 2) * 7.0
    assert w.grad == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("case", ["nan", "overflow", "relu-nan"])
def test_trace_apply_is_backward_errors_included(case):
    """Trace.apply (what Stepper.apply calls) raises what backward() raises, with the same
    message, and then both have written nothing."""
    def build():
        if case == "nan":
            w = Value(0.0, "w", param=True)
            return w, (w ** 0.5) * 0.0
        if case == "overflow":
            w = Value(1.0, "w", param=True)   # values 1e-200, 1, 1e200; ∂l/∂(w·1e-200) = 1e400
            return w, ((w * 1e-200) * 1e200) * 1e200
        w = Value(0.0, "w", param=True)
        return w, (w ** 0.5).relu() * 0.0
    w1, l1 = build()
    with pytest.raises((FloatingPointError, OverflowError)) as by_backward:
        l1.backward()
    assert w1.grad == 0.0 and l1.grad == 0.0
    w2, l2 = build()
    trace = autodiff.Trace(l2)
    with pytest.raises(type(by_backward.value)) as by_apply:
        trace.apply()
    assert str(by_apply.value) == str(by_backward.value)
    assert w2.grad == 0.0 and l2.grad == 0.0


@pytest.mark.skipif(not autodiff.accelerated, reason="the C core is not running (BACKPROPLAB_PURE=1 or not built)")
@given(dag=random_dags())
def test_the_c_cores_recording_is_the_python_recording_bit_for_bit(dag):
    """Trace(root) records in C when it can; Trace(root, order) always in Python: same
    order, same steps and edges, same numbers (compared as bytes, so −0.0 and NaN count)."""
    _, nodes = dag
    root = nodes[-1]
    fast, python = autodiff.Trace(root), autodiff.Trace(root, autodiff.topological_order(root))
    assert fast.nodes == python.nodes and (fast.error is None) == (python.error is None)
    for name in ("step_node", "step_upstream", "edge_start", "edge_input", "edge_operand", "local",
                 "product", "before", "after", "final"):
        a, b = getattr(fast, name), getattr(python, name)
        assert a.tobytes() == b.tobytes(), name


@pytest.mark.skipif(not autodiff.accelerated, reason="the C core is not running (BACKPROPLAB_PURE=1 or not built)")
def test_the_c_core_records_a_network_and_declines_hooks():
    from autodiff import engine
    import nn
    model = nn.MLP(3, [4, 1], activation="tanh", seed=0)
    loss = nn.mse(model([0.5, -1.0, 2.0]), [1.0])
    assert engine.core.record(loss) is not NotImplemented
    fast, python = autodiff.Trace(loss), autodiff.Trace(loss, autodiff.topological_order(loss))
    assert fast.local.tobytes() == python.local.tobytes() and fast.final.tobytes() == python.final.tobytes()
    remove = loss.inputs[0].register_hook(lambda g: None)
    assert engine.core.record(loss) is NotImplemented      # hooks run in Python
    remove()
