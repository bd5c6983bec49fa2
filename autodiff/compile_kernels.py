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
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, Union

import numpy as np

from .ops import Op

Index = Union[slice, np.ndarray]

__all__ = ["as_index", "Scatter", "Elementwise", "SumKernel", "DotKernel", "MatmulBlock",
           "MaxKernel", "SoftmaxKernel"]


def as_index(rows: Sequence[int]) -> Index:
    """``rows`` as a slice when consecutive and increasing, else as an intp array."""
    idx = np.asarray(rows, dtype=np.intp)
    if idx.size and (idx.size == 1 or bool(np.all(np.diff(idx) == 1))):
        return slice(int(idx[0]), int(idx[-1]) + 1)
    return idx


class Scatter:
    """Precomputed ``G[rows] += C`` for a fixed list of target rows (duplicates allowed)."""

    __slots__ = ("key", "perm", "starts")

    def __init__(self, rows: Sequence[int]) -> None:
        rows = np.asarray(rows, dtype=np.intp)
        uniq, counts = np.unique(rows, return_counts=True)
        if uniq.size == rows.size:
            self.key, self.perm, self.starts = as_index(rows), None, None
        else:
            perm = np.argsort(rows, kind="stable")
            self.key = as_index(uniq)
            self.perm = perm
            self.starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.intp)

    def add(self, G: np.ndarray, C: np.ndarray) -> None:
        if self.perm is None:
            G[self.key] += C
        else:
            G[self.key] += np.add.reduceat(C[self.perm], self.starts, axis=0)


def _scaled(g: np.ndarray, local: Any) -> np.ndarray:
    """g · local, skipping the multiply for the constant partials ±1."""
    if isinstance(local, float):
        if local == 1.0:
            return g
        if local == -1.0:
            return -g
    return g * local


class Elementwise:
    """A group of nodes of one elementwise op with one ``attr``: forward and partials come
    from the op table's ``array_forward`` / ``array_partials``."""

    kind = "elementwise"

    def __init__(self, op: Op, attr: Any, nodes: list, out: Sequence[int],
                 ins: Sequence[Sequence[int]], grad_slots: Sequence[bool]) -> None:
        self.op, self.attr, self.nodes = op, attr, nodes
        self.out = as_index(out)
        self.ins = [as_index(r) for r in ins]
        self.scatters = [Scatter(r) if need else None for r, need in zip(ins, grad_slots)]
        self.fwd, self.partials = op.array_forward, op.array_partials
        self.pairs = [(i, sc) for i, sc in enumerate(self.scatters) if sc is not None]
        self.check_base = op.name == "powv" and self.scatters[1] is not None
        self.xs: list = []

    def forward(self, V: np.ndarray, theta: np.ndarray, batch: np.ndarray) -> None:
        xs = self.xs = [V[k] for k in self.ins]
        V[self.out] = self.fwd(*xs, attr=self.attr)

    def backward(self, V: np.ndarray, G: np.ndarray, theta: np.ndarray, gtheta: np.ndarray) -> None:
        g = G[self.out]
        locals_ = self.partials(self.xs, V[self.out], self.attr)
        if self.check_base and (self.xs[0] < 0).any():
            i, b = np.argwhere(self.xs[0] < 0)[0]
            from .value import describe
            raise ValueError(f"backward through {describe(self.nodes[i])} (sample {b}): ∂(aᵇ)/∂b = "
                             f"aᵇ·ln a is undefined for a negative base a = {self.xs[0][i, b]!r}")
        for i, scatter in self.pairs:
            scatter.add(G, _scaled(g, locals_[i]))


class SumKernel:
    """n-ary ``sum`` nodes: u = Σᵢ aᵢ;  G[aᵢ] += G[u].

    Added left to right, as the eager ``sum`` (and a Python loop) adds: a cumulative sum
    along the terms, which numpy computes in order (``np.add.reduce`` sums pairwise and
    can round, or overflow, differently)."""

    kind = "sum"

    def __init__(self, nodes: list, out: Sequence[int], flat: Sequence[int],
                 arities: Sequence[int], need_grad: bool) -> None:
        self.nodes = nodes
        self.out = as_index(out)
        self.flat = as_index(flat)
        self.starts = np.concatenate(([0], np.cumsum(arities)[:-1])).astype(np.intp)
        self.seg = np.repeat(np.arange(len(arities)), arities)
        self.scatter = Scatter(flat) if need_grad else None
        self.arity = arities[0] if len(set(arities)) == 1 else None

    def forward(self, V: np.ndarray, theta: np.ndarray, batch: np.ndarray) -> None:
        terms = V[self.flat]
        if self.arity is not None:
            V[self.out] = terms.reshape(-1, self.arity, terms.shape[-1]).cumsum(axis=1)[:, -1]
        else:               # mixed arities: one segment at a time, each in order
            ends = list(self.starts[1:]) + [len(terms)]
            V[self.out] = np.stack([terms[a:b].cumsum(axis=0)[-1] for a, b in zip(self.starts, ends)])

    def backward(self, V: np.ndarray, G: np.ndarray, theta: np.ndarray, gtheta: np.ndarray) -> None:
        if self.scatter is not None:
            self.scatter.add(G, G[self.out][self.seg])


