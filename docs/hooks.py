"""MkDocs hooks: pages that are generated from the code at build time, so they cannot drift.

``<!-- op-table -->`` on a page becomes the table of every entry of :data:`autodiff.OPS` (its
name, how the slides label it, how many operands, and its forward and derivative rule).
``<!-- readme-section: TITLE -->`` becomes the body of the README's ``## TITLE`` section, so a
page and the README never state two sets of numbers.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MARKER = "<!-- op-table -->"
README_SECTION = re.compile(r"<!-- readme-section: (.+?) -->")


def readme_section(title: str) -> str:
    """The text under the README's ``## title`` heading, up to the next ``## `` heading."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, flags=re.M | re.S)
    if m is None:
        raise ValueError(f"docs/hooks.py: README.md has no section '## {title}'")
    return m[1].strip()


def op_table() -> str:
    import autodiff
    rows = ["| op | drawn as | operands | forward; local derivatives |", "|---|---|---|---|"]
    for name, op in autodiff.OPS.items():
        arity = "n" if op.arity is None else str(op.arity)
        rule = op.formula.replace("|", "\\|")
        rows.append(f"| `{name}` | `{op.label}` | {arity} | {rule} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, op_table())
    return README_SECTION.sub(lambda m: readme_section(m[1]), markdown)


ROLE = re.compile(r":(?:class|meth|func|mod|data|attr|exc):(?=<code)")


def on_page_content(html: str, page, config, files) -> str:
    """Docstrings cite with reST roles (``:class:`nn.MLP```); the Markdown renderer keeps the
    code span and would print the role's name before it: drop the name."""
    return ROLE.sub("", html)
