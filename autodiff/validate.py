"""Checks at the doors where data enters the library; one place for each rule.

Every function takes the value and ``where`` — the argument as the user wrote it, e.g.
``"fit(X)"`` or ``"node 'w' [parameter]: .data"`` — and either returns the value in the one
form the library computes with (a Python ``float``, a float64 array, a ``str``, an ``int``)
or raises an error that names ``where``, the row/column/key when there is one, what was wrong
and what is accepted. The eager engine, the compiled tape, training and the loaders call
these same functions, so they accept and refuse the same things.

Types follow Python's and NumPy's conventions: a wrong *kind* of thing is a ``TypeError``
(``None``, a string, a bool, a ``Decimal``, a complex number), a thing of the right kind with
a bad value is a ``ValueError`` (NaN where finite numbers are needed, a negative seed, a
ragged batch), an int too large for a float is an ``OverflowError``.
"""

from __future__ import annotations

import math
import numbers
import unicodedata
from itertools import chain
from typing import Any, Optional, Sequence

import numpy as np

__all__ = ["real_number", "finite_number", "positive_number", "nonnegative_number", "check_label",
           "seed", "int_at_least", "batch", "vector", "targets", "ACCEPTED_NUMBER"]

ACCEPTED_NUMBER = "a real number (int or float; not bool, str, None, Decimal or complex)"


def _kind(x: Any) -> str:
    text = repr(x)
    return f"{type(x).__name__}: {text[:60] + '…' if len(text) > 60 else text}"


def real_number(x: Any, where: str) -> float:
    """``x`` as a Python float: ints, floats and NumPy real scalars are accepted (NaN and ±inf
    too); bools, strings, ``None``, ``Decimal``, ``Fraction``-like exotic types that are not
    ``numbers.Real`` and complex numbers are a ``TypeError``; an int too large for a float an
    ``OverflowError``."""
    if x.__class__ is float:
        return x
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        raise TypeError(f"{where} must be {ACCEPTED_NUMBER}, got {_kind(x)}")
    try:
        return float(x)
    except OverflowError:
        raise OverflowError(f"{where} is too large for a float (beyond ±1.8e308): {_kind(x)}") from None


def finite_number(x: Any, where: str) -> float:
    """:func:`real_number`, and finite (no NaN, no ±inf)."""
    f = real_number(x, where)
    if f - f != 0.0:
        raise ValueError(f"{where} must be a finite number, got {f!r}")
    return f


def positive_number(x: Any, where: str) -> float:
    """A finite number > 0 (a step size, a tolerance that must not vanish)."""
    f = finite_number(x, where)
    if not f > 0.0:
        raise ValueError(f"{where} must be a finite number > 0, got {f!r}")
    return f


def nonnegative_number(x: Any, where: str) -> float:
    """A finite number ≥ 0 (a tolerance, a noise level)."""
    f = finite_number(x, where)
    if f < 0.0:
        raise ValueError(f"{where} must be a finite number ≥ 0, got {f!r}")
    return f


