"""Issue 18: every input checked where it enters, and the same answer from every path.

The probes themselves live in ``tests/error_probes.py`` (the table ``docs/errors.md`` is written
from); here each one must raise its exact error type with a message naming the place, and
the other engine (C core ↔ pure Python, in a subprocess) must raise the same types. The rest
of this file tests the behaviour that is not an error: numbers stay Python floats, data
changed and restored before backward is no error, the check costs nothing when nothing was
written, labels of any length and code point draw, the IDX reader streams.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import re
import subprocess
import sys
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value, engine, staleness
from nn import mnist

import error_probes
from error_probes import PROBES

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------ the probe table

@pytest.mark.parametrize("probe", PROBES, ids=[p.id for p in PROBES])
def test_probe_raises_its_named_error(probe):
    with pytest.raises(BaseException) as info:
        probe.call()
    assert type(info.value) is probe.error, f"{probe.id}: {type(info.value).__name__}: {info.value}"
    assert re.search(probe.match, str(info.value)), f"{probe.id}: {info.value}"


def test_the_other_engine_raises_the_same_types():
    """Every probe again under the other engine (BACKPROPLAB_PURE toggled), in one subprocess:
    the same error types, and messages that name the same place."""
    env = dict(os.environ)
    if engine.core is not None:
        env["BACKPROPLAB_PURE"] = "1"
    else:
        env.pop("BACKPROPLAB_PURE", None)
        if not list((ROOT / "autodiff").glob("_ccore*.so")):
            pytest.skip("the C core is not built here (setup.py build_ext --inplace): one engine only")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "tests")])
    code = ("import json, autodiff, error_probes; "
            "print(json.dumps([autodiff.accelerated, error_probes.run_all()]))")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    accelerated, other = json.loads(out.stdout.strip().splitlines()[-1])
    assert accelerated != autodiff.accelerated
    for probe in PROBES:
        kind, message = other[probe.id]
        assert kind == probe.error.__name__, f"{probe.id} under the other engine: {kind}: {message}"
        assert re.search(probe.match, message), f"{probe.id} under the other engine: {message}"


def test_every_probe_names_what_it_used_to_do_and_a_place():
    ids = [p.id for p in PROBES]
    assert len(ids) == len(set(ids))
    for p in PROBES:
        assert p.before and p.match and issubclass(p.error, BaseException)


# ------------------------------------------------------------------ numbers stay Python floats

def test_numpy_scalars_assigned_to_data_and_grad_become_python_floats():
    """``v.data = np.float32(0.1)`` used to make later results float32."""
    v = Value(1.0, "v", param=True)
    v.data = np.float32(0.1)
    v.grad = np.float32(0.0)
    assert type(v.data) is float and type(v.grad) is float
    assert v.data == float(np.float32(0.1))
    loss = (v * 3.0).tanh()
    loss.backward()
    loss.backward()
    assert type(loss.data) is float and type(v.grad) is float
    v.data = 2  # an int too
    assert type(v.data) is float and v.data == 2.0


def test_load_state_dict_and_parameter_vector_store_floats_and_refuse_before_writing():
    model = nn.MLP(2, [3, 1], activation="sigmoid", seed=0)
    before = model.parameter_vector().copy()
    state = model.state_dict()
    state[next(iter(state))] = np.float32(0.5)
    model.load_state_dict(state)
    assert all(type(v.data) is float for v in model.parameters())
    bad = dict(state)
    bad[list(bad)[-1]] = "oops"
    with pytest.raises(TypeError, match="key 'layers.1.neurons.0.b'"):
        model.load_state_dict(bad)
    assert model.parameter_vector()[0] == 0.5  # nothing of the bad state was written
    model.set_parameter_vector(np.arange(13, dtype=np.float32))
    assert all(type(v.data) is float for v in model.parameters())
    assert before.shape == (13,)


def test_minus_one_to_the_infinite_power_is_one_as_in_pytorch(torch):
    for base in (-1.0, 1.0):
        for k in (math.inf, -math.inf):
            ours = (Value(base) ** k).data
            theirs = float(torch.tensor(base, dtype=torch.float64) ** k)
            assert ours == theirs == 1.0
            x, b = Value(0.0, "x"), Value(base, "b", param=True)  # the compiled tape: the same
            assert autodiff.compile((x + b) ** k, [x]).forward([[0.0]]).tolist() == [1.0]
            assert autodiff.compile((x + b) ** Value(k, "k"), [x]).forward([[0.0]]).tolist() == [1.0]


def test_unbound_methods_raise_type_error_in_both_engines():
    python_add = engine.PYTHON.get("__add__", Value.__add__)
    for fn in {Value.__add__, python_add}:
        with pytest.raises(TypeError):
            fn(3.0, 4.0)
    for name in ("__mul__", "tanh", "__neg__"):
        fn = engine.PYTHON.get(name, getattr(Value, name))
        with pytest.raises(TypeError):
            fn(3.0, 4.0) if name == "__mul__" else fn(3.0)


# ------------------------------------------------------------------ data changed before backward

def _graph():
    w, x = Value(2.0, "w", param=True), Value(0.5, "x")
    return w, x, (w * x).tanh() * w


def test_a_write_after_the_graph_is_refused_in_eager_and_compiled_alike():
    w, x, loss = _graph()
    tape = autodiff.compile(loss, [x])
    tape.forward([[0.5]])
    w.data = 3.0
    with pytest.raises(autodiff.StaleGraphError, match="op mul"):
        loss.backward()
    with pytest.raises(autodiff.StaleGraphError, match="node 'w'.*held 2.0"):
        tape.backward()
    assert w.grad == 0.0  # nothing was accumulated by either


def test_a_write_between_two_nodes_is_seen_even_by_a_root_built_after_it():
    """y = w·x; w changes; l = 2y: the root is newer than the write, its operand y is not."""
    w, x = Value(2.0, "w", param=True), Value(0.5, "x")
    y = w * x
    w.data = 3.0
    loss = y * 2.0
    with pytest.raises(autodiff.StaleGraphError, match=r"op mul, data=1\.0"):
        loss.backward()


def test_a_write_that_changes_nothing_or_is_undone_is_no_error():
    w, x, loss = _graph()
    w.data = w.data
    w.data = 5.0
    w.data = 2.0
    loss.backward()
    fresh_w, _, fresh = _graph()
    fresh.backward()
    assert w.grad == fresh_w.grad
    tape_w, tx, tloss = _graph()
    tape = autodiff.compile(tloss, [tx])
    tape.forward([[0.5]])
    tape_w.data = 7.0
    tape_w.data = 2.0
    tape.backward(reduction="sum")
    assert tape_w.grad == pytest.approx(fresh_w.grad, rel=1e-12)


def test_a_graph_built_after_every_write_is_not_walked(monkeypatch):
    """The usual loop (optimizer step, then a new forward) costs no check: the gate
    returns before any walk."""
    w, x, loss = _graph()
    walked = []
    real = staleness.topological_order
    monkeypatch.setattr(staleness, "topological_order",
                        lambda *a, **k: walked.append(1) or real(*a, **k))
    staleness.check_graph(loss)
    assert walked == []
    w.data = 2.5
    with pytest.raises(autodiff.StaleGraphError):
        staleness.check_graph(loss)
    assert walked == [1]


def test_the_check_is_what_catches_it():
    """Plant the defect: without the check, eager backward mixes the old tanh with the new w
    and gives neither point's gradient (the number the issue reports, 1.3916)."""
    w, x, loss = _graph()
    w.data = 3.0
    old = staleness.check_graph
    try:
        staleness.check_graph = lambda root, where="": None
        import autodiff.backprop as backprop
        backprop.check_graph = staleness.check_graph
        loss.backward()
    finally:
        staleness.check_graph = old
        backprop.check_graph = old
    assert round(w.grad, 4) == 1.3916
    at_new, _, fresh = (lambda w_, x_: (w_, x_, (w_ * x_).tanh() * w_))(Value(3.0, param=True), Value(0.5))
    fresh.backward()
    assert abs(w.grad - at_new.grad) > 0.1


