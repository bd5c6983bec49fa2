"""The self-contained step-through page (viz.html_page), statically and in headless Chromium.

Chromium is driven with ``--dump-dom`` and the URL fragment the page honours
(``#step=K``, ``#keys=ArrowRight,...``, ``#click=next,...``, ``#slider=K``): the
page runs the requested actions through its own event handlers on load, and the
dumped DOM shows the resulting formula panel, position and gradients.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from autodiff import Value
from viz.stepper import Stepper

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` not installed (renders the SVG)")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium/google-chrome on PATH for the browser test")
EVIL = "<script>alert(1)</script>"


def nptel() -> Value:
    x1, x2 = Value(0.05, "x1"), Value(0.10, "x2")
    w = [Value(v, f"w{i + 1}", param=True) for i, v in enumerate([0.15, 0.20, 0.25, 0.30, 0.40, 0.45])]
    b1, b2 = Value(0.35, "b1", param=True), Value(0.60, "b2", param=True)
    h1 = (w[0] * x1 + w[1] * x2 + b1).sigmoid()
    h2 = (w[2] * x1 + w[3] * x2 + b1).sigmoid()
    out = (w[4] * h1 + w[5] * h2 + b2).sigmoid()
    E = 0.5 * (0.01 - out) ** 2
    E.label = "E"
    return E


class _Dom(HTMLParser):
    """Text of the elements with an id, the <text> items of each, and their attributes."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.text: dict[str, str] = {}
        self.svg_texts: dict[str, list[str]] = {}
        self.attrs: dict[str, dict] = {}
        self.tags: list[str] = []
        self.source = html
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if a.get("id"):
            self.attrs[a["id"]] = a
            self.text.setdefault(a["id"], "")
        if tag in ("br", "meta", "input", "link", "img"):
            return
        self.stack.append((tag, a))
        if tag == "text":
            for _, anc in self.stack[:-1]:
                if anc.get("id"):
                    self.svg_texts.setdefault(anc["id"], []).append("")

    def handle_endtag(self, tag):
        while self.stack:
            t, _ = self.stack.pop()
            if t == tag:
                break

    def handle_data(self, data):
        in_text = any(t == "text" for t, _ in self.stack)
        for _, a in self.stack:
            if a.get("id"):
                self.text[a["id"]] += data
                if in_text:
                    self.svg_texts[a["id"]][-1] += data


def browse(page: Path, fragment: str, tmp_path: Path) -> _Dom:
    profile = tmp_path / f"profile-{abs(hash(fragment))}"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-first-run", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
           "--dump-dom", page.resolve().as_uri() + "#" + fragment]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and "bpl-formula" in proc.stdout, proc.stderr[-2000:]
    return _Dom(proc.stdout)


@pytest.fixture(scope="module")
def nptel_page(tmp_path_factory):
    from viz.html_page import write_html
    stepper = Stepper(nptel())
    path = write_html(stepper, tmp_path_factory.mktemp("html") / "nptel.html", title="NPTEL example")
    return path, stepper


@pytest.fixture(scope="module")
def nan_page(tmp_path_factory):
    """A label that is an HTML script, and a gradient that becomes inf and then NaN."""
    from viz.html_page import write_html
    x, w = Value(0.0, EVIL), Value(2.0, "w", param=True)
    loss = w * (x ** 2) ** 0.5
    stepper = Stepper(loss, wrt=[x, w])  # follow x too: the NaN flows into it
    return write_html(stepper, tmp_path_factory.mktemp("html") / "nan.html", title=EVIL), stepper


# --------------------------------------------------------------------- static

