"""The table of operations: the single source of truth for every primitive.

Each :class:`Op` entry states, for one primitive, side by side:

* ``forward``  -- the scalar forward function ``f(x_1, ..., x_n; attr)``;
* ``partials`` -- its local partial derivatives ``(∂f/∂x_1, ..., ∂f/∂x_n)``,
  evaluated from the inputs and the already computed output;
* ``label``    -- how the lecture slides draw the op (``add``, ``mul``, ``σ(·)``, ...);
* ``formula``  -- the math, as a human reads it in a chain-rule step;
* ``array_forward`` / ``array_partials`` -- the same two functions on numpy arrays
  (elementwise), used by the compiled path. ``None`` for the n-ary ops, which the
  compiler lowers itself (``sum``, ``dot``, ``max``, ``softmax``).

The eager engine (:mod:`autodiff.value`), the backward pass (:mod:`autodiff.backprop`),
the step-through debugger and the renderer all read this table, so adding an
activation is one entry here plus one method or function that builds the node.

Conventions that follow the lectures (seed 002/004): the derivative of ``sign``
and ``step`` is 0 everywhere (including 0, where it does not exist), and
``relu'(0) = 0``. ``abs'(0) = 0`` likewise.

Partials receive ``xs`` (a tuple of input values), ``out`` (the node's value)
and ``attr`` (the op's constant attribute: exponent, slope, ...).
"""

from __future__ import annotations

import functools
import math
import operator
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = ["Op", "OPS", "register"]


@dataclass(frozen=True)
class Op:
    """One primitive operation: its ``name``, its slide ``label``, ``forward(*xs, attr=)`` and the
    local derivatives ``backward`` gives for each operand (fields described in this module's
    docstring)."""

    name: str
    arity: Optional[int]  # number of inputs, None for n-ary ops
    forward: Callable[..., float]
    partials: Callable[[Sequence[float], float, Any], Sequence[float]]
    label: str
    formula: str
    array_forward: Optional[Callable[..., np.ndarray]] = None
    array_partials: Optional[Callable[..., Sequence[np.ndarray]]] = None

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"Op({self.name!r})"


