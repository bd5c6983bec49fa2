"""Every Python example in README.md runs, in order, in one namespace (as a reader pastes
them), in a scratch directory; what a block says it prints (``# -> text`` comments) is checked."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def test_readme_python_examples_run(tmp_path, monkeypatch):
    blocks = BLOCK.findall(README.read_text(encoding="utf-8"))
    assert len(blocks) >= 3
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}
    for i, code in enumerate(blocks):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"README.md python block {i + 1}", "exec"), namespace)
        for expected in re.findall(r"#\s*->\s*(.+)", code):
            assert expected.strip() in out.getvalue(), (i + 1, expected, out.getvalue())
