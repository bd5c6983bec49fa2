"""Decision surfaces of one hidden layer with 5, 20 and 200 neurons, four runs each (seed 000 §6.4).

Seed 000, observation 1: "the neural network learned is affected by the initial values of the
weights" -- four runs of the same network from different random initial weights end in different
decision surfaces. Observation 2: "the more hidden layer neurons are used, the more complex the
decision surface could be" -- repeated with 5 and 200 hidden neurons.

Here: a 2-D two-class problem (two interleaving moons with noise, ``nn.two_moons``), the network
``nn.MLP(2, [H, 1], activation="tanh", output_activation="sigmoid")`` with N(0, 1) initial weights
(seed 000: "pick the synaptic weights from a random (uniform or normal) distribution") drawn from
seed = run number, binary cross-entropy, mini-batch SGD (batches of 20) with momentum 0.9
(``nn.fit``, ``engine="auto"``: the compiled tape when available). The same data for all 12 runs;
only the initial weights differ. Each panel shows the network's output over the plane (blue: class
0, red: class 1, dark line: output 0.5) with the training points.

With 100 noisy points and 400 epochs the wide networks start to bend the boundary around single
points while the 5-unit ones cannot; train longer (``--epochs 1500``, about four times the default
run time) to see the 200-unit surfaces grow islands. Runs on the compiled engine take ~20-45 s here; the eager engine
(``--engine eager``) is far slower.

Run: ``python3 examples/decision_surfaces.py [--epochs 400 --points 100 --widths 5 20 200]``;
writes ``decision_surfaces.png`` (the 3 × 4 grid) and one figure per panel.
"""

from __future__ import annotations

import time
from typing import Optional, Sequence

import numpy as np

try:
    from . import _util
except ImportError:  # run as a script
    import _util

import nn

EXTENT = (-1.6, 2.6, -1.3, 1.8)  # xmin, xmax, ymin, ymax of the plane shown


def grid(n: int) -> np.ndarray:
    """(n*n, 2) points covering EXTENT, row-major with the top row first (image order)."""
    xmin, xmax, ymin, ymax = EXTENT
    xs = np.linspace(xmin, xmax, n)
    ys = np.linspace(ymax, ymin, n)
    XX, YY = np.meshgrid(xs, ys)
    return np.column_stack([XX.ravel(), YY.ravel()])


