"""Every Python example of the README runs, in order and in one namespace (as a reader
would paste them into one session), and prints what the README says it prints: a
```python block followed directly by a ```text block must print exactly that text."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```\n(?:\n?```text\n(.*?)```\n)?", re.S)


def examples() -> list[tuple[str, str | None]]:
    return [(m[1], m[2]) for m in BLOCK.finditer(README.read_text(encoding="utf-8"))]


def test_the_readme_has_examples_with_their_output():
    found = examples()
    assert len(found) >= 3 and any(out for _, out in found)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed (the tour draws a graph)")
def test_every_readme_example_runs_and_prints_what_the_readme_says(tmp_path):
    namespace: dict = {"__name__": "__readme__"}
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        for k, (code, expected) in enumerate(examples()):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(code, f"README.md python block {k + 1}", "exec"), namespace)
            if expected is not None:
                assert out.getvalue() == expected, f"README python block {k + 1}"
    finally:
        os.chdir(cwd)
    # the stepping example wrote its files
    assert (tmp_path / "steps.html").exists() and (tmp_path / "graph.svg").exists()
    assert len(list((tmp_path / "frames").glob("step-*.svg"))) == 7
