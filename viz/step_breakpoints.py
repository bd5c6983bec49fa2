"""Breakpoint conditions for the step-through debugger, safe on any name.

A name pattern is a glob (``w*``, ``W?[0-9]``), matched by :func:`glob_match` in time
proportional to len(pattern) · len(name), never by backtracking; a regular expression is
accepted only without nested or alternated repeats (``(a+)+``, ``(a|aa)*``: the shapes
that make a backtracking matcher take exponential time, :func:`check_regex`) and only
sees the first :data:`MAX_NAME` characters of a name. A debugger that hangs on a typo is
worse than one that refuses it.
"""

from __future__ import annotations

import difflib
import fnmatch
import math
import re
from typing import Callable, Iterable, Optional

from autodiff import validate

from .step_types import Breakpoint, parts

__all__ = ["glob_match", "check_regex", "closest", "name_breakpoint", "nonfinite_breakpoint",
           "small_breakpoint", "MAX_NAME"]

MAX_NAME = 200   # characters of a name a pattern sees; also the longest pattern accepted


def glob_match(pattern: str, name: str) -> bool:
    """``fnmatch``-style ``*`` and ``?`` (and ``[...]``) matching, case-sensitive, by the
    greedy two-pointer algorithm: O(len(pattern) · len(name)) at worst."""
    if "[" in pattern:   # fnmatch's translation of a class has no nested repeats
        return fnmatch.fnmatchcase(name, pattern)
    p = n = 0
    star, mark = -1, 0
    while n < len(name):
        if p < len(pattern) and (pattern[p] == "?" or pattern[p] == name[n]):
            p, n = p + 1, n + 1
        elif p < len(pattern) and pattern[p] == "*":
            star, mark = p, n
            p += 1
        elif star >= 0:
            p, mark = star + 1, mark + 1
            n = mark
        else:
            return False
    while p < len(pattern) and pattern[p] == "*":
        p += 1
    return p == len(pattern)


_QUANTIFIER = re.compile(r"[*+?]|\{\d*,?\d*\}")


def check_regex(pattern: str) -> None:
    """Refuse (ValueError) a regular expression with a repeated group that itself holds a
    repeat or an alternative (``(a+)+$``, ``(x|xy)*``), or longer than :data:`MAX_NAME`."""
    if len(pattern) > MAX_NAME:
        raise ValueError(f"a breakpoint pattern has at most {MAX_NAME} characters, got {len(pattern)}")
    stack: list[bool] = []   # per open group: does it hold a repeat or a '|'?
    i, risky_closed = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            i += 2
            risky_closed = False
            continue
        if c == "[":   # a class: skip to its end
            j = pattern.find("]", i + 2)
            i = j + 1 if j > 0 else len(pattern)
            risky_closed = False
            continue
        m = _QUANTIFIER.match(pattern, i)
        if m and not (c == "?" and i > 0 and pattern[i - 1] == "("):
            if risky_closed:
                raise ValueError(f"the regular expression {pattern!r} repeats a group that holds a repeat or "
                                 "an alternative, which can take exponential time on a long name; "
                                 "write a glob instead (w*, W?[0-9]*)")
            if stack:
                stack[-1] = True
            i = m.end()
            risky_closed = False
            continue
        if c == "(":
            stack.append(False)
        elif c == ")" and stack:
            risky_closed = stack.pop()
            if stack and risky_closed:
                stack[-1] = True
            i += 1
            continue
        elif c == "|" and stack:
            stack[-1] = True
        risky_closed = False
        i += 1


def closest(word: str, known: Iterable[str]) -> Optional[str]:
    """The known word closest to a mistyped one ("did you mean"), if one is close."""
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return close[0] if close else None


def name_breakpoint(spec, names_of: Callable[[object], Iterable[str]],
                    description: Optional[str] = None) -> Breakpoint:
    """A breakpoint on steps whose names (``names_of(step)``) match ``spec``: a glob, a
    compiled regular expression (checked by :func:`check_regex`, searched in the first
    :data:`MAX_NAME` characters), or a predicate ``spec(step)``."""
    if isinstance(spec, str):
        if len(spec) > MAX_NAME:
            raise ValueError(f"a breakpoint pattern has at most {MAX_NAME} characters, got {len(spec)}")
        test = lambda s: any(glob_match(spec, n[:MAX_NAME]) for n in names_of(s))
        description = description or f"name matches {spec!r}"
    elif isinstance(spec, re.Pattern):
        check_regex(spec.pattern)
        test = lambda s: any(spec.search(n[:MAX_NAME]) for n in names_of(s))
        description = description or f"name matches /{spec.pattern}/"
    elif callable(spec):
        test = spec
        description = description or f"predicate {getattr(spec, '__name__', repr(spec))}"
    else:
        raise TypeError(f"break_on needs a pattern, a compiled regex or a predicate, got {spec!r}")
    return Breakpoint(description, test)


def nonfinite_breakpoint() -> Breakpoint:
    """Stop where an upstream gradient, local derivative, product or new gradient is NaN or ±inf."""
    return Breakpoint("a non-finite value (NaN or ±inf)",
                      lambda s: any(not all(map(math.isfinite, (p.upstream, p.local, p.product, p.grad_after)))
                                    for p in parts(s)))


def small_breakpoint(eps: float) -> Breakpoint:
    """Stop where a new gradient is below ``eps`` in absolute value (a vanishing gradient)."""
    eps = validate.positive_number(eps, "break_on_small(eps)")
    return Breakpoint(f"|gradient| < {eps:g}", lambda s: any(abs(p.grad_after) < eps for p in parts(s)))
