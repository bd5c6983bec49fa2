"""The optional C core (autodiff/_ccore.c) against the pure-Python engine it accelerates.

The walk over ``autodiff.OPS``: every op either runs in C with data and gradients bitwise equal
to the Python reference (the functions the C core replaced, ``autodiff.engine.PYTHON``, and the
Python chain rule), or falls back: the C backward declines the graph (``NotImplemented``) and
Python builds and differentiates it. Then random graphs, the error paths (same exception, same
message), no_grad, hooks, parameters in a ParameterStore, and that a graph is freed.

Under ``BACKPROPLAB_PURE=1`` (the second CI run) or without a compiler these tests are skipped,
saying so; the rest of the suite then runs on the pure-Python engine.
"""

from __future__ import annotations

import gc
import math
import os
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import autodiff
from autodiff import OPS, Value, engine
from autodiff.trace import chain_rule

needs_core = pytest.mark.skipif(not autodiff.accelerated,
                                reason=f"the C core is not running: {engine.reason}")
PY = engine.PYTHON


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def python_backward(root: Value) -> None:
    for _ in chain_rule(root):
        pass


def test_accelerated_says_which_engine_runs():
    code = "import autodiff, sys; sys.stdout.write(str(autodiff.accelerated))"
    env = {**os.environ, "BACKPROPLAB_PURE": "1"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, check=True).stdout == "False"
    built = True
    try:
        import autodiff._ccore  # noqa: F401
    except ImportError:
        built = False
    pure = os.environ.get("BACKPROPLAB_PURE", "") not in ("", "0")
    assert autodiff.accelerated is (built and not pure)
    assert (engine.core is not None) is autodiff.accelerated
    assert bool(engine.reason) is not autodiff.accelerated


# ------------------------------------------------------------------ the walk over OPS
# op name -> (number of leaves, attr or None, build with the public API (C when it runs),
#             build with the pure-Python functions)
def _leaves(n, rng, positive=False):
    out = []
    for _ in range(n):
        x = rng.choice([rng.uniform(-3, 3), rng.uniform(-1e-3, 1e-3), rng.uniform(-50, 50),
                        rng.choice([0.0, -0.0, 1.0, -1.0, 0.5, 2.0])])
        v = Value(abs(x) + 1e-3 if positive else x, param=True)
        v.grad = rng.choice([0.0, -0.0])  # −0.0 + (−0.0) keeps the sign: a signed-zero partial shows
        out.append(v)
    return out


