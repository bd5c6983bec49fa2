"""The probe table of issue 18: every input checked where it enters.

Each :class:`Probe` is one bad input as a new user would try it: what it used to do
(``before``), the call, the exact error type it must raise now and a pattern the message
must match (naming the argument, row, column, key, node or file). ``tests/test_input_contract.py``
runs every probe (in this process, and all of them again under the other engine, which must
raise the same types); ``scripts/errors_doc.py`` writes ``docs/errors.md``'s issue-18 tables from
this same list, and a test checks that the page is what the script writes.

The module is imported by the tests and the script only; it is not a test file.
"""

from __future__ import annotations

import decimal
import gzip
import math
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

import autodiff
import nn
from autodiff import Value
from nn import mnist


@dataclass(frozen=True)
class Probe:
    id: str
    area: str
    before: str
    call: Callable[[], Any]
    error: type
    match: str
    now: str = ""


# ------------------------------------------------------------------ builders

def _tape():
    w = Value(2.0, "w", param=True)
    x0, x1 = Value(0.0, "x0"), Value(0.0, "x1")
    loss = (w * x0 + x1).tanh() * w
    return autodiff.compile(loss, [x0, x1])


def _forward(batch):
    return lambda: _tape().forward(batch)


def _model(seed=0):
    return nn.MLP(2, [3, 1], seed=seed)


def _fit(**kwargs):
    X = kwargs.pop("X", np.zeros((4, 2)))
    Y = kwargs.pop("Y", np.zeros(4))
    model = kwargs.pop("model", None) or _model()
    return lambda: nn.fit(model, X, Y, epochs=1, progress=False, **kwargs)


def _stale_eager():
    w, x = Value(2.0, "w", param=True), Value(0.5, "x")
    loss = (w * x).tanh() * w
    w.data = 3.0
    loss.backward()


def _stale_recorded():
    from viz.stepper import Stepper
    w, x = Value(2.0, "w", param=True), Value(0.5, "x")
    loss = (w * x).tanh() * w
    w.data = 3.0
    Stepper(loss)


def _stale_compiled():
    w, x = Value(2.0, "w", param=True), Value(0.5, "x")
    loss = (w * x).tanh() * w
    tape = autodiff.compile(loss, [x])
    tape.forward([[0.5]])
    w.data = 3.0
    tape.backward()


def _stale_compiled_by_optimizer():
    model = _model()
    xs = [Value(0.0, "x0"), Value(0.0, "x1")]
    out = model(xs)
    tape = autodiff.compile(out if isinstance(out, Value) else out[0], xs)
    tape.forward(np.zeros((2, 2)))
    for p in model.parameters():
        p.grad = 1.0
    nn.SGD(model.parameters(), lr=0.1).step()  # between forward and backward: a bug in a loop
    tape.backward()


def _cycle():
    x = Value(1.0, "x")
    y = x * 2
    y.label = "y"
    z = y + 1
    y.inputs = (z, x)


def _hook_huge():
    x = Value(1.0, "x")
    h = x * 1.0
    h.register_hook(lambda g: 10 ** 400)
    h.backward()


def _set_label_int():
    x = Value(1.0, "x")
    x.label = 123


def _idx(header: bytes, body: bytes = b"", gz: bool = True) -> Path:
    d = Path(tempfile.mkdtemp(prefix="bp-idx-"))
    path = d / ("f.idx.gz" if gz else "f.idx")
    path.write_bytes(gzip.compress(header + body) if gz else header + body)
    return path


def _shape_header(*sizes: int, dtype: int = 0x08) -> bytes:
    return bytes([0, 0, dtype, len(sizes)]) + b"".join(n.to_bytes(4, "big") for n in sizes)


def _bomb() -> Path:
    """A gzip file a few kB large whose header announces 2.3 GB (what a bomb looks like)."""
    d = Path(tempfile.mkdtemp(prefix="bp-bomb-"))
    path = d / "train-images-idx3-ubyte.gz"
    with gzip.open(path, "wb", compresslevel=9) as f:
        f.write(_shape_header(2930, 28 * 28, 1000))
        f.write(bytes(1 << 20))  # 1 MB of zeros stands for the 2.3 GB that would follow
    return path


