"""PyTorch float64 as an oracle: every op of the table and random composite expressions.

Forward values and every leaf's gradient must agree with torch autograd to 1e-12
relative (plus 1e-12 absolute for results that cancel to ~0). Skipped, with the install
command as the reason, when PyTorch is absent.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import pytest
from hypothesis import assume, given, reject, settings, strategies as st

import autodiff
from autodiff import Value
from test_engine_ops import CASES, ENGINE_BUGS, case_params, real

REL, ABS = 1e-12, 1e-12


def close(ours: float, theirs: float) -> bool:
    return math.isclose(ours, theirs, rel_tol=REL, abs_tol=ABS)


# ------------------------------------------------------------------ single ops


@pytest.mark.parametrize("case", case_params([c for c in CASES if c.torch is not None]))
@given(data=st.data())
def test_op_matches_torch(torch, case, data):
    xs = data.draw(case.xs, label="xs")
    attr = data.draw(case.attr, label="attr")
    leaves = [Value(x) for x in xs]
    node = case.build(leaves, attr)
    node.backward()
    ts = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    out = case.torch(torch, ts, attr)
    out.backward()
    assert close(node.data, out.item()), f"{case.id} forward at {xs}, {attr}: {node.data} vs {out.item()}"
    for i, (leaf, t) in enumerate(zip(leaves, ts)):
        theirs = 0.0 if t.grad is None else t.grad.item()
        assert close(leaf.grad, theirs), f"{case.id} d/dx{i} at {xs}, {attr}: {leaf.grad} vs {theirs}"


# ------------------------------------------------------------------ composite expressions
# An expression is a nested tuple; `evaluate` runs it with our Values or with torch tensors.
# Every op is applied inside its domain by construction (log of e² + 1, positive bases).

N_VARS = 4
UNARY = ["neg", "tanh", "sigmoid", "exp_tanh", "log_sq1", "relu", "leaky", "abs", "sign",
         "step", "square", "cube", "sqrt_sq1", "pow_sq1"] + ([] if "elu" in ENGINE_BUGS else ["elu"])
BINARY = ["add", "sub", "mul", "div_sq1", "powv_pos"]
WITH_NUMBER = ["rmul", "radd", "rsub", "rdiv_sq1", "rpow", "mul_num", "sub_num", "div_num"]


def _extend(children):
    return st.one_of(
        st.tuples(st.sampled_from(UNARY), children),
        st.tuples(st.sampled_from(BINARY), children, children),
        st.tuples(st.sampled_from(WITH_NUMBER), real(0.2, 3.0), children),
        st.tuples(st.just("sum"), st.lists(children, min_size=1, max_size=4)),
        st.tuples(st.just("max"), st.lists(children, min_size=1, max_size=4)),
        st.tuples(st.just("softmax"), st.integers(0, 3), st.lists(children, min_size=1, max_size=4)),
        st.tuples(st.sampled_from(["dot", "dot_bias"]),
                  st.lists(st.tuples(children, children), min_size=1, max_size=3), children),
    )


EXPRESSIONS = st.recursive(
    st.one_of(st.integers(0, N_VARS - 1).map(lambda i: ("var", i)), real(-2, 2).map(lambda c: ("const", c))),
    _extend, max_leaves=10)


class Ours:
    """Our engine as the interpreter's backend."""

    def __init__(self, xs: Sequence[float]):
        self.vars = [Value(x, f"x{i}", param=i % 2 == 0) for i, x in enumerate(xs)]

    def const(self, c):
        return Value(c)

    def check_not_tied(self, args):
        values = [a.data for a in args]
        if len(set(values)) != len(values):
            reject()  # max at a tie: torch splits the gradient, we give it to the first

    def check_sign_arg(self, a):
        if a.data == 0.0:
            reject()  # sign(0): +1 here (seed 002), 0 in torch

    sum = staticmethod(autodiff.sum)
    maximum = staticmethod(autodiff.maximum)

    def softmax(self, args, k):
        return autodiff.softmax(args)[k % len(args)]

    def dot(self, ws, xs, b):
        return autodiff.dot(ws, xs, b)

    def tanh(self, a): return a.tanh()
    def sigmoid(self, a): return a.sigmoid()
    def exp(self, a): return a.exp()
    def log(self, a): return a.log()
    def relu(self, a): return a.relu()
    def abs(self, a): return a.abs()
    def sign(self, a): return a.sign()
    def step(self, a): return a.step()

    def leaky(self, a):
        return a.leaky_relu(0.1)

    def elu(self, a):
        return a.elu(0.5)


class Torch:
    """PyTorch float64 as the interpreter's backend."""

    def __init__(self, T, xs: Sequence[float]):
        self.T = T
        self.vars = [T.tensor(x, dtype=T.float64, requires_grad=True) for x in xs]

    def const(self, c):
        return self.T.tensor(c, dtype=self.T.float64)

    def check_not_tied(self, args):
        pass

    def check_sign_arg(self, a):
        pass

    def sum(self, args):
        return self.T.stack(list(args)).sum()

    def maximum(self, args):
        return self.T.stack(list(args)).max()

    def softmax(self, args, k):
        return self.T.softmax(self.T.stack(list(args)), 0)[k % len(args)]

    def dot(self, ws, xs, b):
        z = self.T.dot(self.T.stack(list(ws)), self.T.stack(list(xs)))
        return z if b is None else z + b

    def tanh(self, a): return a.tanh()
    def sigmoid(self, a): return a.sigmoid()
    def exp(self, a): return a.exp()
    def log(self, a): return a.log()
    def relu(self, a): return self.T.relu(a)
    def abs(self, a): return a.abs()
    def sign(self, a): return self.T.sign(a)
    def step(self, a): return self.T.where(a > 0, 1.0, 0.0).to(self.T.float64) + 0 * a
    def leaky(self, a): return self.T.nn.functional.leaky_relu(a, 0.1)
    def elu(self, a): return self.T.nn.functional.elu(a, 0.5)


