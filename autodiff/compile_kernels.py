"""Array kernels of the compiled path: one kernel runs one group of same-op nodes.

Storage (see :mod:`autodiff.compile`): ``V`` and ``G`` are ``(rows, B)`` float64 arrays,
one row per node that has a row (inputs, constants, parameters read by ordinary ops,
every op node), one column per sample; ``theta`` / ``gtheta`` are the ``(P,)`` parameter
values and their batch-summed gradients.

Each kernel implements, for its nodes u = f(a₁, …, aₙ) and every sample b at once,

* ``forward(V, theta, batch)``:   V[u] = f(V[a₁], …, V[aₙ])  (``batch`` (B, n_inputs) is read
  directly by matmul blocks whose input vector is a run of graph inputs)
* ``backward(V, G, theta, gtheta)``: the chain rule of seed 003,
  G[aᵢ] += G[u] · ∂f/∂aᵢ   (a scatter-add: several nodes may feed the same aᵢ)

Row indices are stored as a ``slice`` when they are consecutive (a view, no copy),
otherwise as an integer array (a numpy gather). Scatter-adds use plain ``G[idx] += C``
when the target rows are distinct, else sum duplicates with one ``np.add.reduceat``
over a precomputed sort (``np.add.at`` is avoided: it is an order of magnitude slower).

Kernels are part of the frozen plan and know nothing of a batch size. :func:`bind` makes,
for the arrays of one batch size, the object the tape calls — ``forward(theta, batch)`` /
``backward(theta, gtheta)``: for elementwise groups, matmul blocks and sums whose rows are
slices it holds views of V and G, so a call is one ufunc into a view (no gather, no
``V[idx] = …`` copy); the others run through :class:`Bound`, which passes V and G on.

:data:`KERNEL_KINDS` maps the kind an op table entry names (``Op.kernel``) to how its groups
are keyed and built: the planner never looks at an op's name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence, Union

import numpy as np

from .ops import Op

Index = Union[slice, np.ndarray]

__all__ = ["as_index", "first_row", "Scatter", "Bound", "bind", "mark_first_writes", "Elementwise", "SumKernel", "DotKernel", "MatmulBlock",
           "MaxKernel", "SoftmaxKernel", "LogisticLossKernel", "Kernel", "KernelKind", "KERNEL_KINDS"]


def as_index(rows: Sequence[int]) -> Index:
    """``rows`` as a slice when consecutive and increasing, else as an intp array.

    Checked in Python: most groups are small, and a numpy call costs more than the loop."""
    n = len(rows)
    if n < 2:
        return slice(rows[0], rows[0] + 1) if n else slice(0, 0)
    first = rows[0]
    if rows[n - 1] - first == n - 1 and (n == 2 or all(b - a == 1 for a, b in zip(rows, rows[1:]))):
        return slice(first, first + n)
    return np.asarray(rows, dtype=np.intp)


def first_row(index: Index) -> int:
    """The first row of a kernel's output index (a slice or an intp array)."""
    return index.start if isinstance(index, slice) else int(index[0])


class Scatter:
    """Precomputed ``G[rows] += C`` for a fixed list of target rows (duplicates allowed)."""

    __slots__ = ("key", "perm", "starts")

    def __init__(self, rows: Sequence[int]) -> None:
        if len(rows) == 1 or len(set(rows)) == len(rows):  # distinct: a plain fancy (or slice) add
            self.key, self.perm, self.starts = as_index(rows), None, None
            return
        rows = np.asarray(rows, dtype=np.intp)
        uniq, counts = np.unique(rows, return_counts=True)
        self.key = as_index(uniq.tolist())
        self.perm = np.argsort(rows, kind="stable")
        self.starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.intp)

    def add(self, G: np.ndarray, C: np.ndarray) -> None:
        if self.perm is None:
            G[self.key] += C
        else:
            G[self.key] += np.add.reduceat(C[self.perm], self.starts, axis=0)

    def rows(self) -> range | list[int]:
        """The distinct target rows."""
        key = self.key
        return range(key.start, key.stop) if isinstance(key, slice) else key.tolist()

    @property
    def view(self) -> bool:
        """The targets are distinct, consecutive rows: G[key] is a view written in place."""
        return self.perm is None and isinstance(self.key, slice)


def _scaled(g: np.ndarray, local: Any) -> np.ndarray:
    """g · local, skipping the multiply for the constant partials ±1."""
    if local.__class__ is float:
        if local == 1.0:
            return g
        if local == -1.0:
            return -g
    return g * local