def test_c_core_and_python_stamp_nodes_alike():
    w, x, loss = _graph()
    assert loss._stamp == staleness.CLOCK[0]
    assert w._stamp == x._stamp == math.inf
    python_mul = engine.PYTHON.get("__mul__", Value.__mul__)
    y = python_mul(w, x)
    assert y._stamp == loss._stamp


def test_editing_inputs_keeps_the_graph_acyclic_and_checked():
    x, b = Value(1.0, "x"), Value(2.0, "b")
    y = x * 3.0
    z = y + b
    y.inputs = (b, y.inputs[1])  # a legal edit: y is now 2 * 3 in structure but holds 3.0
    with pytest.raises(autodiff.StaleGraphError, match="op mul"):
        z.backward()
    with pytest.raises(ValueError, match="op mul takes 2 operands, got 1"):
        y.inputs = (b,)
    with pytest.raises(TypeError, match="item 0 is float"):
        y.inputs = (1.0, b)
    with pytest.raises(ValueError, match="a leaf has no operands"):
        x.inputs = (b, b)


# ------------------------------------------------------------------ the tape: threads

def test_a_tape_run_from_two_threads_at_once_says_so():
    w, x, loss = _graph()
    tape = autodiff.compile(loss, [x])
    inside, release = threading.Event(), threading.Event()

    class SlowBatch:
        def __array__(self, dtype=None, copy=None):
            inside.set()
            release.wait(10)
            return np.array([[0.5]])

    result = {}
    first = threading.Thread(target=lambda: result.setdefault("a", tape.forward(SlowBatch())))
    first.start()
    assert inside.wait(10)
    try:
        with pytest.raises(RuntimeError, match="tape.forward: this tape is being run by another thread"):
            tape.forward([[0.5]])
    finally:
        release.set()
        first.join(10)
    assert result["a"].shape == (1,)
    tape.forward([[0.5]])  # free again
    tape.backward()


