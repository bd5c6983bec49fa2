"""A training engine on the compiled path, in the shape ``nn.fit`` asks for (nn/engines.py).

``CompiledEngine(model, loss_fn)`` builds one sample's graph on placeholder leaves with
:func:`nn.engines.build_static_graph`, compiles it once with :func:`autodiff.compile`, and
then answers

* ``loss_and_grad(X, Y, scale)``: Σ_b E_b for the batch, and adds scale · Σ_b ∂E_b/∂θ into
  every parameter's ``.grad`` — exactly what the eager engine's per-sample
  ``(E_b · scale).backward()`` adds;
* ``evaluate(X, Y)``: per-sample losses (N,) and outputs (N, n_out), in chunks.

Parameters are re-read from ``Value.data`` at every call, so any optimizer that updates
Values works unchanged.

Static shape. The compiled tape replays one graph for every sample, which is only right
when the graph does not depend on the data (no Python branching on ``.data``, no data
folded into constants). The engine builds the graph a second time on different placeholder
values and compares the two structures; if they differ — or the model cannot be built on
placeholders — it raises ``NotImplementedError``, which ``fit(engine="auto")`` takes as
"use the eager engine".
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from autodiff import Value, topological_order
from autodiff import compile as compile_graph

from .engines import build_static_graph

__all__ = ["CompiledEngine", "graph_signature"]

EVAL_CHUNK = 2000


def graph_signature(root: Value, leaves: list[Value]) -> list[tuple]:
    """The structure of ``root``'s graph: per node in topological order its op, attr and
    operand positions; leaves by role (placeholder index, parameter identity, constant value)."""
    order = topological_order(root)
    pos = {id(v): i for i, v in enumerate(order)}
    placeholder = {id(v): i for i, v in enumerate(leaves)}
    sig = []
    for v in order:
        if v._op is not None:
            sig.append((v._op.name, repr(v.attr), tuple(pos[id(a)] for a in v.inputs)))
        elif id(v) in placeholder:
            sig.append(("input", placeholder[id(v)]))
        elif v.param:
            sig.append(("param", id(v)))
        else:
            sig.append(("const", v.data))
    return sig


class CompiledEngine:
    """``nn.fit``'s engine interface on a :class:`autodiff.Tape`. ``build_graph`` is
    replaceable for models that need their own placeholder graph."""

    name = "compiled"

    def __init__(self, model: Any, loss_fn: Callable, build_graph: Callable = build_static_graph) -> None:
        nin, nout = int(model.nin), int(getattr(model, "nout", 1))
        try:
            graph = build_graph(model, loss_fn, [0.0] * nin, [0.0] * nout)
            probe = build_graph(model, loss_fn, [0.5] * nin, [1.0] * nout)
        except (ArithmeticError, ValueError) as exc:
            raise NotImplementedError(f"compiled engine: the graph cannot be built on placeholders: {exc}") \
                from None
        if graph_signature(graph.loss, graph.leaves) != graph_signature(probe.loss, probe.leaves):
            raise NotImplementedError("compiled engine: the graph's shape depends on the data")
        self.graph = graph
        self.tape = compile_graph(graph.loss, graph.leaves, outputs=graph.outputs)
        self.nin, self.nout = nin, nout

    def _batch(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        return np.hstack([np.asarray(X, float).reshape(len(X), -1), np.asarray(Y, float).reshape(len(Y), -1)])

    def loss_and_grad(self, X: np.ndarray, Y: np.ndarray, scale: float) -> float:
        tape = self.tape
        losses = tape.forward(self._batch(X, Y))
        g = tape.backward("sum", accumulate=False)
        if scale != 1.0:
            g = g * scale
        for p, d in zip(tape.params, g.tolist()):
            p.grad += d
        return float(losses.sum())

    def evaluate(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        batch = self._batch(X, Y)
        tape, outs = self.tape, self.graph.outputs
        tape.sync()
        losses, outputs = [], []
        for start in range(0, len(batch), EVAL_CHUNK):
            losses.append(tape.forward(batch[start:start + EVAL_CHUNK], sync=False))
            outputs.append(tape.values_of(outs))
        return np.concatenate(losses), np.concatenate(outputs).reshape(len(batch), -1)