@needs_dot
def test_page_is_self_contained(nptel_page):
    path, stepper = nptel_page
    text = path.read_text(encoding="utf-8")
    assert text.count("<script") == 2 and "<svg" in text and "<link" not in text
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    assert "@import" not in text and "url(" not in text
    assert set(re.findall(r"https?://[^\s\"'<>]+", text)) <= {"http://www.w3.org/2000/svg",
                                                             "http://www.w3.org/1999/xlink"}
    data = json.loads(re.search(r'<script type="application/json" id="bpl-data">(.*?)</script>', text, re.S)[1])
    assert [s["formula"] for s in data["steps"]] == [s.formula for s in stepper.steps]
    assert len(data["nodes"]) == len(stepper.order) and data["nan"] is None


@needs_dot
def test_labels_are_escaped_in_svg_and_json(nan_page):
    path, stepper = nan_page
    text = path.read_text(encoding="utf-8")
    assert EVIL not in text and "alert(1)</script" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # title and SVG text
    block = re.search(r'<script type="application/json" id="bpl-data">(.*?)</script>', text, re.S)[1]
    assert "<" not in block and "\\u003cscript\\u003e" in block
    data = json.loads(block)
    assert any(n["name"] == EVIL for n in data["nodes"])
    assert data["nan"] and "NaN" in data["nan"]["text"]


# --------------------------------------------------------------------- browser

@needs_dot
@needs_chromium
def test_fragment_step_shows_formula_and_fills_gradients(nptel_page, tmp_path):
    path, stepper = nptel_page
    w5 = next(v for v in stepper.order if v.label == "w5")
    k = next(st.index for st in stepper.steps if st.input is w5) + 1
    dom = browse(path, f"step={k}", tmp_path)
    step = stepper.steps[k - 1]
    assert dom.text["bpl-formula"] == step.formula
    assert "0.5933" in dom.text["bpl-formula"] and "∂E/∂w₅" in dom.text["bpl-formula"]
    assert dom.text["bpl-pos"] == f"step {k} / {len(stepper)}"
    assert dom.svg_texts[f"n{step.input_index}"][-1] == stepper.fmt(step.grad_after)  # gradient filled in
    assert "bpl-cur" in dom.attrs[f"n{step.input_index}"]["class"]
    assert "bpl-cur" in dom.attrs[step.edge_id + "_back"]["class"]
    assert "bpl-cur" in dom.attrs[f"op{step.node_index}"]["class"]
    # nodes not reached yet show "?"; the loss shows 1
    w1 = next(v for v in stepper.order if v.label == "w1")
    assert dom.svg_texts[f"n{stepper.index[id(w1)]}"][-1] == "?"
    assert dom.svg_texts[f"n{stepper.index[id(stepper.loss)]}"][-1] == "1"


def assert_gradients_shown(dom: _Dom, page: Path, stepper: Stepper, position: int) -> None:
    """Every gradient line (drawn as "?" in the file) shows the gradient at ``position``."""
    static = _Dom(page.read_text(encoding="utf-8"))
    stepper.goto(position)
    checked = 0
    for i, v in enumerate(stepper.order):
        if static.svg_texts.get(f"n{i}", [""])[-1] == "?":
            expected = stepper.fmt(stepper.grad(v)) if stepper.known(v) else "?"
            assert dom.svg_texts[f"n{i}"][-1] == expected, (stepper.names[v], position)
            checked += 1
    assert checked >= len(stepper.order) // 2


@needs_dot
@needs_chromium
def test_arrow_keys_move_through_steps(nptel_page, tmp_path):
    path, stepper = nptel_page
    dom = browse(path, "keys=ArrowRight,ArrowRight,ArrowRight,ArrowLeft", tmp_path)
    assert dom.text["bpl-formula"] == stepper.steps[1].formula
    assert dom.text["bpl-pos"] == f"step 2 / {len(stepper)}"
    assert_gradients_shown(dom, path, stepper, 2)


@needs_dot
@needs_chromium
def test_next_and_back_buttons(nptel_page, tmp_path):
    path, stepper = nptel_page
    dom = browse(path, "click=next,next,next,next,next,back", tmp_path)
    assert dom.text["bpl-formula"] == stepper.steps[3].formula
    assert_gradients_shown(dom, path, stepper, 4)  # the 5th step's gradient is hidden again
    assert "disabled" not in dom.attrs["bpl-back"]