def _checksum_table_without_keys():
    from pathlib import Path as P
    fixture = P(__file__).parent / "data" / "mnist"
    mnist.load_mnist(fixture, "test", sums={"some-other-file": "0" * 64})


def _script_binary():
    import contextlib
    import io
    from viz.cli import main
    d = Path(tempfile.mkdtemp(prefix="bp-script-"))
    (d / "cmds.bin").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(["step", "w*x", "--set", "w=2", "--set", "x=3", "--script", str(d / "cmds.bin")])
    raise SystemExit(f"exit {code}: {err.getvalue().strip()}")


def _write_html_dev_full():
    from viz.html_page import write_html
    x = Value(1.0, "x", param=True)
    write_html((x * 2).tanh(), "/dev/full")


def _unbound_add_python():
    from autodiff import engine
    fn = engine.PYTHON.get("__add__", Value.__add__)
    fn(3.0, 4.0)


def _compile_hooked():
    w, x = Value(2.0, "w", param=True), Value(0.5, "x")
    h = w * x
    h.label = "h"
    h.register_hook(lambda g: 10 ** 400)
    autodiff.compile(h.tanh(), [x])


def _tape_backward_other_thread():
    import threading
    tape = _tape()
    worker = threading.Thread(target=lambda: tape.forward([[0.1, 0.2]]))
    worker.start()
    worker.join()
    tape.backward()


def _gradcheck_edge(build, eps=1e-6):
    def run():
        x = Value(build[0], "x")
        autodiff.local_gradcheck(build[1](x), eps)
    return run


Y_RAGGED = [[0.1, 0.2], [0.3]]