# ------------------------------------------------------------------ labels draw

@pytest.mark.parametrize("label", ["a\uffffb", "\ufffe", "x" * 5000, "é\u0301\u200b\u202e", "\U0001fffe",
                                   "<script>" * 300])
def test_labels_of_any_length_and_code_point_draw(label, tmp_path):
    import shutil
    import viz
    from viz.html_page import write_html
    from viz.text_safety import MAX_DRAWN_NAME
    w = Value(0.5, label, param=True)
    loss = (w * 2.0).tanh()
    loss.backward()
    drawing = viz.draw(loss, view="backward")
    assert "\uffff" not in drawing.source and "\ufffe" not in drawing.source
    if len(label) > MAX_DRAWN_NAME:
        assert "…" in drawing.source
    if shutil.which("dot"):
        svg = drawing.svg()
        assert "<svg" in svg
        if len(label) > MAX_DRAWN_NAME and "<" not in label:
            assert label in svg  # the full name, in the tooltip
        write_html(loss, tmp_path / "p.html")
        assert (tmp_path / "p.html").stat().st_size > 0


def test_the_command_line_draws_long_names_and_refuses_unprintable_ones(tmp_path, capsys):
    """The CLI's door: names come from the expression, so U+FFFF (not an identifier) is
    refused with a usage error naming it; a 3000-character name draws, shortened, with the
    full name in the tooltip; the step page is written."""
    import shutil
    from viz.cli import main
    from viz.text_safety import MAX_DRAWN_NAME
    long = "w" * 3000
    assert main(["draw", "tanh(a\uffffb*x)", "--set", "x=3"]) == 2
    assert "invalid non-printable character U+FFFF" in capsys.readouterr().err
    assert main(["draw", "tanh(w*x)", "--set", "w\uffff=2", "--set", "x=3"]) == 2
    assert "'w\\uffff' is not a variable name" in capsys.readouterr().err
    if shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed: the drawing half needs it")
    out = tmp_path / "g.svg"
    assert main(["draw", f"tanh({long}*x)", "--set", f"{long}=2,x=3", "--view", "backward", "-o", str(out)]) == 0
    svg = out.read_text(encoding="utf-8")
    assert long in svg and "…" in svg and long[:MAX_DRAWN_NAME + 1] + "<" not in svg
    page = tmp_path / "p.html"
    assert main(["step", f"tanh({long}*x)", "--set", f"{long}=2,x=3", "--html", str(page)]) == 0
    assert page.stat().st_size > 0


def test_fit_auto_runs_hooks_eagerly_and_compiled_refuses_them():
    """compile() refuses a hooked graph with NotImplementedError, which fit(engine="auto")
    takes as "use eager": the hook runs, as backward() would run it."""
    model = nn.MLP(2, [3, 1], activation="sigmoid", seed=0)
    seen, hooked_before = [], Value.leaf_hooks
    remove = model.parameters()[0].register_hook(lambda g: seen.append(g))
    try:  # a leaf hook sends every backward of the process down the slow path until removed
        nn.fit(model, np.ones((4, 2)), np.zeros(4), epochs=2, progress=False)
        assert len(seen) == 2
        with pytest.raises(NotImplementedError, match=r"node 'layers\.0\.neurons\.0\.w\.0' .* has a hook"):
            nn.fit(model, np.ones((4, 2)), np.zeros(4), epochs=1, progress=False, engine="compiled")
    finally:
        remove()
    assert Value.leaf_hooks == hooked_before


