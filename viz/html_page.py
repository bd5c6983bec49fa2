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
(≥ 7 px), otherwise at the smallest readable zoom centred on the loss; the wheel
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

from pathlib import Path
from typing import Iterable, Optional, Union

from autodiff import Value

from .step_page import iframe, page, page_data
from .stepper import Stepper

__all__ = ["html_page", "write_html", "page_data", "notebook_html"]


def _stepper(loss_or_stepper: Union[Value, Stepper], detail: str, wrt, constants: bool,
             max_nodes: Optional[int]) -> Stepper:
    if isinstance(loss_or_stepper, Stepper):
        return loss_or_stepper
    return Stepper(loss_or_stepper, detail=detail, wrt=wrt, constants=constants, max_nodes=max_nodes)


def html_page(loss_or_stepper: Union[Value, Stepper], title: Optional[str] = None, *,
              detail: str = "scalar", wrt: Union[None, Value, Iterable[Value]] = None,
              constants: bool = False, **draw_options) -> str:
    """The page's HTML text. Given a Value, a :class:`Stepper` is built for it
    (``detail``, ``wrt`` and ``constants`` go to it); a given Stepper is used as it is
    and its position does not change (the page opens there). Neither touches any
    ``.grad``. ``draw_options`` go to :func:`viz.render.draw` (e.g. ``max_nodes``)."""
    stepper = _stepper(loss_or_stepper, detail, wrt, constants, draw_options.get("max_nodes"))
    return page(stepper, title, **draw_options)


def notebook_html(loss_or_stepper: Union[Value, Stepper], height: int = 720, **options) -> str:
    """The page for Jupyter: :func:`html_page` in an ``<iframe srcdoc=…>``
    (:func:`viz.step_page.iframe`)."""
    return iframe(html_page(loss_or_stepper, **options), height)


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
