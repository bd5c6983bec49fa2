"""`Value`: a scalar node of a computational graph.

A node stores its number (``data``), the gradient ∂l/∂node once backward has run
(``grad``), the primitive that made it (an entry of :data:`autodiff.ops.OPS`) and its
operands as a tuple, in order, duplicates kept. Nodes carry no closures, so a graph
holds no reference cycles: dropping the root frees the whole graph at once through
reference counting, and the garbage collector has nothing to do.

Every operator builds exactly one node through :func:`apply`, which evaluates the op's
forward function from the table and turns a math domain error into an exception that
names the op and the operands.
"""

from __future__ import annotations

import numbers
import threading
import unicodedata
from itertools import repeat
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

from .ops import OPS, Op

__all__ = ["Value", "apply", "no_grad", "is_grad_enabled", "describe", "Number"]

Number = Union[int, float]

# Grad mode is per thread, as in PyTorch: a thread inside ``no_grad`` does not stop other
# threads from recording. The hot path (:func:`_node`) reads one module global,
# ``_ALL_RECORDING``, which is True while no thread at all is inside ``no_grad``; only
# otherwise does it ask this thread's own depth of nested ``no_grad`` blocks.
_thread_state = threading.local()
_mode_lock = threading.Lock()
_no_grad_depth_total = 0  # sum over threads of their no_grad nesting depth
_ALL_RECORDING = True


def is_grad_enabled() -> bool:
    """Whether new operations are being recorded into graphs, in this thread."""
    return _ALL_RECORDING or not getattr(_thread_state, "depth", 0)


def _enter_no_grad(step: int) -> None:
    global _no_grad_depth_total, _ALL_RECORDING
    with _mode_lock:
        _thread_state.depth = getattr(_thread_state, "depth", 0) + step
        _no_grad_depth_total += step
        _ALL_RECORDING = _no_grad_depth_total == 0


@contextmanager
def no_grad() -> Iterator[None]:
    """A context in which operations compute values but record no graph.

    Results made inside are leaves (``op == ""``, no inputs), exactly like constants.
    The switch is per thread (as PyTorch's grad mode): other threads keep recording, and
    a new thread starts with recording on.
    """
    _enter_no_grad(1)
    try:
        yield
    finally:
        _enter_no_grad(-1)


def _check_number(data: Any, argument: str) -> float:
    if isinstance(data, bool) or not isinstance(data, numbers.Real):
        raise TypeError(
            f"{argument} must be a real number (int or float), got {type(data).__name__}: {data!r}")
    try:
        return float(data)
    except OverflowError:
        raise OverflowError(f"{argument} is too large for a float: {data!r}") from None


def _check_label(label: str) -> None:
    """Refuse what no output can show: control characters (they break SVG and terminals)
    and lone surrogates (not encodable as UTF-8). Other non-printable characters pass."""
    for i, ch in enumerate(label):
        kind = unicodedata.category(ch)
        if kind == "Cc":
            raise ValueError(f"Value(label) {label!r} holds the control character U+{ord(ch):04X} at "
                             f"index {i}; labels are drawn and printed: use printable text")
        if kind == "Cs":
            raise ValueError(f"Value(label) {label!r} holds a lone surrogate U+{ord(ch):04X} at index {i}, "
                             "which is not valid text (it cannot be written as UTF-8)")


