"""The distribution as a user gets it: the sdist carries (and passes) its own tests, the wheel built
from that sdist installs into a new virtual environment and works from a directory outside the checkout.

Speed: no build isolation and no package index. The new venv is made without pip (the running
pip installs into it with ``--python``) and sees this environment's numpy, graphviz and matplotlib
through a ``.pth`` line placed *after* its own site-packages, so everything named backproplab,
autodiff, nn or viz comes from the installed wheel.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".venv", ".git", "out", "build", "dist", "*.egg-info", "__pycache__",
                                ".pytest_cache", ".hypothesis", "*.pyc", "*.so")


def sh(args, cwd, timeout=600, check=True, unset=()):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", *unset)}
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)
    if check:
        assert proc.returncode == 0, f"{args}\n--- stdout\n{proc.stdout[-3000:]}\n--- stderr\n{proc.stderr[-3000:]}"
    return proc


def build(kind: str, source: Path, out: Path) -> Path:
    """``setuptools.build_meta.build_<kind>`` run in ``source``; returns the file."""
    code = f"from setuptools import build_meta as b; print(b.build_{kind}({str(out)!r}))"
    name = sh([sys.executable, "-c", code], source).stdout.strip().splitlines()[-1]
    return out / name


def test_every_package_directory_is_listed_in_pyproject():
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for top in ("autodiff", "nn", "viz", "backproplab")
             for p in (REPO / top).rglob("__init__.py")}
    assert found | {"backproplab.examples"} == listed
    for top in ("autodiff", "nn", "viz", "backproplab"):
        assert (REPO / top / "py.typed").exists()


@pytest.fixture(scope="module")
def dists(tmp_path_factory):
    """(unpacked sdist, wheel built from it)."""
    tmp = tmp_path_factory.mktemp("dist")
    tree = tmp / "tree"
    shutil.copytree(REPO, tree, ignore=IGNORE)
    sdist = build("sdist", tree, tmp)
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp / "unpacked", filter="data")
    (unpacked,) = (tmp / "unpacked").iterdir()
    wheel = build("wheel", unpacked, tmp)
    return unpacked, wheel


def test_sdist_carries_and_passes_its_own_tests(dists):
    unpacked, _ = dists
    for rel in ("LICENSE", "tests/conftest.py", "tests/data/golden.json", "tests/data/mnist/SHA256SUMS",
                "examples/xor.py", "examples/tour.ipynb", "examples/README.md", "scripts/test.sh", "viz/py.typed"):
        assert (unpacked / rel).is_file(), rel
    assert sorted(p.name for p in (unpacked / "tests").glob("test_*.py")) == \
        sorted(p.name for p in (REPO / "tests").glob("test_*.py"))
    # Its whole suite but this file (which would build and install again): the sdist's own
    # pyproject puts its root first on sys.path, so the tests exercise the unpacked copy.
    where = sh([sys.executable, "-c", "import autodiff, examples; print(autodiff.__file__, examples.__file__)"],
               unpacked).stdout
    assert where.count(str(unpacked)) == 2, where
    # (The opt-in MNIST check is left to the checkout's run.)
    proc = sh([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "tests",
               "--ignore", "tests/test_packaging.py"], unpacked, timeout=1800, unset=("BACKPROPLAB_MNIST",))
    summary = proc.stdout.strip().splitlines()[-1]  # "N passed, … xfailed …" (an xfail is expected)
    assert proc.returncode == 0 and " passed" in summary, proc.stdout[-3000:]
    assert not re.search(r"\b\d+ (failed|error)", summary), proc.stdout[-3000:]


def test_wheel_contents(dists):
    _, wheel = dists
    names = set(zipfile.ZipFile(wheel).namelist())
    for rel in ("backproplab/__init__.py", "backproplab/cli.py", "backproplab/examples/xor.py",
                "backproplab/examples/_util.py", "backproplab/examples/tour.ipynb", "backproplab/examples/README.md",
                "autodiff/py.typed", "nn/py.typed", "viz/py.typed", "backproplab/py.typed", "viz/assets/stepper.js"):
        assert rel in names, rel
    assert not any(n.startswith(("tests/", "examples/", "bench/")) for n in names)
    # the eager engine's C core, compiled when a compiler is there (the set-up installs one)
    assert any(n.startswith("autodiff/_ccore") and n.endswith((".so", ".pyd")) for n in names) is \
        bool(shutil.which("cc") or shutil.which("gcc")), sorted(n for n in names if "_ccore" in n)
    meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    assert "License-Expression: MIT" in text and "Classifier: Intended Audience :: Education" in text
    assert "Provides-Extra: plots" in text and any(n.endswith("licenses/LICENSE") for n in names)


def test_wheel_installed_in_a_new_venv_works_outside_the_checkout(dists, tmp_path):
    _, wheel = dists
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    sh([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index", wheel], tmp_path)
    site = Path(sh([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                   tmp_path).stdout.strip())
    (site / "zz_outer_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    work = tmp_path / "work"
    work.mkdir()

    where = sh([python, "-c", "import backproplab as bl, autodiff, nn, viz; "
                "print(bl.__version__, autodiff.__file__, nn.__file__, viz.__file__, bl.nn is nn)"], work).stdout
    assert where.split()[0] == "0.1.0" and where.count(str(site)) == 3 and where.split()[-1] == "True", where
    with_core = any("_ccore" in n for n in zipfile.ZipFile(wheel).namelist())
    assert sh([python, "-c", "import autodiff; print(autodiff.accelerated)"], work,
              unset=("BACKPROPLAB_PURE",)).stdout.strip() == str(with_core)
    console = env_dir / "bin" / "backproplab"
    assert sh([console, "--version"], work).stdout.strip() == "backproplab 0.1.0"
    assert sh([python, "-m", "backproplab", "--version"], work).stdout.strip() == "backproplab 0.1.0"
    assert "xor" in sh([console, "examples", "list"], work).stdout

    run = sh([console, "examples", "run", "xor", "--quick", "--out", work / "xor"], work)
    assert "accuracy 100 %" in run.stdout and (work / "xor" / "xor.png").stat().st_size > 10_000
    if shutil.which("dot"):
        demo = sh([console, "demo", "--out", work / "demo"], work)
        assert (work / "demo" / "nptel_backward.svg").stat().st_size > 1000 and "step-through page" in demo.stdout
        doctor = sh([console, "doctor"], work, check=False)
        assert "packages autodiff, nn, viz are backproplab's" in doctor.stdout

    # `pip install viz` (PyPI's viz 0.0.5 is Python 2 code) writes over our viz/__init__.py:
    (site / "viz" / "__init__.py").write_text("print 'viz'\n")
    broken = sh([python, "-c", "import backproplab"], work, check=False)
    assert broken.returncode == 1 and "ShadowedPackageError" in broken.stderr
    assert str(site / "viz" / "__init__.py") in broken.stderr and "pip uninstall viz" in broken.stderr
    doctor = sh([console, "doctor"], work, check=False)
    assert doctor.returncode == 1 and "viz/__init__.py" in doctor.stdout
    assert "differ from backproplab's wheel" in doctor.stdout


def test_without_a_compiler_the_build_notes_it_and_the_pure_engine_runs(tmp_path):
    """CC=false stands for a machine with no working C compiler: the wheel still builds, one line
    says the C core was not built, and autodiff runs on the pure-Python engine."""
    tree = tmp_path / "tree"
    shutil.copytree(REPO, tree, ignore=IGNORE)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "BACKPROPLAB_PURE")}
    env["CC"] = "false"
    code = f"from setuptools import build_meta as b; print(b.build_wheel({str(tmp_path)!r}))"
    proc = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    notes = [line for line in (proc.stdout + proc.stderr).splitlines() if line.startswith("backproplab: C core not built")]
    assert len(notes) == 1, (proc.stdout + proc.stderr)[-3000:]
    wheel = tmp_path / proc.stdout.strip().splitlines()[-1]
    assert not any("_ccore" in n and not n.endswith(".c") for n in zipfile.ZipFile(wheel).namelist())
    # -S and site-packages on PYTHONPATH: no .pth file runs, so this checkout's editable install
    # (whose finder would map autodiff._ccore to the checkout's build) stays out of the way
    env["PYTHONPATH"] = os.pathsep.join([str(tree), sysconfig.get_paths()["purelib"]])
    out = subprocess.run([sys.executable, "-S", "-c", "import autodiff; print(autodiff.accelerated, autodiff.engine.reason)"],
                         cwd=tree, capture_output=True, text=True, env=env, check=True).stdout
    assert out.startswith("False the C extension autodiff._ccore is not built"), out
