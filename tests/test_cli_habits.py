"""The command line as a new user tries it: `backproplab examples` alone lists, the doctor sees a
`viz.py` in the working directory, MNIST downloads report progress."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from backproplab import doctor
from backproplab.cli import main
from nn import mnist

FIXTURE = Path(__file__).parent / "data" / "mnist"
SUMS = {line.split()[1]: line.split()[0] for line in (FIXTURE / "SHA256SUMS").read_text().splitlines()}


def test_examples_alone_lists(capsys):
    assert main(["examples"]) == 0
    out = capsys.readouterr().out
    assert "\nxor " in "\n" + out and "backproplab examples run NAME" in out


def test_doctor_sees_a_viz_py_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stream = io.StringIO()
    assert doctor.run(stream) == 0 or "FAIL" in stream.getvalue()  # whatever else this machine lacks
    before = [line for line in stream.getvalue().splitlines() if "FAIL" in line]
    (tmp_path / "viz.py").write_text("x = 1\n")
    stream = io.StringIO()
    assert doctor.run(stream) == 1
    fails = [line for line in stream.getvalue().splitlines() if "FAIL" in line]
    new = [line for line in fails if line not in before]
    assert len(new) == 1 and str(tmp_path / "viz.py") in new[0] and "rename it" in new[0]
    assert "everything backproplab needs is in place" not in stream.getvalue()


def test_mnist_download_reports_progress(tmp_path, capsys):
    mnist.download_mnist(tmp_path, mirrors=[FIXTURE.as_uri() + "/"], sums=SUMS)
    err = capsys.readouterr().err
    for name in SUMS:
        assert f"downloading {name}.gz (" in err and f"downloaded {name}.gz: " in err
    shutil.rmtree(tmp_path)
    mnist.download_mnist(tmp_path, mirrors=[FIXTURE.as_uri() + "/"], sums=SUMS, progress=False)
    assert capsys.readouterr().err == ""


def test_mnist_download_progress_in_place_on_a_terminal(tmp_path):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream, sink = Tty(), io.BytesIO()
    writer = mnist._ProgressWriter(sink, "f.gz", 2_000_000, stream)
    for _ in range(4):
        writer.write(b"x" * 500_000)
    writer.done()
    text = stream.getvalue()
    assert "\rdownloading f.gz: 1.0/2.0 MB ( 50 %)" in text and "(100 %)" in text
    assert text.endswith("\rdownloaded f.gz: 2.0 MB\n") and sink.getvalue() == b"x" * 2_000_000
