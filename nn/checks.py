"""Checks of the arguments of training (``fit``, ``Perceptron.fit``, optimizers), called with
one line each from where they enter; the number, array and seed rules themselves live in
:mod:`autodiff.validate`, shared with the engine.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable

import numpy as np

from autodiff import Value

__all__ = ["checked_loss", "check_optimizer_covers", "check_unique_params", "perceptron_targets"]


def checked_loss(loss_fn: Callable, where: str = "fit(loss)") -> Callable:
    """A user's loss function, wrapped so that a result that is not a :class:`Value` (a
    float, a list) is a ``TypeError`` naming the argument, not ``'float' object has no
    attribute …`` from deep inside backward."""
    def loss(outputs: Any, targets: Any) -> Value:
        out = loss_fn(outputs, targets)
        if not isinstance(out, Value):
            raise TypeError(f"{where}: the loss function must return one autodiff.Value built from the "
                            f"outputs (so that backward can reach the parameters), got "
                            f"{type(out).__name__}: {out!r}")
        return out
    loss.__name__ = getattr(loss_fn, "__name__", "loss")
    loss.__wrapped__ = loss_fn  # type: ignore[attr-defined]
    return loss


def check_optimizer_covers(optimizer: Any, model: Any, where: str = "fit(optimizer)") -> None:
    """An optimizer passed to ``fit`` must update at least one of the model's parameters
    (one built over another model's parameters would train nothing, silently)."""
    params = getattr(optimizer, "params", None)
    if params is None or not hasattr(model, "parameters"):
        return
    ours = {id(p) for p in model.parameters()}
    if ours and not any(id(p) in ours for p in params):
        raise ValueError(f"{where}: the optimizer updates {len(params)} parameters, none of which belongs "
                         "to this model (was it built over another model's parameters?); pass "
                         "SGD(model.parameters(), ...)")


def check_unique_params(params: Iterable[Value], where: str) -> None:
    """Each parameter listed once: PyTorch warns and updates a duplicate twice per step; here it
    is an error, so that no parameter moves by a multiple of the learning rate unnoticed."""
    seen: dict[int, int] = {}
    for i, p in enumerate(params):
        if id(p) in seen:
            from autodiff import describe
            raise ValueError(f"{where}: {describe(p)} is listed twice (items {seen[id(p)]} and {i}); "
                             "list each parameter once")
        seen[id(p)] = i


def perceptron_targets(d: np.ndarray, activation: str, where: str = "Perceptron.fit(d)") -> None:
    """Desired outputs a perceptron can produce: 0/1 for ``step``, −1/+1 for ``sign``."""
    allowed = (0.0, 1.0) if activation == "step" else (-1.0, 1.0)
    bad = np.flatnonzero(~np.isin(d, allowed))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{where}: sample {i} has desired output {float(d[i])!r}; a '{activation}' perceptron "
                         f"outputs only {allowed[0]:g} or {allowed[1]:g}")
