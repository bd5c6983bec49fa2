"""Divergence detection for training loops: a non-finite or exploding loss, or a numerical
error of the engine in the middle of a step, becomes one error that says where and what to do.

A training loop uses one :class:`DivergenceGuard`::

    guard = DivergenceGuard(lr, on_divergence="raise")       # or "stop"
    guard.reference(initial_loss)                            # E_avg before training
    for epoch ...:
        for step ...:
            with guard.watch(epoch, step):                   # engine errors -> divergence
                loss = ... one update ...
                guard.check(loss, epoch, step)               # NaN / ±inf / exploding loss
            if guard.diverged:                               # only with on_divergence="stop"
                break

A loss diverges when it is NaN or ±inf, or when it exceeds ``factor`` × max(1, |E_avg before
training|) (default factor 10⁶: a loss a million times its starting value does not come back
under plain gradient descent). An ``OverflowError``, ``FloatingPointError``,
``ZeroDivisionError`` or ``ValueError`` raised by the engine inside :meth:`watch` (an
overflowing product, a NaN gradient, the log of a probability that underflowed to 0) is the
same event seen earlier (unless it happens before the first step is done: then the
initial parameters or the data are at fault, and the error is raised unchanged). With ``on_divergence="raise"`` the guard raises
:class:`DivergenceError` naming the epoch, the step, the learning rate and the cause (chained
as ``__cause__``); with ``"stop"`` it records them in :attr:`DivergenceGuard.reason`, sets
:attr:`diverged`, and the loop ends with ``history.stopped = "diverged"`` (the parameters are
left as the failing step left them).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Iterator, Optional

__all__ = ["DivergenceError", "DivergenceGuard", "ON_DIVERGENCE"]

ON_DIVERGENCE = ("raise", "stop")
_NUMERICAL = (OverflowError, FloatingPointError, ZeroDivisionError, ValueError)


class DivergenceError(FloatingPointError):
    """Training diverged; the message names the epoch, the step and the learning rate."""


class DivergenceGuard:
    """Watches one training run: a NaN/±inf loss, or one over ``factor`` (10⁶) times the
    starting scale, is a divergence (raised as :class:`DivergenceError` or recorded)."""

    def __init__(self, lr: Optional[float], on_divergence: str = "raise", factor: float = 1e6) -> None:
        if on_divergence not in ON_DIVERGENCE:
            raise ValueError(f"on_divergence must be 'raise' or 'stop', got {on_divergence!r}")
        if not (isinstance(factor, (int, float)) and factor > 1 and math.isfinite(factor)):
            raise ValueError(f"the divergence factor must be a finite number > 1, got {factor!r}")
        self.lr, self.on_divergence, self.factor = lr, on_divergence, float(factor)
        self.limit = math.inf
        self.updates = 0  # steps checked so far; an error before the first is not a divergence
        self.diverged = False
        self.reason = ""

    def reference(self, initial_loss: float) -> None:
        """Set the scale from the loss before training (a non-finite one sets no limit)."""
        if math.isfinite(initial_loss):
            self.limit = self.factor * max(1.0, abs(initial_loss))

    def _diverge(self, epoch: int, step: int, cause: str, exc: Optional[BaseException] = None) -> None:
        lr = f"lr = {self.lr:g}" if isinstance(self.lr, (int, float)) else f"lr = {self.lr!r}"
        self.reason = (f"training diverged at epoch {epoch}, step {step} ({lr}): {cause}. Lower the "
                       "learning rate, or clip the gradients (clip_norm=... or clip_value=...)")
        self.diverged = True
        if self.on_divergence == "raise":
            raise DivergenceError(self.reason) from exc

    def check(self, loss: float, epoch: int, step: int) -> bool:
        """True (or :class:`DivergenceError`) when ``loss`` is non-finite or exploding."""
        if self.diverged:
            return True
        self.updates += 1
        if loss != loss or abs(loss) == math.inf:
            self._diverge(epoch, step, f"the loss is {loss!r}")
        elif loss > self.limit:
            self._diverge(epoch, step, f"the loss {loss:.6g} is over {self.factor:g} times its "
                                       f"starting scale ({self.limit / self.factor:.6g})")
        return self.diverged

    @contextmanager
    def watch(self, epoch: int, step: int) -> Iterator[None]:
        """Turn a numerical error of the engine inside the block into a divergence."""
        try:
            yield
        except DivergenceError:
            raise
        except _NUMERICAL as exc:
            if not self.updates:  # the initial parameters already fail: not a divergence
                raise
            self._diverge(epoch, step, f"{type(exc).__name__}: {exc}", exc)
