"""The step-through page of a :class:`viz.stepper.Stepper`, as HTML text (see
:mod:`viz.html_page` for what the page does and how it stays safe). This module reads a
stepper and never imports :mod:`viz.stepper`, so the stepper can show itself in Jupyter
(``Stepper._repr_html_``) through it without an import circle.
"""

from __future__ import annotations

import html
import json
import math
import re
from importlib import resources
from typing import Optional

from .levels import GroupStep

__all__ = ["page", "page_data", "iframe"]

_ASSETS = resources.files("viz.assets")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_for_script(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group()], text)


def _number(x: float) -> float:
    """A gradient as a JSON number (JSON has no NaN or ±inf: those count as 0 in ‖·‖)."""
    return x if math.isfinite(x) else 0.0


def _full(x: float) -> str:
    return repr(x) if math.isfinite(x) else str(x)


def _drawn_circles(stepper) -> list[tuple[str, str, list[int]]]:
    """(SVG id, name, topological indices of the scalar nodes it shows) per drawn circle."""
    if stepper.graph is None:
        return [(f"n{i}", stepper.names[v], [i]) for i, v in enumerate(stepper.order)]
    return [(n.id, n.name, [stepper.index[id(m)] for m in n.members])
            for n in stepper.graph.nodes if n.kind != "op"]


def page_data(stepper, title: str = "", number_pt: float = 11.0) -> dict:
    """The JSON the page's script reads: drawn circles, scalar gradients, steps, and
    the non-finite trace.

    ``nodes``: one per drawn circle (its SVG id, name, the scalar nodes it shows, when
    its gradient is first touched and complete); ``scalars``: each scalar node's
    gradient at position 0. Per step: its formula and instantiated local derivative,
    the drawn ids to highlight, the red twins it reaches (shown from that step on) and
    the scalar gradients it changes. Numbers travel as text (formatted with the
    stepper's digits, and in full for tooltips), since JSON has no NaN or infinity.
    ``number_pt``: the size of the drawing's number lines."""
    s, f, names = stepper, stepper.fmt, stepper.names
    loss = s.loss_name
    nodes = []
    for svg_id, name, members in _drawn_circles(s):
        vs = [s.order[i] for i in members]
        nodes.append({"id": svg_id, "name": name, "members": members,
                      "dataFull": _full(vs[0].data) if len(vs) == 1 else f"[{len(vs)}]",
                      "reached": min((s.reached_at(v) for v in vs), default=len(s) + 1),
                      "completed": max((s.completed_at(v) for v in vs), default=0)})
    scalars = [{"grad0": f(g), "grad0Full": _full(g), "grad0Value": _number(g)} for g in s.initial]
    steps = []
    for st in s.steps:
        hook = None
        if isinstance(st, GroupStep):
            highlight, twins, detail = list(st.highlight), list(st.twins), s.change_text(st)
        else:
            i = st.node_index
            highlight = [f"n{i}", f"op{i}", f"n{st.input_index}", st.edge_id + "_back", f"r{i}_back"]
            twins = [f"r{i}_back", st.edge_id + "_back"]
            detail = f"∂{loss}/∂{names[st.input]}: {f(st.grad_before)} → {f(st.grad_after)}"
            if st.hooked_from is not None:
                hook = (f"a hook replaced ∂{loss}/∂{names[st.node]} = {f(st.hooked_from)} "
                        f"by {f(st.upstream)}")
        steps.append({
            "edge": st.edge_id, "formula": st.formula, "local": st.local_formula, "detail": detail,
            "highlight": highlight, "twins": twins, "hook": hook,
            "changes": [[idx, f(old), f(new), _full(old), _full(new), _number(new), _number(old)]
                        for idx, old, new in st.changes],
        })
    trace = s.nonfinite_trace()
    nan = None
    if trace:
        ids: list[str] = []
        if s.graph is None:
            for st in trace:
                ids += [f"n{st.node_index}", f"op{st.node_index}", f"r{st.node_index}", f"r{st.node_index}_back",
                        f"n{st.input_index}", st.edge_id, st.edge_id + "_back"]
            where = trace[-1].index + 1
            marked = [st.index for st in trace]
        else:  # the group step that applies the last scalar step of the trace
            where = next((g.index + 1 for g in s.steps if trace[-1] in g.members), len(s))
            marked = [where - 1]
        nan = {"from": where, "ids": ids, "text": s.explain_nonfinite(), "steps": marked}
    loss_id = f"n{s.index[id(s.loss)]}" if s.graph is None else s.graph.where[id(s.loss)]
    return {"title": title, "loss": loss, "lossId": loss_id, "nodes": nodes, "scalars": scalars,
            "scalarsCompleted": [s.completed_at(v) for v in s.order], "steps": steps, "nan": nan,
            "numberPt": number_pt, "detail": s.detail, "start": s.position}


_UNKNOWN_SIZE = re.compile(r'font-size="([\d.]+)"[^>]*>\?</text>')


def page(stepper, title: Optional[str] = None, **draw_options) -> str:
    """The page's HTML text for ``stepper`` at its position (its position does not change;
    no ``.grad`` is touched). ``draw_options`` go to :func:`viz.render.draw`; the view is
    the backward view with red twins on the edges to the stepper's ``wrt``, each appearing
    when the steps reach it."""
    from .render import draw
    title = title if title is not None else f"backward pass of {stepper.loss_name}"
    draw_options.setdefault("wrt", list(stepper.traced))
    draw_options.setdefault("detail", stepper.detail)
    svg = draw(stepper.loss, view="backward", grads_known=[], **draw_options).svg()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE: inline SVG in HTML
    size = _UNKNOWN_SIZE.search(svg)
    data = page_data(stepper, title, float(size[1]) if size else 11.0)
    template = (_ASSETS / "stepper.html").read_text(encoding="utf-8")
    parts = {
        "TITLE": html.escape(title),
        "LOSS": html.escape(stepper.loss_name),
        "COUNT": str(len(stepper)),
        "CSS": (_ASSETS / "stepper.css").read_text(encoding="utf-8"),
        "SVG": svg,
        "DATA": _json_for_script(data),
        "JS": (_ASSETS / "stepper.js").read_text(encoding="utf-8"),
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], template)


def iframe(page_html: str, height: int = 720) -> str:
    """A page for Jupyter: an ``<iframe srcdoc=…>``, so the page's stylesheet and script
    cannot touch the notebook (nor the notebook's the page). ``sandbox="allow-scripts"``:
    the page runs its script but gets no access to the notebook's origin."""
    return (f'<iframe class="backproplab-stepper" srcdoc="{html.escape(page_html, quote=True)}" '
            f'sandbox="allow-scripts" style="width: 100%; height: {int(height)}px; border: 1px solid #ddd" '
            'title="backproplab step-through"></iframe>')
