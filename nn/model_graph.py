"""A model's per-sample graph on placeholder leaves (what the training engines run).

:func:`build_static_graph` builds one sample's graph — model outputs and loss — on
placeholder input Values ``x.i`` and target Values ``y.j``; the compiled engine traces it
once and replays it over batches. :func:`graph_signature` describes a graph's structure, so
a graph that depends on the data (Python branching on ``.data``) can be told apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from autodiff import Value, topological_order

__all__ = ["StaticGraph", "build_static_graph", "graph_signature", "model_outputs", "model_nin",
           "model_nout"]


def model_nin(model: Any) -> int:
    n = getattr(model, "nin", None)
    if not isinstance(n, int):
        raise TypeError(f"model: {type(model).__name__} has no integer 'nin' (number of inputs)")
    return n


def model_nout(model: Any) -> int:
    n = getattr(model, "nout", None)
    return n if isinstance(n, int) else 1


def model_outputs(model: Any, xs: Sequence[Value]) -> list[Value]:
    """The model's outputs on input Values, always as a list (one output is a Value)."""
    prepare = getattr(model, "prepare_eager", None)
    if prepare is not None:
        prepare()
    out = model.forward(xs) if hasattr(model, "forward") else model(xs)
    return [out] if isinstance(out, Value) else list(out)


@dataclass
class StaticGraph:
    """One sample's graph on placeholder leaves: ``inputs`` (labelled ``x.i``), ``targets``
    (``y.j``), the model ``outputs`` and the per-sample ``loss``. To evaluate it for a
    batch, feed the columns ``[x..., y...]`` in that order."""

    inputs: list[Value]
    targets: list[Value]
    outputs: list[Value]
    loss: Value

    @property
    def leaves(self) -> list[Value]:
        return self.inputs + self.targets


def build_static_graph(model: Any, loss_fn: Callable, x0: Sequence[float] | None = None,
                       y0: Sequence[float] | None = None) -> StaticGraph:
    """Build the graph of one sample on placeholder input and target Values.

    ``x0`` / ``y0`` set the placeholders' data (zeros by default; pick values inside the
    domain of every op, e.g. targets of 0 or 1 for cross-entropy).
    """
    nin, nout = model_nin(model), model_nout(model)
    x0 = [0.0] * nin if x0 is None else list(x0)
    y0 = [0.0] * nout if y0 is None else list(y0)
    xs = [Value(float(v), f"x.{i}") for i, v in enumerate(x0)]
    ys = [Value(float(v), f"y.{j}") for j, v in enumerate(y0)]
    outs = model_outputs(model, xs)
    return StaticGraph(xs, ys, outs, loss_fn(outs, ys))


def graph_signature(root: Value, leaves: list[Value]) -> list[tuple]:
    """The structure of ``root``'s graph: per node in topological order its op, attr and
    operand positions; leaves by role (placeholder index, parameter identity, constant value)."""
    order = topological_order(root)
    pos = {id(v): i for i, v in enumerate(order)}
    placeholder = {id(v): i for i, v in enumerate(leaves)}
    sig = []
    for v in order:
        if not v.is_leaf:
            sig.append((v.op, repr(v.attr), tuple(pos[id(a)] for a in v.inputs)))
        elif id(v) in placeholder:
            sig.append(("input", placeholder[id(v)]))
        elif v.param:
            sig.append(("param", id(v)))
        else:
            sig.append(("const", v.data))
    return sig
