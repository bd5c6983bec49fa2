"""Our slide layout against Graphviz ``dot`` on the same graphs, measured from the SVG.

For each graph: forward edge crossings, edge pieces that run through a node they do not
join (black and red), and edges that are neither straight nor orthogonal elbows.
Writes a Markdown table to stdout (``python bench/layout_quality.py > bench/LAYOUT.md``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import nn  # noqa: E402
import viz  # noqa: E402
from tests.test_viz_layout import REFERENCE  # noqa: E402
from viz.svg_geometry import measure  # noqa: E402


def mlp_scalar():
    model = nn.MLP(2, [3, 1], "sigmoid", seed=0)
    out = model([1.0, -1.0])
    out = out[0] if isinstance(out, list) else out
    out.backward()
    return out, None, {}


def slides_scalar():
    root, wrt, _ = REFERENCE["slides_network"]()
    return root, wrt, {"detail": "scalar"}


def mlp_neuron():
    model = nn.MLP(3, [4, 4, 1], "sigmoid", seed=0)
    out = model([1.0, -1.0, 0.5])
    out = out[0] if isinstance(out, list) else out
    loss = (out - 1.0) ** 2
    loss.backward()
    return loss, None, {"detail": "neuron"}


GRAPHS = {**REFERENCE, "MLP(2,[3,1]) scalar": mlp_scalar,
          "slides network, scalar level": slides_scalar, "MLP(3,[4,4,1]) neuron level": mlp_neuron}


def main() -> None:
    print("| graph | drawn nodes | crossings: ours / dot | through nodes: ours / dot "
          "| curved or diagonal elbows: ours / dot |")
    print("|---|---|---|---|---|")
    for name, build in GRAPHS.items():
        root, wrt, kwargs = build()
        row = []
        for layout in ("slides", "dot"):
            d = viz.draw(root, view="backward", wrt=wrt, layout=layout, **kwargs)
            m = measure(d.svg())
            row.append((len(d.graph.nodes), len(m.forward_crossings()),
                        len(m.edges_through_nodes()), len(m.not_straight_or_orthogonal())))
        (n, c1, t1, s1), (_, c2, t2, s2) = row
        print(f"| {name} | {n} | {c1} / {c2} | {t1} / {t2} | {s1} / {s2} |")


if __name__ == "__main__":
    main()
