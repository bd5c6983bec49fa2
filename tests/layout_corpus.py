"""Graphs people really draw, built the natural way, for the layout's quality checks
(``tests/test_layout_corpus.py``) and its benchmarks (``bench/layout_quality.py``,
``bench/bench_draw_speed.py``).

Each entry of :data:`CORPUS` builds its graph afresh and returns ``(root, kwargs)``:
``viz.draw(root, **kwargs)`` draws it as a reader would ask for it.
"""

from __future__ import annotations

import importlib
import random
from typing import Any, Callable, Union

import autodiff
import nn
from autodiff import Value

try:
    from slide_figures import FIGURES
except ImportError:  # imported as tests.layout_corpus
    from tests.slide_figures import FIGURES

Entry = tuple[Union[Value, list[Value]], dict[str, Any]]


def _backward(loss: Value, **kwargs: Any) -> Entry:
    loss.backward()
    return loss, {"view": "backward", **kwargs}


def micrograd_readme() -> Entry:
    """micrograd's README example, line for line."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    return _backward(g)


def nptel(detail: str) -> Callable[[], Entry]:
    def build() -> Entry:
        net = importlib.import_module("examples.nptel_worked_example").build_network()
        return _backward(net.loss, detail=detail)
    return build


def _first(out: Any) -> Value:
    return out[0] if isinstance(out, list) else out


def mlp_mse(detail: str) -> Callable[[], Entry]:
    def build() -> Entry:
        model = nn.MLP(3, [4, 4, 1], seed=0)
        return _backward(nn.mse([_first(model([1.0, -1.0, 0.5]))], [1.0]), detail=detail)
    return build


def mlp16_hinge(detail: str) -> Callable[[], Entry]:
    def build() -> Entry:
        model = nn.MLP(2, [16, 16, 1], seed=0)
        return _backward(nn.hinge([_first(model([0.5, -0.3]))], [1.0]), detail=detail)
    return build


def softmax_cross_entropy() -> Entry:
    z = [Value(v, f"z{i}") for i, v in enumerate([1.0, -0.5, 0.25])]
    return _backward(nn.softmax_cross_entropy(z, 2))


def maxout() -> Entry:
    x = [Value(1.0, "x0"), Value(-2.0, "x1")]
    w = [[Value(v, f"w{k}{i}", param=True) for i, v in enumerate(row)]
         for k, row in enumerate([[0.5, -0.25], [-0.3, 0.8], [0.1, 0.2]])]
    zs = [autodiff.dot(wk, x) for wk in w]
    return _backward(autodiff.maximum(zs))


def chain15() -> Entry:
    x = Value(0.3, "x")
    v = x
    for k in range(15):
        v = (v * 0.9 + 0.1).tanh() if k % 3 == 0 else (v.sigmoid() if k % 3 == 1 else v * 2.0)
    return _backward(v)


def x_three_ways() -> Entry:
    x = Value(0.5, "x")
    return _backward(x * x + x.exp() + x.tanh())


def perceptron5() -> Entry:
    x = [Value(v, f"x{i}") for i, v in enumerate([1.0, -2.0, 0.5, 3.0, -1.0])]
    w = [Value(v, f"w{i}", param=True) for i, v in enumerate([0.2, -0.4, 0.1, 0.3, -0.5])]
    b = Value(0.1, "b", param=True)
    return _backward(autodiff.dot(w, x, bias=b).sign(), expand_dot=True)


def _figure(name: str) -> Callable[[], Entry]:
    return lambda: FIGURES[name]()


CORPUS: dict[str, Callable[[], Entry]] = {
    **{f"slide {name}": _figure(name) for name in FIGURES},
    "micrograd README": micrograd_readme,
    **{f"NPTEL {d}": nptel(d) for d in ("scalar", "neuron", "layer")},
    **{f"MLP(3,[4,4,1]) MSE {d}": mlp_mse(d) for d in ("scalar", "neuron", "layer")},
    **{f"MLP(2,[16,16,1]) hinge {d}": mlp16_hinge(d) for d in ("neuron", "scalar")},
    "softmax cross-entropy, 3 classes": softmax_cross_entropy,
    "maxout": maxout,
    "15-step chain": chain15,
    "x*x + exp(x) + tanh(x)": x_three_ways,
    "perceptron, 5 inputs": perceptron5,
}


# ------------------------------------------------------------------ random graphs

UNARY = ("tanh", "sigmoid", "relu", "exp")


def build_random_graph(seed: int, n_leaves: int, n_ops: int) -> Value:
    """Up to 12 ops over up to 5 leaves (parameters or inputs), read any number of times."""
    rnd = random.Random(seed)
    nodes = [Value(rnd.uniform(-1, 1), f"a{i}", param=rnd.random() < 0.5) for i in range(n_leaves)]
    for _ in range(n_ops):
        a, kind = rnd.choice(nodes), rnd.random()
        if kind < 0.3:
            v = getattr(a, rnd.choice(UNARY))() if abs(a.data) < 5 else a.tanh()
        elif kind < 0.8:
            b = rnd.choice(nodes + [Value(rnd.choice([0.5, 2.0]))])
            v = a * b if rnd.random() < 0.5 else a + b
        else:
            v = autodiff.sum(rnd.sample(nodes, min(rnd.randint(2, 4), len(nodes))) or [a])
        nodes.append(v)
    return autodiff.sum(nodes[-3:]) if len(nodes) > 3 and rnd.random() < 0.5 else nodes[-1]
