"""The op table is the only place an op is described (autodiff/ops.py).

* An op added at run time with ONE ``Op(...)`` entry works everywhere: eager (as a Value
  method; under the C build it runs in Python, and :func:`autodiff.engine.python_only_ops`
  says so), compiled, gradcheck, the drawing's label, the stepper's formula and the CLI's
  expression parser.
* Every built-in op either names a C kernel the C core has, or is declared Python-only.
* No module outside ops.py switches on an op's name.
"""

from __future__ import annotations

import math
import pathlib
import re

import numpy as np
import pytest

import autodiff
from viz.stepper import Stepper
from autodiff import Op, Value, engine
from autodiff.ops import unregister
from viz.expr import parse_expr
from viz.graph import scalar_graph
from autodiff.backprop import topological_order

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _softplus(a: float, attr=None) -> float:
    """softplus(a) = ln(1 + eᵃ), without overflow for large a."""
    return max(a, 0.0) + math.log1p(math.exp(-abs(a)))


@pytest.fixture
def softplus():
    op = autodiff.register(Op(
        "softplus", 1, _softplus,
        lambda xs, out, attr: (1.0 / (1.0 + np.exp(-xs[0])),),   # σ(a), scalar or array
        "softplus", "c = ln(1 + eᵃ);  ∂c/∂a = σ(a)",
        array_forward=lambda a, attr=None: np.logaddexp(0.0, a),
    ))
    yield op
    unregister("softplus")


def test_a_runtime_op_works_eagerly_and_falls_back_visibly(softplus):
    x = Value(0.3, "x")
    y = x.softplus() * 2.0
    assert y.inputs[0].op == "softplus"
    assert y.inputs[0].data == pytest.approx(math.log1p(math.exp(0.3)), rel=1e-15)
    y.backward()
    assert x.grad == pytest.approx(2.0 / (1.0 + math.exp(-0.3)), rel=1e-15)
    assert engine.python_only_ops()["softplus"] == "no C kernel named"
    assert "softplus" not in engine.c_kernels()


def test_a_runtime_op_compiles(softplus):
    x = Value(0.0, "x")
    w = Value(0.7, "w", param=True)
    loss = (w * x).softplus()
    tape = autodiff.compile(loss, [x])
    batch = np.array([[-2.0], [0.5], [3.0]])
    np.testing.assert_allclose(tape.forward(batch), np.logaddexp(0.0, 0.7 * batch[:, 0]), rtol=1e-15)
    tape.backward("sum", accumulate=False)
    expected = sum(b / (1.0 + math.exp(-0.7 * b)) for b in batch[:, 0])
    assert tape.param_grad[0] == pytest.approx(expected, rel=1e-13)


def test_a_runtime_op_passes_gradcheck(softplus):
    a, b = Value(0.4, "a"), Value(-1.3, "b")
    assert autodiff.gradcheck(lambda a, b: (a * b).softplus() + b.softplus(), [a, b])


def test_a_runtime_op_is_drawn_and_stepped_and_parsed(softplus):
    x = Value(0.5, "x")
    loss = x.softplus()
    order = topological_order(loss)
    g = scalar_graph(loss, order, set())
    assert [n.name for n in g.nodes if n.kind == "op"] == ["softplus"]
    stepper = Stepper(loss)
    stepper.next()
    assert stepper.current.local_formula.endswith("= σ(a) = 0.6225")   # the entry's formula
    parsed = parse_expr("softplus(x) * 3", {"x": 0.5})
    assert parsed.data == pytest.approx(3 * math.log1p(math.exp(0.5)), rel=1e-15)
    assert parsed.inputs[0].op == "softplus"


def test_every_op_has_a_c_kernel_or_is_declared_python_only():
    undeclared = [n for n, why in engine.python_only_ops().items() if why != "declared Python-only"]
    assert not undeclared, f"ops with no C kernel that do not say so (c_kernel=None): {undeclared}"
    if engine.core is None:
        pytest.skip(f"the C core is not running: {engine.reason}")
    assert set(engine.c_kernels()) == set(engine.core.OPS_IN_C)


def test_an_op_left_without_a_c_kernel_is_caught(softplus):
    """The check above sees an op added without saying whether it has a C kernel."""
    assert "softplus" in [n for n, why in engine.python_only_ops().items() if why != "declared Python-only"]


_OP_NAMES = "|".join(sorted(autodiff.OPS, key=len, reverse=True))
_SWITCH = re.compile(r"""(\bop\b|\.op\b|\.name\b|\bname\b)\s*(==|!=|in|not in)\s*[(\[{]?\s*["'](""" + _OP_NAMES + r""")["']""")


def test_no_op_name_switch_outside_the_table():
    hits = []
    for package in ("autodiff", "viz", "nn"):
        for path in (ROOT / package).glob("*.py"):
            if path.name == "ops.py":
                continue
            for n, line in enumerate(path.read_text().splitlines(), 1):
                if _SWITCH.search(line):
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    # Left, and said so: patterns over SEVERAL nodes, not facts about one op. The collapsed
    # drawing turns "dot" nodes into a matmul (viz/collapse.py, viz/levels.py; issue 16's
    # files), and nn/losses.py recognises σ/softmax feeding a log-loss (issue 19's file).
    known = ("viz/collapse.py:", "viz/levels.py:", "nn/losses.py:")
    hits = [h for h in hits if not h.startswith(known)]
    assert not hits, "\n".join(hits)


def test_the_switch_finder_sees_a_switch():
    assert _SWITCH.search('    if node.op == "relu":')
    assert _SWITCH.search('    if op in ("pow", "powv"):')
    assert not _SWITCH.search('    if op == "matmul":')
