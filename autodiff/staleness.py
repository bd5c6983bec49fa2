"""Data changed between forward and backward: detected, as PyTorch detects it.

Backward differentiates the graph at the numbers it was built from. If a Value's ``data`` is
assigned after a node was computed from it (``w.data = 3`` between ``l = (w*x).tanh()*w``
and ``l.backward()``), the stored results no longer follow from the operands and the chain
rule would mix old and new numbers (the eager engine used to give 1.3916, the compiled tape
1.1816, for a true gradient at either point of neither). PyTorch refuses this with "one of
the variables needed for gradient computation has been modified by an inplace operation";
both engines here raise :class:`StaleGraphError` naming the node.

How, at no cost in a training loop:

* :data:`CLOCK` counts writes (``Value.data = …``, a parameter store's array handed out,
  an edit of ``.inputs``). Each op node stamps itself with the clock when it is made — the
  oldest stamp among its op operands, so a root carries the stamp of the oldest op node of
  its graph (``value.py``; the C core does the same in ``_ccore.c``).
* :func:`check_graph` (called by eager ``backward()`` and the stepper) returns at once when
  the clock has not moved past the root's stamp: nothing was written since the graph was
  built (the usual case: an optimizer writes after backward, the next forward builds a new
  graph). Otherwise it re-evaluates every op node's forward on its operands' current data
  and raises at the first node whose stored number differs (bit for bit; NaN equals NaN).
  A write that changes nothing, or that is undone before backward, is therefore no error.
* A compiled tape that ran ``forward`` and awaits ``backward`` :func:`watch` es the clock: at
  the first write it copies the numbers it computed with, and ``Tape.backward`` compares
  them with the parameters' and constants' current data.
"""

from __future__ import annotations

import weakref
from typing import Any

from .describe import describe
from .graph_order import topological_order

__all__ = ["CLOCK", "StaleGraphError", "data_written", "watch", "unwatch", "check_graph"]

CLOCK = [0]  # a list, so that value.py and the C core read and bump it in place

_WATCHERS: "weakref.WeakSet[Any]" = weakref.WeakSet()


class StaleGraphError(RuntimeError):
    """A node's operands changed after the node was computed from them (between forward and
    backward). Run the forward pass again after changing ``.data``."""


def data_written() -> None:
    """A Value's data (or a parameter vector) is about to change: advance the clock and let
    every tape awaiting its backward keep the numbers it computed with."""
    CLOCK[0] += 1
    if _WATCHERS:
        for tape in list(_WATCHERS):
            tape._before_data_write()


def watch(tape: Any) -> None:
    """``tape._before_data_write()`` will be called before the next write."""
    _WATCHERS.add(tape)


def unwatch(tape: Any) -> None:
    _WATCHERS.discard(tape)


def _same(a: float, b: float) -> bool:
    return a == b or (a != a and b != b)


def check_graph(root: Any, where: str = "backward") -> None:
    """Raise :class:`StaleGraphError` when a node of ``root``'s graph no longer equals its op
    applied to its operands' current data (module docstring). Free unless something was
    written since the graph's oldest op node was made."""
    stamp = root._stamp
    if CLOCK[0] <= stamp:  # nothing written since the oldest op node was made (leaves: +inf)
        return
    for node in topological_order(root, leaves=False):
        op = node._op
        xs = [v.data for v in node.inputs]
        try:
            now = op.forward(*xs, attr=node.attr)
        except (ArithmeticError, ValueError) as exc:
            now = f"an error ({exc})"
        if isinstance(now, str) or not _same(now, node.data):
            operands = ", ".join(describe(v) for v in node.inputs)
            raise StaleGraphError(
                f"{where}: {describe(node)} was computed from operands that have changed since (its "
                f"{op.name} of their current data is {now!r}, not {node.data!r}); operands: {operands}. "
                "A Value's .data was assigned between the forward pass and backward (as PyTorch's "
                "'modified by an inplace operation'): build the graph again after changing data, "
                "or change it only after backward")
    root._stamp = CLOCK[0]  # checked: consistent at this clock (the next check starts here)
