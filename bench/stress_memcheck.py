"""Memory-safety stress for the C core (autodiff/_ccore.c), meant to run under valgrind
memcheck (bench/run_memcheck.sh): random graphs over every op the C core builds, hooks, errors
in the middle of building and of backward, no_grad, parameters in a ParameterStore in both
states, lists changed between calls, deep chains; each graph is dropped and rebuilt, so a
wrong reference count shows up as an invalid read or a leak.

It also checks, in the same run, that the C core's numbers equal the pure-Python reference
(autodiff.engine.PYTHON) on the random graphs, and that the number of live memory blocks does
not grow over the last rounds. Prints one line per part and "stress: ok" at the end.
Run alone: ``python3 bench/stress_memcheck.py [--rounds 40] [--depth 20000]``.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autodiff  # noqa: E402
from autodiff import Value, engine  # noqa: E402
from autodiff.trace import chain_rule  # noqa: E402

PY = engine.PYTHON
UNARY = ["__neg__", "exp", "log", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "sign", "step", "abs"]
BINARY = ["__add__", "__sub__", "__mul__", "__truediv__", "__radd__", "__rsub__", "__rmul__", "__rtruediv__"]


def random_graph(rng: random.Random, leaves: list, py: bool, n_ops: int):
    """Build n_ops random nodes; errors (domain, overflow, type) are caught and skipped."""
    nodes = list(leaves)
    call = (lambda name, *a: PY[name](*a)) if py else (lambda name, *a: getattr(a[0], name)(*a[1:]))
    sum_, dot = (PY["sum"], PY["dot"]) if py else (autodiff.sum, autodiff.dot)
    for _ in range(n_ops):
        pick = lambda: nodes[rng.randrange(len(nodes))]  # noqa: E731
        kind = rng.random()
        other = rng.choice([pick(), rng.uniform(-3, 3), rng.randrange(-3, 4), 0.0, 10 ** 400, "x", True, None])
        try:
            if kind < 0.35:
                v = call(rng.choice(BINARY), pick(), other)
            elif kind < 0.6:
                v = call(rng.choice(UNARY), pick())
            elif kind < 0.7:
                v = call("__pow__", pick(), rng.choice([2, 3, 0.5, -1, -1.5, 0, other]))
            elif kind < 0.85:
                v = sum_([pick() for _ in range(rng.randrange(0, 6))] + rng.choice([[], [1.5], [other]]))
            else:
                k = rng.randrange(0, 5)
                ws, xs = [pick() for _ in range(k)], [pick() for _ in range(k + rng.choice([0, 0, 0, 1]))]
                v = dot(ws if rng.random() < 0.5 else tuple(ws), xs, rng.choice([None, pick(), 0.25, other]))
        except (ValueError, ArithmeticError, TypeError):
            continue
        nodes.append(v)
    return nodes


def backward(root, py: bool):
    if py:
        for _ in chain_rule(root):
            pass
    else:
        root.backward()


def graphs(rng: random.Random, rounds: int) -> int:
    compared = 0
    for r in range(rounds):
        seed = rng.randrange(1 << 30)
        results = []
        for py in (False, True):
            g = random.Random(seed)
            leaves = [Value(g.uniform(-2, 2), f"x{i}", param=True) for i in range(5)]
            nodes = random_graph(g, leaves, py, g.randrange(5, 80))
            root = nodes[-1]
            try:
                backward(root, py)
                backward(root, py)
                if not py:   # the C core's recording (autodiff.Trace) against the Python one
                    fast, slow = autodiff.Trace(root), autodiff.Trace(root, autodiff.topological_order(root))
                    assert fast.local.tobytes() == slow.local.tobytes() and fast.final.tobytes() == slow.final.tobytes()
                outcome = "ok"
            except (ValueError, ArithmeticError) as exc:
                outcome = f"{type(exc).__name__}: {exc}"
            results.append((outcome, [(math.copysign(1, v.data), repr(v.data), repr(v.grad)) for v in nodes]))
        assert results[0] == results[1], f"round {r}: the C core and Python differ"
        compared += 1
    return compared


def hooks_and_errors(rng: random.Random, rounds: int) -> None:
    for r in range(rounds):
        x = Value(rng.uniform(-1, 1), "x", param=True)
        h = (x * 2.0).tanh()
        remove = h.register_hook(lambda g: g * 0.5)
        loss = (h * h + x).sigmoid()
        loss.backward()
        remove()
        leaf_remove = x.register_hook(lambda g: None)
        loss.backward()
        leaf_remove()
        bad = (Value(0.0, param=True) ** 0.5) * 0.0 + loss if r % 2 else (Value(1e-320, param=True) ** 0.5 + loss) * 1e200  # NaN / overflow in backward
        try:
            bad.backward()
        except (FloatingPointError, OverflowError, ValueError):
            pass
        try:
            (loss / (x - x)).backward()
        except ZeroDivisionError:
            pass
        with autodiff.no_grad():
            c = autodiff.dot([x, h], [h, x], 1.0).relu()
        assert c.inputs == ()


def stores(rng: random.Random, rounds: int) -> None:
    ws = [Value(rng.uniform(-1, 1), f"w{i}", param=True) for i in range(8)]
    store = autodiff.ParameterStore(ws)
    for r in range(rounds):
        if r % 2:
            store.values_current()
        xs = [Value(float(i)) for i in range(8)]
        loss = autodiff.dot(ws, xs).tanh() + autodiff.sum(ws) ** 2
        loss.backward()
        store.vector_current()
        store.data[:] -= 0.001 * store.grad


def mutated_lists(rounds: int) -> None:
    class Changing:
        """Its finalizer empties a list: the C core must not hold that list's items borrowed."""
        def __init__(self, victim):
            self.victim, self.me = victim, self

        def __del__(self):
            self.victim.clear()
    for _ in range(rounds):
        xs = [Value(float(i)) for i in range(50)]
        ws = [Value(0.5) for _ in range(50)]
        for _ in range(20):
            Changing(xs)  # garbage cycles: a collection during an allocation runs __del__
        try:
            v = autodiff.dot(ws, xs)
            assert len(v.inputs) in (100,)
        except ValueError:
            pass  # the list was emptied before the call: Python's length check


