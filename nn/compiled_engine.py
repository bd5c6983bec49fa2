"""The compiled training engine: one traced graph replayed over each batch.

``CompiledEngine(model, loss_fn)`` builds one sample's graph on placeholder leaves with
:func:`nn.model_graph.build_static_graph`, compiles it once with :func:`autodiff.compile`
and answers the engine questions of :mod:`nn.eager_engine` for whole batches at once:
``loss_and_grad`` runs the tape forward and backward (the tape reads θ from the
parameters' :class:`autodiff.ParameterStore` and adds its gradient there, with no pass
over the Values); ``evaluate`` streams the data through the tape in chunks of
:data:`EVAL_CHUNK` samples.

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

from autodiff import compile as compile_graph

from .model_graph import build_static_graph, graph_signature

__all__ = ["CompiledEngine", "EVAL_CHUNK"]

EVAL_CHUNK = 1000


class CompiledEngine:
    """The engine interface on an :class:`autodiff.Tape`. ``build_graph`` is replaceable
    for models that need their own placeholder graph."""

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

    def loss_and_grad(self, X: np.ndarray, Y: np.ndarray, reduction: str = "mean") -> float:
        """Σ_b E_b over the batch through the compiled tape; adds the gradient of the reduced
        loss into the parameters' store."""
        losses = self.tape.forward(self._batch(X, Y))
        self.tape.backward(reduction)
        return float(losses.sum())

    def evaluate(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample losses (N,) and outputs (N, nout) with the current parameters, no gradient."""
        tape, outs = self.tape, self.graph.outputs
        losses, outputs = [], []
        for start in range(0, len(X), EVAL_CHUNK):
            stop = start + EVAL_CHUNK
            losses.append(tape.forward(self._batch(X[start:stop], Y[start:stop])))
            outputs.append(tape.values_of(outs))
        return np.concatenate(losses), np.concatenate(outputs).reshape(len(X), -1)
