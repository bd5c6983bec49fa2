"""Check backprop against central finite differences.

For every input xᵢ, the numerical derivative is the central difference

    ∂f/∂xᵢ ≈ (f(x + ε eᵢ) − f(x − ε eᵢ)) / 2ε      (error O(ε²))

and it must agree with the gradient backprop leaves in ``xᵢ.grad`` within
``atol + rtol·|numerical|``. When an input disagrees, every op node of the graph is
checked locally the same way (its table partials against differences of its table
forward), so the error names the op whose derivative rule is wrong, not just the input.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

from .graph_order import topological_order
from .trace import chain_rule
from .validate import nonnegative_number, positive_number
from .value import Value, describe, no_grad, zero_grad

__all__ = ["gradcheck", "GradcheckError", "local_gradcheck", "UndefinedHere", "check_tolerances"]


class GradcheckError(AssertionError):
    """Backprop and finite differences disagree; the message names the worst place."""


class UndefinedHere(ValueError):
    """A finite-difference check has no answer at this point: x ± eps leaves the op's domain
    (log near 0, √ at 0), or the op overflows there (exp of a large number)."""


def check_tolerances(where: str, eps: float, atol: float = 0.0, rtol: float = 0.0) -> tuple[float, float, float]:
    """The step and tolerances of a finite-difference check: eps a finite number > 0, atol
    and rtol finite numbers ≥ 0 (``ValueError`` naming the argument otherwise; ``TypeError``
    for what is not a number)."""
    return (positive_number(eps, f"{where}(eps)"), nonnegative_number(atol, f"{where}(atol)"),
            nonnegative_number(rtol, f"{where}(rtol)"))


def _excess(analytic: float, numeric: float, atol: float, rtol: float) -> float:
    """How far |analytic − numeric| exceeds the tolerance; +inf when either is NaN/inf."""
    error = abs(analytic - numeric) - (atol + rtol * abs(numeric))
    return error if error == error and error != math.inf else math.inf


def _numerical(fn: Callable[..., Value], inputs: Sequence[Value], i: int, eps: float) -> float:
    x = inputs[i]
    original = x.data
    try:
        with no_grad():
            x.data = original + eps
            plus = fn(*inputs).data
            x.data = original - eps
            minus = fn(*inputs).data
    except (ArithmeticError, ValueError) as exc:
        stepped, x.data = x.data, original
        raise ValueError(
            f"gradcheck: the finite-difference step leaves the function's domain at inputs[{i}] "
            f"({describe(x)}): evaluating at {original!r} ± eps = {stepped!r} fails with: {exc}. "
            f"Pass a smaller eps (now {eps!r}) or check a point farther from the edge") from None
    finally:
        x.data = original
    return (plus - minus) / (2.0 * eps)


def local_gradcheck(node: Value, eps: float = 1e-6) -> list[tuple[int, float, float]]:
    """(input index, table partial, central difference) for each input of one op node.

    Raises :class:`UndefinedHere` (a ``ValueError``) naming the node and the input when the
    check has no answer at this point: the rule or the forward at x ± eps is undefined there
    (a math domain error, an overflow, a non-finite result from finite numbers)."""
    if not isinstance(node, Value):
        raise TypeError(f"local_gradcheck(node): expected a Value, got {type(node).__name__}: {node!r}")
    eps, _, _ = check_tolerances("local_gradcheck", eps)
    op = node._op
    if op is None:
        return []
    xs = [v.data for v in node.inputs]
    try:
        analytic = [float(a) for a in op.partials(xs, op.forward(*xs, attr=node.attr), node.attr)]
    except (ArithmeticError, ValueError) as exc:
        raise UndefinedHere(f"local_gradcheck: the derivative rule of {op.name} is undefined here, at "
                            f"{describe(node)}: {exc}") from None
    rows = []
    for i in range(len(xs)):
        hi, lo = list(xs), list(xs)
        hi[i] += eps
        lo[i] -= eps
        try:
            numeric = (op.forward(*hi, attr=node.attr) - op.forward(*lo, attr=node.attr)) / (2 * eps)
        except (ArithmeticError, ValueError) as exc:
            raise UndefinedHere(
                f"local_gradcheck: the central difference of {op.name} is undefined here, at input {i} of "
                f"{describe(node)}: evaluating at {xs[i]!r} ± eps ({lo[i]!r}, {hi[i]!r}) fails with: {exc}. "
                f"Pass a smaller eps (now {eps!r}) or check a point farther from the edge") from None
        if numeric - numeric != 0.0 and all(x - x == 0.0 for x in xs):
            raise UndefinedHere(
                f"local_gradcheck: the central difference of {op.name} is {numeric!r} at input {i} of "
                f"{describe(node)} (undefined here: the forward overflows at {xs[i]!r} ± {eps!r})")
        rows.append((i, analytic[i], numeric))
    return rows


def gradcheck(fn: Callable[..., Value], inputs: Sequence[Value], eps: float = 1e-6,
              atol: float = 1e-5, rtol: float = 1e-4) -> bool:
    """Compare ``fn(*inputs).backward()`` gradients with central differences.

    ``inputs`` are leaf Values; their ``grad`` is overwritten. Returns True, or raises
    :class:`GradcheckError` naming the worst input and, if one is found, the op node
    whose local derivative disagrees with its own forward.
    """
    eps, atol, rtol = check_tolerances("gradcheck", eps, atol, rtol)
    if not callable(fn):
        raise TypeError(f"gradcheck(fn): expected a function of the inputs returning a Value, got {fn!r}")
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Value):
            raise TypeError(f"gradcheck: inputs[{i}] must be a Value, got {type(x).__name__}: {x!r}")
    zero_grad(inputs)
    out = fn(*inputs)
    if not isinstance(out, Value):
        raise TypeError(f"gradcheck: fn must return a Value, got {type(out).__name__}: {out!r}")
    for _ in chain_rule(out, record=True):  # recorded: a NaN gradient is compared, not raised
        pass
    worst, worst_excess = None, 0.0
    for i, x in enumerate(inputs):
        numeric = _numerical(fn, inputs, i, eps)
        excess = _excess(x.grad, numeric, atol, rtol)
        if excess > worst_excess:
            worst, worst_excess = (i, x.grad, numeric), excess
    if worst is None:
        return True
    i, analytic, numeric = worst
    message = (f"gradient of inputs[{i}] ({describe(inputs[i])}): backprop {analytic!r}, "
               f"finite differences {numeric!r}")
    culprit = None
    for node in topological_order(out):
        try:
            rows = local_gradcheck(node, eps)
        except (ArithmeticError, ValueError):  # the step leaves this op's domain: no verdict
            continue
        for j, table, diff in rows:
            excess = _excess(table, diff, atol, rtol)
            if excess > 0 and (culprit is None or excess > culprit[0]):
                culprit = (excess, node, j, table, diff)
    if culprit is not None:
        _, node, j, table, diff = culprit
        message += (f"; worst op: {node.op} at {describe(node)}, ∂/∂input {j}: "
                    f"rule {table!r} vs finite differences {diff!r}")
    raise GradcheckError(message)
