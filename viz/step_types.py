"""What the step-through debugger hands out: a scalar :class:`Step`, a :class:`Breakpoint`,
a finite-difference :class:`Check`, a :class:`Path` from the loss and a :class:`Why`.

A step is one application of the chain rule (seed 003, backprop of the annotated graph)

    ∂l/∂input += ∂l/∂node · ∂node/∂input

read from an :class:`autodiff.Trace`; a grouped step (:class:`viz.levels.GroupStep`) has
the same interface (``index``, ``formula``, ``local_formula``, ``changes``, ``members``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Callable, Optional

from autodiff import Value

__all__ = ["Step", "Breakpoint", "Check", "Path", "Why", "parts", "LazySteps"]


@dataclass(frozen=True, eq=False)
class Step:
    """One application of ∂l/∂input += ∂l/∂node · ∂node/∂input (``product = upstream · local``).

    ``index`` counts from 0; ``edge`` is the edge's index in the Trace;
    ``node_index``/``input_index`` are positions in :func:`autodiff.topological_order`
    (the renderer's ids ``n{i}``, ``op{i}``, ``e{j}_{i}_{k}``). ``hooked_from`` is
    ∂l/∂node before a hook replaced it (on the first step shown of that node only).
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
    edge: int = -1

    @property
    def edge_id(self) -> str:
        """The renderer's id of the forward edge input → op (``e{j}_{i}_{k}``)."""
        return f"e{self.input_index}_{self.node_index}_{self.operand}"

    @property
    def members(self) -> tuple["Step", ...]:
        """The scalar steps this step applies: itself (a grouped step: the ones it groups)."""
        return (self,)

    def __str__(self) -> str:
        return self.formula

    def __repr__(self) -> str:
        return f"<Step {self.index + 1}: {self.formula}>"


def parts(step) -> tuple[Step, ...]:
    """The scalar steps a step applies (itself, or a grouped step's members)."""
    return tuple(step.members)


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


class LazySteps(Sequence):
    """A read-only sequence of steps made on first access (and kept, so ``is`` holds)."""

    def __init__(self, count: int, make: Callable[[int], object]) -> None:
        self._count, self._make = count, make
        self._made: dict[int, object] = {}

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, k):
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(self._count))]
        if k < 0:
            k += self._count
        if not 0 <= k < self._count:
            raise IndexError(f"step {k} is out of range: there are {self._count} steps")
        step = self._made.get(k)
        if step is None:
            step = self._made[k] = self._make(k)
        return step
