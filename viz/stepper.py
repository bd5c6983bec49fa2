"""Step-through debugging of the backward pass, one chain-rule application at a time.

Backprop from a loss l walks the nodes u in reverse topological order and, for each
input edge a → u, applies (seed 003, the annotated computational graph)

    ∂l/∂a += ∂l/∂u · ∂u/∂a

:class:`Stepper` turns that walk into an ordered list of :class:`Step` objects, one
per input edge, in exactly the order of :func:`autodiff.chain_rule` with
``record=True`` (at ``detail="neuron"``/``"layer"``: one :class:`viz.levels.GroupStep`
per edge of the collapsed drawing, each applying the scalar steps it stands for):
that generator IS the backward implementation (``backward()``
consumes the same code with ``record=False``), so the debugger never recomputes a
gradient itself. Hooks registered with :meth:`Value.register_hook` run inside
``chain_rule`` while the Stepper records, so a hook that replaces a gradient changes
every later step.

The Stepper keeps its own gradients: it records the whole pass once (saving the
graph's ``.grad`` values first and putting them back afterwards, so the user's
gradients are the same before and after, whatever the stepping), keeps for each step
the gradients it changed (old and new value), and moves its own copy to the current
position: after ``goto(k)`` exactly the first k steps are applied (:meth:`Stepper.grad`),
so stepping back, random access and breakpoints are cheap and exact. At the last
position it holds what ``loss.backward()`` would leave; at position 0 the gradients
are as ``chain_rule`` starts them (∂l/∂l = 1, intermediate nodes 0). :meth:`Stepper.apply`
writes the complete pass into the graph's ``.grad``, exactly as ``loss.backward()``.

Which steps are shown: those along edges that lie on a path from the loss to ``wrt``
(the edges the backward drawing marks with red twins), and, unless ``constants=True``,
not those into unlabelled constants (the 0.5 of ½e²). A step left out is still
applied, together with the next step shown, so every position stays exact.

>>> s = Stepper(E)                    # the NPTEL network of seed 004   # doctest: +SKIP
>>> s.break_on("w5"); print(s.continue_())                              # doctest: +SKIP
∂E/∂w₅ += ∂E/∂u₄ · ∂u₄/∂w₅ = 0.1385 · 0.5933 = 0.08217
"""

from __future__ import annotations

import fnmatch
import html
import math
import re
from dataclasses import dataclass
from pathlib import Path as FilePath
from typing import Callable, Iterable, Iterator, Optional, Union

import autodiff
from autodiff import Value

from .levels import GroupStep
from .naming import format_number, plain
from .stepformula import drawn_names, factor, local_derivative

__all__ = ["Stepper", "Step", "Breakpoint", "Check", "Path", "Why", "step_through"]


@dataclass(frozen=True, eq=False)
class Step:
    """One application of ∂l/∂input += ∂l/∂node · ∂node/∂input (``product = upstream · local``).

    ``index`` counts from 0; ``node_index``/``input_index`` are positions in
    :func:`autodiff.topological_order` (the renderer's ids ``n{i}``, ``op{i}``,
    ``e{j}_{i}_{k}``). ``hooked_from`` is ∂l/∂node before a hook replaced it (set on the
    first edge of that node only).
    ``changes`` lists ``(topological index, old grad, new grad)`` in the order they
    happen when the step is applied (a hook's replacement, then the ``+=``).
    """

    index: int
    node: Value
    input: Value
    operand: int
    node_index: int
    input_index: int
    upstream: float
    local: float
    product: float
    grad_before: float
    grad_after: float
    hooked_from: Optional[float]
    formula: str
    changes: tuple[tuple[int, float, float], ...]
    local_formula: str = ""

    @property
    def edge_id(self) -> str:
        """The renderer's id of the forward edge input → op (``e{j}_{i}_{k}``)."""
        return f"e{self.input_index}_{self.node_index}_{self.operand}"

    def __str__(self) -> str:
        return self.formula

    def __repr__(self) -> str:
        return f"<Step {self.index + 1}: {self.formula}>"


@dataclass
class Breakpoint:
    """A condition tested on each step that :meth:`Stepper.continue_` applies."""

    description: str
    test: Callable[[Step], bool]
    enabled: bool = True

    def __str__(self) -> str:
        return self.description + ("" if self.enabled else " (disabled)")


