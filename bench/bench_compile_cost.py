"""Compile time per node, 1k to 100k nodes (issue 10: roughly constant).

Graph: the width-1 chain h ← tanh(w_i·h + b_i) of bench_chain.py (5 nodes per layer: w, b,
mul, add, tanh), from one input. For each size, ``autodiff.compile(h, [x])`` is timed in CPU
time (``time.process_time``: less disturbed by other jobs on a shared machine than wall
time), median of ``--repeats`` runs; reported as µs per node and relative to the smallest.
Run: ``python3 bench/bench_compile_cost.py [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import machine_line, markdown_table, write_section

import autodiff  # noqa: E402
from autodiff import Value  # noqa: E402


def chain(layers: int) -> tuple[Value, Value]:
    x = h = Value(0.0, "x")
    for i in range(layers):
        w, b = Value(0.5, f"w{i}", param=True), Value(0.1, f"b{i}", param=True)
        h = (w * h + b).tanh()
    return x, h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rows, base = [], None
    for layers in (200, 2000, 20000):
        x, h = chain(layers)
        nodes = len(autodiff.topological_order(h))
        times = []
        for _ in range(args.repeats):
            t0 = time.process_time()
            tape = autodiff.compile(h, [x])
            times.append(time.process_time() - t0)
            del tape
        per_node = statistics.median(times) / nodes
        base = base or per_node
        rows.append([f"{nodes:,}", f"{statistics.median(times):.3f} s", f"{per_node * 1e6:.1f} µs",
                     f"{per_node / base:.2f}×"])
        print(rows[-1], flush=True)
    out = "\n".join(["## Compile time per node (bench_compile_cost.py)\n",
                     machine_line() + f"; CPU time, median of {args.repeats}; chain h ← tanh(w·h + b).\n",
                     markdown_table(["nodes", "compile", "per node", "vs 1k nodes"], rows), ""])
    print(out)
    write_section("bench_compile_cost", out)


if __name__ == "__main__":
    main()
