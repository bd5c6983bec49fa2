"""`ParameterStore`: the parameters of a model in one flat float64 vector.

A store holds parameter Values θ₀ … θ_{P−1} in two arrays, ``data`` (θ) and ``grad``
(∂l/∂θ). The compiled tape reads θ and adds its batch gradient into ``grad``, optimizers
update θ in place, and neither walks the Values in Python. Every parameter stays an
ordinary :class:`autodiff.Value` (drawing, stepping, eager ``backward()`` work as before),
and reading ``p.data`` / ``p.grad`` always gives the current number.

How the Values see the vector. Each bound Value records its store and position (in its
``_binding`` field, which copying and pickling drop). The store is in one of two states:

* **vector** (after :meth:`ParameterStore.vector_current`, i.e. after any optimizer step or
  compiled pass): the Values carry the store's own class (a subclass of Value with no extra
  fields) whose ``data`` and ``grad`` are properties reading and writing the arrays, so a
  Value always shows what the vector holds;
* **values** (after :meth:`ParameterStore.values_current`, which a model calls before it
  builds an eager graph): the numbers are copied into the Values' own fields and the
  Values are plain :class:`Value` objects again, so the eager engine runs exactly as on any
  other leaf (no property call, no second class at its attribute sites).

Switching costs one pass over the parameters and happens only when the user moves between
eager graphs and array updates, never inside a compiled training loop. Every reader of
the arrays calls :meth:`vector_current` first (the public ``data`` / ``grad`` attributes do
it for you), so neither state can be stale when it is read.

Zeroing the whole gradient (:meth:`ParameterStore.zero_grad`, what ``opt.zero_grad()``
does) is deferred: the array is cleared when ``grad`` is next read, and a compiled
backward that follows (:meth:`ParameterStore.add_grad`) hands its gradient array to the
store, which takes it as its ``grad`` — no pass over the vector at all, where zeroing and
adding made three. Hence, again: take ``store.grad`` from the store when you need it, not
an array kept from before (after such a backward it is another array).
"""

from __future__ import annotations

from operator import attrgetter
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from .staleness import data_written
from .validate import real_number
from .value import Value, describe, values_in_vectors

__all__ = ["ParameterStore", "StoredValue", "store_of", "parameter_store", "Index"]

Index = Union[slice, np.ndarray]

_get_data, _get_grad = attrgetter("data"), attrgetter("grad")


class _Binding:
    """A bound Value's store and position. A deep copy or a pickle of the Value gets
    ``None`` here, a shallow copy shares it but is not the Value at that position: either
    way the copy is a new, unbound Value holding the same numbers."""

    __slots__ = ("store", "index")

    def __init__(self, store: "ParameterStore", index: int) -> None:
        self.store, self.index = store, index

    def __deepcopy__(self, memo: dict) -> None:
        return None

    def __reduce__(self):
        return (type(None), ())


def parameter_store(v: Value) -> Optional["ParameterStore"]:
    """The store ``v`` is bound to, or ``None``."""
    b = getattr(v, "_binding", None)
    return b.store if b is not None and b.store.values[b.index] is v else None


class StoredValue(Value):
    """The class of a bound Value while its store is in the vector state (each store
    subclasses this once); copying or pickling one gives a plain, unbound Value."""

    __slots__ = ()

    def __reduce__(self):
        return (_unbound_value, (self.data, self.grad, self.label, self.param, self.group))


def _unbound_value(data: float, grad: float, label: str, param: bool, group: Optional[tuple]) -> Value:
    v = Value(data, label, param=param)
    v.grad, v.group = grad, group
    return v


def _real(x: object, what: str, v: Value) -> float:
    return real_number(x, f"{describe(v)}: .{what}")


def _vector_data(self: Value) -> float:
    b = self._binding
    return b.store._data.item(b.index)


def _set_vector_data(self: Value, x: float) -> None:
    b = self._binding
    x = _real(x, "data", self)
    data_written()  # before the write: a tape awaiting backward keeps the numbers it used
    b.store._data[b.index] = x


