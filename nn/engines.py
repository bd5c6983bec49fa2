"""Training backends: how one batch's loss and gradients are computed.

:func:`nn.fit` does everything else (batching, shuffling, optimizer steps, stopping,
history) and asks an engine for exactly two things:

* ``loss_and_grad(X, Y, scale) -> float``: for the batch rows X (B, nin) and targets
  Y (B, nout), return Σ_b E_b and ADD ``scale · ∂E_b/∂θ`` summed over b into every
  parameter's ``.grad`` (scale = 1/B gives the batch mean, 1 the sum);
* ``evaluate(X, Y) -> (losses (N,), outputs (N, nout))``: per-sample losses and outputs,
  no gradients.

:class:`EagerEngine` builds the Value graph of every sample (the reference semantics).
A compiled engine replays one static graph — built by :func:`build_static_graph` on
placeholder inputs and targets — for a whole batch at once; it registers itself with
:func:`register_engine` and is picked by ``fit(engine="compiled")`` (or ``"auto"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

import autodiff
from autodiff import Value

from .layers import as_inputs

__all__ = ["EagerEngine", "StaticGraph", "build_static_graph", "register_engine", "make_engine",
           "ENGINES", "model_outputs", "model_nin", "model_nout"]


def model_nin(model: Any) -> int:
    n = getattr(model, "nin", None)
    if not isinstance(n, int):
        raise TypeError(f"model: {type(model).__name__} has no integer 'nin' (number of inputs)")
    return n


def model_nout(model: Any) -> int:
    n = getattr(model, "nout", None)
    return n if isinstance(n, int) else 1


def model_outputs(model: Any, xs: Sequence[Value]) -> list[Value]:
    """The model's outputs on input Values, always as a list (a Neuron gives one)."""
    out = model.forward(xs) if hasattr(model, "forward") else model(xs)
    return [out] if isinstance(out, Value) else list(out)


@dataclass
class StaticGraph:
    """One sample's graph on placeholder leaves: ``inputs`` (labelled ``x.i``), ``targets``
    (``y.j``), the model ``outputs`` and the per-sample ``loss``. To evaluate it for a
    batch, feed the columns ``[x..., y...]`` in that order."""

    inputs: list[Value]
    targets: list[Value]
    outputs: list[Value]
    loss: Value

    @property
    def leaves(self) -> list[Value]:
        return self.inputs + self.targets


def build_static_graph(model: Any, loss_fn: Callable, x0: Sequence[float] | None = None,
                       y0: Sequence[float] | None = None) -> StaticGraph:
    """Build the graph of one sample on placeholder input and target Values.

    ``x0`` / ``y0`` set the placeholders' data (zeros by default; pick values inside the
    domain of every op, e.g. targets of 0 or 1 for cross-entropy).
    """
    nin, nout = model_nin(model), model_nout(model)
    x0 = [0.0] * nin if x0 is None else list(x0)
    y0 = [0.0] * nout if y0 is None else list(y0)
    xs = [Value(float(v), f"x.{i}") for i, v in enumerate(x0)]
    ys = [Value(float(v), f"y.{j}") for j, v in enumerate(y0)]
    outs = model_outputs(model, xs)
    return StaticGraph(xs, ys, outs, loss_fn(outs, ys))


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

    def loss_and_grad(self, X: np.ndarray, Y: np.ndarray, scale: float) -> float:
        """Σ_b E_b; adds scale·∂E_b/∂θ into ``.grad``. Samples are backpropagated in chunks
        of :attr:`chunk` through one ``sum`` root (one topological sort per chunk)."""
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
        losses, outputs = [], []
        for x, y in zip(X.tolist(), Y.tolist()):
            outs, loss = self._sample(x, y)
            losses.append(loss.data)
            outputs.append([o.data for o in outs])
        return np.array(losses), np.array(outputs, dtype=float).reshape(len(outputs), -1)


ENGINES: dict[str, Callable[[Any, Callable], Any]] = {"eager": EagerEngine}


def register_engine(name: str, factory: Callable[[Any, Callable], Any]) -> None:
    """Make ``fit(engine=name)`` use ``factory(model, loss_fn)``."""
    ENGINES[name] = factory


def make_engine(engine: Any, model: Any, loss_fn: Callable) -> Any:
    """Resolve ``engine``: a name in :data:`ENGINES`, ``"auto"``, or an engine object."""
    if not isinstance(engine, str):
        if hasattr(engine, "loss_and_grad") and hasattr(engine, "evaluate"):
            return engine
        raise TypeError(f"fit(engine): expected 'auto', one of {sorted(ENGINES)} or an engine object, "
                        f"got {engine!r}")
    if engine == "auto":
        engine = "compiled" if "compiled" in ENGINES else "eager"
        try:
            return ENGINES[engine](model, loss_fn)
        except NotImplementedError:  # the compiled backend declines this model/loss
            return EagerEngine(model, loss_fn)
    if engine not in ENGINES:
        raise ValueError(f"fit(engine): unknown engine {engine!r}; choose 'auto' or one of {sorted(ENGINES)}")
    return ENGINES[engine](model, loss_fn)
