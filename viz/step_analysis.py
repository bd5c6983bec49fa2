"""Questions about a recorded backward pass (:class:`autodiff.Trace`), answered from its arrays.

* :func:`paths` and :func:`why`: ∂l/∂node = Σ over the paths loss → … → node of the
  product of the local derivatives along the path (the chain rule summed over paths,
  seed 003), with the number of paths and the sum by dynamic programming in one pass;
* :func:`check`: a step's local derivative against a central difference;
* :func:`nonfinite_chain` / :func:`explain_nonfinite`: where the first NaN (or ±inf) came
  from: the chain of edges that carried a finite gradient into it.

Names and numbers are written with the caller's ``names`` (node → drawn name) and ``fmt``.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator, Mapping

import autodiff
from autodiff import Trace, Value

from .stepformula import factor
from .step_types import Check, Path, Why

__all__ = ["paths", "why", "check", "nonfinite_chain", "explain_nonfinite"]


def _reaching(trace: Trace, target: Value) -> set[int]:
    """Positions of the nodes from which ``target`` is reached going backward (one pass)."""
    pos = trace.position
    reaches = {pos[target]}
    nodes = trace.nodes
    for i in range(pos[target] + 1, len(nodes)):
        if any(pos[x] in reaches for x in nodes[i].inputs):
            reaches.add(i)
    return reaches


def paths(trace: Trace, target: Value) -> Iterator[Path]:
    """The paths from the loss to ``target``, one at a time (depth first, operands in
    order). Only nodes from which ``target`` can be reached are entered, so every branch
    ends at ``target`` and the cost is the length of the paths produced."""
    loss, pos = trace.root, trace.position
    reaches = _reaching(trace, target)
    if pos[loss] not in reaches:
        return
    if loss is target:
        yield Path((target,), (), (), 1.0)
        return
    nodes: list[Value] = [loss]
    ops: list[int] = []
    locs: list[float] = []
    stack: list[Iterator[int]] = [iter(range(len(loss.inputs)))]
    while stack:
        last = nodes[-1]
        for k in stack[-1]:
            x = last.inputs[k]
            if pos[x] not in reaches:
                continue
            nodes.append(x)
            ops.append(k)
            locs.append(trace.local_of(pos[last], k))
            if x is target:
                yield Path(tuple(nodes), tuple(ops), tuple(locs), math.prod(locs))
                nodes.pop(), ops.pop(), locs.pop()
                continue
            stack.append(iter(range(len(x.inputs))))
            break
        else:
            stack.pop()
            if ops:
                nodes.pop(), ops.pop(), locs.pop()


def why(trace: Trace, target: Value, names: Mapping[Value, str], fmt: Callable[[float], str],
        grad: float, limit: int = 1000) -> Why:
    """The paths from the loss to ``target`` with the product of their local derivatives;
    ``grad``: ∂l/∂target after the pass (as the caller shows it). At most ``limit`` paths
    are listed; their number and sum cover all of them."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f"why(limit=...) needs an integer ≥ 1, got {limit!r}")
    if limit < 1:
        raise ValueError(f"why(limit={limit}): the limit must be at least 1")
    pos, nodes = trace.position, trace.nodes
    reaches = _reaching(trace, target)
    total_of = {pos[target]: 1.0}
    count_of = {pos[target]: 1}
    for i in sorted(reaches):
        if i == pos[target]:
            continue
        v = nodes[i]
        ks = [k for k, x in enumerate(v.inputs) if pos[x] in reaches]
        total_of[i] = math.fsum(trace.local_of(i, k) * total_of[pos[v.inputs[k]]] for k in ks)
        count_of[i] = sum(count_of[pos[v.inputs[k]]] for k in ks)
    root = pos[trace.root]
    count = count_of.get(root, 0)
    listed: list[Path] = []
    for p in paths(trace, target):
        listed.append(p)
        if len(listed) == limit:
            break
    total = total_of.get(root, 0.0)
    text = _why_text(trace, target, listed, count, total, grad, names, fmt)
    return Why(target, tuple(listed), total, grad, count > len(listed), text, count)


