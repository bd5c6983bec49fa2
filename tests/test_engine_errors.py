"""Bad inputs raise the named error, and the message names the argument or the node.

Also the numerically delicate forms: sigmoid and tanh at ±1e308, softmax of huge
inputs, exp at the edge of overflow. Never a silent wrong value.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

import autodiff
from autodiff import Value

# ------------------------------------------------------------------ construction


@pytest.mark.parametrize("bad", [True, False, "1", 1j, None, [1.0], np.bool_(True)],
                         ids=["True", "False", "str", "complex", "None", "list", "np.bool_"])
def test_value_rejects_non_real_data(bad):
    with pytest.raises(TypeError, match=r"Value\(data\)") as info:
        Value(bad)
    assert type(bad).__name__ in str(info.value)


@pytest.mark.parametrize("good", [1, 2.5, np.float64(0.25), np.float32(0.5), np.int64(3), -0.0, 1e308])
def test_value_accepts_real_numbers_as_float(good):
    v = Value(good)
    assert type(v.data) is float and v.data == float(good)


def test_value_of_a_huge_int_names_the_argument():
    with pytest.raises((OverflowError, ValueError, TypeError), match=r"Value\(data\)"):
        Value(10 ** 400)


def test_label_must_be_a_string():
    with pytest.raises(TypeError, match=r"Value\(label\)"):
        Value(1.0, 3)


@pytest.mark.parametrize("build, name", [
    (lambda v: v + "1", "operand"), (lambda v: "1" - v, "operand"), (lambda v: v * None, "operand"),
    (lambda v: v ** "2", "exponent"), (lambda v: v ** True, "exponent"),
    (lambda v: v.leaky_relu(True), "slope"), (lambda v: v.elu("1"), "alpha"),
    (lambda v: autodiff.sum([v, "x"]), r"sum\(values\): item 1"), (lambda v: autodiff.dot([v], [1j]), "operand"),
])
def test_bad_operands_raise_type_error_naming_the_argument(build, name):
    with pytest.raises(TypeError, match=name):
        build(Value(1.0, "v"))


# ------------------------------------------------------------------ domain errors


@pytest.mark.parametrize("x", [0.0, -0.0, -1.0, -1e-300, -math.inf])
def test_log_of_non_positive_names_the_node(x):
    with pytest.raises(ValueError, match="log") as info:
        Value(x, "zed").log()
    assert "'zed'" in str(info.value)


@pytest.mark.parametrize("build", [
    lambda a: a ** 0.5, lambda a: a ** (1 / 3), lambda a: a ** -1.5,
    lambda a: a ** Value(0.5, "k"), lambda a: a ** Value(-2.5, "k"),
], ids=["const-0.5", "const-1/3", "const--1.5", "value-0.5", "value--2.5"])
def test_negative_base_with_non_integer_exponent_names_the_node(build):
    with pytest.raises(ValueError, match="pow") as info:
        build(Value(-8.0, "base"))
    assert "'base'" in str(info.value)


def test_negative_number_base_with_a_value_exponent():
    with pytest.raises(ValueError, match="pow") as info:
        (-2.0) ** Value(0.5, "k")
    assert "'k'" in str(info.value)


def test_negative_base_with_integer_exponent_is_fine():
    a = Value(-2.0, "a")
    for k, want in [(2, 4.0), (3, -8.0), (-1, -0.5), (-2, 0.25), (0, 1.0)]:
        assert (a ** k).data == want
        assert (a ** Value(float(k))).data == want


def test_backward_through_a_negative_base_with_a_value_exponent_says_why():
    """∂(aᵇ)/∂b = aᵇ ln a does not exist for a < 0: the engine refuses (PyTorch gives NaN)
    and points to the constant-exponent form, whose ∂/∂a exists."""
    a, b = Value(-3.0, "a"), Value(2.0, "b")
    with pytest.raises(ValueError, match=r"negative base.*a \*\* 2") as info:
        (a ** b).backward()
    assert "'a'" in str(info.value) or "powv" in str(info.value)
    a.grad = 0.0
    (a ** 2).backward()
    assert a.grad == -6.0


@pytest.mark.parametrize("build", [
    lambda z: z ** -1, lambda z: z ** -0.5, lambda z: z ** Value(-1.0, "k"), lambda z: 1 / z,
    lambda z: Value(2.0, "two") / z,
], ids=["pow-1", "pow-0.5", "powv-1", "rdiv", "div"])
def test_division_by_zero_names_the_node(build):
    for zero in (0.0, -0.0):
        with pytest.raises(ZeroDivisionError) as info:
            build(Value(zero, "zero"))
        assert "'zero'" in str(info.value)


def test_division_by_a_zero_constant():
    with pytest.raises(ZeroDivisionError, match="'num'"):
        Value(1.0, "num") / 0


@pytest.mark.parametrize("build", [
    lambda v: v.exp(), lambda v: v ** 400, lambda v: 10.0 ** v, lambda v: v ** Value(400.0),
], ids=["exp", "pow", "rpow", "powv"])
def test_overflow_names_the_node(build):
    with pytest.raises(OverflowError) as info:
        build(Value(1000.0, "big"))
    assert "'big'" in str(info.value)


def test_exp_just_below_overflow_and_far_below_zero():
    assert math.isclose(Value(709.0).exp().data, math.exp(709.0))
    tiny = Value(-1e308)
    t = tiny.exp()
    t.backward()
    assert t.data == 0.0 and tiny.grad == 0.0


@pytest.mark.parametrize("a, b, op", [(math.inf, math.inf, "sub"), (math.inf, 0.0, "mul"),
                                      (-math.inf, math.inf, "add"), (math.inf, math.inf, "div")])
def test_nan_from_non_nan_inputs_is_an_error(a, b, op):
    with pytest.raises(ValueError, match=f"{op}.*NaN"):
        {"sub": lambda x, y: x - y, "mul": lambda x, y: x * y, "add": lambda x, y: x + y,
         "div": lambda x, y: x / y}[op](Value(a, "a"), Value(b, "b"))


def test_errors_name_nodes_inside_no_grad_too():
    with autodiff.no_grad():
        with pytest.raises(ValueError, match="'neg'"):
            Value(-1.0, "neg").log()


# ------------------------------------------------------------------ n-ary misuse


def test_dot_with_mismatched_lengths():
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        autodiff.dot([Value(1.0), Value(2.0)], [Value(1.0), Value(2.0), Value(3.0)])


@pytest.mark.parametrize("fn", [autodiff.sum, autodiff.maximum, autodiff.softmax,
                                lambda xs: autodiff.dot(xs, xs)], ids=["sum", "maximum", "softmax", "dot"])
def test_empty_nary_ops(fn):
    with pytest.raises(ValueError, match="at least one"):
        fn([])
    with pytest.raises(ValueError, match="at least one"):
        fn(iter(()))


# ------------------------------------------------------------------ numerically safe forms


@pytest.mark.parametrize("x, sig, tanh", [(1e308, 1.0, 1.0), (-1e308, 0.0, -1.0),
                                          (math.inf, 1.0, 1.0), (-math.inf, 0.0, -1.0),
                                          (800.0, 1.0, 1.0), (-800.0, 0.0, -1.0)])
def test_sigmoid_and_tanh_at_huge_inputs(x, sig, tanh):
    for method, want in (("sigmoid", sig), ("tanh", tanh)):
        v = Value(x)
        y = getattr(v, method)()
        y.backward()
        assert y.data == want and v.grad == 0.0, method


@given(x=st.floats(-700, 700))
def test_sigmoid_is_accurate_in_both_tails(x):
    """σ(x) = 1/(1+e^{-x}); for x ≪ 0 it is ≈ e^x and must keep its relative accuracy."""
    want = math.exp(x) / (1 + math.exp(x)) if x < 0 else 1 / (1 + math.exp(-x))
    assert math.isclose(Value(x).sigmoid().data, want, rel_tol=1e-14)
    assert math.isclose(Value(x).sigmoid().data + Value(-x).sigmoid().data, 1.0, rel_tol=1e-15)


@pytest.mark.parametrize("shift", [1000.0, -1000.0, 1e300, -1e300])
def test_softmax_of_huge_inputs_is_stable(shift):
    base = [1.0, 2.0, 0.0]
    ref = [math.exp(b) / math.fsum(math.exp(c) for c in base) for b in base]
    xs = [Value(shift + b) for b in base]
    out = autodiff.softmax(xs)
    if abs(shift) < 1e10:
        for o, r in zip(out, ref):
            assert math.isclose(o.data, r, rel_tol=1e-9)
    assert math.isclose(math.fsum(o.data for o in out), 1.0, rel_tol=1e-15)
    autodiff.sum([o * (k + 1) for k, o in enumerate(out)]).backward()
    assert all(math.isfinite(x.grad) for x in xs)


def test_softmax_at_the_ends_of_the_float_range():
    xs = [Value(1e308), Value(-1e308)]
    out = autodiff.softmax(xs)
    assert [o.data for o in out] == [1.0, 0.0]
    out[0].backward()
    assert [x.grad for x in xs] == [0.0, 0.0]


def test_overflow_in_arithmetic_names_the_operands():
    big = Value(1e308, "big")
    with pytest.raises(OverflowError, match="'big'"):
        big * 10
    with pytest.raises(OverflowError, match="'big'"):
        big / 1e-10
    assert (Value(math.inf, "inf") * 2).data == math.inf  # infinite inputs pass through


def test_backward_refuses_a_nan_gradient_and_names_the_node():
    """relu(0)·(d√x/dx at 0 = ∞) would make 0·∞ = NaN: plain backward raises, naming the
    node; the recorded stream (what the stepper shows) carries the NaN instead."""
    x = Value(0.0, "x")
    root = (x ** 0.5).relu() * 0.0
    with pytest.raises(FloatingPointError, match="NaN gradient") as info:
        root.backward()
    assert "pow" in str(info.value)
    steps = list(autodiff.chain_rule(root, record=True))
    assert any(e.product != e.product for s in steps for e in s.edges)


def test_an_infinite_derivative_is_a_limit_not_an_error():
    x = Value(0.0, "x")
    (x ** 0.5).backward()
    assert x.grad == math.inf