def evaluate(e, lib) -> Any:
    """Evaluate expression ``e`` with backend ``lib`` (Ours or Torch)."""
    kind = e[0]
    ev = lambda sub: evaluate(sub, lib)  # noqa: E731
    if kind == "var":
        return lib.vars[e[1]]
    if kind == "const":
        return lib.const(e[1])
    if kind in UNARY or kind == "elu":
        a = ev(e[1])
        if kind == "sign":
            lib.check_sign_arg(a)
        return {
            "neg": lambda: -a, "tanh": lambda: lib.tanh(a), "sigmoid": lambda: lib.sigmoid(a),
            "exp_tanh": lambda: lib.exp(lib.tanh(a)), "log_sq1": lambda: lib.log(a * a + 1),
            "relu": lambda: lib.relu(a), "leaky": lambda: lib.leaky(a), "elu": lambda: lib.elu(a),
            "abs": lambda: lib.abs(a), "sign": lambda: lib.sign(a), "step": lambda: lib.step(a),
            "square": lambda: a ** 2, "cube": lambda: a ** 3,
            "sqrt_sq1": lambda: (a * a + 1) ** 0.5, "pow_sq1": lambda: (a * a + 1) ** -1.5,
        }[kind]()
    if kind in BINARY:
        a, b = ev(e[1]), ev(e[2])
        return {
            "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
            "div_sq1": lambda: a / (b * b + 1),
            "powv_pos": lambda: (lib.sigmoid(a) + 0.5) ** lib.tanh(b),
        }[kind]()
    if kind in WITH_NUMBER:
        c, a = e[1], ev(e[2])
        return {
            "rmul": lambda: c * a, "radd": lambda: c + a, "rsub": lambda: c - a,
            "rdiv_sq1": lambda: c / (a * a + 1), "rpow": lambda: c ** lib.tanh(a),
            "mul_num": lambda: a * c, "sub_num": lambda: a - c, "div_num": lambda: a / c,
        }[kind]()
    if kind == "sum":
        return lib.sum([ev(s) for s in e[1]])
    if kind == "max":
        args = [ev(s) for s in e[1]]
        lib.check_not_tied(args)
        return lib.maximum(args)
    if kind == "softmax":
        return lib.softmax([ev(s) for s in e[2]], e[1])
    if kind in ("dot", "dot_bias"):
        ws = [ev(w) for w, _ in e[1]]
        xs = [ev(x) for _, x in e[1]]
        return lib.dot(ws, xs, ev(e[2]) if kind == "dot_bias" else None)
    raise AssertionError(f"unknown expression kind {kind!r}")


@settings(max_examples=max(150, settings().max_examples))
@given(expr=EXPRESSIONS, xs=st.lists(real(-2, 2), min_size=N_VARS, max_size=N_VARS))
def test_composite_expressions_match_torch(torch, expr, xs):
    ours = Ours(xs)
    out = evaluate(expr, ours)
    assume(isinstance(out, Value) and out.inputs)  # a bare leaf has nothing to check
    theirs = Torch(torch, xs)
    t_out = evaluate(expr, theirs)
    out.backward()
    if t_out.requires_grad:
        t_out.backward()
    assert close(out.data, t_out.item()), f"forward {out.data} vs torch {t_out.item()} for {expr}"
    for i, (v, t) in enumerate(zip(ours.vars, theirs.vars)):
        tg = 0.0 if t.grad is None else t.grad.item()
        assert close(v.grad, tg), f"d/dx{i}: {v.grad} vs torch {tg} for {expr} at {xs}"


def test_lecture_network_matches_torch(torch):
    """The seed-004 2-2-1 network built with dot nodes, gradient by gradient."""
    values = dict(x1=0.05, x2=0.10, w1=0.15, w2=0.20, w3=0.25, w4=0.30, w5=0.40, w6=0.45,
                  b1=0.35, b2=0.60)

    def loss(p, lib_sig, lib_dot):
        h1 = lib_sig(lib_dot([p["w1"], p["w2"]], [p["x1"], p["x2"]], p["b1"]))
        h2 = lib_sig(lib_dot([p["w3"], p["w4"]], [p["x1"], p["x2"]], p["b1"]))
        o = lib_sig(lib_dot([p["w5"], p["w6"]], [h1, h2], p["b2"]))
        return 0.5 * (0.01 - o) ** 2

    ours = {k: Value(v, k) for k, v in values.items()}
    e = loss(ours, lambda z: z.sigmoid(), autodiff.dot)
    e.backward()
    ts = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in values.items()}
    te = loss(ts, torch.sigmoid, lambda w, x, b: torch.dot(torch.stack(w), torch.stack(x)) + b)
    te.backward()
    assert close(e.data, te.item())
    for k in values:
        assert close(ours[k].grad, ts[k].grad.item()), k
