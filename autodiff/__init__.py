"""backproplab's engine: scalar `Value` nodes, one op table, reverse-mode backprop,
and :func:`compile`, which replays a graph vectorised over a batch.

>>> from autodiff import Value
>>> w = Value(0.15, "w1", param=True)
>>> loss = 0.5 * (0.01 - (w * 0.05 + 0.35).sigmoid()) ** 2
>>> loss.backward()

``autodiff.accelerated`` says whether the optional C core runs the eager engine's hot paths
(``autodiff/engine.py``); ``BACKPROPLAB_PURE=1`` forces the pure-Python engine.
"""

from . import engine  # which eager engine runs (C core or Python), chosen once; value.py binds it
from .compile import Tape
from .compile import compile  # noqa: A004 - autodiff.compile(loss, inputs) -> Tape
from .backprop import EdgeStep, NodeStep, topological_order
from .trace import Trace, chain_rule
from .gradcheck import GradcheckError, UndefinedHere, check_tolerances, gradcheck, local_gradcheck
from .staleness import StaleGraphError
from .ops import OPS, Op, register
from .params import ParameterStore
from .value import Value, apply, backward, describe, dot, zero_grad, is_grad_enabled, maximum, no_grad, softmax
from .engine import accelerated
from .value import sum  # noqa: A004, F401 - autodiff.sum is the n-ary sum node

__all__ = [
    "Value", "OPS", "Op", "register", "apply", "describe",
    "dot", "maximum", "softmax",  # autodiff.sum is left out of * so as not to shadow the builtin
    "backward", "chain_rule", "Trace", "topological_order", "zero_grad", "NodeStep", "EdgeStep",
    "no_grad", "is_grad_enabled", "gradcheck", "local_gradcheck", "GradcheckError", "UndefinedHere",
    "check_tolerances", "StaleGraphError",
    "compile", "Tape", "ParameterStore", "accelerated",
]
