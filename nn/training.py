"""`fit`: train a model by backpropagation (seed 000 §6.3, "modes of training").

Modes (N samples, per-sample loss E(n), parameters θ, learning rate η):

* ``"sequential"`` (on-line): for each sample n in (shuffled) order,
  θ ← θ − η ∂E(n)/∂θ — the weights change after every sample;
* ``"batch"``: one update per epoch from all N samples, all computed with the same θ:
  θ ← θ − η (1/N) Σₙ ∂E(n)/∂θ   (``reduction="sum"`` drops the 1/N, as Haykin writes it);
* ``"minibatch"``: the (shuffled) samples in consecutive batches of ``batch_size`` B,
  θ ← θ − η (1/B) Σ_{n∈batch} ∂E(n)/∂θ after each batch (a last, smaller batch is
  averaged over its own size).

The update itself is the optimizer's (SGD with momentum / weight decay, see
:mod:`nn.optim`), after optional L2 (Nielsen: + (λ/N)·w on weight gradients) and clipping.

After every epoch the average error E_avg = (1/N) Σₙ E(n) (seed 000 eq. 7.4) over the training set is
evaluated with the current weights (``train_eval="end"``; ``"running"`` instead averages
the losses seen during the epoch, cheaper, what Keras reports) and recorded in a Keras-like
:class:`nn.History` (:mod:`nn.history`): ``history["loss"][k - 1]`` is the loss after k epochs,
``history.initial["loss"]`` the loss before training. Progress: :mod:`nn.progress`.

Stopping (seed 000 §6.3): after ``epochs`` epochs; when |E_avg(k) − E_avg(k−1)| < ``tol``;
when E_avg ≤ ``target_loss``; or when a callback sets ``state.stop = True``.

One loop serves every engine and optimizer. Per batch:

    optimizer.zero_grad()
    loss = engine.loss_and_grad(X_batch, Y_batch, reduction)   # adds ∂E/∂θ into the store
    g ← g + (λ/N)·w on weights (fit(l2=λ));  clip g (fit(clip_value=, clip_norm=))
    optimizer.step()

The engine computes the batch loss and adds its gradient into the parameters'
:class:`autodiff.ParameterStore`: ``engine="eager"`` (:mod:`nn.eager_engine`) builds Value
graphs sample by sample, ``"compiled"`` (:mod:`nn.compiled_engine`) replays one traced
graph over the batch, ``"auto"`` uses compiled unless the model's graph depends on the
data. The optimizer (:mod:`nn.optim`) updates the store's vector; both paths run the same
update code, so they follow the same trajectory (to rounding).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from autodiff import validate
from autodiff.params import store_of

from .checks import check_optimizer_covers, checked_loss

from .compiled_engine import CompiledEngine
from .divergence import DivergenceGuard
from .eager_engine import EagerEngine
from .fit_keywords import keras_aliases, suggest_keywords
from .history import History
from .losses import get_loss
from .metrics import accuracy as accuracy_metric, one_hot
from .model_graph import model_nin, model_nout
from .optim import SGD, check_optimizer_args, clip_by_norm, clip_by_value
from .progress import make_progress

__all__ = ["fit", "History", "Callback", "TrainingState", "prepare_data", "evaluate", "make_engine", "MODES",
           "ENGINES"]

MODES = ("sequential", "batch", "minibatch")


@dataclass
class TrainingState:
    """What callbacks see: set ``stop = True`` to end training after this epoch/batch."""

    model: Any
    optimizer: Any
    engine: Any
    history: History
    X: np.ndarray
    Y: np.ndarray
    loss_fn: Callable
    epoch: int = 0
    step: int = 0
    batch_loss: float = float("nan")
    stop: bool = False


class Callback:
    """Override any of these; a plain function ``fn(state)`` is called at each epoch end."""

    def on_train_begin(self, state: TrainingState) -> None:
        """Called once before the first update (``state.history.initial`` is measured)."""

    def on_batch_end(self, state: TrainingState) -> None:
        """Called after every update (``state.batch_loss``, ``state.step``)."""

    def on_epoch_end(self, state: TrainingState) -> None:
        """Called after every epoch, once its losses and metrics are recorded."""

    def on_train_end(self, state: TrainingState) -> None:
        """Called once when training stops (``state.history.stopped`` says why)."""


class _FunctionCallback(Callback):
    def __init__(self, fn: Callable[[TrainingState], Any]) -> None:
        self.fn = fn

    def on_epoch_end(self, state: TrainingState) -> None:
        self.fn(state)


def _as_callbacks(callbacks: Any) -> list[Callback]:
    if callbacks is None:
        return []
    if isinstance(callbacks, Callback) or callable(callbacks):
        callbacks = [callbacks]
    elif isinstance(callbacks, (str, bytes)) or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"fit(callbacks): expected None, an nn.Callback, a function or a list of them, "
                        f"got {type(callbacks).__name__}: {callbacks!r}")
    out = []
    for cb in callbacks:
        if isinstance(cb, Callback):
            out.append(cb)
        elif callable(cb):
            out.append(_FunctionCallback(cb))
        else:
            raise TypeError(f"fit(callbacks): expected nn.Callback objects or functions, got {cb!r}")
    return out


def prepare_data(model: Any, X: Any, Y: Any, where: str = "fit") -> tuple[np.ndarray, np.ndarray]:
    """Check and shape data: X → (N, nin) floats, Y → (N, nout) floats.

    Y may be (N,) for one output, or integer class labels (N,) for ``nout`` > 1 outputs
    (turned one-hot).
    """
    nin, nout = model_nin(model), model_nout(model)
    X = validate.batch(X, f"{where}: X", nin, finite=True, one_sample=False, one_d="column",
                       expects=f"the model expects nin={nin} inputs")
    Y = validate.targets(Y, f"{where}: Y", nout)
    if X.ndim != 2:
        raise ValueError(f"{where}: X must have shape (N, nin={nin}), got shape {X.shape}")
    if X.shape[0] == 0:
        raise ValueError(f"{where}: X is empty (no samples)")
    if X.shape[1] != nin:
        raise ValueError(f"{where}: X has {X.shape[1]} columns but the model expects nin={nin} inputs")
    Y = np.asarray(Y)
    if Y.ndim == 1:
        if nout == 1:
            Y = Y[:, None]
        elif np.issubdtype(Y.dtype, np.integer):
            if Y.size and (Y.min() < 0 or Y.max() >= nout):
                i = int(np.flatnonzero((Y < 0) | (Y >= nout))[0])
                raise ValueError(f"{where}: Y: sample {i} has class label {int(Y[i])}, but the model has "
                                 f"{nout} outputs: labels must lie in 0..{nout - 1}")
            Y = one_hot(Y, nout)
        else:
            raise ValueError(f"{where}: Y of shape {Y.shape} for a model with {nout} outputs: give (N, {nout}) "
                             "targets or integer class labels")
    try:
        Y = np.asarray(Y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: Y must be numeric: {exc}") from None
    if Y.ndim != 2 or Y.shape[1] != nout:
        raise ValueError(f"{where}: Y must have shape (N, nout={nout}), got {Y.shape}")
    if Y.shape[0] != X.shape[0]:
        raise ValueError(f"{where}: X has {X.shape[0]} samples but Y has {Y.shape[0]}")
    if not np.all(np.isfinite(Y)):
        raise ValueError(f"{where}: Y contains NaN or infinite values")
    return X, Y


def _weight_params(model: Any) -> list:
    """The parameters fit's ``l2`` applies to: the model's weights (``Module.weights()``,
    biases left out); none for a model that does not say which are its weights."""
    return model.weights() if callable(getattr(model, "weights", None)) else []


def _check_number(x: Any, name: str, *, minimum: float = 0.0, strict: bool = True, optional: bool = True):
    if x is None and optional:
        return None
    f = validate.real_number(x, f"fit({name})")
    if f != f or (f <= minimum if strict else f < minimum):
        raise ValueError(f"fit({name}) must be a number {'>' if strict else '≥'} {minimum:g}, got {x!r}")
    return f


ENGINES = ("eager", "compiled")


def make_engine(engine: Any, model: Any, loss_fn: Callable) -> Any:
    """Resolve ``fit(engine=...)``: ``"auto"``, ``"eager"``, ``"compiled"``, or an object with
    ``loss_and_grad`` and ``evaluate`` (see :mod:`nn.eager_engine`)."""
    if not isinstance(engine, str):
        if hasattr(engine, "loss_and_grad") and hasattr(engine, "evaluate"):
            return engine
        raise TypeError(f"fit(engine): expected 'auto', one of {list(ENGINES)} or an engine object, got {engine!r}")
    if engine == "auto":
        try:
            return CompiledEngine(model, loss_fn)
        except NotImplementedError:  # the graph depends on the data: only eager is right
            return EagerEngine(model, loss_fn)
    if engine == "compiled":
        return CompiledEngine(model, loss_fn)
    if engine == "eager":
        return EagerEngine(model, loss_fn)
    raise ValueError(f"fit(engine): unknown engine {engine!r}; choose 'auto' or one of {list(ENGINES)}")


def evaluate(model: Any, X: Any, Y: Any, loss: Union[str, Callable] = "half_sse",
             engine: Any = "auto") -> dict[str, Any]:
    """E_avg, accuracy and outputs of ``model`` on (X, Y), without training."""
    X, Y = prepare_data(model, X, Y, "evaluate")
    eng = make_engine(engine, model, get_loss(loss))
    losses, outputs = eng.evaluate(X, Y)
    return {"loss": float(np.mean(losses)), "accuracy": accuracy_metric(outputs, Y), "outputs": outputs}


def _adjust_gradient(store: Any, index: Any, weight_pos: Optional[np.ndarray], decay: float,
                     clip_value: Optional[float], clip_norm: Optional[float]) -> None:
    """fit's own gradient rules, on the store's vector: g ← g + (λ/N)·w on weights (L2),
    then clipping by value and by global norm over the model's parameters."""
    grad = store.grad
    if decay:
        grad[weight_pos] += decay * store.data[weight_pos]
    if clip_value is None and clip_norm is None:
        return
    g = grad[index]
    if clip_value is not None:
        clip_by_value(g, clip_value)
    if clip_norm is not None:
        clip_by_norm(g, clip_norm)
    if not isinstance(index, slice):
        grad[index] = g