OPS: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add ``op`` to the table (names are unique)."""
    if op.name in OPS:
        raise ValueError(f"op {op.name!r} is already registered")
    OPS[op.name] = op
    return op


# ---------------------------------------------------------------- scalar helpers

def _sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e^(−x)), in a form that never overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _elu(x: float, attr: float) -> float:
    """elu(x) = x for x > 0, α(eˣ − 1) otherwise, with α = attr."""
    return x if x > 0.0 else attr * math.expm1(x)


def _softmax_list(xs: Sequence[float]) -> list[float]:
    m = max(xs)
    es = [math.exp(x - m) for x in xs]
    s = sum(es)
    return [e / s for e in es]


# ------------------------------------------------------------------ binary ops

register(Op(
    "add", 2, lambda a, b, attr=None: a + b,
    lambda xs, out, attr: (1.0, 1.0),
    "add", "c = a + b;  ∂c/∂a = 1,  ∂c/∂b = 1",
    lambda a, b, attr=None: a + b,
    lambda xs, out, attr: (1.0, 1.0),
))
register(Op(
    "sub", 2, lambda a, b, attr=None: a - b,
    lambda xs, out, attr: (1.0, -1.0),
    "sub", "c = a − b;  ∂c/∂a = 1,  ∂c/∂b = −1",
    lambda a, b, attr=None: a - b,
    lambda xs, out, attr: (1.0, -1.0),
))
register(Op(
    "mul", 2, lambda a, b, attr=None: a * b,
    lambda xs, out, attr: (xs[1], xs[0]),
    "mul", "c = a · b;  ∂c/∂a = b,  ∂c/∂b = a",
    lambda a, b, attr=None: a * b,
    lambda xs, out, attr: (xs[1], xs[0]),
))
register(Op(
    "div", 2, lambda a, b, attr=None: a / b,
    lambda xs, out, attr: (1.0 / xs[1], -out / xs[1]),
    "div", "c = a / b;  ∂c/∂a = 1/b,  ∂c/∂b = −a/b²",
    lambda a, b, attr=None: a / b,
    lambda xs, out, attr: (1.0 / xs[1], -out / xs[1]),
))
def _real_pow(a: float, k: float) -> float:
    """aᵏ over the reals: Python would return a complex number for a < 0, k ∉ ℤ."""
    if a < 0.0 and not float(k).is_integer():
        raise ValueError(f"a negative base {a!r} with a non-integer exponent {k!r} has no real value")
    return a ** k


def _power_rule(a: float, k: float) -> float:
    """∂(aᵏ)/∂a = k·aᵏ⁻¹, with the limits at a = 0 spelled out (0.0 ** negative raises)."""
    if a == 0.0 and k < 1.0:
        return 0.0 if k == 0.0 else math.inf
    return k * a ** (k - 1.0)


def _np_power_rule(a: np.ndarray, k: np.ndarray | float) -> np.ndarray:
    """Array form of :func:`_power_rule`, with the same limits at a = 0."""
    a, k = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(k, dtype=float))
    at_zero = (a == 0.0) & (k < 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        general = k * np.where(at_zero, 1.0, a) ** (k - 1.0)
    return np.where(at_zero, np.where(k == 0.0, 0.0, np.inf), general)


def _powv_partials(xs: Sequence[float], out: float, attr: Any) -> Sequence[float]:
    a, b = xs
    if a < 0.0:
        raise ValueError(
            f"∂(aᵇ)/∂b = aᵇ·ln a does not exist for a negative base a = {a!r}; "
            "write the power with a number as exponent (a ** 2) if only ∂/∂a is wanted")
    return _power_rule(a, b), (out * math.log(a) if a > 0.0 else 0.0)


register(Op(
    # a ** b with the exponent b a node. The engine refuses a < 0 with non-integer b
    # and 0 ** negative before building the node.
    "powv", 2, lambda a, b, attr=None: _real_pow(a, b), _powv_partials,
    "pow", "c = aᵇ;  ∂c/∂a = b·aᵇ⁻¹,  ∂c/∂b = aᵇ·ln a",
    lambda a, b, attr=None: a ** b,
    lambda xs, out, attr: (
        _np_power_rule(xs[0], xs[1]),
        out * np.log(np.where(xs[0] > 0, xs[0], 1.0)),
    ),
))

# ------------------------------------------------------------------- unary ops

register(Op(
    "neg", 1, lambda a, attr=None: -a,
    lambda xs, out, attr: (-1.0,),
    "neg", "c = −a;  ∂c/∂a = −1",
    lambda a, attr=None: -a,
    lambda xs, out, attr: (-1.0,),
))
register(Op(
    # a ** k with a constant exponent k = attr.
    "pow", 1, lambda a, attr: _real_pow(a, attr),
    lambda xs, out, attr: (_power_rule(xs[0], attr),),
    "pow", "c = aᵏ;  ∂c/∂a = k·aᵏ⁻¹",
    lambda a, attr: a ** attr,
    lambda xs, out, attr: (_np_power_rule(xs[0], attr),),
))
register(Op(
    "exp", 1, lambda a, attr=None: math.exp(a),
    lambda xs, out, attr: (out,),
    "exp", "c = eᵃ;  ∂c/∂a = eᵃ",
    lambda a, attr=None: np.exp(a),
    lambda xs, out, attr: (out,),
))
register(Op(
    "log", 1, lambda a, attr=None: math.log(a),
    lambda xs, out, attr: (1.0 / xs[0],),
    "log", "c = ln a;  ∂c/∂a = 1/a",
    lambda a, attr=None: np.log(a),
    lambda xs, out, attr: (1.0 / xs[0],),
))
register(Op(
    "tanh", 1, lambda a, attr=None: math.tanh(a),
    lambda xs, out, attr: (1.0 - out * out,),
    "tanh", "c = tanh a;  ∂c/∂a = 1 − tanh² a",
    lambda a, attr=None: np.tanh(a),
    lambda xs, out, attr: (1.0 - out * out,),
))
register(Op(
    "sigmoid", 1, lambda a, attr=None: _sigmoid(a),
    lambda xs, out, attr: (out * (1.0 - out),),
    "σ(·)", "c = σ(a) = 1/(1 + e⁻ᵃ);  ∂c/∂a = σ(a)(1 − σ(a))",
    lambda a, attr=None: _np_sigmoid(a),
    lambda xs, out, attr: (out * (1.0 - out),),
))
register(Op(
    # "not a <= 0" keeps a NaN (as np.maximum and PyTorch do) at the cost of "a > 0"
    "relu", 1, lambda a, attr=None: a if not a <= 0.0 else 0.0,
    lambda xs, out, attr: (0.0 if xs[0] <= 0.0 else 1.0,),  # NaN passes the gradient, as PyTorch
    "relu", "c = max(0, a);  ∂c/∂a = 1 if a > 0 else 0 (0 at a = 0)",
    lambda a, attr=None: np.maximum(a, 0.0),
    lambda xs, out, attr: (np.where(xs[0] <= 0, 0.0, 1.0),),
))
register(Op(
    "leaky_relu", 1, lambda a, attr: a if a > 0.0 else attr * a,
    lambda xs, out, attr: (1.0 if xs[0] > 0.0 else attr,),
    "leaky_relu", "c = a if a > 0 else s·a;  ∂c/∂a = 1 if a > 0 else s",
    lambda a, attr: np.where(a > 0, a, attr * a),
    lambda xs, out, attr: (np.where(xs[0] > 0, 1.0, attr),),
))
register(Op(
    "elu", 1, _elu,
    lambda xs, out, attr: (1.0 if xs[0] > 0.0 else out + attr,),
    "elu", "c = a if a > 0 else α(eᵃ − 1);  ∂c/∂a = 1 if a > 0 else c + α",
    lambda a, attr: np.where(a > 0, a, attr * np.expm1(np.minimum(a, 0.0))),
    lambda xs, out, attr: (np.where(xs[0] > 0, 1.0, out + attr),),
))
register(Op(
    # sign(a) ∈ {−1, +1} with sign(0) = +1 (the threshold units of seed 002);
    # the derivative is taken as 0 everywhere, as the lectures state.
    "sign", 1, lambda a, attr=None: 1.0 if a >= 0.0 else (-1.0 if a < 0.0 else a),  # NaN stays NaN
    lambda xs, out, attr: (0.0,),
    "sign", "c = sign a ∈ {−1, +1};  ∂c/∂a = 0 (taken as 0 everywhere)",
    lambda a, attr=None: np.where(a >= 0, 1.0, np.where(a < 0, -1.0, a)),
    lambda xs, out, attr: (np.zeros_like(xs[0]),),
))
register(Op(
    # step(a) = 1 if a > 0 else 0, so step(0) = 0 (what the XOR network needs).
    "step", 1, lambda a, attr=None: 1.0 if a > 0.0 else (0.0 if a <= 0.0 else a),  # NaN stays NaN
    lambda xs, out, attr: (0.0,),
    "step", "c = 1 if a > 0 else 0;  ∂c/∂a = 0 (taken as 0 everywhere)",
    lambda a, attr=None: np.where(a > 0, 1.0, np.where(a <= 0, 0.0, a)),
    lambda xs, out, attr: (np.zeros_like(xs[0]),),
))
register(Op(
    "abs", 1, lambda a, attr=None: abs(a),
    # sign a, 0 at a = 0, NaN at NaN (as np.sign and PyTorch)
    lambda xs, out, attr: (1.0 if xs[0] > 0.0 else (-1.0 if xs[0] < 0.0 else xs[0] * 0.0),),
    "abs", "c = |a|;  ∂c/∂a = sign a (0 at a = 0)",
    lambda a, attr=None: np.abs(a),
    lambda xs, out, attr: (np.sign(xs[0]),),
))

# ------------------------------------------------------------------- n-ary ops

def _sum_forward(*xs: float, attr: Any = None) -> float:
    """x₁ + x₂ + … + xₙ added left to right, as PyTorch and the compiled tape add them (an
    exact ``math.fsum`` would make eager and compiled disagree on e.g. 1e16 + 1 − 1e16)."""
    return functools.reduce(operator.add, xs)


register(Op(
    "sum", None, _sum_forward,
    lambda xs, out, attr: (1.0,) * len(xs),
    "add", "c = Σᵢ aᵢ;  ∂c/∂aᵢ = 1",
))


def _dot_forward(*xs: float, attr: bool) -> float:
    n = len(xs) // 2
    s = sum(map(operator.mul, xs[:n], xs[n:2 * n]))
    return s + xs[-1] if attr else s


def _dot_partials(xs: Sequence[float], out: float, attr: bool) -> Sequence[float]:
    n = len(xs) // 2
    # ∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1
    return (*xs[n:2 * n], *xs[:n], 1.0) if attr else (*xs[n:], *xs[:n])


register(Op(
    # inputs: (w_1..w_n, x_1..x_n[, b]); attr: True when a bias is present.
    "dot", None, _dot_forward, _dot_partials,
    "dot", "c = Σᵢ wᵢxᵢ (+ b);  ∂c/∂wᵢ = xᵢ,  ∂c/∂xᵢ = wᵢ,  ∂c/∂b = 1",
))


def _max_forward(*xs: float, attr: Any = None) -> float:
    """maxᵢ xᵢ, NaN if any xᵢ is NaN (as PyTorch's max; Python's ``max`` answers 1 for
    ``max(1, nan)`` but NaN for ``max(nan, 1)``)."""
    m = max(xs)
    if m == m:
        for x in xs:
            if x != x:
                return x
    return m


def _max_partials(xs: Sequence[float], out: float, attr: Any) -> Sequence[float]:
    # the first maximal input (the first NaN, if the max is NaN) receives the whole gradient
    k = xs.index(out) if out == out else next(i for i, x in enumerate(xs) if x != x)
    return tuple(1.0 if i == k else 0.0 for i in range(len(xs)))


register(Op(
    "max", None, _max_forward, _max_partials,
    "max", "c = maxᵢ aᵢ (NaN if any aᵢ is);  ∂c/∂aᵢ = 1 for the (first) largest aᵢ, else 0",
))


def _softmax_forward(*xs: float, attr: int) -> float:
    return _softmax_list(xs)[attr]


def _softmax_partials(xs: Sequence[float], out: float, attr: int) -> Sequence[float]:
    s = _softmax_list(xs)
    return tuple((out if j == attr else 0.0) - out * sj for j, sj in enumerate(s))


register(Op(
    # output number attr of softmax(a_1..a_n); every output node reads all inputs.
    "softmax", None, _softmax_forward, _softmax_partials,
    "softmax", "sₖ = eᵃᵏ / Σⱼ eᵃʲ;  ∂sₖ/∂aⱼ = sₖ(δₖⱼ − sⱼ)",
))
