"""Step-through debugging of the backward pass: a cursor over a recorded pass.

Backprop from a loss l walks the nodes u in reverse topological order and, for each
input edge a → u, applies (seed 003, the annotated computational graph)

    ∂l/∂a += ∂l/∂u · ∂u/∂a

:class:`Stepper` records that pass once as an :class:`autodiff.Trace` (the same code
``backward()`` runs, in storage of its own: no ``.grad`` is read or written, hooks run
once, now) and moves a position over it. At ``detail="scalar"`` a step is one edge
(:class:`viz.step_types.Step`); at ``detail="neuron"``/``"layer"`` one edge of the
collapsed drawing (:class:`viz.levels.GroupStep`, the vector chain rule). Steps are
made when first asked for, so a Stepper on a 100,000-node graph is built in about the
time of the pass itself. After ``goto(k)`` exactly the first k steps are applied
(:meth:`Stepper.grad` reads the Trace), so stepping back, random access and breakpoints
are cheap and exact. :meth:`Stepper.apply` is ``loss.backward()``, errors included.

Which steps are shown: those along edges that lie on a path from the loss to ``wrt``
(the edges the backward drawing marks with red twins), and, unless ``constants=True``,
not those into unlabelled constants (the 0.5 of ½e²). A step left out is still
applied, together with the next step shown, so every position stays exact.

Questions about the pass (why, paths, check, non-finite forensics) are functions of
the Trace in :mod:`viz.step_analysis`; drawings and frames are in :mod:`viz.step_frames`.

>>> s = Stepper(E)                    # the NPTEL network of seed 004   # doctest: +SKIP
>>> s.break_on("w5"); print(s.continue_())                              # doctest: +SKIP
∂E/∂w₅ += ∂E/∂u₄ · ∂u₄/∂w₅ = 0.1385 · 0.5933 = 0.08217
"""

from __future__ import annotations

import re
from functools import cached_property
from itertools import compress
from operator import attrgetter
from pathlib import Path as FilePath
from typing import Callable, Iterable, Iterator, Optional, Sequence, Union

import numpy as np

import autodiff
from autodiff import Trace, Value

from . import step_analysis, step_breakpoints, step_frames, step_page, step_scalar
from .levels import GroupStep, group_steps, level_names
from .naming import format_number, plain
from .step_types import Breakpoint, Check, LazySteps, Path, Step, Why
from .stepformula import as_drawn, drawn_names

__all__ = ["Stepper", "Step", "Breakpoint", "Check", "Path", "Why", "step_through"]

_PARAM, _LABEL = attrgetter("param"), attrgetter("label")


def _is_constant(v: Value) -> bool:
    """An unlabelled number that is neither a parameter nor computed (``2`` in ``2 * x``)."""
    return v.is_leaf and not v.param and not v.label


def default_wrt(order: Sequence[Value]) -> list[Value]:
    """The nodes whose paths from the loss the stepper follows when none are given: the
    parameters, or, in a graph without any, every labelled leaf (the variables)."""
    leaves = [v for v in order if v.is_leaf]
    return list(compress(leaves, _default_wrt_among(leaves)))


def _default_wrt_among(leaves: Sequence[Value]) -> np.ndarray:
    """:func:`default_wrt` as a mask over ``leaves`` (all leaves)."""
    chosen = np.fromiter(map(_PARAM, leaves), dtype=bool, count=len(leaves))
    if not chosen.any():
        chosen = np.fromiter(map(len, map(_LABEL, leaves)), dtype=np.intp, count=len(leaves)) > 0
    return chosen


