"""PyTorch and Keras habits: float/int/round/format/item on a Value, optimizer state dicts,
checkpoints with nn.save/nn.load, BCE on probabilities vs logits, class-index targets,
Keras' fit keywords and History access."""

import json
import math

import numpy as np
import pytest

import nn
from autodiff import Value


# ------------------------------------------------------------------ scalar conversions
def test_value_converts_like_a_torch_scalar():
    loss = Value(2.0) * Value(0.61728)
    assert float(loss) == loss.data and isinstance(float(loss), float)
    assert loss.item() == loss.data
    assert round(loss, 3) == 1.235 and round(loss) == 1
    assert f"{loss:.3f}" == "1.235" and f"{loss:8.2e}" == format(loss.data, "8.2e")
    assert f"{loss}" == repr(loss)
    assert int(Value(-2.7)) == -2
    assert math.isclose(math.sqrt(Value(4.0)), 2.0)  # anything taking a float takes a Value


def test_conversions_are_not_graph_nodes():
    v = Value(3.0)
    assert not isinstance(round(v, 1), Value) and not isinstance(v.item(), Value)


# ------------------------------------------------------------------ optimizer checkpoints
def _problem(seed=0):
    X, y = nn.two_moons(40, seed=1)
    model = nn.MLP(2, [6, 1], "tanh", "sigmoid", seed=seed)
    return model, X, y


def _steps(model, opt, X, y, k, start):
    for step in range(start, start + k):
        i = step % len(X)
        opt.zero_grad()
        nn.binary_cross_entropy(model(X[i]), y[i]).backward()
        opt.step()


@pytest.mark.parametrize("make", [lambda m: nn.Adam(m, lr=0.05, weight_decay=0.01),
                                  lambda m: nn.AdamW(m, lr=0.05),
                                  lambda m: nn.SGD(m, lr=0.3, momentum=0.9)])
def test_optimizer_resumed_from_its_state_dict_equals_an_uninterrupted_run(tmp_path, make):
    model, X, y = _problem()
    opt = make(model)
    _steps(model, opt, X, y, 25, 0)
    reference = model.parameter_vector()

    model, X, y = _problem()
    opt = make(model)
    _steps(model, opt, X, y, 10, 0)
    nn.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "step": 10}, tmp_path / "ckpt.json")
    json.loads((tmp_path / "ckpt.json").read_text())  # plain JSON

    fresh, _, _ = _problem(seed=99)  # different weights: all must come from the file
    opt2 = make(fresh)
    checkpoint = nn.load(tmp_path / "ckpt.json")
    fresh.load_state_dict(checkpoint["model"])
    opt2.load_state_dict(checkpoint["optimizer"])
    _steps(fresh, opt2, X, y, 15, checkpoint["step"])
    assert np.array_equal(fresh.parameter_vector(), reference)  # bit for bit


def test_adam_without_its_state_would_differ():
    """The check above can fail: resuming with a fresh Adam (m = v = 0, t = 0) does not match."""
    model, X, y = _problem()
    opt = nn.Adam(model, lr=0.05)
    _steps(model, opt, X, y, 25, 0)
    reference = model.parameter_vector()
    model, X, y = _problem()
    opt = nn.Adam(model, lr=0.05)
    _steps(model, opt, X, y, 10, 0)
    _steps(model, nn.Adam(model, lr=0.05), X, y, 15, 10)
    assert not np.array_equal(model.parameter_vector(), reference)


def test_optimizer_state_dict_errors():
    model, _, _ = _problem()
    adam = nn.Adam(model)
    with pytest.raises(ValueError, match="from SGD, not Adam"):
        adam.load_state_dict(nn.SGD(model, lr=0.1).state_dict())
    small = nn.Adam(nn.MLP(2, [1], seed=0)).state_dict()
    with pytest.raises(ValueError, match="holds 3 numbers but this optimizer has 25 parameters"):
        adam.load_state_dict(small)
    with pytest.raises(ValueError, match="expected a dict from Optimizer.state_dict"):
        adam.load_state_dict({"lr": 1})


