"""Learning slowdown: quadratic vs cross-entropy cost on one sigmoid neuron (seed 001 §1).

One neuron a = σ(w·x + b), trained to take x = 1 to y = 0 by full-batch gradient descent with
η = 0.15 for 300 epochs, from (w, b) = (0.6, 0.9) (output 0.82) and (2.0, 2.0) (output 0.98).

* quadratic  C = ½(a − y)²:            ∂C/∂w = (a − y)·σ'(z)·x  -- σ'(z) ≈ 0 when the neuron
  saturates, so from (2, 2) learning is stuck for ~150 epochs although the output is badly wrong.
* cross-entropy C = −[y ln a + (1 − y) ln(1 − a)]:  ∂C/∂w = (a − y)·x  -- σ' cancels, so the
  worse the output, the faster the neuron learns.

The neuron is an ``nn.Neuron``, the costs ``nn.half_sse`` and ``nn.binary_cross_entropy``, the
update ``nn.SGD``. "Epoch k" is the cost after k updates. The costs at epochs
0/50/100/150/200/300 are compared with reference numbers from an independent float64 autograd run
(embedded below, the same as golden.json task2).

The book's cross-entropy animations (its paper.js widget, η = 0.005) use δ = 1/(1 − a), which is
∂C/∂a, instead of ∂C/∂z = a − y. That run is replayed here too (``widget_replica``): its curves
fall much faster than true gradient descent at η = 0.005, so correct code does *not* reproduce
those pictures.

Run: ``python3 examples/learning_slowdown.py [--epochs 300]``; writes ``learning_slowdown.png``.
"""

from __future__ import annotations

import math
from typing import Callable, Optional, Sequence

try:
    from . import _util
except ImportError:  # run as a script
    import _util

import nn

X, Y = 1.0, 0.0
STARTS = {"A": (0.6, 0.9), "B": (2.0, 2.0)}
CHECK_EPOCHS = (0, 50, 100, 150, 200, 300)
# Reference costs (float64 autograd, cross-checked against the closed form): golden task2.
REFERENCE = {
    ("A", "quadratic", 0.15): (0.3342140120616554, 0.07488854204499648, 0.02225970956806744,
                               0.011664736331654844, 0.007656712141432978, 0.004413836298655395),
    ("A", "cross_entropy", 0.15): (1.7014132779827524, 0.08252831794138994, 0.03783223345577314,
                                   0.024359458453314924, 0.01792499569316496, 0.01170646300958047),
    ("B", "quadratic", 0.15): (0.48217554191230866, 0.4762229976400397, 0.46477414506645803,
                               0.435634089037656, 0.3110524730990224, 0.020573741613959928),
    ("B", "cross_entropy", 0.15): (4.01814992791781, 0.10369959188215729, 0.04193952253046222,
                                   0.026021007351279997, 0.0188141847089258, 0.012081428956423924),
    ("A", "cross_entropy", 0.005): (1.7014132779827524, 1.3925907501282266, 1.1360905912673316,
                                    0.9295713843952027, 0.7667731936901355, 0.54073395139584),
    ("B", "cross_entropy", 0.005): (4.01814992791781, 3.5408965522921347, 3.077052785280705,
                                    2.633348742869548, 2.2184226132734066, 1.5122525110761982),
}
# What the book's widget shows (its δ = 1/(1 − a) for cross-entropy, η = 0.005): golden task2.
WIDGET_REFERENCE = {
    "A": (1.7014132779827524, 0.6799002805261086, 0.3548672352205081, 0.19973240111293708,
          0.11627152943596251, 0.0412029712355462),
    "B": (4.01814992791781, 0.8811504137247924, 0.43765363639404553, 0.24178384808786246,
          0.13949234349508466, 0.049060340837026956),
}


COSTS = {"quadratic": nn.half_sse, "cross_entropy": nn.binary_cross_entropy}


def train(w0: float, b0: float, kind: str, eta: float, epochs: int) -> dict:
    """Gradient descent on one ``nn.Neuron`` with ``nn.SGD``; cost and output after 0..epochs steps."""
    if kind not in COSTS:
        raise ValueError(f"unknown cost {kind!r}; expected one of {sorted(COSTS)}")
    neuron = nn.Neuron(1, "sigmoid", weights=[w0], bias=b0, name="neuron")
    opt = nn.SGD(neuron.parameters(), lr=eta)
    costs, outputs = [], []
    for epoch in range(epochs + 1):
        a = neuron([X])
        C = COSTS[kind]([a], [Y])
        costs.append(C.data)
        outputs.append(a.data)
        if epoch == epochs:
            break
        opt.zero_grad()
        C.backward()
        opt.step()
    return {"costs": costs, "outputs": outputs, "w": neuron.w[0].data, "b": neuron.b.data}


