"""How error messages name a node: ``node 'w1' [parameter, data=0.15]``.

Reads only a node's public fields, and imports nothing of the engine, so that every module
may name nodes (value.py, backward, the staleness check, the compiler).
"""

from __future__ import annotations

from typing import Any

__all__ = ["describe"]


def describe(v: Any) -> str:
    """A short, human description of a node (a :class:`autodiff.Value`) for error messages."""
    name = f"'{v.label}'" if v.label else "(unlabelled)"
    what = f"op {v.op}" if v.op else ("parameter" if v.param else "leaf")
    return f"node {name} [{what}, data={v.data!r}]"
