"""Reverse-mode backpropagation: one pass, in its own storage, written once at the end.

For a loss l and the nodes u in reverse topological order, every input edge a → u
applies the chain rule (seed 003, backprop of the annotated graph):

    ∂l/∂a += ∂l/∂u · ∂u/∂a

where ∂u/∂a is the op's local partial from :mod:`autodiff.ops`.

:func:`run_pass` is the one implementation of that loop. It accumulates every node's
∂l/∂node in a dictionary of its own (never in the nodes' ``.grad`` fields), so passes
that run at the same time over graphs sharing nodes cannot see each other's partial
sums. :func:`write_gradients` then writes the result once, under :data:`GRADIENT_LOCK`:
an intermediate node's ``.grad`` becomes its gradient of this pass, a leaf's ``.grad``
has this pass's gradient added (leaves accumulate across calls, as in PyTorch: the
contributions of one pass are summed first, then added). :func:`backward` is those two
steps (or the C core's same pass); :class:`autodiff.trace.Trace` records the same
pass with ``record=True`` for the step-through debugger.
"""

from __future__ import annotations

import math
import numbers
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable, Iterator, Optional, Union

from operator import attrgetter

from .engine import core
from .staleness import check_graph
from .validate import real_number
from .describe import describe
from .graph_order import topological_order

if TYPE_CHECKING:  # for the annotations only
    from .value import Value

_inputs = attrgetter("inputs")
_hypot = math.hypot

__all__ = ["topological_order", "backward", "NodeStep", "EdgeStep", "run_pass",
           "write_gradients", "check_gradients", "GRADIENT_LOCK", "Recording"]

#: Held while a pass writes its gradients into ``.grad`` (by :func:`write_gradients`, and
#: around the C core's pass, which writes at its end): a leaf's ``grad += g`` is a read and
#: a write, and two passes adding into one shared leaf must not interleave them.
GRADIENT_LOCK = threading.Lock()


@dataclass
class EdgeStep:
    """One application of the chain rule along the edge ``input → node``.

    ``grad_after = grad_before + upstream · local`` (``product = upstream · local``); the
    gradients are this pass's sums (a leaf's earlier ``.grad`` is added at the end).
    """

    node: Value
    input: Value
    index: int
    upstream: float
    local: float
    product: float
    grad_before: float
    grad_after: float

    def __repr__(self) -> str:
        return (f"<EdgeStep {_short(self.input)} → {_short(self.node)} (operand {self.index}): "
                f"grad {self.grad_before:.6g} + {self.upstream:.6g} · {self.local:.6g} = {self.grad_after:.6g}>")


@dataclass
class NodeStep:
    """All edges of one node, in operand order. ``upstream`` is ∂l/∂node as it flows on
    (after hooks); ``hooked_from`` is the gradient before a hook replaced it."""

    node: Value
    upstream: float
    edges: list[EdgeStep] = field(default_factory=list)
    hooked_from: Optional[float] = None

    def __repr__(self) -> str:
        hook = f", hooked from {self.hooked_from:.6g}" if self.hooked_from is not None else ""
        return f"<NodeStep {_short(self.node)}: ∂l/∂node = {self.upstream:.6g}{hook}, {len(self.edges)} edge(s)>"


def _short(v: Value) -> str:
    """A node in a few characters: its label, else its op, else its number."""
    return repr(v.label) if v.label else (v.op or f"{v.data:.6g}")


def _run_hooks(node: Value, grad: float) -> float:
    for entry in list(node._hooks or ()):
        hook = entry.fn
        replaced = hook(grad)
        if replaced is not None:
            replaced = real_number(replaced, f"the value a hook on {describe(node)} returned")
            if not math.isfinite(replaced):
                raise FloatingPointError(
                    f"a hook on {describe(node)} returned {replaced!r} for the gradient {grad!r}; "
                    "a hook must return a finite number (or None to keep the gradient)")
            grad = float(replaced)
    return grad


def _where(node: Value, i: int, inp: Value, grad: float, local: float) -> str:
    return (f"{describe(node)} → input {i} {describe(inp)}: ∂l/∂node · ∂node/∂input = "
            f"{grad!r} · {local!r}")


_STEPPER_HINT = ("Step through it with viz.Stepper(loss) (break_on_nonfinite, explain_nonfinite) "
                 "to see where it comes from.")


def _infinite_local_allowed(node: Value) -> bool:
    """An infinite local derivative is a limit (d(aᵏ)/da at a = 0, k < 1) or comes from an
    infinite operand the user gave; any other one overflowed from finite numbers."""
    limit_at = node._op.limit_at
    if limit_at is not None and limit_at([v.data for v in node.inputs], node.attr):
        return True
    return any(v.data - v.data != 0.0 for v in node.inputs)


