"""What the slides' layout needs to know about a drawn graph before placing it.

Predecessors in operand order, successors, heights (longest path from an input), each
op's *main operand*, the leaves that sit beside their op (*anchored*), and the ops that
stand on such a leaf (*stacked*: the ‖W₁‖₂ of a penalty above W₁). The rules are
:mod:`viz.layout`'s (its module docstring); this module only computes them.
"""

from __future__ import annotations

from typing import Optional

from .graph import DGraph

__all__ = ["Structure"]


class Structure:
    """Predecessors in operand order, successors, heights, anchors and stacks."""

    def __init__(self, g: DGraph, stack_results: bool = True) -> None:
        self.nodes = {n.id: n for n in g.nodes}
        self.order = [n.id for n in g.nodes]
        self.preds: dict[str, list[str]] = {n: [] for n in self.order}
        self.succs: dict[str, list[str]] = {n: [] for n in self.order}
        for e in g.edges:
            self.preds[e.head].append(e.tail)
            if e.head not in self.succs[e.tail]:
                self.succs[e.tail].append(e.head)
        self.topo = self._topological()
        self.height: dict[str, int] = {}
        for v in self.topo:
            self.height[v] = max((self.height[p] + 1 for p in self.preds[v]), default=0)
        sinks = [v for v in self.order if not self.succs[v]]
        outputs = [v for v in sinks if self.nodes[v].role == "output"]
        self.root = (outputs or sinks or self.order)[-1]
        self.anchor: dict[str, str] = {}           # leaf -> the op it sits beside
        self.stacked: dict[str, str] = {}          # op -> the leaf it sits on (‖W‖ over W)
        self.stack_result: dict[str, str] = {}     # result -> the stacked op it sits on
        self.main: dict[str, Optional[str]] = {}
        self._choose_main_and_anchors()
        if stack_results:
            self._stack_results()

    def _topological(self) -> list[str]:
        indeg = {v: len(set(self.preds[v])) for v in self.order}
        ready = [v for v in self.order if indeg[v] == 0]
        out: list[str] = []
        while ready:
            v = ready.pop(0)
            out.append(v)
            for s in self.succs[v]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    ready.append(s)
        return out + [v for v in self.order if v not in set(out)]

    def is_leaf(self, v: str) -> bool:
        return not self.preds[v] and self.nodes[v].kind != "op"

    def _leaf_above(self, v: str) -> bool:
        """Parameters and constants always sit above their op."""
        return self.nodes[v].kind == "param" or self.nodes[v].role == "const"

    def _choose_main_and_anchors(self) -> None:
        for v in self.topo:
            cands = [p for p in dict.fromkeys(self.preds[v])
                     if not (self.is_leaf(p) and self._leaf_above(p))]
            if not cands:
                self.main[v] = None
                continue
            best = max(self.height[p] for p in cands)
            tied = [p for p in cands if self.height[p] == best]
            self.main[v] = tied[(len(tied) - 1) // 2]
        for v in self.order:
            if not self.is_leaf(v):
                continue
            readers = self.succs[v]
            if len(readers) == 1:
                main = self.main.get(readers[0])
                # an input beside other inputs stays on the left, in operand order
                # (x₀, x₁, x₂); beside a computed operand it sits by the op (λ, y)
                beside_inputs = (main is not None and self.is_leaf(main)
                                 and not self._leaf_above(v))
                if main != v and not beside_inputs:
                    self.anchor[v] = readers[0]
                continue
            if not self._leaf_above(v):
                continue
            only_me = [r for r in readers if set(self.preds[r]) == {v}]
            others = [r for r in readers if r not in only_me]
            if len(others) == 1 and self.main.get(others[0]) != v:
                self.anchor[v] = others[0]
                self.stacked[only_me[0]] = v

    def _stack_results(self) -> None:
        """Above leaves side by side, a stacked op's result goes on top of it too (the
        w² of a weight penalty at the scalar level): a column w → w² → u each."""
        count: dict[str, int] = {}
        for op in self.anchor.values():
            count[op] = count.get(op, 0) + 1
        for op, leaf in self.stacked.items():
            outs = self.succs[op]
            if (count[self.anchor[leaf]] > 1 and len(outs) == 1
                    and self.nodes[outs[0]].kind != "op" and self.preds[outs[0]] == [op]):
                self.stack_result[outs[0]] = op

    def placed_with_leaf(self, v: str) -> bool:
        """Anchored leaves, stacked ops and their stacked results are placed with the op."""
        return v in self.anchor or v in self.stacked or v in self.stack_result

    def rechoose_main(self, col: dict[str, int]) -> None:
        """Once columns are known, an op's main operand is the one drawn furthest right
        (the longest drawn path: a stacked penalty op shifts its chain right)."""
        for v in self.topo:
            cands = [p for p in dict.fromkeys(self.preds[v])
                     if p not in self.anchor and self.stacked.get(v) != p]
            if not cands:
                self.main[v] = None
                continue
            best = max(col[p] for p in cands)
            tied = [p for p in cands if col[p] == best]
            self.main[v] = tied[(len(tied) - 1) // 2]

    def side_of_leaf(self, leaf: str) -> int:
        """-1 (above) or +1 (below) preferred for an anchored leaf; 0: outward."""
        return -1 if self._leaf_above(leaf) else 0
