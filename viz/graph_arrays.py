"""The scalar graph as integer arrays, for the collapsed levels (:mod:`viz.collapse`).

A network's graph has one edge per weight: ``nn.MLP(784, [30, 10])`` on one sample is
25,000 nodes and 48,000 edges, nearly all from a leaf into a ``dot``. Walking them as
Python objects (``v.inputs``, ``id()``, dicts of tuples) costs hundreds of times a
``backward()``; as arrays of positions in the topological order ``order`` the same
questions are a few numpy calls.

* :class:`GraphArrays`: every edge ``a → v`` (operand ``k``) as ``src[e]``, ``dst[e]``,
  ``operand[e]`` (positions in ``order``), in *forward order*: ``dst`` ascending, each
  node's operands in operand order, the order in which ``for v in order: for k, a in
  enumerate(v.inputs)`` meets them. Made from a recorded :class:`autodiff.Trace` (its
  edges reordered, no Python walk) or from ``order``.
* :class:`ScalarEdges`: the scalar edges ``(input, node, operand index)`` a drawn edge
  stands for, a read-only sequence over the arrays (tuples made when read).
* :func:`forward_positions`: every node's index in :func:`viz.naming.forward_order`
  (Python's evaluation order), by a walk over the op nodes only; the leaves an op node
  reads are numbered a run at a time.
"""

from __future__ import annotations

from typing import Iterator, Optional, Sequence, Union, overload

import numpy as np

from autodiff import Trace, Value

__all__ = ["GraphArrays", "ScalarEdges", "forward_positions"]


class GraphArrays:
    """The edges of the graph of ``order`` as arrays in forward order (see the module doc).

    ``start[i]:start[i + 1]`` are node i's input edges; ``is_op[i]``: node i was made by
    an op (it has inputs)."""

    def __init__(self, order: Sequence[Value], trace: Optional[Trace] = None) -> None:
        n = len(order)
        self.n = n
        if trace is not None and len(trace.nodes) == n and trace.n_steps and trace.nodes[-1] is order[-1]:
            # the Trace's steps are op nodes in backward order, each with its operands in
            # order: put the steps in forward order, keeping each step's edges together
            steps = np.argsort(trace.step_node, kind="stable")
            sizes = np.diff(trace.edge_start)[steps]
            firsts = trace.edge_start[:-1][steps]
            begins = np.cumsum(sizes) - sizes
            perm = np.arange(trace.n_edges) + np.repeat(firsts - begins, sizes)
            self.src = trace.edge_input[perm]
            self.dst = trace.edge_node[perm]
            self.operand = trace.edge_operand[perm]
            index = None
        else:
            index = {id(v): i for i, v in enumerate(order)}
            get = index.__getitem__
            src: list[int] = []
            dst: list[int] = []
            operand: list[int] = []
            for i, v in enumerate(order):
                inputs = v.inputs
                if inputs:
                    src += map(get, map(id, inputs))
                    dst += [i] * len(inputs)
                    operand += range(len(inputs))
            self.src = np.array(src, dtype=np.intp)
            self.dst = np.array(dst, dtype=np.intp)
            self.operand = np.array(operand, dtype=np.intp)
        self.start = np.searchsorted(self.dst, np.arange(n + 1))
        self.is_op = np.zeros(n, dtype=bool)
        self.is_op[self.dst] = True
        self._index = index

    def position(self, order: Sequence[Value], v: Value) -> int:
        """The position of ``v`` in ``order`` (a dict made once, when first needed)."""
        if self._index is None:
            self._index = {id(x): i for i, x in enumerate(order)}
        return self._index[id(v)]


class ScalarEdges(Sequence):
    """The scalar edges ``(input, node, operand index)`` one drawn edge stands for, in
    forward order; ``inputs``, ``nodes``, ``operands``: the same as arrays (positions in
    ``order``). A tuple is made only for the edges read."""

    def __init__(self, order: Sequence[Value], inputs: np.ndarray, nodes: np.ndarray,
                 operands: np.ndarray) -> None:
        self.order = order
        self.inputs, self.nodes, self.operands = inputs, nodes, operands

    def __len__(self) -> int:
        return len(self.inputs)

    @overload
    def __getitem__(self, i: int) -> tuple[Value, Value, int]: ...
    @overload
    def __getitem__(self, i: slice) -> tuple: ...

    def __getitem__(self, i: Union[int, slice]):
        if isinstance(i, slice):
            return tuple(self)[i]
        return (self.order[int(self.inputs[i])], self.order[int(self.nodes[i])], int(self.operands[i]))

    def __iter__(self) -> Iterator[tuple[Value, Value, int]]:
        get = self.order.__getitem__
        return zip(map(get, self.inputs.tolist()), map(get, self.nodes.tolist()), self.operands.tolist())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ScalarEdges):
            other = tuple(other)
        return isinstance(other, (tuple, list)) and tuple(self) == tuple(other)

    def __repr__(self) -> str:
        return f"ScalarEdges({len(self)} edges)"


def forward_positions(arrays: GraphArrays, root: int) -> np.ndarray:
    """Every node's index in :func:`viz.naming.forward_order` (-1 for none): the
    post-order of a depth-first walk from ``root`` that visits the operands of a node
    first-operand-first, each node once. A leaf is numbered when first met; the op
    nodes are walked one by one, the leaves between two op operands as one run."""
    n, src, start, is_op = arrays.n, arrays.src, arrays.start, arrays.is_op
    pos = np.full(n, -1, dtype=np.intp)
    if not is_op[root]:
        pos[root] = 0
        return pos
    leaf_seen = np.zeros(n, dtype=bool)
    # per op node, its op operands: (edge position, operand node), in operand order
    op_edges = np.flatnonzero(is_op[src])
    inner: dict[int, list[tuple[int, int]]] = {}
    for e, a, v in zip(op_edges.tolist(), src[op_edges].tolist(), arrays.dst[op_edges].tolist()):
        inner.setdefault(v, []).append((e, a))
    starts = start.tolist()
    counter = 0
    met = 0                       # leaves numbered so far
    op_seen = {root}
    stack = [[root, starts[root], 0]]   # node, next edge, next of its op operands
    while stack:
        top = stack[-1]
        v, e, j = top
        ops = inner.get(v, ())
        stop = ops[j][0] if j < len(ops) else starts[v + 1]
        if stop - e > 8:   # a run of leaves, first met first
            run = src[e:stop]
            fresh = run[~leaf_seen[run]]
            leaf_seen[fresh] = True
            now = int(np.count_nonzero(leaf_seen))
            if now - met < len(fresh):   # a leaf twice in the run: its first place counts
                _, first = np.unique(fresh, return_index=True)
                fresh = fresh[np.sort(first)]
            met = now
            pos[fresh] = np.arange(counter, counter + len(fresh))
            counter += len(fresh)
        elif stop > e:
            for x in src[e:stop].tolist():
                if not leaf_seen[x]:
                    leaf_seen[x] = True
                    pos[x] = counter
                    counter += 1
                    met += 1
        if j < len(ops):
            a = ops[j][1]
            top[1], top[2] = stop + 1, j + 1
            if a not in op_seen:
                op_seen.add(a)
                stack.append([a, starts[a], 0])
            continue
        pos[v] = counter
        counter += 1
        stack.pop()
    return pos
