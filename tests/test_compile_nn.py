"""The compiled engine equals nn's eager engine on nn models, losses and whole fit runs."""

from __future__ import annotations

import numpy as np
import pytest

import autodiff
import nn
from nn.compiled_engine import CompiledEngine
from nn.eager_engine import EagerEngine
from nn.model_graph import build_static_graph

CASES = [  # (hidden activation, output activation, loss)
    ("sigmoid", "sigmoid", "binary_cross_entropy"),
    ("sigmoid", "sigmoid", "half_sse"),
    ("relu", "sigmoid", "binary_cross_entropy"),
    ("tanh", "linear", "mse"),
    ("tanh", "softmax", "categorical_cross_entropy"),
    ("relu", "linear", "softmax_cross_entropy"),
    ("leaky_relu", "tanh", "hinge"),
    ("elu", "sigmoid", "binary_cross_entropy"),
]


def data(n=7, nin=5, nout=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, nin))
    Y = np.eye(nout)[rng.integers(0, nout, n)]
    return X, Y


def grads(model):
    return np.array([p.grad for p in model.parameters()])


@pytest.mark.parametrize("hidden,output,loss", CASES)
def test_engine_matches_eager(hidden, output, loss):
    model = nn.MLP(5, [4, 3], activation=hidden, output_activation=output, seed=3)
    X, Y = data()
    if loss == "hinge":
        Y = 2 * Y - 1
    loss_fn = nn.losses.get_loss(loss)
    eager, compiled = EagerEngine(model, loss_fn), CompiledEngine(model, loss_fn, build_static_graph)
    model.zero_grad()
    total_e = eager.loss_and_grad(X, Y, "mean")
    g_e = grads(model)
    model.zero_grad()
    total_c = compiled.loss_and_grad(X, Y, "mean")
    g_c = grads(model)
    assert abs(total_c - total_e) <= 1e-12 * max(1.0, abs(total_e))
    np.testing.assert_allclose(g_c, g_e, rtol=1e-12, atol=1e-12)
    (le, oe), (lc, oc) = eager.evaluate(X, Y), compiled.evaluate(X, Y)
    np.testing.assert_allclose(lc, le, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(oc, oe, rtol=1e-12, atol=1e-12)


def test_mlp_layers_become_matmul_blocks():
    model = nn.MLP(6, [5, 4, 2], "sigmoid", seed=0)
    tape = CompiledEngine(model, nn.losses.binary_cross_entropy, build_static_graph).tape
    blocks = [(d["shape"], d["bias"]) for d in tape.plan() if d["kind"] == "matmul"]
    assert blocks == [((5, 6), "param"), ((4, 5), "param"), ((2, 4), "param")]
    assert len(tape.params) == model.num_parameters()


def test_speed_of_learning_per_layer_compiled():
    """‖∂C/∂b^l‖ read from the bias grads after one compiled backward equals the eager one."""
    model = nn.MLP(5, [4, 4, 3], "sigmoid", seed=1)
    X, Y = data(n=9)
    loss_fn = nn.losses.binary_cross_entropy
    speeds = []
    for engine in (EagerEngine(model, loss_fn), CompiledEngine(model, loss_fn, build_static_graph)):
        model.zero_grad()
        engine.loss_and_grad(X, Y, "mean")
        speeds.append([np.linalg.norm([n.b.grad for n in layer.neurons]) for layer in model.layers])
    np.testing.assert_allclose(speeds[1], speeds[0], rtol=1e-12)


def test_fit_trajectory_same_as_eager():
    X, Y = data(n=12, seed=4)
    runs = []
    for make in (lambda m, f: "eager", lambda m, f: CompiledEngine(m, f, build_static_graph)):
        model = nn.MLP(5, [4, 3], "sigmoid", seed=7)
        loss_fn = nn.losses.binary_cross_entropy
        hist = nn.fit(model, X, Y, loss=loss_fn, lr=0.5, momentum=0.5, batch_size=5, epochs=4, seed=2,
                      l2=0.1, engine=make(model, loss_fn), progress=False)
        runs.append((hist.loss, model.parameter_vector()))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-12)
    np.testing.assert_allclose(runs[1][1], runs[0][1], rtol=1e-12, atol=1e-13)


