"""Drawings saved and rendered like graphviz/torchviz: .svg/.png/.pdf/.dot by suffix,
render(filename, format=...), the same picture in every format (the slides' pinned
layout kept), .digraph giving that picture too, and inline display scaled to the width."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import graphviz
import pytest

import nn
import viz

SVG = "{http://www.w3.org/2000/svg}"
pytestmark = pytest.mark.skipif(shutil.which("dot") is None or shutil.which("neato") is None,
                                reason="needs the Graphviz programs dot and neato")


@pytest.fixture(scope="module")
def drawing():
    model = nn.MLP(2, [2, 1], "sigmoid", seed=0)
    loss = nn.half_sse(model([1.0, 2.0]), 1.0)
    loss.backward()
    return viz.draw(loss, view="backward")


def size_pt(svg: str) -> tuple[float, float]:
    root = ET.fromstring(svg.encode())
    return float(root.get("width").removesuffix("pt")), float(root.get("height").removesuffix("pt"))


def node_centres(svg: str) -> dict[str, tuple[float, float]]:
    """{node id: centre} from the first ellipse or polygon of every node group (circles for
    values, squares for ops)."""
    out = {}
    for g in ET.fromstring(svg.encode()).iter(f"{SVG}g"):
        if "node" not in (g.get("class") or "").split():
            continue
        title = g.find(f"{SVG}title").text
        e = next(g.iter(f"{SVG}ellipse"), None)
        if e is not None:
            out[title] = (round(float(e.get("cx")), 1), round(float(e.get("cy")), 1))
        else:
            pts = [tuple(map(float, p.split(","))) for p in next(g.iter(f"{SVG}polygon")).get("points").split()]
            out[title] = (round(sum(x for x, _ in pts[:-1]) / (len(pts) - 1), 1),
                          round(sum(y for _, y in pts[:-1]) / (len(pts) - 1), 1))
    return out


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def pdf_page(data: bytes) -> tuple[float, float]:
    assert data[:5] == b"%PDF-"
    box = re.search(rb"/MediaBox\s*\[\s*([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s+([-\d.]+)\s*\]", data)
    assert box, "no MediaBox in the PDF"
    x0, y0, x1, y1 = map(float, box.groups())
    return x1 - x0, y1 - y0


def test_save_writes_every_format_at_the_same_size(drawing, tmp_path):
    w, h = size_pt(drawing.svg())
    paths = {fmt: drawing.save(tmp_path / f"g.{fmt}") for fmt in ("svg", "png", "pdf", "dot")}
    assert size_pt(paths["svg"].read_text()) == (w, h)
    pw, ph = png_size(paths["png"].read_bytes())
    assert abs(pw - w * 150 / 72) <= 2 and abs(ph - h * 150 / 72) <= 2  # 150 dpi by default
    assert png_size(drawing.png(dpi=72)) == pytest.approx((w, h), abs=2)
    assert pdf_page(paths["pdf"].read_bytes()) == pytest.approx((w, h), abs=1.5)
    assert paths["dot"].read_text() == drawing.source
    assert drawing.save(tmp_path / "noext", format="pdf").read_bytes()[:5] == b"%PDF-"
    with pytest.raises(ValueError, match=r"unknown suffix '.jpeg'; use one of .svg, .png, .pdf"):
        drawing.save(tmp_path / "g.jpeg")
    with pytest.raises(ValueError, match="png"):
        drawing.png(dpi=0)


def test_png_and_pdf_are_the_svg_picture(drawing, tmp_path):
    """Graphviz's own PNG, and the PNG of our SVG drawn by librsvg, agree pixel for pixel
    up to anti-aliasing (same positions, same layout)."""
    if shutil.which("rsvg-convert") is None:
        pytest.skip("needs rsvg-convert to rasterise the SVG")
    np = pytest.importorskip("numpy")
    Image = pytest.importorskip("PIL.Image")
    svg_png = tmp_path / "from_svg.png"
    drawing.save(tmp_path / "g.svg")
    subprocess.run(["rsvg-convert", "-d", "72", "-p", "72", "-o", str(svg_png), str(tmp_path / "g.svg")], check=True)
    (tmp_path / "dot.png").write_bytes(drawing.png(dpi=72))
    a = np.asarray(Image.open(svg_png).convert("L"), dtype=float)
    b = np.asarray(Image.open(tmp_path / "dot.png").convert("L"), dtype=float)
    h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
    assert abs(a.shape[0] - b.shape[0]) <= 2 and abs(a.shape[1] - b.shape[1]) <= 2
    ink_a, ink_b = a[:h, :w] < 128, b[:h, :w] < 128
    overlap = (ink_a & ink_b).sum() / max(ink_a.sum(), 1)
    assert overlap > 0.6, overlap  # a different layout overlaps far less (next test)


def test_digraph_gives_the_same_picture(drawing):
    ours = node_centres(drawing.svg())
    assert len(ours) == len(drawing.graph.nodes) > 10
    assert isinstance(drawing.digraph, graphviz.Digraph) and isinstance(drawing.digraph, viz.render.PinnedDigraph)
    theirs = node_centres(drawing.digraph.pipe(format="svg", encoding="utf-8"))
    assert theirs == ours
    assert node_centres(drawing.digraph._repr_image_svg_xml()) == ours  # Jupyter's display of it
    # the defect this guards against: the same DOT laid out by plain `dot` is another picture
    plain = graphviz.Digraph(body=list(drawing.digraph.body), graph_attr=dict(drawing.digraph.graph_attr))
    assert node_centres(plain.pipe(format="svg", encoding="utf-8")) != ours


def test_render_is_graphviz_render(drawing, tmp_path):
    out = drawing.render(tmp_path / "attached", format="pdf")
    assert out == str(tmp_path / "attached.pdf")
    assert (tmp_path / "attached").read_text() == drawing.source
    assert (tmp_path / "attached.pdf").read_bytes()[:5] == b"%PDF-"
    out = drawing.render("g", directory=tmp_path / "sub", format="png", cleanup=True)
    assert out == str(tmp_path / "sub" / "g.png") and not (tmp_path / "sub" / "g").exists()
    assert png_size((tmp_path / "sub" / "g.png").read_bytes())[0] > 100
    out = drawing.render(outfile=tmp_path / "o.svg")
    assert out == str(tmp_path / "o.svg") and (tmp_path / "o.gv").read_text() == drawing.source
    out = drawing.digraph.render(tmp_path / "dg", format="svg")  # graphviz's own render, pinned
    assert node_centres(open(out).read()) == node_centres(drawing.svg())
    with pytest.raises(ValueError, match="picture format"):
        drawing.render(tmp_path / "x", format="dot")


def test_inline_display_scales_to_the_notebook_width(drawing):
    html = drawing._repr_html_()
    svg = drawing._repr_svg_()
    assert svg.lstrip().startswith("<?xml") and 'style="max-width:100%;height:auto"' in svg
    assert html.startswith("<div") and "<?xml" not in html and "viewBox=" in html
    assert 'style="max-width:100%;height:auto"' in html
    assert size_pt(drawing.svg())[0] > 1000  # wider than any notebook column at 100 %


def test_inline_display_fits_a_narrow_page_in_a_browser(drawing, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("needs headless chromium")
    Image = pytest.importorskip("PIL.Image")
    np = pytest.importorskip("numpy")
    page = tmp_path / "page.html"
    page.write_text('<html><body style="margin:0;background:#fff"><div style="width:600px">'
                    f"{drawing._repr_html_()}</div></body></html>", encoding="utf-8")
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    "--window-size=800,600", f"--screenshot={shot}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    ink = np.asarray(Image.open(shot).convert("L")) < 200
    cols = np.where(ink.any(axis=0))[0]
    assert cols.max() < 600 and cols.min() < 20, (cols.min(), cols.max())  # all of it in the 600 px column
