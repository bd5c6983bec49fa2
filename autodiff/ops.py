"""The table of operations: the single source of truth for every primitive.

Each :class:`Op` entry states, for one primitive, side by side:

* ``forward``  -- the scalar forward function ``f(x_1, ..., x_n; attr)``;
* ``partials`` -- its local partial derivatives ``(∂f/∂x_1, ..., ∂f/∂x_n)``,
  evaluated from the inputs and the already computed output;
* ``label``    -- how the lecture slides draw the op (``add``, ``mul``, ``σ(·)``, ...);
* ``formula``  -- the math, as a human reads it in a chain-rule step;
* ``array_forward`` / ``array_partials`` -- the same two functions on numpy arrays
  (elementwise), used by the compiled path. ``None`` for the n-ary ops, which the
  compiler lowers itself (``sum``, ``dot``, ``max``, ``softmax``);
* ``kernel``   -- which kind of compiled kernel runs a group of these nodes
  (:data:`autodiff.compile_kernels.KERNEL_KINDS`): ``"elementwise"`` (from the array
  forms above) unless the op names its own lowering.

The eager engine (:mod:`autodiff.value`), the backward pass (:mod:`autodiff.backprop`),
the C core (by ``c_kernel``), the step-through debugger, the renderer, the CLI and
:mod:`nn.activations` all read this table, so adding an activation is one entry here
(``tests/test_engine_op_table.py`` adds ``softplus`` so at run time).

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
import re
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import numpy as np

__all__ = ["Op", "OPS", "StepNames", "register", "unregister"]

_SAME: Any = object()  # default of the array forms: the scalar forms serve arrays too


@dataclass(frozen=True)
class StepNames:
    """What an op's stepper rule (:attr:`Op.rule`) is written from, for operand ``k`` of one
    node: the names as the drawing writes them, the numbers, and how numbers are printed.

    ``out``: the node's name; ``names``: its operands' names; ``data``: their numbers;
    ``value``: the node's number; ``attr``: the op's constant; ``local``: the value of
    ∂node/∂operandₖ; ``fmt``: how a number is printed; ``factor``: a printed number or
    name as a factor of a product (negative ones in parentheses)."""

    out: str
    names: tuple[str, ...]
    data: tuple[float, ...]
    value: float
    attr: Any
    k: int
    local: float
    fmt: Callable[[float], str]
    factor: Callable[[str], str]

    def f(self, i: int) -> str:
        """Operand ``i``'s name as a factor."""
        return self.factor(self.names[i])

    def compare(self, i: int = 0) -> str:
        """``(a > 0)`` or ``(a ≤ 0)``: the branch a piecewise rule took."""
        return f"({self.names[i]} {'>' if self.data[i] > 0 else '≤'} 0)"