def _offsets(arities: Sequence[int]) -> list[int]:
    """Start of each segment in a flat list of segments of these lengths."""
    starts, at = [], 0
    for a in arities:
        starts.append(at)
        at += a
    return starts


def _segment_of(arities: Sequence[int]) -> Index:
    """Row i of the flat operand list → its segment (node) number, for G[out][seg]."""
    if len(arities) == 1:
        return np.zeros(arities[0], dtype=np.intp)
    return np.repeat(np.arange(len(arities)), arities)


def _check_array_form(op: Op, attr: Any) -> None:
    """An op whose scalar forms serve as its array forms (the table's default) must take
    numpy arrays: tried once on a small array at compile time, refused naming the op."""
    if op.array_forward is not op.forward and op.array_partials is not op.partials:
        return
    probe = [np.full(2, 0.5) for _ in range(op.arity or 1)]
    try:
        with np.errstate(all="ignore"):
            op.array_partials(probe, op.array_forward(*probe, attr=attr), attr)
    except (TypeError, ValueError) as exc:
        raise NotImplementedError(
            f"compile: op {op.name!r} has no array form: its forward or partials do not take numpy "
            f"arrays ({exc}); give its Op entry array_forward / array_partials") from None


class Elementwise:
    """A group of nodes of one elementwise op with one ``attr``: forward and partials come
    from the op table's ``array_forward`` / ``array_partials``."""

    kind = "elementwise"
    __slots__ = ("op", "attr", "nodes", "out", "ins", "fwd", "partials", "into", "pairs", "xs", "assign")

    def __init__(self, op: Op, attr: Any, nodes: Sequence, out: slice,
                 ins: Sequence[Sequence[int]], grad_slots: Sequence[bool]) -> None:
        if op.array_forward is None or op.array_partials is None:
            raise NotImplementedError(f"compile: op {op.name!r} has no array form")
        _check_array_form(op, attr)
        self.op, self.attr, self.nodes, self.out = op, attr, nodes, out
        self.ins = [as_index(r) for r in ins]
        self.fwd, self.partials, self.into = op.array_forward, op.array_partials, op.array_out
        self.pairs = [(i, Scatter(r)) for i, (r, need) in enumerate(zip(ins, grad_slots)) if need]
        self.xs: list = []
        self.assign: frozenset[int] = frozenset()  # slots whose rows backward writes first (mark_first_writes)

    def forward(self, V: np.ndarray, theta: np.ndarray, batch: np.ndarray) -> None:
        xs = self.xs = [V[k] for k in self.ins]
        V[self.out] = self.fwd(*xs, attr=self.attr)

    def backward(self, V: np.ndarray, G: np.ndarray, theta: np.ndarray, gtheta: np.ndarray) -> None:
        g = G[self.out]
        locals_ = self.partials(self.xs, V[self.out], self.attr)
        for i, scatter in self.pairs:
            scatter.add(G, _scaled(g, locals_[i]))


class SumKernel:
    """n-ary ``sum`` nodes: u = Σᵢ aᵢ;  G[aᵢ] += G[u].

    Added left to right, as the eager ``sum`` (and a Python loop) adds: a cumulative sum
    along the terms, which numpy computes in order (``np.add.reduce`` sums pairwise and
    can round, or overflow, differently)."""

    kind = "sum"
    __slots__ = ("nodes", "out", "flat", "starts", "seg", "scatter", "arity")

    def __init__(self, nodes: Sequence, out: slice, flat: Sequence[int],
                 arities: Sequence[int], need_grad: bool) -> None:
        self.nodes, self.out = nodes, out
        self.flat = as_index(flat)
        self.starts = _offsets(arities)
        self.seg = _segment_of(arities) if need_grad else None
        self.scatter = Scatter(flat) if need_grad else None
        self.arity = arities[0] if len(set(arities)) == 1 else None

    def forward(self, V: np.ndarray, theta: np.ndarray, batch: np.ndarray) -> None:
        terms = V[self.flat]
        if self.arity is not None:
            V[self.out] = terms.reshape(-1, self.arity, terms.shape[-1]).cumsum(axis=1)[:, -1]
        else:               # mixed arities: one segment at a time, each in order
            ends = self.starts[1:] + [len(terms)]
            V[self.out] = np.stack([terms[a:b].cumsum(axis=0)[-1] for a, b in zip(self.starts, ends)])

    def backward(self, V: np.ndarray, G: np.ndarray, theta: np.ndarray, gtheta: np.ndarray) -> None:
        if self.scatter is not None:
            self.scatter.add(G, G[self.out][self.seg])


