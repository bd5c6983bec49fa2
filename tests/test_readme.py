"""Every code example in README.md runs, in order, and prints what the README says it prints.

Python blocks share one namespace (as a reader typing them into one session would); a comment
``# prints: TEXT`` after a line says the block's output contains TEXT. In the shell blocks, every
``backproplab ...`` line (also ``.venv/bin/backproplab`` and ``python -m backproplab``) runs through
the command line's ``main``; ``pip install`` and ``bash scripts/...`` lines are what the test run
itself is made of and are skipped.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import shutil
from pathlib import Path

import pytest

from backproplab.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```(python|bash)\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="the README draws graphs with Graphviz `dot`")


def shell_commands(source: str) -> list[list[str]]:
    commands = []
    for line in source.splitlines():
        words = shlex.split(line, comments=True)
        if words[:3] == ["python", "-m", "backproplab"]:
            words = ["backproplab", *words[3:]]
        if words and Path(words[0]).name == "backproplab":
            commands.append(words[1:])
        elif words:
            assert words[0] in ("pip", "bash", "python3"), f"README shell line not covered by the test: {line}"
    return commands


def test_the_readme_has_examples():
    kinds = [k for k, _ in BLOCKS]
    assert kinds.count("python") >= 4 and sum(len(shell_commands(b)) for k, b in BLOCKS if k == "bash") >= 6


@needs_dot
def test_every_readme_example_runs_and_prints_what_it_says(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "__readme__"}
    for kind, source in BLOCKS:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            if kind == "python":
                exec(compile(source, "README.md", "exec"), namespace)
            else:
                for args in shell_commands(source):
                    try:
                        code = main(args)
                    except SystemExit as exc:  # --version
                        code = exc.code
                    assert code == 0 or args == ["doctor"], (args, code)
        for expected in re.findall(r"# prints: (.*)", source):
            assert expected.strip() in out.getvalue(), (expected, out.getvalue()[-2000:])
    for written in ("graph.svg", "steps.html", "demo/nptel_backward.svg", "out/xor/xor.png"):
        assert (tmp_path / written).stat().st_size > 1000, written