class Stepper:
    """The backward pass from ``loss`` as a list of steps, and a position in it.

    ``wrt``: the node(s) whose gradients the learner follows (default
    :func:`default_wrt`); only steps along edges on a path from the loss to them are
    shown, exactly the edges the backward drawing marks. ``constants=True`` also shows
    the steps into unlabelled constants. Steps left out are still applied, each together
    with the next step shown.
    ``detail``: ``"scalar"`` (one :class:`Step` per scalar edge), or ``"neuron"`` /
    ``"layer"``: one :class:`viz.levels.GroupStep` per edge of the collapsed drawing
    (``max_nodes`` limits that drawing as in :func:`viz.render.draw`).
    ``digits`` sets the significant digits of the formulas; ``unicode`` (default)
    writes names as the drawings do (``w₅``); ``unicode=False`` writes ``w5``. Either
    form is accepted by :meth:`lookup`.
    By default the steps start from zero, so they show ∂loss/∂node of this loss alone;
    ``accumulate=True`` starts the leaves from their current ``.grad`` and adds to them,
    as another ``loss.backward()`` would.
    """

    def __init__(self, loss: Value, *, detail: str = "scalar",
                 wrt: Union[None, Value, Iterable[Value]] = None, digits: int = 4,
                 unicode: bool = True, accumulate: bool = False, constants: bool = False,
                 max_nodes: Optional[int] = None) -> None:
        if not isinstance(loss, Value):
            raise TypeError(f"Stepper needs the loss Value, got {type(loss).__name__}: {loss!r}")
        if detail not in ("scalar", "neuron", "layer"):
            raise ValueError(f"detail must be 'scalar', 'neuron' or 'layer', got {detail!r}")
        if isinstance(digits, bool) or not isinstance(digits, int) or not 1 <= digits <= 17:
            raise ValueError(f"digits must be an integer from 1 to 17, got {digits!r}")
        self.loss = loss
        self.detail = detail
        self.digits = digits
        self.trace = Trace(loss)
        t = self.trace
        self.order: list[Value] = list(t.nodes)
        self._loss_at = t.position[loss]
        self._unicode = unicode
        self._names: Optional[dict[Value, str]] = None
        self.graph = None   # the collapsed drawing the steps follow (detail neuron/layer)
        self.wrt, wrt_at = self._resolve_wrt(wrt)
        self.constants = constants
        # what the steps follow (and the drawing marks): wrt, plus the constants if shown
        constants_at = [i for i, v in enumerate(self.order) if _is_constant(v) and v is not loss] if constants else []
        self.traced = self.wrt + tuple(self.order[i] for i in constants_at)
        self._on_path_mask = self._depends_on(np.concatenate([wrt_at, np.array(constants_at, dtype=np.intp)]))
        self._on_path: Optional[set[int]] = None
        self.breakpoints: list[Breakpoint] = []
        n = len(self.order)
        start = np.zeros(n)
        if accumulate:
            for i, v in enumerate(self.order):
                if v.is_leaf:
                    start[i] = v.grad
        self.start = start
        # scalar steps: every edge (the grouped levels group them); shown ones at "scalar"
        self._all_edges = LazySteps(t.n_edges, lambda e: self._edge_step(e, e, e, tail=False))
        self.scalar_steps: Sequence = self._all_edges
        if detail == "scalar":
            self._shown = shown = self._shown_edges()
            self._ends = shown + 1   # edges applied after each step: the last applies the rest
            if len(shown):
                self._ends[-1] = t.n_edges
            self.steps: Sequence = LazySteps(len(shown), self._shown_step)
            self.scalar_steps = self.steps
            self._group_grads: Optional[list[list[float]]] = None
        else:
            from .render import DEFAULT_MAX_NODES, collapsed_view
            self.graph = collapsed_view(loss, self.order, detail, self.traced, max_nodes or DEFAULT_MAX_NODES,
                                        dep=self._on_path_mask, trace=t)
            self._names = None   # from now on, the level's names
            initial = self.start.copy()
            initial[self._loss_at] += 1.0   # the seed ∂l/∂l = 1, as initial_list
            self.steps = group_steps(self.graph, t, loss, initial, self.fmt,
                                     self._all_edges.__getitem__, self._edge_changes)
        self.position = 0
        self._reached, self._completed = self._touches()
        self._grads_at: Optional[tuple[int, list[float]]] = None

    @cached_property
    def index(self) -> dict[int, int]:
        """``id(node)`` → the node's position in :attr:`order` (made when first needed)."""
        return dict(zip(map(id, self.order), range(len(self.order))))

    @property
    def names(self) -> dict[Value, str]:
        """Every node's name as drawn at this level (:func:`viz.stepformula.drawn_names`;
        at the neuron and layer levels :func:`viz.levels.level_names`), made when first needed."""
        if self._names is None:
            self._names = drawn_names(self.loss, unicode=self._unicode)
            if self.graph is not None:   # the level's own names (viz.levels.level_names)
                self._names = level_names(self.graph, self.order, self._names)
        return self._names

    @property
    def loss_name(self) -> str:
        """The loss's name as the drawing the steps follow writes it."""
        if self.graph is not None:
            return as_drawn(next(n.name for n in self.graph.nodes if n.id == self.graph.where[id(self.loss)]))
        return self.names[self.loss]

    # ---------------------------------------------------------------- building
    def _resolve_wrt(self, wrt: Union[None, Value, Iterable[Value]]) -> tuple[tuple[Value, ...], np.ndarray]:
        """The nodes ``wrt`` names and their positions (default: :func:`default_wrt`)."""
        if wrt is None:   # default_wrt, among the leaves
            at = np.flatnonzero(self.trace.step_of < 0)
            leaves = list(map(self.order.__getitem__, at.tolist()))
            chosen = _default_wrt_among(leaves)
            return tuple(compress(leaves, chosen)), at[chosen]
        items = (wrt,) if isinstance(wrt, (Value, str)) else tuple(wrt)
        values = tuple(self.lookup(w) for w in items)
        return values, np.array([self.index[id(v)] for v in values], dtype=np.intp)

    def _depends_on(self, targets: np.ndarray) -> np.ndarray:
        """Whether each node (by position) is one of ``targets`` (positions) or has an input
        that is (the tails of the edges on a path from the loss to them), by one forward
        pass over the Trace."""
        t = self.trace
        marked = np.zeros(len(self.order), dtype=bool)
        marked[targets] = True
        if t.n_edges:
            # an op node reading a target directly, all at once; then, in forward order,
            # those reading an op node that depends (the few edges between op nodes)
            sizes = np.diff(t.edge_start)
            firsts = np.minimum(t.edge_start[:-1], t.n_edges - 1)
            reads = np.logical_or.reduceat(marked[t.edge_input], firsts) & (sizes > 0)
            marked[t.step_node[reads]] = True
            inner = np.flatnonzero(t.step_of[t.edge_input] >= 0)[::-1]   # op nodes, each after its inputs
            dep = bytearray(marked.astype(np.uint8).tobytes())
            for j, a in zip(t.edge_node[inner].tolist(), t.edge_input[inner].tolist()):
                if dep[a] and not dep[j]:
                    dep[j] = 1
            marked = np.frombuffer(bytes(dep), dtype=np.uint8).astype(bool)
        return marked

    @property
    def on_path(self) -> set[int]:
        """ids of the nodes on a path from the loss to what the steps follow (``traced``):
        the tails of the edges the backward drawing marks (made when first needed)."""
        if self._on_path is None:
            self._on_path = set(map(id, map(self.order.__getitem__, np.flatnonzero(self._on_path_mask).tolist())))
        return self._on_path

    def shows(self, node: Value, input: Value) -> bool:
        """Whether the step along ``input → node`` is shown (see the class doc)."""
        if id(input) not in self.on_path:
            return False
        return self.constants or not _is_constant(input) or any(input is w for w in self.wrt)

    def _shown_edges(self) -> np.ndarray:
        """The Trace's edges shown as steps, in order (see :meth:`shows`)."""
        visible = self._on_path_mask.copy()
        if not self.constants:
            leaves = np.flatnonzero(visible & (self.trace.step_of < 0))
            values = list(map(self.order.__getitem__, leaves.tolist()))
            # constants (_is_constant among leaves): neither parameters nor labelled
            others = np.flatnonzero(~np.fromiter(map(_PARAM, values), dtype=bool, count=len(values))).tolist()
            constants = [k for k in others if not values[k].label]
            if constants:
                wrt = set(map(id, self.wrt))
                for k in constants:
                    if id(values[k]) not in wrt:
                        visible[leaves[k]] = False
        return np.flatnonzero(visible[self.trace.edge_input]) if self.trace.n_edges else np.zeros(0, np.intp)

    def _edge_changes(self, e: int) -> list[tuple[int, float, float]]:
        return step_scalar.edge_changes(self, e)

    def _edge_step(self, e: int, index: int, first: int, tail: bool) -> Step:
        return step_scalar.edge_step(self, e, index, first, tail)

    def _shown_step(self, k: int) -> Step:
        first = int(self._ends[k - 1]) if k else 0
        return self._edge_step(int(self._shown[k]), k, first, tail=k == len(self._shown) - 1)

    def fmt(self, x: float) -> str:
        """A number with the stepper's significant digits (as the drawings print them)."""
        return format_number(x, self.digits)

    def _edges_applied(self, position: int) -> int:
        """How many of the Trace's edges the first ``position`` scalar steps apply."""
        return int(self._ends[position - 1]) if position else 0

    def _touches(self) -> tuple[list[int], list[int]]:
        """For each node, the positions from which its gradient is known (its first
        contribution applied; 0 for the loss) and complete (its last one applied)."""
        n, t = len(self.order), self.trace
        never = len(self.steps) + 1
        reached, completed = [never] * n, [0] * n
        if self.detail == "scalar":
            if len(self.steps):
                first = np.full(n, t.n_edges, dtype=np.intp)
                last = np.full(n, -1, dtype=np.intp)
                edges = np.arange(t.n_edges)
                np.minimum.at(first, t.edge_input, edges)
                np.maximum.at(last, t.edge_input, edges)
                # the step that applies edge e: the first whose end is beyond e
                at_first = np.searchsorted(self._ends, first, side="right") + 1
                at_last = np.searchsorted(self._ends, last, side="right") + 1
                has = last >= 0
                reached = np.where(has, at_first, never).tolist()
                completed = np.where(has, at_last, 0).tolist()
        elif len(self.steps):   # the nodes each grouped step changes (GroupStep.touched)
            touched = np.concatenate([st.touched for st in self.steps])
            at = np.repeat(np.arange(1, len(self.steps) + 1), [len(st.touched) for st in self.steps])
            first = np.full(n, never, dtype=np.intp)
            last = np.zeros(n, dtype=np.intp)
            np.minimum.at(first, touched, at)
            np.maximum.at(last, touched, at)
            reached, completed = first.tolist(), last.tolist()
        reached[self._loss_at] = 0
        return reached, completed

    def reached_at(self, node: Value) -> int:
        """The first position at which ∂l/∂node is known (``len(self) + 1``: never)."""
        return self._reached[self.index[id(node)]]

    def completed_at(self, node: Value) -> int:
        """The position at which the last contribution to ∂l/∂node is applied."""
        return self._completed[self.index[id(node)]]

    # ------------------------------------------------------------------ moving
    def __len__(self) -> int:
        return len(self.steps)

    def __repr__(self) -> str:
        step = self.current
        where = step.formula if step else f"at the start: ∂{self.loss_name}/∂{self.loss_name} = 1"
        return f"<Stepper {self.position}/{len(self.steps)} ({self.detail}): {where}>"

    def _repr_html_(self) -> str:
        """Inline display in Jupyter: the interactive page at this position, in an iframe."""
        return step_page.iframe(step_page.page(self))

    @property
    def current(self):
        """The step applied last (``None`` at position 0)."""
        return self.steps[self.position - 1] if self.position else None

    @property
    def at_end(self) -> bool:
        return self.position == len(self.steps)

    def goto(self, position: int):
        """Apply exactly the first ``position`` steps (0 … len); returns :attr:`current`."""
        if isinstance(position, bool) or not isinstance(position, (int, np.integer)):
            raise TypeError(f"goto needs an integer position, got {position!r}")
        if not 0 <= position <= len(self.steps):
            raise IndexError(f"step {position} is out of range: positions are 0 to {len(self.steps)}")
        self.position = int(position)
        return self.current

    def next(self):
        """Apply the next step and return it; ``None`` (and no move) at the end."""
        return self.goto(self.position + 1) if not self.at_end else None

    step = next

    def back(self):
        """Undo the current step; returns the new current step (``None`` at position 0)."""
        return self.goto(self.position - 1) if self.position else None

    def __iter__(self) -> Iterator:
        return iter(self.steps)

    def apply(self) -> None:
        """Exactly ``loss.backward()`` (without running the pass or its hooks again): raise
        the ``FloatingPointError``/``OverflowError`` it raises, writing nothing, or write
        the gradients into ``.grad`` once (intermediate nodes set, leaves added to).
        Independent of the position; the only method that changes ``.grad``."""
        self.trace.apply()

    # ------------------------------------------------------------------ state
    def initial_list(self) -> list[float]:
        """Every node's gradient at position 0, by topological index."""
        out = self.start.tolist()
        out[self._loss_at] += 1.0   # the seed ∂l/∂l = 1
        return out

    @property
    def initial(self) -> list[float]:
        return self.initial_list()

    @property
    def final(self) -> list[float]:
        """Every node's gradient after the whole pass (plus the leaves' start)."""
        return (np.asarray(self.trace.final) + self.start).tolist()

    @property
    def grads(self) -> list[float]:
        """Every node's gradient at the current position, by topological index."""
        if self._grads_at is not None and self._grads_at[0] == self.position:
            return self._grads_at[1]
        if self.detail == "scalar":
            k = self._edges_applied(self.position) if self.position < len(self.steps) else self.trace.n_edges
            grads = [self._scalar_grad(j, k) for j in range(len(self.order))]
        else:
            grads = self.initial_list()
            for step in self.steps[:self.position]:
                for idx, _, new in step.changes:
                    grads[idx] = new
        self._grads_at = (self.position, grads)
        return grads

    def _scalar_grad(self, j: int, edges: int) -> float:
        if edges >= self.trace.n_edges:
            return float(self.trace.final[j] + self.start[j])
        return self.trace.gradient(j, edges) + float(self.start[j])

    def grad(self, node: Union[str, Value]) -> float:
        """∂l/∂node at the current position (read from the Trace; ``.grad`` is untouched)."""
        j = self.index[id(self.lookup(node))]
        if self.detail == "scalar":
            k = self._edges_applied(self.position) if self.position < len(self.steps) else self.trace.n_edges
            return self._scalar_grad(j, k)
        return self.grads[j]

    def known(self, node: Value) -> bool:
        """Whether ∂l/∂node has received any contribution at the current position."""
        return self._reached[self.index[id(node)]] <= self.position

    def complete(self, node: Value) -> bool:
        """Whether every contribution to ∂l/∂node has been applied."""
        return self._completed[self.index[id(node)]] <= self.position

    def final_grad(self, node: Value) -> float:
        """∂l/∂node after the whole pass (what ``backward()`` leaves)."""
        j = self.index[id(node)]
        return float(self.trace.final[j] + self.start[j])

    def _names_of(self, v: Value) -> tuple[str, ...]:
        """The names a user may type for ``v``: as displayed, with ASCII digits, its label."""
        return (self.names[v], plain(self.names[v])) + ((v.label,) if v.label else ())

    def lookup(self, name: Union[str, Value]) -> Value:
        """The node called ``name`` (display name; ``u3`` and ``u₃`` both work)."""
        if isinstance(name, Value):
            if id(name) not in self.index:
                raise KeyError(f"{autodiff.describe(name)} is not in the graph of this loss")
            return name
        if not isinstance(name, str):
            raise TypeError(f"a node is a Value or its name, got {type(name).__name__}: {name!r}")
        hits = [v for v in self.order if name in self._names_of(v)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            known = sorted({plain(self.names[v]) for v in self.order})
            close = step_breakpoints.closest(name, known)
            hint = f"; did you mean {close!r}?" if close else ""
            shown = ", ".join(known[:40]) + (f", … ({len(known)} names)" if len(known) > 40 else "")
            raise KeyError(f"no node named {name!r}{hint} The nodes are: {shown}")
        raise KeyError(f"{len(hits)} nodes are named {name!r}; label them differently")

    def change_text(self, step) -> str:
        """What a step changes, in words (:func:`viz.step_scalar.change_text`)."""
        return step_scalar.change_text(self, step)

    def describe(self, node: Union[str, Value]) -> str:
        """One line about a node at the current position (:func:`viz.step_scalar.describe`)."""
        return step_scalar.describe(self, node)

    # -------------------------------------------------------------- breakpoints
    def break_on(self, spec: Union[str, "re.Pattern[str]", Callable[[Step], bool]],
                 description: Optional[str] = None) -> Breakpoint:
        """Stop :meth:`continue_` at steps whose input's name matches ``spec`` (a glob such
        as ``"w*"``, or a compiled regular expression without nested repeats), or for
        which ``spec(step)`` is true (:func:`viz.step_breakpoints.name_breakpoint`)."""
        bp = step_breakpoints.name_breakpoint(spec, self._step_names, description)
        self.breakpoints.append(bp)
        return bp

    def break_on_nonfinite(self) -> Breakpoint:
        """Stop where the upstream gradient, local derivative, product or new gradient is
        NaN or infinite."""
        bp = step_breakpoints.nonfinite_breakpoint()
        self.breakpoints.append(bp)
        return bp

    def break_on_small(self, eps: float) -> Breakpoint:
        """Stop where the input's new gradient is below ``eps`` in absolute value."""
        bp = step_breakpoints.small_breakpoint(eps)
        self.breakpoints.append(bp)
        return bp

    def _step_names(self, step) -> tuple[str, ...]:
        """The names a breakpoint pattern is matched against: the input's (a group
        step: the drawn circle's and those of the scalar nodes it stands for)."""
        if isinstance(step, GroupStep):
            return (step.tail_name, plain(step.tail_name)) + tuple(n for v in step.inputs for n in self._names_of(v))
        return self._names_of(step.input)

    def hits(self, step) -> list[Breakpoint]:
        """The enabled breakpoints that ``step`` triggers."""
        return [bp for bp in self.breakpoints if bp.enabled and bp.test(step)]

    def continue_(self):
        """Apply steps until one triggers a breakpoint and return it; ``None`` when the
        pass ends first (the position is then at the end)."""
        while not self.at_end:
            step = self.next()
            if self.hits(step):
                return step
        return None

    # ------------------------------------------------------------------ questions
    def check(self, step=None, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-4) -> Check:
        """Finite-difference check of a step's local derivative(s), the current step by
        default (:func:`viz.step_analysis.check`; a grouped step checks all it applies)."""
        step = step or self.current
        if step is None:
            raise ValueError("no current step to check: step forward first")
        return step_analysis.check(step, self.names, eps, atol, rtol)

    def paths(self, node: Union[str, Value]) -> Iterator[Path]:
        """The paths from the loss to ``node`` (:func:`viz.step_analysis.paths`)."""
        return step_analysis.paths(self.trace, self.lookup(node))

    def why(self, node: Union[str, Value], limit: int = 1000) -> Why:
        """The paths from the loss to ``node`` with the product of their local derivatives
        (:func:`viz.step_analysis.why`): ∂l/∂node = Σ over paths of ∏ local derivatives."""
        target = self.lookup(node)
        return step_analysis.why(self.trace, target, self.names, self.fmt, self.final_grad(target), limit)

    def nonfinite_trace(self) -> list[Step]:
        """The chain of scalar steps that carried a finite gradient into the first NaN
        (:func:`viz.step_analysis.nonfinite_chain`), in backward order; empty if all
        gradients are finite."""
        return [self._step_of_edge(e) for e in step_analysis.nonfinite_chain(self.trace)]

    def _step_of_edge(self, e: int) -> Step:
        """Edge ``e`` as a scalar step (numbered as the step that applies it)."""
        if self.detail != "scalar":
            return self._all_edges[e]
        k = int(np.searchsorted(self._ends, e, side="right"))
        if k < len(self._shown) and self._shown[k] == e:
            return self.steps[k]
        return self._edge_step(e, min(k, len(self.steps) - 1), e, tail=False)

    def explain_nonfinite(self) -> str:
        """The :meth:`nonfinite_trace` as text ("" if all gradients are finite)."""
        return step_analysis.explain_nonfinite(self.trace, self.nonfinite_trace(), self.names, self.fmt)

    # --------------------------------------------------------------- presenting
    def draw(self, **options):
        """The backward view at the current position (:func:`viz.step_frames.draw`)."""
        return step_frames.draw(self, **options)

    def frame(self, **options):
        """:meth:`draw` with the current step's formulas as a caption (a slide frame)."""
        return step_frames.frame(self, **options)

    def frame_svg(self, **options) -> str:
        """The SVG text of :meth:`frame`, with only the red twins reached so far."""
        return step_frames.frame_svg(self, **options)

    def export_frames(self, directory: Union[str, FilePath], **options) -> list[FilePath]:
        """One slide-style SVG per position into ``directory`` (:func:`viz.step_frames.export_frames`)."""
        return step_frames.export_frames(self, directory, **options)


def step_through(loss: Value, **options) -> Stepper:
    """``Stepper(loss, **options)``."""
    return Stepper(loss, **options)