class Value:
    """A scalar in a computational graph.

    ``Value(data, label="", *, param=False)``: ``data`` is a real number, ``label`` the
    name shown in drawings and messages, ``param`` marks a model parameter (drawn red,
    updated by optimizers, listed by the compiler as trainable).

    Attributes: ``data``, ``grad`` (∂l/∂self after ``l.backward()``), ``label``,
    ``param``, ``op`` (name of the op that made the node, ``""`` for leaves),
    ``inputs`` (operands, in order), ``attr`` (the op's constant: exponent, slope, ...),
    ``group`` (a path such as ``("layers.0", "neurons.1")`` set by :mod:`nn`, used to
    collapse drawings; ``None`` otherwise).
    """

    # ``_binding``: a parameter's ParameterStore and position (autodiff.params); never set
    # on other nodes, so building a node costs nothing more.
    __slots__ = ("data", "grad", "label", "param", "_op", "inputs", "attr", "group", "_hooks", "_binding")

    # How many hooks were ever put on leaves and not removed. Backward skips leaves (most
    # edges of a network end in one) unless this is non-zero. A count, not references, so
    # a dropped leaf is still freed; a hook never removed only costs backward some speed.
    leaf_hooks = 0

    def __init__(self, data: Number, label: str = "", *, param: bool = False) -> None:
        self.data = _check_number(data, "Value(data)")
        if not isinstance(label, str):
            raise TypeError(f"Value(label) must be a str, got {type(label).__name__}: {label!r}")
        if not label.isprintable():
            _check_label(label)
        self.grad = 0.0
        self.label = label
        self.param = bool(param)
        self._op: Optional[Op] = None
        self.inputs: tuple[Value, ...] = ()
        self.attr: Any = None
        self.group: Optional[tuple] = None
        self._hooks: Optional[list] = None
        self._binding = None  # set so that asking a leaf for its store raises nothing

    # ------------------------------------------------------------------ identity
    @property
    def op(self) -> str:
        """Name of the operation that produced this node; ``""`` for a leaf."""
        return self._op.name if self._op is not None else ""

    @property
    def is_leaf(self) -> bool:
        """True for a node no op made (an input, a parameter or a constant)."""
        return self._op is None

    def __repr__(self) -> str:
        name = f"{self.label!r}, " if self.label else ""
        kind = f", op={self.op!r}" if self._op is not None else (", param=True" if self.param else "")
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g}{kind})"

    # ------------------------------------------------------------------ backward
    def backward(self) -> None:
        """Reverse-mode backprop from this node: seeds ∂self/∂self = 1.

        Leaves accumulate across calls (as in PyTorch); gradients of intermediate
        nodes are recomputed on every call, never double-counted.
        """
        from .backprop import backward
        backward(self)

    def register_hook(self, fn: Callable[[float], Optional[float]]) -> Callable[[], None]:
        """Call ``fn(grad)`` when backward reaches this node with its full gradient.

        If ``fn`` returns a number, it replaces the gradient that flows on. Returns a
        function that removes the hook.
        """
        if not callable(fn):
            raise TypeError(f"register_hook(fn) needs a callable, got {fn!r}")
        entry = (fn,)  # one object per registration, so each remover removes its own
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(entry)
        if self._op is None:
            Value.leaf_hooks += 1

        def remove() -> None:
            hooks = self._hooks or []
            for i, e in enumerate(hooks):
                if e is entry:
                    del hooks[i]
                    if self._op is None:
                        Value.leaf_hooks -= 1
                    return
        return remove

    # ----------------------------------------------------------------- operators
    def __add__(self, other: Operand) -> Value:
        return _binary(_ADD, self, other if other.__class__ is Value else _as_value(other))

    def __radd__(self, other: Number) -> Value:
        return _binary(_ADD, _as_value(other), self)

    def __sub__(self, other: Operand) -> Value:
        return _binary(_SUB, self, other if other.__class__ is Value else _as_value(other))

    def __rsub__(self, other: Number) -> Value:
        return _binary(_SUB, _as_value(other), self)

    def __mul__(self, other: Operand) -> Value:
        return _binary(_MUL, self, other if other.__class__ is Value else _as_value(other))

    def __rmul__(self, other: Number) -> Value:
        return _binary(_MUL, _as_value(other), self)

    def __truediv__(self, other: Operand) -> Value:
        return _binary(_DIV, self, other if other.__class__ is Value else _as_value(other))

    def __rtruediv__(self, other: Number) -> Value:
        return _binary(_DIV, _as_value(other), self)

    def __neg__(self) -> Value:
        return _unary(_NEG, self)

    def __pos__(self) -> Value:
        return self

    def __pow__(self, other: Operand) -> Value:
        if isinstance(other, Value):
            return _binary(_POWV, self, other)
        return _unary(_POW, self, _check_number(other, "exponent of **"))

    def __rpow__(self, other: Number) -> Value:
        return _binary(_POWV, _as_value(other), self)

    # ------------------------------------------------------- copy and pickle
    # A node is saved as plain fields with its op BY NAME (ops hold functions that cannot be
    # pickled) and its operands as Values, so shared nodes stay shared. Without care, pickle
    # would recurse once per level of the graph (a RecursionError near depth 300); so a node
    # with op inputs first lists its ancestors in topological order (see _Ancestors): each of
    # them is then saved when its own operands are already saved, and no recursion is deep.
    # Hooks are functions of the session and are not copied (a warning says so).

    def __reduce_ex__(self, protocol: Any) -> tuple:
        if self._hooks:
            _warn_hooks_dropped(self)
        prefix = None
        if not getattr(_pickle_state, "depth", 0) and any(v.inputs for v in self.inputs):
            from .backprop import topological_order
            prefix = _Ancestors(topological_order(self, leaves=False)[:-1])
        return (_blank_value, (), (prefix, self.data, self.grad, self.label, self.param, self.op,
                                   self.inputs, self.attr, self.group))

    def __setstate__(self, state: tuple) -> None:
        _, self.data, self.grad, self.label, self.param, name, self.inputs, self.attr, self.group = state
        self._hooks = None
        self._op = None
        if name:
            if name not in OPS:
                raise ValueError(f"loading a Value made by op {name!r}, which is not in autodiff.OPS: "
                                 "register the op (autodiff.register) before unpickling")
            self._op = OPS[name]

    def __copy__(self) -> Value:
        """A new node with the same fields and the same operands (shared, not copied)."""
        return _copy_fields(self, self.inputs)

    def __deepcopy__(self, memo: dict) -> Value:
        """A copy of the whole graph below this node, shared nodes kept shared (iterative:
        any depth works)."""
        from .backprop import topological_order
        for v in topological_order(self):
            if id(v) not in memo:
                memo[id(v)] = _copy_fields(v, tuple(memo[id(a)] for a in v.inputs))
        return memo[id(self)]

    def __bool__(self) -> bool:
        """``data != 0``, as ``bool()`` of a PyTorch scalar tensor (NaN is true)."""
        return self.data != 0.0

    # PyTorch's habits for a scalar: float(loss), loss.item(), round(loss, 3), f"{loss:.3f}".
    def __float__(self) -> float:
        """``self.data``, as ``float()`` of a PyTorch scalar tensor."""
        return self.data

    def __int__(self) -> int:
        """``int(self.data)`` (truncates toward zero, as ``int()`` of a float)."""
        return int(self.data)

    def item(self) -> float:
        """``self.data`` as a Python float, as PyTorch's ``Tensor.item()``."""
        return self.data

    def __round__(self, ndigits: Optional[int] = None) -> Union[int, float]:
        """``round(self.data, ndigits)``: a number, not a node (rounding has no gradient)."""
        return round(self.data, ndigits)

    def __format__(self, format_spec: str) -> str:
        """``f"{v:.3f}"`` formats ``self.data``; an empty spec (``f"{v}"``) gives ``repr(v)``."""
        return format(self.data, format_spec) if format_spec else repr(self)

    # Comparisons are on purpose not defined (the contract leaves them out; use .data), so
    # Values hash and compare by identity, with CPython's C-level default hash.

    # ------------------------------------------------------------------ functions
    def exp(self) -> Value:
        """eˣ; derivative eˣ."""
        return _unary(_EXP, self)

    def log(self) -> Value:
        """ln x (x > 0, else a ValueError naming the node); derivative 1/x."""
        return _unary(_LOG, self)

    def tanh(self) -> Value:
        """tanh x; derivative 1 − tanh² x."""
        return _unary(_TANH, self)

    def sigmoid(self) -> Value:
        """σ(x) = 1/(1 + e⁻ˣ); derivative σ(x)(1 − σ(x))."""
        return _unary(_SIGMOID, self)

    def relu(self) -> Value:
        """max(0, x); the derivative at 0 is taken as 0."""
        return _unary(_RELU, self)

    def leaky_relu(self, slope: Number = 0.01) -> Value:
        """x for x > 0, ``slope``·x otherwise; derivative 1 or ``slope`` (``slope`` at 0)."""
        return _unary(_LEAKY, self, _check_number(slope, "leaky_relu(slope)"))

    def elu(self, alpha: Number = 1.0) -> Value:
        """x for x > 0, α(eˣ − 1) otherwise; derivative 1 or αeˣ."""
        return _unary(_ELU, self, _check_number(alpha, "elu(alpha)"))

    def sign(self) -> Value:
        """+1 for x ≥ 0, −1 otherwise; derivative 0 everywhere (as the lectures take it)."""
        return _unary(_SIGN, self)

    def step(self) -> Value:
        """1 for x > 0, 0 otherwise (so step(0) = 0); derivative 0 everywhere."""
        return _unary(_STEP, self)

    def abs(self) -> Value:
        """|x|; derivative sign(x) (0 at x = 0)."""
        return _unary(_ABS, self)


