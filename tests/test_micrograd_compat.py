"""micrograd programs run unchanged (imports aside) and give micrograd's numbers.

The training loop below is micrograd 0.1.0's demo (demo.ipynb: hinge loss, L2 term α = 1e-4,
MLP(2, [16, 16, 1]), learning rate 1 − 0.9k/100), copied verbatim into a function that takes
the two imports as arguments; only the data come from ``nn.two_moons`` instead of sklearn.
"""

import random

import numpy as np
import pytest

import nn
from autodiff import Value

micrograd_engine = pytest.importorskip("micrograd.engine", reason="micrograd 0.1.0 (the bench extra) compares")
micrograd_nn = pytest.importorskip("micrograd.nn")


def demo(Value, MLP, steps=10):
    """micrograd's demo.ipynb, unchanged except for the data and the number of steps."""
    np.random.seed(1337)
    random.seed(1337)
    X, y = nn.two_moons(100, noise=0.1, seed=0)
    y = y * 2 - 1
    model = MLP(2, [16, 16, 1])  # 2-layer neural network

    def loss(batch_size=None):
        if batch_size is None:
            Xb, yb = X, y
        else:
            ri = np.random.permutation(X.shape[0])[:batch_size]
            Xb, yb = X[ri], y[ri]
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        alpha = 1e-4
        reg_loss = alpha * sum((p * p for p in model.parameters()))
        total_loss = reg_loss + data_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    history = []
    for k in range(steps):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        history.append((total_loss.data, acc))
    return history


def test_micrograd_demo_gives_micrograd_losses():
    ours = demo(Value, nn.MLP)
    theirs = demo(micrograd_engine.Value, micrograd_nn.MLP)
    assert [a for _, a in ours] == [a for _, a in theirs]
    np.testing.assert_allclose([l for l, _ in ours], [l for l, _ in theirs], rtol=1e-12, atol=0)
    assert ours[-1][0] < 0.5 * ours[0][0]  # it learns, as micrograd's does


def test_micrograd_mlp_structure_and_draws():
    random.seed(5)
    theirs = micrograd_nn.MLP(3, [4, 2])
    random.seed(5)
    ours = nn.MLP(3, [4, 2])
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    assert [layer.activation_name for layer in ours.layers] == ["relu", "linear"]
    x = [0.5, -1.0, 2.0]
    assert [v.data for v in ours(x)] == pytest.approx([v.data for v in theirs(x)], rel=1e-12)


@pytest.mark.parametrize("nonlin, name", [(True, "relu"), (False, "linear")])
def test_micrograd_neuron_and_layer_keywords(nonlin, name):
    random.seed(2)
    theirs = micrograd_nn.Layer(3, 2, nonlin=nonlin)
    random.seed(2)
    ours = nn.Layer(3, 2, nonlin=nonlin)
    assert ours.activation_name == name
    assert [p.data for p in ours.parameters()] == [p.data for p in theirs.parameters()]
    x = [1.0, -2.0, 0.25]
    assert [v.data for v in ours(x)] == pytest.approx([v.data for v in theirs(x)], rel=1e-12)
    random.seed(3)
    n = nn.Neuron(3, nonlin=nonlin)
    random.seed(3)
    m = micrograd_nn.Neuron(3, nonlin=nonlin)
    assert n(x).data == pytest.approx(m(x).data, rel=1e-12)
    ours.zero_grad()
    assert all(p.grad == 0 for p in ours.parameters())


def test_defaults_are_micrograds():
    assert nn.Neuron(2).activation.name == "relu"
    assert nn.Layer(2, 3).activation_name == "relu"
    assert [layer.activation_name for layer in nn.MLP(2, [3, 3, 1]).layers] == ["relu", "relu", "linear"]
    # an activation given alone applies to every layer, as the lectures' sigmoid networks
    assert [layer.activation_name for layer in nn.MLP(2, [3, 1], "sigmoid").layers] == ["sigmoid", "sigmoid"]
    with pytest.raises(ValueError, match="not both"):
        nn.Neuron(2, "tanh", nonlin=True)


def test_micrograd_engine_tests_run_unchanged():
    """micrograd's test_engine.py sanity check, on our Value (PyTorch side computed by hand)."""
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xmg, ymg = x, y
    x = micrograd_engine.Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    assert ymg.data == y.data and xmg.grad == x.grad
