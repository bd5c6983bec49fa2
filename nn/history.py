"""`History`: what :func:`nn.fit` records, shaped like Keras' ``History``.

``history.history`` is a dict of per-epoch lists, one entry per epoch trained:
``"loss"`` (the average error E_avg = (1/N) Σₙ E(n) on the training set after that epoch,
seed 000 eq. 7.4), ``"accuracy"``, ``"val_loss"``, ``"val_accuracy"`` when measured, and
any extra metric by its name. ``history["loss"]`` and ``history.loss`` are
``history.history["loss"]``; key and attribute access agree on every name: the four built-in
quantities give ``[]`` when they were not measured (``history.val_loss`` and
``history["val_loss"]`` without ``validation=``), an extra metric is there by its name
(``history["f1"]``, ``history.f1``), and an unknown name raises, listing what was recorded;
``history.epoch`` holds the epoch numbers 1, 2, …; ``history.initial`` the same quantities
before the first update (epoch 0). :meth:`History.plot` draws them with matplotlib.
"""

from __future__ import annotations

import math
from typing import Any, Iterator, Optional, Sequence

__all__ = ["History", "PLOTS_EXTRA_HINT"]

PLOTS_EXTRA_HINT = "History.plot() needs matplotlib: pip install 'backproplab[plots]' (or pip install matplotlib)"
_BUILTIN = ("loss", "accuracy", "val_loss", "val_accuracy")


