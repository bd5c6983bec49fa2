"""examples/tour.ipynb runs top to bottom in a real Jupyter kernel (nbclient) and shows what it promises:
an inline SVG graph, the stepper's text, a progress bar and a history plot, with nothing on stderr."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat", reason="needs nbformat (the test extra)")
nbclient = pytest.importorskip("nbclient", reason="needs nbclient (the test extra)")
pytest.importorskip("ipykernel", reason="needs ipykernel (the test extra) to run a Python kernel")
pytest.importorskip("matplotlib", reason="the tour plots the training history (matplotlib)")

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "tour.ipynb"


@pytest.mark.skipif(shutil.which("dot") is None, reason="the tour draws a graph with Graphviz `dot`")
def test_tour_notebook_runs_and_displays_graph_plot_and_no_stderr(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "store the tour without outputs"
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    kinds = [key for o in outputs for key in o.get("data", {})]
    assert "image/svg+xml" in kinds, "the graph did not display inline"
    assert "image/png" in kinds, "history.plot() did not display"
    svg = next(o["data"]["image/svg+xml"] for o in outputs if "image/svg+xml" in o.get("data", {}))
    assert "<svg" in svg and "w1" in svg
    stderr = [o.get("text", "") for o in outputs if o.output_type == "stream" and o.name == "stderr"]
    assert stderr == [], stderr
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in outputs)
    assert "∂l/∂w1 = 0.006442" in text and "path(s) from l to w₁" in text  # the stepper writes drawn names
    assert "<History: 30 epochs, loss=" in text and "['loss', 'accuracy', 'val_loss', 'val_accuracy'] 30" in text
    assert "application/vnd.jupyter.widget-view+json" in kinds or "epoch" in text  # tqdm bar or progress line
