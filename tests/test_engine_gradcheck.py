"""autodiff.gradcheck: passes on correct graphs, and on a wrong derivative rule fails
with a message naming the input and the op whose rule disagrees with its own forward.

The wrong ops are registered under unique test names with autodiff.register and
removed again by the ``clean_ops`` fixture.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, strategies as st

import autodiff
from autodiff import GradcheckError, Op, Value


def wrong_square() -> Op:
    """x² with the derivative x instead of 2x."""
    return Op("test_wrong_square", 1, lambda a, attr=None: a * a,
              lambda xs, out, attr: (xs[0],), "sq?", "c = a²; ∂c/∂a = a (wrong on purpose)")


def wrong_product() -> Op:
    """a·b with ∂/∂b = 2a instead of a (∂/∂a is right)."""
    return Op("test_wrong_product", 2, lambda a, b, attr=None: a * b,
              lambda xs, out, attr: (xs[1], 2 * xs[0]), "mul?", "c = ab (wrong ∂/∂b)")


FUNCTIONS = [
    lambda x, y: (x * y).tanh() + x.exp() / y,
    lambda x, y: autodiff.dot([x, y], [y, x], x).sigmoid() * (y * y + 1).log(),
    lambda x, y: autodiff.sum(autodiff.softmax([x, y, x * y])[1:]) + autodiff.maximum([x, 2 * y]),
    lambda x, y: (x * x + 1) ** 0.5 - (y * y + 0.5) ** -1 + (x * x + 0.1) ** y.tanh(),
]


@pytest.mark.parametrize("fn", FUNCTIONS, ids=range(len(FUNCTIONS)))
@given(x=st.floats(-2, 2), y=st.floats(0.3, 2))
def test_gradcheck_passes_on_correct_graphs(fn, x, y):
    xv, yv = Value(x, "x"), Value(y, "y")
    if abs(x - 2 * y) < 1e-3:  # the max in FUNCTIONS[2] at a tie is a kink
        return
    assert autodiff.gradcheck(fn, [xv, yv]) is True
    assert (xv.data, yv.data) == (x, y), "gradcheck must restore the inputs"
    expected = [xv.grad, yv.grad]
    autodiff.zero_grad([xv, yv])
    fn(xv, yv).backward()
    assert [xv.grad, yv.grad] == expected, "gradcheck must leave backprop's gradients"


def test_gradcheck_names_the_wrong_op(clean_ops):
    op = autodiff.register(wrong_square())
    x = Value(1.5, "x")
    with pytest.raises(GradcheckError) as info:
        autodiff.gradcheck(lambda v: autodiff.apply(op, (v,)), [x])
    message = str(info.value)
    assert "test_wrong_square" in message and "'x'" in message and "inputs[0]" in message
    assert isinstance(info.value, AssertionError)
    assert x.data == 1.5


def test_gradcheck_finds_the_wrong_op_deep_inside_a_graph(clean_ops):
    op = autodiff.register(wrong_product())
    x, y = Value(0.7, "x"), Value(-1.2, "y")

    def fn(a, b):
        inner = autodiff.apply(op, ((a * 2).tanh(), b.exp()))
        return (inner + a).sigmoid() * 3

    with pytest.raises(GradcheckError, match="test_wrong_product") as info:
        autodiff.gradcheck(fn, [x, y])
    assert "'y'" in str(info.value)  # only ∂/∂b is wrong, so y is the worst input
    assert "input 1" in str(info.value)


def test_the_fixture_removes_registered_ops():
    assert not any(name.startswith("test_") for name in autodiff.OPS)


def test_gradcheck_with_eps_and_tolerances():
    x = Value(0.3, "x")
    assert autodiff.gradcheck(lambda v: v.exp(), [x], eps=1e-4, atol=1e-7, rtol=1e-6)


def test_gradcheck_fails_on_a_nan_derivative(clean_ops):
    op = autodiff.register(Op("test_nan_rule", 1, lambda a, attr=None: a * a,
                              lambda xs, out, attr: (math.nan,), "nan", "∂ = NaN"))
    with pytest.raises(GradcheckError):
        autodiff.gradcheck(lambda v: autodiff.apply(op, (v,)), [Value(1.0, "x")])


def test_gradcheck_fails_on_an_infinite_derivative(clean_ops):
    op = autodiff.register(Op("test_inf_rule", 1, lambda a, attr=None: a * a,
                              lambda xs, out, attr: (math.inf,), "inf", "∂ = inf"))
    with pytest.raises(GradcheckError, match="test_inf_rule"):
        autodiff.gradcheck(lambda v: autodiff.apply(op, (v,)), [Value(1.0, "x")])


def test_gradcheck_restores_inputs_when_fn_fails_on_a_perturbed_point():
    x = Value(1e-7, "x")
    with pytest.raises(ValueError, match="log"):
        autodiff.gradcheck(lambda v: v.log(), [x], eps=1e-6)
    assert x.data == 1e-7
    assert autodiff.is_grad_enabled()


def test_gradcheck_argument_errors():
    with pytest.raises(TypeError, match=r"inputs\[1\]"):
        autodiff.gradcheck(lambda a, b: a * b, [Value(1.0), 2.0])
    with pytest.raises(TypeError, match="must return a Value"):
        autodiff.gradcheck(lambda a: 3.0, [Value(1.0)])


def test_local_gradcheck_rows():
    a, b = Value(0.5), Value(2.0)
    node = (a ** b)
    rows = autodiff.local_gradcheck(node)
    assert [r[0] for r in rows] == [0, 1]
    for _, rule, numeric in rows:
        assert math.isclose(rule, numeric, rel_tol=1e-6)
    assert autodiff.local_gradcheck(a) == []