Operand = Union[Value, Number]

_pickle_state = threading.local()  # depth > 0 while pickle saves an _Ancestors list


class _Ancestors(list):
    """The ancestors of a node being pickled, in topological order. While pickle saves them,
    nodes are saved without an ancestor list of their own (their operands come earlier)."""

    def __reduce_ex__(self, protocol: Any) -> tuple:
        return (list, (), None, _shallow_items(self))


def _shallow_items(nodes: list) -> Iterator[Value]:
    _pickle_state.depth = getattr(_pickle_state, "depth", 0) + 1
    try:
        yield from nodes
    finally:
        _pickle_state.depth -= 1


def _blank_value() -> Value:
    return _new(Value)


def _warn_hooks_dropped(v: Value) -> None:
    import warnings
    warnings.warn(f"copying {describe(v)}: its hooks (register_hook) are not copied", stacklevel=3)


def _copy_fields(v: Value, inputs: tuple) -> Value:
    if v._hooks:
        _warn_hooks_dropped(v)
    c = _new(Value)
    c.data, c.grad, c.label, c.param = v.data, v.grad, v.label, v.param
    c._op, c.inputs, c.attr, c.group, c._hooks = v._op, inputs, v.attr, v.group, None
    return c

_ADD, _SUB, _MUL, _DIV, _NEG = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"], OPS["neg"]
_POW, _POWV, _EXP, _LOG = OPS["pow"], OPS["powv"], OPS["exp"], OPS["log"]
_TANH, _SIGMOID, _RELU, _LEAKY, _ELU = (
    OPS["tanh"], OPS["sigmoid"], OPS["relu"], OPS["leaky_relu"], OPS["elu"])
