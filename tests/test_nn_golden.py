"""nn against the reference numbers in tests/data/golden.json (tasks 1-3)."""

import json
from pathlib import Path

import pytest

import nn
from autodiff import Value

GOLDEN = json.loads((Path(__file__).parent / "data" / "golden.json").read_text())
NPTEL = GOLDEN["task1_nptel_backprop"]
NIELSEN = GOLDEN["task2_nielsen_single_neuron"]["true_gradient_descent"]
XOR = GOLDEN["task3_xor_threshold_mlp"]


def nptel_net():
    """The 2-2-1 network of seed 004, written down through nn with b1 shared."""
    b1 = Value(0.35, "b1", param=True)
    model = nn.MLP(2, [2, 1], activation="sigmoid",
                   weights=[[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45]]], biases=[[b1, b1], [0.60]])
    return model, b1


def test_nptel_forward_and_every_gradient():
    model, b1 = nptel_net()
    out = model([0.05, 0.10])
    E = nn.half_sse(out, [0.01])
    E.backward()
    assert E.data == pytest.approx(NPTEL["values"]["E"], abs=1e-12)
    assert out.data == pytest.approx(NPTEL["values"]["out_o"], abs=1e-12)
    hidden = model.layers[0].neurons
    w = [hidden[0].w[0], hidden[0].w[1], hidden[1].w[0], hidden[1].w[1],
         model.layers[1].neurons[0].w[0], model.layers[1].neurons[0].w[1]]
    grads = NPTEL["gradients"]
    for i, wi in enumerate(w, start=1):
        assert wi.grad == pytest.approx(grads[f"w{i}"], abs=1e-9), f"w{i}"
    assert hidden[0].b is hidden[1].b is b1
    assert b1.grad == pytest.approx(grads["b1"], abs=1e-9)   # sums both paths
    assert model.layers[1].neurons[0].b.grad == pytest.approx(grads["b2"], abs=1e-9)
    # the shared bias is listed once
    assert sum(p is b1 for p in model.parameters()) == 1
    assert len(model.parameters()) == 8


def test_nptel_sgd_step_through_fit():
    model, b1 = nptel_net()
    nn.fit(model, [[0.05, 0.10]], [0.01], loss="half_sse", lr=0.5, mode="batch", epochs=1, metrics=())
    step = NPTEL["sgd_step_eta_0_5"]
    hidden = model.layers[0].neurons
    got = [hidden[0].w[0], hidden[0].w[1], hidden[1].w[0], hidden[1].w[1]] + model.layers[1].neurons[0].w
    for i, v in enumerate(got, start=1):
        assert v.data == pytest.approx(step[f"w{i}"], abs=1e-9)
    assert b1.data == pytest.approx(step["b1"], abs=1e-9)
    assert model.layers[1].neurons[0].b.data == pytest.approx(step["b2"], abs=1e-9)


@pytest.mark.parametrize("engine", sorted(nn.training.ENGINES))
@pytest.mark.parametrize("name", sorted(NIELSEN))
def test_nielsen_single_neuron_cost_curve(name, engine):
    run = NIELSEN[name]
    neuron = nn.Neuron(1, "sigmoid", weights=[run["w0"]], bias=run["b0"])
    loss = {"quadratic": "half_sse", "cross_entropy": "binary_cross_entropy"}[run["cost"]]
    history = nn.fit(neuron, [[1.0]], [0.0], loss=loss, lr=run["eta"], mode="batch",
                     epochs=run["epochs"], metrics=(), engine=engine)
    assert history.epoch == list(range(1, run["epochs"] + 1))
    assert history.initial["loss"] == pytest.approx(run["cost_at"]["0"], abs=1e-6)
    for epoch in ("50", "100", "150", "200", "300"):
        assert history["loss"][int(epoch) - 1] == pytest.approx(run["cost_at"][epoch], abs=1e-6), epoch
    assert neuron.w[0].data == pytest.approx(run["final_w"], abs=1e-6)
    assert neuron.b.data == pytest.approx(run["final_b"], abs=1e-6)


def xor_net(units):
    """h1 = act(1.5 − x1 − x2), h2 = act(−0.5 + x1 + x2), y = act(−1 + h1 + h2)."""
    return nn.MLP(2, [2, 1], activation=units, weights=[[[-1, -1], [1, 1]], [[1, 1]]],
                  biases=[[1.5, -0.5], [-1]])


def test_xor_sign_network_truth_table():
    model = xor_net("sign")
    for row in XOR["truth_table_inputs01_sign_units"]:
        xs = [Value(float(row["x1"])), Value(float(row["x2"]))]
        hidden = model.layers[0].forward(xs)
        y = model.layers[1].forward(hidden)  # one output: a Value
        assert [h.data for h in hidden] == [row["h1"], row["h2"]]
        assert y.data == row["y"]


@pytest.mark.parametrize("config", [k for k in XOR["all_configurations"]
                                    if "sign(0)=+1" in k or "step(0)=0" in k])
def test_xor_configurations_matching_engine_conventions(config):
    """The engine takes sign(0) = +1 and step(0) = 0: those rows of the table must match."""
    entry = XOR["all_configurations"][config]
    model = xor_net("sign" if "sign" in config else "step")
    outputs = []
    for row in entry["truth_table"]:
        out = model([row["x1"], row["x2"]])
        assert out.inputs[0].data == pytest.approx(row["net_out"])
        outputs.append(out.data)
    assert outputs == [row["y"] for row in entry["truth_table"]]
    is_xor = outputs == ([-1.0, 1.0, 1.0, -1.0] if "sign" in config else [0.0, 1.0, 1.0, 0.0])
    assert is_xor == entry["computes_xor"]
