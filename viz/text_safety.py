"""Text that every output format can carry: Graphviz's XML-based HTML labels reject control
characters, U+FFFE and U+FFFF ("not well-formed"), and UTF-8 cannot encode a lone surrogate.
Labels with control characters or surrogates are refused at the door (``Value(label)`` and the
``.label`` setter, :func:`autodiff.validate.check_label`); every other code point is accepted,
so a drawing replaces what XML cannot hold with U+FFFD (:func:`dot_safe`) and draws a long name
shortened, its full text in the tooltip (:func:`shorten`).
"""

from __future__ import annotations

import unicodedata

__all__ = ["REPLACEMENT", "MAX_DRAWN_NAME", "dot_safe", "visible_whitespace", "shorten"]

MAX_DRAWN_NAME = 40  # characters of a name drawn in a node; the tooltip holds the full name

REPLACEMENT = "\N{REPLACEMENT CHARACTER}"  # U+FFFD, drawn as a visible �


def _unsafe(ch: str) -> bool:
    """A control character (C0, DEL, C1) other than the whitespace DOT itself uses (tab,
    newline, carriage return; also valid in XML), a surrogate, or U+FFFE / U+FFFF (the two
    code points XML 1.0 excludes besides those)."""
    if ch in "\t\n\r":
        return False
    return ch in "\ufffe\uffff" or unicodedata.category(ch) in ("Cc", "Cs")


def dot_safe(source: str) -> str:
    """``source`` with every control character (except tab, newline, carriage return) and every lone surrogate
    replaced by U+FFFD, so that `dot` parses it and it encodes as UTF-8. Text without them is
    returned unchanged (one C-level check)."""
    if (source.isprintable() and "\ufffe" not in source and "\uffff" not in source) \
            or not any(_unsafe(ch) for ch in source):
        return source
    return "".join(REPLACEMENT if _unsafe(ch) else ch for ch in source)


_CONTROL_PICTURES = str.maketrans({"\n": "␤", "\t": "␉", "\r": "␍"})


def visible_whitespace(name: str) -> str:
    """A name to draw: line breaks and tabs as the control pictures ␤ ␉ ␍ (they would
    break a one-line label), and a name of blanks only as ␠ (Graphviz's HTML parser
    refuses an empty ``<FONT>``)."""
    name = name.translate(_CONTROL_PICTURES)
    return name if name.strip() else "␠" * max(1, len(name))


def shorten(name: str, limit: int = MAX_DRAWN_NAME) -> str:
    """A name to draw in a node: at most ``limit`` characters, a long one cut in the middle
    with an ellipsis (its start and end stay readable: ``layers.0.neu…ons.1.w.3``); the
    drawing's tooltip shows the full name."""
    if len(name) <= limit:
        return name
    head = (limit - 1) // 2
    return name[:head] + "…" + name[len(name) - (limit - 1 - head):]
