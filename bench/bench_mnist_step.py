"""One training step of MLP(784, [30, 10]) (sigmoid, cross-entropy): the public compiled loop vs PyTorch.

The step: forward over a mini-batch of B images, backward, one optimizer update from the
mean gradient (1/B) Σ_b ∇C_b, with C_b = Σ_j [−y_j ln a_j − (1 − y_j) ln(1 − a_j)]
(nn.losses.binary_cross_entropy, which the graph computes from the logits; PyTorch's
``binary_cross_entropy_with_logits`` is the same function). Implementations, timed in
alternating rounds in one process (medians), each warmed up the same way:

* ``ours SGD`` / ``ours Adam``: the loop a user writes (README, issue 10) —
  ``tape.forward(batch); opt.zero_grad(); tape.backward("mean"); opt.step()`` with
  ``nn.SGD(model.parameters(), lr=0.1)`` / ``nn.Adam(model.parameters(), lr=1e-3)``; the
  tape and the optimizer share the parameters' flat vector (autodiff.ParameterStore);
* ``tape only``: forward + backward alone (``backward(accumulate=False)``), the floor;
* ``torch SGD`` / ``torch Adam``: the same network as batched float64 tensors on CPU, one
  thread, ``opt.zero_grad(); loss.backward(); opt.step()`` with ``torch.optim.SGD`` /
  ``torch.optim.Adam``.

Also: the wall time of one MNIST epoch (50,000 images, B = 10) through both public SGD
loops, measured on real data when MNIST is found (``--data-dir`` / $BACKPROPLAB_MNIST),
otherwise estimated as 5,000 × the B = 10 step. Run:
``python3 bench/bench_mnist_step.py [--repeats 7] [--batches 1,10,100,1000]``.
"""

from __future__ import annotations

import argparse
import time

from _common import alternate, fmt_time, machine_line, markdown_table, torch_single_thread, write_section

import numpy as np  # noqa: E402  (after _common set the thread count)

import autodiff  # noqa: E402
import nn  # noqa: E402
from autodiff import Value  # noqa: E402

SIZES = [784, 30, 10]
ETA = 0.1
ADAM_LR = 1e-3


def compiled_model(seed: int = 0):
    """The README's way: build the per-sample graph on placeholder Values, compile it."""
    model = nn.MLP(784, SIZES[1:], activation="sigmoid", init="network2", seed=seed)
    xs = [Value(0.0, f"x{i}") for i in range(784)]
    ys = [Value(0.0, f"y{j}") for j in range(10)]
    loss = nn.binary_cross_entropy(model(xs), ys)
    return model, autodiff.compile(loss, inputs=xs + ys)


def make_public_step(tape, opt, batch):
    def step():
        tape.forward(batch)
        opt.zero_grad()
        tape.backward(reduction="mean")
        opt.step()
    return step


def make_tape_only(tape, batch):
    def step():
        tape.forward(batch)
        tape.backward("mean", accumulate=False)
    return step


