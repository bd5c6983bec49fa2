"""The stepper inline in Jupyter: a real notebook executed with nbclient and ipykernel."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="nbformat is in the test extra (pip install -e '.[test]')")
nbclient = pytest.importorskip("nbclient", reason="nbclient is in the test extra (pip install -e '.[test]')")
pytest.importorskip("ipykernel", reason="ipykernel is in the test extra (pip install -e '.[test]')")

ROOT = Path(__file__).resolve().parents[1]

CELLS = [
    """\
from autodiff import Value
import viz
from viz.stepper import Stepper

x1, x2 = Value(0.05, "x1"), Value(0.10, "x2")
w1 = Value(0.15, "w1", param=True)
loss = 0.5 * (0.01 - (w1 * x1 + x2).sigmoid()) ** 2
loss.label = "l"
loss.backward()
grad_before = w1.grad
s = Stepper(loss)
s""",
    "s.next(); s.next(); print(repr(s)); print(s.steps[0])",
    "viz.draw(loss, view='backward')",
    "assert w1.grad == grad_before, (w1.grad, grad_before)",
]


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed (renders the SVG)")
def test_notebook_shows_the_stepper_in_an_iframe_and_the_drawing(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in CELLS]
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    outputs = [cell.outputs for cell in nb.cells]
    for cell_outputs in outputs:
        assert not [o for o in cell_outputs if o.get("name") == "stderr" or o.output_type == "error"], cell_outputs
    (stepper_out,) = outputs[0]
    page = stepper_out.data["text/html"]
    assert page.startswith('<iframe class="backproplab-stepper" srcdoc="') and 'sandbox="allow-scripts"' in page
    inner = html.unescape(page.split('srcdoc="', 1)[1].split('"', 1)[0])
    # the whole page, script and stylesheet included, is inside the iframe and nowhere else
    assert inner.startswith("<!DOCTYPE html>") and 'id="bpl-data"' in inner and "<svg" in inner
    outside = page.replace(page.split('srcdoc="', 1)[1].split('"', 1)[0], "")
    assert "<style" not in outside and "<script" not in outside
    assert "<Stepper 0/" in stepper_out.data["text/plain"]
    printed = "".join(o.text for o in outputs[1] if o.output_type == "stream")
    assert printed.startswith("<Stepper 2/6 (scalar): ∂l/∂u₄ += ∂l/∂u₅ · ∂u₅/∂u₄ = ")
    assert "∂l/∂u₅ += ∂l/∂l · ∂l/∂u₅ = 1 · 0.5 = 0.5" in printed
    (drawing,) = outputs[2]
    assert "<svg" in drawing.data["image/svg+xml"]
