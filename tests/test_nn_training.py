"""fit: the three training modes against their definitions, stopping, history, validation."""

import io

import numpy as np
import pytest

import nn
from nn.model_graph import build_static_graph

# a 3-sample problem for one sigmoid neuron with E = ½(d − y)²
X3 = np.array([[1.0, 0.5], [-0.3, 2.0], [0.8, -1.2]])
D3 = np.array([1.0, 0.0, 1.0])
W0, B0, ETA = np.array([0.2, -0.4]), 0.1, 0.5


def grad(w, b, x, d):
    """∂E/∂w, ∂E/∂b for E = ½(d − σ(w·x + b))², by hand: −(d − y) y (1 − y) (x, 1)."""
    y = 1 / (1 + np.exp(-(w @ x + b)))
    delta = -(d - y) * y * (1 - y)
    return delta * x, delta


def neuron():
    return nn.Neuron(2, "sigmoid", weights=W0.tolist(), bias=B0)


# both engines must give the updates the definitions give
engines = pytest.mark.parametrize("engine", sorted(nn.training.ENGINES))


def run(mode, engine, **kw):
    n = neuron()
    nn.fit(n, X3, D3, loss="half_sse", lr=ETA, mode=mode, epochs=1, shuffle=False, metrics=(), engine=engine,
           **kw)
    return np.array([v.data for v in n.w]), n.b.data


@engines
def test_sequential_mode_updates_after_every_sample(engine):
    w, b = W0.copy(), B0
    for x, d in zip(X3, D3):
        gw, gb = grad(w, b, x, d)
        w, b = w - ETA * gw, b - ETA * gb
    got_w, got_b = run("sequential", engine)
    np.testing.assert_allclose(got_w, w, rtol=0, atol=1e-14)
    assert got_b == pytest.approx(b, abs=1e-14)


@engines
@pytest.mark.parametrize("reduction, factor", [("mean", 1 / 3), ("sum", 1.0)])
def test_batch_mode_one_update_from_all_samples_at_the_same_weights(reduction, factor, engine):
    gs = [grad(W0, B0, x, d) for x, d in zip(X3, D3)]
    w = W0 - ETA * factor * sum(g[0] for g in gs)
    b = B0 - ETA * factor * sum(g[1] for g in gs)
    got_w, got_b = run("batch", engine, reduction=reduction)
    np.testing.assert_allclose(got_w, w, rtol=0, atol=1e-14)
    assert got_b == pytest.approx(b, abs=1e-14)


@engines
def test_minibatch_mode_averages_within_each_batch(engine):
    w, b = W0.copy(), B0
    for idx in ([0, 1], [2]):
        gs = [grad(w, b, X3[i], D3[i]) for i in idx]
        w = w - ETA * sum(g[0] for g in gs) / len(idx)
        b = b - ETA * sum(g[1] for g in gs) / len(idx)
    got_w, got_b = run("minibatch", engine, batch_size=2)
    np.testing.assert_allclose(got_w, w, rtol=0, atol=1e-14)
    assert got_b == pytest.approx(b, abs=1e-14)


def test_sequential_shuffle_follows_the_seed():
    order = np.random.default_rng(4).permutation(3)
    w, b = W0.copy(), B0
    for i in order:
        gw, gb = grad(w, b, X3[i], D3[i])
        w, b = w - ETA * gw, b - ETA * gb
    n = neuron()
    nn.fit(n, X3, D3, lr=ETA, mode="sequential", epochs=1, seed=4, metrics=())
    np.testing.assert_allclose([v.data for v in n.w], w, atol=1e-14)


def test_history_records_the_average_error_before_and_after_each_epoch():
    n = neuron()
    h = nn.fit(n, X3, D3, lr=ETA, mode="batch", epochs=3, validation=(X3[:2], D3[:2]), engine="eager")
    assert h.epoch == [1, 2, 3] and len(h.loss) == len(h.accuracy) == len(h.val_loss) == 3 == len(h)
    assert set(h.initial) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    ys0 = 1 / (1 + np.exp(-(X3 @ W0 + B0)))  # neuron()'s weights before training
    assert h.initial["loss"] == pytest.approx(np.mean(0.5 * (D3 - ys0) ** 2))
    # E_avg = (1/N) Σ ½ e² with the weights at the end of the epoch
    out = n(X3[0])
    ys = np.array([n(x).data for x in X3])
    assert h.loss[-1] == pytest.approx(np.mean(0.5 * (D3 - ys) ** 2))
    assert h.val_loss[-1] == pytest.approx(np.mean(0.5 * (D3[:2] - ys[:2]) ** 2))
    assert h.accuracy[-1] == pytest.approx(np.mean((ys >= 0.5) == D3))
    assert h.stopped == "epochs" and h.steps == 3 and h.engine == "eager" and out.op == "sigmoid"