@dataclass(frozen=True)
class Op:
    """One primitive operation: everything the engine, the compiler, the C core, the
    drawing, the stepper, the CLI and the error messages know about it.

    ``name``, ``arity`` (``None``: n-ary), ``forward(*xs, attr)``, ``partials(xs, out, attr)``,
    ``label`` (drawn in the op's square), ``formula`` (the math as read in a chain-rule step).

    Optional, with the defaults an element-wise one-operand op needs:

    * ``array_forward`` / ``array_partials``: the two functions on numpy arrays, for the
      compiled path; default: ``forward`` / ``partials`` themselves (write them with numpy
      ufuncs or plain arithmetic and one form serves both). ``None`` array forms are used
      by the n-ary ops, which the compiler lowers itself (see ``kernel``);
    * ``array_out(out, *xs, attr)``: ``array_forward`` writing its result into the array
      ``out`` (same numbers), so that the compiled path runs the op into its rows in place;
      ``None``: the compiled path copies ``array_forward``'s result there;
    * ``kernel``: which kind of compiled kernel runs a group of these nodes
      (:data:`autodiff.compile_kernels.KERNEL_KINDS`);
    * ``c_kernel``: the C core's kernel id for this op (``autodiff.engine.core.OPS_IN_C``);
      ``None`` declares the op Python-only; ``""`` (unset) means nobody said, and
      :func:`autodiff.engine.python_only_ops` lists it as such. Either way the eager engine
      runs the op in Python, and a graph holding it takes the Python backward pass;
    * ``function``: the name of the ``Value`` method and of the CLI expression function
      that build the node (``""``: the op's name when it has one operand; ``None``: none,
      an operator builds it); ``attr_name``/``attr_default``: its keyword for ``attr``;
    * ``domain(xs, attr, where)``: the exception for inputs outside the op's domain
      (``xs`` the operands' numbers, ``where`` their descriptions), or ``None``;
    * ``limit_at(xs, attr)``: True where an infinite local derivative is a limit
      (d√a/da at 0), not an overflow;
    * ``note(attr)``: the constant drawn beside the op's square (``k = 2``);
    * ``rule(names)``: the stepper's local derivative instantiated with a node's names
      and numbers (a :class:`StepNames`); default: the right-hand side of ``formula``;
    * ``prime``: the name of the derivative in vector form (``σ′``), for element-wise ops;
    * ``activation``: usable as ``activation="<function>"`` of a neuron (:mod:`nn.activations`).
    """

    name: str
    arity: Optional[int]  # number of inputs, None for n-ary ops
    forward: Callable[..., float]
    partials: Callable[[Sequence[float], float, Any], Sequence[float]]
    label: str
    formula: str
    array_forward: Optional[Callable[..., np.ndarray]] = _SAME
    array_partials: Optional[Callable[..., Sequence[np.ndarray]]] = _SAME
    array_out: Optional[Callable[..., Any]] = None
    kernel: str = "elementwise"
    c_kernel: Optional[str] = ""
    function: Optional[str] = ""
    attr_name: Optional[str] = None
    attr_default: Any = None
    domain: Optional[Callable[[Sequence[float], Any, Sequence[str]], Optional[Exception]]] = None
    limit_at: Optional[Callable[[Sequence[float], Any], bool]] = None
    note: Optional[Callable[[Any], str]] = None
    rule: Optional[Callable[[StepNames], str]] = None
    prime: str = ""
    activation: bool = False

    def __post_init__(self) -> None:
        if self.array_forward is _SAME:
            object.__setattr__(self, "array_forward", self.forward)
        if self.array_partials is _SAME:
            object.__setattr__(self, "array_partials", self.partials)
        if self.function == "":
            object.__setattr__(self, "function", self.name if self.arity == 1 else None)
        if not self.prime:
            object.__setattr__(self, "prime", f"{self.label}′")

    @property
    def elementwise(self) -> bool:
        """One operand, one output per element: in vector form a diagonal Jacobian."""
        return self.arity == 1 and self.kernel == "elementwise"

    def local_rule(self, names: StepNames) -> str:
        """The stepper's ∂node/∂operandₖ, instantiated (see ``rule``)."""
        if self.rule is not None:
            return self.rule(names)
        return self.formula.split(";", 1)[-1].strip() or "?"

    def domain_error(self, xs: Sequence[float], attr: Any, where: Sequence[str]) -> Optional[Exception]:
        """The exception for operands outside the domain, or ``None`` (see ``domain``)."""
        return None if self.domain is None else self.domain(xs, attr, where)

    def __repr__(self) -> str:  # pragma: no cover - cosmetic
        return f"Op({self.name!r})"


OPS: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add ``op`` to the table (names are unique)."""
    if op.name in OPS:
        raise ValueError(f"op {op.name!r} is already registered")
    OPS[op.name] = op
    return op


def unregister(name: str) -> Op:
    """Remove the op ``name`` from the table (an op added for a test or a session); the
    built-in ops cannot be removed (the engine is built on them)."""
    op = OPS[name]
    if name in _BUILTIN:
        raise ValueError(f"op {name!r} is built in and cannot be removed")
    del OPS[name]
    return op


# ---------------------------------------------------------------- scalar helpers

def _sigmoid(x: float) -> float:
    """σ(x) = 1 / (1 + e^(−x)), in a form that never overflows."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _np_sigmoid(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    return _np_sigmoid_out(np.empty_like(x), x)


