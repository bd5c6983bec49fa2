"""Module structure: names, labels, groups, state export/import, explicit weights, errors."""

import json

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value


def test_named_parameters_are_stable_dotted_names():
    model = nn.MLP(3, [2, 1], seed=0)
    names = [n for n, _ in model.named_parameters()]
    assert names == [
        "layers.0.neurons.0.w.0", "layers.0.neurons.0.w.1", "layers.0.neurons.0.w.2", "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0", "layers.0.neurons.1.w.1", "layers.0.neurons.1.w.2", "layers.0.neurons.1.b",
        "layers.1.neurons.0.w.0", "layers.1.neurons.0.w.1", "layers.1.neurons.0.b"]
    # the same after a forward/backward and training; labels equal names; all are parameters
    nn.fit(model, np.ones((2, 3)), [0.0, 1.0], epochs=2, metrics=())
    assert [n for n, _ in model.named_parameters()] == names
    for name, p in model.named_parameters():
        assert p.label == name and p.param
    assert model.parameters() == [p for _, p in model.named_parameters()]


def test_maxout_parameter_names():
    layer = nn.Layer(2, 1, "maxout(3)", seed=0)
    names = [n for n, _ in layer.named_parameters()]
    assert names[:3] == ["neurons.0.w.0.0", "neurons.0.w.0.1", "neurons.0.w.1.0"]
    assert names[-3:] == ["neurons.0.b.0", "neurons.0.b.1", "neurons.0.b.2"]
    assert layer.get_weights()[0].shape == (1, 3, 2)


def test_weights_are_the_parameters_without_the_biases_in_parameter_order():
    """Module.weights(): what fit(l2=) decays. Found from each neuron's own weight rows, not
    from parameter names, so maxout's pieces and a Perceptron's weights count, biases never."""
    model = nn.MLP(2, [3, 1], seed=0)
    assert model.weights() == [p for name, p in model.named_parameters() if ".w." in name]
    assert len(model.weights()) == 2 * 3 + 3 * 1
    maxout = nn.Layer(2, 1, "maxout(3)", seed=0)
    assert maxout.weights() == [w for row in maxout.neurons[0].pieces for w in row]
    assert not set(map(id, maxout.weights())) & {id(b) for b in maxout.neurons[0].biases}
    p = nn.Perceptron(3, seed=0)
    assert p.weights() == p.neuron.w and all(w is not p.neuron.b for w in p.weights())
    no_bias = nn.Neuron(2, bias=False, seed=0)
    assert no_bias.weights() == no_bias.parameters() == no_bias.w


def test_groups_on_every_node_a_neuron_creates():
    model = nn.MLP(2, [3, 2], activation="tanh", output_activation="softmax", seed=1)
    outs = model([0.3, -0.7])
    for i, layer in enumerate(model.layers):
        for j, _ in enumerate(layer.neurons):
            assert (f"layers.{i}", f"neurons.{j}") == layer.neurons[j].group
    for k, o in enumerate(outs):
        assert o.op == "softmax" and o.group == ("layers.1", f"neurons.{k}")
    ops = {}
    for node in autodiff.topological_order(autodiff.sum(outs)):
        if node.op in ("dot", "tanh", "softmax"):
            ops.setdefault(node.op, []).append(node.group)
    assert len(ops["dot"]) == 5 and len(ops["tanh"]) == 3
    assert all(g is not None and g[0].startswith("layers.") for gs in ops.values() for g in gs)
    # a neuron's weighted input is one dot node reading (w..., x..., b)
    z = model.layers[0].neurons[0].weighted_inputs([Value(1.0), Value(2.0)])[0]
    assert z.op == "dot" and z.attr is True and len(z.inputs) == 5


def test_standalone_neuron_and_layer_groups():
    n = nn.Neuron(2, "relu", seed=0)
    assert n([1.0, 2.0]).group == ("neuron",)
    named = nn.Neuron(2, "relu", seed=0, name="H1")
    out = named([1.0, 2.0])
    assert out.group == ("H1",) and named.w[0].label == "H1.w.0"
    assert [k for k, _ in named.named_parameters()] == ["w.0", "w.1", "b"]
    layer = nn.Layer(2, 2, seed=0)
    assert [o.group for o in layer([1.0, 2.0])] == [("neurons.0",), ("neurons.1",)]
    hidden = nn.Layer(2, 2, seed=0, name="hidden")
    assert [o.group for o in hidden([1.0, 2.0])] == [("hidden", "neurons.0"), ("hidden", "neurons.1")]
    assert hidden.neurons[1].b.label == "hidden.neurons.1.b"
    assert [k for k, _ in hidden.named_parameters()][-1] == "neurons.1.b"


def test_state_dict_roundtrip_is_plain_and_json_serialisable():
    a = nn.MLP(2, [4, 1], seed=0)
    b = nn.MLP(2, [4, 1], seed=1)
    state = json.loads(json.dumps(a.state_dict()))
    b.load_state_dict(state)
    assert np.array_equal(a.parameter_vector(), b.parameter_vector())
    x = [0.2, -0.4]
    assert a(x).data == b(x).data  # one output: a Value
    with pytest.raises(KeyError, match="missing keys"):
        b.load_state_dict({"layers.0.neurons.0.w.0": 1.0})
    weights = a.get_weights()
    assert weights[0][0].shape == (4, 2) and weights[0][1].shape == (4,)
    c = nn.MLP(2, [4, 1], seed=2)
    c.set_weights(weights)
    assert np.array_equal(c.parameter_vector(), a.parameter_vector())
    with pytest.raises(ValueError, match="shape"):
        c.layers[0].set_weights(np.zeros((2, 4)))


