"""Render a `Value` graph as the lecture slides draw it (../docs/SLIDE-STYLE.md).

>>> from viz import draw
>>> d = draw(loss, view="backward", wrt=[w1])      # doctest: +SKIP
>>> d.save("graph.svg"); d.source; d.digraph        # doctest: +SKIP

White circles are values (inputs, outputs, intermediate results u₁, u₂, …), red
circles parameters, blue squares operations labelled as the slides label them
(``autodiff.OPS[op].label``). Left to right, a parameter above the op that consumes
it. The forward view writes each value under its name; the backward view adds
∂l/∂node in red and a red twin arrow, pointing back, on every edge that lies on a
path from the loss to the chosen nodes (``wrt``, default all parameters).

Everything that is text goes through :func:`html.escape` into Graphviz HTML-like
labels, so a label such as ``<script>`` is drawn as text, never interpreted.
"""

from __future__ import annotations

import html
import math
import re
import shutil
import subprocess
import time
import unicodedata
from pathlib import Path
from typing import Collection, Iterable, Mapping, Optional, Sequence, Union

import graphviz

import autodiff
from autodiff import Value
from autodiff.validate import int_at_least

from . import style as S
from .graph import DEdge, DGraph, DNode, GraphTooLarge, choose_anchors, count_scalar_nodes, depends_on, scalar_graph
from .layout import Layout, slide_layout
from .naming import display_names, format_number
from .text_safety import dot_safe, shorten, visible_whitespace

__all__ = ["draw", "Drawing", "PinnedDigraph", "GraphTooLarge", "GraphvizNotFound", "DEFAULT_MAX_NODES", "LEVELS"]

LEVELS = ("scalar", "neuron", "layer")
DEFAULT_MAX_NODES = 2000      # the slides' layout draws 2,000 nodes in a few seconds
NUMBER_SIZE = 14              # pt = px at 100 %: values and gradients stay readable
RENDER_TIMEOUT = 60.0          # seconds for a whole drawing (layout, then Graphviz) before GraphTooLarge
NUMBERS = ("none", "values", "grads", "both")
LAYOUTS = ("slides", "dot")
_COARSER = {"scalar": "neuron", "neuron": "layer"}
INSTALL_HINT = ("the Graphviz program `dot` was not found on PATH; install Graphviz "
                "(Debian/Ubuntu: `apt-get install graphviz`, macOS: `brew install graphviz`, "
                "conda: `conda install graphviz`). The DOT text is still available as `.source`.")


class GraphvizNotFound(RuntimeError):
    """The `dot` program is missing; ``.source`` still works."""


# ------------------------------------------------------------------ labels

_NAME = re.compile(r"^(?P<base>\w[\u0300-\u036f]?)_?(?P<sub>[0-9₀-₉]+(?:,[0-9₀-₉]+)*)?$")
_UNSUB = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_TEX_SUB = re.compile(r"^([^\W_][^_\s]{0,7})_([^_\s]{1,8})$")


def _font(face: str, size: float, text: str, color: Optional[str] = None) -> str:
    colour = f' COLOR="{color}"' if color else ""
    return f'<FONT FACE="{S.font(face)}" POINT-SIZE="{size:g}"{colour}>{text}</FONT>'


def _is_greek(ch: str) -> bool:
    return "GREEK" in unicodedata.name(ch, "")


def name_html(name: str, style: str, size: float) -> str:
    """A name in the slides' typography: ``u₁`` → italic u with a subscript 1,
    ``W₁`` bold, Greek in Latin Modern Math; anything else upright and escaped."""
    name = visible_whitespace(name)
    m = _NAME.match(name)
    if m and (m["base"][0].isalpha()):
        base, sub = m["base"], (m["sub"] or "").translate(_UNSUB)
        if _is_greek(base[0]):
            head = _font(S.MATH, size, html.escape(base))
        else:
            tag = {"italic": "I", "bold": "B"}.get(style)
            inner = f"<{tag}>{html.escape(base)}</{tag}>" if tag else html.escape(base)
            head = _font(S.ROMAN, size, inner)
        if sub:
            head += f"<SUB>{_font(S.ROMAN, round(size * 0.65), html.escape(sub))}</SUB>"
        return head
    # longer names shrink to fit the 80 px circle (≈ 0.5 em per character)
    fitted = max(7.0, min(size, 110.0 / max(1, len(name))))
    face = S.MATH if any(_is_greek(c) for c in name) else S.ROMAN
    m = _TEX_SUB.match(name)
    if m:  # TeX habit: out_o → out with a subscript o
        fitted = max(7.0, min(size, 110.0 / (len(m[1]) + 0.65 * len(m[2]))))
        inner = html.escape(m[1])
        if len(m[1]) == 1 and m[1].isalpha() and not _is_greek(m[1]):
            inner = f"<I>{inner}</I>"
        return (_font(face, round(fitted, 1), inner)
                + f"<SUB>{_font(face, round(fitted * 0.65, 1), html.escape(m[2]))}</SUB>")
    return _font(face, round(fitted, 1), html.escape(name))