def _np_sigmoid_out(out: np.ndarray, x: np.ndarray, attr: Any = None) -> np.ndarray:
    """σ(x) into ``out``, as :func:`_sigmoid` computes it: e = e^(−|x|), then 1/(1 + e) for
    x ≥ 0 and e/(1 + e) otherwise (one quotient n/(1 + e) with n = 1 or e; seven numpy calls). ``x``: an array."""
    e = np.abs(x)
    np.negative(e, out=e)
    np.exp(e, out=e)
    d = e + 1.0
    np.copyto(e, 1.0, where=x >= 0)
    return np.divide(e, d, out=out)


def _ufunc_out(ufunc: np.ufunc) -> Callable[..., Any]:
    """An ``array_out`` from the numpy ufunc that is the op's array form."""
    return lambda out, *xs, attr=None: ufunc(*xs, out=out)


def _elu(x: float, attr: float) -> float:
    """elu(x) = x for x > 0, α(eˣ − 1) otherwise, with α = attr."""
    return x if x > 0.0 else attr * math.expm1(x)


def _softmax_list(xs: Sequence[float]) -> list[float]:
    m = max(xs)
    es = [math.exp(x - m) for x in xs]
    s = sum(es)
    return [e / s for e in es]


_SUPERSCRIPT = str.maketrans("0123456789−", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _sup(text: str) -> str:
    """An exponent: superscript digits (``³``, ``⁻¹``) or ``^(…)``."""
    if re.fullmatch(r"−?[0-9]+", text):
        return text.translate(_SUPERSCRIPT)
    return f"^({text})"


def _pow_rule(c: StepNames) -> str:
    k1 = c.attr - 1
    power = "" if k1 == 1 else _sup(c.fmt(k1))
    return f"{c.factor(c.fmt(c.attr))} · {c.f(0)}{power}" if k1 else c.fmt(c.attr)


def _pow_domain(a: float, k: float, where: str) -> Optional[Exception]:
    """aᵏ has no real value for a < 0 with k ∉ ℤ, and 0 ** negative divides by zero."""
    if a < 0.0 and not float(k).is_integer() and k - k == 0.0:
        return ValueError(
            f"pow: a negative base {a!r} with a non-integer exponent {k!r} has no real value ({where})")
    if a == 0.0 and k < 0.0:
        return ZeroDivisionError(f"pow: 0 raised to a negative power {k!r} ({where})")
    return None


def _at_zero_base(xs: Sequence[float], attr: Any) -> bool:
    """d(aᵏ)/da at a = 0 with k < 1 is the limit ∞ (d√a/da at 0), not an overflow."""
    return xs[0] == 0.0


# ------------------------------------------------------------------ binary ops

register(Op(
    "add", 2, lambda a, b, attr=None: a + b,
    lambda xs, out, attr: (1.0, 1.0),
    "add", "c = a + b;  ∂c/∂a = 1,  ∂c/∂b = 1",
    array_out=_ufunc_out(np.add), c_kernel="add", rule=lambda c: "1",
))
register(Op(
    "sub", 2, lambda a, b, attr=None: a - b,
    lambda xs, out, attr: (1.0, -1.0),
    "sub", "c = a − b;  ∂c/∂a = 1,  ∂c/∂b = −1",
    array_out=_ufunc_out(np.subtract), c_kernel="sub", rule=lambda c: "1" if c.k == 0 else "−1",
))
register(Op(
    "mul", 2, lambda a, b, attr=None: a * b,
    lambda xs, out, attr: (xs[1], xs[0]),
    "mul", "c = a · b;  ∂c/∂a = b,  ∂c/∂b = a",
    array_out=_ufunc_out(np.multiply), c_kernel="mul", rule=lambda c: c.names[1 - c.k],
))
register(Op(
    "div", 2, lambda a, b, attr=None: a / b,
    lambda xs, out, attr: (1.0 / xs[1], -out / xs[1]),
    "div", "c = a / b;  ∂c/∂a = 1/b,  ∂c/∂b = −a/b²",
    array_out=_ufunc_out(np.divide), c_kernel="div",
    domain=lambda xs, attr, where: (ZeroDivisionError(f"div: division by zero: {where[0]} / {where[1]}")
                                    if xs[1] == 0.0 else None),
    rule=lambda c: f"1/{c.f(1)}" if c.k == 0 else f"−{c.f(0)}/{c.f(1)}²",
))
def _real_pow(a: float, k: float) -> float:
    """aᵏ over the reals: Python would return a complex number for a < 0, k ∉ ℤ."""
    if a < 0.0 and not float(k).is_integer() and k - k == 0.0:  # (−1) ** ±inf = 1, as C and PyTorch
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
    lambda xs, out, attr: (  # ∂/∂b: aᵇ·ln a, 0 at a = 0, NaN (no real value) for a < 0
        _np_power_rule(xs[0], xs[1]),
        np.where(xs[0] < 0, np.nan, out * np.log(np.where(xs[0] > 0, xs[0], 1.0))),
    ),
    c_kernel=None,  # Python-only: ∂/∂b needs the logarithm's domain checks
    domain=lambda xs, attr, where: _pow_domain(xs[0], xs[1], f"{where[0]} ** {where[1]}"),
    limit_at=_at_zero_base,
    rule=lambda c: (f"{c.f(1)} · {c.f(0)}^({c.names[1]} − 1)" if c.k == 0
                    else f"{c.f(0)}^{c.f(1)} · ln {c.f(0)}"),
))