def test_stopping_on_tol_and_on_target_loss():
    h = nn.fit(neuron(), X3, D3, lr=0.5, mode="batch", epochs=500, tol=1e-4, metrics=())
    assert h.stopped == "tol" and 3 < len(h.loss) < 501
    assert abs(h.loss[-1] - h.loss[-2]) < 1e-4 <= abs(h.loss[-2] - h.loss[-3])
    assert len(h.loss) == len(h.epoch) == h.epoch[-1] == h.steps
    h = nn.fit(neuron(), X3, D3, lr=2.0, mode="batch", epochs=500, target_loss=0.03, metrics=())
    assert h.stopped == "target_loss" and h.loss[-1] <= 0.03 < h.loss[-2] and len(h.loss) > 3


def test_callbacks_see_every_epoch_and_can_stop():
    seen = []

    def cb(state):
        seen.append((state.epoch, state.history.loss[-1]))
        if state.epoch == 2:
            state.stop = True

    class Batches(nn.Callback):
        count = 0

        def on_batch_end(self, state):
            Batches.count += 1

    h = nn.fit(neuron(), X3, D3, lr=ETA, mode="sequential", epochs=10, callbacks=[cb, Batches()], metrics=())
    assert [e for e, _ in seen] == [1, 2] and h.stopped == "callback"
    assert Batches.count == 6 and [l for _, l in seen] == h.loss


def test_fit_with_an_optimizer_object_and_momentum():
    n = neuron()
    opt = nn.SGD(n.parameters(), lr=ETA, momentum=0.5)
    nn.fit(n, X3, D3, optimizer=opt, mode="batch", epochs=2, metrics=())
    # by hand: two batch steps with Δw(n) = αΔw(n−1) − η ḡ
    w, b, vw, vb = W0.copy(), B0, np.zeros(2), 0.0
    for _ in range(2):
        gs = [grad(w, b, x, d) for x, d in zip(X3, D3)]
        vw = 0.5 * vw - ETA * sum(g[0] for g in gs) / 3
        vb = 0.5 * vb - ETA * sum(g[1] for g in gs) / 3
        w, b = w + vw, b + vb
    np.testing.assert_allclose([v.data for v in n.w], w, atol=1e-14)


def test_l2_matches_nielsens_weight_decay_rule():
    n = neuron()
    lam = 0.3
    h = nn.fit(n, X3, D3, lr=ETA, mode="batch", epochs=1, l2=lam, metrics=())
    gs = [grad(W0, B0, x, d) for x, d in zip(X3, D3)]
    w = (1 - ETA * lam / 3) * W0 - ETA * sum(g[0] for g in gs) / 3   # w ← (1 − ηλ/n)w − η ḡ
    b = B0 - ETA * sum(g[1] for g in gs) / 3                          # biases not decayed
    np.testing.assert_allclose([v.data for v in n.w], w, atol=1e-14)
    assert n.b.data == pytest.approx(b, abs=1e-14)
    ys = np.array([n(x).data for x in X3])
    assert h.loss[-1] == pytest.approx(np.mean(0.5 * (D3 - ys) ** 2) + lam / 6 * np.sum(w ** 2))


def test_mlp_reaches_97_percent_on_two_moons():
    X, y = nn.two_moons(60, noise=0.1, seed=0)
    model = nn.MLP(2, [16, 16, 1], activation="relu", output_activation="linear", init="he_uniform", seed=0)
    nn.fit(model, X, 2 * y - 1, loss="hinge", lr=0.1, momentum=0.9, mode="minibatch", batch_size=10,
           epochs=40, seed=0, metrics=(), train_eval="running", target_loss=0.0)
    assert nn.evaluate(model, X, 2 * y - 1, loss="hinge")["accuracy"] >= 0.97


def test_softmax_classifier_with_integer_labels():
    X, y = nn.spirals(30, classes=3, seed=1, noise=0.0, turns=0.25)
    model = nn.MLP(2, [8, 3], activation="tanh", output_activation="softmax", seed=1)
    h = nn.fit(model, X, y, loss="categorical_cross_entropy", lr=0.5, momentum=0.9, batch_size=10,
               epochs=30, seed=1)
    assert h.loss[-1] < 0.5 * h.initial["loss"] and h.accuracy[-1] > 0.8