def test_shorten_keeps_both_ends():
    from viz.text_safety import shorten
    name = "layers.0.neurons.1." + "x" * 100 + ".w.3"
    short = shorten(name, 20)
    assert len(short) == 20 and short.startswith("layers.0.") and short.endswith(".w.3") and "…" in short
    assert shorten("w₁") == "w₁"


# ------------------------------------------------------------------ gradient checks

def test_stepper_check_at_a_domain_edge_says_undefined_here():
    from viz.stepper import Stepper
    x = Value(1e-7, "x")
    s = Stepper(x.log() * 2.0)
    s.next()
    s.next()
    check = s.check()
    assert not check.ok and "undefined here" in check.text and "log" in check.text
    for bad, kind in ((0, ValueError), ("a", TypeError), (math.nan, ValueError)):
        with pytest.raises(kind, match=r"Stepper\.check\(eps\)"):
            s.check(eps=bad)
    with pytest.raises(ValueError, match=r"Stepper\.check\(atol\) must be a finite number"):
        s.check(atol=math.nan)


def test_terminal_check_at_a_domain_edge_says_undefined_here():
    from viz.stepper import Stepper
    from viz.terminal import run
    x = Value(0.0, "x")
    s = Stepper(x ** 0.5 * 2.0)
    out = io.StringIO()
    run(s, io.StringIO("step 2\ncheck\n"), out)
    assert "undefined here" in out.getvalue()


def test_terminal_check_takes_an_eps_and_names_a_bad_one():
    """`check EPS` follows the "pass a smaller eps" advice; arguments used to be ignored."""
    from viz.stepper import Stepper
    from viz.terminal import run
    out = io.StringIO()
    code = run(Stepper(Value(1e-7, "x").log() * 2.0),
               io.StringIO("step 2\ncheck\ncheck 1e-9\ncheck a\ncheck 0\ncheck nan\ncheck 1 2\n"
                           "break small a\nbreak small inf\n"), out)
    text = out.getvalue()
    first, rest = text.split("> check 1e-9\n")
    assert "undefined here" in first
    assert rest.split("\n")[0].endswith("-> ok") and "undefined" not in rest.split("\n")[0]
    assert "error: check EPS: 'a' is not a number" in text
    assert "error: Stepper.check(eps) must be a finite number > 0, got 0.0" in text
    assert "error: Stepper.check(eps) must be a finite number, got nan" in text
    assert "error: usage: check [EPS]; got '1 2'" in text
    assert "error: break small EPS: 'a' is not a number" in text
    assert "error: break_on_small(eps) must be a finite number, got inf" in text
    assert code == 1


def test_gradcheck_arguments_are_checked_like_local_gradcheck():
    x = Value(1.0, "x")
    with pytest.raises(ValueError, match=r"gradcheck\(atol\) must be a finite number"):
        autodiff.gradcheck(lambda a: a.exp(), [x], atol=math.nan)
    with pytest.raises(TypeError, match=r"gradcheck\(eps\) must be a real number"):
        autodiff.gradcheck(lambda a: a.exp(), [x], eps="a")
    assert autodiff.gradcheck(lambda a: a.exp(), [x])


# ------------------------------------------------------------------ the IDX reader streams

def test_the_bomb_is_refused_without_inflating_it():
    path = error_probes._bomb()
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match="max_bytes"):
            mnist.read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # the 1 MB body is not even inflated