PROBES: list[Probe] = [
    # ------------------------------------------------------------- numbers at the door
    Probe("value-none", "numbers", "TypeError without saying what is accepted",
          lambda: Value(None), TypeError, r"Value\(data\) must be a real number .*NoneType"),
    Probe("data-setter-str", "numbers", "`v.data = '1'` stored the string; later ops failed deep inside",
          lambda: setattr(Value(1.0, "v"), "data", "1"), TypeError, r"node 'v' .*\.data must be a real number"),
    Probe("grad-setter-complex", "numbers", "`v.grad = 1j` stored a complex number",
          lambda: setattr(Value(1.0, "v"), "grad", 1j), TypeError, r"node 'v' .*\.grad must be a real number"),
    Probe("label-setter-int", "labels", "`x.label = 123` then draw: `'int' object has no attribute 'translate'`",
          _set_label_int, TypeError, r"node 'x' .*\.label must be a str, got int: 123"),
    Probe("label-constructor-int", "labels", "refused, the message named no argument",
          lambda: Value(1.0, 123), TypeError, r"Value\(label\) must be a str"),
    # ------------------------------------------------------------- tape.forward
    Probe("tape-none", "tape.forward", "`[[0.1, None, 1.0]]` gave NaN; the next backward blamed a weight",
          _forward([[0.1, None]]), TypeError, r"tape\.forward\(batch\): row 0, column 1 \('x1'\) is NoneType"),
    Probe("tape-str", "tape.forward", "strings were parsed as numbers",
          _forward([["0.1", 0.2]]), TypeError, r"row 0, column 0 \('x0'\) is str"),
    Probe("tape-bool", "tape.forward", "bools passed as 0/1",
          _forward([[True, 0.2]]), TypeError, r"row 0, column 0 \('x0'\) is bool"),
    Probe("tape-decimal", "tape.forward", "`Decimal` passed",
          _forward([[0.1, decimal.Decimal("0.2")]]), TypeError, r"row 0, column 1 \('x1'\) is Decimal"),
    Probe("tape-masked", "tape.forward", "a masked array lost its mask",
          _forward(np.ma.masked_array([[0.1, 0.2]], mask=[[False, True]])), ValueError,
          r"masked entry at row 0, column 1 \('x1'\)"),
    Probe("tape-ragged", "tape.forward", "numpy's \"inhomogeneous shape\"",
          _forward(Y_RAGGED), ValueError, r"tape\.forward\(batch\): row 1 has 1 entries but row 0 has 2"),
    Probe("tape-complex", "tape.forward", "imaginary part dropped with a warning (issue 12: TypeError)",
          _forward([[0.1, 1 + 2j]]), TypeError, r"tape\.forward\(batch\) holds complex numbers"),
    Probe("tape-huge-int", "tape.forward", "`[[2**1100]]`: an OverflowError naming nothing",
          _forward([[2 ** 1100, 0.0]]), OverflowError, r"row 0, column 0 \('x0'\) is too large for a float"),
    Probe("tape-width", "tape.forward", "(already named)", _forward([[0.1, 0.2, 0.3]]), ValueError,
          r"tape\.forward\(batch\) must have shape \(B, 2\) — one column per input \(x0, x1\)"),
    # ------------------------------------------------------------- fit and friends
    Probe("fit-nan-x", "fit", "(already refused, naming no row)", _fit(X=[[0.0, 0.0], [0.0, math.nan]] * 2),
          ValueError, r"fit: X: row 1, column 1 is NaN"),
    Probe("fit-ragged-x", "fit", "numpy's \"inhomogeneous shape\"", _fit(X=Y_RAGGED, Y=[0.0, 1.0]), ValueError,
          r"fit: X: row 1 has 1 entries but row 0 has 2"),
    Probe("fit-none-x", "fit", "numpy's \"float() argument must be…\"", _fit(X=[[0.1, None]] * 4), TypeError,
          r"fit: X: row 0, column 1 is NoneType"),
    Probe("fit-label-range", "fit", "one_hot's message, naming neither fit nor the sample",
          _fit(model=nn.MLP(2, [3, 3], seed=0), Y=np.array([0, 1, 5, 2])), ValueError,
          r"fit: Y: sample 2 has class label 5, but the model has 3 outputs"),
    Probe("fit-callbacks-int", "fit", "`'int' object is not iterable`", _fit(callbacks=42), TypeError,
          r"fit\(callbacks\): expected None, an nn\.Callback, a function or a list of them, got int: 42"),
    Probe("fit-seed-negative", "fit", "numpy's message on seeds", _fit(seed=-5), ValueError,
          r"fit\(seed\) must be an int ≥ 0, got -5"),
    Probe("fit-seed-huge", "fit", "numpy's message on seeds", _fit(seed=2 ** 40), ValueError,
          r"fit\(seed\) must be None or an int in \[0, 2\*\*32 - 1\]"),
    Probe("fit-other-optimizer", "fit", "trained nothing, said nothing",
          _fit(optimizer=nn.SGD(_model(seed=1).parameters(), lr=0.1)), ValueError,
          r"fit\(optimizer\): the optimizer updates 13 parameters, none of which belongs to this model"),
    Probe("fit-loss-float", "fit", "`'float' object has no attribute 'inputs'`",
          _fit(loss=lambda outputs, targets: 1.0), TypeError,
          r"fit\(loss\): the loss function must return one autodiff\.Value .* got float: 1\.0"),
    Probe("mlp-seed-negative", "fit", "numpy's message on seeds", lambda: nn.MLP(2, [3, 1], seed=-1), ValueError,
          r"MLP\(rng\) must be an int ≥ 0, got -1"),
    Probe("perceptron-nan", "fit", "`errors=[nan]`",
          lambda: nn.Perceptron(2).fit([[0.0, 0.0], [1.0, math.nan]], [0, 1]), ValueError,
          r"Perceptron\.fit\(X\): row 1, column 1 is NaN"),
    Probe("perceptron-target", "fit", "a target of 5 was accepted",
          lambda: nn.Perceptron(2).fit([[0.0, 0.0], [1.0, 1.0]], [0, 5]), ValueError,
          r"Perceptron\.fit\(d\): sample 1 has desired output 5\.0; a 'step' perceptron outputs only 0 or 1"),
    Probe("state-dict-str", "parameters", "`\"1.5\"` was loaded as 1.5",
          lambda: _model().load_state_dict({k: "1.5" for k in _model().state_dict()}), TypeError,
          r"load_state_dict: key 'layers\.0\.neurons\.0\.w\.0' must be a real number .* got str: '1\.5'"),
    Probe("state-dict-bool", "parameters", "`True` was loaded as 1.0",
          lambda: _model().load_state_dict({k: True for k in _model().state_dict()}), TypeError,
          r"load_state_dict: key '.*' must be a real number .* got bool: True"),
    Probe("state-dict-missing", "parameters", "(named the keys)",
          lambda: _model().load_state_dict({}), KeyError, r"load_state_dict: missing keys \['layers\.0\.neurons\.0\.w\.0'"),
    Probe("state-dict-not-mapping", "parameters", "`'list' object has no attribute 'items'`",
          lambda: _model().load_state_dict([1.0]), TypeError, r"load_state_dict\(state\): expected a mapping"),
    Probe("parameter-vector-complex", "parameters", "imaginary part dropped with a numpy warning",
          lambda: _model().set_parameter_vector([1 + 2j] * 13), TypeError,
          r"set_parameter_vector\(flat\) holds complex numbers"),
    Probe("parameter-vector-str", "parameters", "numpy's \"could not convert string to float\"",
          lambda: _model().set_parameter_vector(["1"] * 13), TypeError,
          r"set_parameter_vector\(flat\): entry 0 is str: '1'"),
    Probe("sgd-duplicates", "parameters", "stepped p once (PyTorch: twice, with a warning)",
          lambda: nn.SGD([Value(1.0, "p", param=True)] * 2, lr=0.1), ValueError,
          r"SGD\(params\): node 'p' \[parameter.*is listed twice \(items 0 and 1\)"),
    # ------------------------------------------------------------- changed between forward and backward
    Probe("stale-eager", "forward/backward", "eager gave 1.3916 (new data), compiled 1.1816 (old data)",
          _stale_eager, autodiff.StaleGraphError,
          r"backward: node \(unlabelled\) \[op mul, data=1\.0\] was computed from operands that have changed"),
    Probe("stale-recorded", "forward/backward", "the stepper recorded a backward pass of mixed numbers",
          _stale_recorded, autodiff.StaleGraphError, r"backward \(recorded\): node .*op mul"),
    Probe("stale-compiled", "forward/backward", "compiled gave 1.1816 (old data)", _stale_compiled,
          autodiff.StaleGraphError, r"tape\.backward: node 'w' \[parameter.*held 2\.0 when tape\.forward computed"),
    Probe("stale-compiled-optimizer", "forward/backward", "an optimizer step between forward and backward "
          "went unnoticed", _stale_compiled_by_optimizer, autodiff.StaleGraphError,
          r"tape\.backward: node '.*' \[parameter.*held .* when tape\.forward computed with it"),
    # ------------------------------------------------------------- graphs
    Probe("cycle", "graphs", "a cycle made by editing `.inputs` gave a number from backward(); "
          "compile and deepcopy raised `KeyError`", _cycle, ValueError,
          r"node 'y' \[op mul.*\.inputs: the new operands depend on the node itself.*cycle"),
    Probe("hook-huge", "graphs", "`int too large to convert to float` from inside backward", _hook_huge,
          OverflowError, r"the value a hook on node \(unlabelled\) \[op mul.* returned is too large for a float"),
    Probe("backward-int", "graphs", "`'int' object has no attribute …`", lambda: autodiff.backward(5), TypeError,
          r"backward\(root\): expected a Value, got int: 5"),
    Probe("zero-grad-none", "graphs", "`'NoneType' object is not iterable`", lambda: autodiff.zero_grad(None),
          TypeError, r"zero_grad\(values_or_root\): expected a Value or an iterable of Values, got NoneType"),
    Probe("dot-value", "graphs", "`'Value' object is not iterable`",
          lambda: autodiff.dot(Value(1.0, "x"), Value(1.0, "x")), TypeError,
          r"dot\(weights\): expected a sequence of Values or numbers .* got Value"),
    Probe("model-input-huge-int", "fit", "`int too large to convert to float`, naming nothing",
          lambda: _model()([2 ** 1100, 0.0]), OverflowError,
          r"MLP: input x\[0\] \(a number or a Value\) is too large for a float"),
    Probe("model-input-none", "fit", "(refused; `Value(None)`, `model([0.1, None])` and `fit` now share the rule)",
          lambda: _model()([0.1, None]), TypeError,
          r"MLP: input x\[1\] \(a number or a Value\) must be a real number .* got NoneType: None"),
    Probe("fit-l2-inf", "fit", "accepted: the first step made every weight -inf (a DivergenceError)",
          _fit(l2=math.inf), ValueError, r"fit\(l2\) \(the L2 penalty λ\) must be a finite number, got inf"),
    Probe("fit-lr-str", "fit", "ValueError (a wrong kind is a TypeError everywhere else)", _fit(lr="a"), TypeError,
          r"fit\(lr\) \(the learning rate η\) must be a real number .* got str: 'a'"),
    Probe("fit-batch-size-float", "fit", "ValueError (a wrong kind is a TypeError everywhere else)",
          _fit(batch_size=1.5), TypeError, r"fit\(batch_size\) must be an int ≥ 1, got float: 1\.5"),
    Probe("compile-hooked", "graphs", "the tape ran no hooks, silently: eager raised on a hook returning "
          "10**400, compiled gave a number", _compile_hooked, NotImplementedError,
          r"compile: node 'h' \[op mul.* has a hook \(register_hook\); a compiled tape does not run hooks"),
    Probe("tape-backward-other-thread", "graphs", "backward used the batch another thread's forward left",
          _tape_backward_other_thread, RuntimeError,
          r"tape\.backward: the last tape\.forward ran in another thread"),
    Probe("compile-inputs-int", "graphs", "`'int' object is not iterable`",
          lambda: autodiff.compile(Value(1.0, "x") * 2, 5), TypeError,
          r"compile\(inputs\): expected a list of Values .* got int: 5"),
    Probe("sum-int", "graphs", "`'int' object is not iterable`", lambda: autodiff.sum(5), TypeError,
          r"sum\(values\): expected an iterable of Values or numbers, got int: 5"),
    Probe("backward-unbound", "graphs", "AttributeError `'float' object has no attribute '_stamp'`",
          lambda: Value.backward(3.0), TypeError, r"backward\(root\): expected a Value, got float: 3\.0"),
    Probe("unbound-add", "graphs", "TypeError with the C core, AttributeError in pure Python",
          _unbound_add_python, TypeError, r"(add: every operand must be a Value|descriptor '__add__')"),
    Probe("tape-backward-accumulate-str", "tape.forward", "`accumulate=\"no\"` was taken as true",
          lambda: (lambda t: (t.forward([[0.1, 0.2]]), t.backward(accumulate="no")))(_tape()), TypeError,
          r"tape\.backward\(accumulate\) must be True or False, got 'no'"),
    Probe("tape-pickle", "graphs", "`Can't pickle <lambda>`", lambda: pickle.dumps(_tape()), TypeError,
          r"a compiled Tape cannot be pickled .* call autodiff\.compile again after loading"),
    # ------------------------------------------------------------- gradient checks
    Probe("local-gradcheck-log-edge", "gradcheck", "`math domain error`", _gradcheck_edge((1e-7, lambda x: x.log())),
          autodiff.UndefinedHere, r"central difference of log is undefined here, at input 0 .*1e-07 ± eps"),
    Probe("local-gradcheck-sqrt-edge", "gradcheck", "\"a negative base\"",
          _gradcheck_edge((0.0, lambda x: x ** 0.5)), autodiff.UndefinedHere,
          r"central difference of pow is undefined here, at input 0"),
    Probe("local-gradcheck-exp-edge", "gradcheck", "`math range error`",
          _gradcheck_edge((709.0, lambda x: x.exp()), eps=10.0), autodiff.UndefinedHere,
          r"central difference of exp is undefined here"),
    Probe("local-gradcheck-eps-0", "gradcheck", "ZeroDivisionError", _gradcheck_edge((1.0, lambda x: x.exp()), 0),
          ValueError, r"local_gradcheck\(eps\) must be a finite number > 0, got 0\.0"),
    Probe("local-gradcheck-eps-str", "gradcheck", "TypeError naming nothing",
          _gradcheck_edge((1.0, lambda x: x.exp()), "a"), TypeError, r"local_gradcheck\(eps\) must be a real number"),
    Probe("local-gradcheck-eps-nan", "gradcheck", "returned NaN silently",
          _gradcheck_edge((1.0, lambda x: x.exp()), math.nan), ValueError,
          r"local_gradcheck\(eps\) must be a finite number, got nan"),
    # ------------------------------------------------------------- drawing and files
    Probe("draw-max-nodes-none", "drawing", "`'<=' not supported between 'int' and 'NoneType'`",
          lambda: __import__("viz").draw(Value(1.0, "x") * 2, max_nodes=None), TypeError,
          r"draw\(max_nodes\) \(the most nodes to lay out\) must be an int ≥ 1, got NoneType"),
    Probe("write-html-dev-full", "drawing", "`No space left on device`, no path", _write_html_dev_full, OSError,
          r"write_html: cannot write the page to /dev/full"),
    Probe("script-binary", "drawing", "a UnicodeDecodeError naming no file", _script_binary, SystemExit,
          r"exit 2: backproplab step: error: --script .*cmds\.bin: not a UTF-8 text file"),
    Probe("mnist-bomb", "MNIST", "a 2.2 MB `.gz` inflating to 2.3 GB was decompressed whole (MemoryError)",
          lambda: mnist.read_idx(_bomb()), ValueError,
          r"train-images-idx3-ubyte\.gz: IDX header says shape \(2930, 784, 1000\) of 1-byte values = "
          r"2,297,120,000 data bytes, more than max_bytes"),
    Probe("mnist-shape-overflow", "MNIST", "(2³¹, 2³¹, 4) overflowed to 0: numpy's \"cannot reshape\"",
          lambda: mnist.read_idx(_idx(_shape_header(2 ** 31, 2 ** 31, 4))), ValueError,
          r"f\.idx\.gz: IDX header says shape \(2147483648, 2147483648, 4\) of 1-byte values = "
          r"18,446,744,073,709,551,616 data bytes"),
    Probe("mnist-ndim-255", "MNIST", "numpy's dimension error",
          lambda: mnist.read_idx(_idx(bytes([0, 0, 8, 255]) + bytes(4 * 255))), ValueError,
          r"f\.idx\.gz: IDX header gives 255 dimensions; accepted are 1 to 4"),
    Probe("mnist-byte-count", "MNIST", "the size message for (2³²−1)³ stated a wrong byte count",
          lambda: mnist.parse_idx(_shape_header(2 ** 32 - 1, 2 ** 32 - 1, 2 ** 32 - 1) + b"\0", "f",
                                  max_bytes=2 ** 200), ValueError,
          r"shape \(4294967295, 4294967295, 4294967295\) \(79,228,162,458,924,105,385,300,197,375 data bytes\)"),
    Probe("mnist-raw-truncated", "MNIST", "(named the file)",
          lambda: mnist.read_idx(_idx(_shape_header(3), b"\1\2", gz=False)), ValueError,
          r"f\.idx: IDX header says shape \(3,\) \(3 data bytes\) but the file holds 2"),
    Probe("mnist-sums-without-key", "MNIST", "a checksum table without the right keys skipped the check",
          _checksum_table_without_keys, ValueError,
          r"load_mnist\(sums\): the checksum table has no entry for 't10k-images-idx3-ubyte'"),
    Probe("mnist-max-bytes-nan", "MNIST", "`max_bytes=nan` lifted the bound silently; `'a'` raised numpy's "
          "comparison error", lambda: mnist.read_idx(_idx(_shape_header(3), b"\0\0\0"), max_bytes=math.nan),
          TypeError, r"read_idx\(max_bytes\) \(the most data bytes to read\) must be an int ≥ 0, got float: nan"),
    Probe("mnist-sha256-int", "MNIST", "`'int' object has no attribute 'lower'`",
          lambda: mnist.read_idx(_idx(_shape_header(3), b"\0\0\0"), sha256=5), TypeError,
          r"read_idx\(sha256\): expected None or a SHA-256"),
    Probe("mnist-scale-nan", "MNIST", "NaN images", lambda: mnist.mnist_arrays(scale=math.nan), ValueError,
          r"mnist_arrays\(scale\) must be a finite number, got nan"),
]


def run(probe: Probe) -> tuple[str, str]:
    """(type name, message) of what the probe raises; ("", "") if it raises nothing."""
    try:
        probe.call()
    except BaseException as exc:  # noqa: BLE001 - SystemExit carries the CLI's exit status
        if isinstance(exc, KeyboardInterrupt):
            raise
        return type(exc).__name__, str(exc)
    return "", ""


def run_all() -> dict[str, tuple[str, str]]:
    return {p.id: run(p) for p in PROBES}
