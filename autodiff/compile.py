"""Compiled graphs: trace a scalar graph once, replay it vectorised over a mini-batch.

>>> xs = [Value(0.0, f"x{i}") for i in range(784)]; ys = [Value(0.0, f"y{j}") for j in range(10)]
>>> loss = nn.losses.cross_entropy(model(xs), ys)
>>> tape = compile(loss, inputs=xs + ys)      # parameters = the leaves with param=True
>>> per_sample = tape.forward(batch)           # batch (B, 794) -> losses (B,)
>>> tape.backward(reduction="mean")            # adds ∂(mean loss)/∂p into every p.grad

What it computes. For a graph with root C(x; θ) the tape evaluates every node for the B
samples of a batch at once, then runs the chain rule of seed 003 backwards over the same
nodes, ∂C/∂a += ∂C/∂u · ∂u/∂a, with the batch as a second array axis. The parameter
gradient is reduced over the batch: ``"mean"`` gives ∂/∂θ (1/B Σ_b C_b) — the mini-batch
gradient (1/m) Σ_x ∇C_x of the lectures' SGD — and ``"sum"`` gives ∂/∂θ Σ_b C_b. Values and
gradients equal the eager engine's, run sample by sample, to rounding (tested to 1e-12).

Leaves. Listed ``inputs`` take the columns of the batch, in order. Leaves with
``param=True`` are the parameters. They live in one :class:`autodiff.ParameterStore`
(``tape.store``; compiling binds parameters that are in none yet, in the tape's own
layout): the tape reads θ from the store's vector and :meth:`Tape.backward` adds its
gradient into the store's ``grad``, with no pass over the Values, and every parameter's
``.data`` / ``.grad`` shows those numbers. ``tape.param_data`` is the θ the tape computes
with: a view of the store's vector when the tape's layout is a run of the store (always,
when the tape made the store), else a copy gathered at every ``forward(sync=True)``
(pass ``sync=False`` in a loop that updates ``param_data`` itself, and call
:meth:`Tape.write_params` at the end). Every other leaf is a **constant**: its ``data`` is
read at compile time and again by :meth:`Tape.sync` (i.e. at every forward with
``sync=True``); it gets no gradient.

How it runs (DESIGN.md, lessons 4–5). The graph is traced once (:func:`plan`) into integer
arrays: nodes are grouped by (topological level, op, attr), and each group runs as a few
numpy gathers, one ufunc and scatter-adds over the ``(rows, B)`` value array. ``dot`` nodes of
one level that read the same input vector with distinct parameter weights become one
*matmul block*: their weights are laid out contiguously in ``param_data`` so that W is a
view, and the whole layer is Z = W X + b over the batch (this is what makes an MLP step as
fast as PyTorch's). ``sum``, ``max`` and ``softmax`` are lowered with ``np.add.reduceat``,
argmax masks and one softmax per distinct input tuple. Inspect the result with
:meth:`Tape.plan` / :meth:`Tape.describe`.

Batch-invariant parts. Nodes that read no input (an L2 penalty Σ w², products of
parameters) have the same value for every sample: they run once per batch on a single
column, their values are broadcast to the nodes that read them, and the gradients flowing
back into them are summed over the batch first. For such nodes (and the nodes they read)
only the batch-reduced gradient exists, so :meth:`Tape.grad_of` refuses them.

When it pays (bench/bench_chain.py, bench/RESULTS.md). Every group costs a fixed few µs of
numpy calls, forward plus backward, however narrow it is; eager costs a few µs per node
*per sample*. On a width-1 chain h ← tanh(w·h + b) (3 levels per layer, depths 3 to 300)
the tape loses at B = 1 (0.2–0.6× eager's speed), roughly breaks even to wins 3× at B = 10,
and wins 17–38× at B = 100: compile deep narrow graphs only to run batches of more than a
few samples. Wide graphs pay at any batch size: an MLP(784, [30, 10]) training step through
the public loop (forward, ``nn.SGD.zero_grad``, backward, ``step``) runs at 0.7–1.3× PyTorch's
time at B = 1–1000 (bench/bench_mnist_step.py); micrograd's demo step runs ≥ 4,000× faster
than micrograd 0.1.0. Compiling itself costs ~13–16 µs per node, from 1k to 100k nodes
(bench/bench_compile_cost.py).

Errors. The batch is checked by :func:`autodiff.validate.batch`, as ``Value()`` checks a
number: a cell that is not a real number (``None``, a string, a bool, a ``Decimal``, a
complex number) is a ``TypeError`` naming its row and column (and the input's label), an int
too large for a float an ``OverflowError``, a ragged batch, a masked entry or the wrong width a
``ValueError``. A parameter or constant whose ``.data`` changed between ``forward`` and
``backward`` raises :class:`autodiff.StaleGraphError` (:mod:`autodiff.staleness`), as eager
``backward()`` does. A tape is run by one thread at a time (a second one entering raises
``RuntimeError``), and refuses pickling with a ``TypeError`` (compile again after loading). The tape raises exactly where the eager engine would: when a value or a
parameter gradient is not finite, the samples concerned are rebuilt as eager graphs
(:meth:`Tape._replay`, only on that rare path) and the eager checks decide — a NaN made from
non-NaN operands, an overflow from finite ones, a NaN gradient (0·∞, ∞−∞) or one that
overflows from finite numbers raise, naming the node and the sample; NaN or ±inf that comes
from the inputs, and infinite limits such as d√x/dx at 0, pass as in eager. On top of that,
the tape raises when the sum over the batch itself overflows or makes a NaN. Nothing is then
added to ``.grad``. The tape computes no gradient for inputs and constants, so a NaN that
only an input's or a constant's gradient would hold raises in eager ``backward()`` only.
"""