def test_a_header_that_understates_the_body_stops_at_one_extra_byte(tmp_path):
    path = tmp_path / "x.gz"
    with gzip.open(path, "wb") as f:
        f.write(error_probes._shape_header(4))
        f.write(bytes(5_000_000))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"x\.gz: IDX header says shape \(4,\) \(4 data bytes\) but the "
                                             r"file holds more than 4"):
            mnist.read_idx(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


def test_streamed_reading_gives_what_parsing_the_whole_file_gives():
    fixture = Path(__file__).parent / "data" / "mnist"
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        whole = mnist.parse_idx(gzip.decompress((fixture / name).read_bytes()), name)
        streamed = mnist.read_idx(fixture / name)
        assert streamed.dtype == whole.dtype and np.array_equal(streamed, whole)


def test_max_bytes_lets_a_larger_file_through(tmp_path):
    path = tmp_path / "big.idx"
    path.write_bytes(error_probes._shape_header(100) + bytes(100))
    with pytest.raises(ValueError, match="more than max_bytes = 50"):
        mnist.read_idx(path, max_bytes=50)
    assert mnist.read_idx(path, max_bytes=100).shape == (100,)


# ------------------------------------------------------------------ docs/errors.md

def _errors_doc():
    import importlib.util
    spec = importlib.util.spec_from_file_location("errors_doc", ROOT / "scripts" / "errors_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_errors_page_is_what_the_script_writes_from_the_probe_table():
    doc = _errors_doc()
    page = doc.PAGE.read_text(encoding="utf-8")
    assert doc.page_with(doc.render(), page) == page, "run: python scripts/errors_doc.py"
    for probe in PROBES:
        assert f"| `{probe.id}` |" in page


def test_every_row_of_the_errors_page_names_a_test_that_exists():
    page = (ROOT / "docs" / "errors.md").read_text(encoding="utf-8")
    cited = re.findall(r"`(tests/test_[a-z_]+\.py)::(test_[a-z0-9_]+)`", page)
    assert len(cited) >= 30
    for file, name in cited:
        source = (ROOT / file).read_text(encoding="utf-8")
        assert re.search(rf"^def {name}\(", source, re.M), f"docs/errors.md cites {file}::{name}, which does not exist"
    rows, cites = [], False  # rows of the hand-written tables (their header has a test column)
    for line in page.splitlines():
        if line.startswith("| probe |"):
            cites = line.rstrip().endswith("| test |")
        elif line.startswith("| ") and cites:
            rows.append(line)
    assert len(rows) >= 25
    assert all("::test_" in line for line in rows), [r for r in rows if "::test_" not in r][:3]


def test_a_tape_backward_twice_around_an_optimizer_step_is_refused():
    """After a first backward the tape stops watching (no copy of θ in a training loop);
    a second backward after a write, with no forward between, is refused."""
    w, x, loss = _graph()
    tape = autodiff.compile(loss, [x])
    tape.forward([[0.5]])
    tape.backward()
    tape.backward()  # nothing written: allowed (gradients accumulate)
    nn.SGD([w], lr=0.1).step()
    with pytest.raises(autodiff.StaleGraphError, match="since the last tape.backward"):
        tape.backward()
    tape.forward([[0.5]])
    tape.backward()
    assert not staleness._WATCHERS or tape not in staleness._WATCHERS


def test_lists_holding_bools_among_numbers_are_refused_like_value_refuses_them():
    from autodiff import validate
    for bad in ([[True, 0.5]], [[0, False]], [[1.0, np.bool_(True)]]):
        with pytest.raises(TypeError, match=r"row 0, column [01] is bool"):
            validate.batch(bad, "X", 2)
    assert validate.batch([[1, 2.5]], "X", 2).tolist() == [[1.0, 2.5]]


def test_copies_and_loaded_graphs_are_checked_too():
    import copy
    import pickle
    w, x = Value(2.0, "w", param=True), Value(0.5, "x")
    y = w * x
    w.data = 3.0
    for stale in (copy.copy(y) * 2.0, copy.deepcopy(y) * 2.0):
        with pytest.raises(autodiff.StaleGraphError):
            stale.backward()
    loaded = pickle.loads(pickle.dumps(y * 2.0))  # pickled stale: refused once loaded
    with pytest.raises(autodiff.StaleGraphError):
        loaded.backward()
    w.data = 2.0
    fine = pickle.loads(pickle.dumps(y * 2.0))
    fine.backward()
    assert fine.inputs[0].inputs[0].grad == 1.0


def test_an_optimizer_over_part_of_the_model_is_accepted():
    """Freezing layers is legitimate: only an optimizer over none of the model's parameters is
    refused."""
    model = nn.MLP(2, [3, 1], activation="sigmoid", seed=0)
    last = model.layers[-1].parameters()
    first = model.layers[0].parameters()
    before = [p.data for p in first]
    autodiff.ParameterStore(model.parameters())  # one store for the model (as a tape or fit makes)
    nn.fit(model, np.ones((4, 2)), np.ones(4), optimizer=nn.SGD(last, lr=0.5), epochs=2, progress=False)
    assert [p.data for p in first] == before
    assert any(p.grad != 0.0 for p in last)


def test_a_user_loss_returning_a_value_trains_as_before():
    model = nn.MLP(2, [3, 1], activation="sigmoid", seed=0)
    history = nn.fit(model, np.ones((4, 2)), np.zeros(4), epochs=3, progress=False, lr=0.5,
                     loss=lambda outputs, targets: sum((o - t) ** 2 for o, t in zip(outputs, targets)))
    assert history.loss[-1] < history.loss[0]