_SIGN, _STEP, _ABS, _DOT = OPS["sign"], OPS["step"], OPS["abs"], OPS["dot"]

_new = object.__new__


def _as_value(x: Operand) -> Value:
    """Wrap a number as a constant leaf; pass a Value through."""
    if x.__class__ is Value:
        return x
    if isinstance(x, Value):
        return x
    v = _new(Value)
    v.data = _check_number(x, "operand")
    v.grad = 0.0
    v.label = ""
    v.param = False
    v._op = None
    v.inputs = ()
    v.attr = None
    v.group = None
    v._hooks = None
    return v


def describe(v: Value) -> str:
    """A short, human description of a node for error messages."""
    name = f"'{v.label}'" if v.label else "(unlabelled)"
    what = f"op {v.op}" if v._op is not None else ("parameter" if v.param else "leaf")
    return f"node {name} [{what}, data={v.data!r}]"


def _domain_error(op: Op, inputs: Sequence[Value], attr: Any) -> Optional[BaseException]:
    """Check inputs that would give a complex number, a silent NaN or an infinity."""
    name = op.name
    if name == "log" and not inputs[0].data > 0.0:
        return ValueError(f"log: the input must be > 0, got {inputs[0].data!r} from {describe(inputs[0])}")
    if name in ("pow", "powv"):
        a = inputs[0].data
        k = attr if name == "pow" else inputs[1].data
        where = f"{describe(inputs[0])} ** " + (repr(k) if name == "pow" else describe(inputs[1]))
        if a < 0.0 and not float(k).is_integer():
            return ValueError(
                f"pow: a negative base {a!r} with a non-integer exponent {k!r} has no real value ({where})")
        if a == 0.0 and k < 0.0:
            return ZeroDivisionError(f"pow: 0 raised to a negative power {k!r} ({where})")
    if name == "div" and inputs[1].data == 0.0:
        return ZeroDivisionError(f"div: division by zero: {describe(inputs[0])} / {describe(inputs[1])}")
    return None


def _forward_failed(op: Op, inputs: Sequence[Value], attr: Any, exc: Exception) -> Exception:
    """Turn a math error inside ``op.forward`` into one that names the op and operands."""
    error = _domain_error(op, inputs, attr)
    if error is None:
        operands = ", ".join(describe(v) for v in inputs)
        if isinstance(exc, OverflowError):  # Python says "(34, 'Numerical result out of range')"
            error = OverflowError(f"{op.name}: the result is too large for a float (it overflows) "
                                  f"for {operands}")
        else:
            error = type(exc)(f"{op.name}: {exc} for {operands}")
    return error


