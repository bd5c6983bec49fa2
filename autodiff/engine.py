"""Which eager engine runs: the optional C core (``autodiff/_ccore.c``) or pure Python.

The pure-Python engine (:mod:`autodiff.value`, :mod:`autodiff.backprop`) is the reference: it
is what the lectures' code maps onto, and it is always there. When the C extension was built
(see ``setup.py``) and ``BACKPROPLAB_PURE`` is not ``1``, the C core takes over the hot paths
on the very same nodes: building nodes for ``+ - * / **`` (number exponent), unary ``-``,
``exp log tanh sigmoid relu leaky_relu elu sign step abs``, :func:`autodiff.sum` and
:func:`autodiff.dot`, and plain ``backward()`` (topological sort and chain rule). Anything else
— hooks, recorded stepping, the other ops, ``no_grad``, operands that are not plain numbers or
Values, every error and every NaN/overflow check — is handed to the Python function the fast
path replaces, with the same arguments, so results and messages are the Python ones (and the
numbers are bitwise equal: ``tests/test_engine_ccore.py``).

* ``accelerated``: ``True`` when the C core runs;
* ``reason``: why not, when it does not;
* ``core``: the C module, or ``None``;
* ``PYTHON``: the pure-Python functions the C core replaced, by name (the reference the tests
  compare with; empty when the C core does not run).
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Callable, Optional

from . import value
from .ops import OPS
from .value import Value

__all__ = ["accelerated", "reason", "core", "PYTHON", "METHODS", "python_only_ops", "c_kernels"]

# The Value methods the C core provides (module functions: sum and dot).
METHODS = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
           "__rtruediv__", "__pow__", "__neg__", "exp", "log", "tanh", "sigmoid", "relu",
           "leaky_relu", "elu", "sign", "step", "abs")

PYTHON: dict[str, Callable] = {}


def _load() -> tuple[Optional[ModuleType], str]:
    if os.environ.get("BACKPROPLAB_PURE", "") not in ("", "0"):
        return None, "BACKPROPLAB_PURE is set"
    try:
        from . import _ccore
    except ImportError as exc:
        return None, f"the C extension autodiff._ccore is not built ({exc})"
    python = {name: Value.__dict__[name] for name in METHODS}
    python.update(sum=value.sum, dot=value.dot)
    fast = _ccore.install(Value, c_kernels(), vars(value), python)
    for name in METHODS:
        setattr(Value, name, fast[name])
    value.sum, value.dot = fast["sum"], fast["dot"]
    PYTHON.update(python)
    return _ccore, ""


def c_kernels() -> dict[str, object]:
    """The ops the C core runs, by the kernel id the op table assigns them (``Op.c_kernel``)."""
    return {op.c_kernel: op for op in OPS.values() if op.c_kernel}


def python_only_ops() -> dict[str, str]:
    """The ops the eager engine always runs in Python (a graph holding one takes the Python
    backward pass), with why: declared Python-only in the table (``c_kernel=None``), or no C
    kernel named (``c_kernel`` left unset: an op added without one)."""
    return {name: ("declared Python-only" if op.c_kernel is None else "no C kernel named")
            for name, op in OPS.items() if not op.c_kernel}


core, reason = _load()
accelerated = core is not None