@dataclass(frozen=True)
class Check:
    """A step's local derivative ∂node/∂input against the central difference
    (f(x + ε) − f(x − ε)) / 2ε of the op's own forward function."""

    step: Step
    recorded: float
    rule: float
    numeric: float
    ok: bool
    text: str

    @property
    def error(self) -> float:
        return abs(self.rule - self.numeric)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class Path:
    """One path loss → … → node; ``product`` is the product of its local derivatives."""

    nodes: tuple[Value, ...]
    operands: tuple[int, ...]
    locals: tuple[float, ...]
    product: float

    def __repr__(self) -> str:
        return f"<Path of {len(self.nodes) - 1} edge(s), product {self.product:.6g}>"


@dataclass(frozen=True)
class Why:
    """The paths from the loss to ``node`` (the first ``limit`` of them). By the chain
    rule the sum of the products over all ``count`` paths is ∂l/∂node (``total``);
    ``grad`` is what backward left in the node, which differs only if a hook replaced
    a gradient or a leaf carried an earlier gradient."""

    node: Value
    paths: tuple[Path, ...]
    total: float
    grad: float
    truncated: bool
    text: str
    count: int = 0

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return (f"<Why: {self.count} path(s), {len(self.paths)} listed, sum {self.total:.6g}, "
                f"grad {self.grad:.6g}>")


def _is_constant(v: Value) -> bool:
    """An unlabelled number that is neither a parameter nor computed (``2`` in ``2 * x``)."""
    return v.is_leaf and not v.param and not v.label


def default_wrt(order: list[Value]) -> list[Value]:
    """The nodes whose paths from the loss the stepper follows when none are given: the
    parameters, or, in a graph without any, every labelled leaf (the variables)."""
    params = [v for v in order if v.is_leaf and v.param]
    return params or [v for v in order if v.is_leaf and v.label]


