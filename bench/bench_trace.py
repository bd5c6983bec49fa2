"""Building a Stepper against the same graph's ``backward()``, both engines, side by side.

The issue's targets: ``Stepper(loss)`` at most 10× ``loss.backward()`` on the same graph,
at every level of detail, and at most 1 s, for

* a 100,000-node chain ``h = (h * 0.999).tanh()`` (50,000 times, from a labelled x),
  ``Stepper(h)`` (scalar level; it has no groups to collapse);
* one MNIST-size sample of ``nn.MLP(784, [30, 10])`` (sigmoid, cross-entropy):
  ``Stepper(loss)`` at ``detail="scalar"``, ``"neuron"`` and ``"layer"``. The neuron level
  draws 946 nodes (each of the 784 inputs is its own circle: it feeds 30 neurons), more
  than the 400 a drawing allows by default, so that row passes ``max_nodes=2000``;
* ``write_html(loss, path)`` of ``nn.MLP(3, [4, 4, 1])`` (scalar level; the page
  includes the laid-out drawing).

Each row times the public calls as the README writes them, alternating (backward, then
the call) in rounds after one warm-up of each, and reports medians and the ratio; a
round times ``backward()`` over several calls (it takes about a millisecond here). The C
core rows run in this process; the pure-Python rows in a child process with
``BACKPROPLAB_PURE=1`` (the engine is chosen at import). Writes a markdown table to
bench/RESULTS.md (section ``trace``) and prints it, with the load average before and after
(the machine is shared).

Run: ``python3 bench/bench_trace.py`` (a minute or two).
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
from tests.test_viz_collapse_arrays import mnist_sample  # noqa: E402  (the network the tests step through)

from _common import fmt_time, machine_line, markdown_table, write_section  # noqa: E402


def chain(n_ops: int = 100_000) -> Value:
    h = Value(0.5, "x")
    for _ in range(n_ops // 2):
        h = (h * 0.999).tanh()
    return h


def small_mlp() -> Value:
    model = nn.MLP(3, [4, 4, 1], activation="tanh", seed=0)
    return nn.mse(model([0.5, -1.0, 2.0]), [1.0])


def timed(fn, number: int = 1) -> float:
    """Seconds per call of ``fn`` over ``number`` calls."""
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


ROUNDS = 7


def measure() -> list[dict]:
    rows = []
    tmp = Path(tempfile.mkdtemp())
    sample = mnist_sample()
    cases = [
        ("chain of 100,000 nodes, Stepper(h)", chain(), lambda l: Stepper(l)),
        ("MLP(784,[30,10]) sample, Stepper(loss)", sample, lambda l: Stepper(l)),
        ("MLP(784,[30,10]) sample, Stepper(loss, detail='neuron', max_nodes=2000)", sample,
         lambda l: Stepper(l, detail="neuron", max_nodes=2000)),
        ("MLP(784,[30,10]) sample, Stepper(loss, detail='layer')", sample,
         lambda l: Stepper(l, detail="layer")),
        ("MLP(3,[4,4,1]), write_html(loss, path)", small_mlp(),
         lambda l: write_html(l, tmp / "steps.html")),
    ]
    for name, loss, build in cases:
        loss.backward()   # warm up both alike
        build(loss)
        once = timed(loss.backward)
        number = max(1, min(50, int(0.02 / max(once, 1e-6))))   # about 20 ms of backward a round
        back, made = [], []
        for _ in range(ROUNDS):   # alternate
            back.append(timed(loss.backward, number))
            made.append(timed(lambda: build(loss)))
        b, m = statistics.median(back), statistics.median(made)
        rows.append({"case": name, "nodes": len(autodiff.topological_order(loss)),
                     "backward": b, "built": m})
    return rows


def main() -> None:
    if os.environ.get("BENCH_TRACE_CHILD"):
        print(json.dumps(measure()))
        return
    load_before = os.getloadavg()[0]
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
        machine_line() + f"; load average {load_before:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        "(the machine is shared: absolute times grow with it, the ratios less); medians of "
        f"{ROUNDS} rounds, alternating, after a warm-up; a round of backward() averages several calls.\n",
        markdown_table(["graph, call", "engine", "nodes", "backward()", "the call", "ratio"], table),
    ])
    print(text)
    write_section("trace", text)


if __name__ == "__main__":
    main()