def op_html(label: str, note: str = "") -> str:
    """An op square's label: lowercase names in monospace, symbols in the math font;
    ``note`` (an op constant such as the exponent of ``pow``) on a small second line."""
    if note:
        return op_html(label) + "<BR/>" + _font(S.MONO, 10, html.escape(note))
    if re.fullmatch(r"[a-z_]+", label):
        # the slides' 20 px on the 80 px square (perceptron.png: add, sign); Latin Modern
        # Mono is 0.525 em per character, about 70 px usable in the square
        size = round(min(20.0, 70.0 / (0.525 * len(label))), 1)
        return _font(S.MONO, size, html.escape(label))
    m = re.fullmatch(r"(.*?)([₀-₉]+)", label)
    if m:  # ‖·‖₂: no Latin Modern font has subscript digits, use <SUB>
        return (_font(S.MATH, 16, html.escape(m[1]))
                + f"<SUB>{_font(S.MATH, 11, html.escape(m[2].translate(_UNSUB)))}</SUB>")
    # a lone symbol (×, +, σ) as large as the slides draw it; longer ones fit the square
    size = 22 if len(label) == 1 else 16 if len(label) <= 6 else 12
    return _font(S.MATH, size, html.escape(label))


# ------------------------------------------------------------------ the drawing

_SUB_TEXT = re.compile(r'<text([^>]*?) y="(-?[\d.]+)"([^>]*?) baseline-shift="sub"([^>]*?)'
                       r' font-size="([\d.]+)"')


def _explicit_subscripts(svg: str) -> str:
    """Graphviz writes <SUB> as ``baseline-shift="sub"``, which browsers apply
    inconsistently to a whole <text> element (Chromium shifts far too much); move the
    subscript down explicitly instead, by 0.3 of its own font size."""
    def shift(m: re.Match) -> str:
        y = float(m[2]) + 0.3 * float(m[5])
        return f'<text{m[1]} y="{y:.1f}"{m[3]}{m[4]} font-size="{m[5]}"'
    return _SUB_TEXT.sub(shift, svg)


class PinnedDigraph(graphviz.Digraph):
    """A ``graphviz.Digraph`` whose nodes and edges carry the slides' pinned positions: its
    ``render()``, ``pipe()`` and Jupyter display run ``neato -n2`` (draw where pinned) by
    default, so it gives the same picture as :class:`Drawing` in every format."""

    def __init__(self, digraph: graphviz.Digraph) -> None:
        super().__init__(name=digraph.name, comment=digraph.comment, filename=digraph.filename,
                         directory=digraph.directory, format=digraph.format, engine="neato",
                         encoding=digraph.encoding, graph_attr=digraph.graph_attr,
                         node_attr=digraph.node_attr, edge_attr=digraph.edge_attr, body=digraph.body,
                         strict=digraph.strict)

    def render(self, *args, **kwargs):  # type: ignore[override]
        """``graphviz.Digraph.render`` with ``engine="neato"`` and ``neato_no_op=2`` by default."""
        kwargs.setdefault("engine", "neato")
        kwargs.setdefault("neato_no_op", 2)
        return super().render(*args, **kwargs)

    def pipe(self, *args, **kwargs):  # type: ignore[override]
        """``graphviz.Digraph.pipe`` with ``engine="neato"`` and ``neato_no_op=2`` by default."""
        kwargs.setdefault("engine", "neato")
        kwargs.setdefault("neato_no_op", 2)
        return super().pipe(*args, **kwargs)


# what save() and render() write, by format
FORMATS = ("svg", "png", "pdf", "dot", "gv")
DEFAULT_PNG_DPI = 150


def _inline_svg(svg: str) -> str:
    """The SVG as a notebook shows it: the root element scales down to the output's width
    (``max-width: 100%``, height from the viewBox) instead of running off screen."""
    return re.sub(r"<svg\b", '<svg style="max-width:100%;height:auto"', svg, count=1)


