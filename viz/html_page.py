"""One self-contained HTML page that steps through a backward pass in the browser.

The page holds, inline and with no network access: the slide-style graph in the
backward view (SVG from :func:`viz.render.draw`, every gradient drawn as "?"), the
recorded steps of a :class:`viz.stepper.Stepper` as JSON, and a small script
(``assets/stepper.js``) with a stylesheet (``assets/stepper.css``). A slider, the
back/next buttons, the ← → Home End keys and autoplay (Space, with a speed control)
move through the steps; the current node, op and edge are highlighted through the
renderer's SVG ids (``n{i}``, ``op{i}``, ``e{j}_{i}_{k}_back``, ``r{i}_back``), the
formula panel shows the chain-rule step ``∂l/∂a += ∂l/∂u · ∂u/∂a`` with the drawn
names and numbers and the local derivative instantiated (``∂u₂/∂u₁ = σ(u₁)(1 − σ(u₁))
= 0.2413``), gradients fill in and red twins appear as steps reach them, and when a
NaN or ±inf appears, the chain of steps that carried a finite gradient into it is
marked. The graph opens fitted to the window when its numbers are readable there
(≥ 9 px), otherwise at the smallest readable zoom centred on the loss; the wheel
zooms, dragging pans, "fit" shows the whole graph.

The URL fragment drives the page (for links and for headless tests):
``#step=5`` goes to position 5; ``#keys=ArrowRight,ArrowLeft`` dispatches key
presses; ``#click=next,back`` clicks the buttons; ``#slider=3`` moves the slider;
``#speed=4&play`` starts autoplay; ``#zoom=fit`` fits; parts combine with ``&``
and run in order.

In Jupyter, :func:`notebook_html` (what ``Stepper._repr_html_`` returns) puts the
page in an ``<iframe srcdoc>``, so its CSS and script stay inside it.

Safety: every label reaches the page either inside the SVG (escaped by the renderer)
or inside the JSON block, in which ``<``, ``>``, ``&`` and U+2028/2029 are written as
``\\uXXXX`` escapes so no label can close the script element; the script inserts
text with ``textContent`` only.
"""

from __future__ import annotations

import html
import json
import math
import re
from importlib import resources
from pathlib import Path
from typing import Iterable, Optional, Union

from autodiff import Value

from .levels import GroupStep
from .stepper import Stepper

__all__ = ["html_page", "write_html", "page_data", "notebook_html"]

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


def _drawn_circles(stepper: Stepper) -> list[tuple[str, str, list[int]]]:
    """(SVG id, name, topological indices of the scalar nodes it shows) per drawn circle."""
    if stepper.graph is None:
        return [(f"n{i}", stepper.names[v], [i]) for i, v in enumerate(stepper.order)]
    return [(n.id, n.name, [stepper.index[id(m)] for m in n.members])
            for n in stepper.graph.nodes if n.kind != "op"]


def page_data(stepper: Stepper, title: str = "", number_pt: float = 11.0) -> dict:
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
            "numberPt": number_pt, "detail": s.detail}


_UNKNOWN_SIZE = re.compile(r'font-size="([\d.]+)"[^>]*>\?</text>')


def html_page(loss_or_stepper: Union[Value, Stepper], title: Optional[str] = None, *,
              detail: str = "scalar", wrt: Union[None, Value, Iterable[Value]] = None,
              constants: bool = False, **draw_options) -> str:
    """The page's HTML text. Given a Value, a :class:`Stepper` is built for it
    (``detail``, ``wrt`` and ``constants`` go to it); a given Stepper is used as it is
    and its position does not change. Neither touches any ``.grad``. ``draw_options``
    go to :func:`viz.render.draw` (e.g. ``max_nodes``); the view is the backward view
    with red twins on the edges to the stepper's ``wrt``, each appearing when the
    steps reach it."""
    from .render import draw
    if isinstance(loss_or_stepper, Stepper):
        stepper = loss_or_stepper
    else:
        stepper = Stepper(loss_or_stepper, detail=detail, wrt=wrt, constants=constants,
                          max_nodes=draw_options.get("max_nodes"))
    loss = stepper.loss
    title = title if title is not None else f"backward pass of {stepper.loss_name}"
    draw_options.setdefault("wrt", list(stepper.traced))
    draw_options.setdefault("detail", stepper.detail)
    svg = draw(loss, view="backward", grads_known=[], **draw_options).svg()
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


def notebook_html(loss_or_stepper: Union[Value, Stepper], height: int = 720, **options) -> str:
    """The page for Jupyter: an ``<iframe srcdoc=…>`` holding :func:`html_page`, so
    the page's stylesheet and script cannot touch the notebook (and the notebook's
    cannot touch the page). ``sandbox="allow-scripts"``: the page runs its script but
    gets no access to the notebook's origin."""
    page = html_page(loss_or_stepper, **options)
    return (f'<iframe class="backproplab-stepper" srcdoc="{html.escape(page, quote=True)}" '
            f'sandbox="allow-scripts" style="width: 100%; height: {int(height)}px; border: 1px solid #ddd" '
            'title="backproplab step-through"></iframe>')


def write_html(loss_or_stepper: Union[Value, Stepper], path: Union[str, Path],
               title: Optional[str] = None, **options) -> Path:
    """Write :func:`html_page` to ``path`` (UTF-8) and return the path."""
    if not isinstance(path, (str, Path)) or not str(path):
        raise TypeError(f"write_html(path): expected a file path (str or Path), got {path!r}")
    path = Path(path)
    # errors="replace": a lone surrogate set with v.label = ... is written as "?", not a crash
    page = html_page(loss_or_stepper, title, **options)
    try:
        path.write_text(page, encoding="utf-8", errors="replace")
    except OSError as exc:  # e.g. /dev/full says only "No space left on device"
        raise type(exc)(exc.errno, f"write_html: cannot write the page to {path}: {exc.strerror or exc}") from None
    return path