# ------------------------------------------------------------------- unary ops

register(Op(
    "neg", 1, lambda a, attr=None: -a,
    lambda xs, out, attr: (-1.0,),
    "neg", "c = −a;  ∂c/∂a = −1",
    array_out=_ufunc_out(np.negative), c_kernel="neg", function=None, rule=lambda c: "−1",
))
register(Op(
    # a ** k with a constant exponent k = attr.
    "pow", 1, lambda a, attr: _real_pow(a, attr),
    lambda xs, out, attr: (_power_rule(xs[0], attr),),
    "pow", "c = aᵏ;  ∂c/∂a = k·aᵏ⁻¹",
    lambda a, attr: a ** attr,
    lambda xs, out, attr: (_np_power_rule(xs[0], attr),),
    c_kernel="pow", function=None,
    domain=lambda xs, attr, where: _pow_domain(xs[0], attr, f"{where[0]} ** {attr!r}"),
    limit_at=_at_zero_base, note=lambda attr: f"k = {attr:g}", rule=_pow_rule,
))
register(Op(
    "exp", 1, lambda a, attr=None: math.exp(a),
    lambda xs, out, attr: (out,),
    "exp", "c = eᵃ;  ∂c/∂a = eᵃ",
    lambda a, attr=None: np.exp(a),
    array_out=_ufunc_out(np.exp), c_kernel="exp", prime="exp", rule=lambda c: f"e^{c.f(0)} = {c.out}",
))
register(Op(
    "log", 1, lambda a, attr=None: math.log(a),
    lambda xs, out, attr: (1.0 / xs[0],),
    "log", "c = ln a;  ∂c/∂a = 1/a",
    lambda a, attr=None: np.log(a),
    array_out=_ufunc_out(np.log), c_kernel="log",
    domain=lambda xs, attr, where: (ValueError(f"log: the input must be > 0, got {xs[0]!r} from {where[0]}")
                                    if not xs[0] > 0.0 else None),
    rule=lambda c: f"1/{c.f(0)}",
))
register(Op(
    "tanh", 1, lambda a, attr=None: math.tanh(a),
    lambda xs, out, attr: (1.0 - out * out,),
    "tanh", "c = tanh a;  ∂c/∂a = 1 − tanh² a",
    lambda a, attr=None: np.tanh(a),
    array_out=_ufunc_out(np.tanh), c_kernel="tanh", activation=True, rule=lambda c: f"1 − tanh²({c.names[0]})",
))
register(Op(
    "sigmoid", 1, lambda a, attr=None: _sigmoid(a),
    lambda xs, out, attr: (out * (1.0 - out),),
    "σ(·)", "c = σ(a) = 1/(1 + e⁻ᵃ);  ∂c/∂a = σ(a)(1 − σ(a))",
    lambda a, attr=None: _np_sigmoid(a),
    array_out=_np_sigmoid_out, c_kernel="sigmoid", prime="σ′", activation=True,
    rule=lambda c: f"σ({c.names[0]})(1 − σ({c.names[0]}))",
))
register(Op(
    # "not a <= 0" keeps a NaN (as np.maximum and PyTorch do) at the cost of "a > 0"
    "relu", 1, lambda a, attr=None: a if not a <= 0.0 else 0.0,
    lambda xs, out, attr: (0.0 if xs[0] <= 0.0 else 1.0,),  # NaN passes the gradient, as PyTorch
    "relu", "c = max(0, a);  ∂c/∂a = 1 if a > 0 else 0 (0 at a = 0)",
    lambda a, attr=None: np.maximum(a, 0.0),
    lambda xs, out, attr: (np.where(xs[0] <= 0, 0.0, 1.0),),
    c_kernel="relu", activation=True,
    rule=lambda c: f"{'1' if c.data[0] > 0 else '0'} {c.compare()}",
))
register(Op(
    "leaky_relu", 1, lambda a, attr: a if a > 0.0 else attr * a,
    lambda xs, out, attr: (1.0 if xs[0] > 0.0 else attr,),
    "leaky_relu", "c = a if a > 0 else s·a;  ∂c/∂a = 1 if a > 0 else s",
    lambda a, attr: np.where(a > 0, a, attr * a),
    lambda xs, out, attr: (np.where(xs[0] > 0, 1.0, attr),),
    c_kernel="leaky_relu", attr_name="slope", attr_default=0.01, note=lambda attr: f"s = {attr:g}",
    rule=lambda c: f"{'1' if c.data[0] > 0 else f's = {c.fmt(c.attr)}'} {c.compare()}",
))
register(Op(
    "elu", 1, _elu,
    lambda xs, out, attr: (1.0 if xs[0] > 0.0 else out + attr,),
    "elu", "c = a if a > 0 else α(eᵃ − 1);  ∂c/∂a = 1 if a > 0 else c + α",
    lambda a, attr: np.where(a > 0, a, attr * np.expm1(np.minimum(a, 0.0))),
    lambda xs, out, attr: (np.where(xs[0] > 0, 1.0, out + attr),),
    c_kernel="elu", attr_name="alpha", attr_default=1.0, note=lambda attr: f"α = {attr:g}",
    rule=lambda c: f"{'1' if c.data[0] > 0 else f'{c.out} + α'} {c.compare()}",
))
register(Op(
    # sign(a) ∈ {−1, +1} with sign(0) = +1 (the threshold units of seed 002);
    # the derivative is taken as 0 everywhere, as the lectures state.
    "sign", 1, lambda a, attr=None: 1.0 if a >= 0.0 else (-1.0 if a < 0.0 else a),  # NaN stays NaN
    lambda xs, out, attr: (0.0,),
    "sign", "c = sign a ∈ {−1, +1};  ∂c/∂a = 0 (taken as 0 everywhere)",
    lambda a, attr=None: np.where(a >= 0, 1.0, np.where(a < 0, -1.0, a)),
    lambda xs, out, attr: (np.zeros_like(xs[0]),),
    c_kernel="sign", activation=True, rule=lambda c: "0 (taken as 0 everywhere)",
))
register(Op(
    # step(a) = 1 if a > 0 else 0, so step(0) = 0 (what the XOR network needs).
    "step", 1, lambda a, attr=None: 1.0 if a > 0.0 else (0.0 if a <= 0.0 else a),  # NaN stays NaN
    lambda xs, out, attr: (0.0,),
    "step", "c = 1 if a > 0 else 0;  ∂c/∂a = 0 (taken as 0 everywhere)",
    lambda a, attr=None: np.where(a > 0, 1.0, np.where(a <= 0, 0.0, a)),
    lambda xs, out, attr: (np.zeros_like(xs[0]),),
    c_kernel="step", activation=True, rule=lambda c: "0 (taken as 0 everywhere)",
))
register(Op(
    "abs", 1, lambda a, attr=None: abs(a),
    # sign a, 0 at a = 0, NaN at NaN (as np.sign and PyTorch)
    lambda xs, out, attr: (1.0 if xs[0] > 0.0 else (-1.0 if xs[0] < 0.0 else xs[0] * 0.0),),
    "abs", "c = |a|;  ∂c/∂a = sign a (0 at a = 0)",
    lambda a, attr=None: np.abs(a),
    lambda xs, out, attr: (np.sign(xs[0]),), array_out=_ufunc_out(np.abs),
    c_kernel="abs", prime="sign", rule=lambda c: f"sign {c.f(0)}",
))