def test_progress_bar_only_when_asked_or_on_a_tty(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr("sys.stderr", buf)
    nn.fit(neuron(), X3, D3, epochs=2, metrics=())
    assert buf.getvalue() == ""  # StringIO is not a tty
    nn.fit(neuron(), X3, D3, epochs=2, metrics=(), progress=True)
    assert "2/2" in buf.getvalue()  # tqdm's bar, or the in-place line without tqdm (tests/test_nn_history.py)


def test_static_graph_on_placeholders_for_a_compiled_backend():
    model = nn.MLP(2, [3, 1], seed=0)
    g = build_static_graph(model, nn.binary_cross_entropy)
    assert [v.label for v in g.leaves] == ["x.0", "x.1", "y.0"]
    assert not any(v.param for v in g.leaves) and g.loss.op


@pytest.mark.parametrize("kwargs, error, message", [
    ({"X": np.zeros((3, 3))}, ValueError, "3 columns but the model expects nin=2"),
    ({"X": np.zeros((0, 2)), "Y": np.zeros(0)}, ValueError, "X is empty"),
    ({"Y": np.zeros(2)}, ValueError, "X has 3 samples but Y has 2"),
    ({"lr": 0.0}, ValueError, "learning rate"),
    ({"lr": -0.5}, ValueError, "learning rate"),
    ({"momentum": 1.0}, ValueError, "0 ≤ α < 1"),
    ({"mode": "online"}, ValueError, "unknown mode 'online'"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"mode": "batch", "batch_size": 2}, ValueError, "only used with mode='minibatch'"),
    ({"epochs": -1}, ValueError, "epochs"),
    ({"loss": "l1"}, ValueError, "unknown loss 'l1'"),
    ({"tol": -1.0}, ValueError, r"fit\(tol\)"),
    ({"clip_norm": 0.0}, ValueError, r"fit\(clip_norm\)"),
    ({"engine": "gpu"}, ValueError, "unknown engine 'gpu'"),
    ({"metrics": ("f1",)}, ValueError, "unknown metric 'f1'"),
    ({"validation": (np.zeros((2, 5)), np.zeros(2))}, ValueError, r"fit\(validation\): X has 5 columns"),
    ({"X": [[1.0, np.nan]] * 3}, ValueError, "NaN"),
    ({"optimizer": "sgd"}, TypeError, "step"),
])
def test_invalid_arguments_fail_before_any_update(kwargs, error, message):
    n = neuron()
    before = n.parameter_vector()
    args = {"X": X3, "Y": D3, **kwargs}
    X, Y = args.pop("X"), args.pop("Y")
    with pytest.raises(error, match=message):
        nn.fit(n, X, Y, **args)
    assert np.array_equal(n.parameter_vector(), before)


def test_compiled_fit_matches_the_eager_fit():
    """Momentum, weight decay, L2, clipping by value and norm, mini-batches, shuffling, validation."""
    X, y = nn.two_moons(23, seed=2)
    results = []
    for engine in ("eager", "compiled"):
        model = nn.MLP(2, [5, 3, 1], activation="tanh", output_activation="sigmoid", seed=4)
        opt = nn.SGD(model.parameters(), lr=0.3, momentum=0.7, weight_decay=0.01)
        h = nn.fit(model, X, y, loss="binary_cross_entropy", optimizer=opt, batch_size=4, epochs=3, seed=5,
                   l2=0.5, clip_value=0.4, clip_norm=0.9, validation=(X[:5], y[:5]), engine=engine)
        results.append((model.parameter_vector(), [p.grad for p in model.parameters()], opt.velocity, h))
    (pe, ge, ve, he), (pc, gc, vc, hc) = results
    assert hc.engine == "compiled" and he.engine == "eager"
    np.testing.assert_allclose(pc, pe, rtol=0, atol=1e-12)
    np.testing.assert_allclose(gc, ge, rtol=0, atol=1e-12)   # last batch's gradient in .grad
    np.testing.assert_allclose(vc, ve, rtol=0, atol=1e-12)   # momentum history kept in the optimizer
    np.testing.assert_allclose(hc.loss, he.loss, rtol=1e-12)
    np.testing.assert_allclose(hc.val_loss, he.val_loss, rtol=1e-12)
    assert hc.accuracy == he.accuracy


def test_auto_engine_falls_back_to_eager_for_a_data_dependent_graph():
    def branching_loss(outputs, targets):  # the graph's shape depends on the output value
        y = outputs[0]
        return nn.half_sse([y], targets) if y.data > 0.5 else nn.mse([y], targets) * 2.0

    h = nn.fit(neuron(), X3, D3, loss=branching_loss, lr=ETA, mode="batch", epochs=2, metrics=())
    assert h.engine == "eager"
    assert h.loss[-1] < h.initial["loss"]
