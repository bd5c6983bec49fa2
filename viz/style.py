"""The lecture slides' visual language as constants (../docs/SLIDE-STYLE.md).

Colours were measured from the draw.io sources of the slide figures
(G. Louppe, INFO8010 lecture 2, ``backprop.svg``, ``perceptron.svg``):

* value circles (inputs, outputs, intermediate results): fill ``#ffffff``, border ``#000000``;
* parameter circles: fill ``#f8cecc``, border ``#b85450``;
* operation squares: fill ``#dae8fc``, border ``#6c8ebf``;
* backward twin edges and gradients: ``#ff0303``.

Sizes: nodes are 80 px = 1.111 in at 72 dpi, outlines 3 px.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

__all__ = [
    "WHITE", "BLACK", "PARAM_FILL", "PARAM_STROKE", "OP_FILL", "OP_STROKE", "BACKWARD",
    "UNKNOWN", "HIGHLIGHT", "NODE_SIZE", "PENWIDTH", "ARROWSIZE",
    "ROMAN", "MATH", "MONO", "fonts_available", "css_font_family",
]

WHITE = "#ffffff"
BLACK = "#000000"
PARAM_FILL = "#f8cecc"
PARAM_STROKE = "#b85450"
OP_FILL = "#dae8fc"
OP_STROKE = "#6c8ebf"
BACKWARD = "#ff0303"       # red twin arrows and gradient text
UNKNOWN = "#999999"        # a gradient not computed yet ("?")
HIGHLIGHT = "#f0a30a"      # outline of highlighted nodes / colour of highlighted edges

NODE_SIZE = 1.111          # inches: 80 px at 72 dpi, circles and squares alike
PENWIDTH = 3
ARROWSIZE = 0.75

# Pango needs the trailing comma, otherwise it parses "Roman"/"Math"/"Mono" as a style
# word and silently falls back to DejaVu Sans (SLIDE-STYLE.md, Graphviz notes).
ROMAN = "Latin Modern Roman,"
MATH = "Latin Modern Math,"
MONO = "Latin Modern Mono,"

# What the SVG finally says: a valid CSS font list, with generic fallbacks for viewers
# that lack Latin Modern (a trailing comma is invalid CSS and browsers would drop it).
_CSS = {
    ROMAN: "'Latin Modern Roman','Latin Modern Math','CMU Serif',serif",
    MATH: "'Latin Modern Math','Latin Modern Roman','STIX Two Math',serif",
    MONO: "'Latin Modern Mono','CMU Typewriter Text',monospace",
}
_FALLBACK = {ROMAN: "Times-Roman", MATH: "Times-Roman", MONO: "Courier"}


def css_font_family(pango_name: str) -> str:
    """The CSS ``font-family`` written into SVG for a Pango font name used in DOT."""
    return _CSS.get(pango_name, pango_name)


@functools.lru_cache(maxsize=1)
def fonts_available() -> bool:
    """Whether fontconfig knows Latin Modern (Debian: ``apt-get install fonts-lmodern``)."""
    if shutil.which("fc-list") is None:
        return False
    try:
        out = subprocess.run(["fc-list", ":family=Latin Modern Roman", "family"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "Latin Modern" in out


def font(name: str) -> str:
    """The font name to give Graphviz: Latin Modern when installed, else a core font."""
    return name if fonts_available() else _FALLBACK[name]