class DotKernel:
    """``dot`` nodes run elementwise (weights not distinct parameters, or shared):
    u = Σᵢ wᵢxᵢ (+ b);  G[wᵢ] += G[u]·xᵢ,  G[xᵢ] += G[u]·wᵢ,  G[b] += G[u]."""

    kind = "dot"
    __slots__ = ("nodes", "out", "w", "x", "b", "starts", "seg", "sw", "sx", "sb", "W", "X")

    def __init__(self, nodes: Sequence, out: slice, w: Sequence[int], x: Sequence[int],
                 arities: Sequence[int], bias: Optional[Sequence[int]],
                 need: tuple[bool, bool, bool]) -> None:
        self.nodes, self.out = nodes, out
        self.w, self.x = as_index(w), as_index(x)
        self.b = as_index(bias) if bias is not None else None
        self.starts = np.asarray(_offsets(arities), dtype=np.intp)
        self.seg = _segment_of(arities)
        self.sw = Scatter(w) if need[0] else None
        self.sx = Scatter(x) if need[1] else None
        self.sb = Scatter(bias) if bias is not None and need[2] else None
        self.W = self.X = None

    def forward(self, V: np.ndarray, theta: np.ndarray, batch: np.ndarray) -> None:
        W, X = self.W, self.X = V[self.w], V[self.x]
        z = np.add.reduceat(W * X, self.starts, axis=0)
        if self.b is not None:
            z += V[self.b]
        V[self.out] = z

    def backward(self, V: np.ndarray, G: np.ndarray, theta: np.ndarray, gtheta: np.ndarray) -> None:
        g = G[self.out]
        gs = g[self.seg]
        if self.sw is not None:
            self.sw.add(G, gs * self.X)
        if self.sx is not None:
            self.sx.add(G, gs * self.W)
        if self.sb is not None:
            self.sb.add(G, g)


class MatmulBlock:
    """k ``dot`` nodes that read one input vector x (n nodes) with distinct parameter
    weights, run as one matrix product over the batch:  Z = W X (+ b 1ᵀ), W (k, n) a view
    of ``theta``. Backward: ∂C/∂W = G_Z Xᵀ, ∂C/∂b = G_Z 1, G[x] += Wᵀ G_Z.
    Runs bound to a batch size's arrays (:class:`BoundMatmul`)."""

    kind = "matmul"
    __slots__ = ("nodes", "k", "n", "out", "wsl", "bsl", "brows", "x", "cols", "sx", "sb", "assign_x")

    def __init__(self, nodes: Sequence, out: slice, wpos: int, n: int, x: Sequence[int],
                 bias_theta: Optional[int], bias_rows: Optional[Sequence[int]],
                 need_x: bool, need_bias_rows: bool, batch_cols: Optional[slice] = None) -> None:
        self.nodes = nodes
        self.k, self.n = len(nodes), n
        self.out = out
        self.wsl = slice(wpos, wpos + self.k * n)
        self.bsl = slice(bias_theta, bias_theta + self.k) if bias_theta is not None else None
        self.brows = as_index(bias_rows) if bias_rows is not None else None
        self.x = as_index(x)
        self.cols = batch_cols  # x = graph inputs in consecutive batch columns: read the batch
        self.sx = Scatter(x) if need_x else None
        self.sb = Scatter(bias_rows) if bias_rows is not None and need_bias_rows else None
        self.assign_x = False  # G[x] written, not added to (mark_first_writes)


class MaxKernel:
    """``max`` nodes of one arity n: u = maxᵢ aᵢ; the first largest input gets G[u]."""

    kind = "max"
    __slots__ = ("nodes", "m", "n", "out", "flat", "scatter", "A", "cols")

    def __init__(self, nodes: Sequence, out: slice, flat: Sequence[int], n: int, need_grad: bool) -> None:
        self.nodes, self.m, self.n = nodes, len(nodes), n
        self.out = out
        self.flat = as_index(flat)
        self.scatter = Scatter(flat) if need_grad else None
        self.A = None
        self.cols = np.arange(n)[None, :, None] if need_grad else None

    def forward(self, V: np.ndarray, theta: np.ndarray, batch: np.ndarray) -> None:
        A = self.A = V[self.flat].reshape(self.m, self.n, -1)
        V[self.out] = A.max(axis=1)

    def backward(self, V: np.ndarray, G: np.ndarray, theta: np.ndarray, gtheta: np.ndarray) -> None:
        if self.scatter is None:
            return
        g = G[self.out]
        first = self.A.argmax(axis=1)  # first occurrence, as the eager partials
        C = (self.cols == first[:, None, :]) * g[:, None, :]
        self.scatter.add(G, C.reshape(self.m * self.n, -1))


