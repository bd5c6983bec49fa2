"""Momentum, the vanishing/exploding gradient and its fixes, gradient clipping (seeds 000, 002, 004).

1. Momentum (seed 000, generalised delta rule): Δw(n) = αΔw(n−1) − η·∂E/∂w(n), 0 ≤ α < 1, on the
   ill-conditioned bowl E(w) = ½(w₁² + 25·w₂²) with η = 0.01 from w = (1, 1): the first three
   updates of ``nn.SGD`` are checked against the formula by hand, then the steps needed to reach
   E < 1e-8 are counted for α = 0, 0.5, 0.9. Momentum builds up speed along the flat direction w₁.

2. Vanishing and exploding gradients at initialisation (seed 002 §9.3, seed 004): the speed of
   learning ‖∂C/∂bˡ‖ of every hidden layer (``nn.layer_speeds``, seed 001 §3.1) of a deep
   ``MLP(2, [16]×6, 1)`` on two moons, for sigmoid with N(0, 1) and with Xavier weights (σ' ≤ 1/4:
   the early layers learn slowest), tanh with Xavier, ReLU with N(0, 1) (too large: the gradient
   explodes towards the input) and the fixes ReLU / leaky ReLU / ELU with He initialisation.

3. Gradient clipping (seed 002 §9.3.3): every gradient limited to [−g, g]. The deep ReLU network
   with N(0, 1) weights, trained with η = 0.05, overflows in its first epoch without clipping; with
   ``clip_value=1`` the same run trains.

Run: ``python3 examples/momentum_and_clipping.py``; writes ``momentum_and_clipping.png``.
"""

from __future__ import annotations

from typing import Optional, Sequence

try:
    from . import _util
except ImportError:  # run as a script
    import _util

import nn
from autodiff import Value

CURVATURE = (1.0, 25.0)
CONFIGS = (("sigmoid", "normal"), ("sigmoid", "xavier_uniform"), ("tanh", "xavier_uniform"),
           ("relu", "normal"), ("relu", "he_uniform"), ("leaky_relu", "he_uniform"), ("elu", "he_uniform"))


def bowl(w: Sequence[Value]) -> Value:
    """E(w) = ½(a·w₁² + b·w₂²) with (a, b) = CURVATURE."""
    return 0.5 * (CURVATURE[0] * w[0] ** 2 + CURVATURE[1] * w[1] ** 2)


def descend(alpha: float, lr: float, max_steps: int, tol: float = 1e-8) -> dict:
    """Minimise the bowl with nn.SGD(momentum=alpha); also re-derive the first 3 updates by hand."""
    w = [Value(1.0, "w1", param=True), Value(1.0, "w2", param=True)]
    opt = nn.SGD(w, lr=lr, momentum=alpha)
    path, energies, hand_error, prev_dw = [(1.0, 1.0)], [], 0.0, [0.0, 0.0]
    for n in range(max_steps + 1):
        E = bowl(w)
        energies.append(E.data)
        if E.data < tol or n == max_steps:
            break
        opt.zero_grad()
        E.backward()
        before = [p.data for p in w]
        grads = [p.grad for p in w]
        opt.step()
        dw = [alpha * pd - lr * g for pd, g in zip(prev_dw, grads)]  # Δw(n) = αΔw(n−1) − η ∂E/∂w
        if n < 3:
            hand_error = max(hand_error, *(abs(p.data - (b + d)) for p, b, d in zip(w, before, dw)))
        prev_dw = dw
        path.append((w[0].data, w[1].data))
    return {"alpha": alpha, "steps": len(energies) - 1, "reached": energies[-1] < tol, "path": path,
            "energies": energies, "hand_check_max_error": hand_error}