def deep_chain(depth: int) -> None:
    x = Value(0.3, param=True)
    v = x
    for _ in range(depth):
        v = (v * 0.999).tanh()
    v.backward()
    assert math.isfinite(x.grad)
    assert autodiff.Trace(v).n_edges == 3 * depth   # x·0.999 (two edges), tanh (one)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=40)
    p.add_argument("--depth", type=int, default=20_000)
    args = p.parse_args()
    print(f"stress: engine {'C core' if autodiff.accelerated else 'pure Python: ' + engine.reason}")
    if not autodiff.accelerated:
        sys.exit("stress: the C core is not running; nothing to check")
    rng = random.Random(0)
    print(f"stress: {graphs(rng, args.rounds)} random graphs equal to Python bitwise")
    hooks_and_errors(rng, args.rounds)
    print("stress: hooks, errors mid-build and mid-backward, no_grad")
    stores(rng, args.rounds)
    print("stress: parameter store in both states")
    mutated_lists(max(2, args.rounds // 10))
    print("stress: lists emptied by finalizers")
    deep_chain(args.depth)
    print(f"stress: {args.depth}-deep chain")
    gc.collect()
    before = sys.getallocatedblocks()
    graphs(random.Random(1), args.rounds)
    hooks_and_errors(random.Random(1), args.rounds)
    stores(random.Random(1), args.rounds)
    gc.collect()
    grown = sys.getallocatedblocks() - before
    print(f"stress: live blocks after a second pass: {grown:+d}")
    assert grown < 500, "memory blocks keep growing: a reference leak"
    print("stress: ok")


if __name__ == "__main__":
    main()