BUILD = {
    "add": (2, lambda a, b: a + b, lambda a, b: PY["__add__"](a, b)),
    "sub": (2, lambda a, b: a - b, lambda a, b: PY["__sub__"](a, b)),
    "mul": (2, lambda a, b: a * b, lambda a, b: PY["__mul__"](a, b)),
    "div": (2, lambda a, b: a / (b * b + 0.5), lambda a, b: PY["__truediv__"](a, PY["__add__"](PY["__mul__"](b, b), 0.5))),
    "powv": (2, lambda a, b: (a * a + 0.5) ** b, lambda a, b: PY["__add__"](PY["__mul__"](a, a), 0.5) ** b),
    "neg": (1, lambda a: -a, lambda a: PY["__neg__"](a)),
    "pow": (1, lambda a: a ** 3 + (a * a + 0.25) ** -1.5, lambda a: PY["__add__"](
        PY["__pow__"](a, 3), PY["__pow__"](PY["__add__"](PY["__mul__"](a, a), 0.25), -1.5))),
    "exp": (1, lambda a: a.exp(), lambda a: PY["exp"](a)),
    "log": (1, lambda a: (a * a + 0.1).log(), lambda a: PY["log"](PY["__add__"](PY["__mul__"](a, a), 0.1))),
    "tanh": (1, lambda a: a.tanh(), lambda a: PY["tanh"](a)),
    "sigmoid": (1, lambda a: a.sigmoid(), lambda a: PY["sigmoid"](a)),
    "relu": (1, lambda a: a.relu(), lambda a: PY["relu"](a)),
    "leaky_relu": (1, lambda a: a.leaky_relu() + a.leaky_relu(0.2), lambda a: PY["__add__"](
        PY["leaky_relu"](a), PY["leaky_relu"](a, 0.2))),
    "elu": (1, lambda a: a.elu() * a.elu(0.5), lambda a: PY["__mul__"](PY["elu"](a), PY["elu"](a, 0.5))),
    "sign": (1, lambda a: a.sign() * a, lambda a: PY["__mul__"](PY["sign"](a), a)),
    "step": (1, lambda a: a.step() * a, lambda a: PY["__mul__"](PY["step"](a), a)),
    "abs": (1, lambda a: a.abs(), lambda a: PY["abs"](a)),
    "sum": (5, lambda *v: autodiff.sum([v[0], v[1], 1.5, v[2], v[3], v[4]]),
            lambda *v: PY["sum"]([v[0], v[1], 1.5, v[2], v[3], v[4]])),
    "dot": (7, lambda *v: autodiff.dot(v[:3], v[3:6], v[6]) * autodiff.dot([v[0], v[1]], (v[2], v[3])),
            lambda *v: PY["__mul__"](PY["dot"](v[:3], v[3:6], v[6]), PY["dot"]([v[0], v[1]], (v[2], v[3])))),
    "max": (3, lambda *v: autodiff.maximum(v), lambda *v: autodiff.maximum(v)),
    "softmax": (3, lambda *v: autodiff.softmax(v)[1], lambda *v: autodiff.softmax(v)[1]),
}


def test_every_op_has_an_entry_in_the_walk():
    assert set(BUILD) == set(OPS), "a new op needs an entry in BUILD (C or fallback)"


def _run(build, leaves, backward):
    root = build(*leaves)
    backward(root)
    return root


@needs_core
@pytest.mark.parametrize("name", sorted(BUILD))
def test_op_runs_in_c_bitwise_equal_or_falls_back(name):
    arity, fast, slow = BUILD[name]
    in_c = name in engine.core.OPS_IN_C
    rng = random.Random(name)
    for trial in range(60):
        state = rng.getstate()
        a = _leaves(arity, rng, positive=name == "powv")
        rng.setstate(state)
        b = _leaves(arity, rng, positive=name == "powv")
        try:
            ra = fast(*a)
        except (ValueError, ArithmeticError) as exc:
            with pytest.raises(type(exc)) as info:
                slow(*b)
            assert str(info.value) == str(exc)
            continue
        rb = slow(*b)
        assert bits(ra.data) == bits(rb.data), (name, trial, ra.data, rb.data)
        assert ra.op == rb.op and ra.attr == rb.attr and len(ra.inputs) == len(rb.inputs)
        if ra.op == name:  # the node is the op itself: does C take it?
            start = [x.grad for x in a]
            declined = engine.core.backward(ra) is NotImplemented
            assert declined is not in_c, (name, "C declined an op it implements" if in_c else
                                          "C ran an op it does not implement")
            for x, g in zip(a, start):  # that probe ran a pass when it was not declined
                x.grad = g
        ra.backward()
        python_backward(rb)
        for x, y in zip(a, b):
            assert bits(x.grad) == bits(y.grad), (name, trial, x.grad, y.grad)
    # the op node the C core builds, read back as the Python engine reads it
    if in_c and arity == 1:
        leaf = Value(0.75)
        node = fast(leaf)
        assert node.label == "" and node.param is False and node.group is None and node.grad == 0.0


def test_ops_in_c_are_ops_and_the_source_cites_each_entry():
    if not autodiff.accelerated:
        pytest.skip(f"the C core is not running: {engine.reason}")
    assert set(engine.core.OPS_IN_C) < set(OPS)
    assert {"powv", "max", "softmax"}.isdisjoint(engine.core.OPS_IN_C)
    source = (Path(autodiff.__file__).parent / "_ccore.c").read_text(encoding="utf-8")
    for name in engine.core.OPS_IN_C:  # its forward and its partials, each citing the entry
        assert source.count(f'OPS["{name}"]') >= 2, name


