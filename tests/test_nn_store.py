"""The flat parameter vector: Values see it, the tape and the optimizers work on it; the
optimizers equal torch.optim; layer options (per-layer activations, one output, scalar
targets) and the PyTorch bridge."""

from __future__ import annotations

import copy
import pickle
import sys

import numpy as np
import pytest

import autodiff
import nn
from autodiff import ParameterStore, Value


def moons_model(seed: int = 0) -> nn.MLP:
    return nn.MLP(2, [5, 4, 1], activation="tanh", output_activation="sigmoid", seed=seed)


# ---------------------------------------------------------------- the store

def test_values_see_every_vector_update_and_the_vector_sees_eager_backward():
    a, b = Value(1.5, "a", param=True), Value(-2.0, "b", param=True)
    store = ParameterStore([a, b])
    store.data[:] = [3.0, 4.0]                      # an array write ...
    assert (a.data, b.data) == (3.0, 4.0)           # ... is what the Values show
    (a * b + a).backward()                          # eager backward on the bound Values
    assert store.grad.tolist() == [5.0, 3.0]
    store.values_current()                          # the eager state: numbers in the Values' fields
    a.data = 10.0
    (a * b).backward()
    assert store.data.tolist() == [10.0, 4.0]       # reading the vector brings it up to date
    assert store.grad.tolist() == [9.0, 13.0]       # and the gradients accumulated as for any leaf


def test_a_value_lives_in_one_store_and_copies_are_unbound():
    a = Value(1.0, "a", param=True)
    store = ParameterStore([a])
    with pytest.raises(ValueError, match="already lives in another parameter store"):
        ParameterStore([a])
    with pytest.raises(ValueError, match="not a leaf"):
        ParameterStore([a * 2.0])
    store.data[0] = 7.0
    for state in ("vector", "values"):
        if state == "values":
            store.values_current()
        for twin in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a), copy.copy(a)):
            assert type(twin) is Value and twin.data == 7.0 and twin.param and twin.label == "a"
            assert autodiff.params.parameter_store(twin) is None
            twin.data = 0.0
            assert a.data == 7.0
    assert autodiff.params.parameter_store(a) is store


def test_compiled_steps_move_the_values_with_no_pass_over_them():
    """The issue's public loop: after compiled steps every Value reads what the vector holds."""
    model = moons_model()
    xs = [Value(0.0, f"x{i}") for i in range(2)]
    y = Value(0.0, "y")
    loss = nn.binary_cross_entropy(model(xs), y)
    tape = autodiff.compile(loss, inputs=xs + [y])
    opt = nn.SGD(model.parameters(), lr=0.5, momentum=0.9)
    assert opt.store is tape.store and opt.index == slice(None)
    assert np.shares_memory(tape.param_data, tape.store.data)  # the tape computes on the vector itself
    X, Y = nn.two_moons(16, seed=1)
    batch = np.hstack([X, Y[:, None]])
    for _ in range(3):
        tape.forward(batch)
        opt.zero_grad()
        tape.backward(reduction="mean")
        opt.step()
    by_name = dict(model.named_parameters())
    for p, x, g in zip(tape.store.values, tape.store.data, tape.store.grad):
        assert p.data == x and p.grad == g
    w = model.layers[0].neurons[0].w[0]
    assert w is by_name["layers.0.neurons.0.w.0"] and w.data == tape.store.data[tape.store.positions([w])[0]]
    # eager use afterwards sees the trained numbers: one eager sample equals the tape's row 0
    eager = nn.binary_cross_entropy(model(X[0].tolist()), float(Y[0]))
    assert eager.data == pytest.approx(tape.forward(batch[:1])[0], abs=1e-12)


def test_tape_on_a_store_in_another_order_gathers_and_scatters():
    """An optimizer made first lays the store out in parameters() order; the tape then gathers."""
    model = moons_model(3)
    opt = nn.SGD(model.parameters(), lr=0.1)
    xs = [Value(0.0, f"x{i}") for i in range(2)]
    y = Value(0.0, "y")
    tape = autodiff.compile(nn.half_sse(model(xs), y), inputs=xs + [y])
    assert tape.store is opt.store and not np.shares_memory(tape.param_data, tape.store.data)
    batch = np.array([[0.3, -0.2, 1.0], [0.1, 0.4, 0.0]])
    twin = moons_model(3)
    reference = autodiff.compile(nn.half_sse(twin(xs), y), inputs=xs + [y])
    for _ in range(2):
        for t, o in ((tape, opt), (reference, None)):
            t.forward(batch)
            t.store.zero_grad()
            t.backward()
        opt.step()
        reference.store.data[:] -= 0.1 * reference.store.grad
    np.testing.assert_allclose(model.parameter_vector(), twin.parameter_vector(), rtol=0, atol=1e-15)


