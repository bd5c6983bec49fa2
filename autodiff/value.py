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

import inspect
import threading
from itertools import repeat
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence, Union

from operator import attrgetter

from . import backprop, engine
from .describe import describe
from .graph_order import topological_order
from .ops import OPS, Op
from .staleness import CLOCK, data_written
from .validate import check_label, real_number

__all__ = ["Value", "apply", "no_grad", "is_grad_enabled", "describe", "Number", "backward", "zero_grad"]

Number = Union[int, float]

# Grad mode is per thread, as in PyTorch: a thread inside ``no_grad`` does not stop other
# threads from recording. The hot path (:func:`_node`, and the C core's) reads one module
# global, ``ALL_RECORDING``, which is True while no thread at all is inside ``no_grad``; only
# otherwise does it ask this thread's own depth of nested ``no_grad`` blocks. Public: the C
# core reads it by this name (see the end of this module).
_thread_state = threading.local()
_mode_lock = threading.Lock()
_no_grad_depth_total = 0  # sum over threads of their no_grad nesting depth
ALL_RECORDING = True


def is_grad_enabled() -> bool:
    """Whether new operations are being recorded into graphs, in this thread."""
    return ALL_RECORDING or not getattr(_thread_state, "depth", 0)


def _enter_no_grad(step: int) -> None:
    global _no_grad_depth_total, ALL_RECORDING
    with _mode_lock:
        _thread_state.depth = getattr(_thread_state, "depth", 0) + step
        _no_grad_depth_total += step
        ALL_RECORDING = _no_grad_depth_total == 0


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
    return real_number(data, argument)


# The write clock (autodiff.staleness): an op node stamps itself with it, taking the oldest
# stamp among its op operands, so a root's stamp is that of the oldest op node of its graph.
NO_STAMP = float("inf")  # a leaf's stamp: leaves are not computed from anything
_get_stamp = attrgetter("_stamp")

# How many Values are in a parameter store's vector state (autodiff.params): their ``data``
# lives in the store's array and their own field is stale. While none is, the n-ary ops read
# the fields directly (the property costs more than the arithmetic of a wide dot node).
_IN_VECTORS = [0]


def values_in_vectors(change: int) -> None:
    """Called by :mod:`autodiff.params` when Values enter (+n) or leave (−n) a vector state."""
    _IN_VECTORS[0] += change


def check_inputs(node: "Value", inputs: Iterable["Value"]) -> tuple:
    """New operands for ``node`` (``node.inputs = ...``): Values only, and none of them may
    depend on ``node`` (that would make the graph a cycle, which no backward, compile or
    copy could order)."""
    new = tuple(inputs)
    where = f"{describe(node)}: .inputs"
    for i, v in enumerate(new):
        if not isinstance(v, Value):
            raise TypeError(f"{where}: item {i} is {type(v).__name__}, not a Value")
    if node._op is None and new:
        raise ValueError(f"{where}: a leaf has no operands (it was made by no op); build the node "
                         "with an operator instead")
    if node._op is not None and node._op.arity is not None and len(new) != node._op.arity:
        raise ValueError(f"{where}: op {node._op.name} takes {node._op.arity} operands, got {len(new)}")
    seen: set[int] = set()
    stack = list(new)
    while stack:
        v = stack.pop()
        if v is node:
            raise ValueError(f"{where}: the new operands depend on the node itself, which would make "
                             "the graph a cycle (no topological order, no backward); build a new node instead")
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v._inputs)
    if node._op is not None:
        data_written()  # the node's data no longer need be its op of its operands
    return new