class SoftmaxKernel:
    """``softmax`` output nodes whose input tuples have one length n. The t distinct input
    tuples are computed once: S = softmax over each tuple; node (tuple j, output k) = S[j, k].
    Backward: with Gs[j, k] = Σ G[u] over the nodes u of tuple j, output k,
    G[aⱼᵢ] += Sⱼᵢ (Gsⱼᵢ − Σₖ Gsⱼₖ Sⱼₖ)   (from ∂sₖ/∂aᵢ = sₖ(δₖᵢ − sᵢ))."""

    kind = "softmax"
    __slots__ = ("nodes", "n", "t", "out", "flat", "pos", "spos", "scatter", "S")

    def __init__(self, nodes: Sequence, out: slice, flat: Sequence[int], n: int,
                 tuple_of: Sequence[int], which: Sequence[int], need_grad: bool) -> None:
        self.nodes, self.n = nodes, n
        self.t = len(flat) // n
        self.out = out
        self.flat = as_index(flat)
        pos = [j * n + k for j, k in zip(tuple_of, which)]
        self.pos = as_index(pos)
        self.spos = Scatter(pos)
        self.scatter = Scatter(flat) if need_grad else None
        self.S = None

    def forward(self, V: np.ndarray, theta: np.ndarray, batch: np.ndarray) -> None:
        A = V[self.flat].reshape(self.t, self.n, -1)
        E = np.exp(A - A.max(axis=1, keepdims=True))
        S = self.S = E / E.sum(axis=1, keepdims=True)
        V[self.out] = S.reshape(self.t * self.n, -1)[self.pos]

    def backward(self, V: np.ndarray, G: np.ndarray, theta: np.ndarray, gtheta: np.ndarray) -> None:
        if self.scatter is None:
            return
        S = self.S
        Gs = np.zeros_like(S)
        self.spos.add(Gs.reshape(self.t * self.n, -1), G[self.out])
        C = S * (Gs - (Gs * S).sum(axis=1, keepdims=True))
        self.scatter.add(G, C.reshape(self.t * self.n, -1))


class Bound:
    """A kernel bound to one batch size's arrays V and G (:meth:`Tape.forward` allocates them
    once per B): ``forward(theta, batch)`` / ``backward(theta, gtheta)``. This generic form
    passes the arrays on; kernels whose rows are slices bind views instead (below), which
    halves the per-call cost of a small group."""

    __slots__ = ("kernel", "V", "G")

    def __init__(self, kernel: "Kernel", V: np.ndarray, G: np.ndarray) -> None:
        self.kernel, self.V, self.G = kernel, V, G

    def forward(self, theta: np.ndarray, batch: np.ndarray) -> None:
        self.kernel.forward(self.V, theta, batch)

    def backward(self, theta: np.ndarray, gtheta: np.ndarray) -> None:
        self.kernel.backward(self.V, self.G, theta, gtheta)


def _target(G: np.ndarray, scatter: Scatter) -> Optional[np.ndarray]:
    """G's rows of a scatter as a view when they are distinct and consecutive, else None."""
    return G[scatter.key] if scatter.perm is None and isinstance(scatter.key, slice) else None


class BoundElementwise:
    """:class:`Elementwise` on views: V[u] = f(V[a₁], …) written into the output rows'
    view; G[aᵢ] += G[u]·∂f/∂aᵢ added in place into the input rows' view (a scatter where
    an input row repeats or the rows are not consecutive)."""

    __slots__ = ("fwd", "partials", "into", "attr", "vins", "vout", "gout", "grads", "G")

    def __init__(self, k: "Elementwise", V: np.ndarray, G: np.ndarray) -> None:
        self.fwd, self.partials, self.into, self.attr = k.fwd, k.partials, k.into, k.attr
        self.vins = [V[r] for r in k.ins]
        self.vout, self.gout, self.G = V[k.out], G[k.out], G
        self.grads = [(i, _target(G, sc), sc, i in k.assign) for i, sc in k.pairs]

    def forward(self, theta: np.ndarray, batch: np.ndarray) -> None:
        if self.into is not None:
            self.into(self.vout, *self.vins, attr=self.attr)
        else:
            self.vout[...] = self.fwd(*self.vins, attr=self.attr)

    def backward(self, theta: np.ndarray, gtheta: np.ndarray) -> None:
        g = self.gout
        locals_ = self.partials(self.vins, self.vout, self.attr)
        for i, target, scatter, assign in self.grads:
            local = locals_[i]
            if target is None:
                scatter.add(self.G, _scaled(g, local))
            elif local.__class__ is float and (local == 1.0 or local == -1.0):
                if assign:  # the first write to these rows: 0 + x is x
                    if local == 1.0:
                        target[...] = g
                    else:
                        np.negative(g, out=target)
                elif local == 1.0:
                    target += g
                else:
                    target -= g
            elif assign:
                np.multiply(g, local, out=target)
            else:
                target += g * local


