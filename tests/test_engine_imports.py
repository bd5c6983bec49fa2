"""No import circle anywhere in the tree: module-level and function-level imports alike
(imports under ``if TYPE_CHECKING:`` run for type checkers only and are not counted)."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("autodiff", "viz", "nn", "backproplab")


def _modules() -> dict[str, tuple[str, str]]:
    """module name -> (its package, its source)"""
    mods = {}
    for p in PACKAGES:
        for f in (ROOT / p).glob("*.py"):
            name = p if f.stem == "__init__" else f"{p}.{f.stem}"
            mods[name] = (p, f.read_text())
    return mods


def import_graph(mods: dict[str, tuple[str, str]]) -> dict[str, set[str]]:
    """module -> the modules of the tree it imports (anywhere in its body)."""
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, (pkg, source) in mods.items():
        tree = ast.parse(source)
        static = set()
        for n in ast.walk(tree):
            if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
                static |= {id(x) for b in n.body for x in ast.walk(b)}
        for node in ast.walk(tree):
            if id(node) in static:
                continue
            if isinstance(node, ast.ImportFrom):
                parts = pkg.split(".")
                target = ".".join(parts[: len(parts) - node.level + 1] + [node.module or ""]).strip(".") \
                    if node.level else (node.module or "")
                subs = [f"{target}.{a.name}" for a in node.names if f"{target}.{a.name}" in mods]
                own = node.level and node.module is None   # "from . import x" loads x only
                cands = subs if (own or len(subs) == len(node.names)) else [target, *subs]
            elif isinstance(node, ast.Import):
                cands = [a.name for a in node.names]
            else:
                continue
            edges[m] |= {c for c in cands if c in mods and c != m}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out = []
    for start in edges:
        if start in index:
            continue
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on.add(start)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_circle_in_the_tree():
    assert cycles(import_graph(_modules())) == []


def test_the_check_sees_a_function_level_circle():
    """Plant the defect: value.py importing backprop inside a function (as it once did) while
    backprop imports value is a circle."""
    mods = _modules()
    pkg, source = mods["autodiff.backprop"]
    mods["autodiff.backprop"] = (pkg, source + "\n\ndef _f():\n    from .value import Value\n")
    found = cycles(import_graph(mods))
    assert any({"autodiff.value", "autodiff.backprop"} <= set(c) for c in found)


def test_type_checking_imports_are_not_counted():
    mods = _modules()
    pkg, source = mods["autodiff.graph_order"]
    assert "if TYPE_CHECKING:" in source   # the annotation-only import of Value
    assert "autodiff.value" not in import_graph(mods)["autodiff.graph_order"]
