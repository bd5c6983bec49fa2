"""Smoke tests for the example scripts: each runs in ``--quick`` mode and its report is checked.

The examples must not read tests/data; here their reports are compared with golden.json where the
lectures give numbers, and with the math they illustrate elsewhere.
"""

from __future__ import annotations

import importlib
import math
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest


def run(name: str, tmp_path: Path, *extra: str) -> dict:
    module = importlib.import_module(f"examples.{name}")
    return module.main(["--quick", "--out", str(tmp_path), *extra])


def assert_figures(report: dict, count: int) -> None:
    """``count`` figures were written, each a real PNG image of a sensible size (matplotlib)."""
    assert len(report["figures"]) == count
    for f in report["figures"]:
        path = Path(f)
        data = path.read_bytes()
        assert path.suffix == ".png" and data[:8] == b"\x89PNG\r\n\x1a\n", path
        width, height = struct.unpack(">II", data[16:24])
        assert 300 <= width <= 2500 and 300 <= height <= 2500 and len(data) > 10_000, (path, width, height)


EXAMPLES = ("gradient_descent_1d", "nptel_worked_example", "xor", "learning_slowdown", "decision_surfaces",
            "sigmoid_chain", "universal_approximation", "momentum_and_clipping", "perceptron")
ALL_SCRIPTS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "examples").glob("*.py")
                     if not p.stem.startswith("_"))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_example_has_main_and_a_docstring(name):
    import inspect
    module = importlib.import_module(f"examples.{name}")
    assert module.__doc__ and "Run:" in module.__doc__
    assert list(inspect.signature(module.main).parameters) == ["argv"]
    assert name in (Path(module.__file__).parent / "README.md").read_text(encoding="utf-8")


def test_gradient_descent_1d_threshold(tmp_path):
    r = run("gradient_descent_1d", tmp_path, "--steps", "40")
    assert r["eta_threshold"] == pytest.approx(1 / 1.5 ** 2)
    assert r["max_rel_grad_error"] < 1e-12
    by_factor = {round(run_["eta"] / r["eta_threshold"], 6): run_ for run_ in r["runs"]}
    # below 1/b^2 the error shrinks by |1 - 2 eta b^2| per step, above it grows
    assert by_factor[0.25]["error_ratio_observed"] == pytest.approx(0.5)
    assert by_factor[0.8]["oscillates"] and by_factor[0.8]["error_ratio_observed"] < 1
    assert by_factor[1.0]["error_ratio_observed"] == pytest.approx(1.0)
    assert by_factor[1.1]["error_ratio_observed"] == pytest.approx(1.2) and by_factor[1.1]["diverged"]
    assert_figures(r, 1)


def test_gradient_descent_1d_custom_eta_converges_to_a_over_b(tmp_path):
    r = run("gradient_descent_1d", tmp_path, "--a", "3", "--b", "-2", "--etas", "0.1", "--steps", "60",
            "--no-figures")
    (only,) = r["runs"]
    assert only["x_final"] == pytest.approx(-1.5, abs=1e-9) and only["converged"]
    assert r["figures"] == []


def test_gradient_descent_1d_rejects_b_zero(tmp_path):
    with pytest.raises(SystemExit, match="b must be non-zero"):
        run("gradient_descent_1d", tmp_path, "--b", "0")


def test_nptel_matches_golden(tmp_path, golden):
    r = run("nptel_worked_example", tmp_path)
    g = golden["task1_nptel_backprop"]
    for k, v in g["values"].items():
        assert r["values"][k] == pytest.approx(v, abs=1e-12), k
    for k, v in g["partials"].items():
        assert r["partials"][k] == pytest.approx(v, abs=1e-12), k
    for k, v in g["gradients"].items():
        assert r["gradients"][k] == pytest.approx(v, abs=1e-12), k
    for k, v in g["b1_gradient_split"].items():
        assert r["b1_gradient_split"][k] == pytest.approx(v, abs=1e-12), k
    for k, v in g["sgd_step_eta_0_5"].items():
        assert r["sgd_step_eta_0_5"][k] == pytest.approx(v, abs=1e-12), k
    verdicts = {c["name"]: c["verdict"] for c in r["lecture_check"]}
    for k, v in g["lecture_check"].items():
        assert verdicts[k].startswith(v["verdict"]), (k, verdicts[k], v["verdict"])
    assert r["wrong"] == ["dE/dout_H1"] and "10x" in verdicts["dE/dout_H1"]


