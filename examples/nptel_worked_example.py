"""The NPTEL worked backprop example (seed 004, lecture 38), every number by backward() on Values.

Network: x = (0.05, 0.10) -> 2 sigmoid hidden units H1, H2 -> 1 sigmoid output o, target 0.01,
w1, w2 into H1; w3, w4 into H2; w5, w6 into o; one bias b1 = 0.35 *shared* by H1 and H2,
b2 = 0.60 on o; E = ½(target − out_o)².

    in_H1 = w1·x1 + w2·x2 + b1        out_H1 = σ(in_H1)
    in_H2 = w3·x1 + w4·x2 + b1        out_H2 = σ(in_H2)
    in_o  = w5·out_H1 + w6·out_H2 + b2   out_o = σ(in_o)

The lecture multiplies the chain ∂E/∂w5 = ∂E/∂out_o · ∂out_o/∂in_o · ∂in_o/∂w5 and
∂E/∂w1 = ∂E/∂out_H1 · ∂out_H1/∂in_H1 · ∂in_H1/∂w1 by hand. Here the local factors are read from
the engine's chain-rule stream (``autodiff.chain_rule(record=True)``), the totals from ``.grad``.
Because b1 feeds both hidden units its gradient is the sum of two paths (δ_H1 + δ_H2).

The network is written down with ``nn.Neuron`` and explicit weights (the two hidden neurons are
given the same bias Value b1), the loss with ``nn.half_sse``.

Lecture check: the lecture's printed numbers (an embedded copy of the few we compare) are shown
beside ours; a number is a "match (rounded)" if ours rounds to it, "match (truncated)" if ours
truncates to it, otherwise WRONG. The lecture's ∂E/∂out_H1 = 0.55 is a factor-10 typo for 0.0554:
its own ∂E/∂w1 = 0.0006 only follows from 0.055.

Run: ``python3 examples/nptel_worked_example.py [--graph --out DIR]`` (``--graph`` also draws the
backward graph with ``viz``, needs Graphviz). ``build_network()`` returns the loss and the
named nodes so a renderer can draw the graph.
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import NamedTuple, Optional, Sequence

try:
    from . import _util
except ImportError:  # run as a script
    import _util

import autodiff
import nn
from autodiff import Value

INPUTS = {"x1": 0.05, "x2": 0.10}
TARGET = 0.01
WEIGHTS = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30, "w5": 0.40, "w6": 0.45,
           "b1": 0.35, "b2": 0.60}
ETA = 0.5  # the step size of the lecture's weight update

# The lecture's printed numbers (seed 004), as printed: strings keep their number of decimals.
LECTURE = {
    "in_H1": "0.3775", "out_H1": "0.593", "out_H2": "0.596", "in_o": "1.105", "E": "0.274",
    "dE/dout_o": "0.741", "dout_o/din_o": "0.186", "din_o/dw5": "0.593", "dE/dw5": "0.082",
    "dE/dout_H1": "0.55", "dout_H1/din_H1": "0.241", "dE/dw1": "0.0006",
}


class Network(NamedTuple):
    """``loss`` is E; ``nodes`` maps names (x1, w1, b1, in_H1, out_H1, ..., out_o, E) to Values."""
    loss: Value
    nodes: dict


def build_network(weights: Optional[dict] = None) -> Network:
    """Build E for the 2-2-1 network with ``nn``: two hidden ``nn.Neuron``s sharing the bias Value
    b1, an output ``nn.Neuron`` and ``nn.half_sse`` (E = ½(target − out_o)²).

    ``weights`` overrides any of w1..w6, b1, b2. Every parameter is a labelled leaf with
    ``param=True`` that the neurons use as is; b1 is a single node used by both hidden units.
    Each neuron's weighted sum is one ``dot`` node (labelled in_H1, in_H2, in_o) followed by its
    ``sigmoid`` node (out_H1, out_H2, out_o); nn tags them with the neuron's group (H1, H2, o).
    """
    w = {**WEIGHTS, **(weights or {})}
    unknown = set(w) - set(WEIGHTS)
    if unknown:
        raise KeyError(f"build_network: unknown weight name(s) {sorted(unknown)}; "
                       f"expected some of {sorted(WEIGHTS)}")
    n = {k: Value(v, k) for k, v in INPUTS.items()}
    n.update({k: Value(v, k, param=True) for k, v in w.items()})
    n["target"] = Value(TARGET, "target")
    neurons = {"H1": nn.Neuron(2, "sigmoid", weights=[n["w1"], n["w2"]], bias=n["b1"], name="H1"),
               "H2": nn.Neuron(2, "sigmoid", weights=[n["w3"], n["w4"]], bias=n["b1"], name="H2"),
               "o": nn.Neuron(2, "sigmoid", weights=[n["w5"], n["w6"]], bias=n["b2"], name="o")}
    for h in ("H1", "H2"):
        n[f"out_{h}"] = neurons[h].forward([n["x1"], n["x2"]])
    n["out_o"] = neurons["o"].forward([n["out_H1"], n["out_H2"]])
    for h in ("H1", "H2", "o"):
        out = n[f"out_{h}"]
        out.label = f"out_{h}"
        (net,) = out.inputs  # the neuron's dot node feeds its sigmoid
        net.label = f"in_{h}"
        n[net.label] = net
    n["E"] = nn.half_sse([n["out_o"]], [n["target"]])
    n["E"].label = "E"
    n["e"] = next(v for v in autodiff.topological_order(n["E"]) if v.op == "sub")
    n["e"].label = "e"
    return Network(n["E"], n)


def compute(weights: Optional[dict] = None) -> dict:
    """Forward values, chain-rule factors, gradients, the b1 split and one SGD step (η = 0.5)."""
    net = build_network(weights)
    n = net.nodes
    edges = {}
    for step in autodiff.chain_rule(net.loss, record=True):
        for e in step.edges:
            edges[(e.node.label, e.input.label)] = e
    values = {k: n[k].data for k in ("in_H1", "in_H2", "out_H1", "out_H2", "in_o", "out_o", "E")}
    partials = {
        "dE/dout_o": n["out_o"].grad,
        "dout_o/din_o": edges[("out_o", "in_o")].local,
        "din_o/dw5": edges[("in_o", "w5")].local,
        "dE/din_o (delta_o)": n["in_o"].grad,
        "dE/dout_H1": n["out_H1"].grad,
        "dE/dout_H2": n["out_H2"].grad,
        "dout_H1/din_H1": edges[("out_H1", "in_H1")].local,
        "dout_H2/din_H2": edges[("out_H2", "in_H2")].local,
        "din_H1/dw1": edges[("in_H1", "w1")].local,
        "dE/din_H1 (delta_H1)": n["in_H1"].grad,
        "dE/din_H2 (delta_H2)": n["in_H2"].grad,
    }
    grads = {k: n[k].grad for k in WEIGHTS}
    split = {"b1_via_H1": edges[("in_H1", "b1")].product, "b1_via_H2": edges[("in_H2", "b1")].product}
    step = {k: n[k].data - ETA * g for k, g in grads.items()}
    return {"values": values, "partials": partials, "gradients": grads, "b1_gradient_split": split,
            "sgd_step_eta_0_5": step, "network": net}


def judge(lecture: str, exact: float) -> str:
    """Compare a printed lecture number with the exact value at the lecture's precision."""
    printed = Decimal(lecture)
    quantum = Decimal(1).scaleb(printed.as_tuple().exponent)
    exact_d = Decimal(repr(exact))
    if exact_d.quantize(quantum, ROUND_HALF_UP) == printed:
        return "match (rounded)"
    if exact_d.quantize(quantum, ROUND_DOWN) == printed:
        return "match (truncated, not rounded)"
    ratio = float(printed) / exact if exact else math.inf
    for k in (10, 100, 0.1, 0.01):
        if abs(ratio / k - 1) < 0.1:
            return f"WRONG: {k:g}x the exact value (decimal-point typo)"
    return "WRONG"