def check_gradients(order: list[Value], grads: dict[Value, float]) -> None:
    """Called once per pass, only when the cheap bound of the pass is not finite: walk the
    pass again (its gradients ``grads``, as :func:`run_pass` left them) and raise at the
    first gradient that is wrong, in backward order.

    * ``FloatingPointError``: a NaN gradient, from 0 · ∞, from a NaN operand, or from
      contributions +∞ and −∞ that meet in one node;
    * ``OverflowError``: a gradient that overflows to ±∞ from finite numbers (the forward
      pass raises for the same overflow).

    An infinity made by an infinite local derivative at a singular point (d√x/dx at 0) or
    by an infinite operand is a limit and passes, as in PyTorch; so does everything it
    propagates to, unless it meets a 0 or −∞.
    """
    infinite_source: dict[int, bool] = {}  # id -> some contribution was ±∞ (a limit)
    leaves: dict[int, tuple[Value, float]] = {}  # id -> (leaf, sum of this pass's contributions)
    for node in reversed(order):
        op = node._op
        if op is None:
            continue
        grad = grads[node]
        if grad != grad:
            raise FloatingPointError(
                f"backward: a NaN gradient at {describe(node)}: its contributions +inf and -inf "
                f"cancel. {_STEPPER_HINT}")
        if grad - grad != 0.0 and not infinite_source.get(id(node)):
            raise OverflowError(
                f"backward: the gradient at {describe(node)} overflows to {grad!r} from finite "
                "contributions (lower the learning rate or rescale the inputs)")
        locals_ = op.partials([v.data for v in node.inputs], node.data, node.attr)
        for i, (inp, local) in enumerate(zip(node.inputs, locals_)):
            product = grad * local
            if local - local != 0.0 and local == local and grad != 0.0 or product != product:
                if local - local != 0.0 and not _infinite_local_allowed(node):
                    raise OverflowError(
                        f"backward: the local derivative overflows to {local!r} at "
                        f"{_where(node, i, inp, grad, local)} although the node's inputs are finite "
                        "(rescale the inputs: a divisor or a log argument this small is subnormal)")
            if product != product:
                raise FloatingPointError(
                    f"backward: a NaN gradient at {_where(node, i, inp, grad, local)}. {_STEPPER_HINT}")
            infinite = product - product != 0.0
            if infinite and local - local != 0.0 and not _infinite_local_allowed(node):
                raise OverflowError(
                    f"backward: the local derivative overflows to {local!r} at "
                    f"{_where(node, i, inp, grad, local)} although the node's inputs are finite "
                    "(lower the learning rate or rescale the inputs)")
            if infinite and grad - grad == 0.0 and local - local == 0.0:
                raise OverflowError(
                    f"backward: the gradient overflows to {product!r} at {_where(node, i, inp, grad, local)} "
                    "(both factors are finite; lower the learning rate or rescale the inputs)")
            key = id(inp)
            if infinite:
                infinite_source[key] = True
            if inp._op is None:
                _, total = leaves.get(key, (inp, 0.0))
                leaves[key] = (inp, total + product)
    for key, (leaf, total) in leaves.items():
        if total != total:
            raise FloatingPointError(
                f"backward: a NaN gradient at {describe(leaf)}: its contributions +inf and -inf cancel. "
                f"{_STEPPER_HINT}")
        if total - total != 0.0 and not infinite_source.get(key):
            raise OverflowError(
                f"backward: the gradient of {describe(leaf)} overflows to {total!r} from finite "
                "contributions (lower the learning rate or rescale the inputs)")


@dataclass
class Recording:
    """What :func:`run_pass` with ``record=True`` saw, as flat lists (see
    :class:`autodiff.trace.Trace`, which holds them as read-only arrays).

    Steps (one per op node, in backward order): ``step_node`` (position in the order),
    ``step_upstream`` (∂l/∂node as it flows on), ``hooked_from`` (step → ∂l/∂node before a
    hook replaced it), ``edge_start`` (the step's first edge; one more entry at the end).
    Edges (in the order applied): ``edge_input`` (position), ``edge_operand``, ``local``,
    ``product = upstream · local``, ``before``/``after`` (the input's gradient of this pass
    before and after the ``+=``). ``leaf_hooks``: (edges applied, leaf position, gradient
    before, gradient after) for each hook on a leaf that ran.
    """

    step_node: list[int] = field(default_factory=list)
    step_upstream: list[float] = field(default_factory=list)
    hooked_from: dict[int, float] = field(default_factory=dict)
    edge_start: list[int] = field(default_factory=list)
    edge_input: list[int] = field(default_factory=list)
    edge_operand: list[int] = field(default_factory=list)
    local: list[float] = field(default_factory=list)
    product: list[float] = field(default_factory=list)
    before: list[float] = field(default_factory=list)
    after: list[float] = field(default_factory=list)
    leaf_hooks: list[tuple[int, int, float, float]] = field(default_factory=list)


