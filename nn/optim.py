"""Optimizers on the flat parameter vector: SGD (momentum, weight decay), Adam, AdamW;
gradient clipping.

Every optimizer works on the :class:`autodiff.ParameterStore` that holds its parameters
(θ, shape (P,), and its gradient g): ``step()`` is a few numpy operations on those arrays,
whatever the model's size, and every parameter Value shows the new numbers at once. The
same ``step()`` serves ``nn.fit`` and a user's own loop, eager or compiled — there is one
implementation of each update.

SGD (seed 000 §6, "learning rate parameter η", generalised delta rule with momentum):

    d(n)  = g(n) + λ_wd · θ                       (weight decay λ_wd, 0 by default)
    Δθ(n) = α Δθ(n−1) − η d(n),   0 ≤ α < 1        (α = 0: plain gradient descent)
    θ     ← θ + Δθ(n)

(equal to ``torch.optim.SGD(lr=η, momentum=α, weight_decay=λ_wd)``: its buffer b(n) = −Δθ(n)/η).

Adam (Kingma & Ba 2015, as ``torch.optim.Adam``), step t = 1, 2, …:

    d = g + λ_wd θ;  m ← β₁m + (1−β₁)d;  v ← β₂v + (1−β₂)d²
    θ ← θ − (η / (1−β₁ᵗ)) · m / (√v / √(1−β₂ᵗ) + ε)

AdamW (Loshchilov & Hutter 2019, as ``torch.optim.AdamW``): the same with d = g and the
decay applied to θ directly first, θ ← θ (1 − η λ_wd).

Checkpoints: ``opt.state_dict()`` gives the hyperparameters and the running state (SGD's
Δθ(n−1); Adam's m, v and t) as plain numbers and lists, JSON-serialisable;
``opt.load_state_dict(state)`` on an optimizer over the same parameters resumes exactly
(bit for bit) where the saved one stopped. :func:`nn.save` / :func:`nn.load` write and read
such dicts, together with ``model.state_dict()``.

Clipping (seed 002 §9.3.3), applied to the gradient in place before an update:

* by value: every gradient is limited to [−c, c];
* by global norm: if ‖g‖₂ > C over all parameters, every gradient is scaled by C/‖g‖₂.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Optional

import numpy as np

from autodiff import Value, validate
from autodiff.params import ParameterStore, store_of

from .checks import check_unique_params

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "clip_grad_value", "clip_grad_norm", "grad_norm",
           "clip_by_value", "clip_by_norm"]


def _params(params: Any, where: str) -> list[Value]:
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    if isinstance(params, Value):
        params = [params]
    out = []
    for p in params:
        if not isinstance(p, Value):
            raise TypeError(f"{where}: expected Values (model.parameters()), got {type(p).__name__}: {p!r}")
        out.append(p)
    check_unique_params(out, where)
    if not out:
        raise ValueError(f"{where}: no parameters given")
    return out


def _positive(x: Any, name: str, allow_zero: bool = False) -> float:
    return validate.nonnegative_number(x, name) if allow_zero else validate.positive_number(x, name)


def _fraction(x: Any, name: str) -> float:
    f = validate.real_number(x, name)
    if not 0.0 <= f < 1.0:
        raise ValueError(f"{name} must satisfy 0 ≤ value < 1, got {x!r}")
    return f


# ------------------------------------------------------------------ clipping on arrays

def clip_by_value(g: np.ndarray, clip: float) -> int:
    """g ← clip(g, −c, c) in place; returns how many entries were clipped."""
    n = int(np.count_nonzero(np.abs(g) > clip))
    if n:
        np.clip(g, -clip, clip, out=g)
    return n


def clip_by_norm(g: np.ndarray, max_norm: float) -> float:
    """g ← g · C/‖g‖₂ in place when ‖g‖₂ > C; returns ‖g‖₂ before clipping."""
    norm = math.sqrt(float(np.dot(g, g)))
    if norm > max_norm:
        g *= max_norm / norm
    return norm


class Optimizer:
    """Base class: holds the parameters' store and an index of them into its vector.

    ``params``: a model, or Values (``model.parameters()``); they must all live in one
    store (parameters in no store get one). Subclasses implement :meth:`_update` on the
    arrays. ``clip_value`` / ``clip_norm`` clip the gradient before every update.
    """

    # what state_dict() saves: hyperparameters (numbers or None; tuples as lists) and the
    # running state (arrays aligned with the parameters, and integer counters)
    _hyper: tuple[str, ...] = ("lr", "clip_value", "clip_norm")
    _arrays_saved: tuple[str, ...] = ()
    _counters: tuple[str, ...] = ()

    def __init__(self, params: Any, lr: float, clip_value: Optional[float], clip_norm: Optional[float],
                 where: str) -> None:
        self.params = _params(params, f"{where}(params)")
        self.store, self.index = store_of(self.params, f"{where}(params)", ordered=False)
        self.lr = _positive(lr, f"{where}(lr) (the learning rate η)")
        self.clip_value = None if clip_value is None else _positive(clip_value, f"{where}(clip_value)")
        self.clip_norm = None if clip_norm is None else _positive(clip_norm, f"{where}(clip_norm)")

    def _state(self) -> np.ndarray:
        return np.zeros(len(self.params))

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        data, grad = self.store.data, self.store.grad
        return data[self.index], grad[self.index]  # views for a slice, copies for an index array

    def clip(self, value: Optional[float] = None, norm: Optional[float] = None) -> Optional[float]:
        """Clip the gradients in place, by value then by global norm; returns ‖g‖ before the
        norm clip (``None`` without one)."""
        if value is None and norm is None:
            return None
        grad = self.store.grad
        g = grad[self.index]
        if value is not None:
            clip_by_value(g, value)
        out = None if norm is None else clip_by_norm(g, norm)
        if not isinstance(self.index, slice):
            grad[self.index] = g
        return out

    def step(self) -> None:
        """One update of θ from the current gradient (after the optimizer's own clipping)."""
        self.clip(self.clip_value, self.clip_norm)
        theta, g = self._arrays()
        self._update(theta, g)
        if not isinstance(self.index, slice):
            self.store.data[self.index] = theta

    def _update(self, theta: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

    def zero_grad(self) -> None:
        """g ← 0 for this optimizer's parameters."""
        self.store.zero_grad(self.index)

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict[str, Any]:
        """``{"optimizer": class name, "hyperparameters": {...}, "state": {...}}`` in plain
        Python numbers and lists (JSON-serialisable), as ``torch.optim.Optimizer.state_dict``.
        The state's arrays follow the parameters' positions in their store (the same for a
        model built the same way)."""
        def plain(x: Any) -> Any:
            return list(x) if isinstance(x, tuple) else x
        state: dict[str, Any] = {name: getattr(self, name).tolist() for name in self._arrays_saved}
        state.update({name: int(getattr(self, name)) for name in self._counters})
        return {"optimizer": type(self).__name__,
                "hyperparameters": {name: plain(getattr(self, name)) for name in self._hyper},
                "state": state}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Resume from :meth:`state_dict` output: an optimizer of the same class over the same
        number of parameters continues exactly as the saved one would have."""
        where = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, Mapping) or not {"optimizer", "hyperparameters", "state"} <= set(state_dict):
            raise ValueError(f"{where}: expected a dict from Optimizer.state_dict() with keys 'optimizer', "
                             f"'hyperparameters', 'state', got {type(state_dict).__name__}"
                             f"{' with keys ' + repr(sorted(state_dict)) if isinstance(state_dict, Mapping) else ''}")
        if state_dict["optimizer"] != type(self).__name__:
            raise ValueError(f"{where}: the state dict is from {state_dict['optimizer']}, not {type(self).__name__}")
        hyper, state = dict(state_dict["hyperparameters"]), dict(state_dict["state"])
        missing = [k for k in self._hyper if k not in hyper] + \
                  [k for k in self._arrays_saved + self._counters if k not in state]
        if missing:
            raise ValueError(f"{where}: the state dict lacks {missing}")
        arrays = {}
        for name in self._arrays_saved:
            arrays[name] = np.asarray(state[name], dtype=float)
            if arrays[name].shape != (len(self.params),):
                raise ValueError(f"{where}: state[{name!r}] holds {arrays[name].size} numbers but this optimizer "
                                 f"has {len(self.params)} parameters")
        for name in self._hyper:
            value = hyper[name]
            setattr(self, name, tuple(value) if isinstance(value, list) else value)
        for name, array in arrays.items():
            setattr(self, name, array)
        for name in self._counters:
            setattr(self, name, int(state[name]))


class SGD(Optimizer):
    """``SGD(params, lr, momentum=0.0, weight_decay=0.0, *, clip_value=None, clip_norm=None)``;
    Δθ(n) = αΔθ(n−1) − η(g + λ_wd θ), θ ← θ + Δθ(n), as ``torch.optim.SGD``. ``velocity`` is Δθ(n−1), an array aligned with
    ``store.data[index]`` (the store's order when the parameters are all of it)."""

    _hyper = Optimizer._hyper + ("momentum", "weight_decay")
    _arrays_saved = ("velocity",)

    def __init__(self, params: Any, lr: float = 0.1, momentum: float = 0.0, weight_decay: float = 0.0, *,
                 clip_value: Optional[float] = None, clip_norm: Optional[float] = None) -> None:
        super().__init__(params, lr, clip_value, clip_norm, "SGD")
        self.momentum = _momentum(momentum, "SGD(momentum)")
        self.weight_decay = _positive(weight_decay, "SGD(weight_decay)", allow_zero=True)
        self.velocity = self._state()

    def _update(self, theta: np.ndarray, g: np.ndarray) -> None:
        d = g + self.weight_decay * theta if self.weight_decay else g
        if self.momentum:
            self.velocity *= self.momentum
            self.velocity -= self.lr * d
        else:
            np.multiply(d, -self.lr, out=self.velocity)
        theta += self.velocity

    def reset(self) -> None:
        """Forget the momentum history Δθ(n−1)."""
        self.velocity = self._state()

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr}, momentum={self.momentum}, weight_decay={self.weight_decay})"


class Adam(Optimizer):
    """``Adam(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, *,
    clip_value=None, clip_norm=None)``, as ``torch.optim.Adam``: m ← β₁m + (1−β₁)g,
    v ← β₂v + (1−β₂)g², θ ← θ − η m̂/(√v̂ + ε) with the bias corrections m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
    State: ``m``, ``v`` (arrays aligned with ``store.data[index]``) and the step count ``t``."""

    decoupled = False
    _hyper = Optimizer._hyper + ("betas", "eps", "weight_decay")
    _arrays_saved = ("m", "v")
    _counters = ("t",)

    def __init__(self, params: Any, lr: float = 0.001, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: Optional[float] = None, *,
                 clip_value: Optional[float] = None, clip_norm: Optional[float] = None) -> None:
        name = type(self).__name__
        super().__init__(params, lr, clip_value, clip_norm, name)
        try:
            b1, b2 = betas
        except (TypeError, ValueError):
            raise ValueError(f"{name}(betas) must be a pair (β₁, β₂), got {betas!r}") from None
        self.betas = (_fraction(b1, f"{name}(betas[0]) β₁"), _fraction(b2, f"{name}(betas[1]) β₂"))
        self.eps = _positive(eps, f"{name}(eps)")
        if weight_decay is None:
            weight_decay = 0.01 if self.decoupled else 0.0  # torch's defaults
        self.weight_decay = _positive(weight_decay, f"{name}(weight_decay)", allow_zero=True)
        self.reset()

    def reset(self) -> None:
        """Forget the moment estimates and the step count."""
        self.m, self.v, self.t = self._state(), self._state(), 0

    def _update(self, theta: np.ndarray, g: np.ndarray) -> None:
        (b1, b2), lr, wd = self.betas, self.lr, self.weight_decay
        self.t += 1
        if wd and self.decoupled:
            theta *= 1.0 - lr * wd
        elif wd:
            g = g + wd * theta
        self.m *= b1
        self.m += (1.0 - b1) * g
        self.v *= b2
        self.v += (1.0 - b2) * (g * g)
        step_size = lr / (1.0 - b1 ** self.t)
        denom = np.sqrt(self.v)
        denom /= math.sqrt(1.0 - b2 ** self.t)
        denom += self.eps
        theta -= step_size * (self.m / denom)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(lr={self.lr}, betas={self.betas}, eps={self.eps}, "
                f"weight_decay={self.weight_decay})")


class AdamW(Adam):
    """``AdamW(params, lr=0.001, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, ...)``:
    Adam with decoupled weight decay θ ← θ(1 − ηλ_wd), as ``torch.optim.AdamW``."""

    decoupled = True


def _momentum(momentum: Any, name: str) -> float:
    f = validate.real_number(momentum, f"{name} α")
    if not 0.0 <= f < 1.0:
        raise ValueError(f"{name} α must satisfy 0 ≤ α < 1 (seed 000), got {momentum!r}")
    return f


# -------------------------------------------------------- clipping on parameters

def _grads(params: Iterable[Value], where: str) -> tuple[ParameterStore, Any, np.ndarray]:
    store, index = store_of(_params(params, where), where, ordered=False)
    return store, index, store.grad[index]


def grad_norm(params: Iterable[Value]) -> float:
    """‖∇‖₂ = √(Σ grad²) over ``params``."""
    _, _, g = _grads(params, "grad_norm")
    return math.sqrt(float(np.dot(g, g)))


def clip_grad_value(params: Iterable[Value], clip: float) -> int:
    """Limit every ``.grad`` to [−clip, clip]; returns how many were clipped."""
    c = _positive(clip, "clip_grad_value(clip)")
    store, index, g = _grads(params, "clip_grad_value")
    n = clip_by_value(g, c)
    if not isinstance(index, slice):
        store.grad[index] = g
    return n


def clip_grad_norm(params: Iterable[Value], max_norm: float) -> float:
    """Scale all gradients by max_norm/‖∇‖ when ‖∇‖ > max_norm; returns ‖∇‖ before clipping."""
    c = _positive(max_norm, "clip_grad_norm(max_norm)")
    store, index, g = _grads(params, "clip_grad_norm")
    norm = clip_by_norm(g, c)
    if not isinstance(index, slice):
        store.grad[index] = g
    return norm


def check_optimizer_args(lr: Optional[float], momentum: float, weight_decay: float, where: str = "SGD") -> None:
    """Raise the same errors SGD would, without building one (used by fit to validate early,
    with ``where="fit"``)."""
    _positive(lr, f"{where}(lr) (the learning rate η)")
    _momentum(momentum, f"{where}(momentum)")
    _positive(weight_decay, f"{where}(weight_decay)", allow_zero=True)
