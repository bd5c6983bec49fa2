"""Eager engine vs micrograd 0.1.0 on micrograd's own demo step (issue 2, workload W1).

W1 = one SGD step of MLP(2, [16, 16, 1]) with ReLU on 100 two-moons points, hinge loss
max(0, 1 − yᵢ·scoreᵢ) averaged, plus 1e-4·Σp² (micrograd's demo.ipynb), built the natural
way in each library. Runs alternate in one process; medians are reported, with:

* micrograd as shipped, and micrograd with the garbage collector switched off;
* bytes per node (tracemalloc peak of building the loss graph / node count);
* the 100,000-deep chain's forward+backward time per node.

Every timed run starts after an untimed ``gc.collect()`` (a small process, no garbage carried
from one round to the next). The engine is whichever autodiff selects (``autodiff.accelerated``:
the C core; ``BACKPROPLAB_PURE=1``: pure Python); ``--both`` runs this script a second time
under ``BACKPROPLAB_PURE=1`` and prints the two tables.

Run: ``python3 bench/bench_engine.py [--repeats 7] [--both]``. Needs ``pip install micrograd==0.1.0``.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import autodiff  # noqa: E402
import nn  # noqa: E402
from autodiff import Value  # noqa: E402


def two_moons(n: int = 100, noise: float = 0.1, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """n points of two interleaving half circles, labels ±1 (micrograd's demo data shape)."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0, np.pi, n)
    upper = np.arange(n) % 2 == 0
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    X = np.stack([x, y], 1) + rng.normal(0, noise, (n, 2))
    return X, np.where(upper, 1.0, -1.0)


# ------------------------------------------------------------------ our engine
def our_model(seed: int = 0) -> "nn.MLP":
    """micrograd's network: weights uniform(−1, 1), zero biases, ReLU hidden, linear output."""
    return nn.MLP(2, [16, 16, 1], activation="relu", output_activation="linear",
                  init="uniform", bias_init="zeros", seed=seed)


def our_step(model, X, y) -> float:
    params = model.parameters()
    scores = [model([Value(a), Value(b)]) for a, b in X]
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    loss = autodiff.sum(losses) * (1.0 / len(losses)) + 1e-4 * autodiff.sum([p * p for p in params])
    for p in params:
        p.grad = 0.0
    loss.backward()
    for p in params:
        p.data -= 0.01 * p.grad
    return loss.data


# ------------------------------------------------------------------ micrograd
def micrograd_step(model, X, y) -> float:
    from micrograd.engine import Value as MValue
    inputs = [list(map(MValue, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
    loss = data_loss + reg_loss
    model.zero_grad()
    loss.backward()
    for p in model.parameters():
        p.data -= 0.01 * p.grad
    return loss.data


def count_nodes_micrograd(root) -> int:
    seen, stack = set(), [root]
    while stack:
        v = stack.pop()
        if id(v) not in seen:
            seen.add(id(v))
            stack.extend(v._prev)
    return len(seen)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def bytes_per_node(build, count) -> float:
    gc.collect()
    tracemalloc.start()
    root = build()
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current / count(root)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--both", action="store_true", help="also run under BACKPROPLAB_PURE=1")
    args = parser.parse_args(argv)
    if args.both:
        import os
        import subprocess
        env = {**os.environ, "BACKPROPLAB_PURE": "1"}
        subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats)], env=env, check=True)
        print()
    from micrograd.nn import MLP as MicroMLP
    random.seed(0)
    X, y = two_moons()
    X, y = X.tolist(), y.tolist()
    ours, theirs = our_model(), MicroMLP(2, [16, 16, 1])

    def micro_nogc() -> float:
        """Time the step with the collector off; collect the cycles afterwards, untimed."""
        gc.collect()
        gc.disable()
        try:
            return timed(lambda: micrograd_step(theirs, X, y))
        finally:
            gc.enable()
            gc.collect()

    def collected(fn) -> float:
        gc.collect()
        return timed(fn)

    our_step(ours, X, y)  # warm up alike
    micrograd_step(theirs, X, y)
    runs = {"ours": [], "micrograd": [], "micrograd, gc off": []}
    for _ in range(args.repeats):
        runs["ours"].append(collected(lambda: our_step(ours, X, y)))
        runs["micrograd"].append(collected(lambda: micrograd_step(theirs, X, y)))
        runs["micrograd, gc off"].append(micro_nogc())
    med = {k: statistics.median(v) for k, v in runs.items()}

    def our_graph():
        params = ours.parameters()
        scores = [ours([Value(a), Value(b)]) for a, b in X]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        return autodiff.sum(losses) * (1.0 / len(losses)) + 1e-4 * autodiff.sum([p * p for p in params])

    def micro_graph():
        from micrograd.engine import Value as MValue
        scores = [theirs(list(map(MValue, r))) for r in X]
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores)]
        return sum(losses) * (1.0 / len(losses)) + 1e-4 * sum((p * p for p in theirs.parameters()))

    ours_bpn = bytes_per_node(our_graph, lambda r: len(autodiff.topological_order(r)))
    micro_bpn = bytes_per_node(micro_graph, count_nodes_micrograd)
    n_ours = len(autodiff.topological_order(our_graph()))
    n_micro = count_nodes_micrograd(micro_graph())

    depth = 100_000
    chain = []
    for _ in range(3):
        gc.collect()
        t = time.perf_counter()
        x = Value(0.5)
        v = x
        for _ in range(depth):
            v = (v * 0.999).tanh()
        v.backward()
        chain.append((time.perf_counter() - t) / (2 * depth))
        del v

    torch_chain = None
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:  # the same chain on PyTorch scalar tensors (autograd, one thread)
        torch.set_num_threads(1)
        runs_t = []
        for _ in range(3):
            gc.collect()
            t = time.perf_counter()
            x = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
            v = x
            for _ in range(depth):
                v = (v * 0.999).tanh()
            v.backward()
            runs_t.append((time.perf_counter() - t) / (2 * depth))
            del v
        torch_chain = statistics.median(runs_t) * 1e6

    report = {
        "ours_s": med["ours"], "micrograd_s": med["micrograd"], "micrograd_nogc_s": med["micrograd, gc off"],
        "speedup_vs_micrograd": med["micrograd"] / med["ours"],
        "speedup_vs_micrograd_nogc": med["micrograd, gc off"] / med["ours"],
        "ours_bytes_per_node": ours_bpn, "micrograd_bytes_per_node": micro_bpn,
        "ours_nodes": n_ours, "micrograd_nodes": n_micro,
        "chain_us_per_node": statistics.median(chain) * 1e6,
        "torch_chain_us_per_node": torch_chain,
    }
    engine = "C core" if autodiff.accelerated else f"pure Python ({autodiff.engine.reason})"
    report["engine"] = engine
    print(f"W1: one SGD step of MLP(2,[16,16,1]), 100 moons points, hinge + L2; "
          f"median of {args.repeats} alternating runs; backproplab's eager engine: {engine}")
    print("| engine | step | nodes | bytes/node | ours is faster by |")
    print("|---|---|---|---|---|")
    print(f"| backproplab (eager) | {med['ours']*1e3:.1f} ms | {n_ours} | {ours_bpn:.0f} | 1× |")
    print(f"| micrograd 0.1.0 as shipped | {med['micrograd']*1e3:.0f} ms | {n_micro} | {micro_bpn:.0f} "
          f"| {report['speedup_vs_micrograd']:.0f}× |")
    print(f"| micrograd 0.1.0, gc off | {med['micrograd, gc off']*1e3:.0f} ms | {n_micro} | {micro_bpn:.0f} "
          f"| {report['speedup_vs_micrograd_nogc']:.1f}× |")
    print(f"bytes per node: ours / micrograd = {ours_bpn / micro_bpn:.2f}")
    vs_torch = "" if torch_chain is None else f" (PyTorch {torch.__version__} on scalar tensors: {torch_chain:.2f})"
    print(f"100,000-deep chain (mul + tanh): {report['chain_us_per_node']:.2f} µs per node, forward+backward{vs_torch}")
    return report


if __name__ == "__main__":
    main()
