"""XOR: the hand-built threshold network's truth table, then an MLP trained to 100 % (seed 002 §9.1).

Part 1 -- by hand (seed 002, eq. 1a-1c; bias first):
    hidden  w¹₁ = [1.5, −1, −1],  w¹₂ = [−0.5, 1, 1];   output  w² = [−1, 1, 1]
    h₁ = φ(1.5 − x₁ − x₂),  h₂ = φ(−0.5 + x₁ + x₂),  y = φ(−1 + h₁ + h₂)
With sign units (outputs ±1) this is XOR on inputs in {0, 1} (no net input is ever 0, so the
convention for sign(0) does not matter). With 0/1 step units the output's net input is exactly 0
on the "false" rows, so it needs step(0) = 0 (the engine's step is 1 only for z > 0). With inputs
in {−1, +1} it is not XOR (every output is −1). The network is ``nn.MLP(2, [2, 1], activation=
"sign")`` with these explicit weights.

Part 2 -- learned: ``nn.MLP(2, [4, 1], activation="tanh", output_activation="sigmoid")`` trained by
backpropagation (``nn.fit``, sequential mode, binary cross-entropy) until every one of the four
inputs is classified correctly.

Run: ``python3 examples/xor.py [--hidden 4 --seed 2]``; writes ``xor.png`` (training curve and the
trained network's output over the input plane).
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

try:
    from . import _util
except ImportError:  # run as a script
    import _util

import nn

HIDDEN_W = [[-1.0, -1.0], [1.0, 1.0]]
HIDDEN_B = [1.5, -0.5]
OUT_W = [[1.0, 1.0]]
OUT_B = [-1.0]


def hand_built(activation: str = "sign") -> nn.MLP:
    """The lecture's 2-2-1 threshold network with ``activation`` "sign" or "step"."""
    return nn.MLP(2, [2, 1], activation=activation, weights=[HIDDEN_W, OUT_W],
                  biases=[HIDDEN_B, OUT_B])


def truth_table(model: nn.MLP, inputs: Sequence[tuple[float, float]]) -> list[dict]:
    """Rows with the net inputs and outputs of every unit (the dot node feeds each activation)."""
    rows = []
    for x1, x2 in inputs:
        hidden = model.layers[0]([x1, x2])
        y = model.layers[1].forward(hidden)  # one output: a Value
        rows.append({"x1": x1, "x2": x2,
                     "net_h1": hidden[0].inputs[0].data, "net_h2": hidden[1].inputs[0].data,
                     "h1": hidden[0].data, "h2": hidden[1].data,
                     "net_out": y.inputs[0].data, "y": y.data})
    return rows


def is_xor(rows: list[dict]) -> bool:
    """True if the output is "on" (y > 0) exactly when one input is "on" (x > 0)."""
    return all((r["y"] > 0) == ((r["x1"] > 0) != (r["x2"] > 0)) for r in rows)


