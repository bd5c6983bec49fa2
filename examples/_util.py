"""Shared plumbing for the example scripts: import path, command line, output directory, figures.

Every example is a script with ``main(argv=None) -> dict``. Run from a checkout without installing
(``python3 examples/xor.py``): importing this module puts the repository root on ``sys.path`` so
``autodiff`` and ``nn`` import. Common options: ``--out DIR`` (default ``./out/<example>``),
``--quick`` (small sizes, for the smoke tests), ``--no-figures``, ``--format png|svg|pdf``
(given, every file an example writes is in that format and nothing else is written; left out,
figures are PNG and the graph examples write their usual SVG/PNG/HTML set).

Figures are drawn with matplotlib's object API (:func:`new_figure`, :func:`save_figure`; no
pyplot, so no global state and no display needed), with mathtext labels such as ``$\\eta$``,
sized and saved for a slide (:data:`DPI` = 150 dots per inch, nothing clipped). Without
matplotlib an example prints its report and one line saying the figures were skipped.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    try:
        import autodiff  # noqa: F401
    except ImportError:
        sys.path.insert(0, str(ROOT))


def parse_args(name: str, doc: str, argv: Optional[Sequence[str]],
               extra: Optional[Callable[[argparse.ArgumentParser], None]] = None,
               figures: bool = True, matplotlib: bool = True) -> argparse.Namespace:
    """Parse the common options plus any an example adds through ``extra(parser)``.

    Sets ``args.out`` to a created directory unless ``--no-figures`` was given or the example
    writes no figures by default (``figures=False``); then ``args.out`` is ``None`` (and
    ``args.out_dir`` keeps the requested path). ``matplotlib=False``: the example writes other
    files (graphs, pages), so matplotlib is not required.
    """
    installed = __name__.startswith("backproplab.")  # imported by `backproplab examples run`
    prog = f"backproplab examples run {name}" if installed else f"examples/{name}.py"
    parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out") / name,
                        help=f"directory for figures (default: ./out/{name})")
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke tests)")
    parser.add_argument("--no-figures", action="store_true", help="write no files")
    parser.add_argument("--format", choices=FORMATS, default=None,
                        help="write every file in this format only (default: PNG figures; the graph "
                             "examples write SVG and PNG, the demo also its HTML page)")
    if extra is not None:
        extra(parser)
    args = parser.parse_args(list(argv) if argv is not None else None)
    args.out_dir = args.out
    args.format_given = args.format is not None
    if args.format is None:
        args.format = "png"
    args.figures_skipped = False
    if args.no_figures or not figures:
        args.out = None
    elif matplotlib and not has_matplotlib():
        print(f"figures skipped: {PLOTS_HINT}")
        args.out, args.figures_skipped = None, True
    else:
        args.out.mkdir(parents=True, exist_ok=True)
    return args


FORMATS = ("png", "svg", "pdf")
DPI = 150  # a figure 9 in wide is 1350 px: sharp on a projected slide
PLOTS_HINT = "matplotlib is not installed (pip install 'backproplab[plots]' to draw them)"


def has_matplotlib() -> bool:
    """Whether matplotlib can be imported (examples print their reports without it)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _matplotlib():
    try:
        import matplotlib
    except ImportError:
        raise SystemExit(f"figures need matplotlib: {PLOTS_HINT}") from None
    return matplotlib


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 4.6, height: float = 3.4, title: str = ""):
    """A matplotlib ``Figure`` with a grid of Axes (returned flat, row by row), constrained layout."""
    _matplotlib()
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width * ncols, height * nrows + (0.4 if title else 0)), layout="constrained")
    axes = list(fig.subplots(nrows, ncols, squeeze=False).ravel())
    if title:
        fig.suptitle(title, fontsize=13)
    for ax in axes:
        ax.grid(True, alpha=0.25)
    return fig, axes


