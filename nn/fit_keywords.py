"""Keras' and PyTorch's keyword habits for :func:`nn.fit`.

``fit(validation_data=(X_val, Y_val))`` and ``fit(verbose=0)`` (Keras) are accepted as the
aliases of ``validation=`` and ``progress=``; any other unknown keyword raises a
``TypeError`` that names it and suggests the closest parameter (``did you mean``), with a
hint for the names other libraries use (``learning_rate`` → ``lr``, ``nb_epoch`` → ``epochs``).
"""

from __future__ import annotations

import difflib
import inspect
from typing import Any, Callable

__all__ = ["ALIASES", "HINTS", "resolve_keywords"]

# Keras name -> fit's name, with how the value translates
ALIASES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "validation_data": ("validation", lambda v: v),
    "verbose": ("progress", lambda v: bool(v)),  # Keras: 0 silent, 1/2 report
}
# names from other libraries that are not accepted, and what to use instead
HINTS = {"learning_rate": "lr", "nb_epoch": "epochs", "num_epochs": "epochs", "n_epochs": "epochs",
         "validation_split": "validation", "callback": "callbacks", "optim": "optimizer",
         "loss_fn": "loss", "criterion": "loss", "batchsize": "batch_size", "verbosity": "progress"}


def resolve_keywords(function: Callable, extra: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Translate the keywords ``function`` did not declare (``extra``) into its own parameters.

    ``given`` holds the current values of the parameters an alias could set (``None`` when
    the user left them out). Returns the parameters to override; raises ``TypeError`` for
    an unknown keyword or an alias given together with its own name."""
    name = function.__name__
    out: dict[str, Any] = {}
    for key, value in extra.items():
        if key in ALIASES:
            target, translate = ALIASES[key]
            if given.get(target) is not None:
                raise TypeError(f"{name}() got both {key}= (the Keras name) and {target}=; give one")
            out[target] = translate(value)
            continue
        known = [p.name for p in inspect.signature(function).parameters.values()
                 if p.kind is p.KEYWORD_ONLY and not p.name.startswith("_")]
        suggestion = HINTS.get(key) or next(iter(difflib.get_close_matches(key, known + list(ALIASES), n=1)), None)
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        raise TypeError(f"{name}() got an unexpected keyword argument {key!r}{hint} "
                        f"(its keywords: {', '.join(known)})")
    return out