class BoundMatmul:
    """:class:`MatmulBlock` on views: Z = W X (+ b) computed into V's rows, ∂C/∂W and
    ∂C/∂b written into θ's gradient slots — of whichever of the tape's gradient arrays
    ``backward`` is given (views of each are made once)."""

    __slots__ = ("k", "W", "b", "gviews", "vx", "cols", "vout", "gout", "brows", "gx", "X", "V", "G")

    def __init__(self, k: "MatmulBlock", V: np.ndarray, G: np.ndarray, theta: np.ndarray,
                 gthetas: Sequence[np.ndarray]) -> None:
        self.k, self.V, self.G = k, V, G
        self.W = theta[k.wsl].reshape(k.k, k.n)
        self.b = theta[k.bsl][:, None] if k.bsl is not None else None
        self.gviews = [(gt, gt[k.wsl].reshape(k.k, k.n), gt[k.bsl] if k.bsl is not None else None)
                       for gt in gthetas]
        self.cols = k.cols
        self.vx = V[k.x] if k.cols is None and isinstance(k.x, slice) else None
        self.vout, self.gout = V[k.out], G[k.out]
        self.brows = k.brows
        self.gx = _target(G, k.sx) if k.sx is not None else None
        self.X = None

    def forward(self, theta: np.ndarray, batch: np.ndarray) -> None:
        k = self.k
        if self.cols is not None:
            X = batch[:, self.cols].T
        else:
            X = self.vx if self.vx is not None else self.V[k.x]
        self.X = X
        Z = self.vout
        np.matmul(self.W, X, out=Z)
        if self.b is not None:
            Z += self.b
        elif self.brows is not None:
            Z += self.V[self.brows]

    def backward(self, theta: np.ndarray, gtheta: np.ndarray) -> None:
        k, g = self.k, self.gout
        for target, gW, gb in self.gviews:
            if target is gtheta:
                break
        else:
            raise ValueError("BoundMatmul.backward: gtheta is none of the arrays it was bound to")
        if g.shape[1] == 1:  # one sample: ∂C/∂W = g xᵀ is an outer product, one multiply per entry;
            np.dot(g, self.X.T, out=gW)  # np.dot's (BLAS) is 2-3× faster than broadcasting or matmul
        else:
            np.matmul(g, self.X.T, out=gW)
        if gb is not None:
            np.add.reduce(g, axis=1, out=gb)
        elif k.sb is not None:
            k.sb.add(self.G, g)
        if k.sx is not None:
            if self.gx is None:
                k.sx.add(self.G, self.W.T @ g)
            elif k.assign_x:  # the first write to these rows
                np.matmul(self.W.T, g, out=self.gx)
            else:
                self.gx += self.W.T @ g


class LogisticLossKernel:
    """m fused lanes of a logistic loss (:mod:`autodiff.compile_fuse`): per lane
    a = |z|, q = y·z, s = z + a, n = −a, e = eⁿ, h = c·s, d = c₁ + e, l = ln d, p = h + l,
    t = p − q (t = softplus z − yz for c = ½, c₁ = 1), the nodes' rows role by role in
    that order. Backward runs the chain rule of those ten nodes as their own kernels would,
    rounding for rounding (the numbers are the same bit for bit), but writes only the rows
    it needs on the way to z's gradient ((∂s/∂z + q's part) + a's part; it is the only writer
    of z's rows, z being read by no other node); :meth:`BoundLogisticLoss.inner_grads` fills
    the other inner rows when asked (``Tape.grad_of``)."""

    kind = "logistic_loss"
    __slots__ = ("nodes", "m", "out", "z", "y", "c", "c1", "sz")

    def __init__(self, nodes: Sequence, out: slice, z: Sequence[int], y: Sequence[int], c: Sequence[int],
                 c1: Sequence[int]) -> None:
        self.nodes, self.m, self.out = nodes, len(z), out
        self.z, self.y, self.c, self.c1 = as_index(z), as_index(y), as_index(c), as_index(c1)
        self.sz = Scatter(z)

    @classmethod
    def build(cls, nodes: Sequence, out: slice, row: "Rows", needs: frozenset) -> "LogisticLossKernel":
        """From the nodes role-major (a…, q…, s…, n…, e…, h…, d…, l…, p…, t…)."""
        m = len(nodes) // 10
        lane_in = lambda role, slot: [row[id(v.inputs[slot])] for v in nodes[role * m:(role + 1) * m]]  # noqa: E731
        return cls(nodes, out, lane_in(0, 0), lane_in(1, 0), lane_in(5, 0), lane_in(6, 0))


