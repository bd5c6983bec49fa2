"""backproplab's renderer and debugger views: graphs drawn as the lecture slides draw them.

``viz.draw(root, view="forward"|"backward", wrt=..., detail="scalar"|"neuron"|"layer")``
returns a :class:`viz.render.Drawing` (``.save()`` to .svg/.png/.pdf, ``.render()``, ``.svg()``,
``.source``, ``.digraph``).
``viz.display_names(root)`` gives the names the drawing uses (labels, then u₁, u₂, …).
``viz.draw_dot`` is the same function, for micrograd's habit (``draw_dot(loss)``); in Jupyter
a Drawing displays itself inline as SVG, scaled to the notebook's width.
"""

from .naming import display_names
from .render import Drawing, GraphTooLarge, GraphvizNotFound, draw

draw_dot = draw  # micrograd's name for it

__all__ = ["draw", "draw_dot", "Drawing", "display_names", "GraphTooLarge", "GraphvizNotFound"]
