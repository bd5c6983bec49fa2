"""backproplab's renderer and debugger views: graphs drawn as the lecture slides draw them.

``viz.draw(root, view="forward"|"backward", wrt=..., detail="scalar"|"neuron"|"layer")``
returns a :class:`viz.render.Drawing` (``.digraph``, ``.source``, ``.svg()``, ``.save()``).
``viz.display_names(root)`` gives the names the drawing uses (labels, then u₁, u₂, …).
"""

from .naming import display_names
from .render import Drawing, GraphTooLarge, GraphvizNotFound, draw

__all__ = ["draw", "Drawing", "display_names", "GraphTooLarge", "GraphvizNotFound"]