def test_parameters_in_two_stores_are_a_clear_error():
    a, b = Value(1.0, "a", param=True), Value(2.0, "b", param=True)
    ParameterStore([a])
    ParameterStore([b])
    with pytest.raises(ValueError, match="different parameter stores.*'a'.*'b'"):
        nn.SGD([a, b], lr=0.1)
    with pytest.raises(ValueError, match="compile: the parameters live in different parameter stores"):
        autodiff.compile(a * b, [])


# ------------------------------------------------------- optimizers vs torch

def _quadratic_problem(torch, seed=0):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(6, 4))
    t = rng.normal(size=6)
    w0 = rng.normal(size=4)
    return A, t, w0


def _run_ours(make_opt, A, t, w0, steps=50):
    ws = [Value(float(x), f"w{i}", param=True) for i, x in enumerate(w0)]
    opt = make_opt(ws)
    for _ in range(steps):
        opt.zero_grad()
        r = [autodiff.dot(ws, [float(a) for a in row]) - float(ti) for row, ti in zip(A, t)]
        loss = autodiff.sum([ri * ri for ri in r]) * 0.5 + ws[0].tanh() * 0.3
        loss.backward()
        opt.step()
    return np.array([w.data for w in ws])


def _run_torch(torch, make_opt, A, t, w0, steps=50):
    w = torch.tensor(w0, dtype=torch.float64, requires_grad=True)
    At, tt = torch.tensor(A), torch.tensor(t)
    opt = make_opt([w])
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * ((At @ w - tt) ** 2).sum() + 0.3 * torch.tanh(w[0])
        loss.backward()
        opt.step()
    return w.detach().numpy()


@pytest.mark.parametrize("name, ours, theirs", [
    ("sgd", lambda p: nn.SGD(p, lr=0.02), lambda torch, p: torch.optim.SGD(p, lr=0.02)),
    ("sgd momentum + decay", lambda p: nn.SGD(p, lr=0.02, momentum=0.9, weight_decay=0.1),
     lambda torch, p: torch.optim.SGD(p, lr=0.02, momentum=0.9, weight_decay=0.1)),
    ("adam", lambda p: nn.Adam(p, lr=0.05), lambda torch, p: torch.optim.Adam(p, lr=0.05)),
    ("adam L2", lambda p: nn.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.2),
     lambda torch, p: torch.optim.Adam(p, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.2)),
    ("adamw", lambda p: nn.AdamW(p, lr=0.05), lambda torch, p: torch.optim.AdamW(p, lr=0.05)),
    ("adamw decay", lambda p: nn.AdamW(p, lr=0.05, weight_decay=0.3),
     lambda torch, p: torch.optim.AdamW(p, lr=0.05, weight_decay=0.3)),
])
def test_optimizer_equals_torch_optim_over_50_steps(torch, name, ours, theirs):
    A, t, w0 = _quadratic_problem(torch)
    got = _run_ours(ours, A, t, w0)
    want = _run_torch(torch, lambda p: theirs(torch, p), A, t, w0)
    assert not np.allclose(got, w0)  # it moved
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_clipping_equals_torch_clip_utilities(torch):
    rng = np.random.default_rng(5)
    g0 = rng.normal(size=7) * 3
    ws = [Value(0.0, param=True) for _ in g0]
    store = ParameterStore(ws)
    tw = torch.zeros(7, dtype=torch.float64, requires_grad=True)
    for clip in ("value", "norm"):
        store.grad[:] = g0
        tw.grad = torch.tensor(g0)
        if clip == "value":
            assert nn.clip_grad_value(ws, 1.5) == int(np.sum(np.abs(g0) > 1.5))
            torch.nn.utils.clip_grad_value_([tw], 1.5)
        else:
            norm = nn.clip_grad_norm(ws, 2.0)
            assert norm == pytest.approx(float(torch.nn.utils.clip_grad_norm_([tw], 2.0)), abs=1e-12)
            # torch scales by C/(‖g‖ + 1e-6); the lectures (and we) by C/‖g‖
            tw.grad *= (norm + 1e-6) / norm
        np.testing.assert_allclose([w.grad for w in ws], tw.grad.numpy(), rtol=0, atol=1e-14)