def _vector_grad(self: Value) -> float:
    b = self._binding
    store = b.store
    return 0.0 if store._zeroed else store._grad.item(b.index)


def _set_vector_grad(self: Value, x: float) -> None:
    b = self._binding
    x = _real(x, "grad", self)
    b.store._clear_deferred()
    b.store._grad[b.index] = x


_VECTOR_FIELDS = {"__slots__": (), "data": property(_vector_data, _set_vector_data, doc="θᵢ, from the store"),
                  "grad": property(_vector_grad, _set_vector_grad, doc="∂l/∂θᵢ, from the store")}


class ParameterStore:
    """``ParameterStore(values)``: bind parameter Values to one flat vector (module docstring).

    ``values`` are leaves, each listed once and not yet in another store; their current
    ``data`` and ``grad`` become the vectors' entries, in the order given. Attributes:
    ``values`` (the Values, by position), ``data`` and ``grad`` (the (P,) float64 arrays;
    read them from the store each time you need them, do not keep them across eager use).
    """

    def __init__(self, values: Iterable[Value]) -> None:
        values = list(values)
        seen: set[int] = set()
        for i, v in enumerate(values):
            if not isinstance(v, Value):
                raise TypeError(f"ParameterStore(values): item {i} is {type(v).__name__}, not a Value")
            if not v.is_leaf:
                raise ValueError(f"ParameterStore(values): item {i} is {describe(v)}, not a leaf; "
                                 "only leaves can be parameters")
            if parameter_store(v) is not None:
                raise ValueError(f"ParameterStore(values): item {i}, {describe(v)}, already lives in "
                                 "another parameter store; a parameter can be in one store only")
            if id(v) in seen:
                raise ValueError(f"ParameterStore(values): {describe(v)} is listed twice")
            seen.add(id(v))
        self.values: list[Value] = values
        self._data = np.fromiter(map(_get_data, values), float, len(values))
        self._grad = np.fromiter(map(_get_grad, values), float, len(values))
        self._position = {id(v): i for i, v in enumerate(values)}
        self._zeroed = False  # zero_grad() deferred: _grad's numbers stand for zeros
        self._class = type("StoredValue", (StoredValue,), dict(_VECTOR_FIELDS))
        for i, v in enumerate(values):
            v._binding = _Binding(self, i)
        self._vector_mode = False
        self.vector_current()

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"ParameterStore({len(self.values)} parameters)"

    @property
    def data(self) -> np.ndarray:
        """θ, shape (P,): the parameters' values (writable; Values see what you write)."""
        self.vector_current()
        data_written()  # the caller may write it: graphs built before are checked (staleness)
        return self._data

    @property
    def grad(self) -> np.ndarray:
        """∂l/∂θ, shape (P,): the accumulated gradients (writable)."""
        self.vector_current()
        self._clear_deferred()
        return self._grad

    def _clear_deferred(self) -> None:
        """Carry out a deferred :meth:`zero_grad`."""
        if self._zeroed:
            self._grad.fill(0.0)
            self._zeroed = False

    def zero_grad(self, index: Index = slice(None)) -> None:
        """grad[index] ← 0, in whichever state the store is: an array write (for the whole
        vector deferred until ``grad`` is read or :meth:`add_grad` overwrites it), or (when
        the Values hold the numbers, e.g. between building an eager graph and its backward)
        a pass over those Values' fields, so that backward still runs on plain fields."""
        if self._vector_mode:
            if self._covers(index):
                self._zeroed = True
            elif not self._zeroed:
                self._grad[index] = 0.0
            return
        values = self.values[index] if isinstance(index, slice) else [self.values[i] for i in index.tolist()]
        for v in values:
            v.grad = 0.0

    def add_grad(self, index: Index, g: np.ndarray, *, adopt: bool = False) -> None:
        """grad[index] += g (a compiled backward's batch gradient). When the whole gradient
        was zeroed since it was last read, g is copied in instead — or, with ``adopt=True``,
        *becomes* the store's gradient array (no copy; as PyTorch's backward takes the new
        gradient tensor as ``.grad`` after ``zero_grad(set_to_none=True)``). The caller then
        must not write ``g`` while :meth:`holds_grad` says the store holds it."""
        self.vector_current()
        if self._zeroed and self._covers(index):
            if adopt and g.dtype == np.float64 and g.shape == self._grad.shape and g.flags.c_contiguous:
                self._grad = g
            else:
                self._grad[index] = g
            self._zeroed = False
        else:
            self.grad[index] += g

    def holds_grad(self, array: np.ndarray) -> bool:
        """Whether ``array`` is the store's gradient array (one it adopted, :meth:`add_grad`)."""
        return self._grad is array

    def _covers(self, index: Index) -> bool:
        """``index`` is a slice over the whole vector, in order."""
        return isinstance(index, slice) and index.indices(len(self._grad)) == (0, len(self._grad), 1)

    # ------------------------------------------------------------------ states
    def vector_current(self, *, read_values: bool = True) -> None:
        """Make the arrays the truth: copy the Values' fields in (if the Values were), then
        let every Value read the arrays. ``read_values=False`` skips the copy: for a caller
        that has just written the arrays directly and wants those numbers kept."""
        if self._vector_mode:
            return
        if read_values:
            n = len(self.values)
            self._data[:] = np.fromiter(map(_get_data, self.values), float, n)
            self._grad[:] = np.fromiter(map(_get_grad, self.values), float, n)
        cls = self._class
        for v in self.values:
            v.__class__ = cls
        values_in_vectors(len(self.values))
        self._vector_mode = True

    def values_current(self) -> None:
        """Make the Values' own fields the truth (what the eager engine reads fastest)."""
        if not self._vector_mode:
            return
        self._clear_deferred()
        for v in self.values:
            v.__class__ = Value
        values_in_vectors(-len(self.values))
        for v, d, g in zip(self.values, self._data.tolist(), self._grad.tolist()):
            v.data = d
            v.grad = g
        self._vector_mode = False

    # ----------------------------------------------------------------- lookup
    def positions(self, values: Sequence[Value]) -> np.ndarray:
        """The positions of ``values`` in the vector (KeyError naming one that is not here)."""
        pos = self._position
        try:
            return np.fromiter((pos[id(v)] for v in values), np.intp, len(values))
        except KeyError:
            bad = next(v for v in values if id(v) not in pos)
            raise KeyError(f"{describe(bad)} is not in this parameter store") from None

    def index(self, values: Sequence[Value]) -> Index:
        """An index into the vector for ``values``: a slice when they are a run of consecutive
        positions in order (so ``data[index]`` is a view), else an integer array."""
        pos = self.positions(values)
        if len(pos) and pos[-1] - pos[0] == len(pos) - 1 and np.all(np.diff(pos) == 1):
            return slice(int(pos[0]), int(pos[-1]) + 1)
        return pos


