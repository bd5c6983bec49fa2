"""A recorded backward pass: what every application of the chain rule did, as arrays.

``Trace(loss)`` runs backprop from ``loss`` exactly as :func:`autodiff.backward` does
(:func:`autodiff.backprop.run_pass`, the same code, in storage of its own: no ``.grad``
is read or written) and keeps, for the step-through debugger and anyone who wants to look:

* ``nodes``: the graph in topological order (:func:`autodiff.topological_order`, leaves
  included); a node's *position* is its index there (``position[node]``);
* one *step* per op node u, in backward order: ``step_node`` (u's position) and
  ``step_upstream`` (∂l/∂u as it flows on, after hooks); ``edge_start[s]`` is the first
  edge of step s;
* one *edge* per input a of u (operand order), in the order applied, the chain rule
  (seed 003)  ∂l/∂a += ∂l/∂u · ∂u/∂a:  ``edge_input`` (a's position), ``edge_operand``,
  ``local`` (∂u/∂a), ``product`` (∂l/∂u · ∂u/∂a), ``before``/``after`` (a's gradient of
  this pass before and after the ``+=``);
* ``final``: every node's gradient of this pass (0 where none arrived); ``error``: the
  ``FloatingPointError`` or ``OverflowError`` that ``backward()`` raises on this graph,
  or ``None``.

The arrays are numpy arrays marked read-only; the Trace never changes once built. A
node's gradient after any number of edges is :meth:`Trace.gradient`. :meth:`Trace.apply`
is ``backward()``: it raises ``backward()``'s error, or writes the gradients once (an op
node's ``.grad`` set, a leaf's added to, under :data:`autodiff.backprop.GRADIENT_LOCK`).
Hooks run once, while the Trace is recorded.

>>> from autodiff import Value
>>> w = Value(3.0, "w", param=True)
>>> t = Trace(w * w + w)
>>> [float(x) for x in t.local], float(t.final[t.position[w]])
([1.0, 1.0, 3.0, 3.0], 7.0)
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Iterator, Mapping, Optional, Sequence

import numpy as np

from .staleness import check_graph
from .backprop import (EdgeStep, NodeStep, Recording, check_gradients, run_pass, topological_order,
                       write_gradients)
from .engine import core
from .value import Value

__all__ = ["Trace", "chain_rule"]


def _frozen(values: Sequence, dtype) -> np.ndarray:
    array = np.array(values, dtype=dtype)
    array.flags.writeable = False
    return array


class Trace:
    """The backward pass from ``root``, recorded (see the module doc)."""

    def __init__(self, root: Value, order: Optional[list[Value]] = None) -> None:
        if not isinstance(root, Value):
            raise TypeError(f"Trace needs the loss Value, got {type(root).__name__}: {root!r}")
        check_graph(root, "backward (recorded)")  # StaleGraphError, as backward() raises
        self.root = root
        self.error: Optional[ArithmeticError] = None
        self._grads: Optional[Mapping[Value, float]] = None
        self._into: Optional[tuple[np.ndarray, np.ndarray]] = None
        recorded = core.record(root) if core is not None and order is None else NotImplemented
        if recorded is NotImplemented:
            self._record_in_python(root, order)
        else:   # the C core's recording: the same numbers, bit for bit (tests/test_engine_backward.py)
            nodes, *arrays = recorded
            self.nodes = tuple(nodes)
            (self.step_node, self.step_upstream, self.edge_start, self.edge_input, self.edge_operand,
             self.local, self.product, self.before, self.after, self.final) = (
                np.frombuffer(a, dtype=np.intp if k in (0, 2, 3, 4) else float) for k, a in enumerate(arrays))
            self.hooked_from: Mapping[int, float] = MappingProxyType({})
            self.leaf_hooks: tuple[tuple[int, int, float, float], ...] = ()
        self.position: Mapping[Value, int] = MappingProxyType({v: i for i, v in enumerate(self.nodes)})
        self.edge_step = _frozen(np.repeat(np.arange(len(self.step_node)), np.diff(self.edge_start)), np.intp)
        self.edge_node = _frozen(self.step_node[self.edge_step], np.intp)
        self.upstream = _frozen(self.step_upstream[self.edge_step], float)
        step_of = np.full(len(self.nodes), -1, dtype=np.intp)
        step_of[self.step_node] = np.arange(len(self.step_node))
        self.step_of = _frozen(step_of, np.intp)

    def _record_in_python(self, root: Value, order: Optional[list[Value]]) -> None:
        """:func:`autodiff.backprop.run_pass` with ``record``, and backward()'s check."""
        order = list(order) if order is not None else topological_order(root)
        position = {v: i for i, v in enumerate(order)}
        record = Recording()
        grads, bound = run_pass(root, order, record, position)
        if bound - bound != 0.0:   # what backward() checks, it checks here
            try:
                check_gradients(order, grads)
            except (FloatingPointError, OverflowError) as exc:
                self.error = exc
        self.nodes = tuple(order)
        self._grads = MappingProxyType(grads)
        self.step_node = _frozen(record.step_node, np.intp)
        self.step_upstream = _frozen(record.step_upstream, float)
        self.hooked_from = MappingProxyType(record.hooked_from)
        self.edge_start = _frozen(record.edge_start or [0], np.intp)
        self.edge_input = _frozen(record.edge_input, np.intp)
        self.edge_operand = _frozen(record.edge_operand, np.intp)
        self.local = _frozen(record.local, float)
        self.product = _frozen(record.product, float)
        self.before = _frozen(record.before, float)
        self.after = _frozen(record.after, float)
        self.leaf_hooks = tuple(record.leaf_hooks)
        final = np.zeros(len(order))
        for v, g in grads.items():
            final[position[v]] = g
        self.final = _frozen(final, float)

    @property
    def grads(self) -> Mapping[Value, float]:
        """Every node reached → its gradient of this pass (what :meth:`apply` writes)."""
        if self._grads is None:
            self._grads = MappingProxyType(dict(zip(self.nodes, self.final.tolist())))
        return self._grads

    # ------------------------------------------------------------------ sizes
    @property
    def n_steps(self) -> int:
        """The number of steps (op nodes)."""
        return len(self.step_node)

    @property
    def n_edges(self) -> int:
        """The number of edges (applications of the chain rule)."""
        return len(self.edge_input)

    def __repr__(self) -> str:
        error = f", raises {type(self.error).__name__}" if self.error else ""
        return f"<Trace of {len(self.nodes)} nodes: {self.n_steps} steps, {self.n_edges} edges{error}>"

    # ------------------------------------------------------------------ queries
    def edge(self, node: int, operand: int) -> int:
        """The edge index of operand ``operand`` of the op node at position ``node``."""
        s = int(self.step_of[node])
        if s < 0:
            raise KeyError(f"position {node} is a leaf: it has no input edges")
        return int(self.edge_start[s]) + operand

    def local_of(self, node: int, operand: int) -> float:
        """∂u/∂a for the operand ``operand`` of the op node at position ``node``."""
        return float(self.local[self.edge(node, operand)])

    def edges_into(self, node: int) -> np.ndarray:
        """The edges that add into the node at position ``node``, in the order applied."""
        if self._into is None:
            by_input = np.argsort(self.edge_input, kind="stable")
            starts = np.searchsorted(self.edge_input[by_input], np.arange(len(self.nodes) + 1))
            self._into = (by_input, starts)
        by_input, starts = self._into
        return by_input[starts[node]:starts[node + 1]]

    def gradient(self, node: int, edges: Optional[int] = None) -> float:
        """∂l/∂node of this pass once the first ``edges`` edges are applied (all of them by
        default): the root's is 1 from the start (a hook on it: its value once its first
        edge is applied), an op node's becomes what a hook made of it once its own first
        edge is applied, a hooked leaf's once its last contribution is."""
        if edges is None or edges >= self.n_edges:
            return float(self.final[node])
        s = int(self.step_of[node])
        if s >= 0 and s in self.hooked_from and edges > self.edge_start[s]:
            return float(self.step_upstream[s])
        into = self.edges_into(node)
        k = int(np.searchsorted(into, edges))   # edges into node among the first ``edges``
        if k == 0:
            return 1.0 if self.nodes[node] is self.root else 0.0
        if k == len(into) and node in {j for _, j, _, _ in self.leaf_hooks}:
            return float(self.final[node])
        return float(self.after[into[k - 1]])

    # ------------------------------------------------------------------ applying
    def apply(self) -> None:
        """Exactly ``root.backward()``, without running the pass again (nor the hooks): raise
        its ``FloatingPointError``/``OverflowError`` (writing nothing), or write the
        gradients into ``.grad`` once (op nodes set, leaves added to)."""
        if self.error is not None:
            raise type(self.error)(*self.error.args)
        write_gradients(dict(self.grads))

    def node_steps(self) -> Iterator[NodeStep]:
        """The pass as :class:`autodiff.NodeStep` objects (one per op node, backward order)."""
        nodes = self.nodes
        for s in range(self.n_steps):
            node = nodes[self.step_node[s]]
            upstream = float(self.step_upstream[s])
            edges = [EdgeStep(node, nodes[self.edge_input[e]], int(self.edge_operand[e]), upstream,
                              float(self.local[e]), float(self.product[e]), float(self.before[e]),
                              float(self.after[e]))
                     for e in range(self.edge_start[s], self.edge_start[s + 1])]
            yield NodeStep(node, upstream, edges, self.hooked_from.get(s))


def chain_rule(root: Value, record: bool = False,
               order: Optional[list[Value]] = None) -> Iterator[NodeStep]:
    """Backprop from ``root``, yielding a :class:`NodeStep` per op node if ``record``.

    Without ``record`` it is ``backward()`` (yielding nothing; pass ``order``, from
    :func:`topological_order` with leaves, to reuse one). With ``record`` it records a
    :class:`Trace`, writes its gradients into ``.grad`` as ``backward()`` would but
    without raising on a NaN or overflow (the steps carry the NaN, so the debugger and
    gradcheck can show where it comes from), then yields the steps.
    """
    if not record:
        check_graph(root)
        if order is None:
            order = topological_order(root, leaves=Value.leaf_hooks > 0)
        grads, bound = run_pass(root, order)
        if bound - bound != 0.0:
            check_gradients(order, grads)
        write_gradients(grads)
        return
    trace = Trace(root, order)
    write_gradients(dict(trace.grads))
    yield from trace.node_steps()

