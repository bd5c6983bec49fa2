"""The compiled path equals the eager engine, sample by sample, on random graphs.

Reference semantics: for each sample b, build the graph with the sample's inputs, run eager
``backward()``; the compiled tape must give the same node values, the same per-sample node
gradients, and parameter gradients equal to the mean (or sum) of the eager ones, to 1e-12.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autodiff
from autodiff import Value
from autodiff.compile import compile as compile_graph

UNARY = ["neg", "exp", "log", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "sign", "step", "abs", "pow"]
BINARY = ["add", "sub", "mul", "div", "powv"]
NARY = ["sum", "dot", "max", "softmax", "layer"]
OPS = UNARY + BINARY + NARY

step_strategy = st.tuples(st.sampled_from(OPS),
                          st.lists(st.integers(0, 10 ** 6), min_size=1, max_size=4),
                          st.integers(0, 3))
recipe_strategy = st.fixed_dictionaries({
    "n_in": st.integers(1, 3), "n_par": st.integers(0, 3), "n_const": st.integers(0, 2),
    "steps": st.lists(step_strategy, min_size=1, max_size=10),
    "seed": st.integers(0, 2 ** 31 - 1), "B": st.integers(1, 4),
})


def close(compiled, eager, what: str) -> None:
    compiled, eager = np.asarray(compiled, float), np.asarray(eager, float)
    err = np.abs(compiled - eager) / np.maximum(1.0, np.abs(eager))
    assert np.all(err <= 1e-12), f"{what}: compiled {compiled} vs eager {eager}"


class Recipe:
    """A random graph, rebuildable on new input values with the same parameter Values."""

    def __init__(self, r: dict) -> None:
        self.r = r
        rng = np.random.default_rng(r["seed"])
        self.params = [Value(float(rng.normal()), f"p{i}", param=True) for i in range(r["n_par"])]
        self.consts = [float(rng.normal()) for _ in range(r["n_const"])]
        self.batch = rng.uniform(-1.5, 1.5, (r["B"], r["n_in"]))
        self.layer_params: dict = {}
        self.rng = rng

    def fresh(self, key) -> Value:
        if key not in self.layer_params:
            self.layer_params[key] = Value(float(self.rng.normal()), f"w{key}", param=True)
        return self.layer_params[key]

    def build(self, x: list[Value]) -> tuple[Value, list[Value]]:
        pool: list[Value] = list(x) + self.params + [Value(c, f"c{i}") for i, c in enumerate(self.consts)]
        made: list[Value] = []
        for s, (name, picks, extra) in enumerate(self.r["steps"]):
            ops = [pool[i % len(pool)] for i in picks]
            a = ops[0]
            b = ops[1] if len(ops) > 1 else pool[-1]
            if name == "exp":
                v = (a.tanh() * 2.0).exp()
            elif name == "log":
                v = (a.abs() + 0.5).log()
            elif name == "pow":
                k = [2.0, 3.0, -1.0, 0.5][extra]
                v = a ** k if k > 0 and k.is_integer() else (a * a + 0.5) ** k
            elif name == "leaky_relu":
                v = a.leaky_relu(0.1)
            elif name == "elu":
                v = a.elu(1.5)
            elif name in UNARY:
                v = getattr(a, name)() if name != "neg" else -a
            elif name == "div":
                v = a / (b * b + 0.5)
            elif name == "powv":
                v = (a * a + 0.5) ** b.tanh()
            elif name in ("add", "sub", "mul"):
                v = {"add": a + b, "sub": a - b, "mul": a * b}[name]
            elif name == "sum":
                v = autodiff.sum(ops)
            elif name == "max":
                v = autodiff.maximum(ops)
            elif name == "softmax":
                outs = autodiff.softmax(ops)
                v = outs[extra % len(outs)]
                made.extend(outs[:extra % len(outs)])
            elif name == "dot":
                n = max(1, len(ops) // 2)
                v = autodiff.dot(ops[:n], ops[-n:], b if extra % 2 else None)
            else:  # "layer": k neurons with fresh parameter weights reading one input list;
                # bias: fresh parameters, none (extra 2), or one shared node of the pool (extra 3)
                k = 1 + extra
                bias = [self.fresh((s, i, "b")) if extra < 2 else (None if extra == 2 else b) for i in range(k)]
                outs = [autodiff.dot([self.fresh((s, i, j)) for j in range(len(ops))], ops, bias[i]).tanh()
                        for i in range(k)]
                made.extend(outs[:-1])
                v = outs[-1]
            made.append(v)
            pool.append(v)
        return autodiff.sum(made), made


def eager_reference(rec: Recipe):
    """Per-sample losses, node values and node grads; the summed parameter gradients."""
    params = rec.params + list(rec.layer_params.values())
    autodiff.zero_grad(params)
    losses, values, grads = [], [], []
    for row in rec.batch:
        root, made = rec.build([Value(float(v)) for v in row])
        root.backward()
        losses.append(root.data)
        values.append([v.data for v in made])
        grads.append([v.grad for v in made])
    return np.array(losses), np.array(values).T, np.array(grads).T, np.array([p.grad for p in params])


@settings(max_examples=80, deadline=None)
@given(recipe_strategy)
def test_random_graphs_match_eager(r):
    rec = Recipe(r)
    xs = [Value(0.0, f"x{i}") for i in range(r["n_in"])]
    root, made = rec.build(xs)            # creates the layer parameters on first build
    params = rec.params + list(rec.layer_params.values())
    losses, values, grads, psum = eager_reference(rec)
    tape = compile_graph(root, xs)
    autodiff.zero_grad(params)
    close(tape.forward(rec.batch), losses, "per-sample loss")
    tape.backward(reduction="mean")
    close([p.grad for p in params], psum / r["B"], "mean parameter gradients")
    order = autodiff.topological_order(root)
    reached = {id(v) for v in order}
    needs = tape.graph_plan.trace.needs_grad
    variant = {id(x) for x in xs}  # nodes that read an input; the others run once per batch
    for v in order:
        if any(id(a) in variant for a in v.inputs):
            variant.add(id(v))
    invariant_users = {id(a) for v in order if id(v) not in variant for a in v.inputs}
    read_by_variant = {id(a) for v in order if id(v) in variant for a in v.inputs} | {id(root)}

    def per_sample_kept(v):
        if id(v) in invariant_users:
            return False
        return v.is_leaf or id(v) in variant or id(v) in read_by_variant

    used = [p for p in params if id(p) in reached]
    close(tape.values_of(made + xs + used).T,
          np.vstack([values, rec.batch.T] + [[[p.data] * r["B"] for p in used]] * bool(used)), "values_of")
    for i, v in enumerate(made):
        assert id(v) in reached
        close(tape.value_of(v), values[i], f"value of node {i} ({v.op})")
        if id(v) in needs and per_sample_kept(v):
            close(tape.grad_of(v), grads[i], f"grad of node {i} ({v.op})")
        elif id(v) in needs:
            with pytest.raises(ValueError, match="batch-invariant"):
                tape.grad_of(v)
    for p in params:
        if id(p) in reached and per_sample_kept(p):
            eager_per_sample = []
            for row in rec.batch:  # per-sample parameter gradient, summed over its uses
                autodiff.zero_grad([p])
                rec.build([Value(float(v)) for v in row])[0].backward()
                eager_per_sample.append(p.grad)
            close(tape.grad_of(p), eager_per_sample, f"per-sample grad of {p.label}")
    autodiff.zero_grad(params)
    tape.backward(reduction="sum")
    close([p.grad for p in params], psum, "summed parameter gradients")


# ------------------------------------------------------------------ small graphs by hand
def tiny_mlp(n_in=4, hidden=3, seed=0):
    rng = np.random.default_rng(seed)
    xs = [Value(0.0, f"x{i}") for i in range(n_in)]
    W = [[Value(float(rng.normal()), f"w{i}{j}", param=True) for j in range(n_in)] for i in range(hidden)]
    b = [Value(float(rng.normal()), f"b{i}", param=True) for i in range(hidden)]
    v = [Value(float(rng.normal()), f"v{i}", param=True) for i in range(hidden)]
    h = [autodiff.dot(W[i], xs, b[i]).sigmoid() for i in range(hidden)]
    loss = (autodiff.dot(v, h) - xs[0]) ** 2
    return xs, loss, [p for row in W for p in row] + b + v


def test_wrong_width_names_expected_width():
    xs, loss, _ = tiny_mlp()
    tape = compile_graph(loss, xs)
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        tape.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match=r"\(B, 4\)"):
        tape.forward(np.zeros(3))
    assert tape.forward(np.zeros(4)).shape == (1,)  # one sample as a 1-D row


def test_matmul_block_detected_for_dense_layers():
    xs, loss, _ = tiny_mlp(n_in=4, hidden=3)
    plan = compile_graph(loss, xs).plan()
    blocks = [d for d in plan if d["kind"] == "matmul"]
    assert [(d["shape"], d["bias"]) for d in blocks] == [((3, 4), "param"), ((1, 3), None)]
    assert not any(d["kind"] == "dot" for d in plan)


def test_value_of_inputs_and_outputs_not_read_by_the_loss():
    xs, loss, _ = tiny_mlp(n_in=4, hidden=3)
    extra = xs[1].tanh()
    tape = compile_graph(loss, xs, outputs=[extra])
    batch = np.random.default_rng(5).normal(size=(3, 4))
    tape.forward(batch)
    np.testing.assert_array_equal(tape.value_of(xs[2]), batch[:, 2])  # read by the matmul only
    np.testing.assert_allclose(tape.value_of(extra), np.tanh(batch[:, 1]), rtol=1e-15)
    np.testing.assert_allclose(tape.values_of([xs[0], extra]), np.c_[batch[:, 0], np.tanh(batch[:, 1])])


def test_shared_weights_fall_back_to_elementwise_dot():
    x = [Value(0.0, "x0"), Value(0.0, "x1")]
    w = [Value(0.5, "w0", param=True), Value(-1.0, "w1", param=True)]
    loss = autodiff.dot(w, x).tanh() * autodiff.dot(w, x, Value(0.3, "b", param=True)).tanh()
    tape = compile_graph(loss, x)
    kinds = sorted(d["kind"] for d in tape.plan())
    assert kinds.count("matmul") == 1 and kinds.count("dot") == 1  # the second dot reuses w


def test_constant_leaf_uses_current_data_and_gets_no_gradient():
    x = Value(0.0, "x")
    w = Value(2.0, "w", param=True)
    c = Value(3.0, "c")  # neither input nor parameter: a constant
    tape = compile_graph(w * x + c, [x])
    np.testing.assert_array_equal(tape.forward([[1.0], [2.0]]), [5.0, 7.0])
    c.data = 10.0
    np.testing.assert_array_equal(tape.forward([[1.0]]), [12.0])  # forward re-reads (sync=True)
    tape.backward()
    with pytest.raises(ValueError, match="depends on no parameter"):
        tape.grad_of(c)
    assert c.grad == 0.0


def test_constant_changed_between_forwards_of_one_batch_size():
    """forward re-reads a constant whatever the batch size, down to the sign of a zero (the
    tape skips the copy only when every constant still holds the very same number object)."""
    x, w, c = Value(0.0, "x"), Value(2.0, "w", param=True), Value(3.0, "c")
    tape = compile_graph(w * x * c, [x])
    np.testing.assert_array_equal(tape.forward([[1.0]]), [6.0])
    c.data = 10.0
    np.testing.assert_array_equal(tape.forward([[1.0]]), [20.0])
    c.data = 0.0
    assert not np.signbit(tape.forward([[1.0]])[0])
    c.data = -0.0
    assert np.signbit(tape.forward([[1.0]])[0])


def test_backward_accumulates_and_forward_rereads_parameters():
    xs, loss, params = tiny_mlp()
    tape = compile_graph(loss, xs)
    batch = np.random.default_rng(1).normal(size=(5, 4))
    autodiff.zero_grad(params)
    tape.forward(batch)
    g1 = tape.backward().copy()
    tape.backward()
    np.testing.assert_allclose([p.grad for p in tape.params], 2 * g1, rtol=1e-15)
    before = tape.forward(batch)
    params[0].data += 1.0
    assert not np.allclose(tape.forward(batch), before)
    params[0].data -= 1.0
    tape.param_data[0] += 1.0       # the array path: no sync, then write back
    after = tape.forward(batch, sync=False)
    tape.write_params()
    assert tape.params[0].data == tape.param_data[0]
    np.testing.assert_array_equal(tape.forward(batch), after)


def test_mean_and_sum_reductions():
    xs, loss, params = tiny_mlp()
    tape = compile_graph(loss, xs)
    tape.forward(np.random.default_rng(2).normal(size=(6, 4)))
    mean = tape.backward("mean", accumulate=False).copy()
    total = tape.backward("sum", accumulate=False).copy()
    np.testing.assert_allclose(total, 6 * mean, rtol=1e-13)
    with pytest.raises(ValueError, match="'mean' or 'sum'"):
        tape.backward("max")


def test_non_finite_value_raises_naming_the_node():
    x = Value(1.0, "x")
    w = Value(1.0, "w", param=True)
    loss = (w * x).log()
    tape = compile_graph(loss, [x])
    tape.forward([[2.0]])
    with pytest.raises(ValueError, match=r"log.*sample 1"):
        tape.forward([[1.0], [-1.0]])
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        compile_graph(w / x, [x]).forward([[0.0]])
    big = compile_graph(w * x, [x])  # finite values whose sum overflows are fine
    np.testing.assert_array_equal(big.forward([[1e308], [1e308]]), [1e308, 1e308])


def test_nan_gradient_raises_like_eager():
    x = Value(0.0, "x")
    w = Value(1.0, "w", param=True)
    loss = (w * x) ** 0.5 * 0.0 + w  # at x = 0: ∂/∂(wx) = 0 · ∞ = NaN
    with pytest.raises(FloatingPointError):
        loss.backward()
    tape = compile_graph(loss, [x])
    tape.forward([[1.0], [0.0]])
    w.grad = 0.0
    with pytest.raises(FloatingPointError, match="NaN gradient for node 'w'"):
        tape.backward()
    assert w.grad == 0.0  # nothing was accumulated


def test_inputs_must_be_distinct_non_parameter_leaves():
    x = Value(0.0, "x")
    w = Value(1.0, "w", param=True)
    with pytest.raises(ValueError, match="listed twice"):
        compile_graph(w * x, [x, x])
    with pytest.raises(ValueError, match="parameter"):
        compile_graph(w * x, [x, w])
    with pytest.raises(ValueError, match="not a leaf"):
        compile_graph(w * x, [w * x])


def test_l2_penalty_runs_once_per_batch():
    xs, loss, params = tiny_mlp()
    total = loss + 0.01 * autodiff.sum([p * p for p in params])
    tape = compile_graph(total, xs)
    plan = tape.plan()
    assert [d["kind"] for d in plan if d["batch_invariant"]] == ["elementwise", "sum", "elementwise"]
    assert all(not d["batch_invariant"] for d in plan if d["kind"] == "matmul")
    batch = np.random.default_rng(3).normal(size=(4, 4))
    tape.forward(batch)
    with_penalty = tape.backward("mean", accumulate=False).copy()
    plain = compile_graph(loss, xs)
    plain.forward(batch)
    without = plain.backward("mean", accumulate=False)
    theta = np.array([p.data for p in tape.params])
    np.testing.assert_allclose(with_penalty, without[plain.param_index(tape.params)] + 0.02 * theta,
                               rtol=1e-13, atol=1e-15)  # ∂(0.01 Σ p²)/∂p = 0.02 p, once, not B times


def test_describe_lists_every_kernel():
    xs, loss, _ = tiny_mlp()
    tape = compile_graph(loss, xs)
    text = tape.describe()
    assert "matmul" in text and len(text.splitlines()) == len(tape.plan()) + 1


def test_block_with_a_shared_computed_bias_matches_eager():
    """A layer whose neurons share one bias node b = 1.5·p (bias rows, not parameter slots)."""
    x = [Value(0.0, "x0"), Value(0.0, "x1")]
    p = Value(0.7, "p", param=True)
    b = p * 1.5
    W = [[Value(0.1 * i - 0.2 * j, f"w{i}{j}", param=True) for j in range(2)] for i in range(3)]
    params = [p] + [w for row in W for w in row]
    build = lambda xs: autodiff.sum([autodiff.dot(W[i], xs, b).tanh() for i in range(3)])  # noqa: E731
    tape = compile_graph(build(x), x)
    assert [(d["kind"], d.get("bias")) for d in tape.plan()][1] == ("matmul", "rows")
    batch = np.array([[0.3, -0.2], [-1.0, 0.5]])
    autodiff.zero_grad(params)
    tape.forward(batch)
    tape.backward("sum")
    compiled = [q.grad for q in params]
    autodiff.zero_grad(params)
    for row in batch:
        build([Value(float(v)) for v in row]).backward()
    close(compiled, [q.grad for q in params], "parameter gradients")