Kernel = Union[Elementwise, SumKernel, DotKernel, MatmulBlock, MaxKernel, SoftmaxKernel, LogisticLossKernel]


def _scatters(k: "Kernel") -> list[tuple[Any, Scatter]]:
    """(slot, scatter) for every set of G rows ``k``'s backward adds into, in its order."""
    if isinstance(k, Elementwise):
        return list(k.pairs)
    if isinstance(k, DotKernel):
        return [(s, sc) for s, sc in (("w", k.sw), ("x", k.sx), ("b", k.sb)) if sc is not None]
    if isinstance(k, LogisticLossKernel):
        return [("z", k.sz)]
    if isinstance(k, MatmulBlock):  # in the order BoundMatmul.backward adds them
        return [(s, sc) for s, sc in (("b", k.sb), ("x", k.sx)) if sc is not None]
    return [("in", k.scatter)] if k.scatter is not None else []


def mark_first_writes(backward: Sequence["Kernel"], written: set[int]) -> None:
    """Let a kernel *write* G[a] = G[u]·∂u/∂a instead of adding it when it is the first, in
    backward order, to touch those rows (``written``: rows already set, e.g. the root's):
    zeroed rows plus x is x, so the numbers are the same and one pass (and a temporary) less.
    Only slots whose rows are distinct and consecutive (a view) qualify."""
    for k in backward:
        for slot, sc in _scatters(k):
            rows = sc.rows()
            fresh = sc.view and written.isdisjoint(rows)
            if fresh and isinstance(k, Elementwise):
                k.assign = k.assign | {slot}
            elif fresh and isinstance(k, MatmulBlock) and slot == "x":
                k.assign_x = True
            written.update(rows)


class BoundSum:
    """:class:`SumKernel` of one arity a whose terms are consecutive, distinct rows: the m
    nodes' terms are an (m, a, B) view; forward adds them in order (a cumulative sum),
    backward adds G[u] to each of its terms' rows in place (broadcast, no gather)."""

    __slots__ = ("terms", "vout", "gterms", "gout")

    def __init__(self, k: "SumKernel", V: np.ndarray, G: np.ndarray) -> None:
        m, a = len(k.nodes), k.arity
        self.terms = V[k.flat].reshape(m, a, -1)
        self.vout, self.gout = V[k.out], G[k.out]
        self.gterms = G[k.flat].reshape(m, a, -1) if k.scatter is not None else None
        # splitting the row axis never copies; the in-place add below relies on it
        assert self.gterms is None or np.shares_memory(self.gterms, G)

    def forward(self, theta: np.ndarray, batch: np.ndarray) -> None:
        self.vout[...] = self.terms.cumsum(axis=1)[:, -1]

    def backward(self, theta: np.ndarray, gtheta: np.ndarray) -> None:
        if self.gterms is not None:
            self.gterms += self.gout[:, None, :]


