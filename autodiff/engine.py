"""Which eager engine runs: the optional C core (``autodiff/_ccore.c``) or pure Python,
chosen once, when this module is imported.

The pure-Python engine (:mod:`autodiff.value`, :mod:`autodiff.backprop`) is the reference: it
is what the lectures' code maps onto, and it is always there. When the C extension was built
(see ``setup.py``) and ``BACKPROPLAB_PURE`` is not ``1``, the C core runs the hot paths on the
very same nodes: building nodes for the ops whose table entry names a C kernel
(``Op.c_kernel``: ``+ - * / **`` with a number exponent, unary ``-``, ``exp log tanh sigmoid
relu leaky_relu elu sign step abs``, :func:`autodiff.sum`, :func:`autodiff.dot`), and plain
``backward()`` (topological sort and chain rule). Anything else — hooks, recorded stepping,
the ops listed by :func:`python_only_ops`, ``no_grad``, operands that are not plain numbers or
Values, every error and every NaN/overflow check — is handed to the Python function the fast
path stands for, with the same arguments, so results and messages are the Python ones (and the
numbers are bitwise equal: ``tests/test_engine_ccore.py``).

How it is wired, top to bottom: this module loads the C core (or says why not);
:mod:`autodiff.value`, right after defining ``Value``, calls :func:`bind` once, which returns
the implementation of each of :data:`METHODS` and of ``sum``/``dot`` (the C core's, or the
Python ones unchanged), and ``value.py`` puts them in place itself (see the end of that module).
This module imports no other part of the engine but the op table.

* ``accelerated``: ``True`` when the C core runs;
* ``reason``: why not, when it does not;
* ``core``: the C module, or ``None``;
* ``PYTHON``: the pure-Python functions the C core stands in for, by name (the reference the
  tests compare with; empty when the C core does not run).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Callable, Mapping, Optional

from .ops import OPS, Op

__all__ = ["accelerated", "reason", "core", "PYTHON", "METHODS", "bind", "python_only_ops", "c_kernels"]

# The Value methods the C core provides: the operators, and the method of every op the table
# gives a C kernel and a function name (exp, ..., abs); module functions: sum and dot.
OPERATORS = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
             "__rtruediv__", "__pow__", "__neg__")
METHODS = OPERATORS + tuple(op.function for op in OPS.values() if op.c_kernel and op.function)
FUNCTIONS = ("sum", "dot")

PYTHON: dict[str, Callable] = {}


def _load() -> tuple[Optional[ModuleType], str]:
    if os.environ.get("BACKPROPLAB_PURE", "") not in ("", "0"):
        return None, "BACKPROPLAB_PURE is set"
    try:
        from . import _ccore
    except ImportError as exc:
        return None, f"the C extension autodiff._ccore is not built ({exc})"
    return _ccore, ""


core, reason = _load()
accelerated = core is not None


def c_kernels() -> dict[str, Op]:
    """The ops the C core runs, by the kernel id the op table assigns them (``Op.c_kernel``)."""
    return {op.c_kernel: op for op in OPS.values() if op.c_kernel}


def python_only_ops() -> dict[str, str]:
    """The ops the eager engine always runs in Python (a graph holding one takes the Python
    backward pass), with why: declared Python-only in the table (``c_kernel=None``), or no C
    kernel named (``c_kernel`` left unset: an op added without one)."""
    return {name: ("declared Python-only" if op.c_kernel is None else "no C kernel named")
            for name, op in OPS.items() if not op.c_kernel}


def bind(value_class: type, python: Mapping[str, Callable], hooks: Mapping[str, object]) -> dict[str, Callable]:
    """The implementations of :data:`METHODS` and ``sum``/``dot`` for the engine chosen:
    ``python`` itself (name → the Python function), or the C core's, which fall back to those.

    ``hooks``: what the C core reads of :mod:`autodiff.value` at run time, by public name
    (``ALL_RECORDING``, ``CLOCK``, ``NO_STAMP``; see value.py). Called once, by value.py."""
    if core is None:
        return dict(python)
    if PYTHON:
        raise RuntimeError("autodiff.engine.bind: the engine is already bound")
    fast = core.install(value_class, c_kernels(), hooks, dict(python))
    PYTHON.update(python)
    return fast