from __future__ import annotations

import gc
import math
import threading
from contextlib import contextmanager
from collections import defaultdict
from operator import attrgetter
from typing import Any, Iterable, Iterator, Optional, Sequence

import numpy as np

from .backprop import topological_order
from .params import ParameterStore, store_of
from .compile_kernels import (DotKernel, Elementwise, MatmulBlock, MaxKernel, SoftmaxKernel,
                              SumKernel, as_index)
from . import staleness, validate
from .value import Value, apply, describe

__all__ = ["compile", "Tape"]

_get_data = attrgetter("data")


def compile(root: Value, inputs: Sequence[Value], *,  # noqa: A001 - autodiff.compile
            outputs: Sequence[Value] = ()) -> "Tape":
    """Trace ``root``'s graph once into a :class:`Tape` that replays it over batches.

    ``inputs``: the placeholder leaves, in the column order of the batches to come. Leaves
    with ``param=True`` are parameters; any other leaf is a constant (module docstring).
    ``outputs``: further nodes to evaluate at every forward although ``root`` may not read
    them (e.g. a model's outputs when the loss reads the logits); their gradient is 0.
    """
    if not isinstance(root, Value):
        raise TypeError(f"compile(root): expected a Value, got {type(root).__name__}: {root!r}")
    inputs = list(inputs)
    seen: dict[int, int] = {}
    for i, v in enumerate(inputs):
        if not isinstance(v, Value):
            raise TypeError(f"compile(inputs): item {i} is {type(v).__name__}, not a Value")
        if not v.is_leaf:
            raise ValueError(f"compile(inputs): item {i} is {describe(v)}, not a leaf; inputs must be leaves")
        if v.param:
            raise ValueError(f"compile(inputs): item {i} is {describe(v)}, a parameter; "
                             "an input cannot also be a parameter")
        if id(v) in seen:
            raise ValueError(f"compile(inputs): {describe(v)} is listed twice (items {seen[id(v)]} and {i})")
        seen[id(v)] = i
    for i, v in enumerate(outputs):
        if not isinstance(v, Value):
            raise TypeError(f"compile(outputs): item {i} is {type(v).__name__}, not a Value")
    return Tape(root, inputs, list(outputs))


