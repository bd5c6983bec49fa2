"""Write docs/errors.md's issue-18 tables from the probe table the tests run.

    python scripts/errors_doc.py          # rewrite the generated part of docs/errors.md
    python scripts/errors_doc.py --check  # exit 1 if the page differs from what would be written

Every probe of ``tests/error_probes.py`` is run; its row shows what it used to do, the call's
area, and the error it raises now — the type and the message itself (temporary paths
shortened), so the page can only show what the tests assert. ``tests/test_input_contract.py``
runs ``--check``'s comparison as a test.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "errors.md"
START = "<!-- generated: scripts/errors_doc.py writes from here to the end marker -->"
END = "<!-- end of generated part -->"
MAX_MESSAGE = 220

AREAS = {
    "numbers": "Numbers and labels at the door (`Value`, `.data`, `.grad`, `.label`)",
    "labels": "Numbers and labels at the door (`Value`, `.data`, `.grad`, `.label`)",
    "tape.forward": "Batches (`tape.forward`)",
    "fit": "Training data and arguments (`fit`, `Perceptron.fit`, seeds)",
    "parameters": "Parameters (`load_state_dict`, `set_parameter_vector`, optimizers)",
    "forward/backward": "Data changed between forward and backward",
    "graphs": "Graphs, hooks and tapes",
    "gradcheck": "Gradient checks (`local_gradcheck`; `Stepper.check` and the terminal's `check` report "
                 "\"undefined here\")",
    "drawing": "Drawing, pages and the command line",
    "MNIST": "The MNIST loader (streams; header and size checked before inflating)",
}


def _cell(text: str) -> str:
    text = re.sub(re.escape(tempfile.gettempdir()) + r"/[^/\s]+/", "…/", text)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


def render() -> str:
    """The generated part of the page (between the markers, markers included)."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
    try:
        import error_probes
    finally:
        del sys.path[:2]
    lines = [START, "", "## Issue 18: every input checked where it enters",
             "",
             "One validation layer (`autodiff/validate.py`) is used where data enters: `Value` and its",
             "`.data` / `.grad` / `.label` setters (Python floats inside, always), `tape.forward`, `fit`,",
             "`Perceptron.fit`, `load_state_dict`, `set_parameter_vector`, the IDX reader. Eager (C core and",
             "pure Python), compiled and the stepper accept and refuse the same things: every probe below",
             "also runs under the other engine and must raise the same type. Data changed between forward",
             "and backward is detected as PyTorch detects it (`autodiff/staleness.py`).",
             ""]
    by_area: dict[str, list] = {}
    for probe in error_probes.PROBES:
        by_area.setdefault(AREAS[probe.area], []).append(probe)
    for title, probes in by_area.items():
        lines += [f"### {title}", "", "| probe | before | now |", "|---|---|---|"]
        for probe in probes:
            kind, message = error_probes.run(probe)
            lines.append(f"| `{probe.id}` | {_cell(probe.before)} | `{kind}`: {_cell(message)} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def page_with(generated: str, page: str) -> str:
    start, end = page.index(START), page.index(END) + len(END)
    return page[:start] + generated + page[end:]


def main(argv: list[str]) -> int:
    page = PAGE.read_text(encoding="utf-8")
    new = page_with(render(), page)
    if "--check" in argv:
        if new != page:
            print(f"{PAGE} is not what scripts/errors_doc.py writes; run it", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new, encoding="utf-8")
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
