"""Our slide layout against Graphviz ``dot`` on the layout corpus (``tests/layout_corpus.py``),
measured from the SVG by what a reader sees (:mod:`viz.svg_geometry`).

For each graph, as the corpus draws it (the slide figures as the slides draw them, the others
in the backward view with red twins) and for each layout: crossings (every point where two
forward edges cross, edges sharing a node included away from it), pieces through a node they
do not join, stretches two edges share (drawn on top of each other), parallel wires closer than
8 px, texts outside their node, red twins crossing another edge, and the median time of
``viz.draw`` plus the SVG. Writes Markdown to stdout:

    python bench/layout_quality.py > bench/LAYOUT.md
"""

from __future__ import annotations

import datetime
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import viz  # noqa: E402
from layout_corpus import CORPUS  # noqa: E402
from viz.svg_geometry import measure  # noqa: E402

COLUMNS = ("crossings", "through nodes", "shared stretches", "close wires", "text outside", "twin crossings")
RUNS = 3


def measured(name: str, layout: str) -> tuple[int, dict[str, int], float]:
    times, faults, nodes = [], {}, 0
    for _ in range(RUNS):
        root, kwargs = CORPUS[name]()
        t0 = time.perf_counter()
        d = viz.draw(root, layout=layout, max_nodes=10_000, **kwargs)
        svg = d.svg()
        times.append(time.perf_counter() - t0)
        faults, nodes = measure(svg).faults(), len(d.graph.nodes)
    return nodes, faults, statistics.median(times)


def main() -> None:
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dot = subprocess.run(["dot", "-V"], capture_output=True, text=True).stderr.strip()
    print("# Layout quality: our slide layout against Graphviz `dot`\n")
    print(f"`python bench/layout_quality.py` at commit {commit}, {datetime.date.today()}, {dot}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} (2 shared cores: "
          f"time is the median of {RUNS} runs of `viz.draw` + `.svg()`, wall clock). "
          "Each cell: ours / dot.\n")
    print("| graph | drawn nodes | " + " | ".join(COLUMNS) + " | time s |")
    print("|---|---|" + "---|" * (len(COLUMNS) + 1))
    totals = {layout: dict.fromkeys(COLUMNS, 0) for layout in ("slides", "dot")}
    for name in CORPUS:
        n, ours, t1 = measured(name, "slides")
        _, theirs, t2 = measured(name, "dot")
        for c in COLUMNS:
            totals["slides"][c] += ours[c]
            totals["dot"][c] += theirs[c]
        cells = " | ".join(f"{ours[c]} / {theirs[c]}" for c in COLUMNS)
        print(f"| {name} | {n} | {cells} | {t1:.2f} / {t2:.2f} |", flush=True)
    cells = " | ".join(f"{totals['slides'][c]} / {totals['dot'][c]}" for c in COLUMNS)
    print(f"| **all** | | {cells} | |")
    print(f"\nLoad average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}.")
    print("""
- *crossings*: points where two forward edges cross (edges that share a node count too,
  away from that node). A complete layer (every neuron reads every output of the layer
  before) cannot be drawn without them in any layering.
- *through nodes*: edge pieces (black or red) inside a node they do not join.
- *shared stretches*: two different edges (black or red) drawn on top of each other for
  more than 2 px: a fan of elbows on one trunk, which hides which branch goes where.
- *close wires*: parallel pieces of two edges between 1 and 8 px apart along more than 6 px.
- *text outside*: a name or number whose box (estimated at 0.5 em a character) leaves its
  circle or square.
- *twin crossings*: a red twin crossing another edge or twin away from a node both join.
- The MLP rows at neuron and scalar level are the graphs the layout does not yet draw
  cleanly: see the xfail list in `tests/test_layout_corpus.py` for why.""")


if __name__ == "__main__":
    main()
