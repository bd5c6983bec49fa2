"""Training diagnostics: per-layer speed of learning and gradient histograms.

Speed of learning (seed 001 §3.1, Nielsen ch.5): with δˡⱼ = ∂C/∂bˡⱼ the gradient for the
bias of neuron j in layer l, the length ‖δˡ‖ measures how fast layer l learns. C is the
mean cost over the samples given: C = (1/n) Σₓ Cₓ, so δˡ is the batch-averaged signed
gradient (what the book's ``generate_gradient.py`` plots).
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Union

import numpy as np

from .losses import get_loss
from .training import Callback, TrainingState, make_engine, prepare_data

__all__ = ["layer_speeds", "layer_gradients", "gradient_histograms", "SpeedOfLearning", "GradientHistograms"]


def _layers(model: Any) -> list:
    layers = getattr(model, "layers", None)
    if layers is None:
        raise TypeError(f"diagnostics need a model with .layers (an nn.MLP), got {type(model).__name__}")
    return layers


def layer_gradients(model: Any) -> list[dict[str, np.ndarray]]:
    """The current ``.grad`` of each layer: ``[{"w": (nout, nin), "b": (nout,)}, ...]``."""
    out = []
    for layer in _layers(model):
        w = np.array([[w.grad for w in n.w] for n in layer.neurons])
        b = np.array([n.b.grad if n.b is not None else 0.0 for n in layer.neurons])
        out.append({"w": w, "b": b})
    return out


def layer_speeds(model: Any, X: Any = None, Y: Any = None, loss: Union[str, Callable] = "binary_cross_entropy",
                 engine: Any = "auto", hidden_only: bool = False) -> np.ndarray:
    """‖∂C/∂bˡ‖ for every layer l (``hidden_only``: all but the output layer).

    With ``X, Y`` the gradient of C = mean over those samples is computed (the
    parameters' ``.grad`` are saved and restored); without them the current ``.grad`` values
    are read.
    """
    params = model.parameters()
    saved = None
    if X is not None:
        Xa, Ya = prepare_data(model, X, Y, "layer_speeds")
        saved = [p.grad for p in params]
        model.zero_grad()
        make_engine(engine, model, get_loss(loss)).loss_and_grad(Xa, Ya, "mean")
    try:
        speeds = [float(np.linalg.norm(g["b"])) for g in layer_gradients(model)]
    finally:
        if saved is not None:
            for p, g in zip(params, saved):
                p.grad = g
    return np.array(speeds[:-1] if hidden_only else speeds)


def gradient_histograms(model: Any, bins: Union[int, np.ndarray] = 20, which: str = "w",
                        range: Optional[tuple[float, float]] = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """``[(counts, edges), ...]`` per layer of the current weight (``which="w"``), bias
    (``"b"``) or all (``"all"``) gradients — numpy ``histogram`` data."""
    if which not in ("w", "b", "all"):
        raise ValueError(f"gradient_histograms(which) must be 'w', 'b' or 'all', got {which!r}")
    out = []
    for g in layer_gradients(model):
        values = np.concatenate([g["w"].ravel(), g["b"]]) if which == "all" else g[which].ravel()
        out.append(np.histogram(values, bins=bins, range=range))
    return out


class SpeedOfLearning(Callback):
    """Records ``layer_speeds`` before training and after every ``every`` epochs into
    ``history.extra["speed"]`` (a list of arrays) and ``history.extra["speed_epoch"]``.

    ``X, Y`` default to the training data; ``loss`` to the loss being trained.
    """

    def __init__(self, X: Any = None, Y: Any = None, loss: Union[str, Callable, None] = None,
                 every: int = 1, hidden_only: bool = False) -> None:
        if every < 1:
            raise ValueError(f"SpeedOfLearning(every) must be ≥ 1, got {every!r}")
        self.X, self.Y, self.loss, self.every, self.hidden_only = X, Y, loss, every, hidden_only

    def _record(self, state: TrainingState) -> None:
        X = state.X if self.X is None else self.X
        Y = state.Y if self.Y is None else self.Y
        engine = state.engine if self.loss is None else "auto"
        speeds = layer_speeds(state.model, X, Y, self.loss or state.loss_fn, engine=engine,
                              hidden_only=self.hidden_only)
        state.history.extra.setdefault("speed", []).append(speeds)
        state.history.extra.setdefault("speed_epoch", []).append(state.epoch)

    def on_train_begin(self, state: TrainingState) -> None:
        """Record the speeds at initialisation (epoch 0)."""
        self._record(state)

    def on_epoch_end(self, state: TrainingState) -> None:
        """Record the speeds every ``every`` epochs."""
        if state.epoch % self.every == 0:
            self._record(state)


class GradientHistograms(Callback):
    """After each epoch, histograms of the last batch's gradients per layer into
    ``history.extra["grad_hist"]``. (Gradients are read before the next zero_grad.)"""

    def __init__(self, bins: int = 20, which: str = "w") -> None:
        self.bins, self.which = bins, which

    def on_epoch_end(self, state: TrainingState) -> None:
        """Record this epoch's gradient histograms."""
        state.history.extra.setdefault("grad_hist", []).append(
            gradient_histograms(state.model, self.bins, self.which))
