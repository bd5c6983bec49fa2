"""How long ``viz.draw`` takes on graphs people draw: one sample's loss of an MLP(2, [w, w, 1])
(the README tour's model), at each level of detail, up to a graph of about 2,000 drawn nodes.

For each graph and level: drawn nodes and edges, the median wall time of the layout
(``viz.draw``) and of the SVG (Graphviz ``neato -n2``), their sum, and that sum per drawn node.
The machine is shared: a few runs each, medians, and the load average printed with the table.

    python bench/bench_draw_speed.py > bench/DRAW_SPEED.md
    python bench/bench_draw_speed.py --checkout ../other-worktree --only "MLP(2,[16,16,1])"
        # the same timings of another checkout's viz (before/after a change)
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(widths: list[int]):
    import nn
    model = nn.MLP(2, widths, seed=0)
    out = model([0.5, -0.3])
    out = out[0] if isinstance(out, list) else out
    loss = (out - 1.0) ** 2
    loss.backward()
    return loss


GRAPHS = {"MLP(2,[4,4,1])": [4, 4, 1], "MLP(2,[8,8,1])": [8, 8, 1], "MLP(2,[16,16,1])": [16, 16, 1],
          "MLP(2,[38,38,1])": [38, 38, 1]}
LEVELS = {"MLP(2,[38,38,1])": ("scalar",)}          # the ~2,000-node graph


def time_one(loss, detail: str, runs: int) -> tuple[int, int, float, float]:
    import viz
    layouts, svgs, n, m = [], [], 0, 0
    for _ in range(runs):
        t0 = time.perf_counter()
        d = viz.draw(loss, detail=detail, max_nodes=10_000)
        t1 = time.perf_counter()
        d.svg()
        t2 = time.perf_counter()
        layouts.append(t1 - t0)
        svgs.append(t2 - t1)
        n, m = len(d.graph.nodes), len(d.graph.edges)
    return n, m, statistics.median(layouts), statistics.median(svgs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkout", default=str(ROOT), help="the repository whose viz is timed")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", default="", help="time only the graphs whose name contains this")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(args.checkout).resolve()))
    commit = subprocess.run(["git", "-C", args.checkout, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    if Path(args.checkout).resolve() == ROOT:
        print("# Drawing speed: `viz.draw` on one sample's loss of an MLP\n")
    else:
        print(f"\n## Before: the same timings of commit {commit or '?'}\n")
    print(f"`python bench/bench_draw_speed.py` at commit {commit or '?'}, {datetime.date.today()}, "
          f"Python {platform.python_version()}, {os.cpu_count()} cores, load average before "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (a shared machine: medians of "
          f"{args.runs} runs, wall time).\n")
    print("| graph | level | drawn nodes | edges | layout s | SVG s | total s | ms per node |")
    print("|---|---|---|---|---|---|---|---|")
    for name, widths in GRAPHS.items():
        if args.only not in name:
            continue
        loss = build(widths)
        for detail in LEVELS.get(name, ("layer", "neuron", "scalar")):
            n, m, lay, svg = time_one(loss, detail, args.runs)
            total = lay + svg
            print(f"| {name} | {detail} | {n} | {m} | {lay:.2f} | {svg:.2f} | {total:.2f} "
                  f"| {1000 * total / n:.2f} |", flush=True)
    print(f"\nLoad average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    if Path(args.checkout).resolve() == ROOT:
        print("""
- *layout*: `viz.draw` (the drawn graph, our layout and routes, the DOT text); *SVG*:
  `Drawing.svg()` (Graphviz `neato -n2` drawing the pinned positions).
- Up to 40 edges the layout tries the rules' variants and compares 120 routes per edge,
  up to 150 edges one layout with 40 routes per edge, past that 8: the neuron level of a
  wide MLP (every neuron reads every output of the layer before) has the most edges per
  node, hence the most time per node.
- The ~2,000-node row is MLP(2,[38,38,1]) at the scalar level (`max_nodes` now defaults to
  2,000).""")


if __name__ == "__main__":
    main()
