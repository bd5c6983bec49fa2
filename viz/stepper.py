"""Step-through debugging of the backward pass, one chain-rule application at a time.

Backprop from a loss l walks the nodes u in reverse topological order and, for each
input edge a → u, applies (seed 003, the annotated computational graph)

    ∂l/∂a += ∂l/∂u · ∂u/∂a

:class:`Stepper` turns that walk into an ordered list of :class:`Step` objects, one
per input edge, in exactly the order of :func:`autodiff.chain_rule` with
``record=True``: that generator IS the backward implementation (``backward()``
consumes the same code with ``record=False``), so the debugger never recomputes a
gradient itself. Hooks registered with :meth:`Value.register_hook` run inside
``chain_rule`` while the Stepper records, so a hook that replaces a gradient changes
every later step.

``chain_rule`` mutates ``.grad`` as it goes. The Stepper records the whole pass
once, keeps for each step the gradients it changed (old and new value), and then
sets the graph's ``.grad`` attributes to reflect the current position: after
``goto(k)`` exactly the first k steps are applied, so stepping back, random access
and breakpoints are cheap and exact. At the last position the graph holds what
``loss.backward()`` would have left; at position 0 the gradients are as
``chain_rule`` starts them (∂l/∂l = 1, intermediate nodes 0, leaves unchanged).

>>> s = Stepper(E)                    # the NPTEL network of seed 004   # doctest: +SKIP
>>> s.break_on("w5"); print(s.continue_())                              # doctest: +SKIP
∂E/∂w5 += ∂E/∂u4 · ∂u4/∂w5 = 0.1385 · 0.5933 = 0.08217
"""

from __future__ import annotations

import fnmatch
import math
import re
from dataclasses import dataclass
from typing import Callable, Optional, Union

import autodiff
from autodiff import Value

from .naming import display_names, format_number, plain, subscript

__all__ = ["Stepper", "Step", "Breakpoint", "Check", "Path", "Why", "step_through"]

_DRAWN = re.compile(r"^([A-Za-zα-ωΑ-Ω])_?([0-9]+)$")  # one letter + index: drawn with a subscript


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

    @property
    def edge_id(self) -> str:
        """The renderer's id of the forward edge input → op (``e{j}_{i}_{k}``)."""
        return f"e{self.input_index}_{self.node_index}_{self.operand}"

    def __str__(self) -> str:
        return self.formula


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


@dataclass(frozen=True)
class Why:
    """Every path from the loss to ``node``. By the chain rule the sum of the path
    products is ∂l/∂node (``total``); ``grad`` is what backward left in the node, which
    differs only if a hook replaced a gradient or a leaf carried an earlier gradient."""

    node: Value
    paths: tuple[Path, ...]
    total: float
    grad: float
    truncated: bool
    text: str

    def __str__(self) -> str:
        return self.text


def _is_constant(v: Value) -> bool:
    """An unlabelled number that is neither a parameter nor computed (``2`` in ``2 * x``)."""
    return v.is_leaf and not v.param and not v.label