class HookEntry:
    """One :meth:`Value.register_hook` registration: the function, and whether it counts in
    ``Value.leaf_hooks`` (it does while it sits on a leaf). The count drops when the hook is
    removed or when the entry is freed with its leaf, so a forgotten hook on a dropped leaf
    does not keep every later backward off the fast path."""

    __slots__ = ("fn", "_counted")

    def __init__(self, fn: Callable[[float], Optional[float]], *, on_leaf: bool) -> None:
        self.fn = fn
        self._counted = on_leaf
        if on_leaf:
            Value.leaf_hooks += 1

    def release(self) -> None:
        """Take this hook off the leaf-hook count (once)."""
        if self._counted:
            self._counted = False
            Value.leaf_hooks -= 1

    def __del__(self) -> None:
        self.release()


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
    # ``_data``, ``_grad``, ``_label``, ``_inputs``: the fields behind the validating
    # properties below (autodiff.validate: Python floats inside, always). ``_stamp``: for an
    # op node, the write clock (autodiff.staleness) when the oldest op node of its graph was
    # built; NO_STAMP (+inf) for leaves.
    __slots__ = ("_data", "_grad", "_label", "param", "_op", "_inputs", "attr", "group", "_hooks",
                 "_binding", "_stamp")

    # How many hooks sit on live leaves (HookEntry keeps the count). Backward skips leaves
    # (most edges of a network end in one) unless this is non-zero. A count, not references,
    # so a dropped leaf is still freed, and freeing it takes its hooks off the count.
    leaf_hooks = 0

    def __init__(self, data: Number, label: str = "", *, param: bool = False) -> None:
        self._data = _check_number(data, "Value(data)")
        self._label = check_label(label, "Value(label)")
        self._grad = 0.0
        self.param = bool(param)
        self._op: Optional[Op] = None
        self._inputs: tuple[Value, ...] = ()
        self.attr: Any = None
        self.group: Optional[tuple] = None
        self._hooks: Optional[list] = None
        self._binding = None  # set so that asking a leaf for its store raises nothing
        self._stamp = NO_STAMP

    # ------------------------------------------------------------------ fields
    # Each is checked where it enters (autodiff.validate): a number becomes a Python float
    # (np.float32 or an int does not leak into later results), anything else is a TypeError
    # naming the node and the field. Writing ``data`` advances the write clock, so that a
    # graph built before the write is checked before backward uses it (autodiff.staleness).

    def _set_data(self, x: Number) -> None:
        data = x if x.__class__ is float else real_number(x, f"{describe(self)}: .data")
        data_written()
        self._data = data

    def _set_grad(self, x: Number) -> None:
        self._grad = x if x.__class__ is float else real_number(x, f"{describe(self)}: .grad")

    def _set_label(self, label: str) -> None:
        self._label = check_label(label, f"{describe(self)}: .label")

    def _set_inputs(self, inputs: Iterable[Value]) -> None:
        self._inputs = check_inputs(self, inputs)

    data = property(attrgetter("_data"), _set_data, doc="The node's number (a Python float).")
    grad = property(attrgetter("_grad"), _set_grad, doc="∂l/∂node after backward (a Python float).")
    label = property(attrgetter("_label"), _set_label, doc="The name drawn and printed (a str).")
    inputs = property(attrgetter("_inputs"), _set_inputs,
                      doc="The operands, in order (a tuple of Values; never a cycle).")

    # ------------------------------------------------------------------ identity
    @property
    def op(self) -> str:
        """Name of the operation that produced this node; ``""`` for a leaf."""
        return self._op.name if self._op is not None else ""

    @property
    def hooks(self) -> tuple[Callable[[float], Optional[float]], ...]:
        """The functions registered with :meth:`register_hook`, in order (read-only)."""
        return tuple(entry.fn for entry in self._hooks or ())

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
        backward(self)  # the module function: checks that self is a Value (an unbound call)

    def register_hook(self, fn: Callable[[float], Optional[float]]) -> Callable[[], None]:
        """Call ``fn(grad)`` when backward reaches this node with its full gradient.

        If ``fn`` returns a number, it replaces the gradient that flows on. Returns a
        function that removes the hook.
        """
        if not callable(fn):
            raise TypeError(f"register_hook(fn) needs a callable, got {fn!r}")
        entry = HookEntry(fn, on_leaf=self._op is None)  # each remover removes its own
        if self._hooks is None:
            self._hooks = []
        self._hooks.append(entry)

        def remove() -> None:
            hooks = self._hooks or []
            for i, e in enumerate(hooks):
                if e is entry:
                    del hooks[i]
                    entry.release()
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
            prefix = _Ancestors(topological_order(self, leaves=False)[:-1])
        return (_blank_value, (), (prefix, self.data, self.grad, self.label, self.param, self.op,
                                   self.inputs, self.attr, self.group))

    def __setstate__(self, state: tuple) -> None:
        _, data, grad, label, self.param, name, inputs, self.attr, self.group = state
        self._data = real_number(data, "loading a Value: data")
        self._grad = real_number(grad, "loading a Value: grad")
        self._label = check_label(label, "loading a Value: label")
        self._inputs = tuple(inputs)
        self._hooks = None
        self._binding = None
        self._op = None
        self._stamp = -1 if name else NO_STAMP  # a loaded graph is checked at its first backward
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
    # exp, log, tanh, sigmoid, relu, leaky_relu(slope), elu(alpha), sign, step, abs: one
    # method per op of the table with a ``function`` name, made from its entry (see
    # _op_method at the end of this module).

    def __getattr__(self, name: str) -> Callable[..., Value]:
        """``v.<function>(attr)`` for an op registered after this module was imported
        (:func:`autodiff.register`): the op's ``function`` name builds it."""
        op = _FUNCTIONS.get(name) if not name.startswith("_") else None
        if op is None:
            raise AttributeError(f"'Value' object has no attribute {name!r}")
        return lambda *args, **kwargs: call_function(op, self, *args, **kwargs)


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
    c._data, c._grad, c._label, c.param = v.data, v.grad, v.label, v.param
    c._op, c._inputs, c.attr, c.group, c._hooks = v._op, inputs, v.attr, v.group, None
    c._binding = None
    c._stamp = v._stamp  # the same numbers from the same (or copied) operands
    return c