class Drawing:
    """A rendered graph, as ``graphviz``/torchviz users handle one.

    * ``.save(path)``: ``.svg``, ``.png``, ``.pdf``, or ``.dot``/``.gv`` (the DOT text), by suffix;
    * ``.render(filename, format="pdf")``: writes the DOT text to ``filename`` and the picture
      to ``filename.pdf`` (as ``graphviz.Digraph.render``), returns the picture's path;
    * ``.svg()``, ``.png(dpi=)``, ``.pdf()``: the picture as text or bytes; ``.source``: DOT;
    * ``.digraph``: a :class:`PinnedDigraph` (a ``graphviz.Digraph``) whose own ``render``
      and display give this same picture;
    * inline in Jupyter (``_repr_html_`` / ``_repr_svg_``), scaled to the output's width.

    Every format is drawn from the same DOT source by the same Graphviz program (with the
    slides' layout: ``neato -n2``, every node and edge where it was pinned), so the picture
    is the same in all of them. ``.graph`` is the drawn structure
    (:class:`viz.graph.DGraph`): ``.graph.where`` maps ``id(scalar node)`` to the id of the
    circle that shows it.
    """

    def __init__(self, digraph: graphviz.Digraph, graph: DGraph,
                 layout: Optional[Layout] = None, layout_seconds: float = 0.0,
                 detail: str = "scalar") -> None:
        self.digraph = digraph if layout is None or isinstance(digraph, PinnedDigraph) else PinnedDigraph(digraph)
        self.graph = graph
        self.layout = layout          # the slides' layout (None with layout="dot")
        self.layout_seconds = layout_seconds   # what the layout took of RENDER_TIMEOUT
        self.detail = detail
        self._svg: Optional[str] = None

    @property
    def source(self) -> str:
        """The DOT text; control characters and lone surrogates in labels become U+FFFD."""
        return dot_safe(self.digraph.source)

    def node_id(self, v: Value) -> str:
        """The DOT/SVG id of the circle that shows scalar node ``v``."""
        return self.graph.where[id(v)]

    def _run_dot(self, fmt: str, dpi: Optional[float] = None) -> bytes:
        program = "dot" if self.layout is None else "neato"
        exe = shutil.which(program)
        if exe is None:
            raise GraphvizNotFound(INSTALL_HINT)
        # our own layout: neato -n2 draws every node and edge where it is pinned
        args = [exe, f"-T{fmt}"] + ([] if self.layout is None else ["-n2"]) + \
            ([] if dpi is None else [f"-Gdpi={dpi:g}"]) + \
            (["-Gmargin=0"] if fmt == "pdf" else [])  # PDF pages get a 0.5 in margin otherwise
        # one budget for the drawing: Graphviz gets what the layout left of it
        timeout = max(RENDER_TIMEOUT - self.layout_seconds, 1e-3)
        try:
            proc = subprocess.run(args, input=self.source.encode("utf-8"),
                                  capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise GraphTooLarge(
                too_slow(f"{program} -T{fmt}", len(self.graph.nodes), self.detail, self.graph.order)
                + "; or save the DOT source (.dot) and run Graphviz on it yourself") from None
        if proc.returncode != 0:
            raise RuntimeError(f"{program} -T{fmt} failed: "
                               f"{proc.stderr.decode(errors='replace')[:500]}")
        return proc.stdout

    def svg(self) -> str:
        """The SVG text (runs `dot`; raises :class:`GraphvizNotFound` without it)."""
        if self._svg is None:
            text = self._run_dot("svg").decode("utf-8")
            for pango in (S.ROMAN, S.MATH, S.MONO):
                text = text.replace(f'font-family="{pango}"',
                                    f'font-family="{S.css_font_family(pango)}"')
            self._svg = _explicit_subscripts(text)
        return self._svg

    def png(self, dpi: float = DEFAULT_PNG_DPI) -> bytes:
        """PNG bytes at ``dpi`` (default 150, sharp on a slide), rendered by Graphviz
        (cairo/Pango) from the same DOT source and layout as :meth:`svg`."""
        if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not 0 < dpi <= 1200:
            raise ValueError(f"png(dpi): expected a number in (0, 1200], got {dpi!r}")
        return self._run_dot("png", dpi)

    def pdf(self) -> bytes:
        """PDF bytes (vector, page size = the drawing's size in points), from the same DOT
        source and layout as :meth:`svg`."""
        return self._run_dot("pdf")

    def save(self, path: Union[str, Path], format: Optional[str] = None, *,
             dpi: float = DEFAULT_PNG_DPI) -> Path:
        """Write the drawing to ``path``: ``.svg``, ``.png`` (at ``dpi``), ``.pdf``, or
        ``.dot``/``.gv`` (the DOT text), by the suffix or by ``format``. Returns the path."""
        path = Path(path)
        fmt = (format or path.suffix.lstrip(".")).lower()
        if fmt not in FORMATS:
            raise ValueError(f"save({str(path)!r}): unknown {'format' if format else 'suffix'} "
                             f"{format or path.suffix!r}; use one of {', '.join('.' + f for f in FORMATS)}")
        if fmt in ("dot", "gv"):
            path.write_text(self.source, encoding="utf-8")
        elif fmt == "svg":
            path.write_text(self.svg(), encoding="utf-8")
        else:
            path.write_bytes(self.png(dpi) if fmt == "png" else self.pdf())
        return path

    def render(self, filename: Union[str, Path] = "drawing", directory: Union[str, Path, None] = None,
               format: str = "svg", *, cleanup: bool = False, outfile: Union[str, Path, None] = None,
               dpi: float = DEFAULT_PNG_DPI) -> str:
        """As ``graphviz.Digraph.render`` (and torchviz's ``make_dot(...).render``): write the
        DOT text to ``filename`` (in ``directory``) and the picture to ``filename.<format>``
        (or to ``outfile``, whose suffix then sets the format); ``cleanup=True`` deletes the
        DOT file afterwards. Returns the picture's path as a string."""
        if outfile is not None:
            target = Path(outfile)
            fmt = target.suffix.lstrip(".").lower() or format
            source = Path(filename) if filename != "drawing" else target.with_suffix(".gv")
        else:
            fmt = format.lower()
            source = Path(filename)
            target = source.with_name(f"{source.name}.{fmt}")
        if directory is not None:
            source, target = Path(directory) / source, Path(directory) / target
        if fmt in ("dot", "gv"):
            raise ValueError(f"render(format={fmt!r}): the DOT text is what render writes to filename; "
                             "choose a picture format: svg, png or pdf")
        for folder in {source.parent, target.parent}:
            folder.mkdir(parents=True, exist_ok=True)
        self.save(target, fmt, dpi=dpi)
        if cleanup:
            source.unlink(missing_ok=True)
        else:
            self.save(source, "dot")
        return str(target)

    def _repr_svg_(self) -> Optional[str]:
        """Inline display in Jupyter (scaled to the output's width); without `dot`, None lets
        Jupyter show ``repr``."""
        try:
            return _inline_svg(self.svg())
        except GraphvizNotFound:
            return None

    def _repr_html_(self) -> Optional[str]:
        """The same SVG inline in HTML (nbconvert, JupyterLab), scaled to the output's width."""
        svg = self._repr_svg_()
        if svg is None:
            return None
        body = svg[svg.index("<svg"):] if "<svg" in svg else svg  # drop the XML prolog inside HTML
        return f'<div class="backproplab-drawing" style="max-width:100%;overflow-x:auto">{body}</div>'

    def __repr__(self) -> str:
        text = f"<Drawing: {len(self.graph.nodes)} nodes, {len(self.graph.edges)} edges>"
        return text if shutil.which("dot") else f"{text} ({INSTALL_HINT})"


def _grad_of(v: Value, grads: Optional[Mapping[int, float]]) -> float:
    """∂l/∂v as the caller has it (a stepper's position: ``grads`` by id), else ``v.grad``."""
    return v.grad if grads is None else grads.get(id(v), v.grad)


def _value_label(node: DNode, view: str, known: Optional[set[int]], numbers: str,
                 grads: Optional[Mapping[int, float]] = None) -> str:
    """Name on the first line; the value (black) and ∂l/∂node (red) below it, as
    ``numbers`` asks ("none" is the slides' own look: no numbers at all)."""
    v = node.scalar
    show_value = numbers in ("values", "both") and node.role != "const"
    show_grad = (numbers in ("grads", "both") and view == "backward" and bool(node.members)
                 and node.role != "const")
    lines_below = (show_value and (bool(node.note) or v is not None)) + show_grad
    size = {0: 28, 1: 26}.get(lines_below, 24)   # subscripts (0.65 size) stay above NUMBER_SIZE
    if node.role == "const":
        size = 22                                   # a number as a name: upright, smaller
    lines = [name_html(shorten(node.name), node.style, size)]
    if node.note and show_value:              # shapes ([3], 3×2) count as numbers
        lines.append(_font(S.ROMAN, NUMBER_SIZE, html.escape(node.note)))
    elif show_value and v is not None:
        lines.append(_font(S.ROMAN, NUMBER_SIZE, html.escape(format_number(v.data))))
    if show_grad:
        if known is None or all(id(m) in known for m in node.members):
            if v is not None:
                lines.append(_font(S.ROMAN, NUMBER_SIZE, html.escape(format_number(_grad_of(v, grads))),
                                   S.BACKWARD))
            else:   # a vector or matrix: the norm of its gradient, as the step-through page shows it
                norm = math.sqrt(math.fsum(_grad_of(m, grads) ** 2 for m in node.members))
                text = "‖·‖ " + format_number(norm)
                # the third line is the circle's narrowest: about 60 px wide, 0.46 em a character
                norm_size = round(min(NUMBER_SIZE, 60 / (0.46 * len(text))), 1)
                lines.append(_font(S.ROMAN, norm_size, html.escape(text), S.BACKWARD))
        else:
            lines.append(_font(S.ROMAN, NUMBER_SIZE, "?", S.UNKNOWN))
    return "<" + "<BR/>".join(lines) + ">"


def _classes(node: DNode, view: str, known: Optional[set[int]]) -> str:
    cls = [node.kind] if node.kind == node.role else [node.kind, node.role]
    if view == "backward" and node.kind != "op":
        if known is None or all(id(m) in known for m in node.members):
            cls.append("grad-known")
        else:
            cls.append("grad-unknown")
    return " ".join(cls)


def _tooltip(node: DNode, view: str, root_name: str, grads: Optional[Mapping[int, float]] = None) -> str:
    v = node.scalar
    if node.kind == "op" or v is None:
        return node.name
    name = v.label or node.name
    text = f"{name} = {v.data!r}"
    if view == "backward":
        text += f"; ∂{root_name}/∂{name} = {_grad_of(v, grads)!r}"
    return text


def to_digraph(g: DGraph, view: str, *, known: Optional[set[int]] = None,
               highlight_nodes: Iterable[str] = (), highlight_edges: Iterable[str] = (),
               edge_labels: Optional[Mapping[str, str]] = None, root_name: str = "l",
               name: str = "backproplab", numbers: str = "both",
               layout: Optional[Layout] = None,
               grads: Optional[Mapping[int, float]] = None) -> graphviz.Digraph:
    """DOT for a drawn graph (see :func:`draw` for the arguments).

    With ``layout`` (the slides' layout, :mod:`viz.layout`) every node and edge gets a
    pinned ``pos`` for ``neato -n2``; without it ``dot`` lays the graph out."""
    hl_nodes, hl_edges = set(highlight_nodes), set(highlight_edges)
    edge_labels = dict(edge_labels or {})
    dot = graphviz.Digraph(name)
    if layout is None:
        dot.attr(rankdir="LR", splines="line", bgcolor=S.WHITE, nodesep="0.45",
                 ranksep="0.45", pad="0.2", outputorder="edgesfirst")
    else:
        dot.attr(bgcolor=S.WHITE, pad="0.2", outputorder="edgesfirst", splines="true",
                 bb=f"0,0,{layout.width:.2f},{layout.height:.2f}")
    dot.attr("node", fixedsize="true", width=str(S.NODE_SIZE), height=str(S.NODE_SIZE),
             penwidth=str(S.PENWIDTH), style="filled", fontcolor=S.BLACK)
    dot.attr("edge", penwidth=str(S.PENWIDTH), arrowsize=str(S.ARROWSIZE), arrowhead="normal",
             color=S.BLACK)
    anchored: dict[str, list[str]] = {}
    for node in g.nodes:
        if node.kind == "op":
            attrs = dict(shape="square", fillcolor=S.OP_FILL, color=S.OP_STROKE,
                         label="<" + op_html(node.name, node.note) + ">")
        else:
            fill, stroke = ((S.PARAM_FILL, S.PARAM_STROKE) if node.kind == "param"
                            else (S.WHITE, S.BLACK))
            attrs = dict(shape="circle", fillcolor=fill, color=stroke,
                         label=_value_label(node, view, known, numbers, grads))
            if node.anchor:
                anchored.setdefault(node.anchor, []).append(node.id)
        if node.id in hl_nodes:
            attrs.update(color=S.HIGHLIGHT, penwidth="6")
        if layout is not None:
            x, y = layout.pos[node.id]
            attrs["pos"] = f"{x:.2f},{layout.height - y:.2f}!"
        dot.node(node.id, id=node.id, tooltip=graphviz.escape(_tooltip(node, view, root_name, grads)),
                 **{"class": _classes(node, view, known)}, **attrs)
    reversed_edges = _rank_leaves_with_dot(dot, g, anchored) if layout is None else set()
    for e in g.edges:
        flip = (e.tail, e.head) in reversed_edges
        tail, head = (e.head, e.tail) if flip else (e.tail, e.head)
        attrs = {"class": "forward"}
        if flip:
            attrs["dir"] = "back"
        if layout is not None:
            attrs["pos"] = _spline(layout.routes[e.id], layout.height, arrow_at_end=True)
        if e.id in hl_edges:
            attrs.update(color=S.HIGHLIGHT, penwidth="5")
        if e.id in edge_labels:
            attrs["label"] = "<" + _font(S.ROMAN, 10, html.escape(str(edge_labels[e.id]))) + ">"
            if layout is not None:
                attrs["lp"] = _label_pos(layout.routes[e.id], layout.height, 14)
        dot.edge(tail, head, id=e.id, **attrs)
        if view == "backward" and e.on_path:
            back = e.id + "_back"
            battrs = {"class": "backward", "color": S.BACKWARD,
                      "dir": "forward" if flip else "back", "constraint": "false"}
            if layout is not None:
                battrs["pos"] = _spline(layout.twins[e.id], layout.height, arrow_at_end=False)
            if back in hl_edges:
                battrs["penwidth"] = "5"
            if back in edge_labels:
                battrs["label"] = "<" + _font(S.ROMAN, 10, html.escape(str(edge_labels[back])),
                                              S.BACKWARD) + ">"
                if layout is not None:
                    battrs["lp"] = _label_pos(layout.twins[e.id], layout.height, -14)
            dot.edge(tail, head, id=back, **battrs)
    return dot


ARROW_LENGTH = 10 * S.ARROWSIZE      # Graphviz: 10 pt per unit of arrowsize
ARROW_GAP = 1.5                      # the tip stops at the outer edge of a 3 px outline


def _spline(points: list[tuple[float, float]], height: float, arrow_at_end: bool) -> str:
    """A polyline as Graphviz's edge ``pos``: straight cubic pieces, the arrowhead's
    tip as ``e,`` (at the head) or ``s,`` (at the tail, for a red twin)."""
    pts = [tuple(p) for p in points]
    if arrow_at_end:
        (ax, ay), (bx, by) = pts[-2], pts[-1]
    else:
        (ax, ay), (bx, by) = pts[1], pts[0]
    length = math.hypot(bx - ax, by - ay) or 1.0
    ux, uy = (bx - ax) / length, (by - ay) / length
    tip = (bx - ux * ARROW_GAP, by - uy * ARROW_GAP)
    base = (tip[0] - ux * ARROW_LENGTH, tip[1] - uy * ARROW_LENGTH)
    if arrow_at_end:
        pts[-1] = base
    else:
        pts[0] = base
    cubic = [pts[0]]
    for a, b in zip(pts, pts[1:]):
        cubic += [(a[0] + (b[0] - a[0]) / 3, a[1] + (b[1] - a[1]) / 3),
                  (a[0] + 2 * (b[0] - a[0]) / 3, a[1] + 2 * (b[1] - a[1]) / 3), b]
    flip = lambda p: f"{p[0]:.2f},{height - p[1]:.2f}"  # noqa: E731  (Graphviz: y up)
    head = ("e," if arrow_at_end else "s,") + flip(tip)
    return head + " " + " ".join(flip(p) for p in cubic)


def _label_pos(points: list[tuple[float, float]], height: float, dy: float) -> str:
    """Where an edge label goes: above (dy > 0) or below the middle of its longest segment;
    beside it, clear of the edge, its red twin and their arrowheads, when that is vertical."""
    a, b = max(zip(points, points[1:]), key=lambda ab: math.dist(*ab))
    if abs(a[0] - b[0]) < 1.0:
        return f"{a[0] + 2.2 * abs(dy) + 6:.2f},{height - (a[1] + b[1]) / 2:.2f}"
    return f"{(a[0] + b[0]) / 2:.2f},{height - (a[1] + b[1]) / 2 + dy:.2f}"


def _rank_leaves_with_dot(dot: graphviz.Digraph, g: DGraph,
                          anchored: dict[str, list[str]]) -> set[tuple[str, str]]:
    """``layout="dot"``: a parameter above its op by a ``rank=same`` subgraph.

    A square that reads nothing but an anchored leaf (the ‖W₁‖₂ of a penalty) goes in
    the same column, above the leaf, as in backprop.png: Graphviz puts the tail of a
    flat edge first (on top), so that edge is written reversed, with dir=back.
    Returns the edges to write reversed."""
    indegree: dict[str, int] = {}
    for e in g.edges:
        indegree[e.head] = indegree.get(e.head, 0) + 1
    kinds = {n.id: n.kind for n in g.nodes}
    leaf_of = {leaf: op_id for op_id, leaves in anchored.items() for leaf in leaves}
    over: dict[str, str] = {}
    for e in g.edges:
        if (e.tail in leaf_of and e.tail not in over and e.head != leaf_of[e.tail]
                and kinds[e.head] == "op" and indegree[e.head] == 1 and e.head not in anchored):
            over[e.tail] = e.head
    for op_id, leaves in anchored.items():
        with dot.subgraph() as s:
            s.attr(rank="same")
            for leaf in leaves:
                if leaf in over:
                    s.node(over[leaf])
                s.node(leaf)
            s.node(op_id)
    return {(leaf, square) for leaf, square in over.items()}


def _resolve_nodes(items: Iterable[Union[str, Value]], g: DGraph) -> set[str]:
    out: set[str] = set()
    for item in items:
        if isinstance(item, Value):
            if id(item) not in g.where:
                raise ValueError(f"highlight_nodes: {autodiff.describe(item)} is not in the drawn graph")
            out.add(g.where[id(item)])
        else:
            out.add(str(item))
    return out


def _resolve_edges(items: Iterable, order: list[Value]) -> set[str]:
    index = None
    out: set[str] = set()
    for item in items:
        if isinstance(item, tuple):
            if index is None:
                index = {id(v): i for i, v in enumerate(order)}
            a, v, k = item
            for end in (a, v):
                if not isinstance(end, Value) or id(end) not in index:
                    what = autodiff.describe(end) if isinstance(end, Value) else repr(end)
                    raise ValueError(f"highlight_edges: {what} in the edge {item!r} is not in the drawn graph")
            out.add(f"e{index[id(a)]}_{index[id(v)]}_{k}")
        else:
            out.add(str(item))
    return out


def draw(root: Union[Value, Sequence[Value]], view: str = "forward", wrt: Union[None, Value, Iterable[Value]] = None,
         detail: str = "scalar", highlight_nodes: Iterable[Union[str, Value]] = (),
         highlight_edges: Iterable = (), edge_labels: Optional[Mapping[str, str]] = None,
         grads_known: Optional[Iterable[Value]] = None,
         max_nodes: int = DEFAULT_MAX_NODES, expand_dot: bool = False,
         above: Iterable[Value] = (), numbers: Optional[str] = None,
         layout: str = "slides", grads: Optional[Mapping[int, float]] = None,
         result_circles: bool = True) -> Drawing:
    """Draw ``root``'s graph in the slides' style.

    root: the Value to draw, or a list of them (forward view only): several outputs drawn
        together, a layer's outputs labelled ``h.0``, ``h.1``, … as one vector circle h
        at ``detail="layer"`` (``layer.png``).

    view: "forward" (names and values) or "backward" (plus gradients in red and red
        twin arrows on the edges on a path from ``root`` to ``wrt``).
    wrt: the node(s) whose paths from the loss are traced (default: all parameters).
    detail: "scalar" (every node), "neuron" (one node per ``group[:2]``, as set by nn),
        "layer" (one stage per layer, as the slides draw an MLP: matmul(W) → σ(·) …).
    highlight_nodes: Values or drawn ids ("n3", "op3"); highlight_edges: ids
        ("e1_3_0", "r3", "e1_3_0_back") or (input, node, operand index) tuples.
    edge_labels: {edge id: text}; the ``_back`` id labels the red twin.
    grads_known: the nodes whose gradient is already computed; the others show "?" in
        grey (a gradient equal to 0 shows "0" in red). Default: all known.
    grads: the gradients to show, by ``id(node)`` (a stepper's position); default ``.grad``.
    max_nodes: refuse (GraphTooLarge, before any layout) a drawing with more nodes.
    expand_dot: draw each ``dot`` node as × squares into one ``add`` (perceptron figure).
    above: with ``layout="dot"``, more leaves to draw above the op that reads them
        (parameters and constants always are), e.g. the λ of a penalty λ·(…).
    numbers: "none" (the slides' exact look: no numbers), "values", "grads" or "both";
        default "values" for the forward view, "both" for the backward view.
    layout: "slides" (our own layout, :mod:`viz.layout`: the slides' geometry, pinned
        and rendered by ``neato -n2``) or "dot" (Graphviz decides).
    result_circles: True (every op's result its own circle, as ``backprop.png``); False
        draws as ``perceptron.png`` and ``layer.png``: op → op, without the circles of
        unnamed intermediate results, a function by its name alone (σ, not σ(·));
        :meth:`Drawing.node_id` of a result without a circle is its op's square.
    """
    if view not in ("forward", "backward"):
        raise ValueError(f"view must be 'forward' or 'backward', got {view!r}")
    if detail not in LEVELS:
        raise ValueError(f"detail must be one of {LEVELS}, got {detail!r}")
    roots: list[Value] = []
    if isinstance(root, (list, tuple)):
        roots = list(root)
        bad = next((r for r in roots if not isinstance(r, Value)), None)
        if not roots or bad is not None:
            raise TypeError("draw(root): a list of roots must hold Values, got "
                            + (type(bad).__name__ if roots else "an empty list"))
        if view != "forward" and len(roots) > 1:
            raise ValueError(f"draw(root): several roots are drawn in the forward view only, got view={view!r}; "
                             "the backward view needs one loss")
        root = roots[0] if len(roots) == 1 else autodiff.sum(roots)   # joins them; not drawn
        roots = roots if len(roots) > 1 else []
    if not isinstance(root, Value):
        raise TypeError(f"draw(root) needs a Value or a list of Values, got {type(root).__name__}")
    if numbers is None:
        numbers = "values" if view == "forward" else "both"
    if numbers not in NUMBERS:
        raise ValueError(f"numbers must be one of {NUMBERS}, got {numbers!r}")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    max_nodes = int_at_least(max_nodes, "draw(max_nodes) (the most nodes to lay out)", 1)
    order = autodiff.topological_order(root)
    # refuse at once, before any layout: the scalar count is exact; at the coarse
    # levels every ungrouped op and every block still draws a square and a circle
    _check_size(drawn_estimate(order, detail), max_nodes, detail, order)
    dep = depends_on(order, wrt) if view == "backward" else set()
    if detail == "scalar":
        if expand_dot:
            from .collapse import expanded_graph
            g = expanded_graph(root, order, dep)
        else:
            g = scalar_graph(root, order, dep)
    else:
        from .collapse import collapsed_graph
        g = collapsed_graph(root, order, dep, detail)
    _check_size(len(g.nodes), max_nodes, detail, order)
    if not isinstance(result_circles, bool):
        raise TypeError(f"draw(result_circles) must be True or False, got {result_circles!r}")
    keep = {g.where[id(root)]}
    if roots:
        keep = drop_joint(g, root, roots)
    if not result_circles:
        join_ops(g, keep)
    choose_anchors(g, above)
    known = None if grads_known is None else {id(v) for v in grads_known}
    started = time.monotonic()
    placed = None
    if layout == "slides":
        try:
            placed = slide_layout(g, deadline=started + RENDER_TIMEOUT)
        except GraphTooLarge:
            raise GraphTooLarge(too_slow("laying out", len(g.nodes), detail, order)) from None
    layout_seconds = time.monotonic() - started
    root_name = display_names(root)[root] if len(order) <= 100_000 else "l"
    digraph = to_digraph(g, view, known=known,
                         highlight_nodes=_resolve_nodes(highlight_nodes, g),
                         highlight_edges=_resolve_edges(highlight_edges, order),
                         edge_labels=edge_labels, root_name=root_name, numbers=numbers,
                         layout=placed, grads=grads)
    return Drawing(digraph, g, placed, layout_seconds, detail)


def drop_joint(g: DGraph, joint: Value, roots: list[Value]) -> set[str]:
    """Several roots: remove the square and circle of ``joint`` (the sum that joined them
    for the traversal), make the circles of ``roots`` outputs, and name a circle of
    several entries labelled ``h.0``, ``h.1``, … ``h`` (bold: a vector). Returns the
    roots' circles."""
    gone = {g.where.pop(id(joint))} | {n.id for n in g.nodes if n.kind == "op"
                                       and any(m is joint for m in n.members)}
    g.nodes = [n for n in g.nodes if n.id not in gone]
    g.edges = [e for e in g.edges if e.tail not in gone and e.head not in gone]
    outputs = {g.where[id(r)] for r in roots}
    for n in g.nodes:
        if n.id not in outputs:
            continue
        n.role = "output"
        bases = {re.sub(r"[._]?\d+$", "", m.label) for m in n.members if m.label}
        if len(n.members) > 1 and len(bases) == 1 and all(m.label for m in n.members):
            n.name, n.style = bases.pop(), "bold"
    return outputs


def join_ops(g: DGraph, keep: set[str]) -> None:
    """``result_circles=False``: remove the circle of every unnamed intermediate result
    (an op's output that is not in ``keep``, the roots' circles, and has no user label); each
    edge that left it now leaves its op. Ops are named without their argument (σ(·) → σ)."""
    kinds = {n.id: n.kind for n in g.nodes}
    drop: dict[str, str] = {}                      # result circle -> the op that made it
    for n in g.nodes:
        into = [e for e in g.edges if e.head == n.id]
        if (n.kind == "value" and n.role == "result" and n.id not in keep and len(into) == 1
                and kinds[into[0].tail] == "op" and not any(m.label for m in n.members)):
            drop[n.id] = into[0].tail
    edges = []
    for e in g.edges:
        if e.head in drop:
            continue
        if e.tail in drop:
            e = DEdge(e.id, drop[e.tail], e.head, e.on_path, e.members)
        edges.append(e)
    g.edges = edges
    g.nodes = [n for n in g.nodes if n.id not in drop]
    for n in g.nodes:
        if n.kind == "op" and n.name.endswith("(·)"):
            n.name = n.name[: -len("(·)")]
    for key, nid in g.where.items():
        if nid in drop:
            g.where[key] = drop[nid]


def collapsed_view(root: Value, order: list[Value], detail: str, wrt: Iterable[Value],
                   max_nodes: int = DEFAULT_MAX_NODES, dep: Optional[Collection] = None,
                   trace: Optional[autodiff.Trace] = None) -> DGraph:
    """The graph :func:`draw` lays out at ``detail="neuron"``/``"layer"`` (backward view, red
    twins towards ``wrt``), without the layout: what the stepper's grouped steps follow.
    Refuses, as :func:`draw` does, a graph with more than ``max_nodes`` drawn nodes.
    ``dep``, ``trace``: the nodes depending on ``wrt`` (ids, or a mask by position) and a
    Trace of ``root`` over ``order``, where the caller has them (:func:`viz.collapse.collapsed_graph`)."""
    from .collapse import collapsed_graph
    g = collapsed_graph(root, order, depends_on(order, list(wrt)) if dep is None else dep, detail, trace)
    _check_size(len(g.nodes), max_nodes, detail, order)
    return g


def drawn_estimate(order: list[Value], detail: str) -> int:
    """Circles and squares ``detail`` draws: exact at the scalar level; at the coarse
    levels every ungrouped op and every block still draws a square and a circle."""
    if detail == "scalar":
        return count_scalar_nodes(order)
    from .collapse import _block_key
    blocks = {_block_key(v, detail) for v in order if not v.is_leaf and v.group}
    ungrouped = sum(1 for v in order if not v.is_leaf and not v.group)
    return 2 * (ungrouped + len(blocks))


def _coarser_that_fits(order: list[Value], detail: str, limit: float) -> Optional[tuple[str, int]]:
    """The first level coarser than ``detail`` that draws fewer than ``limit`` nodes
    (and its count), or None."""
    level = _COARSER.get(detail)
    while level is not None:
        n = drawn_estimate(order, level)
        if n <= limit:
            return level, n
        level = _COARSER.get(level)
    return None


def too_slow(stage: str, count: int, detail: str, order: list[Value]) -> str:
    """The message of a drawing that ran out of :data:`RENDER_TIMEOUT`."""
    better = _coarser_that_fits(order, detail, count / 2) if order else None
    hint = (f"draw with the coarser detail={better[0]!r} (about {better[1]} nodes)" if better
            else "no coarser detail level draws far fewer nodes: draw a smaller part of the "
                 "graph (a sub-expression)")
    return (f"{stage} {count} drawn nodes (detail={detail!r}) did not finish within "
            f"{RENDER_TIMEOUT:g} s for the whole drawing; {hint}")


def _check_size(count: int, max_nodes: int, detail: str, order: list[Value]) -> None:
    if count <= max_nodes:
        return
    better = _coarser_that_fits(order, detail, max_nodes)
    if better is not None:
        hint = f"draw it with detail={better[0]!r} (about {better[1]} nodes)"
    elif _COARSER.get(detail) and not any(v.group for v in order):
        hint = ("no node has a .group (nn sets them), so a coarser level would not help: "
                "draw a smaller part of the graph (a sub-expression)")
    else:
        hint = ("no coarser level draws few enough nodes: draw a smaller part of the graph "
                "(a sub-expression)")
    raise GraphTooLarge(
        f"the graph has {count} nodes to draw at detail={detail!r}, more than "
        f"max_nodes={max_nodes}; {hint}, or raise max_nodes.")