class History:
    """Per-epoch records of one :func:`nn.fit` run: ``history["loss"]`` / ``history.loss`` per epoch,
    ``initial`` before training, :meth:`plot`.

    Attributes besides ``history``/``epoch``/``initial``: ``extra`` (what callbacks record,
    by name), ``stopped`` (why training ended: "epochs", "tol", "target_loss",
    "diverged", "callback"), ``steps`` (parameter updates made), ``engine`` and
    ``array_loop`` (how the updates ran).
    """

    def __init__(self, engine: str = "") -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.initial: dict[str, float] = {}
        self.extra: dict[str, list] = {}
        self.stopped = ""
        self.steps = 0
        self.engine = engine
        self.array_loop = False  # True when the updates ran on flat arrays (nn.fastpath)

    # ------------------------------------------------------------- recording
    def record(self, epoch: int, logs: dict[str, Optional[float]]) -> None:
        """Store ``logs`` (name -> value) measured after ``epoch`` epochs; epoch 0 goes to
        :attr:`initial`. Values that are None (not measured) are left out."""
        logs = {k: float(v) for k, v in logs.items() if v is not None}
        if epoch == 0:
            self.initial = logs
            return
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)

    def previous(self, name: str) -> float:
        """The value of ``name`` one epoch before the last one recorded (``initial`` for epoch 1)."""
        values = self.history[name]
        return values[-2] if len(values) > 1 else self.initial[name]

    # ---------------------------------------------------------------- reading
    def __getitem__(self, name: str) -> list[float]:
        """The per-epoch list of ``name`` (``[]`` for a built-in quantity not measured)."""
        if name in self.history:
            return self.history[name]
        if name in _BUILTIN:
            return []
        raise KeyError(self._unknown(name))

    def __getattr__(self, name: str) -> list[float]:
        """``history.f1`` is ``history["f1"]`` for an extra metric recorded under that name."""
        recorded = self.__dict__.get("history")
        if recorded is not None and name in recorded:
            return recorded[name]
        raise AttributeError(self._unknown(name) if recorded is not None else name)

    def _unknown(self, name: str) -> str:
        import difflib
        close = difflib.get_close_matches(name, list(self.history) + list(_BUILTIN), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return (f"History has no {name!r}{hint} It has {', '.join(self.history) or 'nothing yet'}"
                " (val_loss / val_accuracy need fit(validation=(X_val, Y_val)))")

    def __contains__(self, name: object) -> bool:
        return name in self.history

    def __iter__(self) -> Iterator[str]:
        return iter(self.history)

    def __len__(self) -> int:
        """Epochs recorded."""
        return len(self.epoch)

    def keys(self):
        """The names recorded, as ``history.history.keys()``."""
        return self.history.keys()

    @property
    def loss(self) -> list[float]:
        """E_avg on the training set after each epoch."""
        return self["loss"]

    @property
    def accuracy(self) -> list[float]:
        """Training accuracy after each epoch (``[]`` when not measured)."""
        return self["accuracy"]

    @property
    def val_loss(self) -> list[float]:
        """Validation loss after each epoch (``[]`` without ``fit(validation=...)``)."""
        return self["val_loss"]

    @property
    def val_accuracy(self) -> list[float]:
        """Validation accuracy after each epoch (``[]`` when not measured)."""
        return self["val_accuracy"]

    @property
    def metrics(self) -> dict[str, list[float]]:
        """The extra metrics (those given to ``fit(metrics=...)`` as functions), by name."""
        return {k: v for k, v in self.history.items() if k not in _BUILTIN}

    @property
    def final_loss(self) -> float:
        """The last training loss recorded (the initial one when no epoch ran)."""
        return self.loss[-1] if self.loss else self.initial["loss"]

    def as_dict(self) -> dict[str, Any]:
        """Everything recorded, as plain dicts and lists (JSON-serialisable)."""
        return {"history": {k: list(v) for k, v in self.history.items()}, "epoch": list(self.epoch),
                "initial": dict(self.initial), "extra": self.extra, "stopped": self.stopped,
                "steps": self.steps, "engine": self.engine, "array_loop": self.array_loop}

    def __repr__(self) -> str:
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"<History: {len(self)} epochs{', ' + last if last else ''}, stopped={self.stopped!r}>"

    # --------------------------------------------------------------- plotting
    def plot(self, names: Optional[Sequence[str]] = None, *, ax: Any = None, logy: Optional[bool] = None):
        """Plot the recorded quantities against the epoch with matplotlib; returns the Axes.

        ``names`` (default: everything recorded): losses share one axis and accuracies a
        second one beside it (a list of two Axes is returned then). ``logy`` puts the
        losses on a log axis (default: when they span more than two decades). ``ax``: draw
        into these Axes (one, or one per group) instead of a new figure. The epoch-0 value
        (before training) is drawn as the first point when it was measured.
        """
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError(PLOTS_EXTRA_HINT) from None
        names = list(names) if names is not None else list(self.history)
        unknown = [n for n in names if n not in self.history]
        if unknown:
            raise KeyError(f"History.plot: nothing recorded for {', '.join(unknown)}; "
                           f"recorded: {', '.join(self.history) or 'nothing'}")
        groups = [g for g in ([n for n in names if "accuracy" not in n], [n for n in names if "accuracy" in n]) if g]
        if not groups:
            raise ValueError("History.plot: nothing to plot (no epochs recorded)")
        if ax is None:
            fig, axes = plt.subplots(1, len(groups), figsize=(5.2 * len(groups), 3.6), squeeze=False,
                                     layout="constrained")
            axes = list(axes[0])
        else:
            axes = list(ax) if isinstance(ax, (list, tuple)) or getattr(ax, "ndim", 0) else [ax]
            if len(axes) != len(groups):
                raise ValueError(f"History.plot: got {len(axes)} Axes for {len(groups)} groups of curves "
                                 f"({' / '.join(', '.join(g) for g in groups)})")
        for axis, group in zip(axes, groups):
            for name in group:
                xs, ys = list(self.epoch), list(self.history[name])
                if name in self.initial:
                    xs, ys = [0, *xs], [self.initial[name], *ys]
                axis.plot(xs, ys, label=name.replace("_", " "), marker="o" if len(xs) < 30 else None,
                          markersize=3)
            axis.set_xlabel("epoch")
            is_acc = "accuracy" in group[0]
            axis.set_ylabel("accuracy" if is_acc else "loss")
            if not is_acc:
                finite = [v for n in group for v in self.history[n] if math.isfinite(v) and v > 0]
                wide = bool(finite) and max(finite) > 100 * min(finite)
                if (logy if logy is not None else wide) and finite:
                    axis.set_yscale("log")
            axis.grid(True, alpha=0.3)
            axis.legend(frameon=False)
        return axes[0] if len(axes) == 1 else axes
