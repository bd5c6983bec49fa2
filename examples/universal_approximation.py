"""Universal approximation: one hidden layer of sign or sigmoid units, error vs width (seed 003).

Seed 003 ("Expressiveness"): the 1-hidden-layer MLP f(x) = Σᵢ wᵢ·sign(x + bᵢ) can approximate
any smooth 1-D function to arbitrary precision given enough hidden units (the universal
approximation theorem, Cybenko 1989 / Hornik 1991, for F(x) = Σᵢ vᵢ·σ(wᵢx + bᵢ)).

The construction used here, for q hidden units on [lo, hi]: take q + 1 equally spaced nodes
x_j = lo + j·h (h = (hi − lo)/q), y_j = f(x_j), breakpoints tᵢ = (xᵢ₋₁ + xᵢ)/2 halfway between
nodes, and jumps dᵢ = yᵢ − yᵢ₋₁. Then

    sign units:    F(x) = (y₀ + y_q)/2 + Σᵢ (dᵢ/2)·sign(x − tᵢ)     (a staircase through the y_j)
    sigmoid units: F(x) = y₀ + Σᵢ dᵢ·σ(k(x − tᵢ)),  k = 4/h          (a smoothed staircase)

i.e. hidden weights 1 (or k), hidden biases −tᵢ (or −k·tᵢ), output weights dᵢ/2 (or dᵢ). Both are
built as ``nn.MLP(1, [q, 1], activation=..., output_activation="linear")`` with these explicit
weights. The staircase's worst error is about max|f'|·h/2, so it falls like 1/q. The sigmoid
networks (up to ``--train-max-width`` units) are then trained by gradient descent (``nn.fit``, batch
mode with momentum, half-SSE on random points of [lo, hi]) starting from the construction, which
lowers their error further -- sign units cannot be trained this way (their derivative is 0).

Run: ``python3 examples/universal_approximation.py [--widths 1 2 4 8 16 32 64 --seed 3]``;
writes ``universal_approximation.png``.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

try:
    from . import _util
except ImportError:  # run as a script
    import _util

import nn

LO, HI = -2.0, 2.0
SHARPNESS = 4.0  # sigmoid slope times the spacing of the breakpoints


def target(x: np.ndarray) -> np.ndarray:
    """The smooth function to approximate: f(x) = sin(3x) + 0.5x on [−2, 2]."""
    return np.sin(3 * x) + 0.5 * x


def construct(q: int, unit: str) -> nn.MLP:
    """The q-unit staircase network (unit = "sign") or its sigmoid smoothing (unit = "sigmoid")."""
    if q < 1:
        raise ValueError(f"construct: need at least 1 hidden unit, got q={q}")
    h = (HI - LO) / q
    nodes = LO + h * np.arange(q + 1)
    y = target(nodes)
    t = (nodes[:-1] + nodes[1:]) / 2
    d = np.diff(y)
    if unit == "sign":
        W1, b1 = np.ones((q, 1)), -t
        W2, b2 = (d / 2)[None, :], np.array([(y[0] + y[-1]) / 2])
    elif unit == "sigmoid":
        k = SHARPNESS / h
        W1, b1 = np.full((q, 1), k), -k * t
        W2, b2 = d[None, :], np.array([y[0]])
    else:
        raise ValueError(f"unit must be 'sign' or 'sigmoid', got {unit!r}")
    return nn.MLP(1, [q, 1], activation=unit, output_activation="linear",
                  weights=[W1, W2], biases=[b1, b2])


def errors(model: nn.MLP, xs: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(max |f − F|, RMS error, F) on the points xs."""
    F = model.predict(xs[:, None])[:, 0]
    e = np.abs(F - target(xs))
    return float(e.max()), float(np.sqrt(np.mean(e ** 2))), F


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = _util.parse_args("universal_approximation", __doc__, argv, lambda p: (
        p.add_argument("--widths", type=int, nargs="+", default=None,
                       help="hidden widths (default 1 2 4 8 16 32 64; quick: 1 2 4 8)"),
        p.add_argument("--train-epochs", type=int, default=None,
                       help="gradient-descent epochs for the sigmoid nets (default 500; quick 20)"),
        p.add_argument("--train-max-width", type=int, default=None,
                       help="train only the sigmoid nets up to this width (default: all)"),
        p.add_argument("--seed", type=int, default=3)))
    widths = args.widths or ([1, 2, 4, 8] if args.quick else [1, 2, 4, 8, 16, 32, 64])
    epochs = args.train_epochs if args.train_epochs is not None else (20 if args.quick else 500)
    train_max = args.train_max_width if args.train_max_width is not None else max(widths)
    xs = np.linspace(LO, HI, 101 if args.quick else 401)
    rng = np.random.default_rng(args.seed)
    X_train = np.sort(rng.uniform(LO, HI, 30 if args.quick else 60))[:, None]
    Y_train = target(X_train)

    rows, results, fits = [], [], {}
    for q in widths:
        sign_net, sig_net = construct(q, "sign"), construct(q, "sigmoid")
        s_max, s_rms, s_F = errors(sign_net, xs)
        g_max, g_rms, g_F = errors(sig_net, xs)
        t_max = t_rms = None
        t_F = None
        if epochs > 0 and q <= train_max:
            nn.fit(sig_net, X_train, Y_train, loss="half_sse", lr=0.02, momentum=0.9,
                   epochs=epochs, mode="batch", engine="auto", seed=args.seed, progress=False)
            t_max, t_rms, t_F = errors(sig_net, xs)
        fits[q] = {"sign": s_F, "sigmoid": g_F, "sigmoid_trained": t_F}
        results.append({"width": q, "sign_max_error": s_max, "sign_rms_error": s_rms,
                        "sigmoid_max_error": g_max, "sigmoid_rms_error": g_rms,
                        "sigmoid_trained_max_error": t_max, "sigmoid_trained_rms_error": t_rms})
        rows.append([q, s_max, s_rms, g_max, g_rms] + ([t_max if t_max is not None else "-",
                                                        t_rms if t_rms is not None else "-"]
                                                       if epochs > 0 else []))
    print(f"f(x) = sin(3x) + 0.5x on [{LO:g}, {HI:g}]; one hidden layer of q units, linear output")
    print(_util.table(rows, ["q", "sign max err", "sign rms", "sigmoid max err", "sigmoid rms"]
                      + ([f"trained max ({epochs} ep)", "trained rms"] if epochs > 0 else []), ".4f"))
    slope = None
    fine = [r for r in results if r["width"] >= 8]  # once the pieces resolve the wiggles of f
    if len(fine) >= 2:
        lq = np.log([r["width"] for r in fine])
        slope = float(np.polyfit(lq, np.log([r["sign_max_error"] for r in fine]), 1)[0])
        print(f"sign staircase, q >= 8: max error ~ q^{slope:.2f} (max|f'| h/2 predicts q^-1)")

    figures = []
    if args.out is not None:
        shown = [q for q in widths if q in (2, 8, 32)] or widths[:3]
        fig, (ax1, ax2, ax3) = _util.new_figure(3, width=4.4, height=3.6, title=(
            r"One hidden layer approximates a smooth 1-D function better as units are added: "
            r"$F(x) = \sum_{i=1}^{q} v_i\, \varphi(w_i x + b_i)$"))
        for ax, unit, title in ((ax1, "sign", "sign units (staircase)"), (ax2, "sigmoid", "sigmoid units")):
            ax.plot(xs, target(xs), color="black", linewidth=2.5, label=r"$f(x)$")
            for i, q in enumerate(shown):
                ax.plot(xs, fits[q][unit], color=f"C{i}", label=f"$q = {q}$")
                if unit == "sigmoid" and fits[q]["sigmoid_trained"] is not None:
                    ax.plot(xs, fits[q]["sigmoid_trained"], color=f"C{i}", linestyle="--",
                            label=f"$q = {q}$, trained")
            ax.set(title=title, xlabel=r"$x$", ylabel=r"$F(x)$")
            ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3, frameon=False)
        for k, label, marker in (("sign", "sign", "o"), ("sigmoid", "sigmoid", "s"),
                                 ("sigmoid_trained", "sigmoid, trained", "^")):
            pts = [(r["width"], r[f"{k}_rms_error"]) for r in results if r[f"{k}_rms_error"] is not None]
            if pts:
                ax3.plot([p[0] for p in pts], [p[1] for p in pts], marker=marker, label=label)
        ax3.set(title=r"RMS error $|f - F|$ vs width", xlabel=r"hidden units $q$", ylabel="RMS error",
                xscale="log", yscale="log")
        ax3.set_xticks(widths, [str(q) for q in widths])
        ax3.minorticks_off()
        _util.plain_log_ticks(ax3.yaxis)  # a range under one decade (quick mode) still has numbers
        ax3.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3, frameon=False)
        figures.append(_util.save_figure(fig, args, "universal_approximation"))
    return {"widths": widths, "results": results, "sign_error_slope": slope, "train_epochs": epochs,
            "figures": figures}


if __name__ == "__main__":
    main()