_ADD, _SUB, _MUL, _DIV, _NEG = OPS["add"], OPS["sub"], OPS["mul"], OPS["div"], OPS["neg"]
_POW, _POWV, _DOT = OPS["pow"], OPS["powv"], OPS["dot"]

_new = object.__new__


class _FunctionIndex:
    """The ops of the table by their ``function`` name (``Value.softplus`` → OPS["softplus"]),
    read from the table at each look-up, so that an op registered later has its method."""

    def get(self, name: str) -> Optional[Op]:
        op = OPS.get(name)
        if op is None or op.function != name:
            op = next((o for o in OPS.values() if o.function == name), None)
        return op if op is not None and op.arity == 1 else None


_FUNCTIONS = _FunctionIndex()


def call_function(op: Op, x: Operand, *args: Any, **kwargs: Any) -> Value:
    """``op`` applied to ``x`` as its function is called (``leaky_relu(x, slope=0.1)``): the
    op's constant is the one optional argument, by position or by ``op.attr_name``."""
    if len(args) > 1 or (kwargs and set(kwargs) != {op.attr_name}) or (args and kwargs):
        raise TypeError(f"{op.function}() takes one optional argument"
                        + (f" ({op.attr_name})" if op.attr_name else " (none)")
                        + f", got {len(args)} positional and {sorted(kwargs)} keyword")
    if op.attr_name is None and (args or kwargs):
        raise TypeError(f"{op.function}() takes no argument besides the value")
    attr = args[0] if args else kwargs.get(op.attr_name, op.attr_default)
    if op.attr_name is not None:
        attr = _check_number(attr, f"{op.function}({op.attr_name})")
    return _unary(op, _as_value(x), attr)


