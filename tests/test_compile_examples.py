"""examples/mnist_experiments.py on synthetic data (no MNIST needed): parameter layout and the
network2 update on the compiled tape."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

import nn

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def ex():
    sys.path.insert(0, str(EXAMPLES))
    try:
        spec = importlib.util.spec_from_file_location("mnist_experiments", EXAMPLES / "mnist_experiments.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.path.remove(str(EXAMPLES))


def test_network2_init_lands_on_the_right_parameters(ex):
    net = ex.Net([6, 4, 10])
    net.init(3)
    reference = nn.MLP(6, [4, 10], init="network2", seed=3)
    theta = net.tape.param_data
    for wi, bi, layer in zip(net.w_idx, net.b_idx, reference.layers):
        W = np.array([[w.data for w in n.w] for n in layer.neurons])
        np.testing.assert_array_equal(theta[wi].reshape(W.shape), W)
        np.testing.assert_array_equal(theta[bi], [n.b.data for n in layer.neurons])


def test_one_network2_step_follows_the_update_rule(ex):
    rng = np.random.default_rng(0)
    X, y = rng.uniform(0, 1, (10, 6)), rng.integers(0, 10, 10)
    net = ex.Net([6, 5, 10])
    net.init(1)
    theta0 = net.tape.param_data.copy()
    grad = net.gradient(ex.one_hot_batch(X, y)).copy()  # one mini-batch = the whole set
    eta, lam = 0.1, 5.0
    ex.train_compiled(net, 1, ((X, y), (X, y)), epochs=1, eta=eta, lam=lam, m=10, log=False)
    decay = np.ones_like(theta0)
    for wi in net.w_idx:
        decay[wi] = 1 - eta * lam / len(X)
    np.testing.assert_allclose(net.tape.param_data, decay * theta0 - eta * grad, rtol=1e-13, atol=1e-15)
    assert [p.data for p in net.tape.params] == net.tape.param_data.tolist()  # written back to the Values
