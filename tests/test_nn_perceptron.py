"""The single-layer perceptron rule w ← w + η(d − y)x (seed 004)."""

import numpy as np
import pytest

import nn

AND_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)


def test_one_update_by_hand():
    p = nn.Perceptron(2, "step", lr=0.5, weights=[0.0, 0.0], bias=0.0)
    e = p.update([1.0, 1.0], 1.0)        # y = step(0) = 0, e = 1
    assert e == 1.0
    assert [w.data for w in p.w] == [0.5, 0.5] and p.b.data == 0.5
    assert p.update([1.0, 1.0], 1.0) == 0.0  # now right: nothing changes
    assert [k for k, _ in p.named_parameters()] == ["w.0", "w.1", "b"] == [v.label for v in p.parameters()]
    assert [w.data for w in p.w] == [0.5, 0.5]


@pytest.mark.parametrize("activation, targets", [("step", [0, 0, 0, 1]), ("sign", [-1, -1, -1, 1])])
def test_learns_and_and_stops_at_the_threshold(activation, targets):
    p = nn.Perceptron(2, activation, lr=0.2)
    hist = p.fit(AND_X, targets, epochs=100)
    assert hist.converged and hist.errors[-1] == 0.0 and hist.mistakes[-1] == 0
    assert p.predict(AND_X).tolist() == targets
    assert hist.epochs < 100


def test_never_converges_on_xor_and_threshold_stops_early():
    X, y = nn.xor()
    p = nn.Perceptron(2, lr=0.1)
    hist = p.fit(X, y, epochs=30)
    assert not hist.converged and hist.epochs == 30 and min(hist.mistakes) >= 1
    p2 = nn.Perceptron(2, lr=0.1)
    hist2 = p2.fit(X, y, epochs=30, threshold=1.0)  # E = ½Σe² ≤ 1: two mistakes allowed
    assert hist2.converged and hist2.errors[-1] <= 1.0


def test_perceptron_arguments_are_checked():
    with pytest.raises(ValueError, match="'step' or 'sign'"):
        nn.Perceptron(2, "sigmoid")
    with pytest.raises(ValueError, match="lr"):
        nn.Perceptron(2, lr=0)
    with pytest.raises(ValueError, match=r"shape \(N, 2\)"):
        nn.Perceptron(2).fit(np.zeros((3, 3)), [0, 0, 0])
