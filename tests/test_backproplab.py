"""The backproplab namespace, its command line (doctor, demo, examples) and shadowing detection."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import autodiff
import backproplab
import nn
import viz
from backproplab import installation
from backproplab.cli import example_names, main

REPO = Path(__file__).resolve().parents[1]
CONSOLE = Path(sys.executable).parent / "backproplab"
needs_console = pytest.mark.skipif(not CONSOLE.exists(), reason="the backproplab console script is not installed "
                                   "(pip install -e . creates it)")


def run(args, cwd, pythonpath=None):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def test_namespace_holds_the_same_module_objects():
    assert backproplab.autodiff is autodiff and backproplab.nn is nn and backproplab.viz is viz
    assert backproplab.Value is autodiff.Value
    assert backproplab.__version__ == importlib.metadata.version("backproplab")
    assert viz.draw_dot is viz.draw


def test_version_and_python_m(tmp_path):
    proc = run([sys.executable, "-m", "backproplab", "--version"], tmp_path)
    assert proc.returncode == 0 and proc.stdout.strip() == f"backproplab {backproplab.__version__}"


def test_a_students_viz_py_is_named_by_the_import_error(tmp_path):
    (tmp_path / "viz.py").write_text("print('my own plotting helpers')\n")
    proc = run([sys.executable, "-c", "import backproplab"], tmp_path)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("backproplab.installation.ShadowedPackageError")
    assert str(tmp_path / "viz.py") in last and "rename it" in last
    assert "my own plotting helpers" not in proc.stdout  # found before it ran


@needs_console
def test_the_command_explains_shadowing_and_the_doctor_still_runs(tmp_path):
    # the console script does not look in the current directory, but PYTHONPATH comes first
    (tmp_path / "nn.py").write_text("x = 1\n")
    assert run([str(CONSOLE), "--version"], tmp_path).returncode == 0
    proc = run([str(CONSOLE), "draw", "x", "--set", "x=1"], tmp_path, pythonpath=tmp_path)
    assert proc.returncode == 1 and str(tmp_path / "nn.py") in proc.stderr and "backproplab doctor" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run([str(CONSOLE), "doctor"], tmp_path, pythonpath=tmp_path)
    assert proc.returncode == 1
    fail = [line for line in proc.stdout.splitlines() if "FAIL" in line]
    assert len(fail) == 1 and str(tmp_path / "nn.py") in fail[0]


def _fake_home(tmp_path: Path, viz_source: str) -> Path:
    """A site-packages where autodiff and nn are ours and viz/__init__.py was overwritten."""
    home = tmp_path / "site"
    home.mkdir()
    for name in ("autodiff", "nn"):
        (home / name).symlink_to(REPO / name)
    (home / "viz").mkdir()
    (home / "viz" / "__init__.py").write_text(viz_source)
    return home


@pytest.mark.parametrize("source, message", [
    ("print 'viz 0.0.5'\n", "cannot import its viz package (SyntaxError"),   # PyPI viz is Python 2 code
    ("def plot(): pass\n", "is not backproplab's viz (it has no viz.draw)"),
])
def test_a_package_written_over_ours_is_detected(tmp_path, source, message):
    home = _fake_home(tmp_path, source)
    code = textwrap.dedent(f"""
        import importlib.util, sys
        from pathlib import Path
        sys.path.insert(0, {str(home)!r})
        spec = importlib.util.spec_from_file_location("installation", {str(installation.__file__)!r})
        installation = importlib.util.module_from_spec(spec)
        sys.modules["installation"] = installation  # its dataclass needs its module registered
        spec.loader.exec_module(installation)   # without backproplab/__init__.py, which would import viz
        installation.HOME = Path({str(home)!r})
        try:
            installation.import_packages()
        except installation.ShadowedPackageError as exc:
            print(exc)
    """)
    proc = run([sys.executable, "-c", code], tmp_path)
    assert message in proc.stdout and "pip uninstall viz" in proc.stdout, proc.stdout + proc.stderr
    assert str(home / "viz") in proc.stdout


def test_location_check_passes_here_and_names_expected_files():
    assert installation.location_problems() == []
    assert installation.expected_origin("viz") == installation.HOME / "viz" / "__init__.py"


# ------------------------------------------------------------------------- command line

def test_doctor_reports_every_check(capsys):
    code = main(["doctor"])
    out = capsys.readouterr().out
    assert "packages autodiff, nn, viz are backproplab's" in out and "Graphviz" in out and "fonts" in out
    import autodiff
    engine_line = next(line for line in out.splitlines() if "eager engine:" in line)
    assert ("the C core" in engine_line) is autodiff.accelerated and engine_line.lstrip().startswith(
        "ok" if autodiff.accelerated or "BACKPROPLAB_PURE" in autodiff.engine.reason else "note")
    assert code == (1 if "FAIL" in out else 0)
    if shutil.which("dot") and "FAIL" not in out:
        assert out.strip().endswith("everything backproplab needs is in place")


def test_mistyped_command_gets_did_you_mean(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["exampels", "list"])
    assert exc.value.code == 2
    assert "unknown command 'exampels' (did you mean 'examples'?)" in capsys.readouterr().err


def test_mistyped_examples_action_gets_did_you_mean_and_its_usage(capsys):
    with pytest.raises(SystemExit):
        main(["examples", "lst"])
    err = capsys.readouterr().err
    assert err.startswith("usage: backproplab examples ") and "unknown action 'lst' (did you mean 'list'?)" in err


def test_unknown_option_prints_the_subcommands_usage(capsys):
    with pytest.raises(SystemExit):
        main(["draw", "x", "--set", "x=1", "--colour", "red"])
    err = capsys.readouterr().err
    assert err.startswith("usage: backproplab draw ") and "unrecognized arguments: --colour red" in err


def test_repeated_set_of_one_name_is_an_error(capsys):
    assert main(["draw", "x*y", "--set", "x=1,y=2", "--set", "x=3"]) == 2
    assert "--set x is given twice (x=1 and x=3)" in capsys.readouterr().err


def test_mistyped_function_gets_did_you_mean(capsys):
    assert main(["draw", "sigmod(x)", "--set", "x=1"]) == 2
    assert "did you mean 'sigmoid'?" in capsys.readouterr().err


def test_examples_list_and_a_mistyped_name(capsys):
    assert main(["examples", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("xor", "demo", "learning_slowdown", "mnist_experiments"):
        assert f"\n{name} " in "\n" + out
    assert "_util" not in out and set(example_names()) >= {"xor", "perceptron", "slides_network"}
    assert main(["examples", "run", "xr"]) == 2
    assert "no example 'xr' (did you mean 'xor'?)" in capsys.readouterr().err


def test_examples_run_passes_options_to_the_script(tmp_path, capsys):
    assert main(["examples", "run", "perceptron", "--quick", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "perceptron.png").stat().st_size > 10_000
    assert "converged" in capsys.readouterr().out


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed")
def test_demo_writes_graphs_and_the_stepper_page(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for name in ("nptel_forward.svg", "nptel_backward.svg", "nptel_stepper.html"):
        assert (tmp_path / name).stat().st_size > 1000 and str((tmp_path / name).resolve()) in out
    assert "dE/dout_H1" in out  # the lecture-check table
