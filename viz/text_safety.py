"""Text that every output format can carry: Graphviz's XML-based HTML labels reject control
characters ("not well-formed"), and UTF-8 cannot encode a lone surrogate. Labels are refused
with such characters when a Value is made (:class:`autodiff.Value`), but ``v.label = ...``
can still set one; these helpers make the drawing robust to it.
"""

from __future__ import annotations

import unicodedata

__all__ = ["REPLACEMENT", "dot_safe", "visible_whitespace"]

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"  # U+FFFD, drawn as a visible �


def _unsafe(ch: str) -> bool:
    """A control character (C0, DEL, C1) other than the whitespace DOT itself uses (tab,
    newline, carriage return; also valid in XML), or a surrogate."""
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cs")


def dot_safe(source: str) -> str:
    """``source`` with every control character (except tab, newline, carriage return) and every lone surrogate
    replaced by U+FFFD, so that `dot` parses it and it encodes as UTF-8. Text without them is
    returned unchanged (one C-level check)."""
    if source.isprintable() or not any(_unsafe(ch) for ch in source):
        return source
    return "".join(REPLACEMENT if _unsafe(ch) else ch for ch in source)


_CONTROL_PICTURES = str.maketrans({"\n": "␤", "\t": "␉", "\r": "␍"})


def visible_whitespace(name: str) -> str:
    """A name to draw: line breaks and tabs as the control pictures ␤ ␉ ␍ (they would
    break a one-line label), and a name of blanks only as ␠ (Graphviz's HTML parser
    refuses an empty ``<FONT>``)."""
    name = name.translate(_CONTROL_PICTURES)
    return name if name.strip() else "␠" * max(1, len(name))
