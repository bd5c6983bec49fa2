"""Loss functions: values against their formulas, gradients, stability at saturation."""

import math

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value
from nn.losses import get_loss, logsumexp, softplus


def vals(*xs):
    return [Value(float(x), f"o{i}") for i, x in enumerate(xs)]


def test_half_sse_mse_and_their_gradients():
    y = vals(0.2, 0.9)
    E = nn.half_sse(y, [0.0, 1.0])
    E.backward()
    assert E.data == pytest.approx(0.5 * (0.2 ** 2 + 0.1 ** 2))
    assert [v.grad for v in y] == pytest.approx([0.2, -0.1])  # ∂E/∂y = −e
    assert nn.mse(vals(0.2, 0.9), [0.0, 1.0]).data == pytest.approx((0.04 + 0.01) / 2)


@pytest.mark.parametrize("z, y", [(0.0, 1.0), (0.0, 0.0), (2.5, 1.0), (-3.0, 1.0), (1.2, 0.3)])
def test_bce_from_the_logit_matches_formula_and_gradient(z, y):
    zv = Value(z, "z")
    L = nn.binary_cross_entropy([zv.sigmoid()], [y])
    L.backward()
    a = 1 / (1 + math.exp(-z))
    assert L.data == pytest.approx(-y * math.log(a) - (1 - y) * math.log(1 - a), abs=1e-12)
    assert zv.grad == pytest.approx(a - y, abs=1e-12)  # exact, also at z = 0


@pytest.mark.parametrize("z", [40.0, 800.0, -800.0, 1e6])
def test_bce_saturated_sigmoid_is_finite(z):
    zv = Value(z)
    for y in (0.0, 1.0):
        zv.grad = 0.0
        L = nn.binary_cross_entropy([zv.sigmoid()], [y])
        L.backward()
        expected = max(z, 0.0) - y * z + math.log1p(math.exp(-abs(z)))
        assert math.isfinite(L.data) and L.data == pytest.approx(expected, rel=1e-12, abs=1e-12)
        assert zv.grad == pytest.approx((1.0 if z > 0 else 0.0) - y, abs=1e-12)


def test_bce_without_a_logit_clamps_with_eps():
    p = Value(1.0)  # a probability that is exactly 1 and not a sigmoid node
    L = nn.binary_cross_entropy([p], [0.0])
    assert L.data == pytest.approx(-math.log(nn.losses.EPS), rel=1e-6)
    q = Value(0.3)
    assert nn.binary_cross_entropy([q], [1.0]).data == pytest.approx(-math.log(0.3), rel=1e-9)


def test_multi_output_bce_is_nielsens_sum():
    zs = [Value(0.5), Value(-1.0), Value(2.0)]
    ys = [0.0, 1.0, 0.0]
    L = nn.binary_cross_entropy([z.sigmoid() for z in zs], ys)
    a = 1 / (1 + np.exp(-np.array([0.5, -1.0, 2.0])))
    y = np.array(ys)
    assert L.data == pytest.approx(np.sum(-y * np.log(a) - (1 - y) * np.log(1 - a)))


def test_softmax_cross_entropy_and_categorical_from_a_softmax_layer():
    z = [1.0, 2.0, 0.5]
    target = [0.0, 1.0, 0.0]
    zv = vals(*z)
    L = nn.softmax_cross_entropy(zv, target)
    L.backward()
    s = np.exp(z) / np.sum(np.exp(z))
    assert L.data == pytest.approx(-np.log(s[1]))
    assert [v.grad for v in zv] == pytest.approx(s - np.array(target))
    # from probabilities made by autodiff.softmax: the logits are used, so huge logits are fine
    zbig = vals(1000.0, 0.0, -1000.0)
    probs = autodiff.softmax(zbig)
    L2 = nn.categorical_cross_entropy(probs, [0.0, 0.0, 1.0])
    assert L2.data == pytest.approx(2000.0)
    L2.backward()
    assert [v.grad for v in zbig] == pytest.approx([1.0, 0.0, -1.0])
    assert logsumexp(vals(1000.0, 1000.0)).data == pytest.approx(1000.0 + math.log(2))


def test_softplus_is_exact_at_zero():
    z = Value(0.0)
    s = softplus(z)
    s.backward()
    assert s.data == pytest.approx(math.log(2)) and z.grad == pytest.approx(0.5)


def test_hinge_and_l2_penalty():
    s = vals(0.3, -2.0)
    L = nn.hinge(s, [1.0, -1.0])
    L.backward()
    assert L.data == pytest.approx(0.7)
    assert [v.grad for v in s] == [-1.0, 0.0]
    ws = vals(1.0, -2.0)
    P = nn.l2_penalty(ws, lam=0.5, n=10)
    P.backward()
    assert P.data == pytest.approx(0.5 / 20 * 5)
    assert [w.grad for w in ws] == pytest.approx([0.05, -0.1])  # λw/n


def test_loss_argument_errors():
    with pytest.raises(ValueError, match="2 outputs but 1 targets"):
        nn.half_sse(vals(1, 2), [1.0])
    with pytest.raises(ValueError, match="unknown loss 'l1'"):
        get_loss("l1")
    with pytest.raises(ValueError, match="lam must be"):
        nn.l2_penalty(vals(1), lam=-1.0)


@pytest.mark.parametrize("loss_fn, label", [
    (nn.binary_cross_entropy, "cross_ent"), (nn.softmax_cross_entropy, "cross_ent"),
    (nn.half_sse, "sse"), (nn.mse, "mse"), (nn.hinge, "hinge"),
])
def test_a_loss_is_marked_as_one_composite_op_and_the_model_is_left_alone(loss_fn, label):
    """viz draws a loss as one square (the slides' cross_ent) from these groups; the model's
    own nodes keep the groups nn gave them."""
    model = nn.MLP(3, [4, 2], activation="sigmoid", seed=0)
    outputs = model([Value(0.1), Value(-0.2), Value(0.3)])
    model_nodes = autodiff.topological_order(outputs[0]) + autodiff.topological_order(outputs[1])
    before = {id(v): v.group for v in model_nodes}
    loss = loss_fn(outputs, [1.0, 0.0])
    model_ids = {id(v) for v in model_nodes}
    loss_ops = [v for v in autodiff.topological_order(loss) if v.op and id(v) not in model_ids]
    assert loss_ops and all(v.group == ("op:" + label,) for v in loss_ops)
    assert all(v.group == before[id(v)] for v in model_nodes)
