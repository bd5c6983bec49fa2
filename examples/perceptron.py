"""The classic perceptron learning rule on linearly separable data -- and its failure on XOR (seed 004).

Single-layer perceptron (seed 004; seed 003 for the threshold unit): y = step(wᵀx + b) ∈ {0, 1}.
For each training pair (x, d) in turn:

    e = d − y,    w ← w + η·e·x,    b ← b + η·e

(nothing changes when the sample is already right). Training stops once the epoch's error
E = ½Σe² falls to the threshold γ (here 0: every sample right). The perceptron convergence
theorem guarantees this in finitely many updates when the classes are linearly separable; for XOR
they are not, and the rule cycles forever.

This example uses ``nn.Perceptron``: the AND and OR gates and a 2-D two-blob data set (separable
by construction: points closer than a margin to the line x₁ + x₂ = 1 are dropped) converge; XOR does not.

Run: ``python3 examples/perceptron.py [--points 100 --lr 0.1 --seed 4]``; writes ``perceptron.png``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

try:
    from . import _util
except ImportError:  # run as a script
    import _util

import nn

GATES = {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}
X01 = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def blobs(n: int, seed: int, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Two Gaussian blobs around (2, 2) (class 1) and (0, 0) (class 0), sd 1.2, keeping only points
    at distance > ``margin`` from the line x₁ + x₂ = 2 on their own side (so linearly separable)."""
    rng = np.random.default_rng(seed)
    X, d = [], []
    while len(X) < n:
        label = len(X) % 2
        p = rng.normal(2.0 * label, 1.2, 2)
        side = (p.sum() - 2.0) / np.sqrt(2)
        if (side > margin if label else side < -margin):
            X.append(p)
            d.append(label)
    return np.array(X), np.array(d, dtype=float)


def train(X: np.ndarray, d: np.ndarray, lr: float, epochs: int, snapshots: Sequence[int] = ()) -> dict:
    """Run the rule epoch by epoch (one ``Perceptron.fit`` epoch at a time, to record the line)."""
    p = nn.Perceptron(X.shape[1], "step", lr=lr)
    mistakes, lines, converged = [], {}, False
    for epoch in range(1, epochs + 1):
        h = p.fit(X, d, epochs=1)
        mistakes.append(h.mistakes[0])
        if epoch in snapshots:
            lines[epoch] = ([w.data for w in p.w], p.b.data)
        if h.converged:
            converged = True
            break
    final = ([w.data for w in p.w], p.b.data)
    accuracy = float(np.mean(p.predict(X) == d))
    return {"mistakes": mistakes, "epochs": len(mistakes), "converged": converged, "weights": final[0],
            "bias": final[1], "accuracy": accuracy, "lines": lines, "updates": int(sum(mistakes))}


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = _util.parse_args("perceptron", __doc__, argv, lambda p: (
        p.add_argument("--points", type=int, default=None, help="blob points (default 100; quick 30)"),
        p.add_argument("--lr", type=float, default=0.1),
        p.add_argument("--epochs", type=int, default=None, help="max epochs (default 100; quick 30)"),
        p.add_argument("--seed", type=int, default=4)))
    n = args.points or (30 if args.quick else 100)
    epochs = args.epochs or (30 if args.quick else 100)

    gates = {g: train(X01, np.array(t, float), args.lr, epochs) for g, t in GATES.items()}
    print(f"Perceptron rule w <- w + eta (d - y) x, eta = {args.lr}, step unit, at most {epochs} epochs")
    print(_util.table([[g, r["converged"], r["epochs"], r["updates"], f"{r['weights'][0]:.2f}",
                        f"{r['weights'][1]:.2f}", f"{r['bias']:.2f}", f"{100 * r['accuracy']:.0f} %"]
                       for g, r in gates.items()],
                      ["data", "converged", "epochs", "updates", "w1", "w2", "b", "accuracy"]))

    X, d = blobs(n, args.seed)
    snaps = (1, 2, 3)
    res = train(X, d, args.lr, epochs, snapshots=snaps)
    print(f"\nTwo separable blobs ({n} points, seed {args.seed}): converged = {res['converged']} after "
          f"{res['epochs']} epochs and {res['updates']} updates; mistakes per epoch {res['mistakes'][:12]}"
          f"{' ...' if len(res['mistakes']) > 12 else ''}")
    print(f"XOR: mistakes per epoch never reach 0 ({gates['XOR']['mistakes'][:8]} ...): not linearly "
          "separable, the rule cycles.")

    figures = []
    if args.out is not None:
        lo, hi = float(X.min()) - 0.5, float(X.max()) + 0.5
        fig, (ax1, ax2) = _util.new_figure(2, width=4.8, height=4.2, title="The perceptron rule converges on "
                                           "separable data, cycles on XOR")
        for c, col in ((0, "C0"), (1, "C3")):
            ax1.scatter(X[d == c, 0], X[d == c, 1], s=14, color=col, label=f"class {c}")

        def line(w, b, label, **style):
            if abs(w[1]) < 1e-12:
                ax1.plot([-b / w[0]] * 2, [lo, hi], label=label, **style)
            else:
                ax1.plot([lo, hi], [-(w[0] * x + b) / w[1] for x in (lo, hi)], label=label, **style)

        shades = {1: ("#f4a261", ":"), 2: ("#2a9d8f", "-."), 3: ("#7b2cbf", "--")}  # one look per epoch
        for e in snaps:
            if e in res["lines"]:
                color, style = shades.get(e, ("0.5", "--"))
                line(*res["lines"][e], f"after epoch {e}", color=color, linestyle=style, linewidth=1.6)
        line(res["weights"], res["bias"], f"final (epoch {res['epochs']})", color="black", linewidth=2)
        ax1.set(title=r"boundary $\mathbf{w} \cdot \mathbf{x} + b = 0$", xlabel=r"$x_1$", ylabel=r"$x_2$",
                xlim=(lo, hi), ylim=(lo, hi))
        ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False)
        last = max(res["epochs"], gates["XOR"]["epochs"])
        dots = dict(markersize=5) if last <= 30 else dict(markersize=4, markevery=[0, 1, 2, 3, 4, 9, 19, 49, 99])
        ax2.plot(range(1, res["epochs"] + 1), res["mistakes"], marker="o", label="blobs (separable)", markersize=6,
                 zorder=3)
        ax2.plot(range(1, gates["XOR"]["epochs"] + 1), gates["XOR"]["mistakes"], marker="s", clip_on=False,
                 label=f"XOR (not separable): {gates['XOR']['epochs']} epochs, never 0", **dots)
        # every epoch shown, the first few spread out: a log axis 1 … last
        ax2.set(title="mistakes per epoch", xlabel="epoch (log scale)", ylabel="misclassified samples",
                xscale="log", xlim=(0.8, last * 1.25), ylim=(-0.3, max(max(res["mistakes"]), 4) + 0.6))
        from matplotlib.ticker import FixedLocator, MaxNLocator, NullLocator
        ax2.xaxis.set_major_locator(FixedLocator([t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500) if t <= last]))
        ax2.xaxis.set_minor_locator(NullLocator())
        ax2.xaxis.set_major_formatter("{x:.0f}")
        ax2.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax2.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1, frameon=False)
        figures.append(_util.save_figure(fig, args, "perceptron"))
    return {"gates": {g: {k: v for k, v in r.items() if k != "lines"} for g, r in gates.items()},
            "blobs": {k: v for k, v in res.items() if k != "lines"}, "points": n, "figures": figures}


if __name__ == "__main__":
    main()
