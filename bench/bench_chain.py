"""Where compiling stops paying: deep narrow chains, compiled tape vs the eager engine.

Graph: a chain of D scalar layers h ← tanh(w_i·h + b_i) from one input x, loss ½(h_D − y)²
(3 op nodes per layer, width 1, 3·D topological levels). One training step over a batch of
B samples (loss values and mean parameter gradients):

* ``eager``: what the eager engine must do, per sample: build the graph on the sample's
  values, ``backward()`` (gradients accumulate in the parameters);
* ``compiled``: ``tape.forward(batch)`` + ``tape.backward()`` once for the whole batch,
  the graph compiled beforehand (the one-off compile time is reported separately).

Every group of the tape costs a fixed few µs of numpy calls however narrow it is, so a
width-1 chain pays ~3·D·(forward + backward) call overheads per batch; eager pays ~3·D
node operations per *sample*. Run: ``python3 bench/bench_chain.py [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

from _common import fmt_time, machine_line, markdown_table, write_section

import numpy as np  # noqa: E402

import autodiff  # noqa: E402
from autodiff import Value  # noqa: E402


def chain(D: int, rng):
    ws = [Value(float(rng.normal(0.0, 1.0)), f"w{i}", param=True) for i in range(D)]
    bs = [Value(float(rng.normal(0.0, 0.1)), f"b{i}", param=True) for i in range(D)]

    def build(x, y):
        h = x
        for w, b in zip(ws, bs):
            h = (w * h + b).tanh()
        return 0.5 * (h - y) ** 2
    return ws + bs, build


def timed(fn, number: int) -> float:
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--depths", default="3,10,30,100,300")
    parser.add_argument("--batches", default="1,10,100")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rows = []
    for D in [int(d) for d in args.depths.split(",")]:
        params, build = chain(D, rng)
        x, y = Value(0.0, "x"), Value(0.0, "y")
        t0 = time.perf_counter()
        tape = autodiff.compile(build(x, y), [x, y])
        t_compile = time.perf_counter() - t0
        for B in [int(b) for b in args.batches.split(",")]:
            data = np.c_[rng.uniform(-1, 1, B), rng.uniform(-1, 1, B)].tolist()

            def eager():
                for xv, yv in data:
                    build(Value(xv), Value(yv)).backward()

            def compiled():
                tape.forward(data)
                tape.backward()

            n_c = max(1, int(2000 / (D * 3)))
            n_e = max(1, int(200 / (D * B)))
            te, tc = [], []
            for _ in range(args.repeats):
                te.append(timed(eager, n_e))
                tc.append(timed(compiled, n_c))
            e, c = statistics.median(te), statistics.median(tc)
            rows.append([D, 3 * D, B, fmt_time(e), fmt_time(c), f"{e / c:.2f}×", fmt_time(t_compile)])
            print(rows[-1], flush=True)
    table = markdown_table(["depth D", "levels", "B", "eager (B samples)", "compiled", "eager / compiled",
                            "compile (once)"], rows)
    out = "\n".join([
        "## Deep narrow chains: compiled vs eager (bench_chain.py)\n",
        machine_line() + f"; medians of {args.repeats} alternating rounds. Chain h ← tanh(w·h + b), "
        "loss ½(h − y)²; one step = forward + backward for B samples.\n",
        table, "",
        "Reading: a ratio below 1 means compiling loses. Per batch the tape pays a fixed overhead per "
        "level (independent of width), eager pays per node and per sample, so for width-1 chains the "
        "tape loses at B = 1 and wins once B exceeds a few samples; the crossover batch size hardly "
        "depends on the depth.\n"])
    print(out)
    write_section("bench_chain", out)


if __name__ == "__main__":
    main()
