"""Initialisers (seed 002 Table 2): each one's variance and range, drawn through a Layer."""

import math

import numpy as np
import pytest

import nn
from nn.init import INITIALISERS, get_init

FAN_IN, FAN_OUT = 120, 150
EXPECTED = {  # name: (variance, half-width of the support or None)
    "normal": (1.0, None),
    "normal_scaled": (1.0 / FAN_IN, None),
    "uniform": (1.0 / 3.0, 1.0),
    "xavier_uniform": (2.0 / (FAN_IN + FAN_OUT), math.sqrt(6.0 / (FAN_IN + FAN_OUT))),
    "xavier_normal": (2.0 / (FAN_IN + FAN_OUT), None),
    "he_uniform": (2.0 / FAN_IN, math.sqrt(6.0 / FAN_IN)),
    "he_normal": (2.0 / FAN_IN, None),
    "lecun_normal": (1.0 / FAN_IN, None),
    "lecun_uniform": (1.0 / FAN_IN, math.sqrt(3.0 / FAN_IN)),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_initialiser_variance_and_support(name):
    variance, half_width = EXPECTED[name]
    W, b = nn.Layer(FAN_IN, FAN_OUT, "linear", init=name, seed=3).get_weights()
    assert W.shape == (FAN_OUT, FAN_IN) and np.all(b == 0.0)
    # 18,000 draws: the sample variance is within ~3 standard errors (√(2/n) ≈ 1 % normal)
    assert W.var() == pytest.approx(variance, rel=0.05)
    assert abs(W.mean()) < 4 * math.sqrt(variance / W.size)
    if half_width is not None:
        assert np.all(np.abs(W) <= half_width) and np.abs(W).max() > 0.98 * half_width


def test_every_named_initialiser_is_covered():
    assert set(EXPECTED) | {"zeros", "glorot_uniform", "glorot_normal", "lecun"} == set(INITIALISERS)


def test_same_seed_same_draws_other_seed_other_draws():
    a = nn.Layer(4, 3, init="he_normal", seed=5).get_weights()[0]
    b = nn.Layer(4, 3, init="he_normal", rng=np.random.default_rng(5)).get_weights()[0]
    c = nn.Layer(4, 3, init="he_normal", seed=6).get_weights()[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_bias_init_and_custom_callable():
    layer = nn.Layer(3, 2, init=lambda fi, fo, shape, rng: np.full(shape, fi * 10.0 + fo), bias_init=0.25)
    W, b = layer.get_weights()
    assert np.all(W == 32.0) and np.all(b == 0.25)
    assert nn.Layer(3, 2, bias=False, seed=0).get_weights()[1] is None


def test_unknown_or_misplaced_initialiser():
    with pytest.raises(ValueError, match="unknown initialiser 'kaiming'"):
        get_init("kaiming")
    with pytest.raises(ValueError, match="whole network"):
        nn.Layer(3, 2, init="network2", seed=0)
