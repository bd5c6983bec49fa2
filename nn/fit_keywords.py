"""Keras' and PyTorch's keyword habits for :func:`nn.fit`.

``fit(validation_data=(X_val, Y_val))`` and ``fit(verbose=0)`` (Keras) are accepted as the
aliases of ``validation=`` and ``progress=`` (:func:`keras_aliases`); any other unknown
keyword raises a ``TypeError`` that names it and suggests the closest parameter
(:func:`suggest_keywords`, with a hint for the names other libraries use: ``learning_rate`` →
``lr``, ``nb_epoch`` → ``epochs``). The decorated function keeps its exact signature for type
checkers, so a mistyped keyword is also a static error.
"""

from __future__ import annotations

import difflib
import functools
import inspect
from typing import Any, Callable, Optional, ParamSpec, TypeVar

__all__ = ["HINTS", "suggest_keywords", "keras_aliases"]

P = ParamSpec("P")
R = TypeVar("R")

# names from other libraries that are not accepted, and what to use instead
HINTS = {"learning_rate": "lr", "nb_epoch": "epochs", "num_epochs": "epochs", "n_epochs": "epochs",
         "validation_split": "validation", "callback": "callbacks", "optim": "optimizer",
         "loss_fn": "loss", "criterion": "loss", "batchsize": "batch_size", "verbosity": "progress"}


def suggest_keywords(function: Callable[P, R]) -> Callable[P, R]:
    """Wrap ``function`` so that an unknown keyword argument raises ``TypeError`` naming it, the
    closest keyword (``did you mean``) and every keyword the function takes."""
    signature = inspect.signature(function)
    known = [p.name for p in signature.parameters.values()
             if p.kind is p.KEYWORD_ONLY and not p.name.startswith("_")]

    @functools.wraps(function)
    def checked(*args: P.args, **kwargs: P.kwargs) -> R:
        for key in kwargs:
            if key not in signature.parameters:
                suggestion = HINTS.get(key) or next(iter(difflib.get_close_matches(key, known, n=1)), None)
                hint = f"; did you mean {suggestion!r}?" if suggestion else ""
                raise TypeError(f"{function.__name__}() got an unexpected keyword argument {key!r}{hint} "
                                f"(its keywords: {', '.join(known)})")
        return function(*args, **kwargs)
    return checked


def keras_aliases(name: str, validation: Any, progress: Optional[bool], validation_data: Any,
                  verbose: Any) -> tuple[Any, Optional[bool]]:
    """``(validation, progress)`` once Keras' ``validation_data`` and ``verbose`` (0 silent,
    1 or 2 report) are folded in; giving both names of one thing is a ``TypeError``."""
    if validation_data is not None:
        if validation is not None:
            raise TypeError(f"{name}() got both validation_data= (the Keras name) and validation=; give one")
        validation = validation_data
    if verbose is not None:
        if progress is not None:
            raise TypeError(f"{name}() got both verbose= (the Keras name) and progress=; give one")
        progress = bool(verbose)
    return validation, progress