class BatchLosses(nn.Callback):
    """Records the loss of every mini-batch step, the diverging one included."""

    def __init__(self) -> None:
        self.losses: list[float] = []
        self.reason = ""

    def on_batch_end(self, state: nn.TrainingState) -> None:
        self.losses.append(state.batch_loss)

    def on_train_end(self, state: nn.TrainingState) -> None:
        if state.history.stopped == "diverged":
            if len(self.losses) < state.step + 1:
                self.losses.append(state.batch_loss)
            self.reason = f"loss {state.batch_loss:.3g} at step {len(self.losses)}"


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = _util.parse_args("momentum_and_clipping", __doc__, argv, lambda p: (
        p.add_argument("--lr", type=float, default=0.01, help="η for the momentum part"),
        p.add_argument("--points", type=int, default=None, help="two-moons samples (default 200; quick 40)"),
        p.add_argument("--epochs", type=int, default=None, help="clipping run epochs (default 30; quick 3)"),
        p.add_argument("--seed", type=int, default=0)))
    points = args.points or (40 if args.quick else 200)
    epochs = args.epochs if args.epochs is not None else (8 if args.quick else 30)

    # 1. momentum
    runs = [descend(a, args.lr, 3000) for a in (0.0, 0.5, 0.9)]
    print(f"1. Momentum on E = 1/2 (w1^2 + 25 w2^2), eta = {args.lr}, from (1, 1): "
          "dw(n) = alpha dw(n-1) - eta dE/dw")
    print(_util.table([[f"{r['alpha']:g}", r["steps"] if r["reached"] else f">{r['steps']}",
                        f"{r['hand_check_max_error']:.1e}"] for r in runs],
                      ["alpha", "steps to E < 1e-8", "nn.SGD vs formula (3 steps)"]))

    # 2. vanishing / exploding gradients at initialisation
    X, y = nn.two_moons(points, noise=0.2, seed=args.seed)
    speeds = {}
    for act, init in CONFIGS:
        model = nn.MLP(2, [16] * 6 + [1], activation=act, output_activation="sigmoid", init=init,
                       seed=args.seed)
        speeds[f"{act} + {init}"] = nn.layer_speeds(model, X, y, loss="binary_cross_entropy",
                                                    hidden_only=True).tolist()
    print(f"\n2. Speed of learning ||dC/db^l|| per hidden layer at initialisation, MLP(2, [16]x6, 1), "
          f"two moons ({points} points), cross-entropy")
    print(_util.table([[k] + [f"{s:.2e}" for s in v] + [f"{v[0] / v[-1]:.3g}"] for k, v in speeds.items()],
                      ["activation + init"] + [f"layer {i + 1}" for i in range(6)] + ["first/last"]))
    ratio = {k: v[0] / v[-1] for k, v in speeds.items()}
    sig = [k for k in ratio if k.startswith("sigmoid")]
    fixed = [k for k in ratio if not k.startswith("sigmoid") and k != "relu + normal"]
    slow = [1 / ratio[k] for k in sig]
    print(f"   sigmoid: layer 1 learns {min(slow):.0f}-{max(slow):.0f}x "
          "slower than layer 6 (sigma' <= 1/4 at every layer: vanishing);"
          f"\n   ReLU with N(0,1) weights: layer 1's gradient is {ratio['relu + normal']:.0f}x layer 6's "
          "(exploding);"
          f"\n   tanh + Xavier and ReLU / leaky ReLU / ELU + He: layers 1 and 6 within a factor "
          f"{max(max(ratio[k], 1 / ratio[k]) for k in fixed):.1f}.")

    # 3. clipping
    clip_runs = {}
    for clip in (None, 1.0):
        model = nn.MLP(2, [16] * 6 + [1], activation="relu", output_activation="linear", init="normal",
                       seed=args.seed)
        steps = BatchLosses()
        h = nn.fit(model, X, y, loss="half_sse", lr=0.05, mode="minibatch", batch_size=20, epochs=epochs,
                   clip_value=clip, seed=args.seed, progress=False, callbacks=[steps], on_divergence="stop")
        diverged = h.stopped == "diverged"
        clip_runs[clip] = {"diverged": diverged, "loss": [h.initial["loss"], *h.loss],
                           "accuracy": None if diverged or not h.accuracy else h.accuracy[-1],
                           "error": "DivergenceError: " + steps.reason if diverged else "",
                           "epoch": len(h), "batch_losses": steps.losses}
    print(f"\n3. Clipping: deep ReLU net, N(0,1) weights, half-SSE, eta = 0.05, {epochs} epochs of "
          "mini-batch SGD")
    for clip, r in clip_runs.items():
        name = "no clipping" if clip is None else f"clip to [-{clip:g}, {clip:g}]"
        if r["diverged"]:
            print(f"   {name:20s}: diverged in epoch {r['epoch'] + 1} ({r['error']})")
        else:
            print(f"   {name:20s}: loss {r['loss'][0]:.4g} -> {r['loss'][-1]:.4g}, "
                  f"train accuracy {100 * r['accuracy']:.0f} %")

    figures = []
    if args.out is not None:
        shown = 80
        fig, axes = _util.new_figure(2, 2, width=5.0, height=3.6,
                                     title="Momentum, vanishing/exploding gradients and their fixes, clipping")
        ax1, ax2, ax3, ax4 = axes
        styles = {0.0: dict(marker="o", markersize=6, markerfacecolor="none", linewidth=2.2, zorder=4),
                  0.5: dict(marker="s", markersize=2.5, linewidth=1.2, zorder=3),
                  0.9: dict(marker=".", markersize=4, linewidth=1, zorder=2)}
        for i, r in enumerate(runs):  # α = 0 wide and open on top: α = 0.5 runs along it at first
            label = rf"$\alpha = {r['alpha']:g}$"
            ax1.plot([p[0] for p in r["path"][:shown]], [p[1] for p in r["path"][:shown]], color=f"C{i}",
                     label=label, **styles.get(r["alpha"], {}))
            ax2.plot(range(len(r["energies"])), r["energies"], color=f"C{i}", label=label)
        ax1.set(title=rf"first {shown} steps in $(w_1, w_2)$", xlabel=r"$w_1$", ylabel=r"$w_2$")
        ax1.legend(fontsize=8)
        ax2.set(title=r"$E(\mathbf{w})$ per step, $\Delta w(n) = \alpha \Delta w(n-1) - \eta \partial E/\partial w$",
                xlabel="step", ylabel=r"$E$", yscale="log")
        ax2.title.set_fontsize(9.5)
        ax2.legend(fontsize=8)
        layers = list(range(1, 7))
        markers = "o^sDv<>p"
        for j, (k, v) in enumerate(speeds.items()):  # own marker per line: relu and leaky_relu + He nearly coincide
            ax3.plot(layers, v, marker=markers[j % len(markers)], markersize=7 - 0.6 * j, markerfacecolor="none",
                     linestyle="--" if "sigmoid" in k else ":" if "leaky" in k else "-", label=k,
                     linewidth=2.4 if "leaky" in k else 1.5)
        ax3.set(title=r"speed of learning $\|\partial C/\partial b^l\|$ at initialisation", xlabel=r"hidden layer $l$",
                ylabel=r"$\|\partial C/\partial b^l\|$", yscale="log")
        ax3.legend(fontsize=7.5, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
        for clip, color, name in ((None, "C3", "no clipping"), (1.0, "C0", r"gradients clipped to $[-1, 1]$")):
            r = clip_runs[clip]
            losses = r["batch_losses"]
            label = f"{name} (diverged at step {len(losses)})" if r["diverged"] else name
            ax4.plot(range(1, len(losses) + 1), losses, color=color, marker="x" if r["diverged"] else None,
                     markersize=8, linewidth=1.6, label=label)
        ax4.set(title=r"deep ReLU net, $\mathcal{N}(0, 1)$ init, $\eta = 0.05$: clipping rescues it",
                xlabel="mini-batch step", ylabel="mini-batch loss (log scale)", yscale="log")
        ax4.title.set_fontsize(10)
        ax4.legend(fontsize=8, loc="upper right")
        from matplotlib.ticker import MaxNLocator
        for ax in (ax3, ax4):
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        figures.append(_util.save_figure(fig, args, "momentum_and_clipping"))
    return {"momentum": [{k: v for k, v in r.items() if k not in ("path", "energies")} for r in runs],
            "speeds": speeds, "clipping": {("none" if k is None else f"value_{k:g}"): v
                                           for k, v in clip_runs.items()},
            "figures": figures}


if __name__ == "__main__":
    main()
