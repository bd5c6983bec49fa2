"""The compile planner: a frozen plan built in phases, kernels chosen by the op table's entry.

The numbers the tape computes are checked against the eager engine in test_compile.py; here,
the structure: the plan cannot be changed after it is built, an op's kernel comes from its
``Op.kernel`` field (not its name), every θ slot a backward does not write is zero, and
errors the eager engine raises in backward are raised by the tape too. Ops registered here
are removed again by the ``clean_ops`` fixture.
"""

from __future__ import annotations

import dataclasses
import itertools

import math

import numpy as np
import pytest

import autodiff
from autodiff import Op, Value
from autodiff.compile_kernels import KERNEL_KINDS
from autodiff.compile_plan import build_plan

_names = (f"test_compile_plan_op{i}" for i in itertools.count())


def _register(**fields) -> Op:
    return autodiff.register(Op(next(_names), **fields))


def test_plan_parts_are_frozen_and_the_tape_holds_the_whole_plan():
    xs = [Value(0.0, "x0"), Value(0.0, "x1")]
    w = [Value(0.3, "w0", param=True), Value(-0.2, "w1", param=True)]
    loss = autodiff.dot(w, xs).tanh() ** 2
    tape = autodiff.compile(loss, xs)
    plan = tape.graph_plan
    for part in (plan, plan.trace, plan.layout, plan.schedule):
        assert dataclasses.is_dataclass(part)
        field = dataclasses.fields(part)[0].name
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(part, field, None)
    assert [id(p) for p in tape.params] == [id(p) for p in plan.layout.params]
    again = build_plan(loss, xs)  # the phases are plain functions of the graph
    assert [k.kind for k in again.schedule.kernels] == [k.kind for k in plan.schedule.kernels]


def test_a_new_elementwise_op_compiles_from_its_table_entry(clean_ops):
    cube = _register(arity=1, forward=lambda a, attr=None: a ** 3,
                     partials=lambda xs, out, attr: (3.0 * xs[0] ** 2,),
                     label="cube", formula="c = a³; ∂c/∂a = 3a²",
                     array_forward=lambda a, attr=None: a ** 3,
                     array_partials=lambda xs, out, attr: (3.0 * xs[0] ** 2,))
    x, w = Value(0.0, "x"), Value(0.7, "w", param=True)
    loss = autodiff.apply(cube, (w * x + 0.1,))
    tape = autodiff.compile(loss, [x])
    batch = np.array([[0.5], [-1.25], [2.0]])
    losses = tape.forward(batch)
    tape.backward("sum", accumulate=False)
    eager_losses, eager_grad = [], 0.0
    for (xb,) in batch:
        w.grad = 0.0
        c = autodiff.apply(cube, (w * Value(float(xb)) + 0.1,))
        c.backward()
        eager_losses.append(c.data)
        eager_grad += w.grad
    np.testing.assert_allclose(losses, eager_losses, rtol=1e-14)
    np.testing.assert_allclose(tape.param_grad, [eager_grad], rtol=1e-14)
    assert any(d.get("op") == cube.name for d in tape.plan())


def test_the_kernel_is_chosen_by_the_entry_kind_not_the_name(clean_ops):
    """An n-ary op under a new name that declares kernel="sum" runs as a sum kernel."""
    total = _register(arity=None, forward=lambda *xs, attr=None: sum(xs),
                      partials=lambda xs, out, attr: (1.0,) * len(xs),
                      label="add", formula="c = Σ aᵢ", kernel="sum")
    xs = [Value(0.0, f"x{i}") for i in range(3)]
    p = Value(2.0, "p", param=True)
    loss = autodiff.apply(total, tuple(p * x for x in xs))
    tape = autodiff.compile(loss, xs)
    assert [d["kind"] for d in tape.plan()][-1] == "sum"
    batch = np.array([[1.0, 2.0, 3.0], [0.5, -0.5, 4.0]])
    np.testing.assert_array_equal(tape.forward(batch), 2.0 * batch.sum(axis=1))
    tape.backward("sum", accumulate=False)
    assert tape.param_grad[0] == batch.sum()


@pytest.mark.parametrize("array_forward", [None, "scalar math"])
def test_an_op_without_array_form_is_refused_naming_it(clean_ops, array_forward):
    """Declared without one (array_forward=None), or its scalar forward (the default array form)
    written with math, which numpy arrays cannot go through."""
    extra = {} if array_forward == "scalar math" else {"array_forward": None}
    scalar_only = _register(arity=1, forward=lambda a, attr=None: math.exp(a) * 2.0,
                            partials=lambda xs, out, attr: (out,), label="twice", formula="c = 2eᵃ",
                            **extra)
    x = Value(0.0, "x")
    with pytest.raises(NotImplementedError, match=scalar_only.name):
        autodiff.compile(autodiff.apply(scalar_only, (x * Value(1.0, "p", param=True),)), [x])


def test_every_kernel_kind_the_table_names_exists():
    assert {op.kernel for op in autodiff.OPS.values()} <= set(KERNEL_KINDS)


def test_parameters_only_outputs_read_have_zero_gradient_every_time():
    """A dense layer that only ``outputs`` read runs no backward: its θ slots (a matmul block's)
    must read 0 after every backward, not what an earlier pass left there."""
    rng = np.random.default_rng(0)
    xs = [Value(0.0, f"x{i}") for i in range(3)]
    A = [[Value(float(rng.normal()), f"a{i}{j}", param=True) for j in range(3)] for i in range(2)]
    Bw = [[Value(float(rng.normal()), f"b{i}{j}", param=True) for j in range(3)] for i in range(2)]
    loss = autodiff.sum([autodiff.dot(row, xs).tanh() for row in A])
    side = [autodiff.dot(row, xs).sigmoid() for row in Bw]
    tape = autodiff.compile(loss, xs, outputs=side)
    assert sum(d["kind"] == "matmul" for d in tape.plan()) == 2
    pos = tape.param_index([p for row in Bw for p in row])
    for batch in (rng.normal(size=(4, 3)), rng.normal(size=(2, 3))):
        tape.forward(batch)
        tape.param_grad[:] = 7.0  # what a caller might leave in the array
        g = tape.backward("mean", accumulate=False)
        assert not g[pos].any()
        assert g[tape.param_index([A[0][0]])][0] != 0.0


def test_negative_base_with_a_node_exponent_raises_in_backward_like_eager():
    x, k = Value(0.0, "x"), Value(2.0, "k", param=True)
    loss = (x - 3.0) ** k
    tape = autodiff.compile(loss, [x])
    tape.forward(np.array([[1.0]]))  # base −2: forward is fine (integer exponent)
    with pytest.raises(ValueError, match="negative base") as compiled:
        tape.backward()
    eager = (Value(1.0) - 3.0) ** k
    with pytest.raises(ValueError, match="negative base"):
        eager.backward()
    assert "sample 0" in str(compiled.value)


def test_grad_of_is_per_sample_under_both_reductions():
    x, w = Value(0.0, "x"), Value(1.5, "w", param=True)
    h = (w * x).tanh()
    loss = h * h
    tape = autodiff.compile(loss, [x])
    batch = np.array([[0.2], [-0.7], [1.1]])
    tape.forward(batch)
    per_sample = []
    for reduction in ("mean", "sum"):
        tape.backward(reduction, accumulate=False)
        per_sample.append(tape.grad_of(h))
    np.testing.assert_allclose(per_sample[0], per_sample[1], rtol=1e-15)
    np.testing.assert_allclose(per_sample[1], 2.0 * np.tanh(1.5 * batch[:, 0]), rtol=1e-14)