class Tape:
    """A traced graph: ``forward(batch)``, ``backward(reduction)``, node inspection.

    Public attributes: ``inputs`` (list of Values), ``params`` (list of Values, in the
    order of ``param_data``), ``store`` (the :class:`ParameterStore` holding them),
    ``param_data`` (ndarray (P,), the parameter values the tape computes with),
    ``param_grad`` (ndarray (P,), the reduced gradient of the last :meth:`backward`),
    ``batch_size`` (B of the last forward).
    """

    def __init__(self, root: Value, inputs: list[Value], outputs: Optional[list[Value]] = None) -> None:
        self.root, self.inputs, self.outputs = root, inputs, outputs or []
        self._input_pos = {id(v): i for i, v in enumerate(inputs)}
        collecting = gc.isenabled()
        gc.disable()  # planning allocates O(nodes) small objects that live on: collector passes
        try:          # over them made compiling superlinear (25 µs/node at 100k vs 15 at 1k)
            _Planner(self).build()
        finally:
            if collecting:
                gc.enable()
        if self.params:
            self.store, self._store_index = store_of(self.params, "compile")
        else:
            self.store, self._store_index = ParameterStore([]), slice(0, 0)
        if isinstance(self._store_index, slice):  # θ is a view: nothing to gather or write back
            self.param_data = self.store.data[self._store_index]
        else:
            self.param_data = np.zeros(len(self.params))
        self.param_grad = np.zeros(len(self.params))
        self.batch_size = 0
        self._lock = threading.Lock()
        self._seen: Optional[tuple] = None  # θ and constants as forward used them, kept at a write
        self._checked_at = 0  # the write clock when the last backward checked them
        self._V = self._G = None
        self._forward_done = self._backward_done = False
        self.sync()

    # ------------------------------------------------------------------ running
    def sync(self) -> None:
        """Re-read parameter values (from the store) and constants (from their Values' ``data``)."""
        self.store.vector_current()
        if not isinstance(self._store_index, slice):
            np.take(self.store.data, self._store_index, out=self.param_data)
        self._const_data = np.fromiter(map(_get_data, self._consts), float, len(self._consts))
        if self._V is not None:
            self._V[self._const_rows] = self._const_data[:, None]

    def write_params(self) -> None:
        """Make ``param_data`` (changed in place by the caller) what the parameters hold."""
        if isinstance(self._store_index, slice):  # a view: the store's vector already holds it
            self.store.vector_current(read_values=False)
        else:
            self.store.vector_current()
            self.store.data[self._store_index] = self.param_data

    def forward(self, batch: Any, *, sync: bool = True) -> np.ndarray:
        """Evaluate the graph for each row of ``batch`` (shape (B, n_inputs)); return C_b, (B,).

        ``sync=True`` first re-reads parameters and constants from their Values.
        A 1-D batch of length n_inputs is one sample.
        """
        with self._in_use("forward"):
            return self._forward(batch, sync)

    def _forward(self, batch: Any, sync: bool) -> np.ndarray:
        X = validate.batch(batch, "tape.forward(batch)", len(self.inputs),
                           names=[v.label for v in self.inputs])
        staleness.unwatch(self)
        self._seen, self._checked_at = None, -1
        B = X.shape[0]
        if B != self.batch_size:
            self._allocate(B)
        if sync:
            self.sync()
        V, theta = self._V, self.param_data
        self._X = X
        V[self._in_rows] = X[:, self._in_rows].T  # input i has row i; blocks read X itself
        for rows, pos, cols in self._prow:
            V[rows, cols] = theta[pos][:, None]
        with np.errstate(all="ignore"):
            V1 = self._V1
            for k in self._inv_kernels:
                k.forward(V1, theta, X)
            if self._frontier is not None:
                V[self._frontier] = V1[self._frontier]
            for k in self._var_kernels:
                k.forward(V, theta, X)
            total = float(V[self._op_rows].sum())  # inf/NaN anywhere makes the sum non-finite
        if not math.isfinite(total):
            self._raise_non_finite()  # returns if the sum merely overflowed
        self._forward_done, self._backward_done = True, False
        staleness.watch(self)  # a write before backward: keep the numbers computed with
        return V[self._root_row].copy()

    def _before_data_write(self) -> None:
        """Called (autodiff.staleness) before a Value's data or a parameter vector may change
        while this tape awaits its backward: keep the parameters and constants it used."""
        if self._seen is None:
            self._seen = (self.param_data.copy(), self._const_data.copy())
        staleness.unwatch(self)

    def _check_unchanged(self) -> None:
        """StaleGraphError when a parameter or constant changed since :meth:`forward`. After
        a first backward the tape stops watching (no copy in a training loop's optimizer
        step); a second backward with no forward in between then refuses any write since."""
        if self._seen is None:
            if self._checked_at >= 0 and staleness.CLOCK[0] != self._checked_at:
                raise staleness.StaleGraphError(
                    "tape.backward: data was written since the last tape.backward (e.g. an optimizer "
                    "step); run tape.forward again before another backward")
            staleness.unwatch(self)
            self._checked_at = staleness.CLOCK[0]
            return
        theta, consts = self._seen
        for values, used in ((self.params, theta), (self._consts, consts)):
            for v, old in zip(values, used.tolist()):
                now = v.data
                if now != old and not (now != now and old != old):
                    raise staleness.StaleGraphError(
                        f"tape.backward: {describe(v)} held {old!r} when tape.forward computed with it "
                        f"and holds {now!r} now; a Value's .data was assigned between forward and backward "
                        "(as PyTorch's 'modified by an inplace operation'): run tape.forward again after "
                        "changing data, or change it only after backward")
        staleness.unwatch(self)
        self._seen, self._checked_at = None, staleness.CLOCK[0]

    @contextmanager
    def _in_use(self, what: str) -> Iterator[None]:
        """One thread at a time: the tape's arrays are its working memory, so a second thread
        entering forward/backward while another is inside would mix two batches."""
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(f"tape.{what}: this tape is being run by another thread right now; a tape "
                               "is not thread-safe (its arrays hold one batch): compile one tape per "
                               "thread, or guard the tape with a lock")
        try:
            yield
        finally:
            self._lock.release()

    def __reduce__(self):
        raise TypeError("a compiled Tape cannot be pickled (it holds kernels built for this process); "
                        "pickle the graph or the model and call autodiff.compile again after loading")

    def backward(self, reduction: str = "mean", *, accumulate: bool = True) -> np.ndarray:
        """Backprop the last forward's losses; return ∂(reduced loss)/∂θ as ``param_grad``.

        ``reduction``: ``"mean"`` (1/B Σ_b C_b) or ``"sum"``. With ``accumulate=True`` the
        gradient is also *added* into the store's ``grad`` (what each parameter's
        ``.grad`` shows; as eager ``backward()`` accumulates into leaves); ``False`` leaves
        it alone.
        """
        if reduction not in ("mean", "sum"):
            raise ValueError(f"tape.backward(reduction): 'mean' or 'sum', got {reduction!r}")
        if not self._forward_done:
            raise RuntimeError("tape.backward: call tape.forward(batch) first")
        with self._in_use("backward"):
            self._check_unchanged()
            return self._backward(reduction, accumulate)

    def _backward(self, reduction: str, accumulate: bool) -> np.ndarray:
        V, G, theta, gtheta = self._V, self._G, self.param_data, self.param_grad
        for rows, cols in self._zero:  # only rows that kernels accumulate into
            G[rows, cols] = 0.0
        gtheta.fill(0.0)
        G[self._root_row] = 1.0
        with np.errstate(all="ignore"):
            for k in self._var_backward:
                k.backward(V, G, theta, gtheta)
            if self._frontier is not None:
                self._G_frontier = G[self._frontier].copy()  # per-sample, kept for grad_of
                G[self._frontier, :1] = self._G_frontier.sum(axis=1, keepdims=True)
            V1, G1 = self._V1, G[:, :1]
            for k in self._inv_backward:
                k.backward(V1, G1, theta, gtheta)
        for rows, pos, cols in self._prow:
            gtheta[pos] += G[rows, cols].sum(axis=1)
        if reduction == "mean":
            gtheta *= 1.0 / self.batch_size
        self._backward_done = True
        with np.errstate(invalid="ignore", over="ignore"):  # +inf + −inf: the check below says
            finite = math.isfinite(float(gtheta.sum()))
        if not finite:
            self._check_gradients()
        if accumulate:
            self.store.grad[self._store_index] += gtheta
        return gtheta

    # --------------------------------------------------------------- inspection
    def value_of(self, node: Value) -> np.ndarray:
        """The node's value for each sample of the last batch, shape (B,)."""
        self._need(self._forward_done, "value_of", "forward")
        return self._value(node)

    def param_index(self, params: Iterable[Value]) -> np.ndarray:
        """Positions of ``params`` in ``param_data`` / ``param_grad`` (for array-level updates)."""
        params = list(params)
        try:
            return np.array([self._theta_pos[id(p)] for p in params], dtype=np.intp)
        except KeyError:
            bad = next(p for p in params if id(p) not in self._theta_pos)
            raise KeyError(f"param_index: {describe(bad)} is not a parameter of this tape") from None

    def values_of(self, nodes: Sequence[Value]) -> np.ndarray:
        """Several nodes' values for the last batch as a (B, len(nodes)) array."""
        self._need(self._forward_done, "values_of", "forward")
        rows = [self._row.get(id(v)) for v in nodes]
        if all(r is not None and v._op is not None and (id(v) not in self._invariant or id(v) in self._frontier_ids)
               for r, v in zip(rows, nodes)):  # rows valid on every column
            return self._V[rows].T.copy()
        return np.stack([self._value(v) for v in nodes], axis=1)

    def _value(self, node: Value) -> np.ndarray:
        if id(node) in self._input_pos:  # not every input is copied into a row
            return self._X[:, self._input_pos[id(node)]].copy()
        if id(node) in self._theta_pos:
            return np.full(self.batch_size, self.param_data[self._theta_pos[id(node)]])
        row = self._row.get(id(node))
        if row is not None:
            if id(node) in self._invariant and id(node) not in self._frontier_ids:  # column 0 only
                return np.full(self.batch_size, self._V[row, 0])
            return self._V[row].copy()
        raise KeyError(f"value_of: {describe(node)} is not in the compiled graph")

    def grad_of(self, node: Value) -> np.ndarray:
        """∂C_b/∂node for each sample b of the last backward (unreduced), shape (B,).

        Only nodes that depend on a parameter carry gradients (inputs and constants do not);
        for a parameter this is its per-sample gradient, summed over all its uses.
        """
        self._need(self._backward_done, "grad_of", "backward")
        key = id(node)
        if key not in self._row and key not in self._theta_pos:
            raise KeyError(f"grad_of: {describe(node)} is not in the compiled graph")
        if key not in self._in_root:
            return np.zeros(self.batch_size)  # only outputs read it: the root does not depend on it
        if key not in self._needs_grad:
            raise ValueError(f"grad_of: {describe(node)} depends on no parameter; the tape "
                             "computes no gradient for it")
        if key in self._summed_only:
            raise ValueError(f"grad_of: {describe(node)} feeds a batch-invariant part of the graph (one "
                             "that reads no input), which the tape runs once per batch: only the "
                             "batch-reduced gradient is kept (param_grad / .grad)")
        if key in self._frontier_ids:
            return self._G_frontier[self._frontier_ids[key]].copy()
        g = self._G[self._row[key]].copy() if key in self._row else np.zeros(self.batch_size)
        for block, i, j in self._block_uses.get(key, ()):  # weight (i, j) or bias (i, -1) of a block
            gz = self._G[block.out][i]
            g += gz if j < 0 else gz * block.X[j]
        return g

    def plan(self) -> list[dict]:
        """One dict per kernel, in execution order: kind, op, level, nodes, shapes, and whether
        it is batch-invariant (run once per batch, on one column)."""
        out = []
        n_inv = len(self._inv_kernels)
        for i, (k, level) in enumerate(zip(self._kernels, self._levels)):
            d = {"kind": k.kind, "level": level, "nodes": len(k.nodes), "batch_invariant": i < n_inv}
            if k.kind == "elementwise":
                d["op"] = k.op.name
                if k.attr is not None:
                    d["attr"] = k.attr
            if k.kind == "matmul":
                d["shape"] = (k.k, k.n)
                d["bias"] = "param" if k.bsl is not None else ("rows" if k.brows is not None else None)
            out.append(d)
        return out

    def describe(self) -> str:
        """A readable summary of the plan (one line per kernel)."""
        lines = [f"Tape: {len(self.inputs)} inputs, {len(self.params)} parameters, "
                 f"{len(self._consts)} constants, {self._n_ops} op nodes in {len(self._kernels)} kernels"]
        for d in self.plan():
            extra = d.get("op", "") + (f"[{d['attr']}]" if "attr" in d else "")
            if d["kind"] == "matmul":
                extra = f"W{d['shape']} bias={d['bias']}"
            once = "  (once per batch)" if d["batch_invariant"] else ""
            lines.append(f"  level {d['level']:>3}  {d['kind']:<11} {d['nodes']:>5} nodes  {extra}{once}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Tape({len(self.inputs)} inputs, {len(self.params)} params, {self._n_ops} op nodes, "
                f"{len(self._kernels)} kernels)")

    # ---------------------------------------------------------------- internals
    def _need(self, done: bool, what: str, call: str) -> None:
        if not done:
            raise RuntimeError(f"tape.{what}: call tape.{call}(...) first")

    def _allocate(self, B: int) -> None:
        self._V = np.zeros((self._n_rows, B))
        self._G = np.zeros((self._n_rows, B))
        self._V1 = self._V[:, :1]
        self._V[self._const_rows] = self._const_data[:, None]
        self.batch_size = B
        self._forward_done = self._backward_done = False

    def _replay(self, b: int) -> dict[int, Value]:
        """Sample ``b`` of the last batch rebuilt as an eager graph (id of a tape node → its
        copy): the eager engine's own checks then decide what is an error, so the tape
        raises exactly when eager construction or ``backward()`` would."""
        copies: dict[int, Value] = {}
        X, theta = self._X, self.param_data
        for v in self._order:
            key = id(v)
            if v._op is None:
                if key in self._input_pos:
                    data = X[b, self._input_pos[key]]
                elif key in self._theta_pos:
                    data = theta[self._theta_pos[key]]
                else:
                    data = v.data
                c = Value(float(data), v.label, param=v.param)
            else:
                c = apply(v._op, tuple(copies[id(a)] for a in v.inputs), v.attr)
                c.label = v.label
            copies[key] = c
        return copies

    def _replay_or_raise(self, b: int, what: str) -> dict[int, Value]:
        try:
            return self._replay(b)
        except (ArithmeticError, ValueError) as exc:
            raise type(exc)(f"{exc} (tape.{what}: sample {b} of the batch)") from None

    def _columns_not_finite(self, A: np.ndarray) -> list[int]:
        bad = ~np.isfinite(A).all(axis=0)
        if self._invariant:  # rows run once per batch hold their values in column 0
            bad[0] = True
        return [int(b) for b in np.flatnonzero(bad)]

    def _raise_non_finite(self) -> None:
        """A value is NaN or ±inf: raise as the eager engine would for that sample (a NaN made
        from non-NaN operands, an infinity from finite ones), or return when every non-finite
        value comes from a NaN or infinite input, as eager lets it through."""
        V = self._V
        for b in self._columns_not_finite(V[self._op_rows]):
            copies = self._replay_or_raise(b, "forward")
            for k in self._kernels:  # the tape's rounding may overflow where eager's does not
                rows = np.arange(self._n_rows)[k.out]
                col = 0 if id(k.nodes[0]) in self._invariant else b
                for node, r in zip(k.nodes, rows):
                    got = float(V[r, col])
                    if not math.isfinite(got) and math.isfinite(copies[id(node)].data):
                        kind = ValueError if got != got else OverflowError
                        raise kind(f"{node.op}: the result is {got!r} in sample {b} for {describe(node)} "
                                   f"(the eager engine gets {copies[id(node)].data!r}; the tape's rounding "
                                   "overflowed)")

    def _check_gradients(self) -> None:
        """A parameter gradient is NaN or ±inf: replay each sample whose gradients are not all
        finite eagerly and raise what eager ``backward()`` raises there (naming the node);
        otherwise raise when the sum over the batch itself made the NaN or the overflow.
        An infinity that eager accepts (a limit such as d√x/dx at 0) passes."""
        from .trace import Trace
        root_key = id(self.root)
        infinite: set[int] = set()
        for b in self._columns_not_finite(self._G):
            copies = self._replay_or_raise(b, "backward")
            try:   # eager backward()'s pass, recorded: its gradients even where it raises
                trace = Trace(copies[root_key])
            except (ArithmeticError, ValueError) as exc:
                raise type(exc)(f"tape.backward: {exc} (sample {b} of the batch)") from None
            grad = {id(p): trace.grads.get(copies[id(p)], 0.0) for p in self.params}
            if trace.error is not None:
                nan = [p for p in self.params if grad[id(p)] != grad[id(p)]]
                which = f"a NaN gradient for {describe(nan[0])}: " if nan else ""
                raise type(trace.error)(f"tape.backward: {which}{trace.error} (sample {b} of the batch)") from None
            infinite.update(id(p) for p in self.params if not math.isfinite(grad[id(p)]))
        for p, g in zip(self.params, self.param_grad.tolist()):
            if g != g:
                raise FloatingPointError(
                    f"tape.backward: a NaN gradient for {describe(p)} in the sum over the batch, although "
                    "no sample's eager gradient is NaN (per-sample gradients +inf and -inf cancel)")
            if not math.isfinite(g) and id(p) not in infinite:
                raise OverflowError(
                    f"tape.backward: the gradient of {describe(p)} overflows to {g!r} when summed over "
                    f"the batch of {self.batch_size} (each sample's is finite); lower the learning rate "
                    "or use reduction='mean'")


