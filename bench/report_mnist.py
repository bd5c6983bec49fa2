"""Put the numbers of an ``examples/mnist_experiments.py`` run into bench/RESULTS.md.

Run: ``python3 examples/mnist_experiments.py --out DIR ...`` and then
``python3 bench/report_mnist.py DIR/results.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from _common import machine_line, markdown_table, write_section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("results", type=Path)
    r = json.loads(parser.parse_args().results.read_text())
    out = ["## MNIST on the compiled path (examples/mnist_experiments.py)\n",
           machine_line() + f"; seeds {r['seeds']}, {r['epochs']} epochs, {r['train_n']} training images.\n"]
    if "speed_of_learning" in r:
        rows = []
        for key, d in r["speed_of_learning"].items():
            gm, gs = d.get("golden_100seed_mean") or [], d.get("golden_100seed_std") or []
            within = all(abs(v - m) <= sd for v, m, sd in zip(d["mean"], gm, gs)) if gm else None
            rows.append([key, " ".join(f"{v:.4f}" for v in d["mean"]),
                         " ".join(f"{m:.4f}±{s:.4f}" for m, s in zip(gm, gs))
                         + {True: " (within 1 std)", False: " (**outside**)", None: ""}[within],
                         " ".join(f"{v}" for v in d.get("book") or []) or "-"])
        out += ["### Speed of learning ‖∂C/∂b^l‖ at initialisation (network2 init, first 1000 images)\n",
                "Per seed the values equal golden task5's (same draws) to ~2e-16 relative; below, our mean "
                "over the seeds run next to golden's 100-seed mean ± std.\n",
                markdown_table(["network", "ours (mean over seeds)", "golden 100 seeds", "book"], rows), ""]
    if "fixes" in r:
        rows = [[name, " ".join(f"{v:.4f}" for v in d["mean"]), f"{d['ratio_last_to_first']:.1f}"]
                for name, d in r["fixes"].items()]
        out += ["### Fixes, [784,30,30,30,30,10] at initialisation\n",
                markdown_table(["hidden units + init", "‖∂C/∂b^l‖, l = 1..4", "last / first"], rows), "",
                "ReLU-family units with He init and tanh with Xavier init keep the early layers learning "
                "at the rate of the late ones. Xavier alone does not rescue sigmoid units (σ' ≤ 1/4 per "
                "layer). Clipping narrows the ratio only by cutting the *large* gradients of the late "
                "layers; the first layer learns no faster (clipping is the fix for exploding, not "
                "vanishing, gradients). Biases are zero for the xavier/he rows, N(0,1) for network2.\n"]
    if "depth_vs_accuracy" in r:
        rows = []
        for key, d in r["depth_vs_accuracy"].items():
            rows.append([key, " ".join(f"{a:.2f}" for a in d["final_val_acc"]), f"{d['mean']:.2f}",
                         f"{d['golden_mean']:.2f}" if d.get("golden_mean") else "-",
                         {True: "yes", False: "**no**", None: "-"}[d.get("within_0.5")],
                         f"{d['epoch_seconds_compiled']:.2f}",
                         f"{d['epoch_seconds_torch']:.2f}" if d.get("epoch_seconds_torch") else "-"])
        out += ["### Depth vs accuracy (30 epochs, m = 10, η = 0.1, λ = 5.0; validation = last 10,000)\n",
                markdown_table(["network", "final validation accuracy per seed (%)", "mean", "golden mean",
                                "within 0.5", "s/epoch compiled", "s/epoch PyTorch"], rows), "",
                "Epoch times are medians over all epochs of all seeds (compiled) and one measured epoch "
                "(PyTorch, same network2 SGD on batched float64 tensors, one thread), on a machine shared "
                "with other jobs.\n"]
    if "depth_vs_accuracy" in r:
        rows = []
        for key, d in r["depth_vs_accuracy"].items():
            sp = d["runs"][0].get("speeds_per_epoch") or []
            init = (r.get("speed_of_learning", {}).get(key, {}).get("speeds") or [None])[0]
            picks = [("0", init)] + [(str(e), sp[e - 1]) for e in (1, 5, 30) if len(sp) >= e]
            if len(sp) and init:
                rows += [[key, ep, " ".join(f"{v:.4f}" for v in vals)] for ep, vals in picks]
        if rows:
            out += [f"### Speed of learning during training (seed {r['seeds'][0]}, first 1000 images)\n",
                    markdown_table(["network", "after epoch", "‖∂C/∂b^l‖ per hidden layer"], rows), ""]
    text = "\n".join(out)
    print(text)
    write_section("mnist_experiments", text)


if __name__ == "__main__":
    main()