@suggest_keywords
def fit(model: Any, X: Any, Y: Any, *, loss: Union[str, Callable] = "half_sse",
        optimizer: Optional[Any] = None, lr: Optional[float] = None, momentum: float = 0.0,
        weight_decay: float = 0.0, mode: str = "minibatch", batch_size: Optional[int] = None,
        epochs: int = 100, shuffle: bool = True, seed: Optional[int] = None,
        tol: Optional[float] = None, target_loss: Optional[float] = None,
        validation: Optional[tuple[Any, Any]] = None,
        metrics: Sequence[Union[str, Callable]] = ("accuracy",),
        callbacks: Any = None, progress: Optional[bool] = None, engine: Any = "auto",
        clip_value: Optional[float] = None, clip_norm: Optional[float] = None, l2: float = 0.0,
        reduction: str = "mean", train_eval: str = "end", on_divergence: str = "raise",
        validation_data: Any = None, verbose: Optional[int] = None) -> History:
    """Train ``model`` on (X, Y) by backpropagation; returns a :class:`History`.

    ``X`` (N, nin) inputs, ``Y`` targets (N, nout) or (N,); ``loss`` a name
    (``"half_sse"``, ``"mse"``, ``"binary_cross_entropy"``, ``"bce_with_logits"``,
    ``"softmax_cross_entropy"``, ``"hinge"``, ...) or ``f(outputs, targets) -> Value``;
    ``mode`` ``"sequential"`` (update after every sample), ``"batch"`` (one update per epoch)
    or ``"minibatch"``; ``epochs``; ``validation=(X_val, Y_val)``; ``progress`` (a bar, or
    ``False``). The update is θ ← θ − η·(1/B) Σ ∂E(n)/∂θ over each batch B (seed 000 §6.3),
    through the optimizer; the modes, stopping rules and engines are described in
    :mod:`nn.training`.

    ``optimizer`` defaults to ``SGD(model.parameters(), lr, momentum, weight_decay)``
    (``lr`` defaults to 0.1); pass an optimizer object instead to keep its state across
    calls (then do not pass lr/momentum/weight_decay). ``batch_size`` is used by
    ``"minibatch"`` only (default 32, capped at N). ``shuffle`` draws a new order every
    epoch from ``seed``. ``metrics``: ``"accuracy"`` and/or functions
    ``f(outputs (N,K), targets (N,K)) -> float``. ``l2`` is Nielsen's λ: adds
    (λ/2N) Σ w² to the reported loss and (λ/N) w to weight gradients.
    All arguments are checked before the first update. Keras' ``validation_data=`` and
    ``verbose=`` are accepted for ``validation=`` and ``progress=``; another unknown keyword
    raises ``TypeError`` with the closest name (:mod:`nn.fit_keywords`).

    Divergence (:mod:`nn.divergence`): a NaN/±inf loss, a loss 10⁶ times its starting scale,
    or a numerical error of the engine during a step raises :class:`nn.DivergenceError`
    naming the epoch, the step and the learning rate (``on_divergence="raise"``), or ends
    training with ``history.stopped = "diverged"`` (``on_divergence="stop"``).
    """
    # ---------------------------------------------------------------- validation
    validation, progress = keras_aliases("fit", validation, progress, validation_data, verbose)
    X, Y = prepare_data(model, X, Y, "fit")
    N = X.shape[0]
    loss_fn = get_loss(loss, "fit(loss)") if isinstance(loss, str) else checked_loss(get_loss(loss, "fit(loss)"))
    if mode not in MODES:
        raise ValueError(f"fit(mode): unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    epochs = validate.int_at_least(epochs, "fit(epochs)", 0)
    if batch_size is not None:
        batch_size = validate.int_at_least(batch_size, "fit(batch_size)", 1)
    if batch_size is not None and mode != "minibatch":
        raise ValueError(f"fit(batch_size) is only used with mode='minibatch', not mode={mode!r}")
    B = {"sequential": 1, "batch": N}.get(mode) or min(batch_size or 32, N)
    if reduction not in ("mean", "sum"):
        raise ValueError(f"fit(reduction) must be 'mean' or 'sum', got {reduction!r}")
    if train_eval not in ("end", "running"):
        raise ValueError(f"fit(train_eval) must be 'end' or 'running', got {train_eval!r}")
    tol = _check_number(tol, "tol")
    target_loss = _check_number(target_loss, "target_loss", minimum=-math.inf)
    clip_value = _check_number(clip_value, "clip_value")
    clip_norm = _check_number(clip_norm, "clip_norm")
    l2 = validate.nonnegative_number(l2, "fit(l2) (the L2 penalty λ)")
    if optimizer is None:
        lr = 0.1 if lr is None else lr
        check_optimizer_args(lr, momentum, weight_decay, "fit")
    elif lr is not None or momentum != 0.0 or weight_decay != 0.0:
        raise ValueError("fit: pass either optimizer= or lr/momentum/weight_decay, not both")
    elif not (hasattr(optimizer, "step") and hasattr(optimizer, "zero_grad")):
        raise TypeError(f"fit(optimizer) needs step() and zero_grad(), got {optimizer!r}")
    seed = validate.seed(seed, "fit(seed)")
    if optimizer is not None:
        check_optimizer_covers(optimizer, model)
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise ValueError("fit(validation) must be a pair (X_val, Y_val)")
        Xv, Yv = prepare_data(model, validation[0], validation[1], "fit(validation)")
    metric_fns: list[tuple[str, Callable]] = []
    for m in metrics or ():
        if m == "accuracy":
            continue
        if callable(m):
            metric_fns.append((getattr(m, "__name__", "metric"), m))
        else:
            raise ValueError(f"fit(metrics): unknown metric {m!r}; use 'accuracy' or a function")
    want_accuracy = "accuracy" in (metrics or ())
    cbs = _as_callbacks(callbacks)
    guard = DivergenceGuard(lr if optimizer is None else getattr(optimizer, "lr", None), on_divergence)
    eng = make_engine(engine, model, loss_fn)
    if optimizer is None:
        optimizer = SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    store, param_index = store_of(model.parameters(), "fit(model)", ordered=False)
    weight_pos = store.positions(_weight_params(model)) if l2 else None

    def penalty() -> float:  # (λ/2N) Σ w², Nielsen's L2 term of the reported loss
        if not l2:
            return 0.0
        w = store.data[weight_pos]
        return l2 / (2.0 * N) * float(np.dot(w, w))

    # ------------------------------------------------------------------ training
    history = History(engine=getattr(eng, "name", type(eng).__name__))
    state = TrainingState(model, optimizer, eng, history, X, Y, loss_fn)
    rng = np.random.default_rng(seed)
    progress_bar = make_progress(progress, epochs)

    def record(epoch: int, running: Optional[float]) -> None:
        if running is None:
            losses, outputs = eng.evaluate(X, Y)
            train_loss = float(np.mean(losses)) + penalty()
        else:
            train_loss, outputs = running + penalty(), None
        logs: dict[str, Optional[float]] = {"loss": train_loss}
        if want_accuracy:
            if outputs is None:
                _, outputs = eng.evaluate(X, Y)
            logs["accuracy"] = accuracy_metric(outputs, Y)
        for name, fn in metric_fns:
            if outputs is None:
                _, outputs = eng.evaluate(X, Y)
            logs[name] = float(fn(outputs, Y))
        if validation is not None:
            vl, vo = eng.evaluate(Xv, Yv)
            logs["val_loss"] = float(np.mean(vl)) + penalty()
            if want_accuracy:
                logs["val_accuracy"] = accuracy_metric(vo, Yv)
        history.record(epoch, logs)

    record(0, None)
    guard.reference(history.initial["loss"])
    for cb in cbs:
        cb.on_train_begin(state)
    history.stopped = "epochs"
    for epoch in range(1, epochs + 1):
        state.epoch = epoch
        order = rng.permutation(N) if shuffle and mode != "batch" else np.arange(N)
        total = 0.0
        for start in range(0, N, B):
            idx = order[start:start + B]
            with guard.watch(epoch, state.step + 1):  # divergence detection: nn/divergence.py
                optimizer.zero_grad()
                state.batch_loss = eng.loss_and_grad(X[idx], Y[idx], reduction)
                if l2 or clip_value is not None or clip_norm is not None:
                    _adjust_gradient(store, param_index, weight_pos, l2 / N, clip_value, clip_norm)
                optimizer.step()
                guard.check(state.batch_loss, epoch, state.step + 1)
            if guard.diverged:  # on_divergence="stop"
                break
            total += state.batch_loss
            state.step += 1
            for cb in cbs:
                cb.on_batch_end(state)
        if guard.diverged:
            history.steps = state.step
            history.stopped = "diverged"
            history.extra.setdefault("divergence", []).append(guard.reason)
            break
        history.steps = state.step
        with guard.watch(epoch, state.step):
            record(epoch, total / N if train_eval == "running" else None)
        if guard.diverged or guard.check(history.loss[-1], epoch, state.step):
            history.stopped = "diverged"
            history.extra.setdefault("divergence", []).append(guard.reason)
        elif target_loss is not None and history.loss[-1] <= target_loss:
            history.stopped = "target_loss"
        elif tol is not None and abs(history.loss[-1] - history.previous("loss")) < tol:
            history.stopped = "tol"
        for cb in cbs:
            cb.on_epoch_end(state)
        progress_bar.update(epoch, {k: v[-1] for k, v in history.history.items()})
        if state.stop and history.stopped == "epochs":
            history.stopped = "callback"
        if history.stopped != "epochs" or state.stop:
            break
    progress_bar.close()
    for cb in cbs:
        cb.on_train_end(state)
    return history
