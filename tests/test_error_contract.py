"""Issue 12: every probe of the adversarial sweep, kept as a test (docs/errors.md lists them).

Each test states what used to happen and asserts what happens now: PyTorch's behaviour
where there is a trusted peer, otherwise a named error that says what to do.
"""

from __future__ import annotations

import copy
import gzip
import math
import pickle
import shutil
import subprocess
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest

import autodiff
import nn
from autodiff import Value
from nn import mnist
from viz.cli import main

FIXTURE = Path(__file__).parent / "data" / "mnist"
SUMS = {line.split()[1]: line.split()[0] for line in (FIXTURE / "SHA256SUMS").read_text().splitlines()}


# ------------------------------------------------------------------ silent wrong values

def test_no_grad_is_per_thread():
    """Two threads entering and leaving no_grad interleaved used to leave recording off for
    good (every later backward gave 0); now each thread has its own switch, as in PyTorch."""
    inside_a, b_entered, seen_by_other = threading.Event(), threading.Event(), []

    def a() -> None:
        with autodiff.no_grad():
            inside_a.set()
            b_entered.wait(5)
        seen_by_other.append(autodiff.is_grad_enabled())

    def b() -> None:
        inside_a.wait(5)
        with autodiff.no_grad():
            b_entered.set()
            x = Value(1.0)
            seen_by_other.append((x * 2).op)  # recording is off in this thread

    def c() -> None:  # a third thread, while others are inside no_grad, still records
        inside_a.wait(5)
        seen_by_other.append((Value(1.0) * 2).op)

    threads = [threading.Thread(target=f) for f in (a, b, c)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert "" in seen_by_other and "mul" in seen_by_other
    assert autodiff.is_grad_enabled()
    x = Value(1.0, "x")
    (x * 3).backward()
    assert x.grad == 3.0


def test_no_grad_nests_and_restores_in_one_thread():
    with autodiff.no_grad():
        with autodiff.no_grad():
            assert not autodiff.is_grad_enabled()
        assert not autodiff.is_grad_enabled() and (Value(1.0) + 1).op == ""
    assert autodiff.is_grad_enabled() and (Value(1.0) + 1).op == "add"


@pytest.mark.parametrize("build", [
    lambda a, b: (a * b) ** 0.5,            # d√u/du = ∞ at u = 0, then ∞ · 0 in mul
    lambda a, b: b ** 0.5 - b ** 0.5,       # +∞ and −∞ meet in b's gradient
])
def test_nan_reaching_a_leaf_raises_in_eager_as_in_compiled(build):
    a, b = Value(2.0, "a", param=True), Value(0.0, "b", param=True)
    with pytest.raises(FloatingPointError, match="NaN gradient"):
        build(a, b).backward()
    x = Value(0.0, "x")
    p, q = Value(2.0, "p", param=True), Value(0.0, "q", param=True)
    tape = autodiff.compile(build(p, q) + 0.0 * x, inputs=[x])
    tape.forward(np.zeros((2, 1)))
    with pytest.raises(FloatingPointError, match="NaN gradient"):
        tape.backward()
    assert p.grad == 0.0 and q.grad == 0.0  # nothing added


def test_backward_overflow_raises_like_forward_overflow():
    """Used to pass ±inf silently while the same overflow forward raises."""
    f = Value(1e-160, "f")
    with pytest.raises(OverflowError, match="local derivative overflows.*'f'"):  # d(1/f)/df = −1e320
        (1 / f).backward()
    w = Value(1e-200, "w")
    with pytest.raises(OverflowError, match="both factors are finite"):  # 1e200 · 1e200, forward 1e200
        ((w * 1e200) * 1e200).backward()
    v = Value(1e-308, "v")
    with pytest.raises(OverflowError, match="'v'.*overflows to inf from finite contributions"):
        (v * 1e308 + v * 1e308).backward()  # forward 2.0; 1e308 + 1e308 accumulate in v
    x = Value(0.0, "x")
    (x ** 0.5).backward()  # a limit, not an overflow: as in PyTorch
    assert x.grad == math.inf
    y = Value(math.inf, "y")
    z = Value(2.0, "z")
    (y * z).backward()  # an infinite input the user gave passes, as in forward
    assert z.grad == math.inf


def test_cli_constant_folding_refuses_nan_and_inf(tmp_path, capsys):
    assert main(["draw", "x+(1e308*10-1e308*10)", "--set", "x=1", "-o", str(tmp_path / "g.svg")]) == 2
    assert "1e+308 * 10.0 is not a finite real number" in capsys.readouterr().err
    assert main(["step", "w*(0*1e999)", "--set", "w=1"]) == 2
    assert "too large for a float" in capsys.readouterr().err
    assert main(["step", "w*x", "--set", "w=1,x=nan"]) == 2
    assert "finite" in capsys.readouterr().err


def test_compile_with_a_parameter_as_root():
    """Used to return [2, 0, 0] over 3 samples, and backward('sum') gave 1 instead of 3."""
    w, x = Value(2.0, "w", param=True), Value(0.0, "x")
    tape = autodiff.compile(w, inputs=[x])
    assert tape.forward(np.ones((3, 1))).tolist() == [2.0, 2.0, 2.0]
    assert tape.backward("sum").tolist() == [3.0]
    assert tape.backward("mean").tolist() == [1.0]


def test_maximum_propagates_nan_whatever_the_order():
    for values in ([1.0, math.nan], [math.nan, 1.0], [math.nan, math.nan]):
        m = autodiff.maximum([Value(v) for v in values])
        assert math.isnan(m.data)
    a, b = Value(1.0, "a"), Value(math.nan, "b")
    steps = list(autodiff.chain_rule(autodiff.maximum([a, b]), record=True))
    assert [e.local for e in steps[0].edges] == [0.0, 1.0]  # the NaN input is the "max"


def test_bool_of_a_value_is_data_not_zero():
    assert not Value(0.0) and not Value(-0.0) and Value(2.0) and Value(math.nan)


def test_complex_data_is_refused_not_truncated():
    x, w = Value(0.0, "x"), Value(1.0, "w", param=True)
    tape = autodiff.compile(w * x, inputs=[x])
    with pytest.raises(TypeError, match="complex"):
        tape.forward(np.array([[1 + 2j]]))
    model = nn.MLP(1, [1], seed=0)
    with pytest.raises(TypeError, match="complex"):
        nn.fit(model, np.array([[1 + 1j]]), np.array([1.0]), epochs=1)


def test_mnist_arrays_checks_n_and_start():
    for bad in ({"n": -5}, {"n": 0}, {"start": -1}, {"start": 99}):
        with pytest.raises(ValueError, match="mnist_arrays"):
            nn.mnist_arrays(FIXTURE, "train", sums=SUMS, **bad)
    for bad in ({"n": 2.5}, {"start": "0"}, {"n": True}):  # a wrong kind: TypeError, as validate.int_at_least
        with pytest.raises(TypeError, match=r"mnist_arrays\((n|start)\) must be an int"):
            nn.mnist_arrays(FIXTURE, "train", sums=SUMS, **bad)


@pytest.mark.parametrize("make", [nn.two_moons, nn.circles, nn.spirals])
@pytest.mark.parametrize("noise", [math.nan, math.inf, -0.1])
def test_toy_sets_refuse_nan_noise(make, noise):
    with pytest.raises(ValueError, match="noise"):
        make(noise=noise)
    with pytest.raises(ValueError, match="turns"):
        nn.spirals(turns=math.nan)


def test_a_hook_returning_nan_is_an_error():
    x = Value(1.0, "x")
    remove = x.register_hook(lambda g: math.nan)
    try:
        with pytest.raises(FloatingPointError, match="hook on node 'x'"):
            (x * 2).backward()
    finally:
        remove()  # a leaf hook left registered keeps later graphs off the C core


def test_sum_adds_left_to_right_in_eager_and_compiled():
    """Eager used math.fsum (1.0), compiled adds in order (0.0), as PyTorch does."""
    leaves = [Value(0.0, f"x{i}") for i in range(3)]
    w = Value(1.0, "w", param=True)
    s = autodiff.sum([Value(1e16), Value(1.0), Value(-1e16)])
    assert s.data == 0.0
    tape = autodiff.compile(autodiff.sum(leaves) * w, inputs=leaves)
    assert tape.forward(np.array([[1e16, 1.0, -1e16]])).tolist() == [0.0]
    try:
        import torch
    except ImportError:
        return
    assert torch.tensor([1e16, 1.0, -1e16], dtype=torch.float64).sum().item() == s.data


# ------------------------------------------------------------------- hangs and crashes

def _corrupt_cache(tmp_path: Path) -> Path:
    cache = tmp_path / "cache"
    cache.mkdir(parents=True)
    for name in SUMS:
        shutil.copy(FIXTURE / f"{name}.gz", cache / f"{name}.gz")
    good = (cache / "train-images-idx3-ubyte.gz").read_bytes()
    (cache / "train-images-idx3-ubyte.gz").write_bytes(good[:20] + bytes(200) + good[220:])
    return cache


def test_corrupt_cached_gzip_names_the_file_or_is_fetched_again(tmp_path):
    cache = _corrupt_cache(tmp_path)
    bad = cache / "train-images-idx3-ubyte.gz"
    with pytest.raises(ValueError, match=f"{bad}.*Delete"):
        nn.load_mnist(cache, "train", sums=SUMS)
    mirrors = [FIXTURE.as_uri() + "/"]
    images, labels = nn.load_mnist(split="train", download=True, sums=SUMS, cache_dir=cache, mirrors=mirrors)
    assert images.shape == (12, 28, 28) and len(labels) == 12
    cache2 = _corrupt_cache(tmp_path / "second")
    assert mnist.download_mnist(cache2, mirrors=mirrors, sums=SUMS) == cache2
    assert mnist.read_idx(cache2 / "train-images-idx3-ubyte.gz", SUMS["train-images-idx3-ubyte"]).shape[0] == 12


def test_an_interrupted_download_leaves_no_part_file(tmp_path, monkeypatch):
    def interrupted(src, dst, *args, **kwargs):
        dst.write(b"partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(mnist.shutil, "copyfileobj", interrupted)
    with pytest.raises(KeyboardInterrupt):
        mnist.download_mnist(tmp_path, mirrors=[FIXTURE.as_uri() + "/"], sums=SUMS)
    assert list(tmp_path.glob("*.part")) == [] and list(tmp_path.iterdir()) == []


def _chain(depth: int) -> tuple[Value, Value]:
    x = Value(0.5, "x", param=True)
    v = x
    for i in range(depth):
        v = (v * 0.999).tanh() if i % 2 else v + 0.001
    return x, v


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_keeps_values_ops_and_shared_nodes(protocol):
    w, x = Value(0.5, "w", param=True), Value(2.0, "x")
    h = (w * x).tanh()
    loss = autodiff.softmax([h * h, h + w])[0] + autodiff.dot([w], [x], 1.0)
    loss.backward()
    loss2, w2 = pickle.loads(pickle.dumps((loss, w), protocol=protocol))
    assert (loss2.data, loss2.op, w2.grad, w2.param, w2.label) == (loss.data, loss.op, w.grad, True, "w")
    assert any(v is w2 for v in autodiff.topological_order(loss2))  # shared, not duplicated
    w.grad = w2.grad = 0.0
    loss.backward()
    loss2.backward()
    assert w2.grad == w.grad


def test_pickle_copy_and_deepcopy_of_a_100k_deep_chain():
    x, root = _chain(100_000)
    for clone in (pickle.loads(pickle.dumps(root)), copy.deepcopy(root)):
        assert clone.data == root.data and clone is not root
        leaf = autodiff.topological_order(clone)[0]
        assert leaf.label == "x" and leaf is not x
    shallow = copy.copy(root)
    assert shallow.inputs[0] is root.inputs[0] and shallow.data == root.data


def test_a_model_pickles_and_copies():
    model = nn.MLP(2, [3, 1], seed=0)
    twin = pickle.loads(pickle.dumps(model))
    same = copy.deepcopy(model)
    x = [0.3, -0.2]
    for other in (twin, same):
        assert other(x).data == model(x).data          # one output: a Value (issue 10)
        assert [p.data for p in other.parameters()] == [p.data for p in model.parameters()]
    softmax = nn.MLP(2, [3, 2], activation="leaky_relu(0.2)", output_activation="softmax", seed=0)
    assert [v.data for v in pickle.loads(pickle.dumps(softmax))(x)] == [v.data for v in softmax(x)]


def test_copying_a_node_with_hooks_warns():
    x = Value(1.0, "x")
    remove = x.register_hook(lambda g: None)
    try:
        with pytest.warns(UserWarning, match="hooks"):
            copy.deepcopy(x)
        with pytest.warns(UserWarning, match="hooks"):
            pickle.dumps(x * 2 + x)
    finally:
        remove()  # a leaf hook left registered keeps later graphs off the C core


def test_unpickling_an_unknown_op_names_it(clean_ops):
    op = autodiff.register(autodiff.Op("twice_test", 1, lambda a, attr=None: 2 * a,
                                       lambda xs, out, attr: (2.0,), "twice", "c = 2a"))
    data = pickle.dumps(autodiff.apply(op, (Value(1.0),)))
    del autodiff.OPS["twice_test"]
    with pytest.raises(ValueError, match="'twice_test'.*register"):
        pickle.loads(data)


def test_gradcheck_validates_eps_and_explains_the_domain_edge():
    with pytest.raises(ValueError, match="eps"):
        autodiff.gradcheck(lambda x: x * x, [Value(1.0)], eps=0)
    with pytest.raises(ValueError, match="leaves the function's domain.*smaller eps"):
        autodiff.gradcheck(lambda x: x.log(), [Value(1e-7, "x")])


def test_a_forced_huge_drawing_times_out_with_a_named_error(monkeypatch):
    import viz
    from viz import render
    if shutil.which("dot") is None:
        pytest.skip("needs Graphviz's dot")
    monkeypatch.setattr(render, "RENDER_TIMEOUT", 0.05)
    x, root = _chain(2000)
    with pytest.raises(render.GraphTooLarge, match="did not finish.*coarser detail"):
        viz.draw(root, max_nodes=10_000).svg()


# ------------------------------------------------------------------- unclear messages

def test_a_diverging_fit_names_epoch_step_and_lr():
    X, Y = nn.two_moons(40, noise=0.1, seed=0)
    for engine in ("eager", "compiled"):
        model = nn.MLP(2, [8, 1], activation="relu", output_activation="linear", init="normal", seed=0)
        with pytest.raises(nn.DivergenceError, match=r"epoch 1, step \d+ \(lr = 5\).*Lower the learning rate"):
            nn.fit(model, X, Y * 1000, lr=5.0, epochs=5, engine=engine, progress=False, seed=0)
        model = nn.MLP(2, [8, 1], activation="relu", output_activation="linear", init="normal", seed=0)
        h = nn.fit(model, X, Y * 1000, lr=5.0, epochs=5, engine=engine, progress=False, seed=0,
                   on_divergence="stop")
        assert h.stopped == "diverged" and "lr = 5" in h.extra["divergence"][0]


def test_an_engine_error_mid_step_becomes_a_divergence():
    from nn.divergence import DivergenceGuard
    guard = DivergenceGuard(0.5)
    with pytest.raises(OverflowError):  # before any update: the initial state is at fault, not lr
        with guard.watch(1, 1):
            Value(1e308, "z") * 10
    guard.check(1.0, 1, 1)
    with pytest.raises(nn.DivergenceError, match="epoch 3, step 7 .lr = 0.5.: OverflowError: mul") as info:
        with guard.watch(3, 7):
            Value(1e308, "z") * 10
    assert isinstance(info.value.__cause__, OverflowError)
    stop = DivergenceGuard(0.5, on_divergence="stop")
    stop.check(1.0, 1, 1)
    with stop.watch(1, 2):
        raise FloatingPointError("NaN gradient")
    assert stop.diverged and "NaN gradient" in stop.reason
    assert DivergenceGuard(0.1).check(1.0, 1, 1) is False


def test_the_terminal_stepper_mentions_a_nan_at_the_end(tmp_path, capsys):
    script = tmp_path / "cmds.txt"
    script.write_text("continue\n", encoding="utf-8")
    assert main(["step", "(x*y)**0.5", "--set", "x=2,y=0", "--script", str(script)]) == 0
    out = capsys.readouterr().out
    assert "note: a gradient is not finite" in out and "∂l/∂x = NaN" in out


def test_cli_power_overflow_and_bad_digits(capsys):
    assert main(["step", "x**99999999", "--set", "x=2"]) == 2
    err = capsys.readouterr().err
    assert "too large for a float" in err and "34" not in err
    for digits in ("-3", "0", "18", "x"):
        with pytest.raises(SystemExit):
            main(["step", "x*2", "--set", "x=2", "--digits", digits])
        assert "--digits" in capsys.readouterr().err


@pytest.mark.parametrize("label", ["a\x07b", "\x1b[31mred", "x\ud800y", "a\nb", "\x00"])
def test_labels_with_control_characters_or_surrogates_are_refused(label):
    with pytest.raises(ValueError, match="Value.label."):
        Value(1.0, label)


@pytest.mark.parametrize("label", ["a\x07b", "x\ud800y", "\x1b[2J"])
def test_a_label_set_afterwards_is_checked_like_one_given_to_value(label):
    """Issue 18: ``v.label = …`` used to bypass the check in Value() (drawn as U+FFFD); the
    setter now refuses what Value(label) refuses, naming the node and the field."""
    w = Value(0.5, "w", param=True)
    with pytest.raises(ValueError, match=r"node 'w' \[parameter.*\.label.*(control character|surrogate)"):
        w.label = label
    assert w.label == "w"


def test_highlight_edges_with_a_node_of_another_graph():
    import viz
    x = Value(1.0, "x")
    y = x * 2
    other = Value(3.0, "other")
    with pytest.raises(ValueError, match="'other'.*not in the drawn graph"):
        viz.draw(y, highlight_edges=[(other, y, 0)])