# ------------------------------------------------------------------- n-ary ops

def _sum_forward(*xs: float, attr: Any = None) -> float:
    """x₁ + x₂ + … + xₙ added left to right, as PyTorch and the compiled tape add them (an
    exact ``math.fsum`` would make eager and compiled disagree on e.g. 1e16 + 1 − 1e16)."""
    return functools.reduce(operator.add, xs)


register(Op(
    "sum", None, _sum_forward,
    lambda xs, out, attr: (1.0,) * len(xs),
    "add", "c = Σᵢ aᵢ;  ∂c/∂aᵢ = 1", None, None, kernel="sum", c_kernel="sum", rule=lambda c: "1",
))


def _dot_forward(*xs: float, attr: bool) -> float:
    n = len(xs) // 2
    s = sum(map(operator.mul, xs[:n], xs[n:2 * n]))
    return s + xs[-1] if attr else s


def _dot_partials(xs: Sequence[float], out: float, attr: bool) -> Sequence[float]:
    n = len(xs) // 2
    # ∂/∂wᵢ = xᵢ, ∂/∂xᵢ = wᵢ, ∂/∂b = 1
    return (*xs[n:2 * n], *xs[:n], 1.0) if attr else (*xs[n:], *xs[:n])


def _dot_rule(c: StepNames) -> str:
    half = (len(c.names) - (1 if c.attr else 0)) // 2
    return c.names[c.k + half] if c.k < half else (c.names[c.k - half] if c.k < 2 * half else "1")


