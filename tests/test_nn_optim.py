"""SGD with momentum and weight decay, gradient clipping: hand-checked steps."""

import math

import pytest

import nn
from autodiff import Value


def params(*xs):
    return [Value(float(x), f"p{i}", param=True) for i, x in enumerate(xs)]


def test_momentum_follows_the_delta_rule_by_hand():
    # Δw(n) = αΔw(n−1) − η g(n), α = 0.9, η = 0.1; gradients 2.0 then −1.0
    (w,) = ps = params(1.0)
    opt = nn.SGD(ps, lr=0.1, momentum=0.9)
    w.grad = 2.0
    opt.step()
    assert w.data == pytest.approx(1.0 - 0.2)                       # Δw(1) = −0.2
    opt.zero_grad()
    assert w.grad == 0.0
    w.grad = -1.0
    opt.step()
    assert w.data == pytest.approx(0.8 + (0.9 * -0.2 + 0.1))        # Δw(2) = −0.18 + 0.1 = −0.08
    assert opt.velocity == pytest.approx([-0.08])


def test_plain_sgd_and_weight_decay():
    w, v = ps = params(2.0, -1.0)
    w.grad, v.grad = 0.5, 0.0
    nn.SGD(ps, lr=0.2, weight_decay=0.1).step()   # g = grad + λ w
    assert w.data == pytest.approx(2.0 - 0.2 * (0.5 + 0.2))
    assert v.data == pytest.approx(-1.0 - 0.2 * (0.0 - 0.1))


def test_clip_by_value():
    ps = params(0, 0, 0)
    for p, g in zip(ps, (3.0, -0.5, -7.0)):
        p.grad = g
    assert nn.clip_grad_value(ps, 1.0) == 2
    assert [p.grad for p in ps] == [1.0, -0.5, -1.0]


def test_clip_by_global_norm():
    ps = params(0, 0)
    ps[0].grad, ps[1].grad = 3.0, 4.0
    assert nn.clip_grad_norm(ps, 1.0) == pytest.approx(5.0)
    assert [p.grad for p in ps] == pytest.approx([0.6, 0.8])
    assert nn.grad_norm(ps) == pytest.approx(1.0)
    ps[0].grad, ps[1].grad = 0.3, 0.4  # below the limit: unchanged
    nn.clip_grad_norm(ps, 1.0)
    assert [p.grad for p in ps] == [0.3, 0.4]


def test_clipping_inside_fit_limits_the_step():
    # one linear neuron, E = ½(d − y)², ∂E/∂w = −(d − y)x = −10 at w = 0, x = 1, d = 10
    n = nn.Neuron(1, "linear", weights=[0.0], bias=False)
    nn.fit(n, [[1.0]], [10.0], lr=0.1, mode="batch", epochs=1, clip_value=1.0, metrics=())
    assert n.w[0].data == pytest.approx(0.1)       # clipped to g = 1
    n = nn.Neuron(1, "linear", weights=[0.0], bias=False)
    nn.fit(n, [[1.0]], [10.0], lr=0.1, mode="batch", epochs=1, metrics=())
    assert n.w[0].data == pytest.approx(1.0)


@pytest.mark.parametrize("kwargs, message", [
    ({"lr": 0.0}, "learning rate"), ({"lr": -1.0}, "learning rate"), ({"lr": math.nan}, "learning rate"),
    ({"momentum": 1.0}, "0 ≤ α < 1"), ({"momentum": -0.1}, "0 ≤ α < 1"),
    ({"weight_decay": -1.0}, "weight_decay"),
])
def test_sgd_validates_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        nn.SGD(params(1.0), **{"lr": 0.1, **kwargs})


def test_clip_and_optimizer_need_parameters():
    with pytest.raises(ValueError, match="no parameters"):
        nn.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="clip"):
        nn.clip_grad_value(params(1.0), 0.0)
    with pytest.raises(TypeError, match="expected Values"):
        nn.SGD([1.0], lr=0.1)
