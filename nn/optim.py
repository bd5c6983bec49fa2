"""Stochastic gradient descent with momentum and weight decay; gradient clipping.

SGD (seed 000 §6, "learning rate parameter η", generalised delta rule with momentum):

    g(n)  = ∂E/∂w + λ_wd · w                      (weight decay λ_wd, 0 by default)
    Δw(n) = α Δw(n−1) − η g(n),   0 ≤ α < 1        (α = 0: plain gradient descent)
    w     ← w + Δw(n)

Clipping (seed 002 §9.3.3), applied to ``.grad`` before the step:

* by value: every gradient is limited to [−g, g];
* by global norm: if ‖∇‖₂ > c over all parameters, every gradient is scaled by c/‖∇‖₂.
"""

from __future__ import annotations

import math
import numbers
from typing import Iterable, Optional

from autodiff import Value

__all__ = ["SGD", "clip_grad_value", "clip_grad_norm", "grad_norm"]


def _params(params: Iterable[Value], where: str) -> list[Value]:
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    out, seen = [], set()
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"{where}: expected Values (model.parameters()), got {type(p).__name__}: {p!r}")
        if id(p) not in seen:
            seen.add(id(p))
            out.append(p)
    if not out:
        raise ValueError(f"{where}: no parameters given")
    return out


def _positive(x, name: str, allow_zero: bool = False) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real) or math.isnan(x) or \
            (x < 0 if allow_zero else x <= 0) or math.isinf(x):
        raise ValueError(f"{name} must be a finite number {'≥' if allow_zero else '>'} 0, got {x!r}")
    return float(x)


class SGD:
    """``SGD(params, lr, momentum=0.0, weight_decay=0.0)``; see the module docstring.

    ``step()`` applies one update from the current ``.grad`` values; ``zero_grad()`` clears
    them. ``velocity`` holds Δw(n−1) per parameter (by position in ``params``).
    """

    def __init__(self, params: Iterable[Value], lr: float = 0.1, momentum: float = 0.0,
                 weight_decay: float = 0.0) -> None:
        self.params = _params(params, "SGD(params)")
        self.lr = _positive(lr, "SGD(lr) (the learning rate η)")
        if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD(momentum) α must satisfy 0 ≤ α < 1 (seed 000), got {momentum!r}")
        self.momentum = float(momentum)
        self.weight_decay = _positive(weight_decay, "SGD(weight_decay)", allow_zero=True)
        self.velocity = [0.0] * len(self.params)

    def step(self) -> None:
        lr, alpha, wd, vel = self.lr, self.momentum, self.weight_decay, self.velocity
        for i, p in enumerate(self.params):
            g = p.grad + wd * p.data if wd else p.grad
            dw = alpha * vel[i] - lr * g if alpha else -lr * g
            vel[i] = dw
            p.data += dw

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def reset(self) -> None:
        """Forget the momentum history Δw(n−1)."""
        self.velocity = [0.0] * len(self.params)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay})"


def grad_norm(params: Iterable[Value]) -> float:
    """‖∇‖₂ = √(Σ grad²) over ``params``."""
    return math.sqrt(math.fsum(p.grad * p.grad for p in _params(params, "grad_norm")))


def clip_grad_value(params: Iterable[Value], clip: float) -> int:
    """Limit every ``.grad`` to [−clip, clip]; returns how many were clipped."""
    g = _positive(clip, "clip_grad_value(clip)")
    n = 0
    for p in _params(params, "clip_grad_value"):
        if p.grad > g:
            p.grad, n = g, n + 1
        elif p.grad < -g:
            p.grad, n = -g, n + 1
    return n


def clip_grad_norm(params: Iterable[Value], max_norm: float) -> float:
    """Scale all gradients by max_norm/‖∇‖ when ‖∇‖ > max_norm; returns ‖∇‖ before clipping."""
    c = _positive(max_norm, "clip_grad_norm(max_norm)")
    ps = _params(params, "clip_grad_norm")
    norm = grad_norm(ps)
    if norm > c:
        scale = c / norm
        for p in ps:
            p.grad *= scale
    return norm


def check_optimizer_args(lr: Optional[float], momentum: float, weight_decay: float) -> None:
    """Raise the same errors SGD would, without building one (used by fit to validate early)."""
    _positive(lr, "lr (the learning rate η)")
    if isinstance(momentum, bool) or not isinstance(momentum, numbers.Real) or not 0.0 <= momentum < 1.0:
        raise ValueError(f"momentum α must satisfy 0 ≤ α < 1 (seed 000), got {momentum!r}")
    _positive(weight_decay, "weight_decay", allow_zero=True)