def widget_replica(w: float, b: float, eta: float, epochs: int,
                   delta: Callable[[float], float] = lambda a: 1.0 / (1.0 - a)) -> list[float]:
    """The book widget's cross-entropy run: δ = 1/(1 − a) (= ∂C/∂a for y = 0), not a − y."""
    costs = []
    for _ in range(epochs + 1):
        a = 1.0 / (1.0 + math.exp(-(w * X + b)))
        costs.append(-math.log(1.0 - a))
        d = delta(a)
        w, b = w - eta * d * X, b - eta * d
    return costs[: epochs + 1]


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = _util.parse_args("learning_slowdown", __doc__, argv, lambda p: (
        p.add_argument("--epochs", type=int, default=None, help="default 300 (150 with --quick)"),
        p.add_argument("--eta", type=float, default=0.15)))
    epochs = args.epochs if args.epochs is not None else (150 if args.quick else 300)
    if epochs < 0 or args.eta <= 0:
        raise SystemExit("learning_slowdown: need --epochs >= 0 and --eta > 0")
    runs = {}
    for (start, kind, eta) in REFERENCE:
        eta_run = args.eta if eta == 0.15 else eta
        runs[(start, kind, eta_run)] = train(*STARTS[start], kind, eta_run, epochs)
    widget = {s: widget_replica(*STARTS[s], 0.005, epochs) for s in STARTS}

    check = [e for e in CHECK_EPOCHS if e <= epochs]
    rows, max_dev = [], 0.0
    for (start, kind, eta), ref in REFERENCE.items():
        if args.eta != 0.15 and eta == 0.15:
            continue
        r = runs[(start, kind, eta)]
        devs = [abs(r["costs"][e] - ref[CHECK_EPOCHS.index(e)]) for e in check]
        max_dev = max(max_dev, *devs)
        rows.append([f"{start} {STARTS[start]}", kind, eta] + [r["costs"][e] for e in check]
                    + [f"{max(devs):.1e}"])
    print(f"One sigmoid neuron, x = 1 -> y = 0, {epochs} epochs of gradient descent. Cost at epoch:")
    print(_util.table(rows, ["start (w, b)", "cost", "eta"] + [str(e) for e in check]
                      + ["max |ours-ref|"], ".4f"))
    wdev = max(abs(widget[s][e] - WIDGET_REFERENCE[s][CHECK_EPOCHS.index(e)]) for s in STARTS
               for e in check)
    print("\nThe book's cross-entropy animations (eta = 0.005) use delta = 1/(1-a) = dC/da, not "
          "dC/dz = a - y:")
    print(_util.table([[f"{s} {STARTS[s]}", kind] + [c[e] for e in check]
                       for s in STARTS for kind, c in
                       (("book widget (wrong gradient)", widget[s]),
                        ("true gradient", runs[(s, "cross_entropy", 0.005)]["costs"]))],
                      ["start (w, b)", "update"] + [str(e) for e in check], ".4f"))
    print(f"(widget replica vs reference: max |dev| {wdev:.1e})")
    stuck = {}
    if epochs >= 150 and args.eta == 0.15:
        for kind in ("quadratic", "cross_entropy"):
            c = runs[("B", kind, 0.15)]["costs"]
            stuck[kind] = {"cost_0": c[0], "cost_150": c[150], "relative_drop": 1 - c[150] / c[0]}
        print(f"\nFrom (2, 2): quadratic cost {stuck['quadratic']['cost_0']:.3f} -> "
              f"{stuck['quadratic']['cost_150']:.3f} in 150 epochs "
              f"({100 * stuck['quadratic']['relative_drop']:.0f} % drop: stuck on the flat sigmoid); "
              f"cross-entropy {stuck['cross_entropy']['cost_0']:.3f} -> "
              f"{stuck['cross_entropy']['cost_150']:.3f} "
              f"({100 * stuck['cross_entropy']['relative_drop']:.0f} %).")

    figures = []
    if args.out is not None:
        ep = list(range(epochs + 1))
        fig, axes = _util.new_figure(2, 3, height=3.0, title=(
            rf"Learning slowdown: one sigmoid neuron $a = \sigma(wx + b)$, $x = 1 \to y = 0$, $\eta = {args.eta:g}$"
            "\n" r"quadratic $C = \frac{1}{2}(a - y)^2$ vs cross-entropy $C = -[y \ln a + (1 - y)\ln(1 - a)]$"))
        names = {"quadratic": "quadratic cost", "cross_entropy": "cross-entropy cost"}
        k = 0
        for start in STARTS:
            for i, kind in enumerate(("quadratic", "cross_entropy")):
                ax = axes[k]
                k += 1
                costs = runs[(start, kind, args.eta)]["costs"]
                ax.plot(ep, costs, color=f"C{i}")
                # from 0: a run stuck on the flat sigmoid (0.48 -> 0.44) looks stuck, not steep
                ax.set(title=f"{names[kind]}, start $(w, b) = {STARTS[start]}$", xlabel="epoch", ylabel="cost $C$",
                       ylim=(0, 1.08 * max(costs)))
                ax.title.set_fontsize(9.5)
        for start in STARTS:
            ax = axes[k]
            k += 1
            ax.plot(ep, runs[(start, "cross_entropy", 0.005)]["costs"], label=r"true gradient $\delta = a - y$")
            ax.plot(ep, widget[start], linestyle="--", label=r"book widget $\delta = 1/(1 - a)$")
            ax.set(title=rf"cross-entropy, $\eta = 0.005$, start $(w, b) = {STARTS[start]}$", xlabel="epoch",
                   ylabel="cost $C$", ylim=(0, 1.08 * max(widget[start] + runs[(start, "cross_entropy", 0.005)]["costs"])))
            ax.title.set_fontsize(9.5)
        fig.legend(*axes[-1].get_legend_handles_labels(), loc="outside lower center", ncol=2, frameon=False)
        figures.append(_util.save_figure(fig, args, "learning_slowdown"))
    return {"epochs": epochs, "eta": args.eta,
            "runs": {f"{s}_{k}_eta{e:g}": {"cost_at": {ep_: r["costs"][ep_] for ep_ in check},
                                           "final_output": r["outputs"][-1], "w": r["w"], "b": r["b"]}
                     for (s, k, e), r in runs.items()},
            "costs": {f"{s}_{k}_eta{e:g}": r["costs"] for (s, k, e), r in runs.items()},
            "widget_cost_at": {s: {e: widget[s][e] for e in check} for s in STARTS},
            "max_abs_dev_vs_reference": max_dev, "widget_max_abs_dev": wdev,
            "stuck": stuck, "figures": figures}


if __name__ == "__main__":
    main()
