"""Fusing the logistic loss: one kernel for the lanes of Σⱼ softplus(zⱼ) − yⱼzⱼ.

The binary cross-entropy of a sigmoid output (``nn.losses.binary_cross_entropy``, from the
logits; also ``binary_cross_entropy_with_logits``) builds, per output j, ten scalar nodes
(the *lane*):

    a = |z|,  s = z + a,  h = c·s  (c = ½),  n = −a,  e = eⁿ,  d = c₁ + e  (c₁ = 1),
    l = ln d,  p = h + l  (= softplus z),  q = y·z,  t = p − q

Grouped by level and op they become ten elementwise kernels forward and ten backward, each a
few µs of Python and numpy calls however small the batch. :func:`fuse` (a phase between
grouping and layout, :func:`autodiff.compile_plan.fuse`) finds such lanes; the planner
replaces their groups by one group run by :class:`autodiff.compile_kernels.LogisticLossKernel`, which
computes the same nodes with the same numpy operations in the same order — values and
gradients bit for bit as before, every node's row in V and G kept (``value_of`` /
``grad_of`` / the non-finite checks see the nodes as before) — with one call per node group
and none of the per-kernel dispatch.

A lane is fused only when nothing else depends on its inner workings: each inner node is
read only by the lane (t by anyone), z's gradient comes only from this lane (so the kernel
writes it, as the first and only writer), y needs no gradient, c and c₁ are constants, and
the whole lane reads an input (runs per sample). This is the one module that matches ops by
name; the planner itself never does.
"""

from __future__ import annotations

from collections import Counter
from typing import Optional

from .compile_trace import Trace
from .ops import OPS
from .value import Value

__all__ = ["logistic_lanes", "logistic_lane", "ROLES"]

# the lane's nodes in the order the kernel's rows hold them (role-major, lane-minor)
ROLES = ("a", "q", "s", "n", "e", "h", "d", "l", "p", "t")


def _is(tr: Trace, v: Value, name: str) -> bool:
    return not v.is_leaf and tr.op_of.get(id(v)) is OPS[name]


def logistic_lane(tr: Trace, t: Value) -> Optional[dict[str, Value]]:
    """The lane whose last node is ``t`` (names of :data:`ROLES` plus z, y, c, c1), or None
    when ``t`` is not the structure the module docstring shows."""
    if not (_is(tr, t, "sub") and len(t.inputs) == 2):
        return None
    p, q = t.inputs
    if not (_is(tr, p, "add") and _is(tr, q, "mul")):
        return None
    h, l_ = p.inputs
    if not (_is(tr, h, "mul") and _is(tr, l_, "log")):
        return None
    c, s = h.inputs
    d = l_.inputs[0]
    if not (_is(tr, s, "add") and _is(tr, d, "add")):
        return None
    z, a = s.inputs
    c1, e = d.inputs
    if not (_is(tr, a, "abs") and a.inputs[0] is z and _is(tr, e, "exp")):
        return None
    n = e.inputs[0]
    if not (_is(tr, n, "neg") and n.inputs[0] is a):
        return None
    y, z2 = q.inputs
    if z2 is not z:
        return None
    return {"a": a, "q": q, "s": s, "n": n, "e": e, "h": h, "d": d, "l": l_, "p": p, "t": t,
            "z": z, "y": y, "c": c, "c1": c1}


def _consumers(tr: Trace) -> Counter:
    """How many nodes of the root's graph read each node (once per operand slot)."""
    counts: Counter = Counter()
    for v in tr.ops:
        if id(v) in tr.in_root:
            counts.update(map(id, v.inputs))
    return counts


# per inner node: how many operand slots of its own lane read it
_READS_IN_LANE = {"a": 2, "q": 1, "s": 1, "n": 1, "e": 1, "h": 1, "d": 1, "l": 1, "p": 1}


def _fusable(tr: Trace, lane: dict[str, Value], readers: Counter, consts: set[int], outputs: set[int]) -> bool:
    inner = [lane[r] for r in ROLES]
    ids = {id(v) for v in inner}
    if not all(id(v) in tr.in_root and id(v) in tr.variant for v in inner):
        return False
    if any(id(v) in outputs or v is tr.root for v in inner[:-1]):
        return False
    if any(readers[id(lane[r])] != k for r, k in _READS_IN_LANE.items()):
        return False
    z, y = lane["z"], lane["y"]
    if id(z) in ids or id(y) in ids or z is y:
        return False
    if readers[id(z)] != 3 or id(z) not in tr.needs_grad or id(y) in tr.needs_grad:
        return False  # z: read by a, s and q only, so this lane alone sets its gradient
    return id(lane["c"]) in consts and id(lane["c1"]) in consts


def logistic_lanes(tr: Trace) -> dict[int, list[dict[str, Value]]]:
    """The fusable lanes by the level of their t, each level's lanes in the order of their
    z in the graph (so that z's rows, and the kernel's, come out consecutive)."""
    subs = [v for v in tr.ops if tr.op_of[id(v)] is OPS["sub"]]
    if not subs:
        return {}
    readers = _consumers(tr)
    consts, outputs = set(map(id, tr.consts)), set(map(id, tr.outputs))
    position = {id(v): i for i, v in enumerate(tr.order)}
    by_level: dict[int, list[dict[str, Value]]] = {}
    taken: set[int] = set()
    for t in subs:
        lane = logistic_lane(tr, t)
        if lane is None or not _fusable(tr, lane, readers, consts, outputs):
            continue
        ids = {id(lane[r]) for r in ROLES}
        if ids & taken:
            continue
        taken |= ids
        by_level.setdefault(tr.level[id(t)], []).append(lane)
    for lanes in by_level.values():
        lanes.sort(key=lambda lane: position[id(lane["z"])])
    return by_level
