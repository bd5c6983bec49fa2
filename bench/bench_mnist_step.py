"""One SGD step of MLP(784, [30, 10]) (sigmoid, cross-entropy): compiled tape vs PyTorch.

The step: forward over a mini-batch of B images, backward, θ ← θ − η·(1/B) Σ_b ∇C_b, with
C_b = Σ_j [−y_j ln a_j − (1 − y_j) ln(1 − a_j)] (nn.losses.binary_cross_entropy, which the
graph computes from the logits; PyTorch's ``binary_cross_entropy_with_logits`` is the same
function). Implementations, timed in alternating rounds in one process (medians):

* ``tape``: ``autodiff.compile`` of the nn.MLP's per-sample graph, parameters kept in the
  tape's array (``forward(sync=False)``, ``backward(accumulate=False)``, θ -= η·g);
* ``tape+Values``: the same, but through the Value-level contract — parameters re-read from
  ``Value.data``, gradients added into ``Value.grad`` and an ``nn.optim.SGD`` step on the
  Values (what ``nn.fit(engine="compiled")`` does);
* ``torch``: the same network as batched float64 tensors on CPU, one thread.

Also: the wall time of one MNIST epoch (50,000 images, B = 10) for tape and torch, measured
on real data when MNIST is found (``--data-dir`` / $BACKPROPLAB_MNIST), otherwise estimated
as 5,000 × the B = 10 step. Run: ``python3 bench/bench_mnist_step.py [--repeats 7]``.
"""

from __future__ import annotations

import argparse
import time

from _common import alternate, fmt_time, machine_line, markdown_table, torch_single_thread, write_section

import numpy as np  # noqa: E402  (after _common set the thread count)

import autodiff  # noqa: E402
import nn  # noqa: E402
from nn.engines import build_static_graph  # noqa: E402

SIZES = [784, 30, 10]
ETA = 0.1


def compiled_model(seed: int = 0):
    model = nn.MLP(784, SIZES[1:], activation="sigmoid", init="network2", seed=seed)
    g = build_static_graph(model, nn.losses.binary_cross_entropy)
    tape = autodiff.compile(g.loss, g.leaves, outputs=g.outputs)
    return model, tape


def make_tape_step(tape, batch):
    theta = tape.param_data

    def step():
        tape.forward(batch, sync=False)
        theta.__isub__(ETA * tape.backward("mean", accumulate=False))
    return step


def make_values_step(model, tape, batch):
    opt = nn.optim.SGD(model.parameters(), lr=ETA)

    def step():
        opt.zero_grad()
        tape.forward(batch)
        tape.backward("mean")
        opt.step()
    return step


def make_torch_step(torch, batch, seed: int = 0):
    weights, biases = nn.init.network2_arrays(SIZES, seed)
    Ws = [torch.tensor(w, requires_grad=True) for w in weights]
    bs = [torch.tensor(b, requires_grad=True) for b in biases]
    X = torch.tensor(batch[:, :784].copy())
    Y = torch.tensor(batch[:, 784:].copy())
    F = torch.nn.functional

    def step(X=X, Y=Y):
        a = X
        for W, b in zip(Ws, bs):
            z = a @ W.T + b
            a = torch.sigmoid(z)
        loss = F.binary_cross_entropy_with_logits(z, Y, reduction="sum") / len(Y)
        loss.backward()
        with torch.no_grad():
            for p in (*Ws, *bs):
                p.sub_(ETA * p.grad)
                p.grad = None
    return step


def random_batch(B: int, rng) -> np.ndarray:
    return np.hstack([rng.integers(0, 256, (B, 784)) / 256.0, np.eye(10)[rng.integers(0, 10, B)]])


def epoch_times(tape, torch, data_dir) -> tuple[float, float, str]:
    """Seconds for one epoch (50,000 images, B = 10) of each, on real MNIST if found."""
    try:
        from nn.mnist import mnist_arrays
        X, labels = mnist_arrays(data_dir, "train", n=50000)
    except (OSError, ValueError):
        return float("nan"), float("nan"), "MNIST not found"
    data = np.hstack([X, np.eye(10)[labels]])[np.random.RandomState(0).permutation(len(X))]
    theta = tape.param_data
    t0 = time.perf_counter()
    for k in range(0, len(data), 10):
        tape.forward(data[k:k + 10], sync=False)
        theta -= ETA * tape.backward("mean", accumulate=False)
    t_tape = time.perf_counter() - t0
    t_torch = float("nan")
    if torch is not None:
        step = make_torch_step(torch, data[:10])
        Xt, Yt = torch.tensor(data[:, :784].copy()), torch.tensor(data[:, 784:].copy())
        t0 = time.perf_counter()
        for k in range(0, len(data), 10):
            step(Xt[k:k + 10], Yt[k:k + 10])
        t_torch = time.perf_counter() - t0
    return t_tape, t_torch, "real MNIST, measured"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batches", default="1,10,100")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-epoch", action="store_true", help="skip the measured MNIST epoch")
    args = parser.parse_args()
    torch = torch_single_thread()
    rng = np.random.default_rng(0)
    model, tape = compiled_model()
    print(tape.describe())
    rows, step10 = [], {}
    for B in [int(b) for b in args.batches.split(",")]:
        batch = random_batch(B, rng)
        impls = {"tape": make_tape_step(tape, batch), "tape+Values": make_values_step(model, tape, batch)}
        if torch is not None:
            impls["torch"] = make_torch_step(torch, batch)
        number = max(3, 200 // B) if B <= 100 else 3
        t = alternate(impls, repeats=args.repeats, number=number)
        tape.sync()
        ratio = t["tape"] / t["torch"] if "torch" in t else float("nan")
        rows.append([B, fmt_time(t["tape"]), fmt_time(t["tape+Values"]), fmt_time(t.get("torch", float("nan"))),
                     f"{ratio:.2f}×", f"{t['tape+Values'] / t['torch']:.1f}×" if "torch" in t else "-"])
        if B == 10:
            step10 = t
        print(rows[-1], flush=True)
    table = markdown_table(["B", "tape", "tape+Values", "PyTorch", "tape / PyTorch", "tape+Values / PyTorch"], rows)
    text = ["## One SGD step of MLP(784,[30,10]), sigmoid + cross-entropy (bench_mnist_step.py)\n",
            machine_line() + f"; medians of {args.repeats} alternating rounds.\n", table, ""]
    if step10 and "torch" in step10:
        text.append(f"Goal at B = 10: tape ≤ 1.5× PyTorch — measured **{step10['tape'] / step10['torch']:.2f}×**.\n")
    if not args.no_epoch:
        tt, tp, how = epoch_times(tape, torch, args.data_dir)
        if tt != tt:  # no data: estimate from the B = 10 step
            tt, tp, how = 5000 * step10.get("tape", float("nan")), 5000 * step10.get("torch", float("nan")), \
                "estimated as 5,000 × the B = 10 step (MNIST not found)"
        text.append(f"One MNIST epoch ([784,30,10], B = 10, 5,000 steps; {how}): tape **{tt:.2f} s**, "
                    f"PyTorch **{tp:.2f} s** ({tt / tp:.2f}×).\n")
    out = "\n".join(text)
    print(out)
    write_section("bench_mnist_step", out)


if __name__ == "__main__":
    main()