def test_sgd_clipping_options_clip_before_the_update():
    ws = [Value(0.0, param=True), Value(0.0, param=True)]
    opt = nn.SGD(ws, lr=1.0, clip_value=2.0, clip_norm=1.0)
    ws[0].grad, ws[1].grad = 3.0, -1.0               # by value → (2, −1), then by norm → (2, −1)/√5
    opt.step()
    np.testing.assert_allclose([w.data for w in ws], [-2 / 5 ** 0.5, 1 / 5 ** 0.5], atol=1e-15)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": 0.0}, r"Adam\(lr\)"), ({"betas": (1.0, 0.9)}, r"betas\[0\]"), ({"betas": 0.9}, "pair"),
    ({"eps": -1.0}, r"Adam\(eps\)"), ({"weight_decay": -0.1}, "weight_decay"),
])
def test_adam_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.Adam([Value(1.0, param=True)], **kwargs)


def test_fit_with_adam_same_trajectory_on_both_engines():
    X, y = nn.two_moons(20, seed=3)
    results = {}
    for eng in ("eager", "compiled"):
        model = moons_model(4)
        opt = nn.Adam(model.parameters(), lr=0.02)
        h = nn.fit(model, X, y, loss="binary_cross_entropy", optimizer=opt, batch_size=6, epochs=3, seed=1,
                   engine=eng, clip_norm=0.5, metrics=())
        results[eng] = (model.parameter_vector(), h.loss)
    np.testing.assert_allclose(results["compiled"][0], results["eager"][0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(results["compiled"][1], results["eager"][1], rtol=1e-12)
    assert results["compiled"][1][-1] < results["compiled"][1][0]


def test_no_import_circles_in_nn():
    import ast
    import pathlib
    root = pathlib.Path(nn.__file__).parent
    graph = {}
    for f in root.glob("*.py"):
        deps = set()
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module:
                deps.add(node.module.split(".")[0])
        graph[f.stem] = deps - {"__init__"}
    state: dict[str, int] = {}

    def visit(m, path):
        if state.get(m) == 1:
            raise AssertionError(f"import circle: {' -> '.join(path + [m])}")
        if state.get(m) == 2:
            return
        state[m] = 1
        for d in graph.get(m, ()):
            visit(d, path + [m])
        state[m] = 2

    for m in graph:
        if m != "__init__":
            visit(m, [])
    assert not (root / "engines.py").exists() and not (root / "fastpath.py").exists()


# ----------------------------------------------------------- layer options

def test_mlp_takes_one_activation_per_layer():
    model = nn.MLP(3, [4, 2, 2], activation=["relu", "tanh", "softmax"], seed=0)
    assert [layer.activation_name for layer in model.layers] == ["relu", "tanh", "softmax"]
    out = model([0.5, -1.0, 2.0])
    assert out[0].op == out[1].op == "softmax"
    h = model.layers[0].outputs([Value(0.5), Value(-1.0), Value(2.0)])
    assert {v.op for v in h} == {"relu"}
    with pytest.raises(ValueError, match="one activation per layer \\(3\\), got 2"):
        nn.MLP(3, [4, 2, 2], activation=["relu", "tanh"])
    with pytest.raises(ValueError, match="softmax"):
        nn.MLP(3, [4, 2], activation=["softmax", "tanh"])
    with pytest.raises(ValueError, match="output_activation"):
        nn.MLP(3, [4, 2], activation=["relu", "tanh"], output_activation="sigmoid")


def test_one_output_models_and_layers_return_a_value():
    model = nn.MLP(2, [3, 1], "sigmoid", seed=0)
    y = model([0.1, 0.2])
    assert isinstance(y, Value) and y.op == "sigmoid"
    assert isinstance(nn.Layer(2, 1, "sigmoid", seed=0)([0.1, 0.2]), Value)
    assert isinstance(nn.Layer(2, 2, "sigmoid", seed=0)([0.1, 0.2]), list)
    assert model.outputs([Value(0.1), Value(0.2)])[0].data == y.data
    assert model.predict([[0.1, 0.2]]).shape == (1, 1)


@pytest.mark.parametrize("target", [1, 1.0, np.int64(1), np.float64(1.0), np.array(1.0), Value(1.0)])
@pytest.mark.parametrize("loss", ["binary_cross_entropy", "half_sse", "mse", "hinge"])
def test_losses_take_a_scalar_target_for_one_output(target, loss):
    fn = nn.losses.get_loss(loss)
    y = nn.MLP(2, [3, 1], "sigmoid", seed=1)([0.3, -0.7])
    assert fn(y, target).data == fn([y], [1.0]).data


def test_a_bad_target_names_the_loss():
    y = nn.MLP(2, [1], "sigmoid", seed=1)([0.3, -0.7])
    with pytest.raises(TypeError, match="half_sse.*targets must be"):
        nn.half_sse(y, object())


# ------------------------------------------------------------- PyTorch bridge

BRIDGE = [
    (nn.MLP(3, [4, 2], activation=["tanh", "sigmoid"], seed=2), "binary"),
    (nn.MLP(3, [5, 4, 3], activation=["relu", "leaky_relu(0.1)", "softmax"], seed=3), "ce"),
    (nn.MLP(3, [4, 1], activation=["elu(0.5)", "linear"], seed=4), "mse"),
]


@pytest.mark.parametrize("model, kind", BRIDGE)
def test_to_torch_gives_the_same_outputs_and_gradients(torch, model, kind):
    seq = nn.to_torch(model)
    X = np.array([[0.3, -0.2, 1.1], [-0.5, 0.8, 0.05]])
    out = seq(torch.tensor(X))
    for row, t_row in zip(X, out):
        ours = model(row.tolist())
        ours = [ours] if isinstance(ours, Value) else ours
        np.testing.assert_allclose([o.data for o in ours], t_row.detach().numpy(), rtol=0, atol=1e-12)
    # gradients of Σ outputs² over the batch
    model.zero_grad()
    for row in X:
        outs = model(row.tolist())
        outs = [outs] if isinstance(outs, Value) else outs
        autodiff.sum([o * o for o in outs]).backward()
    seq.zero_grad()
    (out ** 2).sum().backward()
    lins = [m for m in seq if isinstance(m, torch.nn.Linear)]
    for layer, lin in zip(model.layers, lins):
        gW = np.array([[w.grad for w in n.w] for n in layer.neurons])
        np.testing.assert_allclose(gW, lin.weight.grad.numpy(), rtol=0, atol=1e-12)
        np.testing.assert_allclose([n.b.grad for n in layer.neurons], lin.bias.grad.numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("model, kind", BRIDGE)
def test_from_torch_round_trip(torch, model, kind):
    back = nn.from_torch(nn.to_torch(model))
    assert [layer.activation_name for layer in back.layers] == [layer.activation_name for layer in model.layers]
    np.testing.assert_array_equal(back.parameter_vector(), model.parameter_vector())
    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Linear(3, 6), torch.nn.Tanh(), torch.nn.Linear(6, 2)).double()
    ours = nn.from_torch(seq)
    x = torch.tensor([[0.2, -0.1, 0.7]], dtype=torch.float64)
    np.testing.assert_allclose([o.data for o in ours([0.2, -0.1, 0.7])], seq(x)[0].detach().numpy(), atol=1e-12)


def test_from_torch_rejects_what_has_no_mlp_form(torch):
    with pytest.raises(ValueError, match="module 1 is Dropout"):
        nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Dropout()))
    with pytest.raises(ValueError, match="takes 3 inputs but the previous layer gives 2"):
        nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(3, 1)))
    with pytest.raises(ValueError, match="'sign', which has no PyTorch module"):
        nn.to_torch(nn.MLP(2, [1], activation="sign"))


