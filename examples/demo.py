"""The main demo: the NPTEL worked example (seed 004), printed, drawn and stepped through.

1. The 2-2-1 sigmoid network's forward values, partial derivatives and gradients, each
   computed by ``backward()`` on scalar Values, beside the lecture's printed numbers (its
   factor-10 typo in ∂E/∂out_H1 flagged) -- see ``examples/nptel_worked_example.py``.
2. Its computational graph in the lecture slides' visual language: a forward view (names and
   values) and a backward view (red arrows back from E to every parameter, gradients in red),
   as SVG files.
3. A self-contained HTML page that steps through the backward pass one chain-rule
   application at a time (open it in any browser; no network needed).

With ``--format svg|png|pdf`` only the two graphs are written, in that format (the page is HTML).

Run: ``bash scripts/demo.sh`` (sets everything up), ``backproplab demo [--out DIR]`` from an installed
package, or ``python3 examples/demo.py --out DIR``. (``--quick`` is accepted; the demo is small.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

try:
    from . import _util, nptel_worked_example
except ImportError:  # run as a script
    import _util
    import nptel_worked_example

import viz
from viz.html_page import write_html
from viz.stepper import Stepper


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = _util.parse_args("demo", __doc__, argv, matplotlib=False)
    report = nptel_worked_example.main([])
    if args.out is None:  # --no-figures: the table only
        report["files"] = {}
        return report
    out = Path(args.out)

    network = nptel_worked_example.build_network()
    network.loss.backward()

    files: dict[str, Path] = {}
    fmt = args.format if args.format_given else "svg"
    for view in ("forward", "backward"):
        drawing = viz.draw(network.loss, view=view)
        path = out / f"nptel_{view}.{fmt}"
        try:
            drawing.save(path)
            files[f"{view} graph"] = path
        except viz.GraphvizNotFound as exc:  # no `dot` program: keep the DOT source
            if args.format_given:
                print(f"note: {path.name} not drawn: {exc}")
                continue
            dot = drawing.save(path.with_suffix(".dot"))
            files[f"{view} graph (DOT source)"] = dot
            print(f"note: {exc}")
    page = out / "nptel_stepper.html"
    if args.format_given:
        print(f"step-through page skipped: it is HTML, and --format {fmt} asks for {fmt} files only")
    else:
        try:
            stepper = Stepper(network.loss, unicode=True, constants=False)
            write_html(stepper, page, title="NPTEL worked example: backward pass, step by step")
            files["step-through page"] = page
        except viz.GraphvizNotFound as exc:
            print(f"note: the step-through page needs Graphviz: {exc}")

    print("\nFiles written:")
    for what, path in files.items():
        print(f"  {what:<28} {path.resolve()}")
    report["files"] = {k: str(v) for k, v in files.items()}
    return report


if __name__ == "__main__":
    main()
