"""Compile time and memory per node, 1k to 200k nodes, on a deep chain and on MLPs.

Graphs (nodes counted as ``autodiff.topological_order`` counts them, leaves included):

* chain: the width-1 chain h ← tanh(w_i·h + b_i) of bench_chain.py (5 nodes per layer: w,
  b, mul, add, tanh) from one input — one kernel per op node, the planner's worst case;
* MLP: ``nn.MLP(n, [n, 10])`` with sigmoid units and ``nn.binary_cross_entropy`` on n + 10
  placeholder inputs, compiled as the README compiles a model (``autodiff.compile(loss,
  inputs=xs + ys)``), n chosen for about the same node counts.

For each graph, ``autodiff.compile`` is timed in CPU time (``time.process_time``: less
disturbed by other jobs on a shared machine than wall time), median of ``--repeats`` runs,
reported as µs per node and relative to the smallest graph; "memory" is the part of the
Python heap (``tracemalloc``, numpy's arrays included) that the tape holds, per node (the
graph itself excluded).
Run: ``python3 bench/bench_compile_cost.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
import tracemalloc

from _common import machine_line, markdown_table, write_section

import autodiff  # noqa: E402
import nn  # noqa: E402
from autodiff import Value  # noqa: E402

CHAIN_LAYERS = (200, 2000, 20000, 40000)        # 1k, 10k, 100k, 200k nodes
MLP_WIDTHS = (24, 96, 310, 440)                 # ≈ 1k, 10k, 100k, 200k nodes


def chain(layers: int) -> tuple[Value, list[Value]]:
    x = h = Value(0.0, "x")
    for i in range(layers):
        w, b = Value(0.5, f"w{i}", param=True), Value(0.1, f"b{i}", param=True)
        h = (w * h + b).tanh()
    return h, [x]


def mlp(width: int) -> tuple[Value, list[Value]]:
    model = nn.MLP(width, [width, 10], activation="sigmoid", seed=0)
    xs = [Value(0.0, f"x{i}") for i in range(width)]
    ys = [Value(0.0, f"y{j}") for j in range(10)]
    return nn.binary_cross_entropy(model(xs), ys), xs + ys


def measure(root: Value, inputs: list[Value], repeats: int) -> tuple[int, float, float]:
    """(nodes, median CPU seconds of compile, bytes per node the tape keeps allocated).

    The memory comes from one more compile under ``tracemalloc`` (numpy reports its arrays
    to it too): what is still allocated when ``compile`` returns, i.e. what the tape holds."""
    nodes = len(autodiff.topological_order(root))
    times = []
    for _ in range(repeats):
        gc.collect()
        t0 = time.process_time()
        tape = autodiff.compile(root, inputs)
        times.append(time.process_time() - t0)
        del tape
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tape = autodiff.compile(root, inputs)
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    del tape
    return nodes, statistics.median(times), kept / nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows = []
    summary = {}
    for name, build, sizes in (("chain", chain, CHAIN_LAYERS), ("MLP", mlp, MLP_WIDTHS)):
        base = None
        for size in sizes:
            root, inputs = build(size)
            nodes, t, mem = measure(root, inputs, args.repeats)
            del root, inputs
            per_node = t / nodes
            base = base or per_node
            summary.setdefault(name, []).append(per_node * 1e6)
            rows.append([name, f"{nodes:,}", f"{t:.3f} s", f"**{per_node * 1e6:.1f} µs**",
                         f"{per_node / base:.2f}×", f"{mem:,.0f} B"])
            print(rows[-1], flush=True)
    spans = "; ".join(f"{k} {min(v):.1f}–{max(v):.1f} µs/node" for k, v in summary.items())
    out = "\n".join(["## Compile time per node (bench_compile_cost.py)\n",
                     machine_line() + f"; CPU time, median of {args.repeats}. Chain h ← tanh(w·h + b); "
                     "MLP(n, [n, 10]), sigmoid, binary cross-entropy. Memory: what the tape holds "
                     "(tracemalloc), per node.\n",
                     markdown_table(["graph", "nodes", "compile", "per node", "vs smallest", "memory per node"],
                                    rows), "", f"Goal ≤ 15 µs/node, flat: measured {spans}.", ""])
    print(out)
    write_section("bench_compile_cost", out)


if __name__ == "__main__":
    main()
