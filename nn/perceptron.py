"""The single-layer perceptron and its learning rule (seed 004, "single layer perceptron").

y = φ(wᵀx + b) with a threshold unit φ (``step`` → {0, 1} or ``sign`` → {−1, +1}).
For each training pair (xⱼ, dⱼ), presented in order:

    e = dⱼ − yⱼ,    w ← w + η e xⱼ,    b ← b + η e

After each epoch the error E = ½ Σⱼ eⱼ² (the errors met during the epoch) is compared
with the user's threshold γ: training stops once E ≤ γ (γ = 0: every sample right), or
after ``epochs`` epochs. It converges only for linearly separable classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import numpy as np

from autodiff import validate

from .checks import perceptron_targets
from .init import RngLike, make_rng
from .layers import Neuron, as_inputs
from .module import Module

__all__ = ["Perceptron", "PerceptronHistory"]


@dataclass
class PerceptronHistory:
    errors: list[float] = field(default_factory=list)   # E = ½Σe² per epoch
    mistakes: list[int] = field(default_factory=list)   # samples with e ≠ 0 per epoch
    converged: bool = False

    @property
    def epochs(self) -> int:
        return len(self.errors)


class Perceptron(Module):
    """``Perceptron(nin, activation="step", *, lr=0.1, weights=None, bias=0.0, init="zeros", rng/seed)``."""

    def __init__(self, nin: int, activation: str = "step", *, lr: float = 0.1, weights: Any = None,
                 bias: Any = 0.0, init: Any = "zeros", rng: RngLike = None, seed: Optional[int] = None,
                 name: Optional[str] = None) -> None:
        if activation not in ("step", "sign"):
            raise ValueError(f"Perceptron(activation) must be 'step' or 'sign', got {activation!r}")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
            raise ValueError(f"Perceptron(lr) η must be a number > 0, got {lr!r}")
        self.lr = float(lr)
        self.neuron = Neuron(nin, activation, init=init, weights=weights, bias=bias,
                             rng=rng, seed=seed, name=name)
        self.nin = self.neuron.nin

    def _own_parameters(self):
        return self.neuron._own_parameters()  # names "w.<i>", "b", as for a Neuron

    def _own_weights(self):
        return self.neuron.weights()

    @property
    def w(self):
        """The weights."""
        return self.neuron.w

    @property
    def b(self):
        """The bias (the threshold −θ)."""
        return self.neuron.b

    def forward(self, xs):
        """The unit's output on input Values ``xs``."""
        return self.neuron.forward(xs)

    def __call__(self, x):
        """The unit's output (step or sign of w·x + b) on one sample ``x``."""
        return self.neuron(x)

    def predict(self, X: Any) -> np.ndarray:
        """The unit's output for every row of ``X``, as an array."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        return np.array([self.neuron(row).data for row in X])

    def update(self, x: Any, d: float) -> float:
        """One application of the rule on (x, d); returns the error e = d − y."""
        xs = as_inputs(x, self.nin, "Perceptron.update")
        e = float(d) - self.neuron.forward(xs).data
        if e:
            for w, xi in zip(self.neuron.w, xs):
                w.data += self.lr * e * xi.data
            if self.neuron.b is not None:
                self.neuron.b.data += self.lr * e
        return e

    def fit(self, X: Any, d: Any, epochs: int = 100, threshold: float = 0.0, shuffle: bool = False,
            seed: Optional[int] = None) -> PerceptronHistory:
        """Apply the rule sample by sample until E = ½Σe² ≤ ``threshold`` or ``epochs`` ends."""
        X = validate.batch(X, "Perceptron.fit(X)", self.nin, finite=True, one_sample=False, one_d="column")
        d = validate.vector(d, "Perceptron.fit(d)")
        perceptron_targets(d, self.neuron.activation.name)
        if d.shape[0] != X.shape[0]:
            raise ValueError(f"Perceptron.fit: {X.shape[0]} samples but {d.shape[0]} desired outputs")
        epochs = validate.int_at_least(epochs, "Perceptron.fit(epochs)", 1)
        threshold = validate.nonnegative_number(threshold, "Perceptron.fit(threshold) γ")
        gen = make_rng(None, validate.seed(seed, "Perceptron.fit(seed)"), "Perceptron.fit(seed)") \
            if shuffle else None
        hist = PerceptronHistory()
        for _ in range(epochs):
            order = gen.permutation(len(X)) if gen is not None else range(len(X))
            es = [self.update(X[i], d[i]) for i in order]
            hist.errors.append(0.5 * float(np.sum(np.square(es))))
            hist.mistakes.append(int(np.count_nonzero(es)))
            if hist.errors[-1] <= threshold:
                hist.converged = True
                break
        return hist
