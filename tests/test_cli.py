"""The backproplab command line (viz.cli) and its safe expression parser (viz.expr)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import autodiff
from autodiff import Value
from viz.cli import main
from viz.expr import ExprError, free_names, parse_expr

REPO = Path(__file__).resolve().parents[1]
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
SVG = "{http://www.w3.org/2000/svg}"


# ----------------------------------------------------------------- expressions

def test_expression_builds_the_same_graph_as_the_engine():
    v = parse_expr("sigmoid(w*x + b) + leaky_relu(x - 1, slope=0.2) * exp(-x) / 2 - x**2",
                   {"x": 0.5, "w": -1, "b": 0.1}, params=["w", "b"])
    x, w, b = Value(0.5, "x"), Value(-1.0, "w", param=True), Value(0.1, "b", param=True)
    ref = (w * x + b).sigmoid() + (x - 1).leaky_relu(0.2) * (-x).exp() / 2 - x ** 2
    assert v.data == ref.data
    leaves = {u.label: u for u in autodiff.topological_order(v) if u.label}
    assert set(leaves) == {"x", "w", "b"}
    assert leaves["w"].param and leaves["b"].param and not leaves["x"].param
    v.backward()
    ref.backward()
    assert (leaves["x"].grad, leaves["w"].grad) == (x.grad, w.grad)


def test_each_name_is_one_shared_leaf_and_n_ary_functions_work():
    v = parse_expr("x * x", {"x": 3})
    assert v.inputs[0] is v.inputs[1]
    assert parse_expr("dot([w, 2], [x, 3], bias=1)", {"w": 2, "x": 5}).data == 2 * 5 + 2 * 3 + 1
    assert parse_expr("sum([x, 2, 3])", {"x": 1}).op == "sum"
    assert parse_expr("maximum([x, -x])", {"x": -4}).data == 4
    assert free_names("exp(a) + b*a") == ["a", "b"]
    assert parse_expr("x * (2*3)", {"x": 1}).inputs[1].data == 6.0  # constants folded


@pytest.mark.parametrize("source, quoted", [
    ("__import__('os')", "'__import__('os')'"),
    ("__import__('os').system('ls')", "'__import__('os').system('ls')'"),
    ("x.__class__", "'x.__class__'"),
    ("x[0]", "'x[0]'"),
    ("(lambda: x)()", "'(lambda: x)()'"),
    ("[t for t in (x,)]", "'[t for t in (x,)]'"),
    ("exp(x, base=2)", "'base=2'"),
    ("open('f')", "'open('f')'"),
    ("x % 2", "'x % 2'"),
    ("x if x else 1", "'x if x else 1'"),
    ("'text'", "''text''"),
    ("x < 1", "'x < 1'"),
    ("leaky_relu(x, x)", "'leaky_relu(x, x)'"),
    ("sum(x)", "'x'"),
    ("exp + x", "'exp'"),
])
def test_refused_constructs_quote_the_source(source, quoted):
    with pytest.raises(ExprError) as err:
        parse_expr(source, {"x": 1.0})
    assert quoted in str(err.value)


def test_missing_unknown_and_math_errors_are_named():
    with pytest.raises(ExprError, match=r"no value given for y, z \(use --set y=\.\.\. --set z=\.\.\.\)"):
        parse_expr("x*y + z", {"x": 1})
    with pytest.raises(ExprError, match="parameter q does not appear"):
        parse_expr("x", {"x": 1}, params=["q"])
    with pytest.raises(ExprError, match="log: the input must be > 0"):
        parse_expr("log(x - 2)", {"x": 1})
    with pytest.raises(ExprError, match="has no variables"):
        parse_expr("2 * 3", {})
    with pytest.raises(ExprError, match="syntax error"):
        parse_expr("x +", {"x": 1})
    started = time.process_time()
    with pytest.raises(ExprError, match="cannot evaluate"):
        parse_expr("9**9**9 * x", {"x": 1})  # floats: overflows at once instead of running away
    assert time.process_time() - started < 5


# ----------------------------------------------------------------- command line

def test_cli_refuses_import_and_names_missing_values(capsys):
    assert main(["draw", "__import__('os')", "--set", "x=1"]) == 2
    err = capsys.readouterr().err
    assert "refused '__import__('os')'" in err and "only these functions can be called" in err
    assert main(["step", "x*y", "--set", "x=1"]) == 2
    assert "no value given for y" in capsys.readouterr().err
    assert main(["draw", "x", "--set", "x=abc"]) == 2
    assert "'abc' is not a number" in capsys.readouterr().err


@needs_dot
def test_cli_draw_writes_svg_with_parameters_in_red(tmp_path, capsys):
    from viz import style
    out = tmp_path / "graph.svg"
    rc = main(["draw", "sigmoid(w*x + b)", "--set", "x=0.5", "--set", "w=-1,b=0.1",
               "--param", "w", "-o", str(out), "--view", "backward"])
    assert rc == 0 and f"wrote {out}" in capsys.readouterr().out
    root = ET.parse(out).getroot()
    nodes = {g.get("id"): g for g in root.iter(f"{SVG}g") if "node" in (g.get("class") or "").split()}
    fills = {next(g.iter(f"{SVG}text")).text: [e.get("fill") for e in g.iter(f"{SVG}ellipse")]
             for g in nodes.values()}
    assert fills["w"] == [style.PARAM_FILL] and fills["b"] == [style.WHITE] and fills["x"] == [style.WHITE]
    assert any("backward" in (g.get("class") or "") for g in root.iter(f"{SVG}g"))


def test_cli_step_runs_a_script(tmp_path, capsys):
    script = tmp_path / "cmds.txt"
    script.write_text("break w\ncontinue\nwhy w\n", encoding="utf-8")
    rc = main(["step", "w*x + 1", "--set", "x=0.5,w=2", "--param", "w", "--script", str(script)])
    out = capsys.readouterr().out
    assert rc == 0
    assert "backward pass of l:" in out  # the unlabelled result is called l, as on the slides
    assert "∂l/∂w += ∂l/∂u₁ · ∂u₁/∂w = 1 · 0.5 = 0.5" in out
    assert "sum over paths = 0.5" in out


def test_cli_step_hides_the_steps_into_constants_unless_asked(tmp_path, capsys):
    script = tmp_path / "cmds.txt"
    script.write_text("list\n", encoding="utf-8")
    expr = ["step", "0.5*(w*x - 1)**2", "--set", "x=0.5,w=2", "--param", "w", "--wrt", "w,x", "--script", str(script)]
    assert main(expr + ["--constants"]) == 0
    shown = capsys.readouterr().out
    assert main(expr) == 0
    hidden = capsys.readouterr().out
    assert main(expr + ["--hide-constants"]) == 0
    assert capsys.readouterr().out == hidden
    assert "∂l/∂0.5" in shown and "∂l/∂0.5" not in hidden
    assert "∂l/∂1 " in shown and "∂l/∂1 " not in hidden
    assert "7 chain-rule steps" in shown and "5 chain-rule steps" in hidden  # 0.5 and 1 left out
    assert "∂l/∂w += " in hidden


@needs_dot
def test_cli_step_html_writes_a_page(tmp_path, capsys):
    page = tmp_path / "steps.html"
    assert main(["step", "tanh(w*x)", "--set", "x=2,w=0.3", "--html", str(page)]) == 0
    assert "wrote" in capsys.readouterr().out
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "bpl-data" in text


def test_python_dash_m_viz_runs_the_cli():
    proc = subprocess.run([sys.executable, "-m", "viz", "step", "exp(x)", "--set", "x=0"],
                          input="step\nq\n", capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "∂l/∂x += ∂l/∂l · ∂l/∂x = 1 · 1 = 1" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "viz", "draw", "__import__('os')"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 2 and "refused '__import__('os')'" in proc.stderr


def test_cli_without_graphviz_explains_and_still_writes_dot(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` on PATH
    assert main(["draw", "x*2", "--set", "x=1", "-o", str(tmp_path / "g.svg")]) == 1
    err = capsys.readouterr().err
    assert "install Graphviz" in err and "-o FILE.dot" in err
    assert main(["draw", "x*2", "--set", "x=1", "-o", str(tmp_path / "g.dot")]) == 0
    assert (tmp_path / "g.dot").read_text(encoding="utf-8").startswith("digraph")


@needs_dot
def test_cli_step_frames_writes_one_valid_svg_per_step(tmp_path, capsys):
    import xml.etree.ElementTree as ET
    from viz.style import HIGHLIGHT
    out = tmp_path / "frames"
    assert main(["step", "0.5*(y - sigmoid(w*x + b))**2", "--set", "x=0.5,w=-1,b=0.2,y=1",
                 "--param", "w,b", "--frames", str(out)]) == 0
    assert "wrote 8 frames" in capsys.readouterr().out
    files = sorted(out.glob("*.svg"))
    assert [f.name for f in files] == [f"step-{k:03d}.svg" for k in range(8)]  # the start + 7 steps
    twins = []
    for k, f in enumerate(files):
        root = ET.parse(f).getroot()  # well-formed SVG
        assert root.tag == f"{SVG}svg"
        twins.append(sum(1 for g in root.iter(f"{SVG}g") if g.get("class") == "edge backward"))
        texts = "".join(t.text or "" for t in root.iter(f"{SVG}text"))
        assert ("∂l/∂l = 1" if k == 0 else "+= ∂l/∂") in texts  # the formula as caption
        if k:
            strokes = {e.get("stroke") for e in root.iter() if e.tag in (f"{SVG}ellipse", f"{SVG}polygon")}
            assert HIGHLIGHT in strokes
    assert twins[0] == 0 and twins == sorted(twins) and twins[-1] > twins[1]  # red twins appear step by step