def _as_value(x: Operand) -> Value:
    """Wrap a number as a constant leaf; pass a Value through."""
    if x.__class__ is Value:
        return x
    if isinstance(x, Value):
        return x
    v = _new(Value)
    v._data = real_number(x, "operand")
    v._grad = 0.0
    v._label = ""
    v.param = False
    v._op = None
    v._inputs = ()
    v.attr = None
    v.group = None
    v._hooks = None
    v._stamp = NO_STAMP
    return v


def _domain_error(op: Op, inputs: Sequence[Value], attr: Any) -> Optional[BaseException]:
    """The op's own domain rule (``Op.domain``): inputs that would give a complex number, a
    silent NaN or an infinity."""
    return op.domain_error([v.data for v in inputs], attr, [describe(v) for v in inputs])


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


def _node(data: float, op: Op, inputs: tuple[Value, ...], attr: Any, oldest: Any = None) -> Value:
    """A new node holding ``data``; records ``op`` and ``inputs`` unless in :func:`no_grad`.
    ``oldest``: the smallest stamp among the operands, when the caller has it at hand."""
    if data - data != 0.0:  # NaN or ±inf
        _check_nonfinite(op, data, inputs)
    v = _new(Value)
    v._data = data
    v._grad = 0.0
    v._label = ""
    v.param = False
    v.group = None
    v._hooks = None
    if ALL_RECORDING or not getattr(_thread_state, "depth", 0):
        v._op, v._inputs, v.attr = op, inputs, attr
        stamp = CLOCK[0]
        if oldest is None:
            oldest = min(map(_get_stamp, inputs))
        v._stamp = oldest if oldest < stamp else stamp
    else:
        v._op, v._inputs, v.attr, v._stamp = None, (), None, NO_STAMP
    return v


def _not_values(op: Op, inputs: Sequence[Any]) -> Exception:
    """An operand that is not a Value reached an op: a method called unbound, as in
    ``Value.__add__(3.0, 4.0)`` (a TypeError, as Python's own method descriptors raise)."""
    bad = next((x for x in inputs if not isinstance(x, Value)), None)
    if bad is None:  # the AttributeError came from elsewhere: not ours to rename
        return AttributeError(f"{op.name}: an operand lacks a field it needs")
    return TypeError(f"{op.name}: every operand must be a Value (self included: a Value method "
                     f"called unbound?), got {type(bad).__name__}: {bad!r}")


# apply, _unary and _binary differ only in how they call the op's forward (n, one or two
# operands): unpacking costs more than the arithmetic on this hot path.

def apply(op: Op, inputs: tuple[Value, ...], attr: Any = None) -> Value:
    """Build the node ``op(inputs; attr)``: evaluate the op's forward from the table and
    record the operands. Inside :func:`no_grad` the result is a leaf with no inputs."""
    try:
        data = op.forward(*([v.data for v in inputs] if _IN_VECTORS[0] else [v._data for v in inputs]),
                          attr=attr)
    except (ArithmeticError, ValueError) as exc:
        raise _forward_failed(op, inputs, attr, exc) from None
    except AttributeError:
        raise _not_values(op, inputs) from None
    return _node(data, op, inputs, attr)


def _unary(op: Op, a: Value, attr: Any = None) -> Value:
    try:
        data = op.forward(a.data if _IN_VECTORS[0] else a._data, attr=attr)
    except (ArithmeticError, ValueError) as exc:
        raise _forward_failed(op, (a,), attr, exc) from None
    except AttributeError:
        raise _not_values(op, (a,)) from None
    return _node(data, op, (a,), attr, a._stamp)


def _binary(op: Op, a: Value, b: Value) -> Value:
    try:
        data = op.forward(a.data, b.data) if _IN_VECTORS[0] else op.forward(a._data, b._data)
    except (ArithmeticError, ValueError) as exc:
        raise _forward_failed(op, (a, b), None, exc) from None
    except AttributeError:
        raise _not_values(op, (a, b)) from None
    s, t = a._stamp, b._stamp
    return _node(data, op, (a, b), None, s if s < t else t)


