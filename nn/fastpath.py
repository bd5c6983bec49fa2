"""The array-level update loop that :func:`nn.fit` uses on the compiled path.

With a compiled engine the loss and gradient of a batch cost microseconds per parameter
block, but writing every gradient into ``Value.grad`` and updating every ``Value.data``
in Python costs ~1 µs per parameter per batch (24k parameters × 5,000 batches ≈ 2 min per
MNIST epoch). This loop keeps the parameters in the tape's flat array ``param_data`` and
does, in numpy, exactly what the Value-level loop does:

    g ← scale · Σ_b ∂E_b/∂θ                      (the engine's batch gradient)
    g ← g + (λ/N)·w            on weights only  (fit(l2=λ), Nielsen's L2)
    g ← clip(g, −c, c);  g ← g·min(1, C/‖g‖)     (fit(clip_value=c, clip_norm=C))
    Δθ ← αΔθ − η(g + λ_wd θ);  θ ← θ + Δθ       (nn.SGD with momentum α, weight decay λ_wd)

At the end of every epoch (before the history is recorded and callbacks run) the values are
written back into the Values, the last batch's gradient into ``.grad`` and the momentum
history into ``optimizer.velocity``; at the start of the next epoch they are read back, so
callbacks may change parameters. It is used only when the engine exposes a ``tape``, the
optimizer is an :class:`nn.SGD` over exactly the tape's parameters, and no callback
overrides ``on_batch_end`` (which expects Values updated after every batch).
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np

from autodiff import Value

from .optim import SGD

__all__ = ["ArrayLoop"]


class ArrayLoop:
    """Flat-array SGD over a compiled engine's tape; see the module docstring."""

    def __init__(self, engine: Any, optimizer: SGD, weights: Sequence[Value]) -> None:
        self.tape = tape = engine.tape
        self.optimizer = optimizer
        pos = {id(p): i for i, p in enumerate(tape.params)}
        self.opt_index = np.array([pos[id(p)] for p in optimizer.params], dtype=np.intp)
        self.velocity = np.zeros(len(tape.params))
        self.weight_mask = np.zeros(len(tape.params))
        for w in weights:
            if id(w) in pos:
                self.weight_mask[pos[id(w)]] = 1.0
        self.last_grad = np.zeros(len(tape.params))

    @classmethod
    def maybe(cls, engine: Any, optimizer: Any, weights: Sequence[Value], callbacks: Sequence[Any]
              ) -> Optional["ArrayLoop"]:
        """An :class:`ArrayLoop` when the conditions of the module docstring hold, else ``None``."""
        from .training import Callback
        tape = getattr(engine, "tape", None)
        if tape is None or type(optimizer) is not SGD:
            return None
        if any(type(cb).on_batch_end is not Callback.on_batch_end for cb in callbacks):
            return None
        if len(tape.params) != len(optimizer.params) or \
                {id(p) for p in tape.params} != {id(p) for p in optimizer.params}:
            return None
        return cls(engine, optimizer, weights)

    def begin_epoch(self) -> None:
        """Read parameters (and the optimizer's momentum) from the Values."""
        self.tape.sync()
        self.velocity[self.opt_index] = self.optimizer.velocity

    def batch(self, X: np.ndarray, Y: np.ndarray, scale: float, l2_decay: float,
              clip_value: Optional[float], clip_norm: Optional[float]) -> float:
        tape, opt = self.tape, self.optimizer
        theta = tape.param_data
        losses = tape.forward(np.hstack([X, Y]), sync=False)
        g = tape.backward("sum", accumulate=False) * scale  # a new array
        if l2_decay:
            g += l2_decay * self.weight_mask * theta
        if clip_value is not None:
            np.clip(g, -clip_value, clip_value, out=g)
        if clip_norm is not None:
            norm = float(np.sqrt(np.dot(g, g)))
            if norm > clip_norm:
                g *= clip_norm / norm
        self.last_grad = g
        step = g + opt.weight_decay * theta if opt.weight_decay else g
        if opt.momentum:
            self.velocity *= opt.momentum
            self.velocity -= opt.lr * step
        else:
            np.multiply(step, -opt.lr, out=self.velocity)
        theta += self.velocity
        return float(losses.sum())

    def end_epoch(self) -> None:
        """Write parameters, the last gradient and the momentum back into Values / the optimizer."""
        self.tape.write_params()
        for p, g in zip(self.tape.params, self.last_grad.tolist()):
            p.grad = g
        self.optimizer.velocity = self.velocity[self.opt_index].tolist()