# ------------------------------------------------------------------ random graphs
def _random_program(rng, n_leaves, n_ops):
    prog = []
    for k in range(n_ops):
        avail = n_leaves + k
        kind = rng.choice(["add", "sub", "mul", "div", "radd", "rsub", "rmul", "neg", "tanh", "sigmoid",
                           "relu", "exp", "abs", "pow2", "leaky", "elu", "sum", "dot", "square"])
        args = [rng.randrange(avail) for _ in range(4)]
        prog.append((kind, args, rng.uniform(-2, 2)))
    return prog


def _execute(prog, leaves, py):
    """Run the program with the operators (C when it runs) or the Python reference functions."""
    nodes = list(leaves)
    call = (lambda name, *a: PY[name](*a)) if py else (lambda name, *a: getattr(a[0], name)(*a[1:]))
    for kind, args, c in prog:
        a, b, d, e = (nodes[i] for i in args)
        if kind in ("add", "sub", "mul"):
            v = call(f"__{kind}__", a, b)
        elif kind == "div":
            v = call("__truediv__", a, call("__add__", call("__mul__", b, b), 1.0))
        elif kind in ("radd", "rsub", "rmul"):
            v = call(f"__{kind}__", a, c)
        elif kind == "neg":
            v = call("__neg__", a)
        elif kind in ("tanh", "sigmoid", "relu", "abs"):
            v = call(kind, a)
        elif kind == "exp":
            v = call("exp", call("tanh", a))
        elif kind == "pow2":
            v = call("__pow__", a, 2)
        elif kind == "square":
            v = call("__pow__", call("__add__", call("__mul__", a, a), 0.5), 0.5)
        elif kind == "leaky":
            v = call("leaky_relu", a, 0.1)
        elif kind == "elu":
            v = call("elu", a)
        elif kind == "sum":
            v = (PY["sum"] if py else autodiff.sum)([a, b, c, d])
        else:
            v = (PY["dot"] if py else autodiff.dot)([a, b], [d, e], c)
        nodes.append(v)
    root = (PY["sum"] if py else autodiff.sum)(nodes[len(leaves):][-6:])
    return nodes, root


@needs_core
@pytest.mark.parametrize("seed", range(25))
def test_random_graphs_match_the_python_engine_bitwise(seed):
    rng = random.Random(seed)
    prog = _random_program(rng, 4, rng.randrange(3, 60))
    values = [rng.uniform(-2, 2) for _ in range(4)]
    results = []
    for py in (False, True):
        leaves = [Value(x, f"x{i}", param=True) for i, x in enumerate(values)]
        nodes, root = _execute(prog, leaves, py)
        for _ in range(2):  # twice: leaves accumulate, intermediate gradients are recomputed
            root.backward() if not py else python_backward(root)
        results.append([(bits(v.data), bits(v.grad), v.op) for v in nodes + [root]])
    assert results[0] == results[1]


@needs_core
def test_deep_chain_and_a_wide_graph():
    x = Value(0.3, param=True)
    v = x
    for _ in range(100_000):
        v = (v * 0.999).tanh()
    v.backward()
    assert x.grad != 0.0 and math.isfinite(x.grad)
    xs = [Value(i / 7, param=True) for i in range(2000)]
    loss = autodiff.sum([autodiff.dot(xs, xs[::-1]).relu(), autodiff.sum(xs) ** 2])
    loss.backward()
    ref = [Value(i / 7, param=True) for i in range(2000)]
    python_backward(PY["sum"]([PY["relu"](PY["dot"](ref, ref[::-1])), PY["__pow__"](PY["sum"](ref), 2)]))
    assert [bits(a.grad) for a in xs] == [bits(b.grad) for b in ref]