def test_nptel_build_network_exposes_named_nodes():
    from examples.nptel_worked_example import build_network
    loss, nodes = build_network()
    assert loss is nodes["E"] and loss.label == "E"
    assert {"x1", "x2", "w1", "w6", "b1", "b2", "in_H1", "out_H1", "out_o"} <= set(nodes)
    assert all(nodes[k].param for k in ("w1", "w5", "b1", "b2"))
    # b1 is one node feeding both hidden units
    assert nodes["b1"] in nodes["in_H1"].inputs and nodes["b1"] in nodes["in_H2"].inputs
    with pytest.raises(KeyError, match="w7"):
        build_network({"w7": 1.0})


def test_learning_slowdown_matches_golden(tmp_path, golden):
    r = run("learning_slowdown", tmp_path)
    assert r["epochs"] == 150
    ref = golden["task2_nielsen_single_neuron"]
    for start in ("A", "B"):
        for kind in ("quadratic", "cross_entropy"):
            ours = r["runs"][f"{start}_{kind}_eta0.15"]["cost_at"]
            theirs = ref["true_gradient_descent"][f"{start}_{kind}_eta0.15"]["cost_at"]
            for e, c in ours.items():
                assert c == pytest.approx(theirs[str(e)], abs=1e-6), (start, kind, e)
        widget = ref["book_widget_replica"][f"{start}_cross_entropy_eta0.005"]["cost_at"]
        for e, c in r["widget_cost_at"][start].items():
            assert c == pytest.approx(widget[str(e)], abs=1e-9)
    # quadratic from (2, 2) is stuck, cross-entropy is not
    assert r["stuck"]["quadratic"]["relative_drop"] < 0.15
    assert r["stuck"]["cross_entropy"]["relative_drop"] > 0.99
    assert_figures(r, 1)


def test_sigmoid_chain_bound(tmp_path):
    r = run("sigmoid_chain", tmp_path, "--samples", "40")
    assert r["bound_violations"] == 0 and r["max_rel_formula_error"] < 1e-10
    sig = r["stats"]["sigmoid"]
    for s in sig:
        assert 0 < s["max_ratio"] <= 0.25 ** s["depth"] * (1 + 1e-12)
    assert sig[-1]["median_abs_grad"] < sig[0]["median_abs_grad"] * 1e-3
    for s in r["stats"]["relu"]:
        assert s["ratio_is_0_or_1"]
    assert r["stats"]["relu"][0]["max_ratio"] == 1.0
    assert_figures(r, 1)


def test_xor_truth_tables_and_training(tmp_path, golden):
    r = run("xor", tmp_path)
    g = golden["task3_xor_threshold_mlp"]
    sign = r["hand_built"]["sign units, inputs {0,1}"]
    assert sign["computes_xor"]
    for ours, ref in zip(sign["rows"], g["truth_table_inputs01_sign_units"]):
        assert (ours["x1"], ours["x2"], ours["h1"], ours["h2"], ours["y"]) == \
            (ref["x1"], ref["x2"], ref["h1"], ref["h2"], ref["y"])
    step = r["hand_built"]["step units, inputs {0,1}"]
    ref_step = g["all_configurations"]["inputs {0,1}; units step(1/0), step(0)=0 (z>0)"]
    assert step["computes_xor"] == ref_step["computes_xor"]
    assert [row["y"] for row in step["rows"]] == [row["y"] for row in ref_step["truth_table"]]
    assert [row["net_out"] for row in step["rows"]] == [row["net_out"] for row in ref_step["truth_table"]]
    assert not r["hand_built"]["sign units, inputs {-1,+1}"]["computes_xor"]
    assert r["trained"]["accuracy"] == 1.0
    assert r["trained"]["loss_curve"][-1] < r["trained"]["loss_curve"][0]
    assert_figures(r, 1)


def test_universal_approximation_error_falls_with_width(tmp_path):
    r = run("universal_approximation", tmp_path, "--widths", "4", "8", "16", "32", "--train-epochs", "10",
            "--train-max-width", "8")
    res = {x["width"]: x for x in r["results"]}
    for unit in ("sign", "sigmoid"):
        errs = [res[q][f"{unit}_rms_error"] for q in (4, 8, 16, 32)]
        assert all(a > b for a, b in zip(errs, errs[1:])), (unit, errs)
    assert res[32]["sigmoid_rms_error"] < res[32]["sign_rms_error"]
    assert r["sign_error_slope"] == pytest.approx(-1.0, abs=0.25)
    assert res[8]["sigmoid_trained_rms_error"] is not None and res[16]["sigmoid_trained_rms_error"] is None
    assert_figures(r, 1)


