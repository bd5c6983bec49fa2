"""Drawings of a :class:`viz.stepper.Stepper` at its position: the backward view with the
current step highlighted, slide frames with the step's formulas as a caption, and one
SVG per step. Gradients are read from the stepper (its recorded pass), never from
``.grad``; the graph's ``.grad`` fields are neither read nor written.
"""

from __future__ import annotations

import html
import re
from pathlib import Path as FilePath
from typing import Union

from .levels import GroupStep

__all__ = ["draw", "frame", "frame_svg", "export_frames", "twins"]


def twins(step) -> list[str]:
    """The drawn ids of the red twins a step reaches (its edge's, and its op's result edge)."""
    if isinstance(step, GroupStep):
        return list(step.twins)
    return [step.edge_id + "_back", f"r{step.node_index}_back"]


def draw(stepper, **options):
    """The backward view at the stepper's position: the current node, op and edge
    highlighted, gradients not reached yet drawn as unknown, red twins on the edges to
    the stepper's ``wrt`` (see :func:`viz.render.draw`), the gradients as the stepper
    has them at this position."""
    from .render import draw as render
    s = stepper
    step = s.current
    if s.detail != "scalar":
        options.setdefault("detail", s.detail)
    if step is None:
        highlight_nodes, highlight_edges = (s.loss,), ()
    elif isinstance(step, GroupStep):
        highlight_nodes, highlight_edges = (step.tail, step.head, step.result), step.twins
    else:
        highlight_nodes = (step.node, step.input, f"op{step.node_index}")
        highlight_edges = (step.edge_id + "_back", f"r{step.node_index}_back")
        options.setdefault("edge_labels", {step.edge_id + "_back": f"× {s.fmt(step.local)}"})
    known = [v for v in s.order if s.known(v)]
    options.setdefault("wrt", list(s.traced))
    grads = {id(v): g for v, g in zip(s.order, s.grads)}
    return render(s.loss, view="backward", highlight_nodes=highlight_nodes,
                  highlight_edges=highlight_edges, grads_known=known, grads=grads, **options)


def frame(stepper, **options):
    """:func:`draw` with the current step's formula and local rule as a caption under the
    graph (a slide frame)."""
    drawing = draw(stepper, **options)
    step = stepper.current
    lines = ([step.formula, step.local_formula] if step else
             [f"∂{stepper.loss_name}/∂{stepper.loss_name} = 1"])
    caption = "<BR/>".join(_subscripts(html.escape(line)) for line in lines if line)
    drawing.digraph.attr(label=f'<<FONT FACE="Latin Modern Math," POINT-SIZE="16">{caption}</FONT>>',
                         labelloc="b", labeljust="c")
    return drawing


def frame_svg(stepper, **options) -> str:
    """The SVG text of :func:`frame`, with only the red twins the steps so far have
    reached (a twin appears when its step does, as on the page)."""
    svg = frame(stepper, **options).svg()
    reached = {t for st in stepper.steps[:stepper.position] for t in twins(st)}
    later = {t for st in stepper.steps for t in twins(st)} - reached
    if later:
        pattern = re.compile(r'<!-- [^>]*? -->\n<g id="(%s)" class="edge backward">.*?</g>\n'
                             % "|".join(map(re.escape, sorted(later))), re.S)
        svg = pattern.sub("", svg)
    return svg


_TEX_NAME = re.compile(r"([^\W_][^_\s/∂·=+(),\[\]]{0,7})_([^_\s/∂·=+(),\[\]&;]{1,8})")


def _subscripts(text: str) -> str:
    """A caption's names as the drawing writes them: ``out_H1`` → out with the subscript H1."""
    return _TEX_NAME.sub(r"\1<SUB>\2</SUB>", text)


def export_frames(stepper, directory: Union[str, FilePath], **options) -> list[FilePath]:
    """Write one slide-style SVG per position into ``directory`` (created if needed):
    ``step-001.svg`` … with that step applied, its edge highlighted, the red twins
    reached so far, and its formula as the caption (``step-000.svg`` is the start).
    Returns the paths; leaves the position unchanged."""
    out = FilePath(directory)
    out.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(len(stepper.steps))))
    keep = stepper.position
    paths = []
    try:
        for k in range(len(stepper.steps) + 1):
            stepper.goto(k)
            path = out / f"step-{k:0{width}d}.svg"
            path.write_text(frame_svg(stepper, **options), encoding="utf-8")
            paths.append(path)
    finally:
        stepper.goto(keep)
    return paths
