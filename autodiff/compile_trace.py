"""Phase 1 of planning a compiled graph (:mod:`autodiff.compile_plan`): the trace.

The nodes of the root's graph (and of the extra outputs) in topological order, with each
node's level (1 + the largest level of its inputs, leaves 0), whether it depends on a batch
input (*variant*), and whether the root's gradient reaches a parameter through it
(*needs_grad*). The later phases and the fusion patterns (:mod:`autodiff.compile_fuse`) read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from .graph_order import topological_order
from .ops import OPS, Op
from .describe import describe
from .value import Value

__all__ = ["Trace", "trace"]


@dataclass(frozen=True)
class Trace:
    """The graph as sets of node ids. ``order``: the root's graph in topological order, then
    the nodes only ``outputs`` read (still topological). ``ops`` keeps ``order``'s order."""

    root: Value
    inputs: tuple[Value, ...]
    outputs: tuple[Value, ...]
    order: tuple[Value, ...]
    in_root: frozenset[int]
    level: dict[int, int]
    needs_grad: frozenset[int]
    variant: frozenset[int]
    params: tuple[Value, ...]
    consts: tuple[Value, ...]
    ops: tuple[Value, ...]
    op_of: dict[int, Op]


def _op_entry(v: Value) -> Op:
    op = OPS.get(v.op)
    if op is None:
        raise NotImplementedError(f"compile: op {v.op!r} is not in the op table ({describe(v)})")
    return op


def trace(root: Value, inputs: Sequence[Value], outputs: Sequence[Value]) -> Trace:
    """Phase 1: order the nodes; level, variance and need of a gradient of each."""
    order = topological_order(root)
    known = set(map(id, order))
    in_root = frozenset(known)
    for extra in outputs:  # appended after their inputs: still a topological order
        for v in topological_order(extra):
            if id(v) not in known:
                known.add(id(v))
                order.append(v)
    input_ids = set(map(id, inputs))
    level: dict[int, int] = {}
    needs: set[int] = set()
    variant: set[int] = set()  # nodes that depend on an input (the others are batch-invariant)
    params, consts, ops = [], [], []
    op_of: dict[int, Op] = {}
    level_of = level.__getitem__
    for v in order:
        key = id(v)
        ins = v.inputs
        if v.hooks:
            raise NotImplementedError(
                f"compile: {describe(v)} has a hook (register_hook); a compiled tape does not run "
                "hooks, so its gradients would differ from backward()'s: remove the hook (call the "
                "function register_hook returned) before compiling, or use eager backward()")
        if not ins:  # a leaf (an op node has at least one input)
            level[key] = 0
            if key in input_ids:
                variant.add(key)
            elif v.param:
                params.append(v)
                needs.add(key)
            else:
                consts.append(v)
            continue
        ids = list(map(id, ins))
        level[key] = 1 + max(map(level_of, ids))
        if not needs.isdisjoint(ids) and key in in_root:  # outputs only: gradient 0
            needs.add(key)
        if not variant.isdisjoint(ids):
            variant.add(key)
        op_of[key] = _op_entry(v)
        ops.append(v)
    return Trace(root, tuple(inputs), tuple(outputs), tuple(order), in_root, level, frozenset(needs),
                 frozenset(variant), tuple(params), tuple(consts), tuple(ops), op_of)