class BoundLogisticLoss:
    """:class:`LogisticLossKernel` on views of its rows: each role's (m, B) values and
    gradients; z, y and the constants are views too where their rows are consecutive."""

    __slots__ = ("k", "V", "G", "v", "g", "ins", "views", "gz", "tmp", "tmp_z")

    def __init__(self, k: LogisticLossKernel, V: np.ndarray, G: np.ndarray) -> None:
        self.k, self.V, self.G = k, V, G
        m, o = k.m, k.out.start
        rows = [slice(o + r * m, o + (r + 1) * m) for r in range(10)]
        self.v = [V[r] for r in rows]
        self.g = [G[r] for r in rows]
        self.ins = [V[i] if isinstance(i, slice) else None for i in (k.z, k.y, k.c, k.c1)]
        self.views = self.ins if all(x is not None for x in self.ins) else None
        self.gz = G[k.z] if isinstance(k.z, slice) else None
        self.tmp = np.empty_like(self.v[0])
        self.tmp_z = np.empty_like(self.v[0]) if self.gz is None else None

    def _inputs(self) -> list[np.ndarray]:
        if self.views is not None:
            return self.views
        k = self.k
        return [x if x is not None else self.V[i] for x, i in zip(self.ins, (k.z, k.y, k.c, k.c1))]

    def forward(self, theta: np.ndarray, batch: np.ndarray) -> None:
        z, y, c, c1 = self._inputs()
        A, Q, S, N, E, H, D, L, P, T = self.v
        np.abs(z, out=A)
        np.multiply(y, z, out=Q)
        np.add(z, A, out=S)
        np.negative(A, out=N)
        np.exp(N, out=E)
        np.multiply(c, S, out=H)
        np.add(c1, E, out=D)
        np.log(D, out=L)
        np.add(H, L, out=P)
        np.subtract(P, Q, out=T)

    def backward(self, theta: np.ndarray, gtheta: np.ndarray) -> None:
        """G[z] only, as the ten nodes' own kernels computed it, rounding for rounding:
        ((0.5g + (−g)·y) + (0.5g − (g·(1/d))·e)·sign z with g = G[t], c = 0.5, since
        ∂t/∂p = ∂p/∂h = ∂p/∂l = ∂d/∂e = 1 pass g on unchanged, x + (−w) = x − w and
        (−g)·y = −(g·y) exactly. The inner nodes' rows: :meth:`inner_grads`, on demand."""
        z, y, c, _ = self._inputs()
        D, E = self.v[6], self.v[4]
        gA, gS, gN = self.g[0], self.g[2], self.g[3]  # scratch rows here, filled by inner_grads
        gT = self.g[9]
        tmp = self.tmp
        np.divide(1.0, D, out=gN)          # l = ln d: ∂l/∂d = 1/d, times ∂C/∂l = g
        np.multiply(gT, gN, out=gN)
        np.multiply(gN, E, out=gN)         # e = eⁿ: ∂e/∂n = e;  gN = ∂C/∂n
        np.multiply(gT, c, out=gS)         # h = c·s: ∂C/∂s = g·c
        np.subtract(gS, gN, out=gA)        # ∂C/∂a = −∂C/∂n + ∂C/∂s
        gz = self.gz if self.gz is not None else self.tmp_z
        np.multiply(gT, y, out=tmp)        # q = y·z: ∂C/∂q = −g, ∂q/∂z = y
        np.subtract(gS, tmp, out=gz)       # ∂C/∂z: s's part, then q's ...
        np.sign(z, out=tmp)                # ... then a's: ∂a/∂z = sign z
        np.multiply(gA, tmp, out=tmp)
        gz += tmp
        if self.gz is None:
            self.G[self.k.z] = gz

    def inner_grads(self) -> None:
        """Write the inner nodes' gradient rows of the last backward, as their own kernels
        would have (for ``Tape.grad_of`` and the non-finite checks)."""
        gA, gQ, gS, gN, gE, gH, gD, gL, gP, gT = self.g
        gP[...] = gT                       # t = p − q
        np.negative(gT, out=gQ)
        gH[...] = gP                       # p = h + l
        gL[...] = gP
        np.divide(1.0, self.v[6], out=gD)  # l = ln d
        np.multiply(gL, gD, out=gD)
        gE[...] = gD                       # d = c₁ + e
        # s, n and a hold their gradients already (backward computes them on the way to z)


def bind(kernel: Kernel, V: np.ndarray, G: np.ndarray, theta: np.ndarray, gthetas: Sequence[np.ndarray]) -> Any:
    """``kernel`` bound to these arrays (views where its rows allow), for one batch size;
    ``gthetas``: the arrays a backward may write θ's gradient into (one per call)."""
    if isinstance(kernel, LogisticLossKernel):
        return BoundLogisticLoss(kernel, V, G)
    if isinstance(kernel, Elementwise) and all(isinstance(r, slice) for r in kernel.ins):
        return BoundElementwise(kernel, V, G)
    if (isinstance(kernel, SumKernel) and kernel.arity is not None and isinstance(kernel.flat, slice)
            and (kernel.scatter is None or kernel.scatter.perm is None)):
        return BoundSum(kernel, V, G)
    if isinstance(kernel, MatmulBlock):
        return BoundMatmul(kernel, V, G, theta, gthetas)
    return Bound(kernel, V, G)


