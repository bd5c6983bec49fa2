"""Dependency-free figures for the examples: SVG line charts and PNG images.

matplotlib is not required (it is an optional extra of the project and often absent), so the
examples draw with this module instead:

* :func:`line_chart` -> an SVG ``<g>`` fragment: axes, "nice" ticks, linear or log-10 axes,
  several series (lines and/or markers), optional horizontal/vertical guide lines, a legend.
* :func:`image_panel` -> an SVG fragment showing an RGB array (embedded as a PNG data URI) with a
  title and optional scatter points in data coordinates.
* :func:`save_figure` lays fragments out on a grid and writes one standalone ``.svg`` file.
* :func:`probability_image` colours a grid of class probabilities (decision surfaces);
  :func:`stamp_points` draws scatter points into such an image.
* :func:`png_bytes` / :func:`write_png` encode an ``(H, W, 3)`` uint8 array as PNG (zlib + CRC).

Non-finite or out-of-range values are clipped to the plot box, so a diverging run still draws.
"""

from __future__ import annotations

import base64
import itertools
import math
import struct
import zlib
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")
_CLIP_IDS = itertools.count()
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def _esc(text: str) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1e4 or abs(v) < 1e-3:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:.6g}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values (1, 2, 5 × 10^k steps) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks, k = [], 0
    while first + k * step <= hi + 1e-9 * step:
        ticks.append(round(first + k * step, 12))
        k += 1
    return ticks