def test_save_and_load_errors(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['model'\] is a MLP"):
        nn.save({"model": nn.MLP(2, [1], seed=0)}, tmp_path / "x.json")
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        nn.load(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("not json")
    with pytest.raises(ValueError, match="not a checkpoint"):
        nn.load(tmp_path / "bad.json")
    nn.save({"nan": float("nan"), "x": 0.1 + 0.2}, tmp_path / "f.json")
    back = nn.load(tmp_path / "f.json")
    assert math.isnan(back["nan"]) and back["x"] == 0.1 + 0.2


# ------------------------------------------------------------------ losses
def test_bce_names_the_probability_it_expected_and_points_to_logits():
    with pytest.raises(ValueError, match=r"output 0 is 3.0, but it expects a probability in \[0, 1\].*"
                                         r"binary_cross_entropy_with_logits"):
        nn.binary_cross_entropy(Value(3.0), 1)


@pytest.mark.parametrize("z", [-30.0, -2.0, 0.0, 0.7, 40.0])
@pytest.mark.parametrize("y", [0.0, 1.0, 0.3])
def test_bce_with_logits_matches_torch_formula(z, y):
    zv = Value(z)
    loss = nn.binary_cross_entropy_with_logits(zv, y)
    loss.backward()
    expected = max(z, 0) - y * z + math.log1p(math.exp(-abs(z)))
    assert loss.data == pytest.approx(expected, rel=1e-12, abs=1e-15)  # ln(1 + e^{-|z|}), not log1p
    assert zv.grad == pytest.approx(1 / (1 + math.exp(-z)) - y, abs=1e-12)
    assert nn.losses.get_loss("bce_with_logits") is nn.binary_cross_entropy_with_logits


def test_softmax_cross_entropy_takes_a_class_index():
    zs = [Value(0.5), Value(-1.0), Value(2.0)]
    by_index = nn.softmax_cross_entropy(zs, 2)
    one_hot = nn.softmax_cross_entropy(zs, [0, 0, 1])
    assert by_index.data == pytest.approx(one_hot.data, rel=1e-15)
    assert by_index.data == pytest.approx(-math.log(math.exp(2) / (math.exp(0.5) + math.exp(-1) + math.exp(2))))
    assert nn.softmax_cross_entropy(zs, np.int64(2)).data == pytest.approx(one_hot.data)
    assert nn.categorical_cross_entropy(nn.activations.get_activation  # probabilities of one softmax
                                        and __import__("autodiff").softmax(zs), 2).data == pytest.approx(one_hot.data)
    with pytest.raises(ValueError, match=r"class index 3 is out of range for 3 outputs \(0..2\)"):
        nn.softmax_cross_entropy(zs, 3)
    with pytest.raises(ValueError, match=r"one-hot\) or one integer class index 0..2"):
        nn.softmax_cross_entropy(zs, [0, 1])


# ------------------------------------------------------------------ Keras habits
def test_fit_accepts_keras_names_and_suggests_others():
    X, y = nn.xor()
    model = nn.MLP(2, [3, 1], "sigmoid", seed=0)
    h = nn.fit(model, X, y, loss="bce", epochs=2, validation_data=(X, y), verbose=0)
    assert len(h.val_loss) == 2 and h.val_loss == h["val_loss"]
    with pytest.raises(TypeError, match=r"'learning_rate'; did you mean 'lr'\?"):
        nn.fit(model, X, y, learning_rate=0.1)
    with pytest.raises(TypeError, match=r"'validaton'; did you mean 'validation'\?"):
        nn.fit(model, X, y, validaton=(X, y))
    with pytest.raises(TypeError, match="both validation_data="):
        nn.fit(model, X, y, validation=(X, y), validation_data=(X, y))


def test_history_attribute_and_key_access_agree():
    X, y = nn.xor()
    model = nn.MLP(2, [3, 1], "sigmoid", seed=0)
    f1 = lambda out, tgt: float(np.mean((out > 0.5) == tgt))  # noqa: E731
    f1.__name__ = "f1"
    h = nn.fit(model, X, y, loss="bce", epochs=3, metrics=("accuracy", f1), progress=False)
    for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert getattr(h, name) == h[name]
    assert h.val_loss == [] and h["val_loss"] == []
    assert h.f1 == h["f1"] == h.history["f1"] and len(h.f1) == 3
    with pytest.raises(KeyError, match="did you mean 'loss'"):
        h["los"]
    with pytest.raises(AttributeError, match="did you mean 'loss'"):
        h.los