@needs_dot
@needs_chromium
def test_slider_jumps_to_a_step(nptel_page, tmp_path):
    path, stepper = nptel_page
    dom = browse(path, "slider=9", tmp_path)
    assert dom.text["bpl-formula"] == stepper.steps[8].formula
    assert dom.text["bpl-pos"] == f"step 9 / {len(stepper)}"
    assert_gradients_shown(dom, path, stepper, 9)


@needs_dot
@needs_chromium
def test_escaped_label_and_nan_path_in_the_browser(nan_page, tmp_path):
    path, stepper = nan_page
    dom = browse(path, f"step={len(stepper)}", tmp_path)
    assert dom.tags.count("script") == 2  # the label did not become an element
    assert EVIL in dom.text["bpl-formula"]  # ... it is shown as text
    assert "NaN" in dom.text["bpl-formula"]
    assert "hidden" not in dom.attrs["bpl-nan"] and "is finite" in dom.text["bpl-nan"]
    trace = stepper.nonfinite_trace()
    for st in trace:
        assert "bpl-nan" in dom.attrs[f"n{st.input_index}"]["class"]
    assert "disabled" in dom.attrs["bpl-next"]


# ------------------------------------------------------- geometry, twins, play

def probe(page: Path, fragment: str, tmp_path: Path, after_ms: int = 0,
          size: str = "1280,800") -> tuple[_Dom, dict]:
    """Open the page in a window of ``size`` (1280×800 by default), run ``fragment``, then
    (``after_ms`` later, in Chromium's virtual time) the page's #probe."""
    profile = tmp_path / f"profile-{abs(hash((fragment, size)))}"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--no-first-run", "--disable-component-update", "--disable-sync", f"--user-data-dir={profile}",
           f"--window-size={size}"]
    if after_ms:
        cmd.append(f"--virtual-time-budget={after_ms + 1000}")
    fragment = f"{fragment}&probe={after_ms}" if fragment else f"probe={after_ms}"
    proc = subprocess.run(cmd + ["--dump-dom", page.resolve().as_uri() + "#" + fragment],
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0 and "bpl-probe" in proc.stdout, proc.stderr[-2000:]
    dom = _Dom(proc.stdout)
    return dom, json.loads(dom.text["bpl-probe"])


_ASCII = str.maketrans("₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", "0123456789aehijklmnoprstuvx")


def drawn_name_texts(dom: _Dom, stepper: Stepper) -> dict[str, str]:
    """The name each circle shows in the SVG (its text items before the value and
    gradient lines; a subscript is its own item), as ASCII without underscores."""
    out = {}
    for i, v in enumerate(stepper.order):
        texts = dom.svg_texts.get(f"n{i}", [])
        has_numbers = bool(v.label or v.param or not v.is_leaf)
        out[f"n{i}"] = "".join(texts[:-2] if has_numbers else texts).replace("_", "")
    return out


def formula_names(formula: str) -> set[str]:
    return set(re.findall(r"∂([^/∂\s·=+()]+)", formula))


def readme_loss() -> Value:
    x1, x2 = Value(0.05, "x1"), Value(0.10, "x2")
    w1 = Value(0.15, "w1", param=True)
    h = (w1 * x1 + x2).sigmoid()
    return 0.5 * (0.01 - h) ** 2


@pytest.fixture(scope="module")
def readme_page(tmp_path_factory):
    from viz.html_page import write_html
    stepper = Stepper(readme_loss())
    return write_html(stepper, tmp_path_factory.mktemp("html") / "readme.html"), stepper


@needs_dot
@needs_chromium
def test_small_graph_fits_the_window_at_open_with_readable_numbers(readme_page, tmp_path):
    path, stepper = readme_page
    _, p = probe(path, "", tmp_path)
    gl, gt, gr, gb = p["graph"]
    sl, st, sr, sb = p["svg"]
    assert gl <= sl and gt <= st and sr <= gr and sb <= gb, p   # the whole graph is in view
    assert p["numberPx"] >= 7, p                                 # and its numbers readable
    assert gb <= p["viewport"][1] and gr <= p["viewport"][0]     # the graph box is in the window


@needs_dot
@needs_chromium
def test_large_graph_opens_readable_and_fit_shows_all_of_it(nptel_page, tmp_path):
    path, stepper = nptel_page
    _, p = probe(path, "", tmp_path)
    assert p["numberPx"] >= 7 - 1e-9, p
    _, fitted = probe(path, "zoom=fit", tmp_path)
    gl, gt, gr, gb = fitted["graph"]
    sl, st, sr, sb = fitted["svg"]
    assert gl <= sl and gt <= st and sr <= gr + 0.5 and sb <= gb + 0.5, fitted
    assert fitted["scale"] < p["scale"]


@needs_dot
@needs_chromium
def test_wheel_zooms_and_drag_pans(readme_page, tmp_path):
    path, _ = readme_page
    _, p0 = probe(path, "", tmp_path)
    _, p1 = probe(path, "wheel=-300", tmp_path)
    assert p1["scale"] > p0["scale"] * 1.3
    _, p2 = probe(path, "wheel=300", tmp_path)
    assert p2["scale"] < p0["scale"] / 1.3
    _, p3 = probe(path, "drag=120,-40", tmp_path)
    assert p3["svg"][0] == pytest.approx(p0["svg"][0] + 120, abs=1) and \
        p3["svg"][1] == pytest.approx(p0["svg"][1] - 40, abs=1)
    _, p4 = probe(path, "wheel=-300&zoom=fit", tmp_path)
    assert p4["scale"] == pytest.approx(p0["scale"], rel=1e-6)


@needs_dot
@needs_chromium
@pytest.mark.parametrize("which", ["readme", "nptel"])
def test_every_step_highlights_drawn_ids_and_names_and_ends_without_question_marks(
        which, readme_page, nptel_page, tmp_path):
    path, stepper = readme_page if which == "readme" else nptel_page
    dom, p = probe(path, f"step={len(stepper)}", tmp_path)
    assert p["missing"] == [] and p["position"] == len(stepper)
    assert p["unknown"] == 0                                     # no "?" after the last step
    assert not any(t[-1:] == ["?"] for t in dom.svg_texts.values())
    drawn = set(drawn_name_texts(dom, stepper).values())
    for st in stepper.steps:                                     # every name is a drawn name
        for name in formula_names(st.formula) | formula_names(st.local_formula):
            assert name.translate(_ASCII).replace("_", "") in drawn, (name, st.formula)
    cur = stepper.steps[-1]
    assert "bpl-cur" in dom.attrs[cur.edge_id + "_back"]["class"]


@needs_dot
@needs_chromium
def test_red_twins_appear_as_the_steps_reach_them(readme_page, tmp_path):
    path, stepper = readme_page
    for k in (0, 2, len(stepper)):
        _, p = probe(path, f"step={k}", tmp_path)
        expected = {t for st in stepper.steps[:k] for t in (st.edge_id + "_back", f"r{st.node_index}_back")}
        assert set(p["visibleTwins"]) == expected, k


@needs_dot
@needs_chromium
def test_autoplay_runs_to_the_end_at_the_chosen_speed(readme_page, tmp_path):
    path, stepper = readme_page
    dom, p = probe(path, "speed=10&play", tmp_path, after_ms=250)   # 10 steps/s: 2 steps
    assert 0 < p["position"] < len(stepper) and p["playing"]
    dom, p = probe(path, "speed=10&play", tmp_path, after_ms=2000)
    assert p["position"] == len(stepper) and not p["playing"]
    assert dom.text["bpl-formula"] == stepper.steps[-1].formula


@needs_dot
@needs_chromium
def test_formula_panel_shows_the_instantiated_local_derivative(nptel_page, tmp_path):
    path, stepper = nptel_page
    k = next(st.index for st in stepper.steps if st.node.op == "sigmoid") + 1
    dom, _ = probe(path, f"step={k}", tmp_path)
    st = stepper.steps[k - 1]
    u, a = stepper.names[st.node], stepper.names[st.input]
    assert dom.text["bpl-local"] == f"∂{u}/∂{a} = σ({a})(1 − σ({a})) = {stepper.fmt(st.local)}"
    negative = next(s for s in stepper.steps if s.upstream < 0)
    dom, _ = probe(path, f"step={negative.index + 1}", tmp_path)
    assert f"= ({stepper.fmt(negative.upstream)}) · " in dom.text["bpl-formula"]


def circle_names(dom: _Dom, ids) -> set[str]:
    """The names drawn in the circles ``ids``: their SVG text items before the value,
    shape (3×2) and gradient lines (the trailing items in the group's smallest size),
    subscripts joined, as ASCII without underscores and commas."""
    names = set()
    for i in ids:
        group = re.search(rf'<g id="{re.escape(i)}" class="node[^"]*">(.*?)</g>', dom.source, re.S)
        texts = re.findall(r'<text[^>]*font-size="([\d.]+)"[^>]*>([^<]*)</text>', group[1]) if group else []
        smallest = min((float(size) for size, _ in texts), default=0.0)
        while len(texts) > 1 and float(texts[-1][0]) == smallest and float(texts[0][0]) > smallest:
            texts.pop()
        name = "".join(html_unescape(t) for _, t in texts)
        names.add(name.translate(_ASCII).replace("_", "").replace(",", ""))
    return names


def html_unescape(text: str) -> str:
    import html
    return html.unescape(text)


@pytest.fixture(scope="module", params=["scalar", "neuron", "layer"])
def mlp_page(request, tmp_path_factory):
    import nn
    from viz.html_page import write_html
    model = nn.MLP(2, [3, 1], activation="sigmoid", output_activation="sigmoid", seed=0)
    loss = nn.binary_cross_entropy(model([Value(0.5, "x.0"), Value(-1.0, "x.1")]), 1.0)
    stepper = Stepper(loss, detail=request.param)
    path = write_html(stepper, tmp_path_factory.mktemp("html") / f"mlp-{request.param}.html")
    return path, stepper


@needs_dot
@needs_chromium
def test_every_level_in_the_browser(mlp_page, tmp_path):
    """At each level: every highlighted id of every step exists in the SVG, no "?"
    remains after the last step, every name in the formulas is drawn, and at the layer
    level the whole graph fits the window at open with readable numbers."""
    from viz.html_page import page_data
    path, stepper = mlp_page
    data = page_data(stepper)
    dom, p = probe(path, f"step={len(stepper)}", tmp_path)
    assert p["missing"] == [] and p["unknown"] == 0 and p["position"] == len(stepper)
    assert not any(t[-1:] == ["?"] for t in dom.svg_texts.values())
    drawn = circle_names(dom, [n["id"] for n in data["nodes"]])
    for st in stepper.steps:
        for name in formula_names(st.formula) | formula_names(st.local_formula):
            name = name.rstrip("ᵢⱼ").translate(_ASCII).replace(",", "")
            assert name in drawn, (name, st.formula, sorted(drawn))
    assert dom.text["bpl-formula"] == stepper.steps[-1].formula
    for k in (1, len(stepper) // 2):  # the steps' ids are highlighted on the way
        d, _ = probe(path, f"step={k}", tmp_path)
        for i in data["steps"][k - 1]["highlight"]:
            assert "bpl-cur" in d.attrs[i]["class"], (k, i)
    if stepper.detail == "layer":
        _, p0 = probe(path, "", tmp_path)
        gl, gt, gr, gb = p0["graph"]
        sl, st_, sr, sb = p0["svg"]
        assert gl <= sl and gt <= st_ and sr <= gr and sb <= gb and p0["numberPx"] >= 9, p0


# ------------------------------------------------------- window sizes, following, Jupyter

def _inside(inner, outer, slack: float = 0.5) -> bool:
    return (outer[0] - slack <= inner[0] and outer[1] - slack <= inner[1]
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


@needs_dot
@needs_chromium
@pytest.mark.parametrize("size", ["1280,800", "800,600"])
@pytest.mark.parametrize("which", ["readme", "nptel"])
def test_opens_whole_where_numbers_stay_readable_and_the_legend_is_visible(size, which, readme_page,
                                                                          nptel_page, tmp_path):
    """At open: the whole graph in view if its numbers are ≥ 7 px that way (the README
    example, at both sizes), else readable (≥ 7 px) with the loss in view; the legend in
    the window either way."""
    path, stepper = readme_page if which == "readme" else nptel_page
    _, p = probe(path, "", tmp_path, size=size)
    _, fitted = probe(path, "zoom=fit", tmp_path, size=size)
    width, height = p["viewport"]
    assert p["legend"] and _inside(p["legend"], [0, 0, width, height]), p
    assert p["numberPx"] >= 7 - 1e-9, p
    if fitted["numberPx"] >= 7:   # the whole graph fits with readable numbers: it opens that way
        assert _inside(p["svg"], p["graph"]), p
    if which == "readme":
        assert _inside(p["svg"], p["graph"]), p   # the case: w₁ was off screen at 800×600


@needs_dot
@needs_chromium
def test_following_the_steps_never_scrolls_past_the_graph(nptel_page, tmp_path):
    """Where the drawing is larger than its box, following the current step keeps the box
    covered: no empty margin beyond the graph's edge on any side (its 1 px border aside)."""
    path, stepper = nptel_page
    for k in (1, len(stepper) // 2, len(stepper)):
        _, p = probe(path, f"step={k}", tmp_path, size="800,600")
        (gl, gt, gr, gb), (sl, st, sr, sb) = p["graph"], p["svg"]
        if sr - sl > gr - gl:
            assert sl <= gl + 1.5 and sr >= gr - 1.5, (k, p)
        if sb - st > gb - gt:
            assert st <= gt + 1.5 and sb >= gb - 1.5, (k, p)


@needs_dot
@needs_chromium
def test_the_page_opens_at_the_steppers_position(tmp_path):
    """What Jupyter shows for a Stepper (its _repr_html_ is this page) starts where the
    Stepper is, not at step 0."""
    from viz.html_page import write_html
    stepper = Stepper(readme_loss())
    stepper.goto(3)
    path = write_html(stepper, tmp_path / "at3.html")
    dom, p = probe(path, "", tmp_path)
    assert p["position"] == 3 and stepper.position == 3
    assert dom.text["bpl-formula"] == stepper.steps[2].formula
    assert 'srcdoc="' in stepper._repr_html_() and "&quot;start&quot;:3" in stepper._repr_html_()


@needs_dot
@needs_chromium
def test_formulas_write_names_as_the_drawing_does(tmp_path):
    """A TeX-style label (out_H1) is drawn as out with the subscript H1; the page's formula
    panel and a frame's caption write it the same way, not as "out_H1"."""
    import sys
    from viz.html_page import write_html
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
    from nptel_worked_example import build_network
    s = Stepper(build_network().loss)
    k = next(st.index for st in s.steps if "out_H1" in st.formula) + 1
    path = write_html(s, tmp_path / "sub.html")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={tmp_path / 'p'}",
           "--dump-dom", path.resolve().as_uri() + f"#step={k}"]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=180).stdout
    panel = dom[dom.index('id="bpl-formula"'):][:2000]
    assert "<sub>H1</sub>" in panel and "out_H1" not in panel, panel[:300]
    s.goto(k)
    caption = s.frame().digraph.source
    assert "out<SUB>H1</SUB>" in caption and "out_H1" not in caption.split("label=<<FONT")[-1]
