"""The lecture's own network, drawn as the slides draw it (seed 003, "Backpropagation").

A simplified 1-hidden-layer MLP and its regularised loss (seed 003):

    f(x; W₁, W₂) = σ(W₂ᵀ σ(W₁ᵀ x))
    ℓ(y, ŷ; W₁, W₂) = cross_ent(y, ŷ) + λ (‖W₁‖₂ + ‖W₂‖₂)

with x ∈ ℝᵖ, y ∈ ℝ, W₁ ∈ ℝᵖˣᵠ, W₂ ∈ ℝᵠ. It is built here from scalar `Value` nodes:
one ``dot`` node per hidden unit (grouped as ``nn`` groups them, so the layer-level
drawing collapses them into ``matmul``), cross_ent(y, ŷ) = −(y log ŷ + (1 − y) log(1 − ŷ))
and ‖W‖₂ = (Σ w²)^½ marked as composite ops (group ``("op:cross_ent",)``), so the layer
level draws them as the single squares of the slides.

Writes, into --out (default ./out/slides_network):
    forward_layer.svg    -- compare with backprop.png  (annotated forward graph)
    backward_W1_layer.svg -- compare with backprop2.png (backward pass toward W₁)
    forward_scalar.svg, backward_W1_scalar.svg -- the same graph, every scalar node
and a .png next to each when ``rsvg-convert`` (or Graphviz) can make one, and the DOT source.
With ``--format svg|png|pdf`` only those four drawings are written, in that format.

Run: python3 examples/slides_network.py [--out DIR] [--p 3] [--q 2] [--seed 0]
(``--quick`` is accepted; the network is small.)
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from pathlib import Path

try:
    from . import _util
except ImportError:  # run as a script, or loaded from its file
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _util

import autodiff  # noqa: E402
from autodiff import Value  # noqa: E402
from viz import draw  # noqa: E402
from viz.render import GraphvizNotFound  # noqa: E402


def _grouped(v: Value, group: tuple) -> Value:
    v.group = group
    return v


def cross_ent(y: Value, y_hat: Value) -> Value:
    """−(y log ŷ + (1 − y) log(1 − ŷ)), every node grouped as one ``cross_ent`` op."""
    g = ("op:cross_ent",)
    a = _grouped(y * _grouped(y_hat.log(), g), g)
    one_minus_y = _grouped(1 - y, g)
    b = _grouped(one_minus_y * _grouped(_grouped(1 - y_hat, g).log(), g), g)
    return _grouped(-_grouped(a + b, g), g)


def l2_norm(ws: list[Value], which: str) -> Value:
    """‖W‖₂ = (Σᵢ wᵢ²)^½ over the entries of a matrix, grouped as one ``‖·‖₂`` op."""
    g = ("op:‖·‖₂", which)
    squares = [_grouped(w ** 2, g) for w in ws]
    return _grouped(_grouped(autodiff.sum(squares), g) ** 0.5, g)


def build(p: int = 3, q: int = 2, seed: int = 0, lam: float = 0.01):
    """The network and loss of seed 003; returns (loss, W1 entries, W2 entries, λ)."""
    rnd = random.Random(seed)
    x = [Value(rnd.uniform(-1, 1), f"x.{i}") for i in range(p)]
    W1 = [[Value(rnd.gauss(0, 0.5), f"layers.0.neurons.{j}.w.{i}", param=True) for i in range(p)]
          for j in range(q)]
    W2 = [Value(rnd.gauss(0, 0.5), f"layers.1.neurons.0.w.{j}", param=True) for j in range(q)]
    hidden = []
    for j in range(q):                                  # u₁ = W₁ᵀx, u₂ = σ(u₁)
        g = ("layers.0", f"neurons.{j}")
        z = _grouped(autodiff.dot(W1[j], x), g)
        hidden.append(_grouped(z.sigmoid(), g))
    g = ("layers.1", "neurons.0")                       # u₃ = W₂ᵀu₂, ŷ = σ(u₃)
    y_hat = _grouped(_grouped(autodiff.dot(W2, hidden), g).sigmoid(), g)
    y_hat.label = "ŷ"
    y = Value(1.0, "y")
    lam_v = Value(lam, "λ")
    w1 = [w for row in W1 for w in row]
    loss = cross_ent(y, y_hat) + lam_v * (l2_norm(w1, "W1") + l2_norm(W2, "W2"))
    loss.label = "l"
    return loss, w1, W2, lam_v


def _png(svg: Path, drawing) -> None:
    png = svg.with_suffix(".png")
    exe = shutil.which("rsvg-convert")
    if exe:
        subprocess.run([exe, "-b", "white", "-o", str(png), str(svg)], check=True)
    else:
        drawing.save(png)


def main(argv: list[str] | None = None) -> int:
    args = _util.parse_args("slides_network", __doc__, argv, lambda ap: (
        ap.add_argument("--p", type=int, default=3, help="input size p (default 3)"),
        ap.add_argument("--q", type=int, default=2, help="hidden units q (default 2)"),
        ap.add_argument("--seed", type=int, default=0)), matplotlib=False)
    loss, w1, w2, lam = build(args.p, args.q, args.seed)
    loss.backward()
    print(f"l = {loss.data:.6f};  ∂l/∂W₁[0,0] = {w1[0].grad:.6f}")
    written: list[Path] = []
    if args.out is None:  # --no-figures
        return 0
    out = Path(args.out)
    for detail, limit in (("layer", 400), ("scalar", 400)):
        for view, wrt, stem in (("forward", None, "forward"), ("backward", w1, "backward_W1")):
            d = draw(loss, view=view, wrt=wrt, detail=detail, above=[lam], max_nodes=limit)
            if args.format_given:  # that format only
                path = _util.save_drawing(d, out / f"{stem}_{detail}.{args.format}")
                written += [path] if path else []
                continue
            dot_path = d.save(out / f"{stem}_{detail}.dot")
            written.append(dot_path)
            try:
                svg = d.save(out / f"{stem}_{detail}.svg")
            except GraphvizNotFound as exc:
                print(f"note: {exc}", file=sys.stderr)
                continue
            written.append(svg)
            _png(svg, d)
            written.append(svg.with_suffix(".png"))
    for path in written:
        if not args.format_given:
            print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