def surface(model: nn.MLP, lo: float = -0.5, hi: float = 1.5, n: int = 101) -> np.ndarray:
    """The model's output over an n × n grid of the input plane (row 0 = top)."""
    g = np.linspace(lo, hi, n)
    XX, YY = np.meshgrid(g, g[::-1])
    return model.predict(np.column_stack([XX.ravel(), YY.ravel()]))[:, 0].reshape(n, n)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = _util.parse_args("xor", __doc__, argv, lambda p: (
        p.add_argument("--hidden", type=int, default=4),
        p.add_argument("--lr", type=float, default=0.5),
        p.add_argument("--epochs", type=int, default=None, help="maximum epochs (default 2000)"),
        p.add_argument("--seed", type=int, default=2)))
    inputs01 = [(0.0, 0.0), (0.0, 1.0), (1.0, 0.0), (1.0, 1.0)]

    print("Part 1: the hand-built network of seed 002 (bias first): hidden [1.5,-1,-1], [-0.5,1,1]; "
          "output [-1,1,1]")
    tables = {}
    for label, act, ins in (("sign units, inputs {0,1}", "sign", inputs01),
                            ("step units, inputs {0,1}", "step", inputs01),
                            ("sign units, inputs {-1,+1}", "sign",
                             [(2 * a - 1, 2 * b - 1) for a, b in inputs01])):
        rows = truth_table(hand_built(act), ins)
        tables[label] = {"rows": rows, "computes_xor": is_xor(rows)}
    rows = tables["sign units, inputs {0,1}"]["rows"]
    print(_util.table([[int(r["x1"]), int(r["x2"]), r["net_h1"], r["net_h2"], int(r["h1"]), int(r["h2"]),
                        r["net_out"], int(r["y"]), "+1" if r["x1"] != r["x2"] else "-1"] for r in rows],
                      ["x1", "x2", "net_h1", "net_h2", "h1", "h2", "net_out", "y", "XOR"], ".1f"))
    for label, t in tables.items():
        print(f"  {label:28s}: {'computes XOR' if t['computes_xor'] else 'NOT XOR'}  "
              f"(y = {[int(r['y']) for r in t['rows']]})")

    epochs = args.epochs if args.epochs is not None else 2000
    X = np.array(inputs01)
    Y = np.array([0.0, 1.0, 1.0, 0.0])
    model = nn.MLP(2, [args.hidden, 1], activation="tanh", output_activation="sigmoid", seed=args.seed)

    def perfect(state: nn.TrainingState) -> None:  # stop once all four are right and confident
        if state.history.accuracy and state.history.accuracy[-1] == 1.0 and state.history.loss[-1] < 0.1:
            state.stop = True

    hist = nn.fit(model, X, Y, loss="binary_cross_entropy", lr=args.lr, mode="sequential",
                  epochs=epochs, seed=args.seed, callbacks=[perfect], progress=False)
    out = model.predict(X)[:, 0]
    acc = float(np.mean((out > 0.5) == (Y > 0.5)))
    print(f"\nPart 2: MLP(2, [{args.hidden}, 1]) tanh/sigmoid, binary cross-entropy, sequential SGD "
          f"lr={args.lr}, seed {args.seed}")
    print(_util.table([[int(a), int(b), float(o), int(o > 0.5), int(t)] for (a, b), o, t in zip(X, out, Y)],
                      ["x1", "x2", "output", "class", "XOR"], ".4f"))
    print(f"accuracy {100 * acc:.0f} % after {len(hist)} epochs (loss {hist.loss[-1]:.4f}; "
          f"stopped: {hist.stopped or 'max epochs'})")

    figures = []
    if args.out is not None:
        fig, (ax1, ax2) = _util.new_figure(2, title="XOR learned by backpropagation")
        ax1.plot([0, *hist.epoch], [hist.initial["loss"], *hist["loss"]], color="C0")
        ax1.set(title="training loss (binary cross-entropy)", xlabel="epoch", ylabel=r"mean loss $E_{\mathrm{avg}}$",
                yscale="log")
        _util.plain_log_ticks(ax1.yaxis)
        image = _util.probability_panel(ax2, surface(model), (-0.5, 1.5, -0.5, 1.5), X, Y,
                                        title=r"trained output $\hat y(x_1, x_2)$")
        ax2.set(xlabel=r"$x_1$", ylabel=r"$x_2$")
        _util.probability_colorbar(fig, image, [ax2])
        fig.legend(handles=_util.class_legend_handles(), loc="outside lower center", ncol=3, frameon=False)
        figures.append(_util.save_figure(fig, args, "xor"))
    return {"hand_built": tables, "trained": {"accuracy": acc, "epochs": len(hist),
                                              "final_loss": hist.final_loss, "outputs": out.tolist(),
                                              "loss_curve": [hist.initial["loss"], *hist["loss"]],
                                              "stopped": hist.stopped},
            "figures": figures}


if __name__ == "__main__":
    main()
