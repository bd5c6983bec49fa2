"""One self-contained HTML page that steps through a backward pass in the browser.

The page holds, inline and with no network access: the slide-style graph in the
backward view (SVG from :func:`viz.render.draw`, every gradient drawn as "?"), the
recorded steps of a :class:`viz.stepper.Stepper` as JSON, and a small script
(``assets/stepper.js``) with a stylesheet (``assets/stepper.css``). A slider, the
back/next buttons and the ← → Home End keys move through the steps; the current node,
op and edge are highlighted through the renderer's SVG ids (``n{i}``, ``op{i}``,
``e{j}_{i}_{k}_back``, ``r{i}_back``), the formula panel shows the chain-rule step
``∂l/∂a += ∂l/∂u · ∂u/∂a``, gradients fill in as steps are applied, and when a NaN or
±inf appears, the chain of steps that carried a finite gradient into it is marked.

The URL fragment drives the page (for links and for headless tests):
``#step=5`` goes to position 5; ``#keys=ArrowRight,ArrowLeft`` dispatches key
presses; ``#click=next,back`` clicks the buttons; ``#slider=3`` moves the slider;
parts combine with ``&`` and run in order.

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
from typing import Optional, Union

import autodiff
from autodiff import Value

from .stepper import Stepper

__all__ = ["html_page", "write_html", "page_data"]

_ASSETS = resources.files("viz.assets")
_JSON_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _json_for_script(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return re.sub("[<>&\u2028\u2029]", lambda m: _JSON_ESCAPES[m.group()], text)


def _full(x: float) -> str:
    return repr(x) if math.isfinite(x) else str(x)


def page_data(stepper: Stepper, title: str = "") -> dict:
    """The JSON the page's script reads: nodes, steps, and the non-finite trace.

    Numbers travel as text (formatted with the stepper's digits, and in full for
    tooltips), since JSON has no NaN or infinity."""
    s, f, names = stepper, stepper.fmt, stepper.names
    loss = names[s.loss]
    nodes = []
    for i, v in enumerate(s.order):
        kind = v.op or ("param" if v.param else "leaf")
        nodes.append({"name": names[v], "kind": kind, "data": f(v.data), "dataFull": _full(v.data),
                      "grad0": f(s.initial[i]), "grad0Full": _full(s.initial[i]),
                      "reached": s._reached[i], "completed": s._completed[i]})
    steps = []
    for st in s.steps:
        op = autodiff.OPS.get(st.node.op)
        hook = None
        if st.hooked_from is not None:
            hook = (f"a hook replaced ∂{loss}/∂{names[st.node]} = {f(st.hooked_from)} "
                    f"by {f(st.upstream)}")
        steps.append({
            "i": st.node_index, "j": st.input_index, "k": st.operand, "edge": st.edge_id,
            "formula": st.formula, "input": names[st.input], "node": names[st.node],
            "op": st.node.op, "opFormula": op.formula if op else "",
            "before": f(st.grad_before), "after": f(st.grad_after), "hook": hook,
            "changes": [[idx, f(old), f(new), _full(old), _full(new)] for idx, old, new in st.changes],
        })
    trace = s.nonfinite_trace()
    nan = None
    if trace:
        ids: list[str] = []
        for st in trace:
            ids += [f"n{st.node_index}", f"op{st.node_index}", f"r{st.node_index}", f"r{st.node_index}_back",
                    f"n{st.input_index}", st.edge_id, st.edge_id + "_back"]
        nan = {"from": trace[-1].index + 1, "ids": ids, "text": s.explain_nonfinite(),
               "steps": [st.index for st in trace]}
    return {"title": title, "loss": loss, "nodes": nodes, "steps": steps, "nan": nan}


def html_page(loss_or_stepper: Union[Value, Stepper], title: Optional[str] = None,
              **draw_options) -> str:
    """The page's HTML text. Given a Value, a :class:`Stepper` is built for it with
    subscript names (u₁, as the drawing writes them) and the graph is left with the
    gradients of a complete backward pass; a given Stepper keeps its position. ``draw_options`` go to
    :func:`viz.render.draw` (e.g. ``max_nodes``); the view is always the backward
    view with red twins on every edge (all leaves are traced: backprop visits them all)."""
    from .render import draw
    own = not isinstance(loss_or_stepper, Stepper)
    stepper = Stepper(loss_or_stepper, unicode=True) if own else loss_or_stepper
    loss = stepper.loss
    title = title if title is not None else f"backward pass of {stepper.names[loss]}"
    draw_options.setdefault("wrt", [v for v in stepper.order if v.is_leaf])
    svg = draw(loss, view="backward", grads_known=[], **draw_options).svg()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE: inline SVG in HTML
    data = page_data(stepper, title)
    if own:  # leave the graph as loss.backward() would (a Stepper starts at position 0)
        stepper.goto(len(stepper))
    template = (_ASSETS / "stepper.html").read_text(encoding="utf-8")
    parts = {
        "TITLE": html.escape(title),
        "LOSS": html.escape(stepper.names[loss]),
        "COUNT": str(len(stepper)),
        "CSS": (_ASSETS / "stepper.css").read_text(encoding="utf-8"),
        "SVG": svg,
        "DATA": _json_for_script(data),
        "JS": (_ASSETS / "stepper.js").read_text(encoding="utf-8"),
    }
    return re.sub(r"\{\{(\w+)\}\}", lambda m: parts[m.group(1)], template)


def write_html(loss_or_stepper: Union[Value, Stepper], path: Union[str, Path],
               title: Optional[str] = None, **draw_options) -> Path:
    """Write :func:`html_page` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    # errors="replace": a lone surrogate set with v.label = ... is written as "?", not a crash
    path.write_text(html_page(loss_or_stepper, title, **draw_options), encoding="utf-8", errors="replace")
    return path