class Stepper:
    """The backward pass from ``loss`` as a list of :class:`Step` (see the module doc).

    ``digits`` sets the significant digits of the formulas; ``unicode`` writes names
    as the drawings do, ``u₁`` and ``w₅`` (a label ``w5`` or ``w_5``), instead of ``u1``
    and the label as given. Either form is accepted by :meth:`lookup`.
    Recording runs hooks once, now. By default the graph's gradients are zeroed
    first, so the steps show ∂loss/∂node of this loss alone even after an earlier
    ``loss.backward()``; ``accumulate=True`` keeps the leaves' earlier gradients and
    adds to them, exactly as another ``loss.backward()`` would.
    ``constants=False`` leaves out the steps into unlabelled constants (the 0.5 of
    ½e², the 1 of 1 − a): their gradients are still computed, each applied together
    with the next step shown, so a learner sees only the edges that matter.
    """

    def __init__(self, loss: Value, *, digits: int = 4, unicode: bool = False,
                 accumulate: bool = False, constants: bool = True) -> None:
        if not isinstance(loss, Value):
            raise TypeError(f"Stepper needs the loss Value, got {type(loss).__name__}: {loss!r}")
        if not accumulate:
            autodiff.zero_grad(loss)
        self.loss = loss
        self.digits = digits
        self.order = autodiff.topological_order(loss)
        self.index = {id(v): i for i, v in enumerate(self.order)}
        self.names = display_names(loss, unicode=unicode)
        if unicode:  # write labels such as w5 or x_1 as the drawing does: w₅, x₁
            self.names = {v: _DRAWN.sub(lambda m: m[1] + subscript(m[2]), n) for v, n in self.names.items()}
        self.breakpoints: list[Breakpoint] = []
        self.constants = constants
        self.steps: list[Step] = self._record()
        self.final = [v.grad for v in self.order]
        self.initial = list(self.final)
        for step in reversed(self.steps):
            for idx, old, _ in reversed(step.changes):
                self.initial[idx] = old
        self.position = len(self.steps)
        self._reached, self._completed = self._touches()
        self.goto(0)

    # ---------------------------------------------------------------- recording
    def _record(self) -> list[Step]:
        order, index = self.order, self.index
        rev_pos = {id(v): len(order) - 1 - i for i, v in enumerate(order)}
        hooked_leaves = sorted((rev_pos[id(v)], v) for v in order if v.is_leaf and v._hooks)
        latest: dict[int, float] = {}
        raw: list[list] = []  # [EdgeStep, hooked_from, changes]

        def leaf_hooks_up_to(q: float) -> list[tuple[int, float, float]]:
            out = []
            while hooked_leaves and hooked_leaves[0][0] < q:
                _, leaf = hooked_leaves.pop(0)
                j = index[id(leaf)]
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
                pending.append((j, edge.grad_before, edge.grad_after))
                latest[j] = edge.grad_after
                if not self.constants and _is_constant(edge.input):
                    continue  # applied with the next step shown
                raw.append([edge, hooked_from, pending])
                hooked_from, pending = None, []
        tail = pending + leaf_hooks_up_to(math.inf)
        if raw:
            raw[-1][2].extend(tail)
        return [self._make_step(n, edge, hooked, tuple(changes))
                for n, (edge, hooked, changes) in enumerate(raw)]

    def _make_step(self, n: int, e: autodiff.EdgeStep, hooked_from: Optional[float],
                   changes: tuple) -> Step:
        return Step(n, e.node, e.input, e.index, self.index[id(e.node)], self.index[id(e.input)],
                    e.upstream, e.local, e.product, e.grad_before, e.grad_after, hooked_from,
                    self._formula(e), changes)

    def _formula(self, e: autodiff.EdgeStep) -> str:
        name, f = self.names, self.fmt
        l, u, a = name[self.loss], name[e.node], name[e.input]
        which = ""
        if sum(1 for x in e.node.inputs if x is e.input) > 1:
            which = f" (operand {e.index + 1})"
        return (f"∂{l}/∂{a} += ∂{l}/∂{u} · ∂{u}/∂{a}{which} = "
                f"{f(e.upstream)} · {f(e.local)} = {f(e.product)}")

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

    # ------------------------------------------------------------------ moving
    def __len__(self) -> int:
        return len(self.steps)

    @property
    def current(self) -> Optional[Step]:
        """The step applied last (``None`` at position 0)."""
        return self.steps[self.position - 1] if self.position else None

    @property
    def at_end(self) -> bool:
        return self.position == len(self.steps)

    def goto(self, position: int) -> Optional[Step]:
        """Apply exactly the first ``position`` steps (0 … len); returns :attr:`current`."""
        if isinstance(position, bool) or not isinstance(position, int):
            raise TypeError(f"goto needs an integer position, got {position!r}")
        if not 0 <= position <= len(self.steps):
            raise IndexError(f"step {position} is out of range: positions are 0 to {len(self.steps)}")
        order = self.order
        while self.position < position:
            for idx, _, new in self.steps[self.position].changes:
                order[idx].grad = new
            self.position += 1
        while self.position > position:
            self.position -= 1
            for idx, old, _ in reversed(self.steps[self.position].changes):
                order[idx].grad = old
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

    # ------------------------------------------------------------------ state
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
        hits = [v for v in self.order if name in self._names_of(v)]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            known = ", ".join(sorted({plain(self.names[v]) for v in self.order}))
            raise KeyError(f"no node named {name!r}; the nodes are: {known}")
        raise KeyError(f"{len(hits)} nodes are named {name!r}; label them differently")

    def describe(self, node: Union[str, Value]) -> str:
        """One line about a node at the current position: name, op, value, gradient."""
        v = self.lookup(node)
        kind = v.op if not v.is_leaf else ("parameter" if v.param else "leaf")
        grad = "?" if not self.known(v) else self.fmt(v.grad) + ("" if self.complete(v) else " (partial)")
        return f"{self.names[v]} [{kind}]  value {self.fmt(v.data)}  ∂{self.names[self.loss]}/∂{self.names[v]} = {grad}"

    # -------------------------------------------------------------- breakpoints
    def break_on(self, spec: Union[str, "re.Pattern[str]", Callable[[Step], bool]],
                 description: Optional[str] = None) -> Breakpoint:
        """Stop :meth:`continue_` at steps whose input's name matches ``spec`` (an
        ``fnmatch`` pattern such as ``"w*"``, or a compiled regular expression,
        searched), or for which ``spec(step)`` is true when it is a callable."""
        if isinstance(spec, str):
            test = lambda s: any(fnmatch.fnmatchcase(n, spec) for n in self._names_of(s.input))
            description = description or f"name matches {spec!r}"
        elif isinstance(spec, re.Pattern):
            test = lambda s: any(spec.search(n) for n in self._names_of(s.input))
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
        test = lambda s: not all(map(math.isfinite, (s.upstream, s.local, s.product, s.grad_after)))
        bp = Breakpoint("a non-finite value (NaN or ±inf)", test)
        self.breakpoints.append(bp)
        return bp

    def break_on_small(self, eps: float) -> Breakpoint:
        """Stop where the input's new gradient is below ``eps`` in absolute value (a
        vanishing gradient)."""
        if not eps > 0:
            raise ValueError(f"break_on_small needs eps > 0, got {eps!r}")
        bp = Breakpoint(f"|gradient| < {eps:g}", lambda s: abs(s.grad_after) < eps)
        self.breakpoints.append(bp)
        return bp

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
        _, rule, numeric = autodiff.local_gradcheck(step.node, eps)[step.operand]
        ok = abs(rule - numeric) <= atol + rtol * abs(numeric) and rule == step.local
        u, a = self.names[step.node], self.names[step.input]
        text = (f"∂{u}/∂{a} ({step.node.op}): rule {rule:.10g}, central difference "
                f"{numeric:.10g}, |difference| {abs(rule - numeric):.2g} -> {'ok' if ok else 'MISMATCH'}")
        return Check(step, step.local, rule, numeric, ok, text)

    def why(self, node: Union[str, Value], limit: int = 1000) -> Why:
        """Every path from the loss to ``node`` with the product of its local derivatives.

        By the chain rule ∂l/∂node = Σ over paths of ∏ local derivatives along the path.
        At most ``limit`` paths are listed (``truncated`` says so); the sum is computed
        for all of them by dynamic programming over the graph."""
        target = self.lookup(node)
        local = {(s.node_index, s.operand): s.local for s in self.steps}
        # nodes from which target can be reached going backward (target is an ancestor)
        reaches = {id(target)}
        for v in self.order:
            if any(id(x) in reaches for x in v.inputs):
                reaches.add(id(v))
        total_of: dict[int, float] = {id(target): 1.0}
        for v in self.order:
            if id(v) in reaches and v is not target:
                i = self.index[id(v)]
                total_of[id(v)] = math.fsum(local[(i, k)] * total_of[id(x)]
                                            for k, x in enumerate(v.inputs) if id(x) in reaches)
        paths: list[Path] = []
        truncated = False
        if id(self.loss) in reaches:
            stack: list[tuple[tuple[Value, ...], tuple[int, ...], tuple[float, ...]]] = [((self.loss,), (), ())]
            while stack:
                nodes, ops, locs = stack.pop()
                last = nodes[-1]
                if last is target:
                    if len(paths) == limit:
                        truncated = True
                        break
                    paths.append(Path(nodes, ops, locs, math.prod(locs)))
                    continue
                i = self.index[id(last)]
                for k in reversed(range(len(last.inputs))):
                    x = last.inputs[k]
                    if id(x) in reaches:
                        stack.append((nodes + (x,), ops + (k,), locs + (local[(i, k)],)))
        total = total_of.get(id(self.loss), 0.0)
        grad = self.final_grad(target)
        return Why(target, tuple(paths), total, grad, truncated, self._why_text(target, paths, total, grad, truncated))

    def _why_text(self, target: Value, paths: list[Path], total: float, grad: float, truncated: bool) -> str:
        name, f = self.names, self.fmt
        l, t = name[self.loss], name[target]
        if not paths:
            return f"no path from {l} to {t}: ∂{l}/∂{t} = 0"
        lines = [f"{len(paths)}{'+' if truncated else ''} path(s) from {l} to {t}:"]
        for p in paths:
            chain = " → ".join(name[v] for v in p.nodes)
            factors = " · ".join(f"∂{name[u]}/∂{name[a]}" for u, a in zip(p.nodes, p.nodes[1:]))
            values = " · ".join(f(x) for x in p.locals)
            symbolic = f"{factors} = " if len(p.locals) <= 4 else ""
            lines.append(f"  {chain}:  {symbolic}{values} = {f(p.product)}")
        lines.append(f"sum over paths = {f(total)};  ∂{l}/∂{t} after backward = {f(grad)}")
        return "\n".join(lines)

    # --------------------------------------------------------------- non-finite
    def nonfinite_trace(self) -> list[Step]:
        """The chain of steps that carried a finite gradient into the first NaN.

        Start at the first step whose product or new gradient is NaN (or, if none is,
        ±inf) and walk back through the steps that made each upstream gradient
        non-finite, until a step whose upstream gradient is finite: there a finite
        ∂l/∂u met a non-finite local derivative (or the product overflowed). Returned
        in backward order (the finite end first); empty if all gradients are finite."""
        def bad(s: Step) -> bool:
            return not (math.isfinite(s.product) and math.isfinite(s.grad_after))
        first = next((s for s in self.steps if math.isnan(s.product) or math.isnan(s.grad_after)), None)
        first = first or next((s for s in self.steps if bad(s)), None)
        if first is None:
            return []
        chain = [first]
        while not math.isfinite(chain[0].upstream):
            cause = next((s for s in self.steps[:chain[0].index]
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
        highlighted, gradients not reached yet drawn as unknown (see viz.render.draw)."""
        from .render import draw
        step = self.current
        if step is None:
            highlight_nodes, highlight_edges = (self.loss,), ()
        else:
            highlight_nodes = (step.node, step.input, f"op{step.node_index}")
            highlight_edges = (step.edge_id + "_back", f"r{step.node_index}_back")
            options.setdefault("edge_labels", {step.edge_id + "_back": f"× {self.fmt(step.local)}"})
        known = [v for v in self.order if self.known(v)]
        options.setdefault("wrt", [v for v in self.order if v.is_leaf])
        return draw(self.loss, view="backward", highlight_nodes=highlight_nodes,
                    highlight_edges=highlight_edges, grads_known=known, **options)


def step_through(loss: Value, **options) -> Stepper:
    """``Stepper(loss, **options)``."""
    return Stepper(loss, **options)