def _check_nonfinite(op: Op, data: float, inputs: Sequence[Value]) -> None:
    """A NaN or an infinity made from finite inputs is an error, never a silent value.

    (Raised here, not returned: an exception kept in a caller's local would form a
    reference cycle through its traceback.)
    """
    operands = ", ".join(describe(v) for v in inputs)
    if data != data:
        if all(v.data == v.data for v in inputs):
            raise ValueError(f"{op.name}: the result is NaN for {operands}")
    elif all(v.data - v.data == 0.0 for v in inputs):
        raise OverflowError(f"{op.name}: the result overflows to {data!r} for {operands}")


def _node(data: float, op: Op, inputs: tuple[Value, ...], attr: Any) -> Value:
    """A new node holding ``data``; records ``op`` and ``inputs`` unless in :func:`no_grad`."""
    if data - data != 0.0:  # NaN or ±inf
        _check_nonfinite(op, data, inputs)
    v = _new(Value)
    v.data = data
    v.grad = 0.0
    v.label = ""
    v.param = False
    v.group = None
    v._hooks = None
    if _ALL_RECORDING or not getattr(_thread_state, "depth", 0):
        v._op, v.inputs, v.attr = op, inputs, attr
    else:
        v._op, v.inputs, v.attr = None, (), None
    return v


# apply, _unary and _binary differ only in how they call the op's forward (n, one or two
# operands): unpacking costs more than the arithmetic on this hot path.

def apply(op: Op, inputs: tuple[Value, ...], attr: Any = None) -> Value:
    """Build the node ``op(inputs; attr)``: evaluate the op's forward from the table and
    record the operands. Inside :func:`no_grad` the result is a leaf with no inputs."""
    try:
        data = op.forward(*[v.data for v in inputs], attr=attr)
    except (ArithmeticError, ValueError) as exc:
        raise _forward_failed(op, inputs, attr, exc) from None
    return _node(data, op, inputs, attr)


def _unary(op: Op, a: Value, attr: Any = None) -> Value:
    try:
        data = op.forward(a.data, attr=attr)
    except (ArithmeticError, ValueError) as exc:
        raise _forward_failed(op, (a,), attr, exc) from None
    return _node(data, op, (a,), attr)


def _binary(op: Op, a: Value, b: Value) -> Value:
    try:
        data = op.forward(a.data, b.data)
    except (ArithmeticError, ValueError) as exc:
        raise _forward_failed(op, (a, b), None, exc) from None
    return _node(data, op, (a, b), None)


# --------------------------------------------------------- n-ary module functions

def _values(xs: Iterable[Operand], what: str) -> tuple[Value, ...]:
    out = tuple(_as_value(x) for x in xs)
    if not out:
        raise ValueError(f"{what} needs at least one value, got none")
    return out


def sum(values: Iterable[Operand]) -> Value:  # noqa: A001 - mirrors the builtin on purpose
    """Σᵢ vᵢ as one n-ary ``sum`` node (drawn as one ``add``)."""
    return apply(OPS["sum"], _values(values, "sum"))


def dot(weights: Sequence[Operand], inputs: Sequence[Operand], bias: Optional[Operand] = None) -> Value:
    """Σᵢ wᵢxᵢ (+ b) as one ``dot`` node: a neuron's weighted input z = wᵀx + b."""
    ws, xs = tuple(weights), tuple(inputs)
    if len(ws) != len(xs):
        raise ValueError(f"dot: {len(ws)} weights but {len(xs)} inputs; they must match")
    if not ws:
        raise ValueError("dot needs at least one weight and input, got none")
    operands = ws + xs if bias is None else ws + xs + (_as_value(bias),)
    if not all(map(isinstance, operands, repeat(Value))):
        operands = tuple(map(_as_value, operands))
    return apply(_DOT, operands, bias is not None)


def maximum(values: Iterable[Operand]) -> Value:
    """maxᵢ vᵢ as one node (a maxout unit); the gradient goes to the first largest input."""
    return apply(OPS["max"], _values(values, "maximum"))


def softmax(values: Iterable[Operand]) -> list[Value]:
    """softmax(v)ₖ = e^{vₖ} / Σⱼ e^{vⱼ}, one node per output, each reading every input."""
    vs = _values(values, "softmax")
    op = OPS["softmax"]
    return [apply(op, vs, k) for k in range(len(vs))]