def test_universal_approximation_construction_is_exact_at_the_nodes():
    import numpy as np
    from examples.universal_approximation import HI, LO, construct, target
    q = 5
    nodes = LO + (HI - LO) / q * np.arange(q + 1)
    F = construct(q, "sign").predict(nodes[:, None])[:, 0]
    assert np.allclose(F, target(nodes))
    with pytest.raises(ValueError, match="sign' or 'sigmoid"):
        construct(3, "relu")


def test_decision_surfaces_quick(tmp_path):
    r = run("decision_surfaces", tmp_path)
    assert [(x["hidden"], x["run"]) for x in r["results"]] == [(5, 1), (5, 2), (20, 1), (20, 2)]
    for x in r["results"]:
        assert 0.5 <= x["train_accuracy"] <= 1.0 and math.isfinite(x["final_loss"])
        assert x["boundary_cells"] > 0
    # different initial weights give different networks
    assert r["results"][0]["final_loss"] != r["results"][1]["final_loss"]
    assert_figures(r, 1 + 4)


def test_perceptron_converges_on_separable_data_only(tmp_path):
    r = run("perceptron", tmp_path)
    g = r["gates"]
    assert g["AND"]["converged"] and g["OR"]["converged"] and not g["XOR"]["converged"]
    assert g["AND"]["accuracy"] == 1.0 and g["XOR"]["accuracy"] < 1.0
    assert r["blobs"]["converged"] and r["blobs"]["accuracy"] == 1.0
    assert r["blobs"]["mistakes"][-1] == 0 and min(g["XOR"]["mistakes"]) > 0
    assert_figures(r, 1)


def test_momentum_and_clipping(tmp_path):
    r = run("momentum_and_clipping", tmp_path)
    steps = {m["alpha"]: m["steps"] for m in r["momentum"]}
    assert all(m["reached"] and m["hand_check_max_error"] < 1e-15 for m in r["momentum"])
    assert steps[0.9] < steps[0.5] < steps[0.0]
    s = r["speeds"]
    assert s["sigmoid + xavier_uniform"][0] < s["sigmoid + xavier_uniform"][-1] / 100   # vanishing
    assert s["relu + normal"][0] > 10 * s["relu + normal"][-1]                           # exploding
    for k in ("tanh + xavier_uniform", "relu + he_uniform", "elu + he_uniform"):
        assert 1 / 3 < s[k][0] / s[k][-1] < 3, k
    assert r["clipping"]["none"]["diverged"]
    clipped = r["clipping"]["value_1"]
    assert not clipped["diverged"] and clipped["loss"][-1] < clipped["loss"][0]
    assert_figures(r, 1)


def test_svg_output_format(tmp_path):
    r = run("xor", tmp_path, "--format", "svg")
    (path,) = r["figures"]
    assert path.endswith(".svg") and "<svg" in Path(path).read_text(encoding="utf-8")[:2000]