def test_data_dependent_graph_is_declined():
    model = nn.MLP(2, [1], "sigmoid", seed=0)

    def branching_loss(outputs, targets):  # the graph's shape depends on the target's value
        y = targets[0]
        return outputs[0] * 2.0 if y.data > 0.5 else (outputs[0] - 1.0) ** 2

    with pytest.raises(NotImplementedError, match="depends on the data"):
        CompiledEngine(model, branching_loss, build_static_graph)


def test_autodiff_does_not_import_nn():
    import sys
    for name in ("autodiff.compile", "autodiff.compile_kernels", "autodiff.backprop", "autodiff.value"):
        assert not any(getattr(v, "__name__", "").startswith(("nn", "viz"))
                       for v in vars(sys.modules[name]).values())
    assert nn.training.make_engine("compiled", nn.MLP(2, [1]), nn.half_sse).__class__ is CompiledEngine


def _layer_arrays(model):
    """Each layer's W (n_out, n_in) and b, flattened in that order: W₁, b₁, W₂, b₂, …"""
    return [a for layer in model.layers for a in (np.array([[w.data for w in n.w] for n in layer.neurons]),
                                                   np.array([n.b.data for n in layer.neurons]))]


def _step_data(B):
    X, Y = data(n=3 * B, nin=6, nout=3, seed=B)
    return [(X[k:k + B] * 3.0, Y[k:k + B]) for k in range(0, 3 * B, B)]  # × 3: some saturated sigmoids


def _compiled_steps(B, lr=0.7):
    """The README's compiled loop — tape.forward(batch); opt.zero_grad(); tape.backward("mean");
    opt.step() with nn.SGD — on MLP(6, [5, 3]) sigmoid + binary cross-entropy: the per-sample
    losses and the parameters (as :func:`_layer_arrays`) after each step."""
    model = nn.MLP(6, [5, 3], activation="sigmoid", seed=11)
    xs = [autodiff.Value(0.0, f"x{i}") for i in range(6)]
    ys = [autodiff.Value(0.0, f"y{j}") for j in range(3)]
    tape = autodiff.compile(nn.binary_cross_entropy(model(xs), ys), inputs=xs + ys)
    opt = nn.SGD(model.parameters(), lr=lr)
    out = []
    for xb, yb in _step_data(B):
        losses = tape.forward(np.hstack([xb, yb]))
        opt.zero_grad()
        assert not np.any(tape.store.grad)  # what zero_grad promises, whenever it is read
        tape.backward("mean")
        opt.step()
        out.append((losses, _layer_arrays(model)))
    return out


@pytest.mark.parametrize("B", [1, 4, 16])
def test_public_compiled_step_matches_eager(B):
    """Eager: one graph per sample, the mean loss, backward, the same nn.SGD step."""
    model = nn.MLP(6, [5, 3], activation="sigmoid", seed=11)
    opt = nn.SGD(model.parameters(), lr=0.7)
    for (xb, yb), (losses, params) in zip(_step_data(B), _compiled_steps(B)):
        opt.zero_grad()
        per_sample = [nn.binary_cross_entropy(model(list(x)), list(y)) for x, y in zip(xb, yb)]
        np.testing.assert_allclose(losses, [c.data for c in per_sample], rtol=1e-12)
        (autodiff.sum(per_sample) * (1.0 / B)).backward()
        opt.step()
        for ours, eager in zip(params, _layer_arrays(model)):
            np.testing.assert_allclose(ours, eager, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("B", [1, 4, 16])
def test_public_compiled_step_matches_torch(torch, B):
    """PyTorch float64: the same weights, sigmoid hidden layer, BCE with logits (sum / B),
    torch.optim.SGD."""
    model = nn.MLP(6, [5, 3], activation="sigmoid", seed=11)
    params = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in _layer_arrays(model)]
    opt = torch.optim.SGD(params, lr=0.7)
    for (xb, yb), (losses, ours) in zip(_step_data(B), _compiled_steps(B)):
        a = torch.tensor(xb, dtype=torch.float64)
        for W, b in zip(params[::2], params[1::2]):
            z = a @ W.T + b
            a = torch.sigmoid(z)
        targets = torch.tensor(yb, dtype=torch.float64)
        per_sample = torch.nn.functional.binary_cross_entropy_with_logits(z, targets, reduction="none").sum(1)
        np.testing.assert_allclose(losses, per_sample.detach().numpy(), rtol=1e-12)
        opt.zero_grad()
        (per_sample.sum() / B).backward()
        opt.step()
        for mine, theirs in zip(ours, params):
            np.testing.assert_allclose(mine, theirs.detach().numpy(), rtol=1e-10, atol=1e-13)