# ------------------------------------------------------------------ fallbacks and errors
ERRORS = [
    ("div by zero", lambda a, b: a / (b - b), lambda a, b: PY["__truediv__"](a, PY["__sub__"](b, b))),
    ("log of 0", lambda a, b: (b - b).log(), lambda a, b: PY["log"](PY["__sub__"](b, b))),
    ("0 ** -1", lambda a, b: (b - b) ** -1, lambda a, b: PY["__pow__"](PY["__sub__"](b, b), -1)),
    ("negative ** 0.5", lambda a, b: (-a) ** 0.5, lambda a, b: PY["__pow__"](PY["__neg__"](a), 0.5)),
    ("exp overflow", lambda a, b: (a * 1000.0).exp(), lambda a, b: PY["exp"](PY["__mul__"](a, 1000.0))),
    ("mul overflow", lambda a, b: (a * 1e300) * 1e300, lambda a, b: PY["__mul__"](PY["__mul__"](a, 1e300), 1e300)),
    ("bool operand", lambda a, b: a + True, lambda a, b: PY["__add__"](a, True)),
    ("str operand", lambda a, b: a * "x", lambda a, b: PY["__mul__"](a, "x")),
    ("huge int", lambda a, b: a - 10 ** 400, lambda a, b: PY["__sub__"](a, 10 ** 400)),
    ("inf - inf", lambda a, b: Value(math.inf) - math.inf, lambda a, b: PY["__sub__"](Value(math.inf), math.inf)),
    ("bad slope", lambda a, b: a.leaky_relu("x"), lambda a, b: PY["leaky_relu"](a, "x")),
    ("slope keyword", lambda a, b: a.leaky_relu(slop=0.1), lambda a, b: PY["leaky_relu"](a, slop=0.1)),
    ("many arguments", lambda a, b: a.elu(*range(9)), lambda a, b: PY["elu"](a, *range(9))),
    ("empty sum", lambda a, b: autodiff.sum([]), lambda a, b: PY["sum"]([])),
    ("dot lengths", lambda a, b: autodiff.dot([a, b], [a]), lambda a, b: PY["dot"]([a, b], [a])),
    ("dot of a str", lambda a, b: autodiff.dot([a], ["x"]), lambda a, b: PY["dot"]([a], ["x"])),
    ("backward NaN", lambda a, b: ((a - a) ** 0.5 * 0.0 + b).backward(), None),
    ("backward overflow", lambda a, b: ((a * 1e-320) ** 0.5 * 1e200).backward(), None),
    ("forward overflow", lambda a, b: ((a * 1e200) * (b * 1e200) * 1e-300).backward(), None),
]


