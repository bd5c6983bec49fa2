"""The eager training engine: one Value graph per sample (the reference semantics).

An engine answers what :func:`nn.fit` asks of it:

* ``loss_and_grad(X, Y, reduction) -> float``: for the batch rows X (B, nin) and targets
  Y (B, nout), return Σ_b E_b and ADD ∂E/∂θ into the parameters' gradient, with
  E = (1/B) Σ_b E_b for ``reduction="mean"`` and Σ_b E_b for ``"sum"``;
* ``evaluate(X, Y) -> (losses (N,), outputs (N, nout))``: per-sample losses and outputs,
  no gradients.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import numpy as np

import autodiff
from autodiff import Value

from .layers import as_inputs
from .model_graph import model_nin, model_outputs

__all__ = ["EagerEngine"]


class EagerEngine:
    """Builds and backpropagates the Value graph of every sample, one at a time."""

    name = "eager"
    chunk = 32

    def __init__(self, model: Any, loss_fn: Callable) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.nin = model_nin(model)

    def _sample(self, x: Sequence[float], y: Sequence[float]) -> tuple[list[Value], Value]:
        outs = model_outputs(self.model, as_inputs(x, self.nin, "fit"))
        return outs, self.loss_fn(outs, y)

    def loss_and_grad(self, X: np.ndarray, Y: np.ndarray, reduction: str = "mean") -> float:
        """Σ_b E_b; adds the gradient of the reduced loss into ``.grad``. Samples are
        backpropagated in chunks of :attr:`chunk` through one ``sum`` root (one
        topological sort per chunk)."""
        scale = 1.0 / len(X) if reduction == "mean" else 1.0
        total = 0.0
        rows, targets = X.tolist(), Y.tolist()
        for start in range(0, len(rows), self.chunk):
            losses = [self._sample(x, y)[1] for x, y in zip(rows[start:start + self.chunk],
                                                             targets[start:start + self.chunk])]
            total += math.fsum(loss.data for loss in losses)
            root = losses[0] if len(losses) == 1 else autodiff.sum(losses)
            (root * scale if scale != 1.0 else root).backward()
        return total

    def evaluate(self, X: np.ndarray, Y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-sample losses (N,) and outputs (N, nout) with the current parameters, no gradient."""
        losses, outputs = [], []
        for x, y in zip(X.tolist(), Y.tolist()):  # with graphs: losses read the logits off them
            outs, loss = self._sample(x, y)
            losses.append(loss.data)
            outputs.append([o.data for o in outs])
        return np.array(losses), np.array(outputs, dtype=float).reshape(len(outputs), -1)
