"""Building a Stepper against the same graph's ``backward()``, both engines, side by side.

The issue's targets: ``Stepper(loss)`` at most 10× ``loss.backward()`` on the same graph,
and at most 1 s for

* a 100,000-node chain ``h = (h * 0.999).tanh()`` (50,000 times, from a labelled x);
* one MNIST-size sample of ``nn.MLP(784, [30, 10])`` (sigmoid, cross-entropy),
  ``Stepper(loss, detail="layer")``;
* ``write_html(loss, path)`` of ``nn.MLP(3, [4, 4, 1])`` (scalar level; the page
  includes the laid-out drawing).

Each row times the public calls as the README writes them, alternating (backward, then
the Stepper) in rounds, each warmed up alike, and reports medians and the ratio. The C
core rows run in this process; the pure-Python rows in a child process with
``BACKPROPLAB_PURE=1`` (the engine is chosen at import). Writes a markdown table to
bench/RESULTS.md (section ``trace``) and prints it.

Run: ``python3 bench/bench_trace.py`` (about a minute).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import autodiff  # noqa: E402
import nn  # noqa: E402
from autodiff import Value  # noqa: E402
from viz.html_page import write_html  # noqa: E402
from viz.stepper import Stepper  # noqa: E402

from _common import fmt_time, machine_line, markdown_table, write_section  # noqa: E402


def chain(n_ops: int = 100_000) -> Value:
    h = Value(0.5, "x")
    for _ in range(n_ops // 2):
        h = (h * 0.999).tanh()
    return h


def mnist_sample() -> Value:
    import random
    rng = random.Random(0)
    model = nn.MLP(784, [30, 10], activation="sigmoid", seed=0)
    x = [rng.random() for _ in range(784)]
    y = [0.0] * 10
    y[3] = 1.0
    return nn.binary_cross_entropy(model(x), y)


def small_mlp() -> Value:
    model = nn.MLP(3, [4, 4, 1], activation="tanh", seed=0)
    return nn.mse(model([0.5, -1.0, 2.0]), [1.0])


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def measure() -> list[dict]:
    rows = []
    tmp = Path(tempfile.mkdtemp())
    cases = [
        ("chain of 100,000 nodes, Stepper(h)", chain(), lambda l: Stepper(l), 5),
        ("MLP(784,[30,10]) sample, Stepper(loss, detail='layer')", mnist_sample(),
         lambda l: Stepper(l, detail="layer"), 5),
        ("MLP(3,[4,4,1]), write_html(loss, path)", small_mlp(),
         lambda l: write_html(l, tmp / "steps.html"), 5),
    ]
    for name, loss, build, repeats in cases:
        loss.backward()
        build(loss)   # warm up both alike
        back, made = [], []
        for _ in range(repeats):   # alternate
            back += timed(loss.backward, 1)
            made += timed(lambda: build(loss), 1)
        b, m = statistics.median(back), statistics.median(made)
        rows.append({"case": name, "nodes": len(autodiff.topological_order(loss)),
                     "backward": b, "built": m})
    return rows


def main() -> None:
    if os.environ.get("BENCH_TRACE_CHILD"):
        print(json.dumps(measure()))
        return
    engine = "C core" if autodiff.accelerated else "pure Python"
    results = {engine: measure()}
    if autodiff.accelerated:
        env = dict(os.environ, BACKPROPLAB_PURE="1", BENCH_TRACE_CHILD="1")
        out = subprocess.run([sys.executable, __file__], env=env, capture_output=True, text=True, check=True)
        results["pure Python"] = json.loads(out.stdout.strip().splitlines()[-1])
    table = []
    for engine, rows in results.items():
        for r in rows:
            ratio = r["built"] / r["backward"]
            table.append([r["case"], engine, f"{r['nodes']:,}", fmt_time(r["backward"]),
                          fmt_time(r["built"]), f"{ratio:.1f}×"])
    text = "\n".join([
        "## Building a Stepper vs the same graph's backward() (bench_trace.py)\n",
        machine_line() + f"; load average {os.getloadavg()[0]:.1f} at the end (the machine is shared: "
        "absolute times grow with it, the ratios less); medians of 5, alternating.\n",
        markdown_table(["graph, call", "engine", "nodes", "backward()", "the call", "ratio"], table),
    ])
    print(text)
    write_section("trace", text)


if __name__ == "__main__":
    main()