def store_of(values: Sequence[Value], where: str, *, ordered: bool = True) -> tuple[ParameterStore, Index]:
    """The store holding all of ``values`` and an index of them into its vector.

    Unbound values get a new store of their own (in the order given). Values spread over
    several stores, or a mix of bound and unbound ones, are an error naming one of each.
    With ``ordered=False`` (for updates that are elementwise or a norm, where the order
    does not matter) values that are the whole store in any order give ``slice(None)``.
    """
    values = list(values)
    if not values:
        raise ValueError(f"{where}: no parameters given")
    stores = {}
    for v in values:
        s = parameter_store(v)
        stores.setdefault(id(s), (s, v))
    if len(stores) > 1:
        (s1, v1), (s2, v2) = list(stores.values())[:2]
        what = lambda s: "no store" if s is None else repr(s)  # noqa: E731
        raise ValueError(f"{where}: the parameters live in different parameter stores ({describe(v1)} in "
                         f"{what(s1)}, {describe(v2)} in {what(s2)}); give one model's parameters, or "
                         "build the optimizer / tape before binding them elsewhere")
    store: Optional[ParameterStore] = next(iter(stores.values()))[0]
    if store is None:
        return ParameterStore(values), slice(None)
    if not ordered and len(values) == len(store) and len({id(v) for v in values}) == len(store):
        return store, slice(None)
    return store, store.index(values)