def save_figure(fig, args: argparse.Namespace, stem: str, dpi: int = DPI) -> str:
    """Write ``fig`` as ``<args.out>/<stem>.<args.format>`` at ``dpi`` (150: fit for a slide),
    print and return the path. ``bbox_inches="tight"`` keeps every title and label inside."""
    path = args.out / f"{stem}.{args.format}"
    fig.savefig(path, dpi=dpi, bbox_inches="tight", pad_inches=0.08, facecolor="white")
    print(f"wrote {path}")
    return str(path)


def save_drawing(drawing, path: Path) -> Optional[Path]:
    """Save a :class:`viz.Drawing` to ``path`` (format by suffix); without Graphviz print a
    note saying what is missing and return ``None``."""
    from viz.render import GraphvizNotFound
    try:
        written = drawing.save(path)
    except GraphvizNotFound as exc:
        print(f"note: {path.name} not drawn: {exc}")
        return None
    print(f"wrote {written}")
    return written


def probability_panel(ax, P, extent: tuple, points=(), classes=(), title: str = ""):
    """Class-1 probabilities ``P`` (row 0 = top, covering ``extent`` = (xmin, xmax, ymin, ymax))
    in blue (0) to red (1), the decision boundary P = 0.5 in black, and scatter ``points``
    (an (n, 2) array) coloured by ``classes`` (0/1). Returns the image (for a colour bar)."""
    import numpy as np
    image = ax.imshow(P, extent=extent, origin="upper", cmap="RdBu_r", vmin=0.0, vmax=1.0, alpha=0.55,
              interpolation="bilinear", aspect="auto")
    n, m = np.shape(P)
    xs = np.linspace(extent[0], extent[1], m)
    ys = np.linspace(extent[3], extent[2], n)
    if np.nanmin(P) < 0.5 < np.nanmax(P):
        ax.contour(xs, ys, P, levels=[0.5], colors="black", linewidths=1.2)
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    if len(points):
        c = np.asarray(classes, dtype=float)
        ax.scatter(points[:, 0], points[:, 1], c=c, cmap="RdBu_r", vmin=-0.2, vmax=1.2,
                   s=36 if len(points) < 50 else 14, edgecolors="black", linewidths=0.6)
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.grid(False)
    if title:
        ax.set_title(title, fontsize=10)
    return image


def class_legend_handles():
    """Legend handles for the two classes as :func:`probability_panel` draws the points, and
    the decision boundary."""
    from matplotlib import colormaps
    from matplotlib.lines import Line2D
    cmap = colormaps["RdBu_r"]
    dot = dict(marker="o", linestyle="none", markeredgecolor="black", markeredgewidth=0.6, markersize=7)
    return [Line2D([], [], markerfacecolor=cmap(0.2 / 1.4), label="class 0", **dot),
            Line2D([], [], markerfacecolor=cmap(1.2 / 1.4), label="class 1", **dot),
            Line2D([], [], color="black", linewidth=1.2, label="decision boundary $P = 0.5$")]


def plain_log_ticks(axis) -> None:
    """Label a log axis at 1, 2, 5 × 10^k with plain numbers (0.2, not 2 × 10⁻¹), so a range of
    less than a decade is labelled too."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def probability_colorbar(fig, image, axes) -> None:
    """A colour bar for :func:`probability_panel`'s shading, labelled P(class 1)."""
    bar = fig.colorbar(image, ax=axes, shrink=0.8, pad=0.02)
    bar.set_label(r"$P(\mathrm{class}\ 1)$")
    bar.solids.set_alpha(0.55)


def table(rows: Sequence[Sequence[object]], header: Sequence[str], floatfmt: str = ".6f") -> str:
    """A plain aligned text table: numbers right-aligned, text left-aligned."""
    def cell(v: object) -> str:
        if isinstance(v, float):
            return format(v, floatfmt)
        return str(v)

    cells = [[cell(v) for v in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    numeric = [all(isinstance(r[i], (int, float)) and not isinstance(r[i], bool) for r in rows)
               for i in range(len(header))]

    def line(vals: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(vals, widths, numeric)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in cells])
