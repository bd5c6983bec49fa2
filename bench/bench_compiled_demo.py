"""micrograd's demo step, compiled, vs micrograd 0.1.0 as shipped (workload W1 of DESIGN.md).

W1 = one SGD step of MLP(2, [16, 16, 1]) (ReLU hidden, linear output) on 100 two-moons
points: loss = (1/100) Σ_b max(0, 1 − y_b·score_b) + 1e-4·Σ_p p², zero_grad, backward,
p ← p − lr·∂loss/∂p, plus the demo's accuracy count.

* ``micrograd``: micrograd's own ``micrograd.nn.MLP`` and ``loss()`` exactly as its
  demo.ipynb writes them (garbage collector on, as shipped);
* ``public loop``: an ``nn.MLP`` holding the *same initial weights*, its per-sample graph
  relu(1 − y·score) + 1e-4·Σp² compiled once with ``autodiff.compile`` and replayed over
  the 100 points (the mean over the batch is micrograd's total loss), trained with the loop
  a user writes: ``tape.forward(batch); opt.zero_grad(); tape.backward("mean"); opt.step()``
  with ``nn.SGD`` (its ``lr`` set per step to the demo's schedule);
* ``tape array``: the same tape with θ updated in ``tape.param_data`` directly (the floor).

The first step's losses of the two are printed side by side (they agree to rounding).
Run: ``python3 bench/bench_compiled_demo.py [--repeats 5]``. Needs micrograd==0.1.0.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from _common import fmt_time, machine_line, markdown_table, write_section

import numpy as np  # noqa: E402

import autodiff  # noqa: E402
import nn  # noqa: E402
from autodiff import Value  # noqa: E402

ALPHA = 1e-4


def data():
    X, y = nn.data.two_moons(100, noise=0.1, seed=1)
    return X, 2.0 * y - 1.0  # labels ±1, as micrograd's demo


def micrograd_setup(X, y, seed: int = 1337):
    from micrograd.engine import Value as MValue
    from micrograd.nn import MLP as MMLP
    random.seed(seed)
    model = MMLP(2, [16, 16, 1])
    Xl, yl = X.tolist(), y.tolist()

    def loss():  # micrograd demo.ipynb, batch_size=None
        inputs = [list(map(MValue, xrow)) for xrow in Xl]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yl, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = ALPHA * sum((p * p for p in model.parameters()))
        total_loss = data_loss + reg_loss
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yl, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    def step(k: int = 0):
        total_loss, acc = loss()
        model.zero_grad()
        total_loss.backward()
        lr = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= lr * p.grad
        return total_loss.data
    return model, step


def compiled_setup(mmodel, X, y):
    """nn.MLP with micrograd's weights; per-sample hinge + L2 graph compiled once."""
    weights = [np.array([[w.data for w in n.w] for n in layer.neurons]) for layer in mmodel.layers]
    biases = [np.array([n.b.data for n in layer.neurons]) for layer in mmodel.layers]
    model = nn.MLP(2, [16, 16, 1], activation="relu", output_activation="linear", weights=weights, biases=biases)
    xs = [Value(0.0, "x0"), Value(0.0, "x1")]
    yv = Value(0.0, "y")
    score = model(xs)  # one output: a Value
    loss = (1.0 - yv * score).relu() + ALPHA * autodiff.sum([p * p for p in model.parameters()])
    tape = autodiff.compile(loss, xs + [yv], outputs=[score])
    opt = nn.SGD(model.parameters(), lr=1.0)
    batch = np.c_[X, y]
    theta = tape.param_data

    def public_step(k: int = 0):
        opt.lr = 1.0 - 0.9 * k / 100
        losses = tape.forward(batch)
        acc = float(np.mean((y > 0) == (tape.value_of(score) > 0)))
        opt.zero_grad()
        tape.backward(reduction="mean")
        opt.step()
        return float(losses.mean()), acc

    def array_step(k: int = 0):
        losses = tape.forward(batch, sync=False)
        acc = float(np.mean((y > 0) == (tape.value_of(score) > 0)))
        g = tape.backward("mean", accumulate=False)
        theta.__isub__((1.0 - 0.9 * k / 100) * g)
        return float(losses.mean()), acc
    return tape, public_step, array_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--number", type=int, default=200, help="compiled steps per round")
    args = parser.parse_args()
    X, y = data()
    mmodel, mstep = micrograd_setup(X, y)
    tape, cstep, astep = compiled_setup(mmodel, X, y)
    print(tape.describe())
    c_loss0, _ = cstep()
    m_loss0 = mstep()
    print(f"first-step loss: micrograd {m_loss0!r}, compiled {c_loss0!r} (|Δ| = {abs(m_loss0 - c_loss0):.1e})")
    tm, tc, ta = [], [], []
    for r in range(args.repeats):  # alternating rounds
        t0 = time.perf_counter()
        mstep()
        tm.append(time.perf_counter() - t0)
        for fn, out in ((cstep, tc), (astep, ta)):
            t0 = time.perf_counter()
            for _ in range(args.number):
                fn()
            out.append((time.perf_counter() - t0) / args.number)
        print(f"round {r}: micrograd {fmt_time(tm[-1])}, public loop {fmt_time(tc[-1])}, "
              f"tape array {fmt_time(ta[-1])}", flush=True)
    m, c, a = statistics.median(tm), statistics.median(tc), statistics.median(ta)
    table = markdown_table(["implementation", "W1 step", "vs micrograd 0.1.0"],
                           [["micrograd 0.1.0 as shipped", fmt_time(m), "1×"],
                            ["compiled, public loop (nn.SGD on the parameter vector)", fmt_time(c),
                             f"**{m / c:,.0f}×**"],
                            ["compiled, θ updated in the tape's array (floor)", fmt_time(a), f"{m / a:,.0f}×"]])
    out = "\n".join([
        "## micrograd's demo step W1, compiled vs micrograd 0.1.0 (bench_compiled_demo.py)\n",
        machine_line() + f"; medians of {args.repeats} alternating rounds "
        f"(micrograd 1 step, compiled {args.number} steps per round).\n", table, "",
        f"Same initial weights: first-step loss micrograd {m_loss0:.15f}, compiled {c_loss0:.15f}. "
        f"Goal ≥ 5,000× through the public loop: measured **{m / c:,.0f}×**.\n"])
    print(out)
    write_section("bench_compiled_demo", out)


if __name__ == "__main__":
    main()