def _why_text(trace: Trace, target: Value, listed: list[Path], count: int, total: float, grad: float,
              names: Mapping[Value, str], fmt: Callable[[float], str]) -> str:
    l, t = names[trace.root], names[target]
    if target is trace.root:
        return f"{l} is the loss: ∂{l}/∂{l} = 1 (the seed of the backward pass; no edge to follow)"
    if not listed:
        return f"no path from {l} to {t}: ∂{l}/∂{t} = 0"
    more = f" (the first {len(listed)} listed)" if count > len(listed) else ""
    lines = [f"{count} path(s) from {l} to {t}{more}:"]
    for p in listed:
        if len(p.nodes) <= 12:
            chain = " → ".join(names[v] for v in p.nodes)
        else:
            chain = (" → ".join(names[v] for v in p.nodes[:5]) + f" → … ({len(p.nodes) - 10} more) → "
                     + " → ".join(names[v] for v in p.nodes[-5:]))
        factors = " · ".join(f"∂{names[u]}/∂{names[a]}" for u, a in zip(p.nodes, p.nodes[1:]))
        values = " · ".join(factor(fmt(x)) for x in p.locals) if len(p.locals) <= 12 else \
            f"product of {len(p.locals)} local derivatives"
        symbolic = f"{factors} = " if len(p.locals) <= 4 else ""
        lines.append(f"  {chain}:  {symbolic}{values} = {fmt(p.product)}")
    lines.append(f"sum over paths = {fmt(total)};  ∂{l}/∂{t} after backward = {fmt(grad)}")
    return "\n".join(lines)


def check(step, names: Mapping[Value, str], eps: float = 1e-6, atol: float = 1e-5,
          rtol: float = 1e-4) -> Check:
    """Finite-difference check of a step's local derivative(s) (:func:`autodiff.local_gradcheck`
    on the op's table forward). A grouped step checks every scalar step it applies and
    reports the worst; ``ok`` only if all agree."""
    eps, atol, rtol = autodiff.check_tolerances("Stepper.check", eps, atol, rtol)
    results = []
    for member in step.members:
        try:
            _, rule, numeric = autodiff.local_gradcheck(member.node, eps)[member.operand]
        except autodiff.UndefinedHere as exc:
            u, a = names[member.node], names[member.input]
            return Check(step, member.local, float("nan"), float("nan"), False,
                         f"∂{u}/∂{a} ({member.node.op}): undefined here: {exc}")
        ok = abs(rule - numeric) <= atol + rtol * abs(numeric) and rule == member.local
        results.append((not ok, abs(rule - numeric), member, rule, numeric, ok))
    _, _, member, rule, numeric, _ = max(results, key=lambda r: (r[0], r[1]))
    ok = all(r[5] for r in results)
    u, a = names[member.node], names[member.input]
    text = (f"∂{u}/∂{a} ({member.node.op}): rule {rule:.10g}, central difference "
            f"{numeric:.10g}, |difference| {abs(rule - numeric):.2g} -> {'ok' if ok else 'MISMATCH'}")
    if len(results) > 1:
        bad = sum(1 for r in results if not r[5])
        text = (f"{len(results)} local derivatives checked, {bad} mismatch(es); "
                f"{'the worst' if bad else 'the largest difference'}: {text}")
    return Check(step, member.local, rule, numeric, ok, text)


def nonfinite_chain(trace: Trace) -> list[int]:
    """The edges (Trace indices, in backward order) that carried a finite gradient into
    the first NaN: start at the first edge whose product or new gradient is NaN (or, if
    none is, ±inf) and walk back through the edges that made each upstream gradient
    non-finite, until one whose upstream gradient is finite: there a finite ∂l/∂u met a
    non-finite local derivative (or the product overflowed). Empty if all are finite."""
    product, after, upstream = trace.product, trace.after, trace.upstream
    nan = [e for e in range(trace.n_edges) if math.isnan(product[e]) or math.isnan(after[e])]

    def bad(e: int) -> bool:
        return not (math.isfinite(product[e]) and math.isfinite(after[e]))
    first = nan[0] if nan else next((e for e in range(trace.n_edges) if bad(e)), None)
    if first is None:
        return []
    chain = [first]
    while not math.isfinite(upstream[chain[0]]):
        node = trace.edge_node[chain[0]]
        cause = next((e for e in trace.edges_into(int(node)) if e < chain[0] and bad(int(e))), None)
        if cause is None:  # made non-finite by a hook, or the loss itself
            break
        chain.insert(0, int(cause))
    return chain


def explain_nonfinite(trace: Trace, steps: list, names: Mapping[Value, str],
                      fmt: Callable[[float], str]) -> str:
    """The :func:`nonfinite_chain` as text, one line per step (``steps``: the scalar steps
    of those edges); "" if all gradients are finite."""
    if not steps:
        return ""
    l = names[trace.root]
    first = steps[0]
    lines = [f"∂{l}/∂{names[first.node]} = {fmt(first.upstream)} is finite"
             if math.isfinite(first.upstream) else
             f"∂{l}/∂{names[first.node]} = {fmt(first.upstream)} is not finite already"]
    for s in steps:
        lines.append(f"step {s.index + 1}: ∂{l}/∂{names[s.node]} · ∂{names[s.node]}/∂{names[s.input]} = "
                     f"{fmt(s.upstream)} · {fmt(s.local)} = {fmt(s.product)}  →  ∂{l}/∂{names[s.input]} = "
                     f"{fmt(s.grad_after)}")
    return "\n".join(lines)
