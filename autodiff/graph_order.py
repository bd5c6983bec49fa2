"""The order of a graph's nodes: each after its operands.

Works on any node with an ``inputs`` tuple (a :class:`autodiff.Value`); imports nothing of
the engine, so that every module may use it (value.py for copying and pickling, the
staleness check, backward).
"""

from __future__ import annotations

from operator import attrgetter
from typing import TYPE_CHECKING, Iterator

if TYPE_CHECKING:  # for the annotations only
    from .value import Value

__all__ = ["topological_order"]

_inputs = attrgetter("inputs")


def topological_order(root: Value, leaves: bool = True) -> list[Value]:
    """All nodes of ``root``'s graph, each after its inputs, root last.

    Iterative depth-first search (no recursion, so any depth works): each stack entry
    holds a node and the iterator over its remaining inputs; a node is emitted once all
    its inputs are. Leaves are emitted when first seen, or skipped with ``leaves=False``
    (what backward uses: most edges of a neural network end in a leaf, and filtering them
    out in C keeps the Python loop to the edges between op nodes).
    """
    if not root.inputs:
        return [root]
    operands = iter if leaves else _op_inputs
    order: list[Value] = []
    emit = order.append
    seen = {root}  # Values hash by identity
    mark = seen.add
    stack = [(root, operands(root.inputs))]
    push = stack.append
    while stack:
        node, pending = stack[-1]
        for inp in pending:
            if inp in seen:
                continue
            mark(inp)
            if inp.inputs:
                push((inp, operands(inp.inputs)))
                break
            emit(inp)  # a leaf (only reached when leaves=True)
        else:
            stack.pop()
            emit(node)
    return order


def _op_inputs(inputs: tuple[Value, ...]) -> Iterator[Value]:
    """The inputs that are op nodes (not leaves)."""
    return filter(_inputs, inputs)