class DotKernel:
    """``dot`` nodes run elementwise (weights not distinct parameters, or shared):
    u = Σᵢ wᵢxᵢ (+ b);  G[wᵢ] += G[u]·xᵢ,  G[xᵢ] += G[u]·wᵢ,  G[b] += G[u]."""

    kind = "dot"

    def __init__(self, nodes: list, out: Sequence[int], w: Sequence[int], x: Sequence[int],
                 arities: Sequence[int], bias: Optional[Sequence[int]],
                 need: tuple[bool, bool, bool]) -> None:
        self.nodes = nodes
        self.out = as_index(out)
        self.w, self.x = as_index(w), as_index(x)
        self.b = as_index(bias) if bias is not None else None
        self.starts = np.concatenate(([0], np.cumsum(arities)[:-1])).astype(np.intp)
        self.seg = np.repeat(np.arange(len(arities)), arities)
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
    of ``theta``. Backward: ∂C/∂W = G_Z Xᵀ, ∂C/∂b = G_Z 1, G[x] += Wᵀ G_Z."""

    kind = "matmul"

    def __init__(self, nodes: list, out: Sequence[int], wpos: int, n: int, x: Sequence[int],
                 bias_theta: Optional[int], bias_rows: Optional[Sequence[int]],
                 need_x: bool, need_bias_rows: bool, batch_cols: Optional[slice] = None) -> None:
        self.nodes = nodes
        self.k, self.n = len(nodes), n
        self.out = as_index(out)
        self.wsl = slice(wpos, wpos + self.k * n)
        self.bsl = slice(bias_theta, bias_theta + self.k) if bias_theta is not None else None
        self.brows = as_index(bias_rows) if bias_rows is not None else None
        self.x = as_index(x)
        self.cols = batch_cols  # x = graph inputs in consecutive batch columns: read the batch
        self.sx = Scatter(x) if need_x else None
        self.sb = Scatter(bias_rows) if bias_rows is not None and need_bias_rows else None
        self.X = None

    def forward(self, V: np.ndarray, theta: np.ndarray, batch: np.ndarray) -> None:
        W = theta[self.wsl].reshape(self.k, self.n)
        X = self.X = V[self.x] if self.cols is None else batch[:, self.cols].T
        Z = W @ X
        if self.bsl is not None:
            Z += theta[self.bsl][:, None]
        elif self.brows is not None:
            Z += V[self.brows]
        V[self.out] = Z

    def backward(self, V: np.ndarray, G: np.ndarray, theta: np.ndarray, gtheta: np.ndarray) -> None:
        g = G[self.out]
        np.matmul(g, self.X.T, out=gtheta[self.wsl].reshape(self.k, self.n))
        if self.bsl is not None:
            gtheta[self.bsl] = g.sum(axis=1)
        elif self.sb is not None:
            self.sb.add(G, g)
        if self.sx is not None:
            self.sx.add(G, theta[self.wsl].reshape(self.k, self.n).T @ g)


class MaxKernel:
    """``max`` nodes of one arity n: u = maxᵢ aᵢ; the first largest input gets G[u]."""

    kind = "max"

    def __init__(self, nodes: list, out: Sequence[int], flat: Sequence[int], n: int,
                 need_grad: bool) -> None:
        self.nodes, self.m, self.n = nodes, len(nodes), n
        self.out = as_index(out)
        self.flat = as_index(flat)
        self.scatter = Scatter(flat) if need_grad else None
        self.A = None
        self.cols = np.arange(n)[None, :, None]

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

    def __init__(self, nodes: list, out: Sequence[int], flat: Sequence[int], n: int,
                 tuple_of: Sequence[int], which: Sequence[int], need_grad: bool) -> None:
        self.nodes, self.n = nodes, n
        self.t = len(flat) // n
        self.out = as_index(out)
        self.flat = as_index(flat)
        self.pos = np.asarray(tuple_of, np.intp) * n + np.asarray(which, np.intp)
        self.spos = Scatter(self.pos)
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
