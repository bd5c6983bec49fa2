"""Reverse-mode backpropagation as an ordered stream of chain-rule steps.

For a loss l and the nodes u in reverse topological order, every input edge a → u
applies the chain rule (seed 003, backprop of the annotated graph):

    ∂l/∂a += ∂l/∂u · ∂u/∂a

where ∂u/∂a is the op's local partial from :mod:`autodiff.ops`.

:func:`chain_rule` is the one implementation of that loop. Called with
``record=False`` (what :func:`backward` does) it yields nothing and builds no
objects; with ``record=True`` it yields one :class:`NodeStep` per node, holding one
:class:`EdgeStep` per input edge, for the step-through debugger. Both walk the same
code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Iterator, Optional, Sequence, Union

from operator import attrgetter

from .engine import core
from .staleness import check_graph
from .validate import real_number
from .value import Value, describe

_inputs = attrgetter("inputs")
_hypot = math.hypot

__all__ = ["topological_order", "chain_rule", "backward", "zero_grad", "NodeStep", "EdgeStep"]


def topological_order(root: Value, leaves: bool = True) -> list[Value]:
    """All nodes of ``root``'s graph, each after its inputs, root last.

    Iterative depth-first search (no recursion, so any depth works): each stack entry
    holds a node and the iterator over its remaining inputs; a node is emitted once all
    its inputs are. Leaves are emitted when first seen, or skipped with ``leaves=False``
    (what backward uses: most edges of a neural network end in a leaf, and filtering them
    out in C keeps the Python loop to the edges between op nodes).
    """
    if not root.inputs:
        return [root]
    operands = iter if leaves else _op_inputs
    order: list[Value] = []
    emit = order.append
    seen = {root}  # Values hash by identity
    mark = seen.add
    stack = [(root, operands(root.inputs))]
    push = stack.append
    while stack:
        node, pending = stack[-1]
        for inp in pending:
            if inp in seen:
                continue
            mark(inp)
            if inp.inputs:
                push((inp, operands(inp.inputs)))
                break
            emit(inp)  # a leaf (only reached when leaves=True)
        else:
            stack.pop()
            emit(node)
    return order


def _op_inputs(inputs: tuple[Value, ...]) -> Iterator[Value]:
    """The inputs that are op nodes (not leaves)."""
    return filter(_inputs, inputs)


@dataclass
class EdgeStep:
    """One application of the chain rule along the edge ``input → node``.

    ``grad_after = grad_before + upstream · local`` (``product = upstream · local``).
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
    for (hook,) in list(node._hooks or ()):
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
    if node._op.name in ("pow", "powv") and node.inputs[0].data == 0.0:
        return True
    return any(v.data - v.data != 0.0 for v in node.inputs)


def _check_gradients(order: list[Value]) -> None:
    """Called once per backward, only when the cheap bound of the pass is not finite: walk
    the pass again and raise at the first gradient that is wrong, in backward order.

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
        grad = node.grad
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


def chain_rule(root: Value, record: bool = False,
               order: Optional[list[Value]] = None) -> Iterator[NodeStep]:
    """Run backprop from ``root``, yielding a :class:`NodeStep` per op node if ``record``.

    The gradients of intermediate nodes are reset first (they are recomputed, never
    double-counted); leaves accumulate, as in PyTorch. Hooks registered with
    :meth:`Value.register_hook` see each node's full gradient when the walk reaches it.
    Pass a precomputed ``order`` (from :func:`topological_order`) to reuse it.

    Without ``record``, a NaN gradient raises ``FloatingPointError`` and a gradient that
    overflows from finite numbers raises ``OverflowError``, naming the node (see
    :func:`_check_gradients`; the check costs one multiply-add per node, and the careful walk
    runs only when that bound is not finite); with ``record`` the steps carry the NaN, so the
    debugger can show where it comes from.
    """
    if record:
        check_graph(root, "backward (recorded)")  # backward() checks before it calls this
    if order is None:
        order = topological_order(root, leaves=Value.leaf_hooks > 0)
    hooked_leaves: dict[int, float] = {}
    for node in order:
        if node._op is not None:
            node.grad = 0.0
        elif node._hooks:
            hooked_leaves[id(node)] = node.grad
    if root._op is not None:
        root.grad = 1.0
    else:
        root.grad += 1.0

    bound = 0.0
    for node in reversed(order):
        op = node._op
        if op is None:
            if node._hooks:  # a leaf's hook sees this pass's contribution only
                before = hooked_leaves[id(node)]
                node.grad = before + _run_hooks(node, node.grad - before)
            continue
        grad = node.grad
        hooked_from = None
        if node._hooks:
            hooked_from = grad
            grad = node.grad = _run_hooks(node, grad)
        inputs = node.inputs
        try:
            locals_ = op.partials([v.data for v in inputs], node.data, node.attr)
        except (ArithmeticError, ValueError) as exc:
            raise type(exc)(f"backward through {describe(node)}: {exc}") from None
        if not record:
            # bound = Σ (grad·‖locals‖)². When it is finite, every product is below √bound and
            # every sum of this pass below √(nodes·bound) (Cauchy–Schwarz): nothing overflowed
            # or is NaN, and no check is needed. Otherwise _check_gradients decides.
            scale = grad * _hypot(*locals_)
            bound += scale * scale
            for inp, local in zip(inputs, locals_):
                inp.grad += grad * local
            continue
        step = NodeStep(node, grad, [], hooked_from)
        for i, (inp, local) in enumerate(zip(inputs, locals_)):
            before = inp.grad
            product = grad * local
            inp.grad = before + product
            step.edges.append(EdgeStep(node, inp, i, grad, float(local), product, before, inp.grad))
        yield step
    if bound - bound != 0.0:  # NaN or ±inf somewhere in this pass
        _check_gradients(order)


def backward(root: Value) -> None:
    """Plain backprop: consume :func:`chain_rule` without recording anything.

    With the C core (:mod:`autodiff.engine`) the same pass runs in C when every node of the
    graph is one it knows (else, having changed nothing, it leaves the pass to Python); when
    that pass met a number that may be NaN or infinite, :func:`_check_gradients` decides, as
    after the Python pass.
    """
    if not isinstance(root, Value):
        raise TypeError(f"backward(root): expected a Value, got {type(root).__name__}: {root!r}")
    check_graph(root)  # StaleGraphError when data changed since the graph was built
    if core is not None:
        handled = core.backward(root)
        if handled is not NotImplemented:
            if handled:
                _check_gradients(topological_order(root, leaves=False))
            return
    for _ in chain_rule(root):
        pass


def zero_grad(values_or_root: Union[Value, Iterable[Value]]) -> None:
    """Set ``grad = 0`` on a list of values, or on every node of a root's graph."""
    if isinstance(values_or_root, Value):
        nodes: Iterable[Value] = topological_order(values_or_root)
    elif isinstance(values_or_root, (str, bytes)) or not hasattr(values_or_root, "__iter__"):
        raise TypeError(f"zero_grad(values_or_root): expected a Value or an iterable of Values, got "
                        f"{type(values_or_root).__name__}: {values_or_root!r}")
    else:
        nodes = values_or_root
    for v in nodes:
        if not isinstance(v, Value):
            raise TypeError(f"zero_grad expects Values or a graph root, got {type(v).__name__}: {v!r}")
        v.grad = 0.0