def test_backward_accumulates_after_a_deferred_zero_grad():
    """opt.zero_grad() then two backward passes: the second adds to the first (as eager
    backward accumulates; the first hands the store its array, which no later pass may
    write, accumulate=False included); a third after zero_grad starts from zero again."""
    model = nn.MLP(4, [3, 2], activation="sigmoid", seed=5)
    xs = [autodiff.Value(0.0) for _ in range(4)]
    ys = [autodiff.Value(0.0) for _ in range(2)]
    tape = autodiff.compile(nn.binary_cross_entropy(model(xs), ys), inputs=xs + ys)
    opt = nn.SGD(model.parameters(), lr=0.1)
    X, Y = data(n=5, nin=4, nout=2, seed=9)
    batch = np.hstack([X, Y])
    opt.zero_grad()
    tape.forward(batch)
    g1 = tape.backward("sum").copy()
    np.testing.assert_array_equal(tape.store.grad, g1)
    tape.forward(batch[1:])  # a pass that adds nothing must leave the store's gradient alone
    g_other = tape.backward("sum", accumulate=False)
    assert not np.array_equal(g_other, g1)
    np.testing.assert_array_equal(tape.store.grad, g1)
    tape.forward(batch)
    tape.backward("sum")
    np.testing.assert_allclose(tape.store.grad, 2 * g1, rtol=1e-15)
    opt.zero_grad()
    assert model.parameters()[0].grad == 0.0 and not np.any(tape.store.grad)
    tape.forward(batch[:2])
    g3 = tape.backward("sum")
    np.testing.assert_array_equal(np.array([p.grad for p in tape.params]), g3)  # the tape's order


def _eager_nodes(build, row):
    """Every op node's value and ∂C/∂node of one sample's eager graph, in topological order."""
    loss = build([autodiff.Value(float(x)) for x in row])
    loss.backward()
    nodes = [v for v in autodiff.topological_order(loss) if not v.is_leaf]
    return np.array([v.data for v in nodes]), np.array([v.grad for v in nodes])


@pytest.mark.parametrize("extra_use", [False, True])
def test_logistic_loss_lanes_run_fused_and_keep_every_node(extra_use):
    """BCE on sigmoid outputs: each output's ten loss nodes run as one fused kernel
    (autodiff.compile_fuse) with every node's value and per-sample gradient as eager's;
    a lane whose logit is also read elsewhere (extra_use) stays with the ordinary kernels."""
    model = nn.MLP(4, [3, 2], activation="sigmoid", seed=2)

    def build(leaves):
        outs = model(leaves[:4])
        loss = nn.binary_cross_entropy(outs, leaves[4:])
        return loss + 0.25 * outs[0].inputs[0] if extra_use else loss  # the first logit, read again

    xs = [autodiff.Value(0.0, f"x{i}") for i in range(6)]
    tape = autodiff.compile(build(xs), inputs=xs)
    fused = [d["nodes"] for d in tape.plan() if d["kind"] == "logistic_loss"]
    assert fused == ([10] if extra_use else [20])
    X, Y = data(n=5, nin=4, nout=2, seed=3)
    X[0] *= 40.0  # saturated sigmoids: large |z|
    batch = np.hstack([X, Y])
    tape.forward(batch)
    tape.backward("sum")
    nodes = [v for v in autodiff.topological_order(tape.root) if not v.is_leaf]
    for b, row in enumerate(batch):
        values, grads = _eager_nodes(build, row)
        np.testing.assert_allclose([tape.value_of(v)[b] for v in nodes], values, rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose([tape.grad_of(v)[b] for v in nodes], grads, rtol=1e-12, atol=1e-15)
