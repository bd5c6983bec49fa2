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

How it runs (DESIGN.md, lessons 4–5). The graph is planned once
(:func:`autodiff.compile_plan.build_plan`, four phases: trace, group, layout, schedule) into
a frozen :class:`~autodiff.compile_plan.Plan` (``tape.graph_plan``): nodes are grouped by
(topological level, op, the op's kernel attribute), and each group runs as one kernel of the
kind its op table entry names (``Op.kernel``, :data:`autodiff.compile_kernels.KERNEL_KINDS`):
a ufunc over the ``(rows, B)`` value array for elementwise ops, read and written as views
where the group's rows are consecutive (the planner lays rows out so that they are), with
scatter-adds where they are not. ``dot`` nodes of one level that read the same input vector
with distinct parameter weights become one *matmul block*: their weights are laid out
contiguously in ``param_data`` so that W is a view, and the whole layer is Z = W X + b over
the batch. ``sum``, ``max`` and ``softmax`` are lowered with cumulative sums, argmax masks
and one softmax per distinct input tuple; the per-output nodes of a binary cross-entropy
from the logits run as one fused kernel (:mod:`autodiff.compile_fuse`). Inspect the
result with :meth:`Tape.plan` / :meth:`Tape.describe`.

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
the public loop (forward, ``nn.SGD.zero_grad``, backward, ``step``) is measured against the
same step written by hand in numpy and against PyTorch at B = 1–1000
(bench/bench_mnist_step.py, bench/run_callgrind_mnist_step.sh); micrograd's demo step runs
≥ 4,000× faster than micrograd 0.1.0. Compiling itself costs ~3 µs per node on an MLP and 5–15 µs
per node on a deep chain, from 1k to 200k nodes, and the tape holds ~0.5–1.1 KB per node
(bench/bench_compile_cost.py).

Errors. The batch is checked by :func:`autodiff.validate.batch`, as ``Value()`` checks a
number: a cell that is not a real number (``None``, a string, a bool, a ``Decimal``, a
complex number) is a ``TypeError`` naming its row and column (and the input's label), an int
too large for a float an ``OverflowError``, a ragged batch, a masked entry or the wrong width a
``ValueError``. A parameter or constant whose ``.data`` changed between ``forward`` and
``backward`` raises :class:`autodiff.StaleGraphError` (:mod:`autodiff.staleness`), as eager
``backward()`` does. A tape is run by one thread at a time (a second one entering raises
``RuntimeError``, and so does a ``backward`` in another thread than the last ``forward``,
which would use that thread's batch); a graph holding a hook (:meth:`Value.register_hook`)
is refused by :func:`compile` with ``NotImplementedError`` (the tape runs no hooks; hooks
registered after compiling are not run either), and a tape refuses pickling with a ``TypeError`` (compile again after loading). The tape raises exactly where the eager engine would: when a value or a
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
from collections.abc import Sequence as SequenceABC
from contextlib import contextmanager
from operator import attrgetter, is_
from typing import Any, Iterable, Iterator, Optional, Sequence

import numpy as np

from .compile_kernels import bind
from .compile_plan import Plan, build_plan
from .params import ParameterStore, store_of
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
    for name, seq in (("inputs", inputs), ("outputs", outputs)):
        if isinstance(seq, (Value, str, bytes)) or not hasattr(seq, "__iter__"):
            raise TypeError(f"compile({name}): expected a list of Values (leaves for inputs), got "
                            f"{type(seq).__name__}: {seq!r}")
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


class _Labels(SequenceABC):
    """The inputs' labels as a sequence read on demand: the batch check names a column only
    when it refuses one, so a forward need not gather hundreds of labels every time."""

    __slots__ = ("_values",)

    def __init__(self, values: list[Value]) -> None:
        self._values = values

    def __len__(self) -> int:
        return len(self._values)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, slice):
            return [v.label for v in self._values[i]]
        return self._values[i].label


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Compiling allocates O(nodes) small objects that live on: the garbage collector's passes
    over them (triggered by allocations, each pass over every tracked object) would make
    compiling superlinear in the graph's size."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class Tape:
    """A traced graph: ``forward(batch)``, ``backward(reduction)``, node inspection.

    Public attributes: ``inputs`` (list of Values), ``params`` (list of Values, in the
    order of ``param_data``), ``store`` (the :class:`ParameterStore` holding them),
    ``param_data`` (ndarray (P,), the parameter values the tape computes with),
    ``param_grad`` (ndarray (P,), the reduced gradient of the last :meth:`backward`; after a
    backward that added into a zeroed gradient it is the store's ``grad`` array itself, so
    read it before changing the gradient, e.g. by clipping),
    ``batch_size`` (B of the last forward).
    """

    def __init__(self, root: Value, inputs: list[Value], outputs: Optional[list[Value]] = None) -> None:
        self.root, self.inputs, self.outputs = root, inputs, outputs or []
        self._input_pos = {id(v): i for i, v in enumerate(inputs)}
        with _collector_paused():
            plan = build_plan(root, inputs, self.outputs)
            params = list(plan.layout.params)
            self.store, self._store_index = store_of(params, "compile") if params else (ParameterStore([]),
                                                                                      slice(0, 0))
        self.graph_plan: Plan = plan
        self._tr, self._lay, self._sch = plan.trace, plan.layout, plan.schedule
        self._n_ops = len(plan.trace.ops)
        self.params = params
        if isinstance(self._store_index, slice):  # θ is a view: nothing to gather or write back
            self.param_data = self.store.data[self._store_index]
        else:
            self.param_data = np.zeros(len(self.params))
        # θ's gradient is computed into one of two arrays, never the one the store holds as
        # its grad (it takes the array of a backward into a zeroed gradient, no copy: params.py)
        whole = isinstance(self._store_index, slice) and len(self.params) == len(self.store)
        self._gbufs = [np.zeros(len(self.params)) for _ in range(2 if whole else 1)]
        self.param_grad = self._gbufs[0]
        self.batch_size = 0
        self._lock = threading.Lock()
        self._forward_thread = 0  # threading.get_ident() of the last forward
        self._labels = _Labels(inputs)  # the inputs' names, read only when a batch is refused
        self._seen: Optional[tuple] = None  # θ and constants as forward used them, kept at a write
        self._checked_at = 0  # the write clock when the last backward checked them
        self._V = self._G = None
        self._forward_done = self._backward_done = False
        self._inner: list = []  # fused kernels' inner_grads (bound per batch size)
        self._inner_ready = True
        self._seed = 1.0  # ∂C/∂C of the last backward (1/B for reduction="mean")
        self._const_objs: Optional[list] = None  # the constants' data objects sync last read
        self.sync()

    # ------------------------------------------------------------------ running
    def sync(self) -> None:
        """Re-read parameter values (from the store) and constants (from their Values' ``data``)."""
        self.store.vector_current()
        if not isinstance(self._store_index, slice):
            np.take(self.store.data, self._store_index, out=self.param_data)
        values = list(map(_get_data, self._lay.consts))
        if self._const_objs is not None and all(map(is_, values, self._const_objs)):
            return  # the very same float objects (immutable): nothing to copy
        self._const_objs = values
        self._const_data = np.fromiter(values, float, len(values))
        if self._V is not None:
            self._V[self._lay.const_rows] = self._const_data[:, None]

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
        self._enter("forward")
        try:
            return self._forward(batch, sync)
        finally:
            self._lock.release()

    def _forward(self, batch: Any, sync: bool) -> np.ndarray:
        X = validate.batch(batch, "tape.forward(batch)", len(self.inputs), names=self._labels)
        staleness.unwatch(self)
        self._seen, self._checked_at = None, -1
        B = X.shape[0]
        if B != self.batch_size:
            self._allocate(B)
        if sync:
            self.sync()
        V, theta = self._V, self.param_data
        self._X = X
        V[self._lay.in_rows] = X[:, self._lay.in_rows].T  # input i has row i; blocks read X itself
        for rows, pos, cols in self._lay.prow:
            V[rows, cols] = theta[pos][:, None]
        with np.errstate(all="ignore"):
            for k in self._run_inv:
                k.forward(theta, X)
            if self._sch.frontier is not None:
                V[self._sch.frontier] = self._V1[self._sch.frontier]
            for k in self._run_var:
                k.forward(theta, X)
            total = float(np.add.reduce(self._V_ops, axis=None))  # inf/NaN anywhere makes it non-finite
        if not math.isfinite(total):
            self._raise_non_finite()  # returns if the sum merely overflowed
        self._forward_done, self._backward_done = True, False
        self._forward_thread = threading.get_ident()
        staleness.watch(self)  # a write before backward: keep the numbers computed with
        return V[self._sch.root_row].copy()

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
        for values, used in ((self.params, theta), (self._lay.consts, consts)):
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

    def _enter(self, what: str) -> None:
        """One thread at a time: the tape's arrays are its working memory, so a second thread
        entering forward/backward while another is inside would mix two batches. The caller
        releases ``self._lock`` in a ``finally``."""
        if not self._lock.acquire(blocking=False):
            raise RuntimeError(f"tape.{what}: this tape is being run by another thread right now; a tape "
                               "is not thread-safe (its arrays hold one batch): compile one tape per "
                               "thread, or guard the tape with a lock")

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
        if not isinstance(accumulate, (bool, np.bool_)):
            raise TypeError(f"tape.backward(accumulate) must be True or False, got {accumulate!r}")
        if not self._forward_done:
            raise RuntimeError("tape.backward: call tape.forward(batch) first")
        self._enter("backward")
        try:
            if self._forward_thread != threading.get_ident():
                raise RuntimeError("tape.backward: the last tape.forward ran in another thread, so this "
                                   "backward would use that thread's batch; a tape is not thread-safe: "
                                   "compile one tape per thread, or run forward and backward of a batch "
                                   "in one thread under a lock")
            self._check_unchanged()
            return self._backward(reduction, accumulate)
        finally:
            self._lock.release()

    def _backward(self, reduction: str, accumulate: bool) -> np.ndarray:
        sch = self._sch
        gtheta = self._gbufs[0]
        if self.store.holds_grad(gtheta):
            gtheta = self._gbufs[1]
        self.param_grad = gtheta
        V, G, theta = self._V, self._G, self.param_data
        for rows, cols in sch.zero:  # only rows that kernels accumulate into
            G[rows, cols] = 0.0
        if sch.theta_unwritten is not None:  # block kernels overwrite their own slots
            gtheta[sch.theta_unwritten] = 0.0
        # the seed ∂C/∂C: 1 per sample, or 1/B for the mean, so that no pass over θ scales it
        self._seed = 1.0 / self.batch_size if reduction == "mean" else 1.0
        G[sch.root_row] = self._seed
        with np.errstate(all="ignore"):  # non-finite values: the check below decides
            for k in self._back_var:
                k.backward(theta, gtheta)
            if sch.frontier is not None:
                self._G_frontier = G[sch.frontier].copy()  # per-sample, kept for grad_of
                G[sch.frontier, :1] = self._G_frontier.sum(axis=1, keepdims=True)
            for k in self._back_inv:
                k.backward(theta, gtheta)
            for rows, pos, cols in self._lay.prow:
                gtheta[pos] += G[rows, cols].sum(axis=1)
            # gᵀg is a cheap screen (one BLAS pass): not finite when an entry is NaN or ±inf,
            # or merely above ~1e154, which the exact sum then clears
            finite = math.isfinite(float(np.dot(gtheta, gtheta))) or math.isfinite(float(gtheta.sum()))
        self._backward_done, self._inner_ready = True, not self._inner
        if not finite:
            self._check_gradients()
        if accumulate:
            self.store.add_grad(self._store_index, gtheta, adopt=len(self._gbufs) == 2)
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
            return np.array([self._lay.theta_pos[id(p)] for p in params], dtype=np.intp)
        except KeyError:
            bad = next(p for p in params if id(p) not in self._lay.theta_pos)
            raise KeyError(f"param_index: {describe(bad)} is not a parameter of this tape") from None

    def values_of(self, nodes: Sequence[Value]) -> np.ndarray:
        """Several nodes' values for the last batch as a (B, len(nodes)) array."""
        self._need(self._forward_done, "values_of", "forward")
        rows = [self._sch.row.get(id(v)) for v in nodes]
        if all(r is not None and not v.is_leaf
               and (id(v) not in self._sch.invariant or id(v) in self._sch.frontier_ids)
               for r, v in zip(rows, nodes)):  # rows valid on every column
            return self._V[rows].T.copy()
        return np.stack([self._value(v) for v in nodes], axis=1)

    def _value(self, node: Value) -> np.ndarray:
        if id(node) in self._input_pos:  # not every input is copied into a row
            return self._X[:, self._input_pos[id(node)]].copy()
        if id(node) in self._lay.theta_pos:
            return np.full(self.batch_size, self.param_data[self._lay.theta_pos[id(node)]])
        row = self._sch.row.get(id(node))
        if row is not None:
            if id(node) in self._sch.invariant and id(node) not in self._sch.frontier_ids:  # column 0 only
                return np.full(self.batch_size, self._V[row, 0])
            return self._V[row].copy()
        raise KeyError(f"value_of: {describe(node)} is not in the compiled graph")

    def grad_of(self, node: Value) -> np.ndarray:
        """∂C_b/∂node for each sample b of the last backward (unreduced), shape (B,).

        Only nodes that depend on a parameter carry gradients (inputs and constants do not);
        for a parameter this is its per-sample gradient, summed over all its uses.
        """
        self._need(self._backward_done, "grad_of", "backward")
        self._inner_grads()
        key = id(node)
        if key not in self._sch.row and key not in self._lay.theta_pos:
            raise KeyError(f"grad_of: {describe(node)} is not in the compiled graph")
        if key not in self._tr.in_root:
            return np.zeros(self.batch_size)  # only outputs read it: the root does not depend on it
        if key not in self._tr.needs_grad:
            raise ValueError(f"grad_of: {describe(node)} depends on no parameter; the tape "
                             "computes no gradient for it")
        if key in self._sch.summed_only:
            raise ValueError(f"grad_of: {describe(node)} feeds a batch-invariant part of the graph (one "
                             "that reads no input), which the tape runs once per batch: only the "
                             "batch-reduced gradient is kept (param_grad / .grad)")
        if key in self._sch.frontier_ids:
            return self._G_frontier[self._sch.frontier_ids[key]] / self._seed
        g = self._G[self._sch.row[key]].copy() if key in self._sch.row else np.zeros(self.batch_size)
        for block, i, j in self._sch.block_uses.get(key, ()):  # weight (i, j) or bias (i, -1) of a block
            gz = self._G[block.out][i]
            g += gz if j < 0 else gz * self._bound[id(block)].X[j]
        return g / self._seed  # the pass ran from the seed ∂C/∂C = 1/B under reduction="mean"

    def plan(self) -> list[dict]:
        """One dict per kernel, in execution order: kind, op, level, nodes, shapes, and whether
        it is batch-invariant (run once per batch, on one column)."""
        out = []
        n_inv = len(self._sch.inv_kernels)
        for i, (k, level) in enumerate(zip(self._sch.kernels, self._sch.levels)):
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
                 f"{len(self._lay.consts)} constants, {self._n_ops} op nodes in {len(self._sch.kernels)} kernels"]
        for d in self.plan():
            extra = d.get("op", "") + (f"[{d['attr']}]" if "attr" in d else "")
            if d["kind"] == "matmul":
                extra = f"W{d['shape']} bias={d['bias']}"
            once = "  (once per batch)" if d["batch_invariant"] else ""
            lines.append(f"  level {d['level']:>3}  {d['kind']:<11} {d['nodes']:>5} nodes  {extra}{once}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"Tape({len(self.inputs)} inputs, {len(self.params)} params, {self._n_ops} op nodes, "
                f"{len(self._sch.kernels)} kernels)")

    # ---------------------------------------------------------------- internals
    def _need(self, done: bool, what: str, call: str) -> None:
        if not done:
            raise RuntimeError(f"tape.{what}: call tape.{call}(...) first")

    def _allocate(self, B: int) -> None:
        self._V = np.zeros((self._sch.n_rows, B))
        self._G = np.zeros((self._sch.n_rows, B))
        self._V1 = self._V[:, :1]
        self._V_ops = self._V[self._sch.op_rows]
        self._V[self._lay.const_rows] = self._const_data[:, None]
        # the kernels bound to these arrays; batch-invariant ones run on column 0 only
        sch, theta, gbufs = self._sch, self.param_data, self._gbufs
        bound = {id(k): bind(k, self._V, self._G, theta, gbufs) for k in sch.var_kernels}
        bound.update((id(k), bind(k, self._V1, self._G[:, :1], theta, gbufs)) for k in sch.inv_kernels)
        self._bound = bound
        # fused kernels leave rows of their inner nodes' gradients for grad_of to ask for
        self._inner = [f for f in (getattr(b, "inner_grads", None) for b in bound.values()) if f is not None]
        self._inner_ready = True
        self._run_inv = [bound[id(k)] for k in sch.inv_kernels]
        self._run_var = [bound[id(k)] for k in sch.var_kernels]
        self._back_var = [bound[id(k)] for k in sch.var_backward]
        self._back_inv = [bound[id(k)] for k in sch.inv_backward]
        self.batch_size = B
        self._forward_done = self._backward_done = False

    def _inner_grads(self) -> None:
        """Have fused kernels write their inner nodes' gradient rows (once per backward)."""
        if not self._inner_ready:
            for fill in self._inner:
                fill()
            self._inner_ready = True

    def _replay(self, b: int) -> dict[int, Value]:
        """Sample ``b`` of the last batch rebuilt as an eager graph (id of a tape node → its
        copy): the eager engine's own checks then decide what is an error, so the tape
        raises exactly when eager construction or ``backward()`` would."""
        copies: dict[int, Value] = {}
        X, theta = self._X, self.param_data
        for v in self._tr.order:
            key = id(v)
            if v.is_leaf:
                if key in self._input_pos:
                    data = X[b, self._input_pos[key]]
                elif key in self._lay.theta_pos:
                    data = theta[self._lay.theta_pos[key]]
                else:
                    data = v.data
                c = Value(float(data), v.label, param=v.param)
            else:
                c = apply(self._tr.op_of[key], tuple(copies[id(a)] for a in v.inputs), v.attr)
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
        if self._sch.invariant:  # rows run once per batch hold their values in column 0
            bad[0] = True
        return [int(b) for b in np.flatnonzero(bad)]

    def _raise_non_finite(self) -> None:
        """A value is NaN or ±inf: raise as the eager engine would for that sample (a NaN made
        from non-NaN operands, an infinity from finite ones), or return when every non-finite
        value comes from a NaN or infinite input, as eager lets it through."""
        V = self._V
        for b in self._columns_not_finite(V[self._sch.op_rows]):
            copies = self._replay_or_raise(b, "forward")
            for k in self._sch.kernels:  # the tape's rounding may overflow where eager's does not
                rows = np.arange(self._sch.n_rows)[k.out]
                col = 0 if id(k.nodes[0]) in self._sch.invariant else b
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
        self._inner_grads()
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