class Stepper:
    """The backward pass from ``loss`` as a list of :class:`Step` (see the module doc).

    ``wrt``: the node(s) whose gradients the learner follows (default
    :func:`default_wrt`); only steps along edges on a path from the loss to them are
    shown, exactly the edges the backward drawing marks. ``constants=True`` also shows
    the steps into unlabelled constants (the 0.5 of ½e², the 1 of 1 − a). Steps left
    out are still applied, each together with the next step shown.
    ``detail``: ``"scalar"`` (one :class:`Step` per scalar edge), or ``"neuron"`` /
    ``"layer"``: one :class:`viz.levels.GroupStep` per edge of the collapsed drawing,
    written as the vector chain rule with shapes, with the drawing's names
    (``max_nodes`` limits that drawing as in :func:`viz.render.draw`).
    ``digits`` sets the significant digits of the formulas; ``unicode`` (default)
    writes names as the drawings do, ``u₁`` and ``w₅`` (a label ``w5``), ``inₒ`` (a
    label ``in_o``); ``unicode=False`` writes ``u1`` and the labels as given. Either
    form is accepted by :meth:`lookup`.
    Recording runs hooks once, now, and leaves every ``.grad`` of the graph as it
    found it. By default the steps start from zero, so they show ∂loss/∂node of this
    loss alone even after an earlier ``loss.backward()``; ``accumulate=True`` starts
    the leaves from their current ``.grad`` and adds to them, as another
    ``loss.backward()`` would.
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
        self.order = autodiff.topological_order(loss)
        self.index = {id(v): i for i, v in enumerate(self.order)}
        self.names = drawn_names(loss, unicode=unicode)
        self.wrt = self._resolve_wrt(wrt)
        self.constants = constants
        # what the steps follow (and the drawing marks): wrt, plus the constants if shown
        self.traced = self.wrt + (tuple(v for v in self.order if _is_constant(v) and v is not loss)
                                  if constants else ())
        self.on_path = self._depends_on(self.traced)
        self.breakpoints: list[Breakpoint] = []
        self.locals: dict[tuple[int, int], float] = {}   # (node index, operand) -> ∂node/∂operand
        saved = [v.grad for v in self.order]
        try:
            if not accumulate:
                for v in self.order:
                    v.grad = 0.0
            self.scalar_steps: list[Step] = self._record(every_edge=detail != "scalar")
            final = [v.grad for v in self.order]
        finally:
            for v, g in zip(self.order, saved):
                v.grad = g
        self.initial = self._initial(final, self.scalar_steps)
        self.graph = None   # the collapsed drawing the steps follow (detail neuron/layer)
        self.loss_name = self.names[loss]   # as the drawing names the loss
        if detail == "scalar":
            self.steps: list = self.scalar_steps
            self.final = final
        else:
            from .levels import group_steps
            from .render import DEFAULT_MAX_NODES, draw
            self.graph = draw(loss, view="backward", detail=detail, wrt=list(self.traced),
                              max_nodes=max_nodes or DEFAULT_MAX_NODES).graph
            self.steps = group_steps(self.graph, self.scalar_steps, self.index, loss, self.initial, self.fmt)
            self.loss_name = next(n.name for n in self.graph.nodes if n.id == self.graph.where[id(loss)])
            self.final = list(self.initial)
            for step in self.steps:
                for idx, _, new in step.changes:
                    self.final[idx] = new
        self.grads = list(self.final)       # this stepper's gradients at ``position``
        self.position = len(self.steps)
        self._reached, self._completed = self._touches()
        self.goto(0)

    def _resolve_wrt(self, wrt: Union[None, Value, Iterable[Value]]) -> tuple[Value, ...]:
        if wrt is None:
            return tuple(default_wrt(self.order))
        items = (wrt,) if isinstance(wrt, (Value, str)) else tuple(wrt)
        return tuple(self.lookup(w) for w in items)

    def _depends_on(self, targets: Iterable[Value]) -> set[int]:
        """ids of the nodes in ``targets`` or with an input that is (the tails of the
        edges on a path from the loss to them)."""
        dep = {id(v) for v in targets}
        for v in self.order:
            if id(v) not in dep and any(id(a) in dep for a in v.inputs):
                dep.add(id(v))
        return dep

    def shows(self, node: Value, input: Value) -> bool:
        """Whether the step along ``input → node`` is shown (see the class doc)."""
        if id(input) not in self.on_path:
            return False
        return self.constants or not _is_constant(input) or any(input is w for w in self.wrt)

    @staticmethod
    def _initial(final: list[float], steps: list) -> list[float]:
        initial = list(final)
        for step in reversed(steps):
            for idx, old, _ in reversed(step.changes):
                initial[idx] = old
        return initial

    # ---------------------------------------------------------------- recording
    def _record(self, every_edge: bool = False) -> list[Step]:
        order, index = self.order, self.index
        rev_pos = {id(v): len(order) - 1 - i for i, v in enumerate(order)}
        hooked_leaves = sorted(((rev_pos[id(v)], i) for i, v in enumerate(order) if v.is_leaf and v._hooks))
        latest: dict[int, float] = {}
        raw: list[list] = []  # [EdgeStep, hooked_from, changes]

        def leaf_hooks_up_to(q: float) -> list[tuple[int, float, float]]:
            out = []
            while hooked_leaves and hooked_leaves[0][0] < q:
                _, j = hooked_leaves.pop(0)
                leaf = order[j]
                if leaf.grad != latest.get(j, leaf.grad):
                    out.append((j, latest[j], leaf.grad))
            return out

        pending: list[tuple[int, float, float]] = []  # grad changes not yet shown in a step
        for node_step in autodiff.chain_rule(self.loss, record=True, order=order):
            q = rev_pos[id(node_step.node)]
            pending += leaf_hooks_up_to(q)
            i = index[id(node_step.node)]
            if node_step.hooked_from is not None:
                pending.append((i, node_step.hooked_from, node_step.upstream))
            hooked_from = node_step.hooked_from
            for edge in node_step.edges:
                j = index[id(edge.input)]
                self.locals[(i, edge.index)] = edge.local
                pending.append((j, edge.grad_before, edge.grad_after))
                latest[j] = edge.grad_after
                if not every_edge and not self.shows(edge.node, edge.input):
                    continue  # applied with the next step shown
                raw.append([edge, hooked_from, pending])
                hooked_from, pending = None, []
        tail = pending + leaf_hooks_up_to(math.inf)
        if raw:
            raw[-1][2].extend(tail)
        elif tail:  # nothing shown, but gradients still move: one step would lie, so none
            pass
        return [self._make_step(n, edge, hooked, tuple(changes))
                for n, (edge, hooked, changes) in enumerate(raw)]

    def _make_step(self, n: int, e: autodiff.EdgeStep, hooked_from: Optional[float],
                   changes: tuple) -> Step:
        return Step(n, e.node, e.input, e.index, self.index[id(e.node)], self.index[id(e.input)],
                    e.upstream, e.local, e.product, e.grad_before, e.grad_after, hooked_from,
                    self._formula(e), changes,
                    local_derivative(e.node, e.index, e.local, self.names, self.fmt))

    def _formula(self, e: autodiff.EdgeStep) -> str:
        name, f = self.names, self.fmt
        l, u, a = name[self.loss], name[e.node], name[e.input]
        which = ""
        if sum(1 for x in e.node.inputs if x is e.input) > 1:
            which = f" (operand {e.index + 1})"
        return (f"∂{l}/∂{a} += ∂{l}/∂{u} · ∂{u}/∂{a}{which} = "
                f"{factor(f(e.upstream))} · {factor(f(e.local))} = {f(e.product)}")

    def fmt(self, x: float) -> str:
        """A number with the stepper's significant digits (as the drawings print them)."""
        return format_number(x, self.digits)

    def _touches(self) -> tuple[list[int], list[int]]:
        """For each node, the positions from which its gradient is known (its first
        contribution applied; 0 for the loss) and complete (its last one applied)."""
        reached = [len(self.steps) + 1] * len(self.order)
        completed = [0] * len(self.order)
        reached[self.index[id(self.loss)]] = 0
        for step in self.steps:
            for j, _, _ in step.changes:
                reached[j] = min(reached[j], step.index + 1)
                completed[j] = max(completed[j], step.index + 1)
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
        """Inline display in Jupyter: the interactive page, isolated in an iframe."""
        from .html_page import notebook_html
        return notebook_html(self)

    @property
    def current(self) -> Optional[Step]:
        """The step applied last (``None`` at position 0)."""
        return self.steps[self.position - 1] if self.position else None

    @property
    def at_end(self) -> bool:
        return self.position == len(self.steps)

    def goto(self, position: int) -> Optional[Step]:
        """Apply exactly the first ``position`` steps (0 … len) to this stepper's
        gradients; returns :attr:`current`."""
        if isinstance(position, bool) or not isinstance(position, int):
            raise TypeError(f"goto needs an integer position, got {position!r}")
        if not 0 <= position <= len(self.steps):
            raise IndexError(f"step {position} is out of range: positions are 0 to {len(self.steps)}")
        grads = self.grads
        while self.position < position:
            for idx, _, new in self.steps[self.position].changes:
                grads[idx] = new
            self.position += 1
        while self.position > position:
            self.position -= 1
            for idx, old, _ in reversed(self.steps[self.position].changes):
                grads[idx] = old
        return self.current

    def next(self) -> Optional[Step]:
        """Apply the next step and return it; ``None`` (and no move) at the end."""
        return self.goto(self.position + 1) if not self.at_end else None

    step = next

    def back(self) -> Optional[Step]:
        """Undo the current step; returns the new current step (``None`` at position 0)."""
        return self.goto(self.position - 1) if self.position else None

    def __iter__(self):
        return iter(self.steps)

    def apply(self) -> None:
        """Write the complete pass into the graph: every node's ``.grad`` becomes what
        ``loss.backward()`` leaves (with ``accumulate=True``: added to the leaves'
        gradients as they were when the Stepper was made). Hooks do not run again.
        Independent of the position; the only method that changes ``.grad``."""
        for v, g in zip(self.order, self.final):
            v.grad = g

    # ------------------------------------------------------------------ state
    def grad(self, node: Union[str, Value]) -> float:
        """∂l/∂node at the current position (this stepper's copy; ``.grad`` is untouched)."""
        return self.grads[self.index[id(self.lookup(node))]]

    def known(self, node: Value) -> bool:
        """Whether ∂l/∂node has received any contribution at the current position."""
        return self._reached[self.index[id(node)]] <= self.position

    def complete(self, node: Value) -> bool:
        """Whether every contribution to ∂l/∂node has been applied."""
        return self._completed[self.index[id(node)]] <= self.position

    def final_grad(self, node: Value) -> float:
        """∂l/∂node after the whole pass (what ``backward()`` leaves)."""
        return self.final[self.index[id(node)]]

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
            shown = ", ".join(known[:40]) + (f", … ({len(known)} names)" if len(known) > 40 else "")
            raise KeyError(f"no node named {name!r}; the nodes are: {shown}")
        raise KeyError(f"{len(hits)} nodes are named {name!r}; label them differently")

    def change_text(self, step) -> str:
        """What a step changes, in words: ``∂l/∂a: 0 → 0.1288`` (a group step: how many
        of the drawn node's entries are complete)."""
        l = self.loss_name
        if isinstance(step, GroupStep):
            targets = [self.index[id(v)] for v in step.inputs]
            if not targets:
                return f"∂{l}/∂{step.tail_name} = ∂{l}/∂{step.result_name} (no scalar node: nothing to store)"
            at = step.index + 1
            done = sum(1 for j in targets if self._completed[j] <= at)
            if len(targets) == 1:
                j = targets[0]
                before = next((old for idx, old, _ in step.changes if idx == j), self.initial[j])
                after = next((new for idx, _, new in reversed(step.changes) if idx == j), before)
                return f"∂{l}/∂{step.tail_name}: {self.fmt(before)} → {self.fmt(after)}"
            return (f"∂{l}/∂{step.tail_name}: {done} of {len(targets)} entries complete "
                    f"({len(step.members)} scalar steps)")
        text = f"∂{l}/∂{self.names[step.input]}: {self.fmt(step.grad_before)} → {self.fmt(step.grad_after)}"
        if step.hooked_from is not None:
            text += (f"   (a hook replaced ∂{l}/∂{self.names[step.node]} = "
                     f"{self.fmt(step.hooked_from)} by {self.fmt(step.upstream)})")
        return text

    def describe(self, node: Union[str, Value]) -> str:
        """One line about a node at the current position: name, op, value, gradient."""
        v = self.lookup(node)
        kind = v.op if not v.is_leaf else ("parameter" if v.param else "leaf")
        grad = "?" if not self.known(v) else self.fmt(self.grad(v)) + ("" if self.complete(v) else " (partial)")
        return f"{self.names[v]} [{kind}]  value {self.fmt(v.data)}  ∂{self.names[self.loss]}/∂{self.names[v]} = {grad}"

    # -------------------------------------------------------------- breakpoints
    def break_on(self, spec: Union[str, "re.Pattern[str]", Callable[[Step], bool]],
                 description: Optional[str] = None) -> Breakpoint:
        """Stop :meth:`continue_` at steps whose input's name matches ``spec`` (an
        ``fnmatch`` pattern such as ``"w*"``, or a compiled regular expression,
        searched), or for which ``spec(step)`` is true when it is a callable."""
        if isinstance(spec, str):
            test = lambda s: any(fnmatch.fnmatchcase(n, spec) for n in self._step_names(s))
            description = description or f"name matches {spec!r}"
        elif isinstance(spec, re.Pattern):
            test = lambda s: any(spec.search(n) for n in self._step_names(s))
            description = description or f"name matches /{spec.pattern}/"
        elif callable(spec):
            test = spec
            description = description or f"predicate {getattr(spec, '__name__', repr(spec))}"
        else:
            raise TypeError(f"break_on needs a pattern, a compiled regex or a predicate, got {spec!r}")
        bp = Breakpoint(description, test)
        self.breakpoints.append(bp)
        return bp

    def break_on_nonfinite(self) -> Breakpoint:
        """Stop where the upstream gradient, local derivative, product or new gradient is
        NaN or infinite."""
        test = lambda s: any(not all(map(math.isfinite, (p.upstream, p.local, p.product, p.grad_after)))
                             for p in _parts(s))
        bp = Breakpoint("a non-finite value (NaN or ±inf)", test)
        self.breakpoints.append(bp)
        return bp

    def break_on_small(self, eps: float) -> Breakpoint:
        """Stop where the input's new gradient is below ``eps`` in absolute value (a
        vanishing gradient)."""
        if not eps > 0:
            raise ValueError(f"break_on_small needs eps > 0, got {eps!r}")
        bp = Breakpoint(f"|gradient| < {eps:g}", lambda s: any(abs(p.grad_after) < eps for p in _parts(s)))
        self.breakpoints.append(bp)
        return bp

    def _step_names(self, step) -> tuple[str, ...]:
        """The names a breakpoint pattern is matched against: the input's (a group
        step: the drawn circle's and those of the scalar nodes it stands for)."""
        if isinstance(step, GroupStep):
            return (step.tail_name, plain(step.tail_name)) + tuple(n for v in step.inputs for n in self._names_of(v))
        return self._names_of(step.input)

    def _names_of(self, v: Value) -> tuple[str, ...]:
        """The names a user may type for ``v``: as displayed, with ASCII digits, its label."""
        return (self.names[v], plain(self.names[v])) + ((v.label,) if v.label else ())

    def hits(self, step: Step) -> list[Breakpoint]:
        """The enabled breakpoints that ``step`` triggers."""
        return [bp for bp in self.breakpoints if bp.enabled and bp.test(step)]

    def continue_(self) -> Optional[Step]:
        """Apply steps until one triggers a breakpoint and return it; ``None`` when the
        pass ends first (the position is then at the end)."""
        while not self.at_end:
            step = self.next()
            if self.hits(step):
                return step
        return None

    # ------------------------------------------------------------------ checks
    def check(self, step: Optional[Step] = None, eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-4) -> Check:
        """Finite-difference check of a step's local derivative (the current one by
        default), using :func:`autodiff.local_gradcheck` on the op's table forward."""
        step = step or self.current
        if step is None:
            raise ValueError("no current step to check: step forward first")
        if isinstance(step, GroupStep):
            raise ValueError(f"check works on one scalar step; step {step.index + 1} groups "
                             f"{len(step.members)} of them (check each of step.members, or use detail='scalar')")
        eps, atol, rtol = autodiff.check_tolerances("Stepper.check", eps, atol, rtol)
        u, a = self.names[step.node], self.names[step.input]
        try:
            _, rule, numeric = autodiff.local_gradcheck(step.node, eps)[step.operand]
        except autodiff.UndefinedHere as exc:
            return Check(step, step.local, float("nan"), float("nan"), False,
                         f"∂{u}/∂{a} ({step.node.op}): undefined here: {exc}")
        ok = abs(rule - numeric) <= atol + rtol * abs(numeric) and rule == step.local
        text = (f"∂{u}/∂{a} ({step.node.op}): rule {rule:.10g}, central difference "
                f"{numeric:.10g}, |difference| {abs(rule - numeric):.2g} -> {'ok' if ok else 'MISMATCH'}")
        return Check(step, step.local, rule, numeric, ok, text)

    def paths(self, node: Union[str, Value]) -> Iterator[Path]:
        """The paths from the loss to ``node``, one at a time (depth first, operands in
        order). Only nodes from which ``node`` can be reached are entered, so every
        branch ends at ``node`` and the cost is the length of the paths produced."""
        target = self.lookup(node)
        reaches = self._reaching(target)
        if id(self.loss) not in reaches:
            return
        index, local = self.index, self.locals
        nodes: list[Value] = [self.loss]
        ops: list[int] = []
        locs: list[float] = []
        stack: list[Iterator[int]] = [iter(range(len(self.loss.inputs)))]
        if self.loss is target:
            yield Path((target,), (), (), 1.0)
            return
        while stack:
            last = nodes[-1]
            for k in stack[-1]:
                x = last.inputs[k]
                if id(x) not in reaches:
                    continue
                nodes.append(x)
                ops.append(k)
                locs.append(local[(index[id(last)], k)])
                if x is target:
                    yield Path(tuple(nodes), tuple(ops), tuple(locs), math.prod(locs))
                    nodes.pop(), ops.pop(), locs.pop()
                    continue
                stack.append(iter(range(len(x.inputs))))
                break
            else:
                stack.pop()
                if ops:
                    nodes.pop(), ops.pop(), locs.pop()

    def _reaching(self, target: Value) -> set[int]:
        """ids of the nodes from which ``target`` is reached going backward (one pass)."""
        reaches = {id(target)}
        for v in self.order[self.index[id(target)] + 1:]:
            if any(id(x) in reaches for x in v.inputs):
                reaches.add(id(v))
        return reaches

    def why(self, node: Union[str, Value], limit: int = 1000) -> Why:
        """The paths from the loss to ``node`` with the product of their local derivatives.

        By the chain rule ∂l/∂node = Σ over paths of ∏ local derivatives along the path.
        The number of paths and that sum are computed for all of them by dynamic
        programming, in one pass over the graph; the paths themselves are enumerated
        lazily (:meth:`paths`) and at most ``limit`` (an integer ≥ 1) are listed
        (``truncated`` says whether there are more)."""
        if isinstance(limit, bool) or not isinstance(limit, int):
            raise TypeError(f"why(limit=...) needs an integer ≥ 1, got {limit!r}")
        if limit < 1:
            raise ValueError(f"why(limit={limit}): the limit must be at least 1")
        target = self.lookup(node)
        reaches = self._reaching(target)
        index, local = self.index, self.locals
        total_of: dict[int, float] = {id(target): 1.0}
        count_of: dict[int, int] = {id(target): 1}
        for v in self.order[index[id(target)] + 1:]:
            if id(v) in reaches:
                i = index[id(v)]
                ks = [k for k, x in enumerate(v.inputs) if id(x) in reaches]
                total_of[id(v)] = math.fsum(local[(i, k)] * total_of[id(v.inputs[k])] for k in ks)
                count_of[id(v)] = sum(count_of[id(v.inputs[k])] for k in ks)
        count = count_of.get(id(self.loss), 0)
        paths: list[Path] = []
        for p in self.paths(target):
            paths.append(p)
            if len(paths) == limit:
                break
        truncated = count > len(paths)
        total = total_of.get(id(self.loss), 0.0)
        grad = self.final_grad(target)
        text = self._why_text(target, paths, count, total, grad)
        return Why(target, tuple(paths), total, grad, truncated, text, count)

    def _why_text(self, target: Value, paths: list[Path], count: int, total: float, grad: float) -> str:
        name, f = self.names, self.fmt
        l, t = name[self.loss], name[target]
        if not paths:
            return f"no path from {l} to {t}: ∂{l}/∂{t} = 0"
        listed = f" (the first {len(paths)} listed)" if count > len(paths) else ""
        lines = [f"{count} path(s) from {l} to {t}{listed}:"]
        for p in paths:
            if len(p.nodes) <= 12:
                chain = " → ".join(name[v] for v in p.nodes)
            else:
                chain = (" → ".join(name[v] for v in p.nodes[:5]) + f" → … ({len(p.nodes) - 10} more) → "
                         + " → ".join(name[v] for v in p.nodes[-5:]))
            factors = " · ".join(f"∂{name[u]}/∂{name[a]}" for u, a in zip(p.nodes, p.nodes[1:]))
            values = " · ".join(factor(f(x)) for x in p.locals) if len(p.locals) <= 12 else \
                f"product of {len(p.locals)} local derivatives"
            symbolic = f"{factors} = " if len(p.locals) <= 4 else ""
            lines.append(f"  {chain}:  {symbolic}{values} = {f(p.product)}")
        lines.append(f"sum over paths = {f(total)};  ∂{l}/∂{t} after backward = {f(grad)}")
        return "\n".join(lines)

    # --------------------------------------------------------------- non-finite
    def nonfinite_trace(self) -> list[Step]:
        """The chain of steps that carried a finite gradient into the first NaN.

        Scalar steps (at the neuron and layer levels, those of the whole pass).
        Start at the first step whose product or new gradient is NaN (or, if none is,
        ±inf) and walk back through the steps that made each upstream gradient
        non-finite, until a step whose upstream gradient is finite: there a finite
        ∂l/∂u met a non-finite local derivative (or the product overflowed). Returned
        in backward order (the finite end first); empty if all gradients are finite."""
        def bad(s: Step) -> bool:
            return not (math.isfinite(s.product) and math.isfinite(s.grad_after))
        steps = self.scalar_steps
        first = next((s for s in steps if math.isnan(s.product) or math.isnan(s.grad_after)), None)
        first = first or next((s for s in steps if bad(s)), None)
        if first is None:
            return []
        chain = [first]
        while not math.isfinite(chain[0].upstream):
            cause = next((s for s in steps[:chain[0].index]
                          if s.input is chain[0].node and bad(s)), None)
            if cause is None:  # made non-finite by a hook, or the loss itself
                break
            chain.insert(0, cause)
        return chain

    def explain_nonfinite(self) -> str:
        """The :meth:`nonfinite_trace` as text ("" if all gradients are finite)."""
        chain = self.nonfinite_trace()
        if not chain:
            return ""
        name, f, l = self.names, self.fmt, self.names[self.loss]
        first = chain[0]
        lines = [f"∂{l}/∂{name[first.node]} = {f(first.upstream)} is finite"
                 if math.isfinite(first.upstream) else
                 f"∂{l}/∂{name[first.node]} = {f(first.upstream)} is not finite already"]
        for s in chain:
            lines.append(f"step {s.index + 1}: ∂{l}/∂{name[s.node]} · ∂{name[s.node]}/∂{name[s.input]} = "
                         f"{f(s.upstream)} · {f(s.local)} = {f(s.product)}  →  ∂{l}/∂{name[s.input]} = "
                         f"{f(s.grad_after)}")
        return "\n".join(lines)

    # --------------------------------------------------------------- drawing
    def draw(self, **options):
        """The backward view at the current position: the current node, op and edge
        highlighted, gradients not reached yet drawn as unknown, red twins on the
        edges to ``wrt`` (see viz.render.draw). The graph's ``.grad`` values are
        shown as this stepper has them and left as they were."""
        from .render import draw
        step = self.current
        if self.detail != "scalar":
            options.setdefault("detail", self.detail)
        if step is None:
            highlight_nodes, highlight_edges = (self.loss,), ()
        elif isinstance(step, GroupStep):
            highlight_nodes, highlight_edges = (step.tail, step.head, step.result), step.twins
        else:
            highlight_nodes = (step.node, step.input, f"op{step.node_index}")
            highlight_edges = (step.edge_id + "_back", f"r{step.node_index}_back")
            options.setdefault("edge_labels", {step.edge_id + "_back": f"× {self.fmt(step.local)}"})
        known = [v for v in self.order if self.known(v)]
        options.setdefault("wrt", list(self.traced))
        saved = [v.grad for v in self.order]
        try:
            for v, g in zip(self.order, self.grads):
                v.grad = g
            return draw(self.loss, view="backward", highlight_nodes=highlight_nodes,
                        highlight_edges=highlight_edges, grads_known=known, **options)
        finally:
            for v, g in zip(self.order, saved):
                v.grad = g

    def frame(self, **options):
        """:meth:`draw` with the current step's formula as a caption under the graph
        (a slide frame)."""
        drawing = self.draw(**options)
        step = self.current
        lines = [step.formula, step.local_formula] if step else [f"∂{self.loss_name}/∂{self.loss_name} = 1"]
        caption = "<BR/>".join(html.escape(line) for line in lines if line)
        drawing.digraph.attr(label=f'<<FONT FACE="Latin Modern Math," POINT-SIZE="16">{caption}</FONT>>',
                             labelloc="b", labeljust="c")
        return drawing

    def frame_svg(self, **options) -> str:
        """The SVG text of :meth:`frame`, with only the red twins the steps so far have
        reached (a twin appears when its step does, as on the page)."""
        svg = self.frame(**options).svg()
        reached = {t for st in self.steps[:self.position] for t in _twins(st)}
        later = {t for st in self.steps for t in _twins(st)} - reached
        if later:
            pattern = re.compile(r'<!-- [^>]*? -->\n<g id="(%s)" class="edge backward">.*?</g>\n'
                                 % "|".join(map(re.escape, sorted(later))), re.S)
            svg = pattern.sub("", svg)
        return svg

    def export_frames(self, directory: Union[str, FilePath], **options) -> list[FilePath]:
        """Write one slide-style SVG per step into ``directory`` (created if needed):
        ``step-001.svg`` … with that step applied, its edge highlighted, the red twins
        reached so far, and its formula as the caption (``step-000.svg`` is the start).
        Returns the paths; leaves the position unchanged."""
        out = FilePath(directory)
        out.mkdir(parents=True, exist_ok=True)
        width = max(3, len(str(len(self.steps))))
        keep = self.position
        paths = []
        try:
            for k in range(len(self.steps) + 1):
                self.goto(k)
                path = out / f"step-{k:0{width}d}.svg"
                path.write_text(self.frame_svg(**options), encoding="utf-8")
                paths.append(path)
        finally:
            self.goto(keep)
        return paths


def _twins(step) -> list[str]:
    """The drawn ids of the red twins a step reaches (its edge's, and its op's result edge)."""
    if isinstance(step, GroupStep):
        return list(step.twins)
    return [step.edge_id + "_back", f"r{step.node_index}_back"]


def _parts(step) -> list[Step]:
    """The scalar steps a step applies (itself, or a group step's members)."""
    return list(step.members) if isinstance(step, GroupStep) else [step]


def step_through(loss: Value, **options) -> Stepper:
    """``Stepper(loss, **options)``."""
    return Stepper(loss, **options)