def test_bridge_without_torch_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match=r'backproplab\[torch\]'):
        nn.to_torch(nn.MLP(2, [1]))
    with pytest.raises(ImportError, match=r'backproplab\[torch\]'):
        nn.from_torch(object())


def test_eager_and_compiled_steps_interleave_on_one_vector():
    """Compiled step, eager step (the model moves to the eager state and back), compiled step:
    the same θ as three compiled steps on a twin whose middle step runs on that one sample."""
    X, Y = nn.two_moons(12, seed=7)
    batch = np.hstack([X, Y[:, None]])

    def setup(seed=5):
        model = moons_model(seed)
        xs, y = [Value(0.0, "x0"), Value(0.0, "x1")], Value(0.0, "y")
        tape = autodiff.compile(nn.binary_cross_entropy(model(xs), y), inputs=xs + [y])
        return model, tape, nn.SGD(model.parameters(), lr=0.3, momentum=0.5)

    def compiled_step(tape, opt, rows):
        tape.forward(rows)
        opt.zero_grad()
        tape.backward("mean")
        opt.step()

    model, tape, opt = setup()
    compiled_step(tape, opt, batch)
    loss = nn.binary_cross_entropy(model(X[0].tolist()), float(Y[0]))  # eager, on the stepped θ
    opt.zero_grad()                                                    # after the graph: still eager
    loss.backward()
    opt.step()
    compiled_step(tape, opt, batch)

    twin, twin_tape, twin_opt = setup()
    for rows in (batch, batch[:1], batch):
        compiled_step(twin_tape, twin_opt, rows)
    np.testing.assert_allclose(model.parameter_vector(), twin.parameter_vector(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(opt.velocity, twin_opt.velocity, rtol=0, atol=1e-13)