def run_pass(root: Value, order: list[Value], record: Optional[Recording] = None,
             position: Optional[dict[Value, int]] = None) -> tuple[dict[Value, float], float]:
    """The chain rule from ``root`` over ``order`` (:func:`topological_order`, with the
    leaves when any leaf has a hook), in storage of its own.

    Returns ``(grads, bound)``: ``grads`` maps every node reached to ∂root/∂node of this
    pass (the sum of its contributions, in backward order; ∂root/∂root = 1), after the
    hooks registered with :meth:`Value.register_hook` (an op node's hook sees its full
    gradient and may replace what flows on; a leaf's hook sees, and may replace, this
    pass's contribution). ``bound = Σ (∂l/∂u · ‖∂u/∂inputs‖)²``: when it is finite, every
    product is below √bound and every sum below √(nodes·bound) (Cauchy–Schwarz), so
    nothing overflowed or is NaN; otherwise :func:`check_gradients` decides.

    With ``record`` (a :class:`Recording`, and ``position``: each node's place in
    ``order``), every step and edge is also appended to it. No ``.grad`` is read or written.
    """
    grads: dict[Value, float] = {root: 1.0}
    get = grads.get
    bound = 0.0
    for node in reversed(order):
        op = node._op
        if op is None:
            if node._hooks and node in grads:  # a leaf's hook sees this pass's contribution
                raw = grads[node]
                grads[node] = hooked = _run_hooks(node, raw)
                if record is not None:
                    record.leaf_hooks.append((len(record.edge_input), position[node], raw, hooked))
            continue
        grad = grads[node]   # every op node of the order is reached from the root
        hooked_from = None
        if node._hooks:
            hooked_from = grad
            grad = grads[node] = _run_hooks(node, grad)
        inputs = node.inputs
        try:
            locals_ = op.partials([v.data for v in inputs], node.data, node.attr)
        except (ArithmeticError, ValueError) as exc:
            raise type(exc)(f"backward through {describe(node)}: {exc}") from None
        scale = grad * _hypot(*locals_)
        bound += scale * scale
        if record is None:
            for inp, local in zip(inputs, locals_):
                grads[inp] = get(inp, -0.0) + grad * local   # −0.0 + p is p, bit for bit
            continue
        if hooked_from is not None:
            record.hooked_from[len(record.step_node)] = hooked_from
        record.step_node.append(position[node])
        record.step_upstream.append(grad)
        record.edge_start.append(len(record.edge_input))
        for k, (inp, local) in enumerate(zip(inputs, locals_)):
            local = float(local)
            product = grad * local
            before = get(inp, -0.0)
            grads[inp] = after = before + product
            record.edge_input.append(position[inp])
            record.edge_operand.append(k)
            record.local.append(local)
            record.product.append(product)
            record.before.append(before + 0.0)   # shown as 0, not −0, before the first one
            record.after.append(after)
    if record is not None:
        record.edge_start.append(len(record.edge_input))
    return grads, bound


def write_gradients(grads: dict[Value, float]) -> None:
    """Write a pass's gradients into ``.grad``, all under :data:`GRADIENT_LOCK`: an op
    node's becomes its gradient of this pass, a leaf's has it added."""
    with GRADIENT_LOCK:
        for node, g in grads.items():
            if node._op is None:
                node.grad += g
            else:
                node.grad = g


def backward(root: Value) -> None:
    """Plain backprop from ``root`` (a Value: :func:`autodiff.backward` checks it): :func:`run_pass`, :func:`check_gradients` when the
    pass met a number that may be NaN or infinite (raising ``FloatingPointError`` or
    ``OverflowError`` that names the node, and then writing nothing), then
    :func:`write_gradients`.

    With the C core (:mod:`autodiff.engine`) the same pass runs in C when every node of
    the graph is one it knows and every number stays finite: it accumulates in a buffer
    of its own and writes the gradients at its end, under the same lock. Otherwise,
    having changed nothing, it leaves the pass to Python.
    """
    check_graph(root)  # StaleGraphError when data changed since the graph was built
    if core is not None:
        with GRADIENT_LOCK:
            handled = core.backward(root)
        if handled is not NotImplemented:
            return
    order = topological_order(root, leaves=type(root).leaf_hooks > 0)
    grads, bound = run_pass(root, order)
    if bound - bound != 0.0:  # NaN or ±inf somewhere in this pass
        check_gradients(order, grads)
    write_gradients(grads)