# ------------------------------------------------------------- kernel kinds

Rows = dict  # id(node) → row in V


def _any_needs(nodes: Sequence, needs: frozenset) -> bool:
    return any(id(a) in needs for v in nodes for a in v.inputs)


def _build_elementwise(op: Op, attr: Any, nodes: Sequence, out: slice, row: Rows, needs: frozenset) -> Kernel:
    if len(nodes) == 1:  # most groups of a deep narrow graph: no transposing
        ins = nodes[0].inputs
        slots = [[row[id(a)]] for a in ins]
        grad_slots = [id(a) in needs for a in ins]
    else:
        operands = list(zip(*(v.inputs for v in nodes)))  # operands[i]: the i-th input of each node
        slots = [[row[id(a)] for a in column] for column in operands]
        grad_slots = [any(id(a) in needs for a in column) for column in operands]
    return Elementwise(op, nodes[0].attr, nodes, out, slots, grad_slots)


def _build_sum(op: Op, attr: Any, nodes: Sequence, out: slice, row: Rows, needs: frozenset) -> Kernel:
    flat = [row[id(a)] for v in nodes for a in v.inputs]
    return SumKernel(nodes, out, flat, [len(v.inputs) for v in nodes], _any_needs(nodes, needs))


def _build_dot(op: Op, attr: Any, nodes: Sequence, out: slice, row: Rows, needs: frozenset) -> Kernel:
    w: list[int] = []
    x: list[int] = []
    b: list[int] = []
    arities = []
    need = [False, False, False]
    for v in nodes:
        ins = v.inputs
        n = len(ins) // 2
        arities.append(n)
        for part, (lo, hi), rows in ((0, (0, n), w), (1, (n, 2 * n), x), (2, (2 * n, len(ins)), b)):
            for a in ins[lo:hi]:
                rows.append(row[id(a)])
                need[part] = need[part] or id(a) in needs
    return DotKernel(nodes, out, w, x, arities, b if attr else None, (need[0], need[1], need[2]))


def _build_max(op: Op, attr: Any, nodes: Sequence, out: slice, row: Rows, needs: frozenset) -> Kernel:
    flat = [row[id(a)] for v in nodes for a in v.inputs]
    return MaxKernel(nodes, out, flat, len(nodes[0].inputs), _any_needs(nodes, needs))


def _build_softmax(op: Op, attr: Any, nodes: Sequence, out: slice, row: Rows, needs: frozenset) -> Kernel:
    tuples: dict[tuple, int] = {}
    firsts: list[tuple] = []
    tuple_of = []
    for v in nodes:
        key = tuple(map(id, v.inputs))
        j = tuples.setdefault(key, len(tuples))
        if j == len(firsts):
            firsts.append(v.inputs)
        tuple_of.append(j)
    flat = [row[id(a)] for ins in firsts for a in ins]
    return SoftmaxKernel(nodes, out, flat, len(nodes[0].inputs), tuple_of, [v.attr for v in nodes],
                         _any_needs(nodes, needs))


def _attr_key(v: Any) -> Any:
    """A hashable, exact key for an op attribute (floats compared bit for bit)."""
    attr = v.attr
    return attr if attr is None or isinstance(attr, (int, bool)) else float(attr).hex()


def _arity(v: Any) -> int:
    return len(v.inputs)


def _has_bias(v: Any) -> bool:
    return bool(v.attr)


@dataclass(frozen=True)
class KernelKind:
    """How the compiler runs one kind of node (``Op.kernel`` names the kind).

    ``group_attr(node)``: what nodes of one (level, op) must share to run in one kernel;
    ``build(op, group_attr, nodes, out_rows, row_of, needs_grad)``: the kernel;
    ``blocks``: ``dot``-like nodes whose groups are first split into matmul blocks."""

    group_attr: Callable[[Any], Any]
    build: Callable[..., Kernel]
    blocks: bool = False


KERNEL_KINDS: dict[str, KernelKind] = {
    "elementwise": KernelKind(_attr_key, _build_elementwise),
    "sum": KernelKind(_arity, _build_sum),      # one arity a group: the kernel adds left to right
    "dot": KernelKind(_has_bias, _build_dot, blocks=True),
    "max": KernelKind(_arity, _build_max),
    "softmax": KernelKind(_arity, _build_softmax),  # attr = which output: per node, not per group
}