@pytest.mark.parametrize("name", ALL_SCRIPTS)
def test_every_script_takes_quick_out_and_no_figures(name):
    """Every script's own parser accepts the common options (``--help`` lists them and exits 0)."""
    proc = subprocess.run([sys.executable, f"examples/{name}.py", "--help"], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert proc.returncode == 0, proc.stderr
    for option in ("--quick", "--out", "--no-figures"):
        assert option in proc.stdout, (name, option)


MATPLOTLIB_EXAMPLES = ("gradient_descent_1d", "xor", "learning_slowdown", "decision_surfaces", "sigmoid_chain",
                       "universal_approximation", "momentum_and_clipping", "perceptron")
GRAPH_EXAMPLES = {"demo": [], "slides_network": [], "nptel_worked_example": ["--graph"]}


@pytest.mark.parametrize("name", MATPLOTLIB_EXAMPLES)
def test_without_matplotlib_an_example_prints_its_report_and_skips_figures(name, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    for sub in [m for m in sys.modules if m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, sub, None)
    report = run(name, tmp_path / "out")
    out = capsys.readouterr().out
    skipped = [line for line in out.splitlines() if line.startswith("figures skipped")]
    assert skipped == ["figures skipped: matplotlib is not installed (pip install 'backproplab[plots]' to draw them)"]
    assert len(out.splitlines()) > 5 and report["figures"] == []  # the report is there, the figures are not
    assert not (tmp_path / "out").exists()


def test_without_matplotlib_the_script_exits_0(tmp_path):
    code = ("import sys; sys.modules['matplotlib'] = None; import runpy; "
            "sys.argv = ['xor.py', '--quick', '--out', sys.argv[1]]; sys.path.insert(0, 'examples'); "
            "runpy.run_path('examples/xor.py', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "figures skipped" in proc.stdout and "Part 2" in proc.stdout


def legends_over_data(fig) -> list[str]:
    """Every legend drawn inside an Axes that covers a plotted point (a line's vertex or a
    scatter marker) of that Axes, in display coordinates after layout."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    problems = []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is None:
            continue
        box = legend.get_window_extent()
        if not ax.get_window_extent().overlaps(box):
            continue  # placed outside the plotting area
        clouds = [(line.get_label(), line.get_transform().transform(line.get_xydata())) for line in ax.get_lines()]
        clouds += [(str(c), c.get_offset_transform().transform(c.get_offsets())) for c in ax.collections
                   if len(c.get_offsets())]
        for label, pts in clouds:
            pts = np.asarray(pts, dtype=float).reshape(-1, 2)
            inside = ((box.x0 < pts[:, 0]) & (pts[:, 0] < box.x1) & (box.y0 < pts[:, 1]) & (pts[:, 1] < box.y1))
            if inside.any():
                problems.append(f"{ax.get_title()!r}: the legend covers {int(inside.sum())} point(s) of {label}")
    return problems


def hidden_lines(fig) -> list[str]:
    """Pairs of labelled lines in one Axes that lie within 2 px of each other at every point and
    are drawn alike (same marker, line style and width): the one drawn first cannot be seen."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    FigureCanvasAgg(fig).draw()
    problems = []
    for ax in fig.axes:
        lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        for i, a in enumerate(lines):
            for b in lines[i + 1:]:
                pa = a.get_transform().transform(a.get_xydata())
                pb = b.get_transform().transform(b.get_xydata())
                alike = (a.get_marker(), a.get_linestyle(), a.get_linewidth()) == \
                    (b.get_marker(), b.get_linestyle(), b.get_linewidth())
                if alike and pa.shape == pb.shape and np.all(np.abs(pa - pb) < 2):
                    problems.append(f"{ax.get_title()!r}: {a.get_label()} is hidden under {b.get_label()}")
    return problems


def test_the_figure_checks_see_a_hidden_line():
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.plot([0, 1, 2], [0, 1, 2], label="relu")
    ax.plot([0, 1, 2], [0, 1.001, 2], label="leaky")
    assert hidden_lines(fig) == ["'': relu is hidden under leaky"]
    ax.lines[1].set_marker("s")
    assert hidden_lines(fig) == []


def test_the_legend_check_sees_a_legend_over_data():
    from matplotlib.figure import Figure
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.plot([0, 1, 2, 3], [3, 2, 1, 0], marker="o", label="falling")
    ax.legend(loc="upper right")
    assert legends_over_data(fig) == []
    ax.legend(loc="upper left")
    assert legends_over_data(fig) and "falling" in legends_over_data(fig)[0]


# pdf on every example; svg on one figure example and the graph examples (which default to svg + more)
@pytest.mark.parametrize("name, fmt", [(n, "pdf") for n in MATPLOTLIB_EXAMPLES + tuple(GRAPH_EXAMPLES)]
                         + [("xor", "svg"), ("demo", "svg"), ("slides_network", "svg")])
def test_format_writes_that_format_only(name, fmt, tmp_path, monkeypatch):
    """Also: no figure has a legend over its data or a line hidden under another (checked on the
    figure before it is saved)."""
    if name in GRAPH_EXAMPLES and shutil.which("neato") is None:
        pytest.skip("the graph examples need Graphviz")
    from examples import _util
    save, problems = _util.save_figure, []

    def checked_save(fig, args, stem, *rest, **options):
        problems.extend(f"{stem}: {p}" for p in legends_over_data(fig) + hidden_lines(fig))
        return save(fig, args, stem, *rest, **options)

    monkeypatch.setattr(_util, "save_figure", checked_save)
    run(name, tmp_path, "--format", fmt, *GRAPH_EXAMPLES.get(name, []))
    assert problems == []
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert written and all(p.suffix == f".{fmt}" for p in written), written
    magic = b"%PDF-" if fmt == "pdf" else b"<?xml"
    assert all(p.read_bytes().startswith(magic) for p in written)


def test_figures_are_fit_for_a_slide(tmp_path):
    """150 dpi: a one-panel figure (4.6 in wide) is at least 650 px wide (110 dpi gave 506)."""
    r = run("perceptron", tmp_path)
    (path,) = r["figures"]
    width, height = struct.unpack(">II", Path(path).read_bytes()[16:24])
    assert width >= 4.6 * 150 * 0.95, width
