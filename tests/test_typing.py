"""Types and docstrings for editors: `import backproplab as bl` is typed (mypy sees `bl.nn.MLP`,
`bl.viz.draw`, `bl.Value` with their signatures), a one-output model's call is a `Value`, and
every public callable has its own docstring."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNIPPET = '''
import backproplab as bl

model = bl.nn.MLP(2, [16, 16, 1])
one: bl.nn.MLP[bl.Value] = bl.nn.MLP(2, [16, 1])
y = one([1.0, 2.0])
print(y.data + 1.0, float(y), f"{y:.3f}", y.item())
loss = bl.nn.half_sse(model([1.0, 2.0]), 1.0)
loss.backward()
d = bl.viz.draw(loss, view="backward")
path = d.save("g.pdf")
opt = bl.nn.Adam(model, lr=0.01)
state = opt.state_dict()
h = bl.nn.fit(model, [[0.0, 1.0]], [1.0], epochs=1)
print(h.loss[-1] + 1.0, h["loss"])
print(bl.nn.Layer(2, 1)([1.0, 2.0]).data)
for out in bl.nn.Layer(2, 3)([1.0, 2.0]):
    print(out.data)
reveal_type(bl.nn.MLP)
reveal_type(y)
reveal_type(bl.viz.draw)
reveal_type(bl.nn.Layer(2, 1)([1.0, 2.0]))
reveal_type(model([1.0, 2.0]))
'''


@pytest.fixture(scope="module")
def mypy_output(tmp_path_factory):
    pytest.importorskip("mypy", reason="mypy is in the test extra: pip install 'backproplab[test]'")
    folder = tmp_path_factory.mktemp("typing")
    (folder / "snippet.py").write_text(textwrap.dedent(SNIPPET), encoding="utf-8")
    (folder / "wrong.py").write_text("import backproplab as bl\nbl.nn.MLP(2, [3]).nonexistent\n"
                                     "bl.viz.draw(3.0)\n"
                                     "bl.nn.fit(bl.nn.MLP(2, [1]), [[0.0, 1.0]], [1.0], epoch=3)\n", encoding="utf-8")
    env_path = str(REPO)
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent",
                           "--cache-dir", str(folder / ".mypy_cache"), "snippet.py", "wrong.py"],
                          cwd=folder, capture_output=True, text=True, timeout=600,
                          env={"MYPYPATH": env_path, "PATH": "/usr/bin:/bin"})
    return proc.stdout + proc.stderr


def revealed(output: str, line_text: str) -> str:
    lines = textwrap.dedent(SNIPPET).splitlines()
    number = next(i for i, line in enumerate(lines, 1) if line == line_text)
    hit = [o for o in output.splitlines() if o.startswith(f"snippet.py:{number}: note: Revealed type is")]
    assert hit, output
    return hit[0].split("Revealed type is ", 1)[1]


def test_the_namespace_is_typed(mypy_output):
    errors = [line for line in mypy_output.splitlines() if line.startswith("snippet.py") and "error" in line]
    assert errors == [], mypy_output
    assert "def [Out" in revealed(mypy_output, "reveal_type(bl.nn.MLP)")
    assert "nin: int, sizes: typing.Sequence[int]" in revealed(mypy_output, "reveal_type(bl.nn.MLP)")
    assert "-> viz.render.Drawing" in revealed(mypy_output, "reveal_type(bl.viz.draw)")


def test_a_one_output_call_is_a_value(mypy_output):
    assert revealed(mypy_output, "reveal_type(y)") == '"autodiff.value.Value"'
    assert revealed(mypy_output, "reveal_type(bl.nn.Layer(2, 1)([1.0, 2.0]))") == '"autodiff.value.Value"'
    # a width the checker cannot see stays a union (declare nn.MLP[Value] as above)
    assert revealed(mypy_output, "reveal_type(model([1.0, 2.0]))") == \
        '"autodiff.value.Value | list[autodiff.value.Value]"'


def test_mypy_sees_mistakes_through_the_namespace(mypy_output):
    """Not everything is Any: a wrong attribute and a wrong argument are reported."""
    assert 'wrong.py:2: error: "MLP[Value | list[Value]]" has no attribute "nonexistent"' in mypy_output
    assert "wrong.py:3: error: Argument 1 to \"draw\" has incompatible type \"float\"" in mypy_output
    # fit's run-time "did you mean" wrapper keeps its signature: a mistyped keyword is a static error too
    assert 'wrong.py:4: error: Unexpected keyword argument "epoch" for "fit"' in mypy_output


def _public_callables():
    import autodiff
    from autodiff import engine
    for modname in ("autodiff", "nn", "viz", "backproplab", "backproplab.cli"):
        module = importlib.import_module(modname)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr, None)
            if obj is None or inspect.ismodule(obj) or not callable(obj):
                continue
            yield f"{modname}.{attr}", obj
            if inspect.isclass(obj):
                for name, member in vars(obj).items():
                    if name.startswith("_") and name != "__call__":
                        continue
                    if obj is autodiff.Value and name in engine.PYTHON:
                        member = engine.PYTHON[name]  # the C core's replacement: the source's docstring
                    target = member.fget if isinstance(member, property) else getattr(member, "__func__", member)
                    if callable(target):
                        yield f"{modname}.{attr}.{name}", target


def test_every_public_callable_has_its_own_docstring():
    missing = []
    for name, obj in _public_callables():
        doc = obj.__dict__.get("__doc__") if inspect.isclass(obj) else inspect.getdoc(obj)
        if not doc or "see the module docstring" in doc.lower() or doc.startswith("Call self as a function"):
            missing.append(name)
    assert missing == []


def test_micrograd_style_imports_through_the_namespace(tmp_path):
    """`from backproplab.nn import MLP` works as `from micrograd.nn import MLP` does, at run time
    and for mypy."""
    import nn
    from backproplab.autodiff import Value
    from backproplab.nn import MLP
    assert MLP is nn.MLP and Value is importlib.import_module("autodiff").Value
    pytest.importorskip("mypy")
    (tmp_path / "micro.py").write_text("from backproplab.nn import MLP\nfrom backproplab.engine import Value\n"
                                       "reveal_type(MLP)\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", "--follow-imports=silent",
                           "--cache-dir", str(tmp_path / ".cache"), "micro.py"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600, env={"MYPYPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert 'Revealed type is "def [Out' in proc.stdout, proc.stdout
    assert 'micro.py:2: error: Cannot find implementation or library stub for module named "backproplab.engine"' \
        in proc.stdout  # a wrong name is still an error