register(Op(
    # inputs: (w_1..w_n, x_1..x_n[, b]); attr: True when a bias is present.
    "dot", None, _dot_forward, _dot_partials,
    "dot", "c = Σᵢ wᵢxᵢ (+ b);  ∂c/∂wᵢ = xᵢ,  ∂c/∂xᵢ = wᵢ,  ∂c/∂b = 1", None, None,
    kernel="dot", c_kernel="dot", rule=_dot_rule,
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
    None, None, kernel="max", c_kernel=None,  # Python-only (rare in networks: maxout)
    rule=lambda c: "1 (the largest)" if c.local else "0 (not the largest)",
))


def _softmax_forward(*xs: float, attr: int) -> float:
    return _softmax_list(xs)[attr]


def _softmax_partials(xs: Sequence[float], out: float, attr: int) -> Sequence[float]:
    s = _softmax_list(xs)
    return tuple((out if j == attr else 0.0) - out * sj for j, sj in enumerate(s))


def _softmax_rule(c: StepNames) -> str:
    """∂sₖ/∂aⱼ = sₖ(δₖⱼ − sⱼ), sⱼ = e^aⱼ / Σᵢ e^aᵢ, with this node's numbers."""
    s_k = c.value
    if c.k == c.attr:
        return f"{c.out}(1 − {c.out}) = {c.factor(c.fmt(s_k))} · {c.factor(c.fmt(1.0 - s_k))}"
    s_j = -c.local / s_k if s_k else 0.0
    return f"−{c.out} · e^{c.f(c.k)}/Σᵢ e^aᵢ = −{c.factor(c.fmt(s_k))} · {c.factor(c.fmt(s_j))}"


register(Op(
    # output number attr of softmax(a_1..a_n); every output node reads all inputs.
    "softmax", None, _softmax_forward, _softmax_partials,
    "softmax", "sₖ = eᵃᵏ / Σⱼ eᵃʲ;  ∂sₖ/∂aⱼ = sₖ(δₖⱼ − sⱼ)", None, None,
    kernel="softmax", c_kernel=None, rule=_softmax_rule,  # Python-only (one node per output)
))

_BUILTIN = frozenset(OPS)
