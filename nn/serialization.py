"""Checkpoints: :func:`save` and :func:`load` for state dicts, as ``torch.save`` / ``torch.load``.

The route (the one PyTorch users know)::

    nn.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 7}, "run.json")
    ...
    model = nn.MLP(2, [16, 16, 1], seed=0)            # built as before
    opt = nn.Adam(model, lr=0.01)
    checkpoint = nn.load("run.json")
    model.load_state_dict(checkpoint["model"])
    opt.load_state_dict(checkpoint["optimizer"])       # resumes bit for bit

The file is JSON (readable, diffable, and loading it runs no code, unlike a pickle). Python
floats are written with ``repr``, which round-trips every float64 exactly, NaN and ±inf
included; tuples come back as lists (``load_state_dict`` accepts either).
"""

from __future__ import annotations

import json
import os
from typing import Any, Union

__all__ = ["save", "load"]

PathLike = Union[str, "os.PathLike[str]"]
FORMAT = "backproplab-checkpoint"
VERSION = 1


def save(obj: Any, path: PathLike) -> None:
    """Write ``obj`` (dicts, lists, numbers, strings, ``None`` — e.g. state dicts) to ``path``
    as JSON. Raises ``TypeError`` naming the first entry that is not one of those."""
    _check_plain(obj, "obj")
    text = json.dumps({"format": FORMAT, "version": VERSION, "data": obj}, indent=1)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def load(path: PathLike) -> Any:
    """Read what :func:`save` wrote to ``path``."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"nn.load: no checkpoint at {os.fspath(path)!r}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"nn.load: {os.fspath(path)!r} is not a checkpoint written by nn.save "
                         f"(not JSON: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or "data" not in doc:
        raise ValueError(f"nn.load: {os.fspath(path)!r} is JSON but not a checkpoint written by nn.save")
    if doc.get("version") != VERSION:
        raise ValueError(f"nn.load: {os.fspath(path)!r} has checkpoint version {doc.get('version')!r}; "
                         f"this backproplab reads version {VERSION}")
    return doc["data"]


def _check_plain(obj: Any, where: str) -> None:
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str):
                raise TypeError(f"nn.save: {where} has a key {k!r} that is not a str")
            _check_plain(v, f"{where}[{k!r}]")
        return
    if isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            _check_plain(v, f"{where}[{i}]")
        return
    raise TypeError(f"nn.save: {where} is a {type(obj).__name__}, which a checkpoint cannot hold; save "
                    "state dicts (model.state_dict(), optimizer.state_dict()), numbers, strings, lists "
                    "and dicts")
