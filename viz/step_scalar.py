"""How a :class:`viz.stepper.Stepper` turns its Trace into scalar steps and words.

* :func:`edge_changes` / :func:`edge_step`: one edge of the Trace as a
  :class:`viz.step_types.Step` (its numbers, its chain-rule formula, its instantiated local
  derivative, and the gradients it changes: a hook's replacement, the ``+=``);
* :func:`change_text` / :func:`describe`: what a step changes, and one node, in words.
"""

from __future__ import annotations

from typing import Union

from autodiff import Value

from .levels import GroupStep
from .step_types import Step
from .stepformula import chain_rule_formula, local_derivative

__all__ = ["edge_changes", "edge_step", "change_text", "describe"]


def edge_changes(stepper, e: int) -> list[tuple[int, float, float]]:
    """What applying edge ``e`` changes, ``(topological index, old, new)``: a hook's
    replacement of the node's gradient (at its first edge), the ``+=``, and a hook on
    the input leaf (at its last contribution)."""
    t, start = stepper.trace, stepper.start
    out = []
    s = int(t.edge_step[e])
    if e == t.edge_start[s] and s in t.hooked_from:
        out.append((int(t.step_node[s]), t.hooked_from[s], float(t.step_upstream[s])))
    j = int(t.edge_input[e])
    out.append((j, float(t.before[e] + start[j]), float(t.after[e] + start[j])))
    for _, leaf, raw, hooked in t.leaf_hooks:
        if leaf == j and t.edges_into(j)[-1] == e:
            out.append((j, raw + start[j], hooked + start[j]))
    return out


def edge_step(stepper, e: int, index: int, first: int, tail: bool) -> Step:
    """The Trace's edge ``e`` as step number ``index``, applying edges ``first`` … ``e``
    (the ones left out before it) at once, and with ``tail`` all edges after it."""
    t, start = stepper.trace, stepper.start
    node, j, k = int(t.edge_node[e]), int(t.edge_input[e]), int(t.edge_operand[e])
    s = int(t.edge_step[e])
    hooked = t.hooked_from.get(s) if s in t.hooked_from and first <= t.edge_start[s] <= e else None
    changes = [c for x in range(first, e + 1) for c in edge_changes(stepper, x)]
    if tail:
        changes += [c for x in range(e + 1, t.n_edges) for c in edge_changes(stepper, x)]
    nodes = stepper.order
    upstream, local, product = float(t.upstream[e]), float(t.local[e]), float(t.product[e])
    before, after = float(t.before[e] + start[j]), float(t.after[e] + start[j])
    formula = chain_rule_formula(stepper.names, stepper.fmt, stepper.loss, nodes[node], nodes[j], k,
                                 upstream, local, product)
    return Step(index, nodes[node], nodes[j], k, node, j, upstream, local, product, before, after,
                hooked, formula, tuple(changes),
                local_derivative(nodes[node], k, local, stepper.names, stepper.fmt), e)


def change_text(stepper, step) -> str:
    """What a step changes, in words: ``∂l/∂a: 0 → 0.1288`` (a group step: how many
    of the drawn node's entries are complete)."""
    l = stepper.loss_name
    if isinstance(step, GroupStep):
        targets = [stepper.index[id(v)] for v in step.inputs]
        if not targets:
            return f"∂{l}/∂{step.tail_name} = ∂{l}/∂{step.result_name} (no scalar node: nothing to store)"
        at = step.index + 1
        done = sum(1 for v in step.inputs if stepper.completed_at(v) <= at)
        if len(targets) == 1:
            j = targets[0]
            before = next((old for idx, old, _ in step.changes if idx == j), stepper.initial_list()[j])
            after = next((new for idx, _, new in reversed(step.changes) if idx == j), before)
            return f"∂{l}/∂{step.tail_name}: {stepper.fmt(before)} → {stepper.fmt(after)}"
        return (f"∂{l}/∂{step.tail_name}: {done} of {len(targets)} entries complete "
                f"({len(step.members)} scalar steps)")
    text = f"∂{l}/∂{stepper.names[step.input]}: {stepper.fmt(step.grad_before)} → {stepper.fmt(step.grad_after)}"
    if step.hooked_from is not None:
        text += (f"   (a hook replaced ∂{l}/∂{stepper.names[step.node]} = "
                 f"{stepper.fmt(step.hooked_from)} by {stepper.fmt(step.upstream)})")
    return text


def describe(stepper, node: Union[str, Value]) -> str:
    """One line about a node at the current position: name, op, value, gradient."""
    v = stepper.lookup(node)
    kind = v.op if not v.is_leaf else ("parameter" if v.param else "leaf")
    grad = "?" if not stepper.known(v) else stepper.fmt(stepper.grad(v)) + ("" if stepper.complete(v) else " (partial)")
    return f"{stepper.names[v]} [{kind}]  value {stepper.fmt(v.data)}  ∂{stepper.names[stepper.loss]}/∂{stepper.names[v]} = {grad}"