class _Planner:
    """Trace the graph and fill the tape's plan: rows, parameter layout, kernels."""

    def __init__(self, tape: Tape) -> None:
        self.t = tape

    def build(self) -> None:
        t = self.t
        order = topological_order(t.root)
        t._order = order  # appended to below; Tape._replay rebuilds a sample from it
        known = {id(v) for v in order}
        in_root = t._in_root = set(known)  # the root's own graph; nodes only outputs read come after
        for extra in t.outputs:  # appended after their inputs: still a topological order
            for v in topological_order(extra):
                if id(v) not in known:
                    known.add(id(v))
                    order.append(v)
        input_ids = {id(v) for v in t.inputs}
        level: dict[int, int] = {}
        needs: set[int] = set()
        variant: set[int] = set()  # nodes that depend on an input (the others are batch-invariant)
        params, consts, ops = [], [], []
        for v in order:
            key = id(v)
            if v._op is None:
                level[key] = 0
                if key in input_ids:
                    variant.add(key)
                    continue
                if v.param:
                    params.append(v)
                    needs.add(key)
                else:
                    consts.append(v)
                continue
            level[key] = 1 + max(level[id(a)] for a in v.inputs)
            if key in in_root and any(id(a) in needs for a in v.inputs):  # outputs only: gradient 0
                needs.add(key)
            if any(id(a) in variant for a in v.inputs):
                variant.add(key)
            ops.append(v)
        t._needs_grad = needs
        t._n_ops = len(ops)

        # group op nodes by (phase, level, op, attr / arity); phase 0 = batch-invariant nodes,
        # run first on one column; split dot groups into matmul blocks
        groups: dict[tuple, list[Value]] = defaultdict(list)
        for v in ops:
            name = v._op.name
            # phase: 0-1 batch-invariant, 2-3 variant; odd for nodes only outputs read, which run no
            # backward (never grouped with the root's nodes: their 0 gradient times an
            # infinite local derivative would make a NaN that eager never computes)
            phase = 2 * int(id(v) in variant) + (0 if id(v) in in_root else 1)
            if name in ("max", "softmax"):
                key = (phase, level[id(v)], name, len(v.inputs))
            elif name == "sum":       # one arity a group: the kernel adds left to right
                key = (phase, level[id(v)], name, len(v.inputs))
            elif name == "dot":
                key = (phase, level[id(v)], name, v.attr)
            else:
                key = (phase, level[id(v)], name, _attr_key(v.attr))
            groups[key].append(v)

        owner: set[int] = set()      # params whose theta slot belongs to a block
        blocks: list[tuple[list[Value], bool]] = []  # (nodes, bias owned by block)
        plan: list[tuple[tuple, str, Any, list[Value]]] = []
        for key in sorted(groups, key=lambda k: (k[0], k[1], k[2], str(k[3]))):
            lvl, name, attr = key[:2], key[2], key[3]
            nodes = groups[key]
            if name != "dot":
                plan.append((lvl, name, attr, nodes))
                continue
            rest = []
            for members, own_bias in _find_blocks(nodes, owner, input_ids):
                if members is None:
                    rest.extend(own_bias)
                    continue
                blocks.append((members, own_bias))
                plan.append((lvl, "matmul", len(blocks) - 1, members))
            if rest:
                plan.append((lvl, "dot", attr, rest))

        # parameter layout: block weights (row-major) then block biases, then the others
        theta_pos: dict[int, int] = {}
        layout: list[Value] = []
        block_pos = []
        for members, own_bias in blocks:
            wpos = len(layout)
            for v in members:
                n = len(v.inputs) // 2
                layout.extend(v.inputs[:n])
            bpos = None
            if own_bias:
                bpos = len(layout)
                layout.extend(v.inputs[-1] for v in members)
            block_pos.append((wpos, bpos))
        for v in layout:
            theta_pos[id(v)] = len(theta_pos)
        for p in params:
            if id(p) not in theta_pos:
                theta_pos[id(p)] = len(layout)
                layout.append(p)
        t.params, t._theta_pos = layout, theta_pos

        # leaves read through rows: inputs, then params (by theta position), then constants
        read_rows: set[int] = set()
        block_own_bias = {id(v): own for members, own in blocks for v in members}
        block_node_ids = set(block_own_bias)
        for v in ops:
            if id(v) in block_node_ids:  # weights (and an owned bias) come from theta
                n = len(v.inputs) // 2
                read_rows.update(id(x) for x in v.inputs[n:2 * n])
                if len(v.inputs) > 2 * n and not block_own_bias[id(v)]:
                    read_rows.add(id(v.inputs[-1]))
            else:
                read_rows.update(id(a) for a in v.inputs)
        read_rows.update(id(v) for v in [t.root, *t.outputs] if v._op is None)
        row: dict[int, int] = {id(v): i for i, v in enumerate(t.inputs)}
        # blocks whose x vector is a run of inputs in batch order read the batch directly
        direct: dict[int, slice] = {}
        for b, (members, _) in enumerate(blocks):
            n = len(members[0].inputs) // 2
            cols = [row.get(id(x), -1) for x in members[0].inputs[n:2 * n]]
            if cols[0] >= 0 and cols == list(range(cols[0], cols[0] + n)):
                direct[b] = slice(cols[0], cols[0] + n)
        rows_read_by_blocks = set()
        for b, (members, _) in enumerate(blocks):
            if b not in direct:
                n = len(members[0].inputs) // 2
                rows_read_by_blocks.update(id(x) for x in members[0].inputs[n:2 * n])
        other_readers = {id(a) for v in ops if id(v) not in block_node_ids for a in v.inputs}
        other_readers |= {id(v.inputs[-1]) for members, own in blocks if not own for v in members if v.attr}
        other_readers |= rows_read_by_blocks | {id(v) for v in [t.root, *t.outputs]}
        t._in_rows = as_index([i for i, v in enumerate(t.inputs) if id(v) in other_readers]) \
            if any(id(v) in other_readers for v in t.inputs) else slice(0, 0)
        self.direct = direct
        # parameter rows: those variant nodes read are filled on every column ("full"); those
        # only batch-invariant nodes read, on column 0 only
        variant_reads = {id(v) for v in [t.root, *t.outputs] if v._op is None}  # returned per sample
        for v in ops:
            if id(v) in variant:
                n = len(v.inputs) // 2
                variant_reads.update(id(a) for a in (v.inputs[n:] if id(v) in block_node_ids else v.inputs))
        row_params = sorted((p for p in params if id(p) in read_rows),
                            key=lambda p: (id(p) not in variant_reads, theta_pos[id(p)]))
        for p in row_params:
            row[id(p)] = len(row)
        t._prow = []
        for full in (True, False):
            ps = [p for p in row_params if (id(p) in variant_reads) == full]
            if ps:
                t._prow.append((as_index([row[id(p)] for p in ps]), as_index([theta_pos[id(p)] for p in ps]),
                                slice(None) if full else slice(0, 1)))
        t._consts = [c for c in consts if id(c) in read_rows]
        for c in t._consts:
            row[id(c)] = len(row)
        t._const_rows = as_index([row[id(c)] for c in t._consts]) if t._consts else slice(0, 0)
        first_op_row = len(row)

        # op rows, group by group; within a group, order nodes by their operands' rows
        kernels, levels = [], []
        for lvl, name, attr, nodes in plan:
            if name != "matmul":
                nodes = sorted(nodes, key=lambda v: tuple(row.get(id(a), -1) for a in v.inputs))
            out = list(range(len(row), len(row) + len(nodes)))
            for v, r in zip(nodes, out):
                row[id(v)] = r
            kernels.append(self._kernel(name, attr, nodes, out, row, needs, blocks, block_pos))
            levels.append(lvl)
        t._row = row
        t._n_rows = len(row)
        t._op_rows = slice(first_op_row, len(row))
        t._kernels, t._levels = kernels, [lv for _, lv in levels]
        n_inv = sum(1 for phase, _ in levels if phase < 2)
        t._inv_kernels, t._var_kernels = kernels[:n_inv], kernels[n_inv:]
        t._inv_backward = [k for k in reversed(t._inv_kernels) if any(id(v) in needs for v in k.nodes)]
        t._var_backward = [k for k in reversed(t._var_kernels) if any(id(v) in needs for v in k.nodes)]
        # invariant op nodes that variant nodes read (or that are root / outputs): broadcast
        # to every column after the invariant kernels; their gradients are summed over the
        # batch before the invariant kernels run backward
        read_by_variant = {id(a) for v in ops if id(v) in variant for a in v.inputs}
        frontier = [v for v in ops if id(v) not in variant
                    and (id(v) in read_by_variant or v is t.root or any(v is o for o in t.outputs))]
        frontier.sort(key=lambda v: row[id(v)])
        t._frontier = as_index([row[id(v)] for v in frontier]) if frontier else None
        t._frontier_ids = {id(v): i for i, v in enumerate(frontier)}
        t._invariant = {id(v) for v in ops if id(v) not in variant}
        # backward zeroes: variant op rows, frontier rows and full parameter rows on every
        # column; parameters read only by invariant nodes, constants and invariant op rows on
        # column 0 (input rows take contributions no one reads)
        first_var = min((_first_row(k.out) for k in t._var_kernels), default=len(row))
        t._zero = [(slice(int(first_var), len(row)), slice(None))]
        t._zero += [(rows, slice(None)) for rows, _, cols in t._prow if cols == slice(None)]
        if frontier:
            t._zero.append((t._frontier, slice(None)))
        t._zero.append((slice(len(t.inputs), int(first_var)), slice(0, 1)))
        # parameters read by invariant kernels: only their batch-summed gradient is kept
        # and so for every node an invariant node reads: its per-sample gradient is not kept
        read_by_invariant = {id(a) for v in ops if id(v) not in variant for a in v.inputs}
        t._summed_only = (t._invariant - t._frontier_ids.keys()) | read_by_invariant
        t._root_row = row[id(t.root)]
        uses: dict[int, list] = defaultdict(list)
        for k in kernels:
            if k.kind == "matmul":
                for i, v in enumerate(k.nodes):
                    for j, w in enumerate(v.inputs[:k.n]):
                        uses[id(w)].append((k, i, j))
                    if k.bsl is not None:
                        uses[id(v.inputs[-1])].append((k, i, -1))
        t._block_uses = dict(uses)

    def _kernel(self, name, attr, nodes, out, row, needs, blocks, block_pos):
        ins = [v.inputs for v in nodes]
        if name == "matmul":
            members, own_bias = blocks[attr]
            wpos, bpos = block_pos[attr]
            n = len(nodes[0].inputs) // 2
            xs = [row[id(x)] for x in nodes[0].inputs[n:2 * n]]
            has_bias = bool(nodes[0].attr)
            brows = None
            if has_bias and not own_bias:
                brows = [row[id(v.inputs[-1])] for v in nodes]
            need_x = any(id(x) in needs for x in nodes[0].inputs[n:2 * n])
            need_b = has_bias and any(id(v.inputs[-1]) in needs for v in nodes)
            return MatmulBlock(nodes, out, wpos, n, xs, bpos, brows, need_x, need_b, self.direct.get(attr))
        if name == "sum":
            flat = [row[id(a)] for a_s in ins for a in a_s]
            return SumKernel(nodes, out, flat, [len(a) for a in ins],
                             any(id(a) in needs for a_s in ins for a in a_s))
        if name == "dot":
            w, x, b, ar = [], [], [], []
            for a_s in ins:
                n = len(a_s) // 2
                w += [row[id(a)] for a in a_s[:n]]
                x += [row[id(a)] for a in a_s[n:2 * n]]
                ar.append(n)
                if attr:
                    b.append(row[id(a_s[-1])])
            need = tuple(any(id(a) in needs for a_s in ins for a in part(a_s))
                         for part in (lambda s: s[:len(s) // 2],
                                      lambda s: s[len(s) // 2:2 * (len(s) // 2)],
                                      lambda s: s[2 * (len(s) // 2):]))
            return DotKernel(nodes, out, w, x, ar, b if attr else None, need)
        if name == "max":
            flat = [row[id(a)] for a_s in ins for a in a_s]
            return MaxKernel(nodes, out, flat, len(ins[0]),
                             any(id(a) in needs for a_s in ins for a in a_s))
        if name == "softmax":
            tuples: dict[tuple, int] = {}
            tuple_of = []
            for a_s in ins:
                key = tuple(id(a) for a in a_s)
                tuple_of.append(tuples.setdefault(key, len(tuples)))
            firsts = {}
            for v, j in zip(nodes, tuple_of):
                firsts.setdefault(j, v.inputs)
            flat = [row[id(a)] for j in range(len(tuples)) for a in firsts[j]]
            return SoftmaxKernel(nodes, out, flat, len(ins[0]), tuple_of, [v.attr for v in nodes],
                                 any(id(a) in needs for a_s in ins for a in a_s))
        op = nodes[0]._op
        if op.array_forward is None:
            raise NotImplementedError(f"compile: op {name!r} has no array form ({describe(nodes[0])})")
        arity = len(ins[0])
        slots = [[row[id(a_s[i])] for a_s in ins] for i in range(arity)]
        grad_slots = [any(id(a_s[i]) in needs for a_s in ins) for i in range(arity)]
        return Elementwise(op, nodes[0].attr, nodes, out, slots, grad_slots)


def _first_row(index: Any) -> int:
    """The first row of a kernel's output index (a slice or an intp array)."""
    return index.start if isinstance(index, slice) else int(index[0])


def _attr_key(attr: Any) -> Any:
    """A hashable, exact key for an op attribute (floats compared bit for bit)."""
    return attr if attr is None or isinstance(attr, (int, bool)) else float(attr).hex()


def _find_blocks(nodes: list[Value], owner: set[int], input_ids: set[int]) -> Iterable[tuple]:
    """Split one level's ``dot`` nodes (same has_bias) into matmul blocks.

    A block = dot nodes reading the same x tuple whose weights are parameters, distinct
    within and across the block and not owned by an earlier block. Yields
    ``(members, bias_owned)`` per block and ``(None, leftovers)`` for the others. The bias
    is owned by the block (a view of theta) when every member's bias is a distinct,
    unowned parameter that is not also one of the block's weights.
    """
    by_x: dict[tuple, list[Value]] = defaultdict(list)
    for v in nodes:
        n = len(v.inputs) // 2
        by_x[tuple(id(x) for x in v.inputs[n:2 * n])].append(v)
    leftovers = []
    for group in by_x.values():
        members, taken = [], set()
        for v in group:
            n = len(v.inputs) // 2
            ws = v.inputs[:n]
            ids = {id(w) for w in ws}
            if (len(ids) == n and all(w.param and w.is_leaf for w in ws)
                    and not ids & owner and not ids & taken and not ids & input_ids):
                members.append(v)
                taken |= ids
            else:
                leftovers.append(v)
        if not members:
            continue
        owner |= taken
        own_bias = bool(members[0].attr)
        if own_bias:
            bs = [v.inputs[-1] for v in members]
            bids = {id(b) for b in bs}
            own_bias = (len(bids) == len(bs) and all(b.param and b.is_leaf for b in bs)
                        and not bids & owner)
            if own_bias:
                owner |= bids
        yield members, own_bias
    if leftovers:
        yield None, leftovers