def test_explicit_weights_and_shared_values():
    w = Value(0.5, "shared_w", param=True)
    layer = nn.Layer(1, 2, "linear", weights=[[w], [w]], biases=[0.0, 1.0])
    outs = layer([2.0])
    assert [o.data for o in outs] == [1.0, 2.0]
    autodiff.sum(outs).backward()
    assert w.grad == 4.0 and w.label == "shared_w"
    assert len(layer.parameters()) == 3


def test_network2_init_replays_nielsen_draw_order():
    sizes = [5, 4, 3]
    np.random.seed(7)
    biases = [np.random.randn(y, 1) for y in sizes[1:]]
    weights = [np.random.randn(y, x) / np.sqrt(x) for x, y in zip(sizes[:-1], sizes[1:])]
    state = np.random.get_state()
    model = nn.MLP(5, [4, 3], init="network2", seed=7)
    assert np.random.get_state()[1][0] == state[1][0]  # global RNG untouched
    for (W, b), Wn, bn in zip(model.get_weights(), weights, biases):
        assert np.array_equal(W, Wn) and np.array_equal(b, bn[:, 0])
    large = nn.MLP(5, [4, 3], init="network2_large", seed=7)
    assert np.array_equal(large.get_weights()[0][0], weights[0] * np.sqrt(5))
    with pytest.raises(TypeError, match="int seed"):
        nn.MLP(5, [4], init="network2")


def test_seeded_construction_is_reproducible():
    a = nn.MLP(3, [5, 2], seed=11, bias_init="normal")
    b = nn.MLP(3, [5, 2], rng=np.random.default_rng(11), bias_init="normal")
    assert np.array_equal(a.parameter_vector(), b.parameter_vector())
    assert not np.array_equal(a.parameter_vector(), nn.MLP(3, [5, 2], seed=12).parameter_vector())


def test_activations_compute_their_formulas():
    z = 0.7
    expect = {"sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z), "relu": z, "linear": z,
              "sign": 1.0, "step": 1.0, "elu": z, "leaky_relu": z}
    for name, value in expect.items():
        n = nn.Neuron(1, name, weights=[1.0], bias=z - 1.0)
        assert n([1.0]).data == pytest.approx(value)
        neg = nn.Neuron(1, name, weights=[1.0], bias=-z - 1.0)([1.0]).data
        assert neg == pytest.approx({"sigmoid": 1 / (1 + np.exp(z)), "tanh": -np.tanh(z), "relu": 0.0,
                                     "linear": -z, "sign": -1.0, "step": 0.0, "elu": np.exp(-z) - 1,
                                     "leaky_relu": -0.01 * z}[name])
    assert nn.Neuron(1, "leaky_relu(0.2)", weights=[1.0], bias=0.0)([-1.0]).data == pytest.approx(-0.2)
    mo = nn.Neuron(1, "maxout(3)", weights=[[1.0], [-2.0], [0.5]], bias=[0.0, 0.0, 1.0])
    assert mo([2.0]).data == 2.0 and mo([-1.0]).data == 2.0
    assert mo([2.0]).op == "max"


@pytest.mark.parametrize("make, message", [
    (lambda: nn.Neuron(2, "swish"), r"Neuron\(activation\): unknown activation 'swish'"),
    (lambda: nn.MLP(2, [3], activation="sigmod"), r"MLP\(activation\): unknown activation"),
    (lambda: nn.MLP(2, [3], output_activation="softplus"), r"MLP\(output_activation\)"),
    (lambda: nn.Neuron(2, "softmax"), "whole-layer"),
    (lambda: nn.Neuron(0), r"Neuron\(nin\)"),
    (lambda: nn.MLP(2, []), r"MLP\(sizes\)"),
    (lambda: nn.Layer(2, 2, weights=[[1.0, 2.0]]), r"Layer\(weights\): expected 2 rows"),
    (lambda: nn.Neuron(2, weights=[1.0]), r"Neuron\(weights\): expected 2 weights"),
    (lambda: nn.Layer(2, 2, init="glorious"), r"Layer\(init\): unknown initialiser"),
    (lambda: nn.Neuron(2, seed=1, rng=np.random.default_rng(1)), "either rng= or seed="),
])
def test_construction_errors_name_the_argument(make, message):
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_wrong_input_width_is_a_clear_error():
    model = nn.MLP(3, [2], seed=0)
    with pytest.raises(ValueError, match=r"MLP: x has 2 inputs but this module expects nin=3"):
        model([1.0, 2.0])
    with pytest.raises(ValueError, match="Neuron: x has 1 inputs"):
        nn.Neuron(2, seed=0)([1.0])
    with pytest.raises(TypeError, match=r"input x\[1\] \(a number or a Value\) must be a real number"):
        model([1.0, "a", 2.0])
