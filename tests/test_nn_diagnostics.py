"""Speed of learning ‖∂C/∂b^l‖ (seed 001 §3.1) and gradient histograms."""

import numpy as np
import pytest

import nn


def test_layer_speeds_are_bias_gradient_norms_of_the_mean_cost():
    X = np.array([[0.1, 0.9, -0.3], [0.5, -0.2, 0.4]])
    Y = np.array([[1.0, 0.0], [0.0, 1.0]])
    model = nn.MLP(3, [4, 3, 2], "sigmoid", init="network2", seed=1)
    speeds = nn.layer_speeds(model, X, Y, loss="binary_cross_entropy")
    # by hand with numpy backprop (Nielsen's network2): δ^L = a − y, δ^l = (Wᵀδ) σ'(z)
    Ws = model.get_weights()
    sig = lambda z: 1 / (1 + np.exp(-z))
    grads = [np.zeros(W.shape[0]) for W, _ in Ws]
    for x, y in zip(X, Y):
        acts, zs = [x], []
        for W, b in Ws:
            zs.append(W @ acts[-1] + b)
            acts.append(sig(zs[-1]))
        delta = acts[-1] - y
        for l in range(len(Ws) - 1, -1, -1):
            grads[l] += delta / len(X)
            if l:
                delta = (Ws[l][0].T @ delta) * sig(zs[l - 1]) * (1 - sig(zs[l - 1]))
    np.testing.assert_allclose(speeds, [np.linalg.norm(g) for g in grads], rtol=1e-12)
    assert len(nn.layer_speeds(model, X, Y, loss="binary_cross_entropy", hidden_only=True)) == 2
    assert all(p.grad == 0.0 for p in model.parameters())  # saved and restored


def test_speed_of_learning_callback_tracks_every_epoch():
    X, y = nn.two_moons(20, seed=0)
    model = nn.MLP(2, [5, 5, 1], "sigmoid", seed=0)
    h = nn.fit(model, X, y, loss="binary_cross_entropy", epochs=3, batch_size=5, seed=0,
               callbacks=[nn.SpeedOfLearning(every=1)], metrics=())
    assert h.extra["speed_epoch"] == [0, 1, 2, 3]
    speeds = np.array(h.extra["speed"])
    assert speeds.shape == (4, 3) and np.all(speeds > 0)
    np.testing.assert_allclose(speeds[-1], nn.layer_speeds(model, X, y, loss="binary_cross_entropy"))


def test_gradient_histograms_count_every_gradient():
    model = nn.MLP(2, [6, 1], "sigmoid", seed=0)
    out = model([0.5, -1.0])
    nn.half_sse(out, [1.0]).backward()
    hists = nn.gradient_histograms(model, bins=5)
    assert [int(c.sum()) for c, _ in hists] == [12, 6]
    assert all(len(edges) == 6 for _, edges in hists)
    grads = np.array([w.grad for n in model.layers[0].neurons for w in n.w])
    counts, edges = hists[0]
    assert np.array_equal(counts, np.histogram(grads, bins=5)[0])
    assert [int(c.sum()) for c, _ in nn.gradient_histograms(model, which="all")] == [18, 7]
    h = nn.fit(model, np.zeros((4, 2)), np.ones(4), epochs=2, metrics=(),
               callbacks=[nn.GradientHistograms(bins=3)])
    assert len(h.extra["grad_hist"]) == 2
    with pytest.raises(ValueError, match="which"):
        nn.gradient_histograms(model, which="x")
