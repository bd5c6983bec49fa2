"""The documentation site builds in strict mode (no warnings), and holds what the code cites."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    pytest.importorskip("mkdocs", reason="the docs tools are in the test extra: pip install 'backproplab[docs]'")
    pytest.importorskip("mkdocstrings", reason="pip install 'backproplab[docs]'")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    warnings = [line for line in (proc.stdout + proc.stderr).splitlines() if "WARNING" in line]
    assert warnings == []
    return out


def test_the_site_builds_strictly_with_every_section(site):
    for page in ("index.html", "getting-started/index.html", "habits/index.html", "concepts/value/index.html",
                 "concepts/ops/index.html", "concepts/levels/index.html", "concepts/stepper/index.html",
                 "concepts/compiled/index.html", "gallery/index.html", "slides/index.html",
                 "api/nn/index.html", "api/autodiff/index.html", "api/viz/index.html",
                 "api/backproplab/index.html", "DESIGN/index.html", "SLIDE-STYLE/index.html",
                 "EXPERIMENTS/index.html"):
        assert (site / page).is_file(), page


def test_the_api_reference_comes_from_the_docstrings(site):
    import nn
    html = (site / "api" / "nn" / "index.html").read_text(encoding="utf-8")
    for name in ("MLP", "fit", "binary_cross_entropy_with_logits", "state_dict", "History"):
        assert name in html, name
    first_line = nn.MLP.__doc__.split("\n")[0].split(":")[0]
    assert first_line in html


def test_the_op_table_lists_every_op(site):
    import autodiff
    html = (site / "concepts" / "ops" / "index.html").read_text(encoding="utf-8")
    for name in autodiff.OPS:
        assert f"<code>{name}</code>" in html, name


def test_the_speed_page_is_the_readmes_speed_section(site):
    """docs/speed.md holds only a marker; the hook puts the README's section there, so the
    site and the README cannot state different numbers."""
    import re
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Speed\n", 1)[1].split("\n## ", 1)[0]
    html = (site / "speed" / "index.html").read_text(encoding="utf-8")
    figures = re.findall(r"\*\*([^*]+×)\*\*", section)  # the bold ratios
    assert len(figures) >= 5
    for figure in figures:
        assert figure in html, figure
    assert "readme-section" not in html


def test_the_gallery_has_every_example_with_its_figures(site):
    scripts = sorted(p.stem for p in (REPO / "examples").glob("*.py") if not p.stem.startswith("_"))
    for name in scripts:
        page = DOCS / "gallery" / f"{name}.md"
        assert page.is_file(), name
        for image in re.findall(r"!\[[^]]*\]\(([^)]+)\)", page.read_text(encoding="utf-8")):
            assert (page.parent / image).is_file(), (name, image)
        if name != "mnist_experiments":  # needs MNIST: documented, not run
            assert "![" in page.read_text(encoding="utf-8"), name
        assert (site / "gallery" / name / "index.html").is_file()


def test_every_document_the_code_cites_is_in_the_docs():
    cited = set()
    for folder in ("autodiff", "nn", "viz", "backproplab", "examples"):
        for path in (REPO / folder).glob("*.py"):
            cited |= set(re.findall(r"\b([A-Z][A-Z-]+\.md)\b", path.read_text(encoding="utf-8")))
    assert {"DESIGN.md", "SLIDE-STYLE.md"} <= cited
    for name in cited - {"README.md", "RESULTS.md", "LAYOUT.md"}:
        assert (DOCS / name).is_file(), name
    slides = {"backprop.png", "backprop2.png", "backprop3.png", "perceptron.png", "logistic-neuron.png", "layer.png"}
    assert all((DOCS / "images" / "slides" / s).is_file() for s in slides)
    assert (DOCS / "images" / "slides" / "LICENSE-figures.txt").is_file()


def test_the_gallery_script_is_the_one_the_pages_name():
    source = (DOCS / "make_gallery.py").read_text(encoding="utf-8")
    runs = ast.literal_eval(re.search(r"RUNS: dict\[str, list\[str\]\] = (\{.*?\})\n", source, re.S).group(1))
    scripts = {p.stem for p in (REPO / "examples").glob("*.py") if not p.stem.startswith("_")}
    assert set(runs) | {"mnist_experiments"} == scripts
