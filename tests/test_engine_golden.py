"""The lecture's worked example (seed 004; EXPERIMENTS.md §1), number by number.

2-2-1 sigmoid network, x = (0.05, 0.10), target 0.01, w1..w6 = 0.15 … 0.45, one bias
b1 = 0.35 shared by both hidden units, b2 = 0.60, E = ½(t − out_o)². Every value,
local partial and gradient of ``task1_nptel_backprop`` in tests/data/golden.json must
come out to 1e-9, built either from binary + and × nodes (as the slides draw it) or
from n-ary dot nodes. Local partials are read from the chain-rule event stream.
"""

from __future__ import annotations

import math

import pytest

import autodiff
from autodiff import Value

TOL = 1e-9
INIT = dict(w1=0.15, w2=0.20, w3=0.25, w4=0.30, w5=0.40, w6=0.45, b1=0.35, b2=0.60)


def build_binary(p, x1, x2):
    in_h1 = p["w1"] * x1 + p["w2"] * x2 + p["b1"]
    in_h2 = p["w3"] * x1 + p["w4"] * x2 + p["b1"]
    return in_h1, in_h2, lambda h1, h2: p["w5"] * h1 + p["w6"] * h2 + p["b2"]


def build_dot(p, x1, x2):
    in_h1 = autodiff.dot([p["w1"], p["w2"]], [x1, x2], p["b1"])
    in_h2 = autodiff.dot([p["w3"], p["w4"]], [x1, x2], p["b1"])
    return in_h1, in_h2, lambda h1, h2: autodiff.dot([p["w5"], p["w6"]], [h1, h2], p["b2"])


class Net:
    """The lecture network, its nodes by the golden file's names, after one backward."""

    def __init__(self, builder, record: bool = True):
        self.p = {k: Value(v, k, param=True) for k, v in INIT.items()}
        self.x1, self.x2 = Value(0.05, "x1"), Value(0.10, "x2")
        self.in_h1, self.in_h2, output = builder(self.p, self.x1, self.x2)
        self.out_h1, self.out_h2 = self.in_h1.sigmoid(), self.in_h2.sigmoid()
        self.in_o = output(self.out_h1, self.out_h2)
        self.out_o = self.in_o.sigmoid()
        self.E = 0.5 * (0.01 - self.out_o) ** 2
        if record:
            self.steps = list(autodiff.chain_rule(self.E, record=True))
        else:
            self.E.backward()

    def edges(self, node=None, input=None):
        return [e for s in self.steps for e in s.edges
                if (node is None or e.node is node) and (input is None or e.input is input)]

    def local(self, node, input) -> float:
        (edge,) = self.edges(node, input)
        return edge.local

    def local_into(self, leaf) -> float:
        """∂(consumer)/∂leaf for a leaf used once: the mul node w·x, or the dot node."""
        (edge,) = self.edges(input=leaf)
        return edge.local


BUILDERS = [pytest.param(build_binary, id="binary-nodes"), pytest.param(build_dot, id="dot-nodes")]


@pytest.fixture(params=BUILDERS)
def net(request):
    return Net(request.param)


@pytest.fixture
def task(golden):
    return golden["task1_nptel_backprop"]


def close(got: float, want: float) -> bool:
    return math.isclose(got, want, rel_tol=0, abs_tol=TOL)


def test_forward_values(net, task):
    got = dict(in_H1=net.in_h1.data, in_H2=net.in_h2.data, out_H1=net.out_h1.data,
               out_H2=net.out_h2.data, in_o=net.in_o.data, out_o=net.out_o.data, E=net.E.data)
    assert set(got) == set(task["values"])
    for name, want in task["values"].items():
        assert close(got[name], want), f"{name}: {got[name]} vs golden {want}"


def test_partials(net, task):
    w5 = net.p["w5"]
    got = {
        "dE/dout_o": net.out_o.grad,
        "dout_o/din_o": net.local(net.out_o, net.in_o),
        "din_o/dw5": net.local_into(w5),
        "dE/din_o (delta_o)": net.in_o.grad,
        "dE/dout_H1": net.out_h1.grad,
        "dE/dout_H2": net.out_h2.grad,
        "dout_H1/din_H1": net.local(net.out_h1, net.in_h1),
        "dout_H2/din_H2": net.local(net.out_h2, net.in_h2),
        "din_H1/dw1": net.local_into(net.p["w1"]),
        "dE/din_H1 (delta_H1)": net.in_h1.grad,
        "dE/din_H2 (delta_H2)": net.in_h2.grad,
    }
    assert set(got) == set(task["partials"])
    for name, want in task["partials"].items():
        assert close(got[name], want), f"{name}: {got[name]} vs golden {want}"


def test_gradients(net, task):
    for name, want in task["gradients"].items():
        assert close(net.p[name].grad, want), f"dE/d{name}: {net.p[name].grad} vs golden {want}"


def test_shared_bias_sums_both_paths(net, task):
    """b1 feeds both hidden units: its gradient is δ_H1 + δ_H2 = 0.0283640, one edge per path."""
    b1 = net.p["b1"]
    edges = net.edges(input=b1)
    assert len(edges) == 2
    split = task["b1_gradient_split"]
    by_path = sorted(e.product for e in edges)
    assert close(by_path[0], min(split.values())) and close(by_path[1], max(split.values()))
    assert close(b1.grad, split["b1_via_H1"] + split["b1_via_H2"])
    assert round(b1.grad, 7) == 0.0283640  # the figure EXPERIMENTS.md quotes
    assert edges[-1].grad_after == b1.grad  # the last += leaves the final gradient


def test_sgd_step(net, task):
    eta = 0.5
    for name, p in net.p.items():
        p.data -= eta * p.grad
    for name, want in task["sgd_step_eta_0_5"].items():
        assert close(net.p[name].data, want), f"{name} after one step: {net.p[name].data} vs {want}"


def test_event_stream_and_backward_agree_on_the_lecture_network():
    """backward() (no recording) leaves the same gradients as the recorded stream."""
    recorded, plain = Net(build_binary), Net(build_binary, record=False)
    for name in INIT:
        assert plain.p[name].grad == recorded.p[name].grad, name