def boundary_complexity(P: np.ndarray) -> int:
    """Number of grid cells where the predicted class changes to a neighbour (boundary length)."""
    c = P > 0.5
    return int(np.sum(c[1:, :] != c[:-1, :]) + np.sum(c[:, 1:] != c[:, :-1]))


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = _util.parse_args("decision_surfaces", __doc__, argv, lambda p: (
        p.add_argument("--widths", type=int, nargs="+", default=None,
                       help="hidden widths (default 5 20 200)"),
        p.add_argument("--runs", type=int, default=None, help="runs per width (default 4)"),
        p.add_argument("--points", type=int, default=None, help="training points (default 100)"),
        p.add_argument("--noise", type=float, default=0.3),
        p.add_argument("--epochs", type=int, default=None, help="default 400 (quick: 5)"),
        p.add_argument("--init", default="normal", help="nn.init name for the weights (default N(0,1))"),
        p.add_argument("--batch-size", type=int, default=20),
        p.add_argument("--lr", type=float, default=0.1),
        p.add_argument("--grid", type=int, default=None, help="surface resolution (default 80)"),
        p.add_argument("--engine", default="auto", help="nn.fit engine: auto, eager or compiled"),
        p.add_argument("--data-seed", type=int, default=0)))
    q = args.quick
    widths = args.widths or ([5, 20] if q else [5, 20, 200])
    runs = args.runs or (2 if q else 4)
    points = args.points or (40 if q else 100)
    epochs = args.epochs if args.epochs is not None else (5 if q else 400)
    res = args.grid or (24 if q else 80)
    X, y = nn.two_moons(points, noise=args.noise, seed=args.data_seed)
    G = grid(res)

    results, surfaces, t0 = [], [], time.perf_counter()
    for H in widths:
        for run in range(1, runs + 1):
            model = nn.MLP(2, [H, 1], activation="tanh", output_activation="sigmoid", init=args.init,
                           seed=run)
            hist = nn.fit(model, X, y, loss="binary_cross_entropy", lr=args.lr, momentum=0.9,
                          mode="minibatch", batch_size=args.batch_size, epochs=epochs, seed=run,
                          engine=args.engine, progress=False)
            P = nn.evaluate(model, G, np.zeros(len(G)), loss="binary_cross_entropy",
                            engine=args.engine)["outputs"][:, 0].reshape(res, res)
            results.append({"hidden": H, "run": run, "final_loss": hist.loss[-1],
                            "train_accuracy": hist.accuracy[-1], "boundary_cells": boundary_complexity(P),
                            "engine": hist.engine})
            surfaces.append((f"$H = {H}$, run {run}: accuracy {100 * hist.accuracy[-1]:.0f} %", P))
    seconds = time.perf_counter() - t0

    print(f"Two moons, {points} points (noise {args.noise}); MLP(2, [H, 1]) tanh/sigmoid, init "
          f"{args.init}, cross-entropy, {epochs} epochs of mini-batch SGD (batch {args.batch_size}, "
          f"lr {args.lr}, momentum 0.9), engine {results[0]['engine']}")
    print(_util.table([[r["hidden"], r["run"], r["final_loss"], 100 * r["train_accuracy"],
                        r["boundary_cells"]] for r in results], ["H", "run", "final loss", "train acc %", "boundary cells"], ".3f"))
    by_h = {H: [r for r in results if r["hidden"] == H] for H in widths}
    summary = {H: {"mean_accuracy": float(np.mean([r["train_accuracy"] for r in rs])),
                   "accuracy_spread": float(np.ptp([r["train_accuracy"] for r in rs])),
                   "mean_boundary_cells": float(np.mean([r["boundary_cells"] for r in rs]))}
               for H, rs in by_h.items()}
    for H, s in summary.items():
        print(f"  H = {H:3d}: mean train accuracy {100 * s['mean_accuracy']:.1f} % "
              f"(runs differ by up to {100 * s['accuracy_spread']:.1f} points), "
              f"mean boundary length {s['mean_boundary_cells']:.0f} cells")
    print(f"({seconds:.1f} s)")

    figures = []
    if args.out is not None:
        fig, axes = _util.new_figure(runs, len(widths), width=3.3, height=3.0, title=(
            "Decision surfaces of one hidden layer of tanh units\n"
            f"rows: $H$ = {', '.join(map(str, widths))} units; columns: {runs} runs from different initial weights"))
        for k, (ax, (title, P)) in enumerate(zip(axes, surfaces)):
            image = _util.probability_panel(ax, P, EXTENT, X, y, title=title)
            if k % runs == 0:
                ax.set_ylabel(r"$x_2$")
            if k >= runs * (len(widths) - 1):
                ax.set_xlabel(r"$x_1$")
        _util.probability_colorbar(fig, image, axes)
        fig.legend(handles=_util.class_legend_handles(), loc="outside lower center", ncol=3, frameon=False)
        figures.append(_util.save_figure(fig, args, "decision_surfaces"))
        for r, (title, P) in zip(results, surfaces):
            fig, (ax,) = _util.new_figure(1, width=4.2, height=4.0)
            image = _util.probability_panel(ax, P, EXTENT, X, y, title=title)
            ax.set(xlabel=r"$x_1$", ylabel=r"$x_2$")
            _util.probability_colorbar(fig, image, [ax])
            fig.legend(handles=_util.class_legend_handles(), loc="outside lower center", ncol=2, frameon=False)
            figures.append(_util.save_figure(fig, args, f"surface_h{r['hidden']}_run{r['run']}"))
    return {"widths": widths, "runs": runs, "epochs": epochs, "points": points, "results": results,
            "summary": summary, "seconds": seconds, "figures": figures}


if __name__ == "__main__":
    main()
