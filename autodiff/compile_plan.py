"""Planning a compiled graph: four phases, each a function returning one frozen part.

:func:`build_plan` turns a traced graph into the :class:`Plan` that :class:`autodiff.Tape`
replays. The phases, in order:

1. :func:`trace` (:mod:`autodiff.compile_trace`) — the nodes in topological order; for each, its level (1 + the largest
   level of its inputs, leaves 0), whether it depends on a batch input (*variant*) and
   whether the root's gradient reaches a parameter through it (*needs_grad*).
2. :func:`group` — op nodes that can run as one kernel: same (phase, level, kernel key);
   ``dot`` groups are split into *matmul blocks* (nodes reading one input vector with
   distinct parameter weights) and leftovers. :func:`fuse` then takes the lanes of a
   logistic loss out of their groups into one fused group (:mod:`autodiff.compile_fuse`).
3. :func:`layout` — the parameter vector θ (block weights row-major, block biases, then
   the other parameters) and the rows of the leaves in the value array V.
4. :func:`schedule` — rows of the op nodes, one kernel per group, the backward order and
   the bookkeeping of batch-invariant nodes (module docstring of :mod:`autodiff.compile`).

Each phase reads only the earlier parts; a kernel is chosen by the kernel kind its op
declares in the op table (``Op.kernel``), never by the op's name (the fusion patterns of
:mod:`autodiff.compile_fuse` are the one place that names ops). Compiling costs a
bounded number of Python operations per node (no numpy call per node or per small group),
so its time is linear in the graph's size.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional, Sequence

from .compile_fuse import ROLES, logistic_lanes
from .compile_kernels import (KERNEL_KINDS, Index, Kernel, LogisticLossKernel, MatmulBlock, as_index, first_row,
                              mark_first_writes)
from .compile_trace import Trace, trace
from .ops import Op
from .value import Value

__all__ = ["Plan", "build_plan", "trace", "group", "fuse", "layout", "schedule"]


# ------------------------------------------------------------------ phase 2: group

@dataclass(frozen=True)
class Block:
    """``dot`` nodes reading one x tuple with distinct parameter weights: Z = W X (+ b)."""

    members: tuple[Value, ...]
    own_bias: bool  # every bias a distinct parameter: b is a view of θ too


@dataclass(frozen=True)
class Group:
    """Nodes run by one kernel. ``phase``: 0–1 batch-invariant, 2–3 variant; odd for nodes
    only ``outputs`` read, which run no backward (never grouped with the root's nodes: their
    0 gradient times an infinite local derivative would make a NaN eager never computes)."""

    phase: int
    level: int
    op: Op
    attr: Any          # the kernel kind's group attribute (an op attr, an arity, ...)
    nodes: tuple[Value, ...]
    block: Optional[int] = None  # index into Grouping.blocks for a matmul block
    fused: Optional[Callable[..., Kernel]] = None  # builds the kernel of a fused group (nodes as given)


@dataclass(frozen=True)
class Grouping:
    groups: tuple[Group, ...]  # in execution order
    blocks: tuple[Block, ...]


def group(tr: Trace) -> Grouping:
    """Phase 2: one group per (phase, level, op, kernel attribute), dot groups split into
    matmul blocks; groups in execution order (invariant phases first, then by level)."""
    buckets: dict[tuple, list[Value]] = {}
    ops_of_key: dict[tuple, Op] = {}
    attr_of: dict[str, Any] = {}  # op name → its kernel kind's group_attr
    variant, in_root, level, op_of = tr.variant, tr.in_root, tr.level, tr.op_of
    for v in tr.ops:
        key_id = id(v)
        op = op_of[key_id]
        group_attr = attr_of.get(op.name)
        if group_attr is None:
            group_attr = attr_of[op.name] = KERNEL_KINDS[op.kernel].group_attr
        key = (2 * (key_id in variant) + (key_id not in in_root), level[key_id], op.name, group_attr(v))
        bucket = buckets.get(key)
        if bucket is None:
            buckets[key] = [v]
            ops_of_key[key] = op
        else:
            bucket.append(v)
    owner: set[int] = set()  # params whose θ slot belongs to a block
    input_ids = set(map(id, tr.inputs))
    groups: list[Group] = []
    blocks: list[Block] = []
    for key in sorted(buckets, key=_sort_key):
        phase, lvl, _, attr = key
        op, nodes = ops_of_key[key], buckets[key]
        if not KERNEL_KINDS[op.kernel].blocks:
            groups.append(Group(phase, lvl, op, attr, tuple(nodes)))
            continue
        rest: list[Value] = []
        for members, own_bias in _find_blocks(nodes, owner, input_ids):
            if members is None:
                rest.extend(own_bias)
                continue
            blocks.append(Block(tuple(members), own_bias))
            groups.append(Group(phase, lvl, op, attr, tuple(members), len(blocks) - 1))
        if rest:
            groups.append(Group(phase, lvl, op, attr, tuple(rest)))
    return Grouping(tuple(groups), tuple(blocks))


def fuse(tr: Trace, gr: Grouping) -> Grouping:
    """Phase 2b: the lanes of a logistic loss (:mod:`autodiff.compile_fuse`) leave their
    groups and run as one fused group per level of their last node, placed last among the
    groups of that level (nothing at its level reads it)."""
    by_level = logistic_lanes(tr)
    if not by_level:
        return gr
    taken = {id(lane[r]) for lanes in by_level.values() for lane in lanes for r in ROLES}
    groups = []
    for g in gr.groups:
        kept = g.nodes if g.block is not None else tuple(v for v in g.nodes if id(v) not in taken)
        if len(kept) == len(g.nodes):
            groups.append(g)
        elif kept:
            groups.append(Group(g.phase, g.level, g.op, g.attr, kept))
    for level, lanes in sorted(by_level.items()):
        nodes = tuple(lane[r] for r in ROLES for lane in lanes)  # role-major: each role's rows a run
        groups.append(Group(2, level, tr.op_of[id(nodes[-1])], "logistic_loss", nodes,
                            fused=LogisticLossKernel.build))
    groups.sort(key=lambda g: (g.phase, g.level))  # stable
    return Grouping(tuple(groups), gr.blocks)


def _sort_key(key: tuple) -> tuple:
    phase, lvl, name, attr = key
    return phase, lvl, name, str(attr)


def _find_blocks(nodes: list[Value], owner: set[int], input_ids: set[int]) -> Iterable[tuple]:
    """Split one level's ``dot`` nodes (same has_bias) into matmul blocks.

    A block = dot nodes reading the same x tuple whose weights are parameters, distinct
    within and across the block and not owned by an earlier block. Yields
    ``(members, bias_owned)`` per block and ``(None, leftovers)`` for the others. The bias
    is owned by the block (a view of theta) when every member's bias is a distinct,
    unowned parameter that is not also one of the block's weights.
    """
    by_x: dict[tuple, list[Value]] = defaultdict(list)
    for v in nodes:
        n = len(v.inputs) // 2
        by_x[tuple(map(id, v.inputs[n:2 * n]))].append(v)
    leftovers = []
    for same_x in by_x.values():
        members, taken = [], set()
        for v in same_x:
            n = len(v.inputs) // 2
            ws = v.inputs[:n]
            ids = set(map(id, ws))
            if (len(ids) == n and all(w.param and w.is_leaf for w in ws)
                    and not ids & owner and not ids & taken and not ids & input_ids):
                members.append(v)
                taken |= ids
            else:
                leftovers.append(v)
        if not members:
            continue
        owner |= taken
        own_bias = bool(members[0].attr)
        if own_bias:
            bs = [v.inputs[-1] for v in members]
            bids = set(map(id, bs))
            own_bias = (len(bids) == len(bs) and all(b.param and b.is_leaf for b in bs)
                        and not bids & owner)
            if own_bias:
                owner |= bids
        yield members, own_bias
    if leftovers:
        yield None, leftovers


# ----------------------------------------------------------------- phase 3: layout

@dataclass(frozen=True)
class Layout:
    """θ's order and the rows of the leaves. V's rows: inputs (row i = input i), then the
    parameters ordinary kernels read (those variant nodes read first), then constants."""

    params: tuple[Value, ...]           # θ's order
    theta_pos: dict[int, int]           # id → position in θ
    block_pos: tuple[tuple[int, Optional[int]], ...]  # per block: θ position of W, of b
    direct: dict[int, slice]            # block → batch columns it reads as X
    row: dict[int, int]                 # id → row in V, leaves only
    in_rows: Index                      # input rows some kernel (or the caller) reads
    prow: tuple[tuple[Index, Index, slice], ...]  # (rows, θ positions, columns) to fill
    consts: tuple[Value, ...]
    const_rows: Index


def layout(tr: Trace, gr: Grouping) -> Layout:
    """Phase 3: θ's order (each block's W row-major, then its b, then the other parameters)
    and the rows of the leaves kernels read."""
    theta_pos: dict[int, int] = {}
    params: list[Value] = []
    block_pos = []
    for blk in gr.blocks:
        wpos = len(params)
        for v in blk.members:
            params.extend(v.inputs[:len(v.inputs) // 2])
        bpos = None
        if blk.own_bias:
            bpos = len(params)
            params.extend(v.inputs[-1] for v in blk.members)
        block_pos.append((wpos, bpos))
    for v in params:
        theta_pos[id(v)] = len(theta_pos)
    for p in tr.params:
        if id(p) not in theta_pos:
            theta_pos[id(p)] = len(params)
            params.append(p)

    # which leaves kernels read through rows (block weights / owned biases come from θ);
    # which inputs need a row (those a block reads as X straight from the batch do not)
    in_block = {id(v) for blk in gr.blocks for v in blk.members}
    read_rows: set[int] = set()
    variant_reads = {id(v) for v in (tr.root, *tr.outputs) if v.is_leaf}  # returned per sample
    variant = tr.variant
    for v in tr.ops:
        key = id(v)
        if key not in in_block:
            ids = list(map(id, v.inputs))
            read_rows.update(ids)
            if key in variant:
                variant_reads.update(ids)
    input_readers = {id(v) for v in (tr.root, *tr.outputs)}  # beyond read_rows
    row: dict[int, int] = {id(v): i for i, v in enumerate(tr.inputs)}
    direct: dict[int, slice] = {}   # blocks whose x is a run of inputs in batch order read X itself
    block_reads: list[int] = []
    for b, blk in enumerate(gr.blocks):
        v0 = blk.members[0]
        n = len(v0.inputs) // 2
        x_ids = list(map(id, v0.inputs[n:2 * n]))
        cols = [row.get(i, -1) for i in x_ids]
        if cols[0] >= 0 and cols == list(range(cols[0], cols[0] + n)):
            direct[b] = slice(cols[0], cols[0] + n)
        else:
            input_readers.update(x_ids)
        ids = x_ids + ([id(v.inputs[-1]) for v in blk.members] if v0.attr and not blk.own_bias else [])
        block_reads.extend(ids)
        input_readers.update(ids[n:])
        if id(v0) in variant:  # one block: one phase
            variant_reads.update(ids)
    in_rows = as_index([i for i, v in enumerate(tr.inputs) if id(v) in read_rows or id(v) in input_readers])
    read_rows.update(block_reads)
    read_rows.update(id(v) for v in (tr.root, *tr.outputs) if v.is_leaf)

    # parameter rows: those variant nodes read are filled on every column, those only
    # batch-invariant nodes read on column 0 only
    row_params = sorted((p for p in tr.params if id(p) in read_rows),
                        key=lambda p: (id(p) not in variant_reads, theta_pos[id(p)]))
    for p in row_params:
        row[id(p)] = len(row)
    prow = []
    for full in (True, False):
        ps = [p for p in row_params if (id(p) in variant_reads) == full]
        if ps:
            prow.append((as_index([row[id(p)] for p in ps]), as_index([theta_pos[id(p)] for p in ps]),
                         slice(None) if full else slice(0, 1)))
    consts = _consts_in_reading_order(tr, gr, read_rows)
    for c in consts:
        row[id(c)] = len(row)
    const_rows = as_index([row[id(c)] for c in consts])
    return Layout(tuple(params), theta_pos, tuple(block_pos), direct, row, in_rows, tuple(prow),
                  consts, const_rows)


def _consts_in_reading_order(tr: Trace, gr: Grouping, read_rows: set[int]) -> tuple[Value, ...]:
    """The constants kernels read, ordered operand slot by operand slot of each group, so
    that the constants one slot of a group reads (e.g. the 1.0 of every lane's 1 + e⁻ᶻ)
    sit in consecutive rows: the kernel then reads them as a view, not a gather."""
    wanted = {id(c): c for c in tr.consts if id(c) in read_rows}
    ordered: list[Value] = []
    for g in gr.groups:
        if not wanted:
            break
        for column in zip(*(v.inputs for v in g.nodes)) if g.block is None else ():
            for a in column:
                c = wanted.pop(id(a), None)
                if c is not None:
                    ordered.append(c)
    ordered.extend(wanted.values())  # block biases and operands of mixed-arity groups
    return tuple(ordered)


# --------------------------------------------------------------- phase 4: schedule

@dataclass(frozen=True)
class Schedule:
    row: dict[int, int]                 # id → row in V, every node that has one
    n_rows: int
    op_rows: slice
    kernels: tuple[Kernel, ...]         # execution order: invariant kernels first
    levels: tuple[int, ...]             # each kernel's level
    n_invariant: int                    # kernels[:n_invariant] run on one column
    inv_kernels: tuple[Kernel, ...]     # kernels[:n_invariant]
    var_kernels: tuple[Kernel, ...]     # kernels[n_invariant:]
    inv_backward: tuple[Kernel, ...]    # reversed, only kernels whose gradient is needed
    var_backward: tuple[Kernel, ...]
    frontier: Optional[Index]           # invariant rows variant nodes (or the caller) read
    frontier_ids: dict[int, int]
    invariant: frozenset[int]
    summed_only: frozenset[int]         # only the batch-summed gradient exists for these
    zero: tuple[tuple[Index, slice], ...]  # (rows, columns) backward zeroes first
    theta_unwritten: Optional[Index]    # θ slots no block overwrites: zeroed before backward
    root_row: int
    block_uses: dict[int, tuple[tuple[MatmulBlock, int, int], ...]]


def schedule(tr: Trace, gr: Grouping, lay: Layout) -> Schedule:
    """Phase 4: rows of the op nodes (a group's nodes consecutive, ordered by their operands'
    rows so that operands are read as slices), one kernel per group, the backward order."""
    row = dict(lay.row)
    first_op_row = len(row)
    needs = tr.needs_grad
    kernels: list[Kernel] = []
    levels: list[int] = []
    n_inv = 0
    for g in gr.groups:
        nodes = g.nodes
        if g.block is None and g.fused is None and len(nodes) > 1:  # by operands' rows: slices, not gathers
            nodes = tuple(sorted(nodes, key=lambda v: [row.get(id(a), -1) for a in v.inputs]))
        start = len(row)
        for i, v in enumerate(nodes):
            row[id(v)] = start + i
        out = slice(start, start + len(nodes))
        if g.fused is not None:
            kernels.append(g.fused(nodes, out, row, needs))
        elif g.block is not None:
            kernels.append(_matmul(gr.blocks[g.block], lay.block_pos[g.block], lay.direct.get(g.block),
                                   nodes, out, row, needs))
        else:
            kernels.append(KERNEL_KINDS[g.op.kernel].build(g.op, g.attr, nodes, out, row, needs))
        levels.append(g.level)
        n_inv += g.phase < 2
    variant = tr.variant
    inv_kernels, var_kernels = kernels[:n_inv], kernels[n_inv:]

    def needed(ks: list[Kernel]) -> tuple[Kernel, ...]:
        return tuple(k for k in reversed(ks) if any(id(v) in needs for v in k.nodes))

    inv_backward, var_backward = needed(inv_kernels), needed(var_kernels)
    mark_first_writes(var_backward, {row[id(tr.root)]})  # the root's row holds the seed

    # invariant op nodes that variant nodes read (or that are root / outputs): broadcast to
    # every column after the invariant kernels; their gradients are summed over the batch
    # before the invariant kernels run backward
    invariant_ops = [v for k in inv_kernels for v in k.nodes]
    invariant = frozenset(map(id, invariant_ops))
    frontier: list[Value] = []
    read_by_invariant: set[int] = set()
    if invariant:  # most graphs read an input everywhere: nothing below to do
        read_by_variant = {id(a) for v in tr.ops if id(v) in variant for a in v.inputs}
        read_by_variant.update(map(id, (tr.root, *tr.outputs)))
        frontier = sorted((v for v in invariant_ops if id(v) in read_by_variant), key=lambda v: row[id(v)])
        read_by_invariant = {id(a) for v in invariant_ops for a in v.inputs}
    frontier_rows = as_index([row[id(v)] for v in frontier]) if frontier else None
    # backward zeroes: variant op rows, frontier rows and full parameter rows on every
    # column; parameters read only by invariant nodes, constants and invariant op rows on
    # column 0 (input rows take contributions no one reads)
    first_var = min((first_row(k.out) for k in var_kernels), default=len(row))
    zero = [(slice(first_var, len(row)), slice(None))]
    zero += [(rows, slice(None)) for rows, _, cols in lay.prow if cols == slice(None)]
    if frontier_rows is not None:
        zero.append((frontier_rows, slice(None)))
    zero.append((slice(len(tr.inputs), first_var), slice(0, 1)))
    frontier_ids = {id(v): i for i, v in enumerate(frontier)}
    uses: dict[int, list] = defaultdict(list)
    for k in kernels:
        if isinstance(k, MatmulBlock):
            for i, v in enumerate(k.nodes):
                for j, w in enumerate(v.inputs[:k.n]):
                    uses[id(w)].append((k, i, j))
                if k.bsl is not None:
                    uses[id(v.inputs[-1])].append((k, i, -1))
    written = bytearray(len(lay.params))
    for k in (*inv_backward, *var_backward):
        if isinstance(k, MatmulBlock):  # writes its weights' (and own bias') gradient whole
            for sl in (k.wsl, k.bsl):
                if sl is not None:
                    written[sl] = b"\x01" * (sl.stop - sl.start)
    unwritten = [i for i, w in enumerate(written) if not w]
    return Schedule(row, len(row), slice(first_op_row, len(row)), tuple(kernels), tuple(levels), n_inv,
                    tuple(inv_kernels), tuple(var_kernels), inv_backward, var_backward, frontier_rows,
                    frontier_ids, invariant,
                    frozenset((invariant - frontier_ids.keys()) | read_by_invariant), tuple(zero),
                    as_index(unwritten) if unwritten else None,
                    row[id(tr.root)], {k: tuple(u) for k, u in uses.items()})


def _matmul(blk: Block, pos: tuple[int, Optional[int]], direct: Optional[slice], nodes: Sequence[Value],
            out: slice, row: dict[int, int], needs: frozenset[int]) -> MatmulBlock:
    v0 = nodes[0]
    n = len(v0.inputs) // 2
    xs = v0.inputs[n:2 * n]
    has_bias = bool(v0.attr)
    brows = [row[id(v.inputs[-1])] for v in nodes] if has_bias and not blk.own_bias else None
    need_x = any(id(x) in needs for x in xs)
    need_b = has_bias and any(id(v.inputs[-1]) in needs for v in nodes)
    return MatmulBlock(list(nodes), out, pos[0], n, [row[id(x)] for x in xs], pos[1], brows, need_x, need_b,
                       direct)


# -------------------------------------------------------------------- the plan

@dataclass(frozen=True)
class Plan:
    """Everything a :class:`autodiff.Tape` replays, built once by :func:`build_plan`."""

    trace: Trace
    layout: Layout
    schedule: Schedule


def build_plan(root: Value, inputs: Sequence[Value], outputs: Sequence[Value] = ()) -> Plan:
    """Run the four phases on ``root``'s graph (and the extra ``outputs``)."""
    tr = trace(root, inputs, outputs)
    gr = fuse(tr, group(tr))
    lay = layout(tr, gr)
    return Plan(tr, lay, schedule(tr, gr, lay))