def line_chart(series: Sequence[dict], *, title: str = "", xlabel: str = "", ylabel: str = "",
               logy: bool = False, logx: bool = False,
               xlim: Optional[tuple] = None, ylim: Optional[tuple] = None,
               hlines: Sequence[tuple] = (), vlines: Sequence[tuple] = (),
               width: int = 520, height: int = 340, legend: str = "upper right") -> str:
    """One chart as an SVG ``<g>`` of size ``width`` × ``height`` at the origin.

    Each series is a dict: ``x``, ``y`` (sequences), optional ``label``, ``color``, ``dash``
    (SVG dasharray), ``marker`` (True: circles), ``line`` (default True), ``width``.
    ``hlines``/``vlines`` are ``(value, label)`` guide lines drawn dashed grey.
    ``legend`` is "upper right", "lower left", ... or "" for none.
    """
    ml, mr, mt, mb = 62, 14, 30 if title else 12, 44
    pw, ph = width - ml - mr, height - mt - mb

    def finite(vals, positive=False):
        return [float(v) for v in vals if v is not None and math.isfinite(float(v))
                and (not positive or float(v) > 0)]

    xs = [v for s in series for v in finite(s["x"], logx)] + [v for v, _ in vlines]
    ys = [v for s in series for v in finite(s["y"], logy)] + [v for v, _ in hlines if not logy or v > 0]
    x0, x1 = xlim if xlim else ((min(xs), max(xs)) if xs else (0.0, 1.0))
    if ylim:
        y0, y1 = ylim
    elif ys:
        y0, y1 = min(ys), max(ys)
        if not logy:
            pad = 0.05 * (y1 - y0 or abs(y1) or 1.0)
            y0, y1 = (y0 - pad if y0 < 0 or y0 - pad >= 0 else 0.0), y1 + pad
    else:
        y0, y1 = (1.0, 10.0) if logy else (0.0, 1.0)
    if logx:
        x0, x1 = math.log10(x0), math.log10(x1)
    if x1 <= x0:
        x0, x1 = x0 - 0.5, x0 + 0.5
    if logy:
        y0, y1 = math.log10(y0), math.log10(y1)
        if y1 - y0 < 1:
            y0, y1 = math.floor(y0), math.ceil(y1) if math.ceil(y1) > y0 else y0 + 1
    if y1 <= y0:
        y0, y1 = y0 - 0.5, y0 + 0.5

    def px(x: float) -> float:
        if logx:
            x = math.log10(x) if x > 0 else -1e300
        return ml + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        if logy:
            y = math.log10(y) if y > 0 else -1e300
        t = (y - y0) / (y1 - y0)
        return mt + ph - min(max(t, -0.02), 1.02) * ph

    out = [f'<rect x="0" y="0" width="{width}" height="{height}" fill="white"/>']
    if title:
        out.append(f'<text x="{ml + pw / 2:.1f}" y="19" text-anchor="middle" font-size="14" '
                   f'font-weight="bold" {FONT}>{_esc(title)}</text>')
    out.append(f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    xt = ([10.0 ** k for k in range(math.floor(x0), math.ceil(x1) + 1)] if logx else nice_ticks(x0, x1, 6))
    if logx and len(xt) < 4:
        xt = [m * 10.0 ** k for k in range(math.floor(x0), math.ceil(x1) + 1) for m in (1, 2, 5)]
    xt = [t for t in xt if x0 - 1e-9 <= (math.log10(t) if logx else t) <= x1 + 1e-9]
    for t in xt:
        X = px(t)
        out.append(f'<line x1="{X:.1f}" y1="{mt}" x2="{X:.1f}" y2="{mt + ph}" stroke="#eee"/>')
        out.append(f'<text x="{X:.1f}" y="{mt + ph + 15}" text-anchor="middle" font-size="11" '
                   f'{FONT}>{_fmt(t)}</text>')
    yt = ([10.0 ** k for k in range(math.ceil(y0 - 1e-9), math.floor(y1 + 1e-9) + 1)] if logy
          else nice_ticks(y0, y1, 5))
    if logy and len(yt) > 8:
        stride = math.ceil(len(yt) / 8)
        yt = yt[::stride]
    for t in yt:
        Y = py(t)
        out.append(f'<line x1="{ml}" y1="{Y:.1f}" x2="{ml + pw}" y2="{Y:.1f}" stroke="#eee"/>')
        out.append(f'<text x="{ml - 5}" y="{Y + 4:.1f}" text-anchor="end" font-size="11" '
                   f'{FONT}>{_fmt(t)}</text>')
    out.append(f'<text x="{ml + pw / 2:.1f}" y="{height - 8}" text-anchor="middle" font-size="12" '
               f'{FONT}>{_esc(xlabel)}</text>')
    out.append(f'<text transform="translate(14 {mt + ph / 2:.1f}) rotate(-90)" text-anchor="middle" '
               f'font-size="12" {FONT}>{_esc(ylabel)}</text>')
    for v, label in hlines:
        if logy and v <= 0:
            continue
        Y = py(v)
        out.append(f'<line x1="{ml}" y1="{Y:.1f}" x2="{ml + pw}" y2="{Y:.1f}" stroke="#888" '
                   f'stroke-dasharray="5 4"/>')
        out.append(f'<text x="{ml + 4}" y="{Y - 4:.1f}" font-size="10" fill="#555" {FONT}>'
                   f'{_esc(label)}</text>')
    for v, label in vlines:
        X = px(v)
        out.append(f'<line x1="{X:.1f}" y1="{mt}" x2="{X:.1f}" y2="{mt + ph}" stroke="#888" '
                   f'stroke-dasharray="5 4"/>')
        out.append(f'<text x="{X + 4:.1f}" y="{mt + 12}" font-size="10" fill="#555" {FONT}>'
                   f'{_esc(label)}</text>')
    cid = f"clip{next(_CLIP_IDS)}"
    out.append(f'<clipPath id="{cid}"><rect x="{ml - 4}" y="{mt - 4}" width="{pw + 8}" '
               f'height="{ph + 8}"/></clipPath><g clip-path="url(#{cid})">')
    for i, s in enumerate(series):
        color = s.get("color", PALETTE[i % len(PALETTE)])
        pts = [(px(float(x)), py(float(y) if math.isfinite(float(y)) else math.copysign(1e300, float(y))))
               for x, y in zip(s["x"], s["y"]) if x is not None and y is not None
               and math.isfinite(float(x)) and not math.isnan(float(y))]
        if s.get("line", True) and len(pts) > 1:
            dash = f' stroke-dasharray="{s["dash"]}"' if s.get("dash") else ""
            d = " ".join(f"{x:.2f},{y:.2f}" for x, y in pts)
            out.append(f'<polyline points="{d}" fill="none" stroke="{color}" '
                       f'stroke-width="{s.get("width", 2)}"{dash}/>')
        if s.get("marker"):
            out.extend(f'<circle cx="{x:.2f}" cy="{y:.2f}" r="3" fill="{color}"/>' for x, y in pts)
    out.append("</g>")
    labelled = [(i, s) for i, s in enumerate(series) if s.get("label")]
    if legend and labelled:
        lw = 24 + 6.6 * max(len(s["label"]) for _, s in labelled)
        lh = 16 * len(labelled) + 6
        lx = ml + pw - lw - 6 if "right" in legend else ml + 6
        ly = mt + 6 if "upper" in legend else mt + ph - lh - 6
        out.append(f'<rect x="{lx:.1f}" y="{ly:.1f}" width="{lw:.1f}" height="{lh}" fill="white" '
                   f'fill-opacity="0.85" stroke="#bbb"/>')
        for k, (i, s) in enumerate(labelled):
            color = s.get("color", PALETTE[i % len(PALETTE)])
            yy = ly + 14 + 16 * k
            dash = f' stroke-dasharray="{s["dash"]}"' if s.get("dash") else ""
            if s.get("line", True):
                out.append(f'<line x1="{lx + 4:.1f}" y1="{yy - 4:.1f}" x2="{lx + 18:.1f}" '
                           f'y2="{yy - 4:.1f}" stroke="{color}" stroke-width="2.5"{dash}/>')
            else:
                out.append(f'<circle cx="{lx + 11:.1f}" cy="{yy - 4:.1f}" r="3.5" fill="{color}"/>')
            out.append(f'<text x="{lx + 22:.1f}" y="{yy:.1f}" font-size="11" {FONT}>'
                       f'{_esc(s["label"])}</text>')
    return f'<g data-size="{width}x{height}">' + "".join(out) + "</g>"


def png_bytes(rgb: np.ndarray) -> bytes:
    """Encode an ``(H, W, 3)`` uint8 array as a PNG file (8-bit RGB, no filtering)."""
    a = np.asarray(rgb)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"png_bytes needs an (H, W, 3) array, got shape {a.shape}")
    a = np.clip(a, 0, 255).astype(np.uint8)
    h, w, _ = a.shape
    raw = b"".join(b"\x00" + a[r].tobytes() for r in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def write_png(path: Path | str, rgb: np.ndarray) -> Path:
    path = Path(path)
    path.write_bytes(png_bytes(rgb))
    return path


def probability_image(P: np.ndarray) -> np.ndarray:
    """Class-1 probabilities (n, m), row 0 = top, as a pastel RGB image: blue for 0, red for 1,
    with the decision boundary (where the class P > 0.5 changes between neighbours) in black."""
    P = np.clip(np.asarray(P, dtype=float), 0.0, 1.0)
    blue, red = np.array([70, 110, 220.0]), np.array([225, 70, 60.0])
    rgb = (1 - P)[..., None] * blue + P[..., None] * red
    rgb = 255 - 0.5 * (255 - rgb)
    c = P > 0.5
    edge = np.zeros_like(c)
    edge[:-1, :] |= c[:-1, :] != c[1:, :]
    edge[:, :-1] |= c[:, :-1] != c[:, 1:]
    rgb[edge] = 30
    return rgb.astype(np.uint8)


def stamp_points(rgb: np.ndarray, points: Sequence[tuple], extent: tuple, radius: float = 3.0) -> np.ndarray:
    """A copy of the image with discs (black rim) at ``(x, y, "#rrggbb")`` points in data coordinates
    (``extent`` = (xmin, xmax, ymin, ymax), row 0 = top) -- the scatter of :func:`image_panel`, in pixels."""
    out = np.array(rgb, dtype=np.uint8, copy=True)
    h, w, _ = out.shape
    xmin, xmax, ymin, ymax = extent
    yy, xx = np.mgrid[0:h, 0:w]
    for x, y, color in points:
        cx = (x - xmin) / (xmax - xmin) * (w - 1)
        cy = (ymax - y) / (ymax - ymin) * (h - 1)
        d2 = (xx - cx) ** 2 + (yy - cy) ** 2
        out[d2 <= (radius + 1) ** 2] = 0
        out[d2 <= radius ** 2] = [int(color[i:i + 2], 16) for i in (1, 3, 5)]
    return out


def image_panel(rgb: np.ndarray, *, title: str = "", extent: tuple = (0.0, 1.0, 0.0, 1.0),
                points: Sequence[tuple] = (), size: int = 220) -> str:
    """An image (row 0 = top, covering ``extent`` = (xmin, xmax, ymin, ymax)) with a title and
    scatter ``points`` given as ``(x, y, color)`` in data coordinates."""
    top = 22 if title else 4
    uri = "data:image/png;base64," + base64.b64encode(png_bytes(rgb)).decode("ascii")
    xmin, xmax, ymin, ymax = extent
    out = [f'<rect x="0" y="0" width="{size + 8}" height="{size + top + 4}" fill="white"/>']
    if title:
        out.append(f'<text x="{size / 2 + 4:.1f}" y="15" text-anchor="middle" font-size="12" '
                   f'{FONT}>{_esc(title)}</text>')
    out.append(f'<image x="4" y="{top}" width="{size}" height="{size}" preserveAspectRatio="none" '
               f'style="image-rendering:pixelated" href="{uri}"/>')
    for x, y, color in points:
        X = 4 + (x - xmin) / (xmax - xmin) * size
        Y = top + (ymax - y) / (ymax - ymin) * size
        out.append(f'<circle cx="{X:.1f}" cy="{Y:.1f}" r="2.6" fill="{color}" stroke="black" '
                   f'stroke-width="0.6"/>')
    out.append(f'<rect x="4" y="{top}" width="{size}" height="{size}" fill="none" stroke="#444"/>')
    return f'<g data-size="{size + 8}x{size + top + 4}">' + "".join(out) + "</g>"


def save_figure(path: Path | str, panels: Sequence[str], *, cols: int = 1, title: str = "") -> Path:
    """Lay out fragments from :func:`line_chart` / :func:`image_panel` on a grid; write SVG."""
    if not panels:
        raise ValueError("save_figure needs at least one panel")
    sizes = [tuple(int(v) for v in p.split('data-size="', 1)[1].split('"', 1)[0].split("x"))
             for p in panels]
    cw, ch = max(w for w, _ in sizes), max(h for _, h in sizes)
    rows = math.ceil(len(panels) / cols)
    top = 30 if title else 0
    W, H = cw * min(cols, len(panels)), ch * rows + top
    body = [f'<rect width="{W}" height="{H}" fill="white"/>']
    if title:
        body.append(f'<text x="{W / 2}" y="21" text-anchor="middle" font-size="16" font-weight="bold" '
                    f'{FONT}>{_esc(title)}</text>')
    for k, p in enumerate(panels):
        body.append(f'<g transform="translate({(k % cols) * cw} {top + (k // cols) * ch})">{p}</g>')
    path = Path(path)
    path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" '
                    f'xmlns:xlink="http://www.w3.org/1999/xlink" width="{W}" height="{H}" '
                    f'viewBox="0 0 {W} {H}">' + "".join(body) + "</svg>\n", encoding="utf-8")
    return path