def make_torch_step(torch, batch, optimizer: str = "sgd", seed: int = 0):
    weights, biases = nn.init.network2_arrays(SIZES, seed)
    Ws = [torch.tensor(w, requires_grad=True) for w in weights]
    bs = [torch.tensor(b, requires_grad=True) for b in biases]
    params = [*Ws, *bs]
    opt = torch.optim.SGD(params, lr=ETA) if optimizer == "sgd" else torch.optim.Adam(params, lr=ADAM_LR)
    X = torch.tensor(batch[:, :784].copy())
    Y = torch.tensor(batch[:, 784:].copy())
    F = torch.nn.functional

    def step(X=X, Y=Y):
        a = X
        for W, b in zip(Ws, bs):
            z = a @ W.T + b
            a = torch.sigmoid(z)
        loss = F.binary_cross_entropy_with_logits(z, Y, reduction="sum") / len(Y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def random_batch(B: int, rng) -> np.ndarray:
    return np.hstack([rng.integers(0, 256, (B, 784)) / 256.0, np.eye(10)[rng.integers(0, 10, B)]])


def epoch_times(torch, data_dir) -> tuple[float, float, str]:
    """Seconds for one epoch (50,000 images, B = 10) of each public SGD loop, on real MNIST if found."""
    try:
        from nn.mnist import mnist_arrays
        X, labels = mnist_arrays(data_dir, "train", n=50000)
    except (OSError, ValueError):
        return float("nan"), float("nan"), "MNIST not found"
    data = np.hstack([X, np.eye(10)[labels]])[np.random.RandomState(0).permutation(len(X))]
    model, tape = compiled_model()
    opt = nn.SGD(model.parameters(), lr=ETA)
    t0 = time.perf_counter()
    for k in range(0, len(data), 10):
        tape.forward(data[k:k + 10])
        opt.zero_grad()
        tape.backward("mean")
        opt.step()
    t_ours = time.perf_counter() - t0
    t_torch = float("nan")
    if torch is not None:
        step = make_torch_step(torch, data[:10])
        Xt, Yt = torch.tensor(data[:, :784].copy()), torch.tensor(data[:, 784:].copy())
        t0 = time.perf_counter()
        for k in range(0, len(data), 10):
            step(Xt[k:k + 10], Yt[k:k + 10])
        t_torch = time.perf_counter() - t0
    return t_ours, t_torch, "real MNIST, measured"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--batches", default="1,10,100,1000")
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--no-epoch", action="store_true", help="skip the measured MNIST epoch")
    args = parser.parse_args()
    torch = torch_single_thread()
    rng = np.random.default_rng(0)
    sgd_model, sgd_tape = compiled_model()
    adam_model, adam_tape = compiled_model()
    sgd = nn.SGD(sgd_model.parameters(), lr=ETA)
    adam = nn.Adam(adam_model.parameters(), lr=ADAM_LR)
    print(sgd_tape.describe())
    rows, step10 = [], {}
    nan = float("nan")
    for B in [int(b) for b in args.batches.split(",")]:
        batch = random_batch(B, rng)
        impls = {"ours SGD": make_public_step(sgd_tape, sgd, batch),
                 "ours Adam": make_public_step(adam_tape, adam, batch),
                 "tape only": make_tape_only(sgd_tape, batch)}
        if torch is not None:
            impls["torch SGD"] = make_torch_step(torch, batch, "sgd")
            impls["torch Adam"] = make_torch_step(torch, batch, "adam")
        number = max(3, 200 // B) if B <= 100 else 3
        t = alternate(impls, repeats=args.repeats, number=number)
        ratio_sgd = t["ours SGD"] / t["torch SGD"] if torch is not None else nan
        ratio_adam = t["ours Adam"] / t["torch Adam"] if torch is not None else nan
        rows.append([B, fmt_time(t["ours SGD"]), fmt_time(t.get("torch SGD", nan)), f"**{ratio_sgd:.2f}×**",
                     fmt_time(t["ours Adam"]), fmt_time(t.get("torch Adam", nan)), f"**{ratio_adam:.2f}×**",
                     fmt_time(t["tape only"])])
        if B == 10:
            step10 = t
        print(rows[-1], flush=True)
    table = markdown_table(["B", "ours SGD", "PyTorch SGD", "ours / PyTorch", "ours Adam", "PyTorch Adam",
                            "ours / PyTorch", "tape only (fwd+bwd)"], rows)
    text = ["## One training step of MLP(784,[30,10]), sigmoid + cross-entropy, public loop (bench_mnist_step.py)\n",
            machine_line() + f"; medians of {args.repeats} alternating rounds. Ours: `tape.forward(batch); "
            "opt.zero_grad(); tape.backward(\"mean\"); opt.step()` with nn.SGD / nn.Adam; PyTorch: the same "
            "network as batched tensors with torch.optim.SGD / Adam.\n", table, ""]
    if step10 and "torch SGD" in step10:
        text.append(f"Goal at B = 10: the public SGD loop ≤ 1.2× PyTorch's step — measured "
                    f"**{step10['ours SGD'] / step10['torch SGD']:.2f}×**.\n")
    if not args.no_epoch:
        tt, tp, how = epoch_times(torch, args.data_dir)
        if tt != tt:  # no data: estimate from the B = 10 step
            tt, tp, how = 5000 * step10.get("ours SGD", nan), 5000 * step10.get("torch SGD", nan), \
                "estimated as 5,000 × the B = 10 step (MNIST not found)"
        text.append(f"One MNIST epoch ([784,30,10], B = 10, 5,000 SGD steps; {how}): ours **{tt:.2f} s**, "
                    f"PyTorch **{tp:.2f} s** ({tt / tp:.2f}×).\n")
    out = "\n".join(text)
    print(out)
    write_section("bench_mnist_step", out)


if __name__ == "__main__":
    main()
