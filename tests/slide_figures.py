"""The lecture's six graph figures (lecture 2, G. Louppe), built from ``Value`` and ``nn``.

One function per figure, named as the slide's file (``backprop2`` for ``backprop2.png``);
each returns ``(root, options)``: ``viz.draw(root, numbers="none", **options)`` is our
drawing of that figure. ``tests/test_viz_slide_cells.py`` checks every node's cell and every
edge's shape against ``tests/data/slide_targets.json``; ``docs/make_gallery.py`` draws them
for ``docs/slides.md``.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Union

import autodiff
import nn
from autodiff import Value

__all__ = ["FIGURES", "backprop", "backprop2", "backprop3", "perceptron", "logistic_neuron", "layer"]

Figure = tuple[Union[Value, list[Value]], dict[str, Any]]


def _network() -> tuple[Value, list[Value], Value]:
    """examples/slides_network.py: the loss, W₁'s entries and ŷ, after backward."""
    loss, w1, _, _ = importlib.import_module("examples.slides_network").build()
    loss.backward()
    y_hat = next(v for v in autodiff.topological_order(loss) if v.label == "ŷ")
    return loss, w1, y_hat


def backprop() -> Figure:
    """backprop.png: the network and its regularised loss, forward, one stage per layer."""
    loss, _, _ = _network()
    return loss, {"view": "forward", "detail": "layer"}


def backprop2() -> Figure:
    """backprop2.png: the same, backward toward W₁ (red twins on the paths from l to W₁)."""
    loss, w1, _ = _network()
    return loss, {"view": "backward", "wrt": w1, "detail": "layer"}


def backprop3() -> Figure:
    """backprop3.png: ŷ alone, backward toward W₁."""
    _, w1, y_hat = _network()
    return y_hat, {"view": "backward", "wrt": w1, "detail": "layer"}


def perceptron() -> Figure:
    """perceptron.png: h = sign(Σ wᵢxᵢ + b), the dot drawn as × squares into one add."""
    x = [Value(v, f"x{i}") for i, v in enumerate([1.0, 2.0, -1.0])]
    w = [Value(v, f"w{i}", param=True) for i, v in enumerate([0.5, -0.25, 0.1])]
    b = Value(0.2, "b", param=True)
    h = autodiff.dot(w, x, bias=b).sign()
    h.label = "h"
    return h, {"view": "forward", "expand_dot": True, "result_circles": False}


def logistic_neuron() -> Figure:
    """logistic-neuron.png: h = σ(wᵀx + b), one nn.Neuron at the layer level."""
    neuron = nn.Neuron(3, "sigmoid", seed=0)
    h = neuron([1.0, 2.0, -1.0])
    h = h[0] if isinstance(h, list) else h
    h.label = "h"
    return h, {"view": "forward", "detail": "layer", "result_circles": False}


def layer() -> Figure:
    """layer.png: h = σ(Wᵀx + b), one nn.Layer at the layer level, its outputs drawn
    together as the vector h."""
    hs = nn.Layer(3, 2, activation="sigmoid", seed=0)([1.0, 2.0, -1.0])
    for k, h in enumerate(hs):
        h.label = f"h.{k}"
    return hs, {"view": "forward", "detail": "layer", "result_circles": False}


FIGURES: dict[str, Callable[[], Figure]] = {
    "backprop": backprop, "backprop2": backprop2, "backprop3": backprop3,
    "perceptron": perceptron, "logistic-neuron": logistic_neuron, "layer": layer}