def lecture_check(result: dict) -> list[dict]:
    ours = {**result["values"], **result["partials"],
            "dE/dw5": result["gradients"]["w5"], "dE/dw1": result["gradients"]["w1"]}
    return [{"name": k, "lecture": float(v), "lecture_text": v, "ours": ours[k],
             "verdict": judge(v, ours[k])} for k, v in LECTURE.items()]


def draw_graph(network: Network, out: Path, fmt: str = "svg") -> list[str]:
    """The slide-style backward graph (values and gradients) via ``viz`` as ``nptel_backward.<fmt>``,
    if it and Graphviz work."""
    try:
        import viz
        out.mkdir(parents=True, exist_ok=True)
        path = viz.draw(network.loss, view="backward").save(out / f"nptel_backward.{fmt}")
    except (ImportError, OSError, RuntimeError) as exc:  # viz or Graphviz missing
        print(f"(no graph drawn: {type(exc).__name__}: {exc})")
        return []
    print(f"wrote {path}")
    return [str(path)]


def main(argv: Optional[Sequence[str]] = None) -> dict:
    args = _util.parse_args("nptel_worked_example", __doc__, argv, lambda p: p.add_argument(
        "--graph", action="store_true", help="also draw the backward graph with viz into --out"),
        figures=False)
    r = compute()
    checks = lecture_check(r)
    by_name = {c["name"]: c for c in checks}

    def lec(name: str) -> str:
        return by_name[name]["lecture_text"] if name in by_name else ""

    def verdict(name: str) -> str:
        return by_name[name]["verdict"] if name in by_name else ""

    print("NPTEL 2-2-1 example: x = (0.05, 0.10), target 0.01, shared hidden bias b1 = 0.35, "
          "E = 1/2 (target - out_o)^2\n")
    print("Forward pass")
    forward = [("in_H1", "w1 x1 + w2 x2 + b1"), ("out_H1", "sigma(in_H1)"),
               ("in_H2", "w3 x1 + w4 x2 + b1"), ("out_H2", "sigma(in_H2)"),
               ("in_o", "w5 out_H1 + w6 out_H2 + b2"), ("out_o", "sigma(in_o)"),
               ("E", "1/2 (target - out_o)^2")]
    print(_util.table([[k, f, f"{r['values'][k]:.9f}", lec(k), verdict(k)] for k, f in forward],
                      ["quantity", "formula", "ours", "lecture", "lecture check"]))
    print("\nBackward pass: chain-rule factors (local derivatives from the chain-rule stream)")
    print(_util.table([[k, f"{v:.9f}", lec(k.split(" ")[0]), verdict(k.split(" ")[0])]
                       for k, v in r["partials"].items()],
                      ["partial", "ours", "lecture", "lecture check"]))
    print("\nGradients dE/dp and one SGD step p - 0.5 dE/dp")
    print(_util.table([[k, f"{WEIGHTS[k]:.2f}", f"{g:.9f}", lec(f"dE/d{k}"), verdict(f"dE/d{k}"),
                        f"{r['sgd_step_eta_0_5'][k]:.9f}"] for k, g in r["gradients"].items()],
                      ["param", "value", "dE/dp (ours)", "lecture", "lecture check", "after step"]))
    s = r["b1_gradient_split"]
    print(f"\nb1 is shared: dE/db1 = delta_H1 + delta_H2 = {s['b1_via_H1']:.9f} + "
          f"{s['b1_via_H2']:.9f} = {r['gradients']['b1']:.9f}")
    p = r["partials"]
    typo = float(LECTURE["dE/dout_H1"]) * p["dout_H1/din_H1"] * p["din_H1/dw1"]
    print(f"Lecture typo: dE/dout_H1 is {p['dE/dout_H1']:.7f}, not {LECTURE['dE/dout_H1']}. "
          f"With 0.55 the chain would give dE/dw1 = {typo:.5f};\n  the lecture's own "
          f"dE/dw1 = {LECTURE['dE/dw1']} follows from 0.055 (ours {r['gradients']['w1']:.7f}).")
    wrong = [c["name"] for c in checks if c["verdict"].startswith("WRONG")]
    truncated = [c["name"] for c in checks if "truncated" in c["verdict"]]
    print(f"Lecture numbers wrong: {', '.join(wrong) or 'none'}; truncated rather than rounded: "
          f"{', '.join(truncated) or 'none'}.")
    figures = []
    if args.graph:
        figures = draw_graph(r["network"], args.out_dir, args.format if args.format_given else "svg")
    report = {k: v for k, v in r.items() if k != "network"}
    report.update({"lecture_check": checks, "wrong": wrong, "truncated": truncated, "figures": figures})
    return report


if __name__ == "__main__":
    main()