def int_at_least(x: Any, where: str, low: int) -> int:
    """An int (not bool) ≥ ``low``; NumPy integers are accepted."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Integral):
        raise TypeError(f"{where} must be an int ≥ {low}, got {_kind(x)}")
    if x < low:
        raise ValueError(f"{where} must be an int ≥ {low}, got {int(x)}")
    return int(x)


def seed(x: Any, where: str) -> Optional[int]:
    """A random seed: ``None`` (fresh entropy) or an int in [0, 2³² − 1] (what NumPy and the
    Mersenne twister take)."""
    if x is None:
        return None
    s = int_at_least(x, where, 0)
    if s > 2 ** 32 - 1:
        raise ValueError(f"{where} must be None or an int in [0, 2**32 - 1], got {s}")
    return s


def check_label(label: Any, where: str) -> str:
    """A label: any ``str`` (drawings escape what they cannot show and shorten long ones),
    except control characters and lone surrogates, which no output can carry."""
    if label.__class__ is not str:
        if not isinstance(label, str):
            raise TypeError(f"{where} must be a str, got {_kind(label)}")
        label = str(label)
    if not label.isprintable():
        for i, ch in enumerate(label):
            kind = unicodedata.category(ch)
            if kind == "Cc":
                raise ValueError(f"{where} {label[:40]!r} holds the control character U+{ord(ch):04X} at "
                                 f"index {i}; labels are drawn and printed: use printable text")
            if kind == "Cs":
                raise ValueError(f"{where} {label[:40]!r} holds a lone surrogate U+{ord(ch):04X} at index "
                                 f"{i}, which is not valid text (it cannot be written as UTF-8)")
    return label


# ------------------------------------------------------------------ arrays

def _nonfinite(x: float) -> str:
    return "NaN" if x != x else ("+inf" if x > 0 else "-inf")


def _column(i: int, names: Optional[Sequence[str]]) -> str:
    if names is not None and i < len(names) and names[i]:
        return f"column {i} ({names[i]!r})"
    return f"column {i}"


def _first_ragged_row(rows: Sequence[Any], where: str) -> Exception:
    width = None
    for r, row in enumerate(rows):
        try:
            n = len(row)
        except TypeError:
            return ValueError(f"{where}: row {r} is {_kind(row)}, not a row of numbers; every row must "
                              "be a sequence of the same length")
        if width is None:
            width = n
        elif n != width:
            return ValueError(f"{where}: row {r} has {n} entries but row 0 has {width}; every row must have "
                              "the same length (a ragged batch)")
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            if not isinstance(cell, (numbers.Number, str, bytes)) and cell is not None:
                return TypeError(f"{where}: row {r}, column {c} is {_kind(cell)}; expected {ACCEPTED_NUMBER} "
                                 "(a 2-D table of numbers, not nested deeper)")
    return ValueError(f"{where}: the rows are nested unevenly; pass a 2-D table of numbers")


def batch(X: Any, where: str, width: Optional[int] = None, *, names: Optional[Sequence[str]] = None,
          finite: bool = False, one_sample: bool = True, one_d: str = "sample",
          expects: Optional[str] = None) -> np.ndarray:
    """``X`` as a C-contiguous float64 array of shape (B, width), B ≥ 1.

    Every entry must be a real number (:func:`real_number`); the first that is not is named
    by row and column (and the column's input name from ``names``). A 1-D ``X`` of length
    ``width`` is one sample when ``one_sample``; with ``one_d="column"`` a 1-D ``X`` is one
    column (N samples of one input, when ``width`` is 1); ``one_d="keep"`` returns it 1-D. Masked arrays are refused when an entry is
    masked (the mask would be lost); ``finite=True`` also refuses NaN and ±inf (what training
    data must be).
    """
    if isinstance(X, (str, bytes)) or X is None or isinstance(X, (bool, numbers.Number)):
        raise TypeError(f"{where} must be a 2-D table of numbers (a list of rows or an array), "
                        f"got {_kind(X)}")
    if np.ma.isMaskedArray(X):
        mask = np.ma.getmaskarray(X)
        if mask.any():
            r, *c = np.argwhere(mask)[0].tolist()
            at = f"row {r}, {_column(c[0], names)}" if c else f"entry {r}"
            raise ValueError(f"{where} is a masked array with a masked entry at {at}; the engine has no "
                             "missing values: pass X.filled(value) or drop those rows")
        X = np.ma.getdata(X)
    try:
        A = np.asarray(X)
    except ValueError:  # NumPy refuses ragged nesting
        raise _first_ragged_row(X, where) from None
    if A.dtype.kind == "c" or (A.dtype.kind == "O" and any(isinstance(x, complex) for x in A.flat)):
        raise TypeError(f"{where} holds complex numbers; the engine computes with real numbers only "
                        "(pass the real part explicitly if that is what you mean)")
    if A.dtype.kind not in "fiu" or (not isinstance(X, np.ndarray) and _holds_bool(X)):
        A = _checked_objects(np.asarray(X, dtype=object) if A.dtype.kind in "fiu" else A, where, names)
    else:
        A = np.ascontiguousarray(A, dtype=np.float64)
    if A.ndim == 1 and one_d == "keep":
        if A.shape[0] == 0:
            raise ValueError(f"{where} is empty (0 rows, no samples)")
        if finite and not np.isfinite(A).all():
            i = int(np.flatnonzero(~np.isfinite(A))[0])
            raise ValueError(f"{where}: entry {i} is {_nonfinite(A[i])}; training data must be finite numbers")
        return A
    if A.ndim == 1 and one_d == "column" and width == 1:
        A = A[:, None]
    if A.ndim == 1 and one_sample and width is not None and A.shape[0] == width:
        A = A[None, :]
    if A.ndim == 2 and width is not None and A.shape[1] != width and expects:
        raise ValueError(f"{where} has {A.shape[1]} columns but {expects} (shape {A.shape})")
    if A.ndim != 2 or (width is not None and A.shape[1] != width):
        rows = "B" if one_sample else "N"
        want = f"({rows}, {width})" if width is not None else f"({rows}, n)"
        shown = ""
        if names:
            shown = " — one column per input (" + ", ".join(n or "?" for n in names[:3]) + \
                (", …" if len(names) > 3 else "") + ")"
        raise ValueError(f"{where} must have shape {want}{shown}, got shape {A.shape}")
    if A.shape[0] == 0:
        raise ValueError(f"{where} is empty (0 rows, no samples)")
    if finite and not np.isfinite(A).all():
        r, c = np.argwhere(~np.isfinite(A))[0].tolist()
        raise ValueError(f"{where}: row {r}, {_column(c, names)} is {_nonfinite(A[r, c])}; training data "
                         "must be finite numbers")
    return A


def _holds_bool(X: Any) -> bool:
    """Whether nested lists hold a bool (NumPy turns ``[[True, 0.5]]`` into floats silently).
    One pass over the cells' types, at C speed (a set of the types met)."""
    if not isinstance(X, (list, tuple)):
        return False
    cells = chain.from_iterable(row if isinstance(row, (list, tuple)) else (row,) for row in X)
    return any(issubclass(t, (bool, np.bool_)) for t in set(map(type, cells)))


def _checked_objects(A: np.ndarray, where: str, names: Optional[Sequence[str]]) -> np.ndarray:
    """An array of another dtype (object, bool, str, bytes...) converted entry by entry, the
    first entry that is not a real number named."""
    out = np.empty(A.shape, dtype=np.float64)
    flat_in, flat_out = A.reshape(-1), out.reshape(-1)
    for k, x in enumerate(flat_in.tolist() if A.dtype.kind != "O" else flat_in):
        try:
            flat_out[k] = real_number(x, "entry")
        except (TypeError, OverflowError) as exc:
            index = np.unravel_index(k, A.shape) if A.ndim else ()
            if len(index) == 2:
                at = f"row {index[0]}, {_column(index[1], names)}"
            elif len(index) == 1:
                at = _column(index[0], names) if names else f"entry {index[0]}"
            else:
                at = "the value"
            what = "is too large for a float (beyond ±1.8e308)" if isinstance(exc, OverflowError) else \
                f"is {_kind(x)}; expected {ACCEPTED_NUMBER}"
            raise type(exc)(f"{where}: {at} {what}") from None
    return out


def vector(x: Any, where: str, length: Optional[int] = None, *, finite: bool = True) -> np.ndarray:
    """``x`` as a 1-D float64 array (of ``length`` entries when given), entry by entry checked
    as :func:`real_number`; the first bad entry is named by position."""
    if isinstance(x, (str, bytes)) or x is None or isinstance(x, (bool, numbers.Number)):
        raise TypeError(f"{where} must be a sequence of numbers, got {_kind(x)}")
    try:
        A = np.asarray(x)
    except ValueError:
        raise ValueError(f"{where} must be a flat sequence of numbers (it is nested unevenly)") from None
    if A.dtype.kind == "c":
        raise TypeError(f"{where} holds complex numbers; parameters are real numbers "
                        "(pass the real part explicitly if that is what you mean)")
    A = A.reshape(-1) if A.ndim != 1 else A
    if A.dtype.kind in "fiu":
        A = np.asarray(A, dtype=np.float64)
    else:
        A = _checked_objects(A, where, None)
    if length is not None and A.size != length:
        raise ValueError(f"{where}: expected {length} numbers, got {A.size}")
    if finite and not np.isfinite(A).all():
        i = int(np.flatnonzero(~np.isfinite(A))[0])
        raise ValueError(f"{where}: entry {i} is {_nonfinite(A[i])}; expected finite numbers")
    return A


def targets(Y: Any, where: str, width: Optional[int] = None) -> np.ndarray:
    """Training targets: integer class labels (N,) are kept as integers (the caller one-hot
    encodes them); anything else is checked as :func:`batch` (1-D kept 1-D), NaN refused."""
    try:
        kind = np.asarray(Y).dtype.kind if not isinstance(Y, (str, bytes)) and Y is not None else "O"
    except ValueError:
        kind = "O"
    if kind in "iu":
        A = np.asarray(Y)
        if A.ndim == 1:
            return A
    return batch(Y, where, None, finite=True, one_sample=False, one_d="keep")