@needs_core
@pytest.mark.parametrize("what, fast, slow", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_are_the_python_engines(what, fast, slow, monkeypatch):
    a, b = Value(1.5, "a", param=True), Value(2.0, "b", param=True)
    with pytest.raises(Exception) as c_info:
        fast(a, b)
    if slow is None:  # the same graph with the C core switched off for backward
        monkeypatch.setattr(autodiff.backprop, "core", None)
        a, b = Value(1.5, "a", param=True), Value(2.0, "b", param=True)
        slow = fast
    with pytest.raises(Exception) as py_info:
        slow(a, b)
    assert type(c_info.value) is type(py_info.value) and str(c_info.value) == str(py_info.value)


@needs_core
def test_no_grad_hooks_and_subclasses_go_through_python():
    a = Value(2.0, param=True)
    with autodiff.no_grad():
        c = a * 3.0 + 1.0
    assert c.op == "" and c.inputs == () and c.data == 7.0
    seen = []
    h = a * a
    h.register_hook(lambda g: seen.append(g) or 2 * g)
    loss = h.tanh()
    assert engine.core.backward(loss) is NotImplemented and a.grad == 0.0  # declined, untouched
    loss.backward()
    assert seen and a.grad == pytest.approx(2 * seen[0] * 2 * 2.0)
    h._hooks.clear()  # what removing its only hook leaves: the C core takes the graph again
    assert engine.core.backward(h.tanh()) is False
    remove = a.register_hook(lambda g: None)
    assert engine.core.backward(a * 2.0) is NotImplemented  # a leaf hook anywhere: Python
    remove()

    class MyValue(Value):
        __slots__ = ()
    m = Value(1.0)
    m.__class__ = MyValue
    assert (m + 1.0).data == 2.0 and (m * a).op == "mul"


@needs_core
@pytest.mark.parametrize("spoiler", ["powv", "hook", "subclass"])  # int data: .data = 1 stores 1.0 now
def test_a_declined_graph_is_left_exactly_as_it_was(spoiler):
    """An unsupported node deep in the graph: the C backward returns NotImplemented having
    changed no gradient (its depth-first search marks the nodes it reaches, and unmarks them)."""
    x = Value(0.5, "x", param=True)
    h = [(x * float(i)).tanh() for i in range(1, 30)]
    deep = h[3] ** Value(2.0) if spoiler == "powv" else h[3] * 2.0
    if spoiler == "hook":
        deep.register_hook(lambda g: None)
    elif spoiler == "subclass":
        class Other(Value):
            __slots__ = ()
        deep.__class__ = Other
    loss = autodiff.sum(h[5:] + [deep * h[0]]) * 0.5
    nodes = autodiff.topological_order(loss)
    for i, v in enumerate(nodes):
        v.grad = float(i) + 0.25
    before = [(v.grad, type(v.grad)) for v in nodes]
    assert engine.core.backward(loss) is NotImplemented
    assert [(v.grad, type(v.grad)) for v in nodes] == before
    loss.backward()  # Python runs it
    assert x.grad != before[nodes.index(x)][0]


@needs_core
def test_parameters_in_a_store_work_in_both_states():
    ws = [Value(0.5, "w0", param=True), Value(-1.5, "w1", param=True)]
    store = autodiff.ParameterStore(ws)  # vector state: Values read the arrays
    x = [Value(2.0), Value(3.0)]
    loss = autodiff.dot(ws, x).tanh()
    loss.backward()
    ref = [Value(0.5), Value(-1.5)]
    python_backward(PY["tanh"](PY["dot"](ref, [Value(2.0), Value(3.0)])))
    assert store.grad.tolist() == [r.grad for r in ref]
    store.values_current()  # plain Values again: the C core runs on them
    loss = autodiff.dot(ws, x).tanh()
    assert engine.core.backward(loss) is False
    assert [w.grad for w in ws] == [2 * r.grad for r in ref]
    store.data[:] = [1.0, 1.0]
    assert autodiff.dot(ws, x).data == 5.0


@needs_core
def test_a_dropped_graph_is_freed():
    ws = [Value(0.1 * i, param=True) for i in range(10)]

    def step():
        xs = [Value(float(i)) for i in range(10)]
        h = [autodiff.dot(ws, xs, 0.5).relu() for _ in range(5)]
        loss = autodiff.sum(h) * 0.1 + (h[0] - 1.0) ** 2
        loss.backward()
        try:
            (loss / (h[0] - h[0])).backward()
        except ZeroDivisionError:
            pass

    for _ in range(300):  # warm up the interpreter's caches and free lists
        step()
    gc.collect()
    gc.disable()
    try:
        before = sys.getallocatedblocks()
        for _ in range(1000):
            step()
        after = sys.getallocatedblocks()
    finally:
        gc.enable()
    assert after - before < 200, f"{after - before} blocks kept by 1000 steps: a reference leak"


@needs_core
def test_the_memcheck_stress_script_passes_without_valgrind():
    """bench/stress_memcheck.py is what bench/run_memcheck.sh runs under valgrind (too slow for
    CI); its own checks (bitwise equality, no growth of live blocks) run here natively."""
    script = Path(__file__).resolve().parents[1] / "bench" / "stress_memcheck.py"
    proc = subprocess.run([sys.executable, str(script), "--rounds", "20", "--depth", "5000"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and proc.stdout.strip().endswith("stress: ok"), proc.stdout + proc.stderr
