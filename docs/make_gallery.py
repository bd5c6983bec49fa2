"""Rebuild the documentation's gallery: run every example and draw the slide comparisons.

    python docs/make_gallery.py            # every example in full (about a minute)
    python docs/make_gallery.py --quick    # small sizes
    python docs/make_gallery.py --slides   # only our drawings of the slide figures

Writes ``docs/gallery/<example>.md`` (the example's docstring, how to run it, its figures) and
the figures into ``docs/gallery/img/<example>/`` (PNG at 150 dpi, the graph examples as SVG),
plus ``docs/gallery/img/slides/`` (our drawings of the lecture's six graph figures, one SVG per
figure named as the slide's PNG, shown beside them on ``slides.md``; only these with
``--slides``), and the README's side-by-side pictures ``docs/images/ours-<figure>.png`` with
the slide's own beside them as ``docs/images/slide-<figure>.png``. The site shows what this script wrote; rerun it after changing an example or
the layout.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import io
import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

GALLERY = DOCS / "gallery"
IMAGES = GALLERY / "img"
# the options each example runs with for the gallery (beyond --out)
RUNS: dict[str, list[str]] = {
    "demo": [], "nptel_worked_example": ["--graph"], "slides_network": [],
    "gradient_descent_1d": [], "xor": [], "learning_slowdown": [], "decision_surfaces": [],
    "sigmoid_chain": [], "universal_approximation": [], "momentum_and_clipping": [], "perceptron": [],
}
# needs the MNIST files and minutes of training: documented, not run here
NOT_RUN = {"mnist_experiments": "needs the MNIST files (`--download`) and about a minute per network "
                                "per seed; run it yourself: `backproplab examples run mnist_experiments --download`"}


def docstring(name: str) -> str:
    source = (ROOT / "examples" / f"{name}.py").read_text(encoding="utf-8")
    return ast.get_docstring(ast.parse(source)) or ""


def markdown_text(text: str) -> str:
    """A docstring as Markdown: brackets outside code spans escaped (``[--seed 0]`` is an
    option, not a link)."""
    parts = re.split(r"(``.*?``|`[^`]*`)", text)
    return "".join(p if p.startswith("`") else p.replace("[", "\\[").replace("]", "\\]") for p in parts)


def page(name: str, files: list[Path], output: str) -> str:
    doc = markdown_text(docstring(name))
    title, _, body = doc.partition("\n\n")
    lines = [f"# {name}", "", title.replace("\n", " "), "", body, "",
             "```bash", f"backproplab examples run {name}" + (" --graph" if name == "nptel_worked_example" else ""),
             f"python examples/{name}.py --help   # from a checkout: every option", "```", ""]
    if name in NOT_RUN:
        lines += ["!!! note", f"    Not run for this gallery: {NOT_RUN[name]}.", ""]
    for f in files:
        rel = f.relative_to(GALLERY).as_posix()
        lines += [f"![{f.stem}]({rel})", ""]
    if output.strip():
        report = "\n".join(output.strip().splitlines()[:60])
        lines += ["??? example \"What it prints\"", "", "    ```text"] + \
                 [f"    {line}" for line in report.splitlines()] + ["    ```", ""]
    return "\n".join(lines)


def run_example(name: str, quick: bool) -> tuple[list[Path], str]:
    out = IMAGES / name
    shutil.rmtree(out, ignore_errors=True)
    module = importlib.import_module(f"examples.{name}")
    argv = ["--out", str(out), *RUNS[name]] + (["--quick"] if quick else [])
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        module.main(argv)
    files = sorted(p for p in out.rglob("*") if p.suffix in (".png", ".svg"))
    if name == "slides_network":  # its PNGs repeat the SVGs
        files = [p for p in files if p.suffix == ".svg"]
    if name == "decision_surfaces":  # the grid holds every panel; the one-panel figures repeat it
        files = [p for p in files if p.stem == "decision_surfaces"]
    for p in out.rglob("*"):
        if p.is_file() and p not in files:
            p.unlink()
    text = buffer.getvalue().replace(str(out), f"out/{name}")
    return files, text


# the slide figures the README shows beside ours, and the resolution of ours there
README_FIGURES = ("backprop2", "perceptron")
README_DPI = 110


def slide_drawings() -> None:
    """Our drawing of each of the lecture's graph figures (``tests/slide_figures.py`` builds
    them; ``tests/test_viz_slide_cells.py`` checks them cell for cell against the slides),
    as ``<figure>.svg`` beside the slide's own ``<figure>.png``."""
    sys.path.insert(0, str(ROOT / "tests"))
    from slide_figures import FIGURES

    import viz
    out = IMAGES / "slides"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for name, build in FIGURES.items():
        root, options = build()
        drawing = viz.draw(root, numbers="none", **options)  # the slides' look
        drawing.save(out / f"{name}.svg")
        if name in README_FIGURES:  # the README's side-by-side pictures (PNG: no font needed)
            drawing.save(DOCS / "images" / f"ours-{name}.png", dpi=README_DPI)
            shutil.copyfile(DOCS / "images" / "slides" / f"{name}.png", DOCS / "images" / f"slide-{name}.png")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--slides", action="store_true", help="only the slide figures (docs/gallery/img/slides)")
    args = parser.parse_args()
    if args.slides:
        slide_drawings()
        return
    names = sorted(RUNS) + sorted(NOT_RUN)
    index = ["# Gallery", "", "Every example shipped with backproplab, run by `docs/make_gallery.py`. "
             "Each page shows the script's docstring, how to run it, its figures and what it prints.", "",
             "| example | what it shows |", "|---|---|"]
    for name in names:
        files, output = run_example(name, args.quick) if name in RUNS else ([], "")
        (GALLERY / f"{name}.md").write_text(page(name, files, output), encoding="utf-8")
        summary = docstring(name).split("\n\n")[0].replace("\n", " ").replace("|", "\\|")
        index.append(f"| [{name}]({name}.md) | {summary} |")
        print(f"{name}: {len(files)} figures")
    (GALLERY / "index.md").write_text("\n".join(index) + "\n", encoding="utf-8")
    slide_drawings()


if __name__ == "__main__":
    main()