# ------------------------------------------------------------- backward, zero_grad

def backward(root: Value) -> None:
    """Reverse-mode backprop from ``root`` (see :func:`autodiff.backprop.backward`)."""
    if not isinstance(root, Value):
        raise TypeError(f"backward(root): expected a Value, got {type(root).__name__}: {root!r}")
    backprop.backward(root)


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


# --------------------------------------------------------- n-ary module functions

def _values(xs: Iterable[Operand], what: str) -> tuple[Value, ...]:
    if isinstance(xs, (Value, str, bytes)) or not hasattr(xs, "__iter__"):
        raise TypeError(f"{what}(values): expected an iterable of Values or numbers, got "
                        f"{type(xs).__name__}: {xs!r}")
    out = tuple(x if isinstance(x, Value) else Value(real_number(x, f"{what}(values): item {i}"))
                for i, x in enumerate(xs))
    if not out:
        raise ValueError(f"{what} needs at least one value, got none")
    return out


def sum(values: Iterable[Operand]) -> Value:  # noqa: A001 - mirrors the builtin on purpose
    """Σᵢ vᵢ as one n-ary ``sum`` node (drawn as one ``add``)."""
    return apply(OPS["sum"], _values(values, "sum"))


def dot(weights: Sequence[Operand], inputs: Sequence[Operand], bias: Optional[Operand] = None) -> Value:
    """Σᵢ wᵢxᵢ (+ b) as one ``dot`` node: a neuron's weighted input z = wᵀx + b."""
    try:
        ws, xs = tuple(weights), tuple(inputs)
    except TypeError:
        name, seq = ("weights", weights) if not hasattr(weights, "__iter__") else ("inputs", inputs)
        raise TypeError(f"dot({name}): expected a sequence of Values or numbers (w₁…wₙ, x₁…xₙ), got "
                        f"{type(seq).__name__}: {seq!r}; for one product write w * x") from None
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


# ------------------------------------------------------------------ methods from the table

def _op_method(op: Op) -> Callable[..., Value]:
    """``Value.<op.function>``: the node ``op(self)``, or ``op(self; attr)`` with the op's
    constant as its one optional argument (``leaky_relu(slope=0.01)``)."""
    if op.attr_name is None:
        def method(self: Value) -> Value:
            return _unary(op, self)
        parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY)]
    else:
        def method(self: Value, *args: Any, **kwargs: Any) -> Value:
            return call_function(op, self, *args, **kwargs)
        parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
                      inspect.Parameter(op.attr_name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                        default=op.attr_default)]
    method.__name__, method.__qualname__ = op.function, f"Value.{op.function}"
    method.__doc__ = f"The ``{op.name}`` node of the op table: {op.formula}"
    method.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return method


for _op in list(OPS.values()):
    if _op.function and _op.arity == 1:
        setattr(Value, _op.function, _op_method(_op))
del _op


# ------------------------------------------------------------------ the engine, chosen once
# autodiff.engine chose the C core or pure Python when it was imported; here Value's hot
# methods and sum/dot are set to that engine's implementations, once. With the C core they
# are its functions, which build the same nodes and fall back to the Python ones above (kept
# in engine.PYTHON) for anything they do not cover; without it, the Python ones stay.
# The C core reads three public names of this module: ALL_RECORDING, CLOCK, NO_STAMP.
_IMPLEMENTATIONS = engine.bind(
    Value, {**{name: Value.__dict__[name] for name in engine.METHODS}, "sum": sum, "dot": dot},
    globals())  # this module's namespace, read live: ALL_RECORDING is rebound by no_grad
for _name in engine.METHODS:
    setattr(Value, _name, _IMPLEMENTATIONS[_name])
sum, dot = _IMPLEMENTATIONS["sum"], _IMPLEMENTATIONS["dot"]  # noqa: A001
del _name
